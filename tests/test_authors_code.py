"""The harness that runs the UDRLPG authors' code: what it records, checked without their code."""

from pathlib import Path

import numpy as np
import pytest

from udrlpg_lite.bench.authors_code import Recorder, authors_commit, command_test, run


def test_command_test_reads_the_last_extensive_evaluation():
    first = np.zeros((10, 5))
    last = np.tile(np.linspace(0.0, 1000.0, 10)[:, None], (1, 5))  # achieved = commanded
    last[0] += 30.0  # one command 30 above: RMSE sqrt(30^2 / 10)
    sweep = command_test(np.stack([first, last]), max_reward=1000.0, min_reward=0.0)
    assert sweep["episodes"] == 5
    assert sweep["commands"][0] == 0.0 and sweep["commands"][-1] == 1000.0
    assert sweep["rmse"] == pytest.approx(np.sqrt(900.0 / 10))


def test_commands_span_the_return_range():
    sweep = command_test(np.zeros((1, 10, 5)), max_reward=365.0, min_reward=-100.0)
    assert sweep["commands"][0] == -100.0 and sweep["commands"][-1] == pytest.approx(365.0)


def test_recorder_keeps_evaluations_only():
    rec = Recorder()
    rec.log({"rollout_history_after_noise": 3.0}, step=10)
    rec.log({"eval_reward": 42.0, "rbuf_max_reward_seen": 80.0, "loss": 0.1}, step=999)
    assert [(r["env_steps"], r["eval_return_mean"], r["command"]) for r in rec.rows] == [
        (999, 42.0, 80.0)
    ]


def test_a_folder_that_is_not_the_authors_clone_is_refused(tmp_path: Path):
    with pytest.raises(ValueError, match="not a clone of JacopoD/udrlpg_"):
        authors_commit(tmp_path)


def test_an_env_the_authors_code_does_not_know_is_one_clear_error(tmp_path: Path):
    with pytest.raises(ValueError, match="the authors' code knows .*got 'InvertedPendulum-v5'"):
        run(tmp_path, "InvertedPendulum-v5", 0, tmp_path / "out")
