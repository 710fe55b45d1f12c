"""UDRLPG's loop: warm-up, hindsight storage, commands, step accounting, determinism, resume."""

import json

import numpy as np
import pytest
import torch

from udrlpg_lite.algorithms.udrlpg import UDRLPG, UDRLPGConfig
from udrlpg_lite.experiments import runner
from udrlpg_lite.experiments.runner import Run
from udrlpg_lite.presets import ReturnScale, env_preset

# A small generator and policy so that the tests take seconds.
SMALL = {"generator": "gogepo", "hidden": (32, 32), "warmup": 3, "updates_per_rollout": 2}
IP = "InvertedPendulum-v5"


def small_algo(seed=0, **kw):
    return UDRLPG(IP, env_preset(IP), seed, UDRLPGConfig(**(SMALL | kw)))


def test_return_scale():
    s = ReturnScale(-100.0, 365.0)
    assert s(-100.0) == 0.0 and s(365.0) == 1.0 and s(-500.0) == 0.0
    assert s.unscale(s(120.0)) == pytest.approx(120.0)


@pytest.mark.parametrize(
    "field,value", [("sigma", 0.0), ("sigma", -0.1), ("lr", 0.0), ("population", 0), ("batch_size", 0)]
)
def test_invalid_settings_name_the_problem(field, value):
    with pytest.raises(ValueError, match=field):
        UDRLPGConfig(**{field: value})


def test_warmup_then_noisy_rollouts_are_stored_in_hindsight():
    algo = small_algo()
    algo.iterate()  # warm-up: 3 rollouts of G(1.0) without noise
    assert algo.buffer.n_added == 3
    thetas = torch.stack([e.theta for e in algo.buffer.entries])
    assert torch.equal(thetas[0], thetas[-1])  # no noise: the same policy three times
    steps_after_warmup = algo.env_steps
    assert steps_after_warmup > 0
    log = algo.iterate()  # 2 updates, then one noisy rollout at the command
    assert algo.buffer.n_added == 4
    assert algo.env_steps > steps_after_warmup
    stored = algo.buffer.entries[-1]
    # hindsight: the stored return is the observed (scaled) one, and the command is the best seen
    assert stored.ret == pytest.approx(algo.scale(log["train_return"]))
    assert algo.command == pytest.approx(max(e.ret for e in algo.buffer.entries))
    assert np.isfinite(log["loss"])


def test_population_mode_rolls_out_p_policies_and_scales_updates():
    algo = small_algo(population=4)
    algo.iterate()
    calls = []
    original = algo.update
    algo.update = lambda: calls.append(1) or original()
    algo.iterate()
    assert len(calls) == 2 * 4 and algo.buffer.n_added == 3 + 4


def test_evaluation_steps_are_counted_separately():
    algo = small_algo()
    algo.iterate()
    train_steps = algo.env_steps
    result = algo.evaluate()
    assert algo.env_steps == train_steps and algo.eval_env_steps > 0
    assert set(result) >= {"eval_return_mean", "eval_return_std"}


def test_command_sweep_shapes():
    algo = small_algo()
    algo.iterate()
    mean, std = algo.command_sweep(np.array([0.0, 500.0, 1000.0]), episodes=2)
    assert mean.shape == std.shape == (3,)


def test_same_seed_same_run_different_seed_different_run():
    def trace(seed):
        algo = small_algo(seed)
        for _ in range(6):
            algo.iterate()
        return algo.env_steps, algo.command, algo.generator(torch.tensor([0.5]))

    a, b, c = trace(0), trace(0), trace(1)
    assert a[0] == b[0] and a[1] == b[1] and torch.equal(a[2], b[2])
    assert not torch.equal(a[2], c[2])


@pytest.mark.parametrize(
    "rule",
    [
        {},
        {"command_rule": "achieved", "probe_every": 3},
        {"cover_share": 0.5, "explore_share": 0.3, "keep_best": True, "elite_share": 0.3},
    ],
    ids=["authors", "achieved", "follow"],
)
def test_interrupted_run_resumes_to_the_same_result(tmp_path, rule, kill_at):
    overrides = dict(SMALL) | rule
    settings = dict(algo="udrlpg", env=IP, steps=1500, seed=3, overrides=overrides, eval_every=250)
    full = Run.create(tmp_path / "full", **settings).train(progress=False)

    kill_at(Run.create(tmp_path / "cut", **settings), 25)
    resumed = Run.load(tmp_path / "cut").train(progress=False)
    # as JSON text, where NaN equals NaN (keep_best's elite_score before its first check)
    strip = json.dumps([{k: v for k, v in r.items() if k != "wall_time_s"} for r in full])
    assert json.dumps([{k: v for k, v in r.items() if k != "wall_time_s"} for r in resumed]) == strip
    for name in ("metrics.csv", "manifest.json", "curve.png", "checkpoint.pt"):
        assert (tmp_path / "cut" / name).exists()
    segments = json.loads((tmp_path / "cut" / "manifest.json").read_text())["segments"]
    assert len(segments) == 2 and segments[0]["from_env_steps"] == 0  # two processes trained it
    assert 0 < segments[1]["from_env_steps"] < 1500


def test_a_run_checkpoints_between_its_evaluations(tmp_path, kill_at):
    """Evaluations only at 0 and 1500 steps: the killed run still resumes from where it was."""
    settings = dict(algo="udrlpg", env=IP, steps=1500, seed=3, overrides=SMALL, eval_every=1500)
    full = Run.create(tmp_path / "full", **settings).train(progress=False)

    kill_at(Run.create(tmp_path / "cut", **settings), 25)
    resumed = Run.load(tmp_path / "cut").train(progress=False)
    segments = json.loads((tmp_path / "cut" / "manifest.json").read_text())["segments"]
    assert 0 < segments[1]["from_env_steps"] < 1500  # not from the evaluation at 0
    strip = [{k: v for k, v in r.items() if k != "wall_time_s"} for r in full]
    assert [{k: v for k, v in r.items() if k != "wall_time_s"} for r in resumed] == strip


def test_metrics_on_disk_keep_up_with_the_evaluations(tmp_path, monkeypatch):
    """Checkpoints come on the clock, evaluations by steps: every checkpoint writes the evaluations
    made since the last one, so metrics.csv is never behind the checkpoint beside it."""
    clock = iter(np.arange(0.0, 1e6, 1.0))  # every reading of the clock is a second later
    monkeypatch.setattr(runner.time, "perf_counter", lambda: next(clock))
    settings = dict(algo="udrlpg", env=IP, steps=1500, seed=3, overrides=SMALL, eval_every=100)
    run = Run.create(tmp_path / "run", **settings)
    save, behind = run.save, []

    def checked_save(complete: bool, records: bool = True) -> None:
        save(complete, records)
        path = run.out / "metrics.csv"
        on_disk = len(path.read_text().splitlines()) - 1 if path.exists() else 0  # rows, no header
        behind.append(len(run.rows) - on_disk)

    run.save = checked_save
    run.train(checkpoint_every_s=5.0, progress=False)
    assert len(run.rows) > 3 and len(behind) > 3
    assert behind == [0] * len(behind)


def test_export_then_load_generates_the_same_policies(tmp_path):
    algo = small_algo()
    for _ in range(3):
        algo.iterate()
    torch.save(algo.export(), tmp_path / "generator.pt")
    exported = torch.load(tmp_path / "generator.pt", weights_only=True)  # tensors, plain types
    assert exported["best_return"] == algo.buffer.best_return > 0
    loaded = UDRLPG.load_exported(exported)
    commands = torch.tensor([0.0, 0.3, 1.0])
    assert torch.equal(loaded.generator(commands), algo.generator(commands))
    assert loaded.command == algo.command and loaded.normalizer.count == algo.normalizer.count
    assert len(loaded.buffer) == 0


def test_hopper_commands_are_tested_without_the_healthy_reward():
    """Hopper trains without its healthy reward, so its commands are such returns: the command
    test must score them alike. With the standard reward each episode earns 1 more per step that
    ends upright (all but the last of an episode that falls), which the two scores must differ by."""

    algo = UDRLPG("Hopper-v5", env_preset("Hopper-v5"), 0, UDRLPGConfig(generator="small", hidden=(16,)))
    thetas = algo.generator(torch.tensor([0.1, 0.5, 0.9])).detach()
    commanded = algo.rollout_commanded(algo.spec, thetas)  # a fresh stream: same starts as below
    standard = algo.rollout_eval(algo.spec, thetas)
    np.testing.assert_array_equal(commanded.lengths, standard.lengths)
    upright = np.where(standard.lengths < 1000, standard.lengths - 1, standard.lengths)
    np.testing.assert_allclose(standard.returns - commanded.returns, upright, rtol=1e-9)
    assert algo.eval_env_steps == 2 * standard.lengths.sum()  # both are evaluation steps
