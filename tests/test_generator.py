"""The sliced hypernetwork: sizes from the papers, slice placement, bias averaging, scaling."""

import math

import pytest
import torch

from udrlpg_lite.generator import PRESETS, GeneratorConfig, PolicyGenerator
from udrlpg_lite.policy import PolicySpec, unflatten

HOPPER = PolicySpec(11, 3)


def n_params(module):
    return sum(p.numel() for p in module.parameters())


def test_parameter_counts_match_the_authors_models():
    # shared/reference/authors-code.md: about 2.47M (UDRLPG code) and about 545k (GoGePo) for Hopper
    assert n_params(PolicyGenerator(HOPPER, PRESETS["udrlpg"])) == 2_472_451
    assert n_params(PolicyGenerator(HOPPER, PRESETS["gogepo"])) == 544_771
    # GoGePo: 288 slice embeddings for Hopper with 16 x 16 slices
    g = PolicyGenerator(HOPPER, PRESETS["gogepo"])
    assert sum(layer.embeddings.shape[0] for layer in g.layers) == 288


def test_slices_land_in_their_grid_cells_and_biases_average_over_columns():
    torch.manual_seed(0)
    spec = PolicySpec(3, 2, hidden=(8, 12))
    cfg = GeneratorConfig(slice_size=4, embedding_dim=5, hidden=(16,))
    g = PolicyGenerator(spec, cfg)
    c = torch.tensor([0.3, 0.9])
    (w1, b1), (w2, b2), (w3, b3) = unflatten(spec, g(c))
    hidden = g.layers[1]  # 12 x 8 matrix: grid 3 rows x 2 cols of 4 x 4 slices
    assert (hidden.rows, hidden.cols) == (3, 2)
    for batch in range(2):
        for m in range(3):
            cells = []
            for n in range(2):
                x = torch.cat([hidden.embeddings[m * 2 + n], c[batch : batch + 1]])
                cell = hidden.weight_net(x).view(4, 4)
                torch.testing.assert_close(w2[batch, 4 * m : 4 * m + 4, 4 * n : 4 * n + 4], cell)
                cells.append(hidden.bias_net(x))
            torch.testing.assert_close(b2[batch, 4 * m : 4 * m + 4], torch.stack(cells).mean(0))
    assert w1.shape == (2, 8, 3) and w3.shape == (2, 2, 12) and b3.shape == (2, 2)


def test_output_scaling_multiplies_each_layer_by_two_over_sqrt_fan_in():
    spec = PolicySpec(3, 2, hidden=(8, 8))
    torch.manual_seed(0)
    plain = PolicyGenerator(spec, GeneratorConfig(4, 5, (16,), output_scaling=False))
    torch.manual_seed(0)
    scaled = PolicyGenerator(spec, GeneratorConfig(4, 5, (16,), output_scaling=True))
    c = torch.tensor([0.5])
    for (wp, bp), (ws, bs), (fan_in, _) in zip(
        unflatten(spec, plain(c)), unflatten(spec, scaled(c)), spec.layers
    ):
        torch.testing.assert_close(ws, wp * 2 / math.sqrt(fan_in))
        torch.testing.assert_close(bs, bp * 2 / math.sqrt(fan_in))


def test_command_changes_the_policy():
    torch.manual_seed(0)
    g = PolicyGenerator(PolicySpec(4, 1))
    theta = g(torch.tensor([0.0, 1.0]))
    assert not torch.allclose(theta[0], theta[1])


def test_bf16_update_direction_agrees_with_fp32():
    torch.manual_seed(0)
    spec = PolicySpec(4, 1)
    g = PolicyGenerator(spec)
    target, c = torch.randn(8, spec.n_params) * 0.1, torch.rand(8)
    grads = []
    for bf16 in (False, True):
        g.zero_grad()
        with torch.autocast("cpu", dtype=torch.bfloat16, enabled=bf16):
            out = g(c)
        torch.nn.functional.mse_loss(out.float(), target).backward()
        grads.append(torch.cat([p.grad.flatten() for p in g.parameters()]))
    cos = torch.nn.functional.cosine_similarity(grads[0], grads[1], dim=0)
    assert cos > 0.99


def test_hidden_size_must_be_a_multiple_of_the_slice():
    with pytest.raises(ValueError, match="multiples of the slice size"):
        PolicyGenerator(PolicySpec(4, 1, hidden=(100, 100)))


def test_fused_adam_takes_the_steps_of_torchs_default_adam():
    """The generators' optimiser (algorithm.adam) against torch's default Adam, 5 steps."""
    from udrlpg_lite.algorithms.base import adam

    spec = PolicySpec(3, 2, (32,), 1.0)
    torch.manual_seed(0)
    ours, default = PolicyGenerator(spec, PRESETS["small"]), PolicyGenerator(spec, PRESETS["small"])
    default.load_state_dict(ours.state_dict())
    start = ours.layers[0].embeddings.detach().clone()
    optimisers = adam(ours.parameters(), 1e-3), torch.optim.Adam(default.parameters(), lr=1e-3)
    commands, targets = torch.rand(6), torch.randn(6, spec.n_params)
    for _ in range(5):
        for generator, optimiser in zip((ours, default), optimisers):
            optimiser.zero_grad()
            torch.nn.functional.mse_loss(generator(commands), targets).backward()
            optimiser.step()
    assert optimisers[0].param_groups[0]["fused"]
    for a, b in zip(ours.parameters(), default.parameters()):
        torch.testing.assert_close(a, b, rtol=1e-5, atol=1e-7)
    assert not torch.equal(ours.layers[0].embeddings, start)  # the steps moved the weights
