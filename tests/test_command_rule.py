"""Our command rule (command_rule="achieved") and the named presets: hand-computed cases,
step accounting and determinism (resume: tests/test_udrlpg.py)."""

import json
from types import SimpleNamespace

import numpy as np
import pytest
import torch

from udrlpg_lite.algorithms.udrlpg import PRESET_SETTINGS, UDRLPG, UDRLPGConfig
from udrlpg_lite.cli import main
from udrlpg_lite.presets import env_preset

IP = "InvertedPendulum-v5"
SMALL = {"generator": "small", "hidden": (32, 32), "warmup": 3, "updates_per_rollout": 2}


def achieved_algo(seed=0, **kw):
    config = UDRLPGConfig(**(SMALL | {"command_rule": "achieved"} | kw))
    return UDRLPG(IP, env_preset(IP), seed, config)


def fake_probe_returns(algo, scaled_returns):
    """Make the probe episodes score the given scaled returns (hand-computed cases)."""
    returns = np.array([algo.scale.unscale(r) for r in scaled_returns])
    algo.rollout_and_store = lambda thetas: returns
    algo.rollout_decide = lambda spec, thetas: SimpleNamespace(returns=returns)  # the final probe


@pytest.mark.parametrize(
    "returns,expected",
    [
        ([0.10, 0.50, 0.49, 0.20, 0.10], 0.4),  # 0.49 is within 0.02 of 0.50: the higher command
        ([0.10, 0.50, 0.30, 0.20, 0.10], 0.2),  # a clear winner below c_max
        ([0.05, 0.05, 0.05, 0.05, 0.05], 0.8),  # all alike: the authors' c_max
        ([0.90, 0.10, 0.10, 0.10, 0.10], 0.0),  # only the lowest command works
    ],
)
def test_probe_picks_the_highest_command_among_the_best_scoring(returns, expected):
    algo = achieved_algo()
    algo.iterate()  # warm-up
    algo.buffer.best_return = 0.8  # probed commands: 0, 0.2, 0.4, 0.6, 0.8
    fake_probe_returns(algo, returns)
    commands, scaled = algo.probe()
    assert commands == pytest.approx([0.0, 0.2, 0.4, 0.6, 0.8])
    assert scaled == pytest.approx(returns)
    assert algo.command == pytest.approx(expected)


def test_probe_episodes_are_stored_and_counted_as_training_steps():
    algo = achieved_algo(probe_every=4)
    algo.iterate()
    added, steps, evals = algo.buffer.n_added, algo.env_steps, algo.eval_env_steps
    algo.iterate()  # iteration 1: the first probe (5 episodes), then one noisy rollout
    assert algo.buffer.n_added == added + 5 + 1
    assert algo.env_steps > steps and algo.eval_env_steps == evals
    assert 0 < algo.probe_env_steps < algo.env_steps - steps  # the probes' share of the steps
    assert algo.run_info()["probe_env_steps"] == algo.probe_env_steps
    assert algo.next_probe == 1 + 4
    for _ in range(3):  # iterations 2-4: no probe
        algo.iterate()
    assert algo.buffer.n_added == added + 6 + 3


def test_the_max_rule_never_probes_and_keeps_the_best_return():
    algo = UDRLPG(IP, env_preset(IP), 0, UDRLPGConfig(**SMALL))
    algo.probe = lambda: pytest.fail("the authors' rule does not probe")
    for _ in range(5):
        algo.iterate()
    assert algo.command == pytest.approx(algo.buffer.best_return)


def test_same_seed_same_run_with_the_achieved_rule():
    def trace(seed):
        algo = achieved_algo(seed, probe_every=2)
        for _ in range(8):
            algo.iterate()
        return algo.env_steps, algo.command, algo.generator(torch.tensor([0.5]))

    a, b = trace(1), trace(1)
    assert a[:2] == b[:2] and torch.equal(a[2], b[2])


def test_presets_are_named_settings_of_ours():
    assert PRESET_SETTINGS["faithful"] == {}
    for name in ("reliable", "demo"):
        config = UDRLPGConfig(**PRESET_SETTINGS[name])
        assert config.command_rule == "achieved" and config.bucket_rule == "newest"
    assert UDRLPGConfig(**PRESET_SETTINGS["reliable"]).generator == "udrlpg"  # the paper's sizes


def test_train_without_arguments_is_the_demo_and_env_gives_the_faithful_preset(capsys, tmp_path):
    fast = ["--steps", "300", "--eval-every", "150", "--no-progress", "--set", "hidden=32,32"]
    assert main(["train", *fast, "--out", str(tmp_path / "demo")]) == 0
    out = capsys.readouterr().out
    settings = json.loads((tmp_path / "demo" / "run.json").read_text())
    assert settings["preset"] == "demo" and settings["config"]["command_rule"] == "achieved"
    assert "RMSE" in out and (tmp_path / "demo" / "summary.png").stat().st_size > 1000
    sweep = json.loads((tmp_path / "demo" / "commands.json").read_text())
    assert len(sweep["commands"]) == 10 and np.isfinite(sweep["rmse"])
    argv = ["train", "--env", IP, *fast, "--set", "generator=small", "--out", str(tmp_path / "f")]
    assert main(argv) == 0
    settings = json.loads((tmp_path / "f" / "run.json").read_text())
    assert settings["preset"] == "faithful" and "command_rule" not in settings["config"]
    assert main(["train", "--algo", "ars", "--preset", "reliable", "--out", str(tmp_path / "a")]) == 2
    assert "udrlpg preset" in capsys.readouterr().err


def test_a_run_ends_at_the_command_its_last_probe_finds_best():
    """finish(): the command chosen by the last periodic probe can have gone stale (its policy now
    fails while lower commands' succeed); the final probe moves it, spending training steps."""
    algo = achieved_algo(probe_every=1000)
    algo.iterate()
    algo.buffer.best_return = 0.8
    algo.command = 0.8  # chosen long ago
    fake_probe_returns(algo, [0.10, 0.95, 0.95, 0.96, 0.12])  # now c = 0.8 fails
    algo.finish()  # 0.2, 0.4 and 0.6 score alike: the middle one, away from the cliff at 0.8
    assert algo.command == pytest.approx(0.4)
    fake_probe_returns(algo, [0.10, 0.20, 0.30, 0.40, 0.90])  # a generator that follows
    algo.finish()
    assert algo.command == pytest.approx(0.8)
    real = achieved_algo()
    real.iterate()
    added, normaliser = real.buffer.n_added, real.normalizer.state_dict()
    steps = real.env_steps
    real.finish()  # real episodes: counted as training steps, stored nowhere, normaliser frozen
    assert real.env_steps > steps and real.buffer.n_added == added
    after = real.normalizer.state_dict()
    assert after["count"] == normaliser["count"] and torch.equal(after["m2"], normaliser["m2"])
    faithful = UDRLPG(IP, env_preset(IP), 0, UDRLPGConfig(**SMALL))
    faithful.probe = lambda: pytest.fail("the authors' rule does not probe, at the end either")
    faithful.iterate()
    faithful.finish()
