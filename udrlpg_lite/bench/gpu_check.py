"""``python -m udrlpg_lite gpu-check --out DIR``: what a GPU does for this project, in one report.

One prepared script (about 8 minutes on an H100/H200) that writes ``DIR/gpu-check.md``:

1. parity of the GPU back end (MuJoCo Warp) with the CPU engine: InvertedPendulum-v5, Swimmer-v5
   and Hopper-v5, 64 worlds, episodes truncated at 200 steps, same seeds and policies: the largest
   return difference and whether lengths and terminations agree;
2. contact and constraint limits: the most contacts (``nacon``) and constraint rows (``nefc``) seen
   at the end of the rollouts against MJWarp's ``naconmax`` and ``njmax`` (an overflow drops
   contacts silently);
3. Hopper-v5 env-steps/s of the GPU back end for 1k/4k/16k worlds, physics only (zero control) and
   end to end (a batched (256, 256) MLP policy), and the CPU engine's end-to-end rate on this
   machine's cores, with the ratio;
4. generator updates/s (the UDRLPG paper's generator, batch 24) on the GPU, eager and captured
   (``torch.compile(mode="reduce-overhead")``, which replays a CUDA graph);
5. faithful UDRLPG (P = 1, placement ``--sim auto``: the CPU engine, networks on the GPU) on
   Hopper-v5 for 100k steps, its wall time and the projected wall time of the paper's 3M steps;
   and a population run (P = 64, simulated on the GPU) for comparison.

Torch and warp share one non-default stream in the GPU back end (``WarpEvaluator._stream``). Every
size comes from ``SIZES``: ``full`` for a GPU, ``tiny`` for the test suite, which runs this whole
script on warp's CPU device (``tests/test_gpu_backend.py``).
"""

from __future__ import annotations

import json
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import torch

from ..envs import ENGINE_ENVS, make_evaluator
from ..envs.mujoco_batch import MujocoBatchEvaluator
from ..policy import PolicySpec, PopulationPolicy


@dataclass(frozen=True)
class Sizes:
    parity_worlds: int
    parity_steps: int
    worlds: tuple[int, ...]
    cpu_policies: int
    updates: int
    train_steps: int
    population: int
    generator: str  # generator preset of items 4 and 5 (generator.PRESETS)
    hidden: tuple[int, ...]  # policy hidden layers of items 4 and 5
    episode_cap: int | None  # episodes truncated here in items 3 and 5 (None: the env's own limit)


SIZES = {  # full: the papers' sizes on a GPU; tiny: the test suite, on warp's CPU device
    "full": Sizes(64, 200, (1024, 4096, 16384), 256, 200, 100_000, 64, "udrlpg", (256, 256), None),
    "tiny": Sizes(4, 20, (8,), 8, 2, 60, 2, "small", (16,), 25),
}
PAPER_STEPS = {"Hopper-v5": 3_000_000}


def parity(device: str, sizes: Sizes, seed: int = 0) -> list[dict]:
    """Item 1 (and 2): the same episodes on both engines; limits read after the rollouts."""
    from ..envs.gpu_backend import WarpEvaluator
    from .engine import _random_policies

    rows = []
    for env_id in ENGINE_ENVS:
        cpu, gpu = (
            MujocoBatchEvaluator(env_id, seed=seed),
            WarpEvaluator(env_id, seed=seed, device=device),
        )
        cpu.max_episode_steps = gpu.max_episode_steps = sizes.parity_steps
        spec = PolicySpec(cpu.obs_dim, cpu.act_dim, (64, 64), cpu.act_bound)
        theta = _random_policies(spec, sizes.parity_worlds, seed)
        a = cpu.evaluate(PopulationPolicy(spec, theta), sizes.parity_worlds)
        b = gpu.evaluate(PopulationPolicy(spec, theta), sizes.parity_worlds)
        data = gpu._simulations(sizes.parity_worlds)
        rows.append(
            {
                "env": env_id,
                "max_return_diff": float(np.abs(a.returns - b.returns).max()),
                "max_relative_diff": float(
                    (np.abs(a.returns - b.returns) / np.maximum(np.abs(a.returns), 1.0)).max()
                ),
                "lengths_equal": bool((a.lengths == b.lengths).all()),
                "terminations_equal": bool((a.terminated == b.terminated).all()),
                "nacon": int(data.nacon.numpy().max()),
                "naconmax": int(data.naconmax),
                "nefc": int(data.nefc.numpy().max()),
                "njmax": int(data.njmax),
            }
        )
    return rows


def _timed(fn) -> float:
    if torch.cuda.is_available():
        torch.cuda.synchronize()
    start = time.perf_counter()
    fn()
    if torch.cuda.is_available():
        torch.cuda.synchronize()
    return time.perf_counter() - start


def throughput(device: str, sizes: Sizes, seed: int = 0) -> dict:
    """Item 3: Hopper env-steps/s, physics only and end to end, against the CPU engine."""
    from ..envs.gpu_backend import WarpEvaluator
    from .engine import _engine_rate

    env_id = "Hopper-v5"
    gpu = {}
    for n in sizes.worlds:
        evaluator = WarpEvaluator(env_id, seed=seed, device=device)
        evaluator.max_episode_steps = sizes.episode_cap or evaluator.max_episode_steps
        data = evaluator._simulations(n)
        steps = 100 if device.startswith("cuda") else 2
        physics = _timed(lambda: [evaluator._env_step(data) for _ in range(steps)])  # noqa: B023
        end_to_end, taken = _engine_rate(evaluator, n, seed)
        gpu[n] = {"physics": n * steps / physics, "end_to_end": end_to_end, "env_steps": taken}
    cpu = make_evaluator(env_id, seed=seed)
    cpu.max_episode_steps = sizes.episode_cap or cpu.max_episode_steps
    cpu_rate, _ = _engine_rate(cpu, sizes.cpu_policies, seed)
    return {"env": env_id, "gpu": gpu, "cpu_engine": cpu_rate}


def update_rates(device: str, sizes: Sizes) -> dict:
    """Item 4: generator updates/s, eager and (on a GPU) captured as a CUDA graph."""
    from ..algorithms.udrlpg import UDRLPG, UDRLPGConfig
    from ..presets import env_preset

    torch_device = device if device.startswith("cuda") else "cpu"
    config = UDRLPGConfig(precision="fp32", generator=sizes.generator, hidden=sizes.hidden)
    algo = UDRLPG("Hopper-v5", env_preset("Hopper-v5"), 0, config, torch_device)
    update = algo.probe_update(bf16=False)
    update()  # warm-up
    rates = {"eager": sizes.updates / _timed(lambda: [update() for _ in range(sizes.updates)])}
    if torch_device.startswith("cuda"):
        captured = torch.compile(update, mode="reduce-overhead")
        for _ in range(3):
            captured()  # compiles and records the graph
        rates["cuda_graph"] = sizes.updates / _timed(lambda: [captured() for _ in range(sizes.updates)])
    return rates


def training(device: str, sizes: Sizes, out: Path, population: int) -> dict:
    """Item 5: UDRLPG on Hopper-v5 with the placement of ``--sim auto``; wall time and projection."""
    from ..experiments.runner import Run

    overrides = {"precision": "fp32", "generator": sizes.generator, "hidden": sizes.hidden}
    overrides |= {"population": population} if population > 1 else {}
    run = Run.create(
        out / f"hopper-p{population}", "udrlpg", "Hopper-v5", sizes.train_steps, 0, overrides,
        None, device,
    )  # fmt: skip
    for evaluator in (run.algo.train_env, run.algo.eval_env):
        evaluator.max_episode_steps = sizes.episode_cap or evaluator.max_episode_steps
    start = time.perf_counter()
    rows = run.train(progress=False)
    wall = time.perf_counter() - start
    projected = wall * PAPER_STEPS["Hopper-v5"] / max(run.algo.env_steps, 1)
    return {
        "population": population,
        "sim": str(run.algo.sim_device),
        "networks": str(run.algo.device),
        "env_steps": run.algo.env_steps,
        "wall_s": wall,
        "projected_3m_s": projected,
        "final_eval": rows[-1]["eval_return_mean"],
    }


def run(out: Path, size: str = "full", device: str = "cuda") -> Path:
    """Every item above, in order; writes ``out/gpu-check.md`` and ``out/gpu-check.json``."""
    from ..algorithms.precision import cpu_name
    from ..envs import require_gpu_backend

    if size not in SIZES:
        raise ValueError(f"size must be one of {sorted(SIZES)}, got {size!r}")
    sim_device = device
    if device.startswith("cuda"):
        require_gpu_backend(device)
    else:  # the tests: the whole script on warp's CPU device
        device, sim_device = "warp:cpu", "cpu"
    sizes = SIZES[size]
    out.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    report = {
        "sizes": asdict(sizes),
        "device": torch.cuda.get_device_name() if device.startswith("cuda") else "warp cpu device",
        "cpu": cpu_name(),
        "parity": parity(sim_device, sizes),
        "throughput": throughput(sim_device, sizes),
        "updates_per_s": update_rates(device, sizes),
        "training": [training(device, sizes, out, p) for p in (1, sizes.population)],
    }
    report["wall_s"] = time.perf_counter() - started
    (out / "gpu-check.json").write_text(json.dumps(report, indent=2))
    (out / "gpu-check.md").write_text(markdown(report))
    return out / "gpu-check.md"


def markdown(r: dict) -> str:
    lines = [
        "# gpu-check",
        "",
        f"Device: {r['device']}; CPU: {r['cpu']}; sizes: {r['sizes']}; wall {r['wall_s']:.0f} s.",
        "",
        "## 1-2. Parity with the CPU engine, contact limits",
        "",
        "| env | max return diff | max relative | lengths equal | terminations equal | "
        "nacon / naconmax | nefc / njmax |",
        "|---|---|---|---|---|---|---|",
    ]
    for p in r["parity"]:
        lines.append(
            f"| {p['env']} | {p['max_return_diff']:.2e} | {p['max_relative_diff']:.2e} | "
            f"{p['lengths_equal']} | {p['terminations_equal']} | {p['nacon']} / {p['naconmax']} | "
            f"{p['nefc']} / {p['njmax']} |"
        )
    t = r["throughput"]
    lines += [
        "",
        f"## 3. {t['env']} env-steps/s",
        "",
        f"CPU engine, end to end: {t['cpu_engine']:.0f}.",
        "",
        "| worlds | physics only | end to end | end to end / CPU engine |",
        "|---|---|---|---|",
    ]
    for n, g in t["gpu"].items():
        lines.append(
            f"| {n} | {g['physics']:.0f} | {g['end_to_end']:.0f} | "
            f"{g['end_to_end'] / t['cpu_engine']:.2f} |"
        )
    lines += ["", f"## 4. Generator updates/s (generator {r['sizes']['generator']}, batch 24, fp32)", ""]
    lines += [f"- {k}: {v:.1f}" for k, v in r["updates_per_s"].items()]
    lines += [
        "",
        "## 5. UDRLPG on Hopper-v5",
        "",
        "| population | simulator | networks | env steps | wall (s) | projected 3M (h) | last eval |",
        "|---|---|---|---|---|---|---|",
    ]
    for x in r["training"]:
        lines.append(
            f"| {x['population']} | {x['sim']} | {x['networks']} | {x['env_steps']} | "
            f"{x['wall_s']:.0f} | {x['projected_3m_s'] / 3600:.2f} | {x['final_eval']:.0f} |"
        )
    return "\n".join(lines) + "\n"
