"""The multimodality toy J(theta) = theta^2: mean collapse, GoGePo's critic, UDRLPG's single mode."""

import numpy as np
import pytest
import torch

from udrlpg_lite.algorithms.toy import (
    COMMANDS,
    analytic_hindsight_target,
    critic_generator,
    hindsight_fit,
    udrlpg_on_toy,
)

torch.set_num_threads(1)


@pytest.fixture(scope="module")
def hindsight():
    return hindsight_fit(seed=0)


@pytest.fixture(scope="module")
def online():
    return udrlpg_on_toy(initial_theta=0.2, seed=0)


def test_hindsight_fit_collapses_to_the_mean_of_the_two_modes(hindsight):
    theta, achieved = hindsight.at(0.25)
    assert abs(theta[0]) < 0.1 and achieved < 0.05  # wanted +-1/2 with return 1/4
    # the data hold both modes: about as many thetas near +1/2 as near -1/2
    near = np.abs(np.abs(hindsight.thetas[:, 0]) - 0.5) < 0.05
    assert 0.4 < (hindsight.thetas[near, 0] > 0).mean() < 0.6
    # the whole fit sits on the analytic answer E[theta | J = c] = 0
    target = analytic_hindsight_target(hindsight.commands)
    assert np.abs(hindsight.generated - target).max() < 0.1
    assert hindsight.achieved.max() < 0.01


def test_critic_generator_finds_a_policy_with_the_commanded_return(hindsight):
    result = critic_generator(seed=0)
    np.testing.assert_array_equal(result.thetas, hindsight.thetas)  # the data that made G collapse
    theta, achieved = result.at(0.25)
    assert abs(achieved - 0.25) < 0.02
    assert abs(abs(theta[0]) - 0.5) < 0.03  # one of the two modes, not their mean
    assert np.abs(result.critic_values - result.critic_thetas**2).max() < 0.05  # V ~ J


def test_udrlpg_online_stays_in_the_mode_it_starts_in(online):
    theta, achieved = online.at(0.25)
    assert online.side_fraction > 0.95
    assert np.sign(theta[0]) == online.initial_side
    assert abs(achieved - 0.25) < 0.05  # no collapse, unlike the offline fit on both modes
    assert online.returns.max() > 0.95  # the loop did explore up to the best return


def test_udrlpg_online_mode_is_decided_by_the_initialisation():
    mirrored = udrlpg_on_toy(initial_theta=-0.2, seed=0)
    theta, achieved = mirrored.at(0.25)
    assert mirrored.initial_side == -1.0 and mirrored.side_fraction > 0.95
    assert theta[0] < 0 and abs(achieved - 0.25) < 0.05


def test_hindsight_fit_on_the_disk_collapses_to_the_origin_for_every_command():
    result = hindsight_fit(dim=2, seed=0)
    assert result.generated.shape == (len(COMMANDS), 2)
    assert np.linalg.norm(result.thetas, axis=1).max() <= 1.0
    assert np.linalg.norm(result.generated, axis=1).max() < 0.15
    assert result.achieved.max() < 0.03  # commands go up to 1
    assert not analytic_hindsight_target(COMMANDS, dim=2).any()


def test_same_seed_same_result_and_the_callers_rng_is_left_alone(hindsight, online):
    state = torch.get_rng_state()
    again = hindsight_fit(seed=0)
    assert torch.equal(torch.get_rng_state(), state)
    np.testing.assert_array_equal(again.generated, hindsight.generated)
    np.testing.assert_array_equal(again.thetas, hindsight.thetas)
    assert not np.array_equal(hindsight_fit(seed=1).thetas, hindsight.thetas)
    online_again = udrlpg_on_toy(initial_theta=0.2, seed=0)
    np.testing.assert_array_equal(online_again.thetas, online.thetas)
    np.testing.assert_array_equal(online_again.generated, online.generated)


def test_only_one_and_two_dimensional_toys():
    with pytest.raises(ValueError, match="dim"):
        hindsight_fit(dim=3)
