"""The buffer census: stored returns per range, their sampling mass, and replays of the policies."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pytest
import torch

from udrlpg_lite.algorithms.udrlpg import PRESET_SETTINGS
from udrlpg_lite.buffers import FIFOBuffer
from udrlpg_lite.experiments.buffer_census import census, format_census
from udrlpg_lite.experiments.runner import Run

IP = "InvertedPendulum-v5"  # return range (0, 1000): ten bins of 100


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    out = tmp_path_factory.mktemp("census") / "run"
    run = Run.create(out, "udrlpg", IP, 300, 0, dict(PRESET_SETTINGS["demo"]), 300, "cpu", "demo")
    run.train(progress=False)
    return run


def with_buffer(run: Run, returns: list[float]) -> Run:
    """The run with its buffer replaced by a FIFO buffer holding zero policies at these returns."""
    buffer = FIFOBuffer(100)
    for r in returns:
        buffer.add(torch.zeros(run.algo.spec.n_params), run.algo.scale(r))
    run.algo.buffer = buffer
    return run


def test_counts_and_mass_per_return_range_by_hand(run):
    original = run.algo.buffer
    try:
        result = census(with_buffer(run, [50.0, 150.0, 160.0, 950.0, 1000.0]), bins=10)
    finally:
        run.algo.buffer = original
    assert result["edges"] == np.linspace(0, 1000, 11).tolist()
    assert result["entries"] == [1, 2, 0, 0, 0, 0, 0, 0, 0, 2]  # 1000 counts in the top range
    np.testing.assert_allclose(result["mass"], [0.2, 0.4, 0, 0, 0, 0, 0, 0, 0, 0.4])  # uniform


def test_bucket_weighting_puts_the_mass_on_the_top_returns(run):
    result = census(run, bins=2)
    assert sum(result["entries"]) == len(run.algo.buffer)
    assert sum(result["mass"]) == pytest.approx(1.0)
    probs = run.algo.buffer.probabilities()  # the buffer's own rule, per stored entry
    top = [run.algo.scale.unscale(e.ret) >= 500 for e in run.algo.buffer.entries]
    assert result["mass"][1] == pytest.approx(probs[np.array(top)].sum())


def test_replay_compares_each_stored_return_with_its_policy_now(run):
    original = run.algo.buffer
    try:
        result = census(with_buffer(run, [50.0, 450.0, 950.0]), bins=10, replay_episodes=2)
    finally:
        run.algo.buffer = original
    replayed = np.array(result["replayed"])
    filled = [0, 4, 9]
    assert np.isnan(np.delete(replayed, filled)).all()  # empty ranges have no replay
    assert (replayed[filled] > 0).all()  # a zero policy still balances a few steps
    for k, stored in zip(filled, (50.0, 450.0, 950.0)):  # one policy per range
        assert result["abs_error"][k] == pytest.approx(abs(stored - replayed[k]))
    assert "mean |stored - replayed|" in format_census(result)


def test_separation_is_one_for_noisy_copies_of_one_policy_and_grows_with_a_real_difference(run):
    """Analytic: for theta = center + sigma * eps, |mean_a - mean_b|^2 / (sigma^2 d (1/n_a + 1/n_b))
    is chi^2_d / d, 1 within a few sqrt(2 / d); centers D apart add D^2 to the numerator."""
    sigma, d = run.algo.config.sigma, run.algo.spec.n_params
    gen = torch.Generator().manual_seed(0)
    center = torch.randn(d, generator=gen)
    shift = torch.zeros(d)
    shift[: d // 2] = 3 * sigma  # |shift| = 3 sigma sqrt(d / 2)
    original = run.algo.buffer
    try:
        buffer = FIFOBuffer(100)
        for r, extra in [(50.0, shift)] * 4 + [(450.0, 0.0)] * 4 + [(950.0, 0.0)] * 8:
            buffer.add(center + extra + sigma * torch.randn(d, generator=gen), run.algo.scale(r))
        run.algo.buffer = buffer
        result = census(run, bins=10)
    finally:
        run.algo.buffer = original
    sep = np.array(result["separation"])
    assert np.isnan(sep[[1, 2, 3, 5, 6, 7, 8, 9]]).all()  # empty ranges and the top one
    assert sep[4] == pytest.approx(1.0, abs=5 * np.sqrt(2 / d))  # copies of the top's policy
    expected = np.sqrt(1 + (9 * sigma**2 * d / 2) / (sigma**2 * d * (1 / 4 + 1 / 8)))
    assert sep[0] == pytest.approx(expected, rel=0.05)
    assert "separation" in format_census(result)


def test_a_run_without_a_policy_buffer_is_one_line(tmp_path):
    ars = Run.create(tmp_path / "ars", "ars", IP, 100, 0, {}, 100)
    with pytest.raises(ValueError, match="ars run: it has no policy buffer"):
        census(ars)


def test_the_command_line_prints_and_writes_buffer_json(run):
    done = subprocess.run(
        [sys.executable, "-m", "udrlpg_lite", "buffer", str(run.out), "--bins", "5"],
        capture_output=True, text=True, check=True,
    )  # fmt: skip
    assert "sampling mass" in done.stdout
    saved = json.loads((run.out / "buffer.json").read_text())
    assert sum(saved["entries"]) == saved["n_entries"] > 0
