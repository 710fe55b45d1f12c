"""ARS V2-t: settings, the update by hand, elite directions, step accounting, determinism, learning."""

import copy

import numpy as np
import pytest
import torch

from udrlpg_lite.algorithms.ars import (
    ARS,
    ARS_PRESETS,
    ARSConfig,
    ars_config_for,
    ars_step,
    default_init,
    elite_directions,
)
from udrlpg_lite.envs import Rollouts
from udrlpg_lite.policy import PolicySpec
from udrlpg_lite.presets import env_preset

torch.set_num_threads(1)
IP = "InvertedPendulum-v5"


def small_algo(seed=0, **kw):
    return ARS(IP, env_preset(IP), seed, ARSConfig(**({"hidden": (16, 16)} | kw)))


class FakeEvaluator:
    """Pays r = w . theta per policy, in episodes of ``length`` steps; records every call."""

    def __init__(self, n_params: int, length: int = 7) -> None:
        self.w = torch.linspace(-1.0, 1.0, n_params)
        self.length = length
        self.calls: list[dict] = []

    def evaluate(self, policy, n, *, normalizer=None, update_normalizer=False):
        call = {"thetas": policy.theta.clone(), "n": n, "normalizer": normalizer}
        self.calls.append(call | {"update": update_normalizer})
        returns = (policy.theta @ self.w).double().numpy()
        return Rollouts(returns, np.full(n, self.length), np.zeros(n, dtype=bool))


@pytest.mark.parametrize(
    "field,value",
    [
        ("step_size", 0.0),
        ("n_directions", 0),
        ("n_elite", 0),
        ("noise", -0.1),
        ("eval_episodes", 0),
        ("n_elite", 9),  # more elite directions than the 8 directions
    ],
)
def test_invalid_settings_name_the_problem(field, value):
    with pytest.raises(ValueError, match=field):
        ARSConfig(**{field: value})


def test_presets_are_the_gogepo_appendix_settings():
    ip = ars_config_for(IP)
    assert (ip.step_size, ip.n_directions, ip.n_elite, ip.noise) == (0.001, 1, 1, 0.025)
    hopper = ARS_PRESETS["Hopper-v5"]
    assert (hopper.step_size, hopper.n_directions, hopper.n_elite, hopper.noise) == (0.01, 8, 4, 0.05)
    assert ars_config_for("MountainCarContinuous-v0").n_directions == 1
    louder = ars_config_for(IP, noise=0.1)
    assert louder.noise == 0.1 and louder.step_size == 0.001
    assert ars_config_for("Pendulum-v1") == ARSConfig()  # no tuned setting: the defaults
    with pytest.raises(ValueError, match="n_elite"):
        ars_config_for(IP, n_elite=2)  # the preset has 1 direction


def test_elite_directions_rank_by_the_better_of_the_two_returns():
    r_plus = np.array([1.0, 5.0, 2.0, 0.0])
    r_minus = np.array([3.0, 0.0, 2.0, 4.0])  # best of each: 3, 5, 2, 4
    np.testing.assert_array_equal(elite_directions(r_plus, r_minus, 2), [1, 3])
    np.testing.assert_array_equal(elite_directions(r_plus, r_minus, 4), [1, 3, 0, 2])


def test_update_rule_by_hand():
    deltas = torch.tensor([[1.0, 0.0], [0.0, 1.0], [1.0, 1.0]])
    r_plus = np.array([1.0, 5.0, 2.0])
    r_minus = np.array([3.0, 0.0, 2.0])
    # b = 2 elite directions: k = 1 (best 5) and k = 0 (best 3); the 2b returns used are 5, 0, 1, 3
    # with mean 2.25 and std sqrt((2.75^2 + 2.25^2 + 1.25^2 + 0.75^2) / 4) = sqrt(3.6875)
    sigma_r = np.sqrt(3.6875)
    # theta change = 0.1 / (2 sigma_R) * ((5 - 0) * (0, 1) + (1 - 3) * (1, 0)) = 0.05 / sigma_R * (-2, 5)
    step, got_sigma = ars_step(deltas, r_plus, r_minus, n_elite=2, step_size=0.1)
    assert got_sigma == pytest.approx(sigma_r)
    torch.testing.assert_close(step, torch.tensor([-2.0, 5.0]) * 0.05 / float(sigma_r))
    # a non-elite direction's returns do not matter while it stays out of the elite
    step2, _ = ars_step(deltas, r_plus, np.array([3.0, 0.0, -7.0]), n_elite=2, step_size=0.1)
    torch.testing.assert_close(step2, step)


def test_equal_returns_give_no_step_rather_than_nan():
    step, sigma_r = ars_step(torch.ones(3, 4), np.full(3, 2.0), np.full(3, 2.0), 2, 0.1)
    assert sigma_r == 0.0 and torch.equal(step, torch.zeros(4))


def test_one_iteration_evaluates_2n_perturbations_at_once_and_steps_by_the_rule():
    algo = small_algo(n_directions=3, n_elite=1, noise=0.05, step_size=0.01)
    fake = FakeEvaluator(algo.spec.n_params)
    algo.train_env = fake
    theta0 = algo.theta.clone()
    log = algo.iterate()

    (call,) = fake.calls  # one batched call with the shared normaliser, which it updates
    assert call["n"] == 6 and call["normalizer"] is algo.normalizer and call["update"]
    plus, minus = call["thetas"][:3], call["thetas"][3:]
    deltas = (plus - theta0) / 0.05  # theta + nu delta_k and theta - nu delta_k
    torch.testing.assert_close(minus, theta0 - 0.05 * deltas)
    assert 0.5 < float(deltas.std()) < 1.5  # standard normal directions
    # b = 1: sigma_R = |r+ - r-| / 2, so the step is 2 alpha sign(r+ - r-) delta_elite
    r_plus, r_minus = (plus @ fake.w).numpy(), (minus @ fake.w).numpy()
    k = int(np.argmax(np.maximum(r_plus, r_minus)))
    expected = theta0 + 2 * 0.01 * np.sign(r_plus[k] - r_minus[k]) * deltas[k]
    torch.testing.assert_close(algo.theta, expected, rtol=1e-4, atol=1e-5)
    assert float(algo.theta @ fake.w) > float(theta0 @ fake.w)  # it climbs the linear return
    assert algo.env_steps == 6 * 7 and algo.iterations == 1
    assert log["train_return"] == pytest.approx(max(r_plus.max(), r_minus.max()), rel=1e-5)


def test_env_steps_count_every_training_episode_and_evaluation_separately():
    algo = small_algo(n_directions=3, n_elite=2)
    seen = []
    evaluate = algo.train_env.evaluate
    algo.train_env.evaluate = lambda *a, **kw: seen.append(evaluate(*a, **kw)) or seen[-1]
    for _ in range(2):
        algo.iterate()
    assert [len(r.lengths) for r in seen] == [6, 6]
    assert algo.env_steps == sum(int(r.lengths.sum()) for r in seen)
    assert algo.normalizer.count == algo.env_steps  # every observation of those episodes
    steps = algo.env_steps
    result = algo.evaluate()
    assert algo.env_steps == steps and algo.eval_env_steps > 0
    assert set(result) >= {"eval_return_mean", "eval_return_std"}


def test_evaluation_rolls_out_theta_itself():
    algo = small_algo(eval_episodes=3)
    fake = FakeEvaluator(algo.spec.n_params)
    algo.eval_env = fake
    algo.evaluate()
    (call,) = fake.calls
    assert call["n"] == 3 and not call["update"]
    assert torch.equal(call["thetas"], algo.theta.expand(3, -1))


def test_default_init_is_torch_linear_init_layer_by_layer():
    spec = PolicySpec(4, 2, hidden=(64, 64))
    theta = default_init(spec, np.random.default_rng(0))
    assert theta.shape == (spec.n_params,) and theta.dtype == torch.float32
    start = 0
    for fan_in, fan_out in spec.layers:
        layer = theta[start : start + fan_in * fan_out + fan_out]
        start += layer.numel()
        bound = 1 / np.sqrt(fan_in)
        assert float(layer.abs().max()) <= bound and float(layer.abs().max()) > 0.9 * bound


def test_same_seed_same_run_different_seed_different_run():
    def trace(seed):
        algo = small_algo(seed, n_directions=2, n_elite=1)
        for _ in range(4):
            algo.iterate()
        return algo.env_steps, algo.theta

    a, b, c = trace(0), trace(0), trace(1)
    assert a[0] == b[0] and torch.equal(a[1], b[1])
    assert not torch.equal(a[1], c[1])


def test_checkpoint_resumes_exactly():
    full = small_algo(5, n_directions=2, n_elite=1)
    for _ in range(6):
        full.iterate()

    cut = small_algo(5, n_directions=2, n_elite=1)
    for _ in range(3):
        cut.iterate()
    state = copy.deepcopy(cut.state_dict())
    resumed = small_algo(5, n_directions=2, n_elite=1)
    resumed.load_state_dict(state)
    for _ in range(3):
        resumed.iterate()
    assert resumed.env_steps == full.env_steps and resumed.iterations == 6
    assert torch.equal(resumed.theta, full.theta)
    assert resumed.evaluate() == full.evaluate()


def test_ars_learns_inverted_pendulum_with_its_preset():
    # Measured with seeds 0-7: from 4-21 at the start to 92-1000 after 15k steps (seed 0: 4 -> 1000).
    algo = ARS(IP, env_preset(IP), 0, ars_config_for(IP))
    before = algo.evaluate()["eval_return_mean"]
    while algo.env_steps < 15_000:
        algo.iterate()
    after = algo.evaluate()["eval_return_mean"]
    assert after >= 50 and after >= 5 * before
