"""DDPG through stable-baselines3: settings, a short run, step accounting, checkpoints."""

import copy

import numpy as np
import pytest
import torch

pytest.importorskip("stable_baselines3")

from udrlpg_lite.algorithms.ddpg import DDPG, DDPGConfig, ddpg_config_for  # noqa: E402
from udrlpg_lite.presets import env_preset  # noqa: E402

torch.set_num_threads(1)
IP = "InvertedPendulum-v5"
SHORT = {"start_steps": 500, "update_after": 200, "steps_per_iter": 500, "hidden": (32, 32)}


def small_algo(seed=0, **kw):
    return DDPG(IP, env_preset(IP), seed, ddpg_config_for(IP, **(SHORT | kw)))


@pytest.mark.parametrize(
    "field,value",
    [
        ("start_steps", -1),
        ("update_every", 0),
        ("tau", 1.5),
        ("gamma", 0.0),
        ("hidden", ()),
        ("action_noise", -0.1),
        ("lr", 0.0),
        ("batch_size", 0),
        ("eval_episodes", 0),
        ("steps_per_iter", 1010),  # not a multiple of update_every = 50
    ],
)
def test_invalid_settings_name_the_problem(field, value):
    with pytest.raises(ValueError, match=field):
        DDPGConfig(**{field: value})


def test_defaults_are_the_gogepo_appendix_settings():
    cfg = ddpg_config_for("Hopper-v5")
    assert (cfg.start_steps, cfg.update_after, cfg.tau, cfg.hidden) == (10_000, 1_000, 0.005, (256, 256))
    assert (cfg.action_noise, cfg.lr, cfg.batch_size) == (0.1, 1e-3, 100)


def test_short_run_counts_steps_and_evaluates_finitely():
    algo = small_algo()
    for expected in (500, 1000, 1500, 2000):
        algo.iterate()
        assert algo.env_steps == expected == algo.model.num_timesteps
    assert algo.model.replay_buffer.size() == 2000
    result = algo.evaluate()
    assert np.isfinite(result["eval_return_mean"]) and np.isfinite(result["eval_return_std"])
    assert algo.eval_env_steps >= algo.config.eval_episodes and algo.env_steps == 2000


def test_random_actions_until_start_steps_noise_in_env_units():
    algo = small_algo()
    assert algo.model.learning_starts == 200 and algo.model.start_steps == 500
    np.testing.assert_allclose(algo.model.action_noise._sigma, 0.1 / 3.0)  # InvertedPendulum's bound: 3


def test_checkpoint_restores_model_buffer_and_counters():
    algo = small_algo()
    algo.iterate()
    state = copy.deepcopy(algo.state_dict())
    other = small_algo(seed=7)
    other.load_state_dict(state)
    assert other.env_steps == other.model.num_timesteps == 500
    assert other.model.replay_buffer.size() == 500
    for p, q in zip(algo.model.policy.parameters(), other.model.policy.parameters()):
        assert torch.equal(p, q)
    other.iterate()
    assert other.env_steps == 1000
