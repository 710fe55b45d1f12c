"""The summary over seeds: final return, bootstrap CI (scipy), pass rate, degenerate samples."""

import csv
import json

import numpy as np
import pytest

from udrlpg_lite.report import mean_ci, write_summary


def fake_run(out, seed, returns, rmse=None, env="InvertedPendulum-v5"):
    out.mkdir(parents=True)
    settings = {"algo": "udrlpg", "env": env, "seed": seed, "eval_every": 1000, "preset": "demo"}
    (out / "run.json").write_text(json.dumps(settings))
    manifest = {"wall_time_s": 1.0, "config": {"eval_episodes": 5}}
    (out / "manifest.json").write_text(json.dumps(manifest))
    lines = ["env_steps,eval_return_mean,eval_return_std"]
    lines += [f"{1000 * i},{r},0.0" for i, r in enumerate(returns)]
    (out / "metrics.csv").write_text("\n".join(lines) + "\n")
    if rmse is not None:
        (out / "commands.json").write_text(json.dumps({"rmse": rmse}))


def test_final_return_pass_rate_and_rmse_by_hand(tmp_path):
    fake_run(tmp_path / "g" / "s0", 0, [10] * 5 + [1000] * 20, rmse=30.0)  # final 1000, passes
    fake_run(tmp_path / "g" / "s1", 1, [10] * 25, rmse=90.0)  # final 10, never passes
    fake_run(tmp_path / "g" / "s2", 2, [960] + [500] * 24, rmse=50.0)  # passes once, final 500
    (row,) = write_summary([tmp_path / "g"], tmp_path / "summary.csv")
    assert row["n_seeds"] == 3 and row["pass_rate"] == pytest.approx(2 / 3, abs=1e-3)
    assert row["final_return_mean"] == pytest.approx((1000 + 10 + 500) / 3, abs=0.1)
    assert row["rmse_median"] == 50.0
    assert row["ci95_low"] <= row["final_return_mean"] <= row["ci95_high"]
    with open(tmp_path / "summary.csv") as f:
        assert next(csv.DictReader(f))["pass_rate"] == str(row["pass_rate"])


def test_every_seed_at_1000_gives_a_point_interval_not_nan():
    low, high = mean_ci(np.array([1000.0, 1000.0, 1000.0]))
    assert low == high == 1000.0


def test_the_interval_is_scipys_bootstrap():
    values = np.array([100.0, 300.0, 500.0, 800.0, 1000.0, 950.0])
    low, high = mean_ci(values)
    assert low < values.mean() < high and 100 <= low and high <= 1000


def test_a_folder_without_runs_is_one_clear_error(tmp_path):
    (tmp_path / "empty").mkdir()
    with pytest.raises(ValueError, match="no run directories"):
        write_summary([tmp_path / "empty"], tmp_path / "s.csv")
