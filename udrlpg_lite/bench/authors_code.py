"""Run the UDRLPG authors' own code on one seed and keep its records as a run directory.

The code the UDRLPG paper links (JacopoD/udrlpg_, ``new_driver.py``) logs only to Weights & Biases
and writes its files below a path of the authors' machine. This module runs it unchanged, from a
clone given by path, with three things replaced from outside: ``wandb`` by a recorder that keeps
every evaluation (``eval_reward``, the mean of its 5 episodes at the best command seen) and the
best return seen; the run folder of its ``Tracker`` by ``OUT/authors/``; and, in its
``udrlpg/config.py``, the environment and the seed. On NumPy 2 the alias ``np.float_`` that the
code uses (removed in NumPy 2.0) is put back as ``np.float64``, which it was. Everything else
(sizes, learning rate, buckets, schedule, evaluation) is the authors' configuration.

``OUT`` gets the files that ``report`` reads for a run of this package:

    run.json        algo ``udrlpg-authors``, env, seed, budget, evaluation interval, command
    metrics.csv     env_steps, eval_return_mean, command (best return seen), wall_time_s
    commands.json   the code's last "extensive evaluation": 10 commands evenly over the return
                    range, 5 episodes each, no noise (the protocol of our command test), and its
                    RMSE of achieved against commanded return
    manifest.json   command, our commit, the authors' commit, CPU, versions, wall time, status

The authors' code has no checkpoints: an interrupted run starts again from its first step.
"""

from __future__ import annotations

import contextlib
import csv
import json
import subprocess
import sys
import time
import types
from pathlib import Path

import numpy as np
import torch

from ..experiments.runner import _commit, _device_description, _versions

ALGO = "udrlpg-authors"
ENVS = ("InvertedPendulum-v4", "Swimmer-v4", "Hopper-v4", "HalfCheetah-v4", "CartPole-v1")  # its own


class Recorder(types.ModuleType):
    """Stands in for ``wandb``: keeps what the authors' code logs at each evaluation."""

    def __init__(self) -> None:
        super().__init__("wandb")
        self.rows: list[dict] = []
        self.start = time.perf_counter()
        self.run = types.SimpleNamespace(name="run", project_name=lambda: "udrlpg")

    def log(self, values: dict, step: int | None = None) -> None:
        if "eval_reward" in values:  # Tracker.log_to_wandb, once per evaluation
            self.rows.append(
                {
                    "env_steps": int(step),
                    "eval_return_mean": float(values["eval_reward"]),
                    "command": float(values["rbuf_max_reward_seen"]),
                    "wall_time_s": round(time.perf_counter() - self.start, 2),
                }
            )

    def init(self, *args, **kwargs) -> types.SimpleNamespace:
        return self.run

    def Image(self, *args, **kwargs) -> None:  # noqa: N802 (wandb's name)
        return None

    def watch(self, *args, **kwargs) -> None:
        return None

    def finish(self, *args, **kwargs) -> None:
        return None

    def login(self, *args, **kwargs) -> None:
        return None


def authors_commit(repo: Path) -> str:
    """The commit of the clone (``git rev-parse HEAD``), or a clear error if it is not one."""
    found = subprocess.run(
        ["git", "rev-parse", "HEAD"], cwd=repo, capture_output=True, text=True, check=False
    )
    if found.returncode != 0 or not (repo / "new_driver.py").exists():
        raise ValueError(f"{repo} is not a clone of JacopoD/udrlpg_ (no new_driver.py or no git)")
    return found.stdout.strip()


def command_test(history: np.ndarray, max_reward: float, min_reward: float) -> dict:
    """commands.json from the code's last extensive evaluation (10 commands x 5 episodes)."""
    rews = history[-1]
    commands = np.linspace(0.0, 1.0, rews.shape[0]) * (max_reward - min_reward) + min_reward
    mean = rews.mean(axis=1)
    return {
        "episodes": int(rews.shape[1]),
        "commands": commands.tolist(),
        "mean": mean.tolist(),
        "std": rews.std(axis=1).tolist(),
        "rmse": float(np.sqrt(np.mean((mean - commands) ** 2))),
    }


def run(repo: Path, env: str, seed: int, out: Path) -> Path:
    """Train the authors' UDRLPG on ``env`` (an env their code knows, e.g. InvertedPendulum-v4)
    with ``seed`` (torch with the threads the command line set); write the run directory ``out``."""
    if env not in ENVS:
        raise ValueError(f"the authors' code knows {', '.join(ENVS)}; got {env!r}")
    repo = repo.resolve()
    commit = authors_commit(repo)
    out.mkdir(parents=True, exist_ok=True)
    recorder = Recorder()
    if not hasattr(np, "float_"):
        np.float_ = np.float64  # NumPy 1's alias, used by the authors' buckets
    sys.modules["wandb"] = recorder
    sys.path.insert(0, str(repo))
    import new_driver  # noqa: PLC0415 (the authors' module, importable only now)
    import udrlpg.config as config  # noqa: PLC0415
    from udrlpg.tracker import Tracker  # noqa: PLC0415
    from udrlpg.utils import parse_config  # noqa: PLC0415

    config.gym_env_name, config.seed = env, seed
    Tracker.create_directoy = lambda self, path, name: str(_mkdir(out / "authors"))
    settings = parse_config(types.SimpleNamespace(**_plain(config)), is_sweep=False)
    command = (
        f"python -m udrlpg_lite authors-code --repo {repo} --env {env} --seed {seed} "
        f"--threads {torch.get_num_threads()} --out {out}"
    )
    np.seterr(invalid="raise")  # as the authors' __main__ sets it
    start = time.perf_counter()
    with contextlib.redirect_stdout(sys.stderr):  # its progress line; ours stays clean
        new_driver.main(is_sweep=False, project_name="udrlpg", use_wandb=False)
    wall = time.perf_counter() - start
    rows = recorder.rows
    with open(out / "metrics.csv", "w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    history = np.load(out / "authors" / "extensive_eval_data.npy")
    sweep = command_test(history, settings.max_reward, settings.min_reward)
    sweep["env_steps"] = rows[-1]["env_steps"]
    (out / "commands.json").write_text(json.dumps(sweep, indent=2))
    run_json = {
        "algo": ALGO,
        "env": env,
        "seed": seed,
        "steps": settings.max_steps,
        "eval_every": settings.eval_frequency,
        "device": "cpu",
        "preset": "faithful",
        "config": {},
        "command": command,
    }
    (out / "run.json").write_text(json.dumps(run_json, indent=2))
    manifest = {
        "command": command,
        "commit": _commit(),
        "authors_code": {"repository": "JacopoD/udrlpg_", "commit": commit},
        "device": _device_description(torch.device("cpu")),
        "algo": ALGO,
        "preset": "faithful",
        "env": env,
        "seed": seed,
        "steps_budget": settings.max_steps,
        "env_steps": settings.max_steps - 1,  # it stops when the next step would be the last
        "config": {"eval_episodes": 5},
        "run_info": {"update_precision": "fp32"},  # the authors' code trains in torch's default
        "versions": _versions(),
        "wall_time_s": round(wall, 2),
        "status": "complete",
    }
    (out / "manifest.json").write_text(json.dumps(manifest, indent=2))
    return out


def _mkdir(path: Path) -> Path:
    path.mkdir(parents=True, exist_ok=True)
    return path


def _plain(module: types.ModuleType) -> dict:
    """The settings of the authors' config module (its names without leading underscores)."""
    return {k: v for k, v in vars(module).items() if not k.startswith("_")}
