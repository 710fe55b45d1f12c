"""Deterministic MLP policies stored as flat weight vectors, run as a whole population.

Parameter-space methods (UDRLPG paper, Sec. 2; GoGePo paper, Sec. 3) treat a policy as one point
theta in R^n. This module fixes how theta is laid out and runs P such policies at once: row p of a
[P, n] tensor is policy p, and one batched matmul per layer computes all P actions.

Layout of theta, layer by layer as in the authors' code: W1, b1, W2, b2, ..., with each W stored
[out, in] in row-major order (the torch.nn.Linear convention).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch


@dataclass(frozen=True)
class PolicySpec:
    """Shape of an MLP policy: obs -> hidden... (tanh) -> act, tanh output times the action bound."""

    obs_dim: int
    act_dim: int
    hidden: tuple[int, ...] = (256, 256)
    act_bound: float = 1.0

    def __post_init__(self) -> None:
        if self.obs_dim <= 0 or self.act_dim <= 0 or any(h <= 0 for h in self.hidden):
            raise ValueError(f"PolicySpec sizes must be positive, got {self}")

    @property
    def layers(self) -> list[tuple[int, int]]:
        """(fan_in, fan_out) of every layer, input layer first."""
        sizes = [self.obs_dim, *self.hidden, self.act_dim]
        return list(zip(sizes[:-1], sizes[1:]))

    @property
    def n_params(self) -> int:
        return sum(i * o + o for i, o in self.layers)


def unflatten(spec: PolicySpec, theta: torch.Tensor) -> list[tuple[torch.Tensor, torch.Tensor]]:
    """Split [P, n_params] into per-layer (W [P, out, in], b [P, out]) views (no copy)."""
    if theta.ndim != 2 or theta.shape[1] != spec.n_params:
        raise ValueError(
            f"policy weights must have shape [P, {spec.n_params}] for {spec}, got {tuple(theta.shape)}"
        )
    out, start = [], 0
    for fan_in, fan_out in spec.layers:
        w = theta[:, start : start + fan_in * fan_out].view(-1, fan_out, fan_in)
        start += fan_in * fan_out
        b = theta[:, start : start + fan_out]
        start += fan_out
        out.append((w, b))
    return out


def forward(spec: PolicySpec, theta: torch.Tensor, obs: torch.Tensor) -> torch.Tensor:
    """Actions of P policies: obs [P, B, obs_dim] (B observations each) -> [P, B, act_dim].

    Each policy sees its own observations; this is the pi_theta(s) of the papers, batched.
    """
    x = obs
    for w, b in unflatten(spec, theta):
        x = torch.tanh(torch.baddbmm(b.unsqueeze(1), x, w.transpose(1, 2)))  # tanh on every layer
    return x * spec.act_bound


class PopulationPolicy:
    """The callable the evaluators use: one observation per policy per step.

    ``policy(obs [k, obs_dim], rows [k]) -> actions [k, act_dim]``, where ``rows`` says which of the
    P policies produced each observation. The per-layer weights for a set of rows are gathered once
    and reused while the evaluator keeps passing the same ``rows`` tensor.
    """

    def __init__(self, spec: PolicySpec, theta: torch.Tensor) -> None:
        self.spec = spec
        self.theta = theta.detach().to(torch.float32)
        unflatten(spec, self.theta)  # validates the shape
        self._rows: torch.Tensor | None = None
        self._theta_rows = self.theta

    def __len__(self) -> int:
        return self.theta.shape[0]

    def __call__(self, obs: torch.Tensor, rows: torch.Tensor) -> torch.Tensor:
        if self._rows is not rows:
            full = rows.numel() == len(self) and bool(
                (rows == torch.arange(len(self), device=rows.device)).all()
            )
            self._theta_rows = self.theta if full else self.theta[rows]
            self._rows = rows
        with torch.no_grad():
            return forward(self.spec, self._theta_rows, obs.unsqueeze(1)).squeeze(1)
