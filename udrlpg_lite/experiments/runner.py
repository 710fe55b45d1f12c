"""A training run on disk: settings, metrics, checkpoints, manifest and learning curve.

A run directory holds
  run.json         what to build (algorithm, env, seed, budget, hyperparameters)
  metrics.csv      one row per evaluation: env_steps, eval_return_mean, ...
  checkpoint.pt    everything needed to continue exactly (weights, optimiser, buffer, RNG states)
  manifest.json    command, commit, device, seed, versions, wall_time_s, status
  curve.png        the learning curve
  policy_map.json  GoGePo runs: the buffer's policies and the generator's chains on the map of
                   policy space (generator_chains.py), written when the run ends
``resume`` rebuilds the algorithm from run.json, loads the checkpoint and continues; since every random
state is in the checkpoint, the resumed run ends exactly where an uninterrupted one would.
"""

from __future__ import annotations

import csv
import dataclasses
import json
import os
import pickle
import platform
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import torch
from tqdm import tqdm

from ..algorithms.ars import ARS, ARSConfig, ars_config_for
from ..algorithms.base import Algorithm, NonFiniteError
from ..algorithms.ddpg import DDPG, DDPGConfig, ddpg_config_for
from ..algorithms.gogepo import GoGePo, GoGePoConfig
from ..algorithms.precision import cpu_name
from ..algorithms.udrl import UDRL, UDRLConfig, udrl_config_for
from ..algorithms.udrlpg import UDRLPG, UDRLPGConfig
from ..presets import env_preset
from .figures import save_learning_curve, save_run_summary
from .generator_chains import chain_due, map_data, record_chain


@dataclasses.dataclass(frozen=True)
class AlgorithmEntry:
    cls: type[Algorithm]
    config_cls: type
    config_for: Callable[..., object]  # (env_id, **overrides) -> config with the env's preset


ALGORITHMS: dict[str, AlgorithmEntry] = {
    "udrlpg": AlgorithmEntry(UDRLPG, UDRLPGConfig, lambda env, **kw: UDRLPGConfig(**kw)),
    "gogepo": AlgorithmEntry(GoGePo, GoGePoConfig, lambda env, **kw: GoGePoConfig(**kw)),
    "ars": AlgorithmEntry(ARS, ARSConfig, ars_config_for),
    "udrl": AlgorithmEntry(UDRL, UDRLConfig, udrl_config_for),
    "ddpg": AlgorithmEntry(DDPG, DDPGConfig, ddpg_config_for),
}


def _convert(value: object, default: object) -> object:
    """A command-line string as the type of the setting's default ("32,32" -> (32, 32))."""
    if isinstance(default, bool) and isinstance(value, str):
        words = {"true": True, "1": True, "false": False, "0": False}
        if value.lower() not in words:
            raise ValueError(f"{value!r} is not true or false")
        return words[value.lower()]
    if isinstance(default, tuple):
        return tuple(int(v) for v in value.split(",")) if isinstance(value, str) else tuple(value)
    if isinstance(value, str) and not isinstance(default, str):
        return type(default)(value)
    return value


def build_config(algo: str, env: str, overrides: dict) -> object:
    """The algorithm's config for ``env`` with ``overrides`` applied (converted to field types)."""
    if algo not in ALGORITHMS:
        raise ValueError(f"unknown algorithm {algo!r}; choose from {', '.join(ALGORITHMS)}")
    entry = ALGORITHMS[algo]
    defaults = entry.config_cls()
    fields = [f.name for f in dataclasses.fields(entry.config_cls)]
    values = {}
    for key, value in overrides.items():
        if key not in fields:
            raise ValueError(f"{algo} has no setting {key!r}; settings: {', '.join(fields)}")
        try:
            values[key] = _convert(value, getattr(defaults, key))
        except ValueError:
            raise ValueError(f"setting {key}={value!r} is not a valid value") from None
    return entry.config_for(env, **values)


def _device_description(device: torch.device) -> str:
    text = f"cpu: {cpu_name()}, {os.cpu_count()} cores, torch threads {torch.get_num_threads()}"
    if device.type == "cuda":
        text = f"gpu: {torch.cuda.get_device_name(device)}; {text}"
    return text


def _commit() -> str:
    root = Path(__file__).resolve().parent.parent
    try:
        rev = subprocess.run(
            ["git", "rev-parse", "HEAD"], cwd=root, capture_output=True, text=True, check=True
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--untracked-files=no"],
            cwd=root,
            capture_output=True,
            text=True,
        ).stdout.strip()
        return rev + ("-dirty" if dirty else "")
    except (OSError, subprocess.CalledProcessError):
        return "unknown"


def _versions() -> dict[str, str]:
    import gymnasium
    import mujoco
    import numpy

    return {
        "python": platform.python_version(),
        "torch": torch.__version__,
        "numpy": numpy.__version__,
        "gymnasium": gymnasium.__version__,
        "mujoco": mujoco.__version__,
    }


class Run:
    """One run directory and its training loop."""

    def __init__(self, out: Path, settings: dict) -> None:
        self.out, self.settings = out, settings
        config = build_config(settings["algo"], settings["env"], settings["config"])
        preset = dataclasses.replace(env_preset(settings["env"]), eval_every=settings["eval_every"])
        device = settings.get("device", "cpu")  # runs from before --device ran on the CPU
        cls = ALGORITHMS[settings["algo"]].cls
        extra = {"device": device} if device != "cpu" else {}  # only supports_gpu ones take it
        self.algo = cls(settings["env"], preset, settings["seed"], config, **extra)
        self.commit = _commit()  # the code this process runs, read when it starts
        # one entry per process that trained this run: its commit and the env step it started at
        self.segments: list[dict] = []
        self.batched_seeds: list[int] | None = None  # set by multiseed.train_together
        self.rows: list[dict] = []
        self.wall_time_s = 0.0
        self.next_eval = 0
        self.finished = False  # whether algo.finish() ran (once, when the budget is spent)
        # GoGePo: the generator's chains so far (None: this run records none)
        self.chains: list[dict] | None = [] if settings["algo"] == "gogepo" else None

    # --- starting and resuming ------------------------------------------------------------------
    @classmethod
    def create(
        cls,
        out: Path,
        algo: str,
        env: str,
        steps: int,
        seed: int,
        overrides: dict,
        eval_every: int | None = None,
        device: str = "cpu",
        preset_name: str = "faithful",
    ) -> Run:
        if steps <= 0:
            raise ValueError(f"--steps must be positive, got {steps}")
        preset = env_preset(env)
        build_config(algo, env, overrides)  # validate before touching the disk
        if device != "cpu" and not ALGORITHMS[algo].cls.supports_gpu:
            raise ValueError(f"{algo} runs on the CPU only, not on device {device!r}")
        if (out / "checkpoint.pt").exists() or (out / "run.json").exists():
            raise ValueError(f"{out} already holds a run; use `resume {out}` or another --out")
        try:
            out.mkdir(parents=True, exist_ok=True)
            probe = out / ".write-test"
            probe.write_text("ok")
            probe.unlink()
        except OSError as e:
            raise ValueError(f"cannot write to --out {out}: {e.strerror or e}") from None
        settings = {
            "algo": algo,
            "env": env,
            "seed": seed,
            "steps": steps,
            "eval_every": eval_every or preset.eval_every,
            "device": device,
            "preset": preset_name,  # the named settings the overrides start from (udrlpg)
            "config": overrides,
            "command": " ".join([Path(sys.executable).name, "-m", "udrlpg_lite", *sys.argv[1:]]),
        }
        run = cls(out, settings)
        chosen = run.algo.run_info().get("update_precision")
        if chosen is not None:  # "auto" measured here: a resume or rerun must not measure again
            settings["config"]["precision"] = chosen
        (out / "run.json").write_text(json.dumps(settings, indent=2))
        return run

    @classmethod
    def load(cls, out: Path) -> Run:
        try:
            settings = json.loads((out / "run.json").read_text())
        except (OSError, json.JSONDecodeError) as e:
            raise ValueError(f"{out} holds no readable run (run.json: {e})") from None
        run = cls(out, settings)
        path = out / "checkpoint.pt"
        if path.exists():
            try:
                # weights_only: tensors and plain types only, so a checkpoint cannot run code
                state = torch.load(path, weights_only=True, map_location=run.algo.device)
            except pickle.UnpicklingError as e:
                if "Unsupported global" not in str(e):  # damaged, not a foreign object
                    raise ValueError(f"checkpoint {path} is corrupt or unreadable") from None
                raise ValueError(
                    f"checkpoint {path} holds objects other than tensors and plain types: refused"
                ) from None
            except Exception as e:  # any failure to read means the file cannot be trusted
                raise ValueError(
                    f"checkpoint {path} is corrupt or unreadable ({type(e).__name__})"
                ) from None
            try:
                run.algo.load_state_dict(state["algorithm"])
            except Exception as e:
                raise ValueError(
                    f"checkpoint {path} does not fit run.json ({type(e).__name__}: {e})"
                ) from None
            run.rows, run.wall_time_s = state["rows"], state["wall_time_s"]
            run.segments = state.get("segments", [])
            run.next_eval = state["next_eval"]
            run.finished = state.get("finished", False)
            if run.chains is not None:  # checkpoints from before the chains have none to go on
                run.chains = state.get("chains")
        return run

    # --- the loop -------------------------------------------------------------------------------
    def train(self, checkpoint_every_s: float = 60.0, progress: bool = True) -> list[dict]:
        algo, steps = self.algo, self.settings["steps"]
        segment = {"commit": self.commit, "from_env_steps": algo.env_steps}
        if self.batched_seeds is not None:  # this process trained several seeds together
            segment["batched_seeds"] = self.batched_seeds
        self.segments.append(segment)
        start = time.perf_counter() - self.wall_time_s
        last_checkpoint = time.perf_counter()
        # evaluations not yet in metrics.csv, which the next checkpoint writes (a resumed run's
        # checkpoint can hold evaluations its files lack)
        unwritten = bool(self.rows)
        title = f"{self.settings['algo']} on {self.settings['env']}"
        with tqdm(
            total=steps,
            initial=min(algo.env_steps, steps),
            unit="step",
            desc=title,
            disable=not progress,
            dynamic_ncols=True,
        ) as bar:
            while True:
                done = algo.env_steps >= steps
                while self.chains is not None and chain_due(len(self.chains), algo.env_steps, steps):
                    self.chains.append(record_chain(algo))
                if done and not self.finished:
                    algo.finish()  # e.g. UDRLPG's keep_best: a last check of its elite
                    self.finished = True
                if algo.env_steps >= self.next_eval or done:
                    self._evaluate(time.perf_counter() - start)
                    unwritten = True
                    bar.set_postfix(eval=f"{self.rows[-1]['eval_return_mean']:.1f}")
                    if done and self.chains is not None:
                        text = json.dumps(map_data(algo, self.chains))
                        (self.out / "policy_map.json").write_text(text)
                # checkpoint on the clock, between evaluations too: on Hopper 30,000 steps of
                # short episodes can take longer than a minute. The records (metrics, manifest,
                # curve) follow at the first checkpoint after an evaluation, so a long run's
                # files on disk are never more than a checkpoint behind its evaluations.
                if done or time.perf_counter() - last_checkpoint > checkpoint_every_s:
                    self.wall_time_s = time.perf_counter() - start
                    self.save(complete=done, records=unwritten)
                    unwritten = False
                    last_checkpoint = time.perf_counter()
                if done:
                    break
                before = algo.env_steps
                try:
                    algo.iterate()
                except NonFiniteError as e:
                    self.wall_time_s = time.perf_counter() - start
                    self.write_records(status=f"failed: {e}")  # the last good checkpoint stays
                    raise
                bar.update(min(algo.env_steps, steps) - min(before, steps))
        return self.rows

    def _evaluate(self, wall: float) -> None:
        algo = self.algo
        row = {"env_steps": algo.env_steps, "iteration": algo.iterations}
        row |= algo.evaluate()
        row |= {"eval_env_steps": algo.eval_env_steps, "wall_time_s": round(wall, 3)}
        if hasattr(algo, "command") and hasattr(algo, "scale"):
            row["command"] = algo.scale.unscale(algo.command)
        self.rows.append(row)
        while self.next_eval <= algo.env_steps:
            self.next_eval += self.settings["eval_every"]

    def save(self, complete: bool, records: bool = True) -> None:
        """Checkpoint (atomically), then, with ``records``, metrics, manifest and curve."""
        state = {
            "algorithm": self.algo.state_dict(),
            "rows": self.rows,
            "wall_time_s": self.wall_time_s,
            "next_eval": self.next_eval,
            "finished": self.finished,
            "segments": self.segments,
            "chains": self.chains,
        }
        tmp = self.out / "checkpoint.pt.tmp"
        torch.save(state, tmp)
        os.replace(tmp, self.out / "checkpoint.pt")
        if records:
            self.write_records(status="complete" if complete else "running")

    def command_sweep(self, n_commands: int = 10, episodes: int = 5) -> dict:
        """The trained generator's command-following test (UDRLPG paper, Figure 4).

        G(c) without noise for ``n_commands`` commands evenly over the env's return range,
        ``episodes`` episodes each (evaluation steps: the run learns nothing from them). Writes
        commands.json (commands, mean, std, RMSE of achieved vs commanded) and summary.png (the
        learning curve beside the commanded-vs-achieved curve); returns what commands.json holds.
        """
        if not hasattr(self.algo, "command_sweep"):
            raise ValueError(f"{self.out} is a {self.settings['algo']} run: it has no commands")
        lo, hi = self.algo.preset.return_range
        commands = np.linspace(lo, hi, n_commands)
        mean, std = self.algo.command_sweep(commands, episodes)
        sweep = {
            "env_steps": self.algo.env_steps,
            "episodes": episodes,
            "commands": commands.tolist(),
            "mean": mean.tolist(),
            "std": std.tolist(),
            "rmse": float(np.sqrt(np.mean((mean - commands) ** 2))),
        }
        (self.out / "commands.json").write_text(json.dumps(sweep, indent=2))
        save_run_summary(
            self.out / "metrics.csv",
            sweep,
            self.out / "summary.png",
            f"{self.settings['algo']} on {self.settings['env']}, seed {self.settings['seed']}",
        )
        return sweep

    def write_records(self, status: str) -> None:
        """metrics.csv, manifest.json (with ``status``) and curve.png, as they stand now."""
        with open(self.out / "metrics.csv", "w", newline="") as f:
            writer = csv.DictWriter(f, fieldnames=list(self.rows[0]))
            writer.writeheader()
            writer.writerows(self.rows)
        manifest = {
            "command": self.settings["command"],
            "commit": self.commit,
            "segments": self.segments,  # a resumed run lists each process's commit
            "device": _device_description(self.algo.device),
            "algo": self.settings["algo"],
            "preset": self.settings.get("preset", "faithful"),
            "env": self.settings["env"],
            "seed": self.settings["seed"],
            "steps_budget": self.settings["steps"],
            "env_steps": self.algo.env_steps,
            "eval_env_steps": self.algo.eval_env_steps,
            "config": dataclasses.asdict(self.algo.config),
            "run_info": self.algo.run_info(),
            "versions": _versions(),
            "wall_time_s": round(self.wall_time_s, 2),
            "status": status,
        }
        (self.out / "manifest.json").write_text(json.dumps(manifest, indent=2))
        save_learning_curve(
            self.out / "metrics.csv",
            self.out / "curve.png",
            f"{self.settings['algo']} on {self.settings['env']}, seed {self.settings['seed']}",
        )
