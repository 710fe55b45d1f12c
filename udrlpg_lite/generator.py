"""The policy generator G_rho(c): a sliced hypernetwork (fast weight programmer).

GoGePo paper, Sec. 4.1 (Eqs. 5-6) and its appendix A.2. Every weight matrix K^j of the policy is cut
into slices s^j_mn; each slice has a learned embedding z^j_mn in R^d, and a network H reads
[z^j_mn, c] (the embedding with the scalar command appended) and writes the slice:

    s^j_mn = H(z^j_mn, c),        K^j = [[s^j_11, s^j_12, ...], [s^j_21, ...], ...]

Hidden layers use f x f slices from one shared network H. The input and output layers, whose sizes
are fixed by the environment, have dedicated networks H_i (slices f x obs_dim) and H_o (slices
act_dim x f). Biases come from dedicated bias networks H_chi fed with the same embeddings: each writes
a bias slice of length f (act_dim for the output layer), and the slices of one row of the embedding grid
are averaged (appendix A.2), so each layer gets a bias vector rather than a matrix.

With these six networks, the parameter counts match both papers' models: about 2.47M parameters for
Hopper with the UDRLPG authors' settings and about 545k with GoGePo's (tests check both).

Optional output scaling (GoGePo appendix, "output scaling"): every generated weight and bias of a
layer is multiplied by 2 / sqrt(fan_in) of that layer, which puts a fresh generator's policies at the
scale of a standard initialisation.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
from torch import nn

from .policy import PolicySpec


@dataclass(frozen=True)
class GeneratorConfig:
    """Sizes of the hypernetwork; see PRESETS for the two papers' values."""

    slice_size: int = 32  # f
    embedding_dim: int = 32  # d
    hidden: tuple[int, ...] = (512, 512)  # hidden sizes of every H network (ReLU)
    output_scaling: bool = False


PRESETS: dict[str, GeneratorConfig] = {
    # UDRLPG authors' code: f = 32, d = 32, H = (512, 512), no output scaling.
    "udrlpg": GeneratorConfig(slice_size=32, embedding_dim=32, hidden=(512, 512), output_scaling=False),
    # GoGePo paper, appendix A.1: f = 16, d = 8, H = (256, 256), output scaling on.
    "gogepo": GeneratorConfig(slice_size=16, embedding_dim=8, hidden=(256, 256), output_scaling=True),
    # ours, for the built-in demo and quick studies: GoGePo's slicing with H = (128, 128)
    "small": GeneratorConfig(slice_size=16, embedding_dim=8, hidden=(128, 128), output_scaling=True),
}


def _mlp(n_in: int, hidden: tuple[int, ...], n_out: int) -> nn.Sequential:
    layers: list[nn.Module] = []
    for h in hidden:
        layers += [nn.Linear(n_in, h), nn.ReLU()]
        n_in = h
    layers.append(nn.Linear(n_in, n_out))
    return nn.Sequential(*layers)


class _SlicedLayer(nn.Module):
    """Generates one policy layer's (W [out, in], b [out]) from a grid of rows x cols embeddings.

    The weight network writes slices of shape (out_slice, in_slice); the grid places them:
    W[m*out_slice:(m+1)*out_slice, n*in_slice:(n+1)*in_slice] = slice(m, n). The bias network writes
    a length-out_slice bias per embedding; biases are averaged over the grid's columns.
    """

    def __init__(
        self,
        rows: int,
        cols: int,
        out_slice: int,
        in_slice: int,
        weight_net: nn.Module,
        bias_net: nn.Module,
        embedding_dim: int,
        scale: float,
    ) -> None:
        super().__init__()
        self.rows, self.cols, self.out_slice, self.in_slice = rows, cols, out_slice, in_slice
        self.embeddings = nn.Parameter(torch.randn(rows * cols, embedding_dim))
        self.weight_net = weight_net  # may be shared with other hidden layers
        self.bias_net = bias_net
        self.scale = scale

    def forward(self, command: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        batch, n_emb = command.shape[0], self.embeddings.shape[0]
        z = self.embeddings.unsqueeze(0).expand(batch, n_emb, -1)
        c = command.view(batch, 1, 1).expand(batch, n_emb, 1)
        x = torch.cat([z, c], dim=2)  # [B, L, d + 1]: the embedding with the command appended
        s = self.weight_net(x).view(batch, self.rows, self.cols, self.out_slice, self.in_slice)
        w = s.permute(0, 1, 3, 2, 4).reshape(
            batch, self.rows * self.out_slice, self.cols * self.in_slice
        )
        b = self.bias_net(x).view(batch, self.rows, self.cols, self.out_slice).mean(dim=2)
        b = b.reshape(batch, self.rows * self.out_slice)
        return w * self.scale, b * self.scale


class PolicyGenerator(nn.Module):
    """G_rho: command [B] -> flat policy weights [B, spec.n_params] in the layout of policy.py."""

    def __init__(self, spec: PolicySpec, config: GeneratorConfig = PRESETS["udrlpg"]) -> None:
        super().__init__()
        f, d, hid = config.slice_size, config.embedding_dim, config.hidden
        if any(h % f for h in spec.hidden):
            raise ValueError(f"hidden sizes {spec.hidden} must be multiples of the slice size {f}")
        if not spec.hidden:
            raise ValueError("the sliced generator needs a policy with at least one hidden layer")
        self.spec, self.config = spec, config
        n_in = d + 1
        # One network per slice kind (GoGePo Sec. 4.1): H_i, H, H_o for weights, H_chi for biases.
        nets = {
            "w_in": _mlp(n_in, hid, f * spec.obs_dim),
            "b_in": _mlp(n_in, hid, f),
            "w_out": _mlp(n_in, hid, spec.act_dim * f),
            "b_out": _mlp(n_in, hid, spec.act_dim),
        }
        if len(spec.hidden) > 1:  # hidden-to-hidden layers share H
            nets |= {"w_hidden": _mlp(n_in, hid, f * f), "b_hidden": _mlp(n_in, hid, f)}
        self.nets = nn.ModuleDict(nets)
        layers = []
        last = len(spec.layers) - 1
        for j, (fan_in, fan_out) in enumerate(spec.layers):
            scale = 2.0 / math.sqrt(fan_in) if config.output_scaling else 1.0
            if j == 0:  # input layer: grid (fan_out / f) x 1 of f x obs_dim slices
                args = (fan_out // f, 1, f, fan_in, self.nets["w_in"], self.nets["b_in"])
            elif j == last:  # output layer: grid 1 x (fan_in / f) of act_dim x f slices
                args = (1, fan_in // f, fan_out, f, self.nets["w_out"], self.nets["b_out"])
            else:  # hidden layer: grid of f x f slices
                args = (fan_out // f, fan_in // f, f, f, self.nets["w_hidden"], self.nets["b_hidden"])
            layers.append(_SlicedLayer(*args, embedding_dim=d, scale=scale))
        self.layers = nn.ModuleList(layers)

    def explore(
        self, command: float, n: int, sigma: float, rng: torch.Generator | None = None
    ) -> torch.Tensor:
        """n policies g_rho(c) = G_rho(c) + eps_p, eps_p ~ N(0, sigma^2 I) (UDRLPG Sec. 4).

        G_rho(c) is generated once and repeated, so every row shares it exactly; sigma = 0 gives n
        copies of G_rho(c). No gradient flows: these are the policies rolled out in the environment.
        The noise is drawn from rng (default: torch's global stream).
        """
        device = self.layers[0].embeddings.device
        with torch.no_grad():
            theta = self(torch.tensor([command], device=device)).expand(n, -1)
        if sigma <= 0:
            return theta
        return theta + sigma * torch.randn(theta.shape, device=device, generator=rng)

    def explore_at(
        self, commands: torch.Tensor, sigma: float, rng: torch.Generator | None = None
    ) -> torch.Tensor:
        """One policy G_rho(c_p) + eps_p per command c_p of ``commands`` [P]; no gradient flows."""
        with torch.no_grad():
            theta = self(commands)
        device = theta.device
        return theta + sigma * torch.randn(theta.shape, device=device, generator=rng)

    def forward(self, command: torch.Tensor) -> torch.Tensor:
        """theta = G_rho(c) for a batch of scalar commands [B] (or [B, 1])."""
        device = self.layers[0].embeddings.device
        command = torch.as_tensor(command, dtype=torch.float32, device=device).reshape(-1)
        parts = []
        for layer in self.layers:
            w, b = layer(command)
            parts += [w.flatten(1), b]
        return torch.cat(parts, dim=1)
