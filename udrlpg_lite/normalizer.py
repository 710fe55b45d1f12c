"""Running observation normalisation shared by every policy (UDRLPG and ARS practice).

One running mean and variance over all observations of training episodes. The evaluators update it at
every environment step, before the policies act, as the UDRLPG authors' code does (its Welford update
runs once per observation): at each step the observations of all running episodes are merged in at
once (Chan et al.'s parallel form of Welford's algorithm), so with one episode at a time this is the
authors' per-observation update, and a population of P episodes started together sees the statistics
of everything observed so far. Evaluation episodes use the statistics without changing them.
"""

from __future__ import annotations

import numpy as np
import torch


class RunningNorm:
    """Running mean/variance of observations; ``normalize`` maps obs to (obs - mean) / std."""

    def __init__(self, dim: int, eps: float = 1e-8) -> None:
        self.dim = dim
        self.eps = eps
        self.count = 0
        self.mean = np.zeros(dim, dtype=np.float64)
        self.m2 = np.zeros(dim, dtype=np.float64)

    @property
    def std(self) -> np.ndarray:
        if self.count < 2:
            return np.ones(self.dim)
        return np.sqrt(self.m2 / self.count + self.eps)

    def update(self, obs: np.ndarray, rows: np.ndarray | None = None) -> None:
        """Merge a batch of observations [N, dim] into the running statistics.

        rows (the episode of each observation, as the evaluators pass it) is not needed here: one
        normaliser serves every episode (``GroupNorm`` uses it).
        """
        obs = np.asarray(obs, dtype=np.float64).reshape(-1, self.dim)
        n = obs.shape[0]
        if n == 0:
            return
        if not np.isfinite(obs).all():
            raise ValueError("observation normaliser got NaN or inf observations")
        batch_mean = obs.mean(axis=0)
        batch_m2 = ((obs - batch_mean) ** 2).sum(axis=0)
        total = self.count + n
        delta = batch_mean - self.mean
        self.mean = self.mean + delta * n / total
        self.m2 = self.m2 + batch_m2 + delta**2 * self.count * n / total
        self.count = total

    def normalize(self, obs: torch.Tensor, rows: torch.Tensor | None = None) -> torch.Tensor:
        """(obs - mean) / std for obs [N, dim]; rows as in ``update``, not needed here."""
        mean = torch.as_tensor(self.mean, dtype=obs.dtype, device=obs.device)
        std = torch.as_tensor(self.std, dtype=obs.dtype, device=obs.device)
        return (obs - mean) / std

    def state_dict(self) -> dict:
        """Tensors and plain types only (checkpoints load with ``weights_only=True``)."""
        return {
            "count": self.count,
            "mean": torch.from_numpy(self.mean.copy()),
            "m2": torch.from_numpy(self.m2.copy()),
        }

    def load_state_dict(self, state: dict) -> None:
        self.count = int(state["count"])
        self.mean = torch.as_tensor(state["mean"]).cpu().numpy().astype(np.float64)
        self.m2 = torch.as_tensor(state["m2"]).cpu().numpy().astype(np.float64)


class GroupNorm:
    """Several RunningNorms behind one, for one evaluate call that plays several runs' episodes.

    Episode (policy row) i belongs to run ``groups[i]`` and is normalised with, and merged into, that
    run's own normaliser, so each run's statistics are exactly those it would have had alone
    (``multiseed.py``): its observations are merged in the same order, step by step.
    """

    def __init__(self, norms: list[RunningNorm], groups: np.ndarray) -> None:
        self.norms, self.groups = norms, np.asarray(groups)

    def update(self, obs: np.ndarray, rows: np.ndarray) -> None:
        group_of_obs = self.groups[np.asarray(rows)]
        for g, norm in enumerate(self.norms):
            norm.update(obs[group_of_obs == g])

    def normalize(self, obs: torch.Tensor, rows: torch.Tensor) -> torch.Tensor:
        group_of_obs = torch.as_tensor(self.groups, device=obs.device)[rows]
        out = torch.empty_like(obs)
        for g, norm in enumerate(self.norms):
            mine = group_of_obs == g
            out[mine] = norm.normalize(obs[mine])
        return out
