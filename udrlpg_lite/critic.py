"""The evaluator V_w(theta) of GoGePo: a parameter-based value function with policy fingerprinting.

GoGePo paper, Sec. "Policy Fingerprinting" (Sec. 4.2 of the earlier version): the PSSVF of Faccio,
Kirsch and Schmidhuber (2021) with the fingerprinting of Harb et al. (2020). Rather than reading the
weights theta directly, the evaluator asks the policy questions: it holds K learnable probing states
s_1..s_K, runs the policy on them, and reads its answers, the probing actions a_k = pi_theta(s_k). An
MLP U maps the concatenated probing actions to the predicted return:

    V_w(theta) = U_phi([pi_theta(s_1), ..., pi_theta(s_K)]),        w = {phi, s_1, ..., s_K}

Probing actions do not change under the symmetries of the weights (permuting hidden neurons gives the
same actions), so V_w judges a policy by its behaviour. The probing states learn along with U: the
gradient of the loss reaches them through pi_theta, so they move to states whose actions tell good
policies from bad ones. The policies act on normalised observations (normalizer.py), so the probing
states live in that normalised space too.

The probing actions also give a small map of policy space: GoGePo's Figure 4 plots the buffer's
policies at the first two principal components of their probing actions (``policy_map``).

Sizes from the GoGePo appendix A.1: K = 200 probing states, initialised uniformly in [0, 1); U is an
MLP with two hidden layers of 256 ReLU units and a scalar output.
"""

from __future__ import annotations

import torch
from torch import nn

from .policy import PolicySpec, forward


class ProbingCritic(nn.Module):
    """V_w: flat policy weights [B, n_params] -> predicted returns [B], via K probing states."""

    def __init__(
        self, spec: PolicySpec, n_probing: int = 200, hidden: tuple[int, ...] = (256, 256)
    ) -> None:
        super().__init__()
        if n_probing <= 0 or any(h <= 0 for h in hidden):
            raise ValueError(f"n_probing and hidden sizes must be positive, got {n_probing}, {hidden}")
        self.spec = spec
        # s_1..s_K, part of w and trained with it (GoGePo appendix A.1: U[0, 1) initialisation)
        self.probing_states = nn.Parameter(torch.rand(n_probing, spec.obs_dim))
        layers: list[nn.Module] = []
        n_in = n_probing * spec.act_dim
        for h in hidden:
            layers += [nn.Linear(n_in, h), nn.ReLU()]
            n_in = h
        layers.append(nn.Linear(n_in, 1))
        self.mlp = nn.Sequential(*layers)  # U_phi

    def probing_actions(self, theta: torch.Tensor) -> torch.Tensor:
        """The fingerprint [pi_theta(s_1), ..., pi_theta(s_K)] of each policy: [B, K * act_dim].

        Differentiable with respect to both theta (for the generator's update) and the probing
        states (for the evaluator's update).
        """
        states = self.probing_states.unsqueeze(0).expand(theta.shape[0], -1, -1)  # [B, K, obs_dim]
        return forward(self.spec, theta, states).flatten(1)

    def forward(self, theta: torch.Tensor) -> torch.Tensor:
        """V_w(theta) for a batch of policies [B, n_params] -> [B]."""
        return self.mlp(self.probing_actions(theta)).squeeze(1)


def policy_map(
    critic: ProbingCritic,
    thetas: torch.Tensor,
    reference: torch.Tensor | None = None,
    chunk: int = 256,
) -> torch.Tensor:
    """2-D coordinates [N, 2] of policies: PCA of their probing actions (GoGePo Figure 4).

    GoGePo, "Analyzing the Generator's Learning Process", and appendix B.3 of the earlier version.
    The principal axes come from the probing actions of ``reference`` (the paper uses the policies in
    the buffer) or, by default, of ``thetas`` themselves. Passing the buffer as reference places
    further policies, such as the generator's outputs for a range of commands, on the buffer's map.
    Policies go through the critic ``chunk`` at a time to bound memory.
    """

    def fingerprints(x: torch.Tensor) -> torch.Tensor:
        with torch.no_grad():
            return torch.cat([critic.probing_actions(part) for part in x.split(chunk)])

    points = fingerprints(thetas)
    basis = points if reference is None else fingerprints(reference)
    mean = basis.mean(dim=0)
    _, _, vh = torch.linalg.svd(basis - mean, full_matrices=False)  # rows of vh: principal axes
    return (points - mean) @ vh[:2].T
