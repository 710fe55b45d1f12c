"""Summaries over seeds of the run directories under a folder: ``python -m udrlpg_lite report DIR``.

A run's final return is the mean of its last 20 evaluations (GoGePo appendix, Table 1). Over the
seeds of one (env, algo, preset) group the report gives the mean and std of the final returns, a
95% bootstrap confidence interval of the mean (``scipy.stats.bootstrap``, BCa), the pass rate
(a run passes when any evaluation reaches the env's threshold), and, where a run has its command
test (commands.json), the RMSE of achieved against commanded return.
"""

from __future__ import annotations

import csv
import json
from pathlib import Path

import numpy as np
from scipy import stats

from .plotting import read_metrics

PASS_THRESHOLDS = {"InvertedPendulum-v5": 950.0, "Swimmer-v5": 250.0, "Hopper-v5": 2070.0}
FINAL_EVALS = 20  # the last evaluations averaged into a run's final return
COLUMNS = [
    "env",
    "algo",
    "preset",
    "n_seeds",
    "final_return_mean",
    "final_return_std",
    "ci95_low",
    "ci95_high",
    "pass_rate",
    "rmse_median",
    "eval_every",
    "eval_episodes",
]


def run_summary(out: Path) -> dict:
    """One run directory: its identity, final return, first step at the threshold, RMSE."""
    settings = json.loads((out / "run.json").read_text())
    manifest = json.loads((out / "manifest.json").read_text())
    metrics = read_metrics(out / "metrics.csv")
    returns = np.array(metrics["eval_return_mean"])
    threshold = PASS_THRESHOLDS.get(settings["env"], np.inf)
    passed = np.flatnonzero(returns >= threshold)
    sweep = out / "commands.json"
    return {
        "env": settings["env"],
        "algo": settings["algo"],
        "preset": settings.get("preset", "faithful"),
        "seed": settings["seed"],
        "final_return": float(returns[-FINAL_EVALS:].mean()),
        "first_pass_step": int(metrics["env_steps"][passed[0]]) if len(passed) else None,
        "rmse": json.loads(sweep.read_text())["rmse"] if sweep.exists() else None,
        "wall_time_s": manifest["wall_time_s"],
        "eval_every": settings["eval_every"],
        "eval_episodes": manifest["config"].get("eval_episodes"),
    }


def mean_ci(values: np.ndarray) -> tuple[float, float]:
    """95% bootstrap CI of the mean; a sample with no spread (every seed at 1000) is its value."""
    if len(values) < 2 or np.ptp(values) == 0:
        return float(values.mean()), float(values.mean())
    ci = stats.bootstrap((values,), np.mean, confidence_level=0.95, random_state=0).confidence_interval
    return float(ci.low), float(ci.high)


def group_summary(runs: list[dict]) -> dict:
    finals = np.array([r["final_return"] for r in runs])
    low, high = mean_ci(finals)
    rmses = [r["rmse"] for r in runs if r["rmse"] is not None]
    first = runs[0]
    return {
        "env": first["env"],
        "algo": first["algo"],
        "preset": first["preset"],
        "n_seeds": len(runs),
        "final_return_mean": round(float(finals.mean()), 1),
        "final_return_std": round(float(finals.std()), 1),
        "ci95_low": round(low, 1),
        "ci95_high": round(high, 1),
        "pass_rate": round(sum(r["first_pass_step"] is not None for r in runs) / len(runs), 3),
        "rmse_median": round(float(np.median(rmses)), 1) if rmses else "",
        "eval_every": first["eval_every"],
        "eval_episodes": first["eval_episodes"],
    }


def find_runs(root: Path) -> list[Path]:
    """Every finished run directory below root (a run.json beside a manifest.json)."""
    return sorted(p.parent for p in root.rglob("run.json") if (p.parent / "manifest.json").exists())


def write_summary(roots: list[Path], csv_path: Path) -> list[dict]:
    """Group the runs under ``roots`` by their folder and write one summary row per group."""
    rows = []
    for root in roots:
        runs = [run_summary(out) for out in find_runs(root)]
        if not runs:
            raise ValueError(f"no run directories under {root}")
        rows.append({"group": str(root)} | group_summary(runs))
    with open(csv_path, "w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=["group", *COLUMNS])
        writer.writeheader()
        writer.writerows(rows)
    return rows
