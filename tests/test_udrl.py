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
        ("train_reward", "shaped"),
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


HOPPER = "Hopper-v5"


def hopper_algo(**kw):
    return UDRL(HOPPER, env_preset(HOPPER), 0, udrl_config_for(HOPPER, **(TINY | kw)))


def record_commands(algo):
    """Make B return zeros and record the command it is given at every step."""
    seen = []

    def forward(obs, command):
        seen.append(command[0].tolist())
        return torch.zeros(1, algo.train_env.act_dim)

    algo.behaviour.forward = forward
    return seen


def test_hopper_evaluation_counts_the_command_down_in_training_reward_units():
    """Trained without the healthy reward, B's command must not also pay for the +1 per healthy step
    that the evaluation's standard reward adds (before the fix it fell by the standard r_t)."""
    algo = hopper_algo(eval_episodes=1)  # the preset trains without the healthy reward
    seen = record_commands(algo)
    steps = []  # (standard reward, healthy reward) of every evaluation step
    env_step = algo.gym_eval.step

    def step(action):
        out = env_step(action)
        steps.append((out[1], out[4]["reward_survive"]))
        return out

    algo.gym_eval.step = step
    algo.explore_command = (50.0, 100.0)
    algo.evaluate()
    rewards, healthy = np.array(steps).T
    assert healthy[:-1].min() == 1.0  # the bonus was paid, so the two countings differ
    expected = 50.0 - np.concatenate([[0.0], np.cumsum(rewards - healthy)[:-1]])
    np.testing.assert_allclose(np.array(seen)[:, 0], expected, rtol=1e-5, atol=1e-5)


def test_train_reward_standard_keeps_the_healthy_reward_in_training():
    preset, standard = hopper_algo(), hopper_algo(train_reward="standard")
    assert not preset.train_bonus and standard.train_bonus
    for algo, bonus in ((preset, 0.0), (standard, 1.0)):
        algo.gym_train.reset(seed=0)
        *_, info = algo.gym_train.step(np.zeros(algo.train_env.act_dim, np.float32))
        assert info["reward_survive"] == bonus
    seen = record_commands(standard)
    ep = standard.run_episode(standard.gym_eval, standard.eval_env.rng, (50.0, 100.0), 0.0)
    expected = 50.0 - np.concatenate([[0.0], np.cumsum(ep.rewards)[:-1]])
    np.testing.assert_allclose(np.array(seen)[:, 0], expected, rtol=1e-5, atol=1e-5)


def test_reference_evaluation_uses_the_mean_command_and_leaves_the_run_unchanged():
    plain, ref = small_algo(seed=5), small_algo(seed=5, ref_eval_episodes=2)
    logs_plain, result_plain = run(plain, 2)
    logs_ref, result_ref = run(ref, 2)
    assert logs_plain == logs_ref  # training draws nothing from the reference evaluation's stream
    assert {k: result_ref[k] for k in result_plain} == result_plain
    best = ref.buffer[: ref.config.last_few]
    assert result_ref["ref_eval_command_return"] == np.mean([e.ret for e in best])
    assert result_ref["ref_eval_command_horizon"] == np.mean([e.length for e in best])
    assert np.isfinite(result_ref["ref_eval_return_mean"])
    assert ref.eval_env_steps > plain.eval_env_steps
    state = copy.deepcopy(ref.state_dict())
    expected = run(ref, 1)
    resumed = small_algo(seed=99, ref_eval_episodes=2)
    resumed.load_state_dict(state)
    assert run(resumed, 1) == expected
