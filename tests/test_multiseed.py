"""Several seeds in one process: deterministic, and the runs separate processes would make."""

from __future__ import annotations

import numpy as np
import pytest

from udrlpg_lite.experiments.multiseed import train_together
from udrlpg_lite.experiments.runner import Run

IP = "InvertedPendulum-v5"
SMALL = {"generator": "small", "hidden": (32, 32)}  # batching is tested, not the paper's sizes
SETTINGS = {
    "udrlpg": {"warmup": 3, "updates_per_rollout": 2} | SMALL,
    "gogepo": {"warmup": 3, "generator_steps": 2, "critic_steps": 1, "critic_hidden": (32, 32)}
    | {"n_probing": 20}
    | SMALL,
}
SEEDS, STEPS = (3, 4), 300


def _runs(tmp_path, name: str, algo: str) -> list[Run]:
    return [Run.create(tmp_path / f"{name}{s}", algo, IP, STEPS, s, SETTINGS[algo], 100) for s in SEEDS]


def _evaluations(run: Run) -> list[tuple]:
    return [(row["env_steps"], row["eval_return_mean"]) for row in run.rows]


@pytest.mark.parametrize("algo", ["udrlpg", "gogepo"])
def test_batched_seeds_are_deterministic_and_match_separate_runs(tmp_path, algo):
    alone = _runs(tmp_path, "alone", algo)
    for run in alone:
        run.train(progress=False)
    first, second = _runs(tmp_path, "first", algo), _runs(tmp_path, "second", algo)
    train_together(first, progress=False)
    train_together(second, progress=False)
    for a, b, c in zip(alone, first, second):
        assert _evaluations(b) == _evaluations(c)  # the same seeds: the same runs, bit for bit
        np.testing.assert_array_equal(b.algo.normalizer.m2, c.algo.normalizer.m2)
        # what a separate process does: the same episodes, up to float rounding in the actions
        assert _evaluations(b) == _evaluations(a)
        np.testing.assert_allclose(b.algo.normalizer.mean, a.algo.normalizer.mean, rtol=1e-3)
        assert b.segments[-1]["batched_seeds"] == list(SEEDS)
    # the seeds learnt different things, so a batcher that mixed their episodes up would fail above
    assert _evaluations(alone[0]) != _evaluations(alone[1])


def test_batching_needs_runs_that_differ_only_in_seed(tmp_path):
    a = Run.create(tmp_path / "a", "udrlpg", IP, 100, 0, {}, None)
    b = Run.create(tmp_path / "b", "udrlpg", IP, 100, 1, {"sigma": 0.2}, None)
    c = Run.create(tmp_path / "c", "udrlpg", IP, 100, 0, {}, None)
    d = Run.create(tmp_path / "d", "ars", IP, 100, 0, {}, None)
    with pytest.raises(ValueError, match="must share config"):
        train_together([a, b], progress=False)
    with pytest.raises(ValueError, match="distinct seeds"):
        train_together([a, c], progress=False)
    with pytest.raises(ValueError, match="not ars"):
        train_together([d, a], progress=False)


def test_seeds_option_errors(tmp_path, capsys):
    from udrlpg_lite.cli import main

    assert main(["train", "--seeds", "0", "--out", str(tmp_path / "a")]) == 2
    assert main(["train", "--seeds", "0,x", "--out", str(tmp_path / "b")]) == 2
    assert main(["train", "--seeds", "0,1", "--algo", "ars", "--out", str(tmp_path / "c")]) == 2
    errors = capsys.readouterr().err.splitlines()
    assert errors == [
        "error: --seeds needs at least two distinct seeds, got '0'",
        "error: --seeds expects integers separated by commas, got '0,x'",
        "error: --seeds trains udrlpg or gogepo, not ars",
    ]
    assert not (tmp_path / "c").exists()
