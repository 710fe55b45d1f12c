"""Relabel and refit: an offline test of one fix for the step-shaped identity curve (chapter 7).

For a finished UDRLPG run directory (with its checkpoint), ``refit`` plays every stored policy once
without noise under the run's final observation normaliser, replaces each stored return by the
replayed one ("relabelled"), or leaves the buffer as it is ("as stored"), makes ``updates`` more
generator updates with the run's own settings, and runs the command test (10 commands evenly over
the env's return range, 5 episodes each) before and after. No new training episodes are played.

    python -m udrlpg_lite relabel RUN [RUN ...] --out DIR --threads 1

prints one line per run and buffer (DIR/relabel.txt) and writes DIR/relabel.json;
``results/udrlpg-ip-relabel/`` holds the study on the two InvertedPendulum demo runs of chapter 7.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import torch

from .runner import Run

UPDATES = 4500  # about as many as the last 560 iterations of a run (8 per rollout)
N_COMMANDS = 10  # commands evenly over the env's return range
EPISODES = 5  # episodes per command


def refit(out: Path, relabel: bool, updates: int = UPDATES) -> dict:
    """One run's command test before and after ``updates`` more updates on its buffer, relabelled
    by a replay of every stored policy or as stored."""
    if not (out / "checkpoint.pt").exists():
        raise ValueError(f"{out} has no checkpoint.pt: relabel needs a trained run's buffer")
    torch.manual_seed(0)
    run = Run.load(out)
    if run.settings["algo"] != "udrlpg":
        raise ValueError(f"{out} is a {run.settings['algo']} run; relabel refits udrlpg runs")
    algo = run.algo
    commands = np.linspace(*algo.preset.return_range, N_COMMANDS)
    before, _ = algo.command_sweep(commands, EPISODES)
    if relabel:
        state = algo.buffer.state_dict()
        replayed = algo.rollout_eval(algo.spec, state["thetas"]).returns
        state["returns"] = [algo.scale(float(r)) for r in replayed]
        algo.buffer.load_state_dict(state)
    for _ in range(updates):
        algo.update()
    after, _ = algo.command_sweep(commands, EPISODES)
    return {
        "run": str(out),
        "buffer": "relabelled" if relabel else "as stored",
        "updates": updates,
        "before": before.round(1).tolist(),
        "after": after.round(1).tolist(),
        "rmse_before": rmse(before, commands),
        "rmse_after": rmse(after, commands),
    }


def rmse(mean: np.ndarray, commands: np.ndarray) -> float:
    return float(np.sqrt(np.mean((mean - commands) ** 2)))


def study(runs: list[Path], updates: int = UPDATES) -> list[dict]:
    """``refit`` of every run, its buffer as stored and then relabelled."""
    return [refit(Path(out), relabel, updates) for out in runs for relabel in (False, True)]


def format_row(row: dict) -> str:
    return (
        f"{row['run']:<16} {row['buffer']:<11} RMSE {row['rmse_before']:5.0f} -> "
        f"{row['rmse_after']:5.0f}  after: {np.round(row['after']).astype(int).tolist()}"
    )


def write(rows: list[dict], out: Path) -> list[Path]:
    """OUT/relabel.json (the rows) and OUT/relabel.txt (one line per row)."""
    out.mkdir(parents=True, exist_ok=True)
    (out / "relabel.json").write_text(json.dumps(rows, indent=2))
    (out / "relabel.txt").write_text("".join(format_row(row) + "\n" for row in rows))
    return [out / "relabel.json", out / "relabel.txt"]
