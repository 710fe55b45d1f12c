"""UDRL: settings, supervised targets, the command, step accounting, determinism, resume, a tiny run."""

import copy

import numpy as np
import pytest
import torch

from udrlpg_lite.algorithms.udrl import (
    UDRL,
    UDRL_PRESETS,
    Episode,
    UDRLConfig,
    exploration_command,
    segment_targets,
    udrl_config_for,
)
from udrlpg_lite.presets import env_preset

torch.set_num_threads(1)
IP = "InvertedPendulum-v5"
TINY = {
    "hidden": (16, 16),
    "batch_size": 32,
    "updates_per_iter": 3,
    "episodes_per_iter": 2,
    "warmup_episodes": 2,
}


def small_algo(seed=0, **kw):
    return UDRL(IP, env_preset(IP), seed, udrl_config_for(IP, **(TINY | kw)))


def episode(rewards):
    n = len(rewards)
    return Episode(np.zeros((n, 1), np.float32), np.zeros((n, 1), np.float32), np.array(rewards), True)


@pytest.mark.parametrize(
    "field,value",
    [
        ("lr", 0.0),
        ("batch_size", 0),
        ("updates_per_iter", 0),
        ("episodes_per_iter", 0),
        ("warmup_episodes", 0),
        ("last_few", 0),
        ("buffer_episodes", 0),
        ("hidden", ()),
        ("activation", "gelu"),
        ("action_noise", -0.1),
        ("return_scale", 0.0),
        ("eval_episodes", 0),
        ("last_few", 601),  # more than the 600 buffered episodes
    ],
)
def test_invalid_settings_name_the_problem(field, value):
    with pytest.raises(ValueError, match=field):
        UDRLConfig(**{field: value})


def test_presets_are_the_gogepo_appendix_settings():
    ip = udrl_config_for(IP)
    assert (ip.activation, ip.lr, ip.last_few) == ("tanh", 1e-3, 1)
    hopper = UDRL_PRESETS["Hopper-v5"]
    assert (hopper.activation, hopper.lr, hopper.last_few) == ("relu", 1e-5, 10)
    swimmer = UDRL_PRESETS["Swimmer-v5"]
    assert (swimmer.activation, swimmer.lr, swimmer.last_few) == ("relu", 1e-3, 10)
    car = UDRL_PRESETS["MountainCarContinuous-v0"]
    assert (car.activation, car.lr, car.last_few) == ("relu", 1e-5, 1)
    assert udrl_config_for(IP, lr=0.1).activation == "tanh"
    assert udrl_config_for("Pendulum-v1") == UDRLConfig()


def test_targets_are_return_to_go_and_steps_to_go():
    returns_to_go, steps_to_go = segment_targets(np.array([1.0, -2.0, 3.0, 0.5]))
    np.testing.assert_allclose(returns_to_go, [2.5, 1.5, 3.5, 0.5])
    np.testing.assert_array_equal(steps_to_go, [4, 3, 2, 1])


def test_exploration_command_is_mean_length_and_return_in_mean_to_mean_plus_std():
    best = [episode([1.0] * 4), episode([2.0] * 8)]  # returns 4 and 16, lengths 4 and 8
    rng = np.random.default_rng(0)
    for _ in range(50):
        d_r, d_h = exploration_command(best, rng)
        assert d_h == 6.0 and 10.0 <= d_r <= 16.0


def test_buffer_keeps_the_best_episodes_best_first():
    algo = small_algo(buffer_episodes=2, last_few=1)
    algo.store([episode([1.0]), episode([3.0]), episode([2.0])])
    assert [e.ret for e in algo.buffer] == [3.0, 2.0]


def test_command_evolves_with_rewards_during_an_episode():
    """With a behaviour function that reads its command back, d_r loses r_t and d_h loses 1 per step."""
    algo = small_algo()
    seen = []

    def record_command(obs, command):
        seen.append(command[0].tolist())
        return torch.zeros(1, 1)

    algo.behaviour.forward = record_command
    ep = algo.run_episode(algo.gym_eval, algo.eval_env.rng, (10.0, 3.0), noise=0.0)
    d_r = 10.0 - np.concatenate([[0.0], np.cumsum(ep.rewards)[:-1]])
    d_h = np.maximum(3.0 - np.arange(ep.length), 1.0)
    np.testing.assert_allclose(np.array(seen), np.stack([d_r, d_h], 1), rtol=1e-6)


def test_step_accounting_counts_warmup_and_exploration_not_evaluation():
    algo = small_algo()
    algo.iterate()
    assert algo.env_steps == sum(e.length for e in algo.buffer)  # 4 episodes, all kept
    assert algo.normalizer.count == algo.env_steps
    before = algo.env_steps
    algo.evaluate()
    assert algo.env_steps == before and algo.eval_env_steps > 0


def run(algo, n):
    logs = [algo.iterate() for _ in range(n)]
    return logs, algo.evaluate()


def test_same_seed_same_run_and_resume_is_exact():
    a, b = small_algo(seed=3), small_algo(seed=3)
    assert run(a, 2) == run(b, 2)
    state = copy.deepcopy(a.state_dict())
    expected = run(a, 2)
    c = small_algo(seed=99)
    c.load_state_dict(state)
    assert run(c, 2) == expected


def test_tiny_run_on_inverted_pendulum():
    algo = small_algo(seed=1, batch_size=64, updates_per_iter=10)
    logs, result = run(algo, 5)
    assert algo.iterations == 5
    assert all(np.isfinite(log["loss"]) for log in logs)
    assert np.isfinite(result["eval_return_mean"]) and result["eval_return_mean"] >= 1.0
    assert result["eval_command_return"] == algo.explore_command[0]
