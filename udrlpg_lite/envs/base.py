"""The interface every evaluator shares: the policy it calls, the rollouts it returns, and the
``Evaluator`` protocol itself (``udrlpg_lite.envs`` re-exports all three). The back ends import it
from here, so that the package's ``__init__``, which chooses among them, is imported by none.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

import numpy as np
import torch

from udrlpg_lite.normalizer import RunningNorm

# policy(obs [k, obs_dim] float32, rows [k] int64) -> actions [k, act_dim]
Policy = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]


@dataclass
class Rollouts:
    """Outcome of one episode per policy; entry i belongs to policy row i."""

    returns: np.ndarray  # float64 [P], undiscounted sum of rewards
    lengths: np.ndarray  # int64 [P], number of env steps taken
    terminated: np.ndarray  # bool [P], ended by termination (else by truncation)


class Evaluator(Protocol):
    """What both back ends provide."""

    env_id: str
    obs_dim: int
    act_dim: int
    act_bound: float  # actions lie in [-act_bound, act_bound]; 1.0 for discrete action spaces
    discrete: bool  # if True the policy outputs one score per action and the argmax is taken
    max_episode_steps: int
    # the evaluator's random stream (initial states or reset seeds); its bit_generator.state is
    # what a checkpoint must save to resume the same sequence of episodes
    rng: np.random.Generator

    def evaluate(
        self,
        policy: Policy,
        n: int,
        *,
        normalizer: RunningNorm | None = None,
        update_normalizer: bool = False,
        initial_state: tuple[np.ndarray, np.ndarray] | None = None,
    ) -> Rollouts:
        """Run episode i with policy rows i for i < n, all episodes in parallel.

        With a normalizer, observations are normalised with its current statistics. With
        update_normalizer, the statistics are updated at every step, as in the UDRLPG authors' code:
        the raw observations of the running episodes are merged in first, then normalised with the
        updated statistics and acted on. Every observation a policy acts on (the initial one
        included, the final one after the last step excluded, so ``lengths.sum()`` of them) is
        merged exactly once. Without update_normalizer the statistics stay frozen. The normaliser
        is told the episode (policy row) of every observation, so a ``GroupNorm`` can keep separate
        statistics for groups of episodes.
        initial_state=(qpos [n, nq], qvel [n, nv]) replaces the random initial states (MuJoCo
        engine only).
        """
        ...
