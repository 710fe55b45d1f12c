"""Offline test of one fix for the step-shaped identity curve: relabel the buffer, then refit.

For a finished run directory (with its checkpoint), this plays every stored policy once without
noise under the run's final observation normaliser, replaces each stored return by the replayed
one ("relabel"), or leaves the buffer as it is ("as stored"), makes UPDATES more generator updates
with the run's own settings, and runs the command test (10 commands over the return range, 5
episodes each) before and after. No new training episodes are played. Writes relabel.json here.

    python results/udrlpg-ip-relabel/relabel.py RUN [RUN ...]
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np
import torch

from udrlpg_lite.experiments.runner import Run

UPDATES = 4500  # about as many as the last 560 iterations of a run (8 per rollout)
COMMANDS = np.linspace(0.0, 1000.0, 10)


def rmse(mean: np.ndarray) -> float:
    return float(np.sqrt(np.mean((mean - COMMANDS) ** 2)))


def refit(out: Path, relabel: bool) -> dict:
    torch.manual_seed(0)
    algo = Run.load(out).algo
    before, _ = algo.command_sweep(COMMANDS, 5)
    if relabel:
        state = algo.buffer.state_dict()
        replayed = algo.rollout_eval(algo.spec, state["thetas"]).returns
        state["returns"] = [algo.scale(float(r)) for r in replayed]
        algo.buffer.load_state_dict(state)
    for _ in range(UPDATES):
        algo.update()
    after, _ = algo.command_sweep(COMMANDS, 5)
    return {
        "run": str(out),
        "buffer": "relabelled" if relabel else "as stored",
        "updates": UPDATES,
        "before": before.round(1).tolist(),
        "after": after.round(1).tolist(),
        "rmse_before": rmse(before),
        "rmse_after": rmse(after),
    }


if __name__ == "__main__":
    torch.set_num_threads(1)
    rows = [refit(Path(out), relabel) for out in sys.argv[1:] for relabel in (False, True)]
    for r in rows:
        print(f"{r['run']:<16} {r['buffer']:<11} RMSE {r['rmse_before']:5.0f} -> {r['rmse_after']:5.0f}"
              f"  after: {np.round(r['after']).astype(int).tolist()}")  # fmt: skip
    (Path(__file__).parent / "relabel.json").write_text(json.dumps(rows, indent=2))
