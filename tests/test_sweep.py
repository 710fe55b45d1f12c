"""The sweep: its plan, and a sweep killed mid-way that finishes as an uninterrupted one does."""

from __future__ import annotations

import csv
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from udrlpg_lite.algorithms.precision import usable_cores
from udrlpg_lite.experiments.sweep import Job, is_complete, parse_seeds, plan, run_sweep


def test_parse_seeds_reads_ranges_and_lists():
    assert parse_seeds("0-4") == [0, 1, 2, 3, 4]
    assert parse_seeds("0,2,5") == [0, 2, 5]
    assert parse_seeds("0-1,7") == [0, 1, 7]
    for bad in ("", "1-x", "0,0", "a"):
        with pytest.raises(ValueError, match="--seeds"):
            parse_seeds(bad)


def test_plan_names_one_directory_per_combination(tmp_path):
    jobs = plan(["InvertedPendulum-v5", "Swimmer-v5"], ["udrlpg", "ars"], [0, 1], tmp_path)
    assert len(jobs) == 8
    assert {Path(j.out).relative_to(tmp_path).as_posix() for j in jobs} == {
        f"{env}-{algo}/s{seed}"
        for env in ("InvertedPendulum-v5", "Swimmer-v5")
        for algo in ("udrlpg", "ars")
        for seed in (0, 1)
    }
    assert {j.steps for j in jobs if j.env == "InvertedPendulum-v5"} == {100_000}  # the paper's
    assert {j.steps for j in jobs if j.env == "Swimmer-v5"} == {3_000_000}


def test_plan_applies_the_udrlpg_preset_to_udrlpg_only(tmp_path):
    jobs = plan(["InvertedPendulum-v5"], ["udrlpg", "ars"], [0], tmp_path, preset="reliable")
    by_algo = {j.algo: j for j in jobs}
    assert by_algo["udrlpg"].preset == "reliable"
    assert by_algo["udrlpg"].overrides["command_rule"] == "achieved"
    assert by_algo["ars"].preset == "faithful" and by_algo["ars"].overrides == {}


def test_plan_refuses_unknown_envs_and_algorithms(tmp_path):
    with pytest.raises(ValueError, match="no preset for env"):
        plan(["Nope-v0"], ["udrlpg"], [0], tmp_path)
    with pytest.raises(ValueError, match="unknown algorithm 'foo'"):
        plan(["InvertedPendulum-v5"], ["foo"], [0], tmp_path)


def rows(out: str) -> list[dict]:
    """A run's metrics without its wall times (the only column a rerun may change)."""
    with open(Path(out) / "metrics.csv") as f:
        return [{k: v for k, v in r.items() if k != "wall_time_s"} for r in csv.DictReader(f)]


def ars_jobs(root: Path) -> list[Job]:
    return [
        Job(
            str(root / f"s{seed}"),
            "ars",
            "InvertedPendulum-v5",
            seed,
            2000,
            eval_every=500,
            checkpoint_every_s=0.0,
        )  # fmt: skip
        for seed in (0, 1)
    ]


def test_a_killed_sweep_restarted_ends_as_an_uninterrupted_one(tmp_path):
    whole = run_sweep(ars_jobs(tmp_path / "whole"), workers=1)
    assert len(whole) == 2 and all(r["status"] == "complete" for r in whole)
    device = json.loads((Path(whole[0]["out"]) / "manifest.json").read_text())["device"]
    assert device.endswith(f"torch threads {usable_cores()}")  # one worker: every core is its

    jobs = ars_jobs(tmp_path / "killed")
    script = (
        "import sys; from pathlib import Path; "
        "from udrlpg_lite.experiments.sweep import Job, run_sweep; "
        f"run_sweep([Job(**j) for j in {[vars(j) for j in jobs]!r}], workers=1)"
    )
    proc = subprocess.Popen([sys.executable, "-c", script], start_new_session=True)
    first = Path(jobs[0].out)
    deadline = time.monotonic() + 300
    while not (first / "checkpoint.pt").exists() and time.monotonic() < deadline:
        time.sleep(0.02)
    os.killpg(proc.pid, signal.SIGKILL)  # the sweep and its pool worker, mid-run
    proc.wait()
    assert (first / "checkpoint.pt").exists() and not is_complete(first)
    assert not Path(jobs[1].out).exists()  # the second run had not started

    again = run_sweep(jobs, workers=1)
    assert all(r["status"] == "complete" for r in again)
    for killed, uninterrupted in zip(jobs, ars_jobs(tmp_path / "whole")):
        assert rows(killed.out) == rows(uninterrupted.out)
    segments = json.loads((first / "manifest.json").read_text())["segments"]
    assert len(segments) == 2  # the first run was resumed, not restarted


def test_ray_runs_the_same_jobs(tmp_path):
    pytest.importorskip("ray")
    jobs = ars_jobs(tmp_path / "ray")[:1]
    (result,) = run_sweep(jobs, ray_address="local")
    assert result["status"] == "complete"
    assert rows(jobs[0].out) == rows(run_sweep(ars_jobs(tmp_path / "pool")[:1], workers=1)[0]["out"])


def test_a_generator_run_ends_with_its_command_test(tmp_path):
    (job,) = plan(["InvertedPendulum-v5"], ["udrlpg"], [0], tmp_path, steps=600, preset="demo")
    job = Job(**(vars(job) | {"eval_every": 300, "checkpoint_every_s": 0.0}))
    (result,) = run_sweep([job], workers=1)
    sweep = json.loads((Path(result["out"]) / "commands.json").read_text())
    assert sweep["commands"] == np.linspace(0.0, 1000.0, 10).tolist()  # IP's return range
    assert len(sweep["mean"]) == 10 and np.isfinite(sweep["rmse"])
    expected = np.sqrt(np.mean((np.array(sweep["mean"]) - np.array(sweep["commands"])) ** 2))
    assert sweep["rmse"] == pytest.approx(expected)
    # the test played on the run just trained equals the one played on its final checkpoint
    (Path(result["out"]) / "commands.json").unlink()
    run_sweep([job], workers=1)  # complete: only the command test, from the checkpoint
    assert json.loads((Path(result["out"]) / "commands.json").read_text()) == sweep
