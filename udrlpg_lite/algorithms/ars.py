"""Augmented Random Search (ARS), the parameter-space baseline of the GoGePo paper.

Mania, Guy and Recht (2018), "Simple random search provides a competitive approach to reinforcement
learning", Algorithm 2 (ARS), variant V2-t: observation normalisation and only the top b of the N
directions.
The policy is one point theta in R^n (here the same tanh MLP as the generators' policies, policy.py).
One iteration:

    1  draw N directions delta_k ~ N(0, I_n)
    2  roll out the 2N policies theta + nu delta_k and theta - nu delta_k, one episode each, with the
       observations normalised by the running statistics, which then absorb the episodes' states
    3  rank the directions by max(r+_k, r-_k) and keep the top b (the elite directions)
    4  sigma_R <- std of the 2b returns {r+_k, r-_k} of the elite directions
    5  theta <- theta + alpha / (b sigma_R) * sum over elite k of (r+_k - r-_k) delta_k

with step size alpha, noise nu, N directions and b elite directions (``ARSConfig``). The GoGePo paper
tuned (alpha, (N, b), nu) per environment (appendix A.1); ``ARS_PRESETS`` holds its choices.

Initial weights. For its linear policies ARS starts at theta = 0. For a tanh MLP that is a poor start:
every hidden unit outputs tanh(0) = 0, so to first order in nu a perturbation changes the action only
through the output layer's bias, and the hidden layers' weights receive nothing but noise. We start
instead from PyTorch's default initialisation of ``nn.Linear`` (weights and biases uniform in
+-1/sqrt(fan_in)), the start a deep policy built from torch layers gets. (The GoGePo paper says only
that it adapted the ARS authors' code to deep policies; its initialisation is not stated.)
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import numpy as np
import torch

from ..policy import PolicySpec
from ..presets import EnvPreset
from .base import Algorithm, check_settings


@dataclass(frozen=True)
class ARSConfig:
    """Hyperparameters (Mania et al. 2018, Algorithm 2); defaults are the Swimmer/Hopper preset."""

    step_size: float = 0.01  # alpha
    n_directions: int = 8  # N
    n_elite: int = 4  # b, the top directions kept (b = N is ARS V2 without the "-t")
    noise: float = 0.05  # nu, std of the parameter perturbations
    hidden: tuple[int, ...] = (256, 256)  # policy hidden layers
    eval_episodes: int = 5

    def __post_init__(self) -> None:
        checks = {
            "step_size": self.step_size > 0,
            "n_directions": self.n_directions > 0,
            "n_elite": self.n_elite > 0,
            "noise": self.noise > 0,
            "eval_episodes": self.eval_episodes > 0,
        }
        check_settings(self, checks, "must be positive")
        if self.n_elite > self.n_directions:
            raise ValueError(
                f"invalid n_elite = {self.n_elite} (must not exceed n_directions = {self.n_directions})"
            )


# GoGePo appendix A.1, tuned per environment; the papers ran the -v3/-v2 MuJoCo versions in brackets.
ARS_PRESETS: dict[str, ARSConfig] = {
    "Swimmer-v5": ARSConfig(step_size=0.01, n_directions=8, n_elite=4, noise=0.05),  # (Swimmer-v3)
    "Hopper-v5": ARSConfig(step_size=0.01, n_directions=8, n_elite=4, noise=0.05),  # (Hopper-v3)
    "InvertedPendulum-v5": ARSConfig(  # (InvertedPendulum-v2)
        step_size=0.001, n_directions=1, n_elite=1, noise=0.025
    ),
    "MountainCarContinuous-v0": ARSConfig(step_size=0.01, n_directions=1, n_elite=1, noise=0.05),
}


def ars_config_for(env_id: str, **overrides: object) -> ARSConfig:
    """The tuned preset for ``env_id`` (``ARSConfig()`` for an env without one), with ``overrides``."""
    return dataclasses.replace(ARS_PRESETS.get(env_id, ARSConfig()), **overrides)


def default_init(spec: PolicySpec, rng: np.random.Generator) -> torch.Tensor:
    """theta [n_params] as ``nn.Linear`` initialises each layer: W and b uniform in +-1/sqrt(fan_in)."""
    parts = []
    for fan_in, fan_out in spec.layers:
        bound = 1.0 / np.sqrt(fan_in)
        parts.append(rng.uniform(-bound, bound, size=fan_in * fan_out + fan_out))  # W then b
    return torch.from_numpy(np.concatenate(parts)).to(torch.float32)


def elite_directions(r_plus: np.ndarray, r_minus: np.ndarray, n_elite: int) -> np.ndarray:
    """Line 3: indices of the n_elite directions with the largest max(r+_k, r-_k), best first."""
    return np.argsort(-np.maximum(r_plus, r_minus), kind="stable")[:n_elite]


def ars_step(
    deltas: torch.Tensor, r_plus: np.ndarray, r_minus: np.ndarray, n_elite: int, step_size: float
) -> tuple[torch.Tensor, float]:
    """Lines 3-5: the change of theta, alpha / (b sigma_R) sum_elite (r+_k - r-_k) delta_k, and sigma_R.

    deltas [N, n] are the directions (unscaled by nu), r_plus and r_minus [N] their returns.
    """
    elite = elite_directions(r_plus, r_minus, n_elite)
    sigma_r = float(np.concatenate([r_plus[elite], r_minus[elite]]).std())
    # all 2b returns equal: every r+_k - r-_k is 0, and so is the step, whatever we divide by
    scale = step_size / (n_elite * (sigma_r if sigma_r > 0 else 1.0))
    weights = torch.as_tensor(r_plus[elite] - r_minus[elite], dtype=torch.float32)
    return scale * (weights @ deltas[elite]), sigma_r


class ARS(Algorithm):
    """ARS V2-t on the flat-weight MLP policy (pseudocode in the module docstring)."""

    name = "ars"

    def __init__(
        self, env_id: str, preset: EnvPreset, seed: int, config: ARSConfig = ARSConfig()
    ) -> None:
        super().__init__(env_id, preset, seed)
        self.config = config
        self.spec = self.policy_spec(config.hidden)
        self.theta = default_init(self.spec, self.rng)

    def iterate(self) -> dict[str, float]:
        cfg = self.config
        n = cfg.n_directions
        deltas = torch.from_numpy(  # line 1
            self.rng.standard_normal((n, self.spec.n_params), dtype=np.float32)
        )
        thetas = torch.cat([self.theta + cfg.noise * deltas, self.theta - cfg.noise * deltas])
        rollouts = self.rollout_train(self.spec, thetas)  # line 2, all 2N episodes at once
        r_plus, r_minus = rollouts.returns[:n], rollouts.returns[n:]
        step, sigma_r = ars_step(deltas, r_plus, r_minus, cfg.n_elite, cfg.step_size)  # lines 3-5
        self.theta = self.theta + step
        self.iterations += 1
        return {"train_return": float(rollouts.returns.max()), "sigma_r": sigma_r}

    def evaluate(self) -> dict[str, float]:
        """Roll out theta itself (no perturbation) ``eval_episodes`` times."""
        thetas = self.theta.expand(self.config.eval_episodes, -1)
        return self.summary(self.rollout_eval(self.spec, thetas))

    def state_dict(self) -> dict:
        return super().state_dict() | {"theta": self.theta.clone()}

    def load_state_dict(self, state: dict) -> None:
        super().load_state_dict(state)
        self.theta = state["theta"].clone()
