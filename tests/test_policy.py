"""The flat-weight policy against torch.nn layers built from the same numbers."""

import pytest
import torch
from torch import nn

from udrlpg_lite.policy import PolicySpec, PopulationPolicy, forward, unflatten


def test_parameter_count_by_hand():
    # InvertedPendulum: 4 -> 256 -> 256 -> 1 with biases
    assert PolicySpec(4, 1).n_params == 4 * 256 + 256 + 256 * 256 + 256 + 256 + 1 == 67329
    # Hopper: 11 -> 256 -> 256 -> 3
    assert PolicySpec(11, 3).n_params == 69635


def test_forward_matches_torch_linear_layers():
    torch.manual_seed(0)
    spec = PolicySpec(5, 2, hidden=(8, 6), act_bound=3.0)
    theta = torch.randn(4, spec.n_params)
    obs = torch.randn(4, 7, 5)
    out = forward(spec, theta, obs)
    for p in range(4):
        net = nn.Sequential(
            nn.Linear(5, 8), nn.Tanh(), nn.Linear(8, 6), nn.Tanh(), nn.Linear(6, 2), nn.Tanh()
        )
        torch.nn.utils.vector_to_parameters(theta[p], net.parameters())  # order W1,b1,W2,...
        torch.testing.assert_close(out[p], 3.0 * net(obs[p]), rtol=1e-5, atol=1e-6)


def test_population_policy_rows_select_policies():
    torch.manual_seed(1)
    spec = PolicySpec(3, 1, hidden=(4, 4))
    theta = torch.randn(5, spec.n_params)
    policy = PopulationPolicy(spec, theta)
    obs = torch.randn(2, 3)
    rows = torch.tensor([4, 1])
    expected = torch.stack(
        [
            forward(spec, theta[[4]], obs[[0]].unsqueeze(1))[0, 0],
            forward(spec, theta[[1]], obs[[1]].unsqueeze(1))[0, 0],
        ]
    )
    torch.testing.assert_close(policy(obs, rows), expected)


def test_wrong_shape_is_a_clear_error():
    spec = PolicySpec(3, 1, hidden=(4,))
    with pytest.raises(ValueError, match=r"shape \[P, 21\]"):
        unflatten(spec, torch.zeros(2, 20))
