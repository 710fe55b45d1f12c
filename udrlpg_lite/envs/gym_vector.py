"""Fallback evaluator for any registered gymnasium env, on a ``gymnasium.vector.SyncVectorEnv``.

Sub-env i is ``gymnasium.make(env_id)`` (with its ``TimeLimit`` and other default wrappers) and
plays episode i, so each episode is exactly what a plain gymnasium loop would produce:

    obs, _ = env.reset(seed=s_i)
    while not (terminated or truncated):
        obs, reward, terminated, truncated, _ = env.step(action(obs))

The seeds s of a call are ``rng.integers(2**31, size=n)`` from one ``np.random.default_rng(seed)``
made at construction, so the same seed and the same calls give the same episodes. Discrete action
spaces: the policy outputs one score per action and the argmax is played. Box action spaces must be
symmetric, [-b, b] with one b, and the policy's output (already within the bound) is played as is.
"""

from __future__ import annotations

from functools import partial

import gymnasium
import numpy as np
import torch
from gymnasium import spaces

from udrlpg_lite.envs.base import Policy, Rollouts
from udrlpg_lite.normalizer import RunningNorm


class GymVectorEvaluator:
    """Evaluator (see ``udrlpg_lite.envs.base.Evaluator``) on gymnasium's own env implementation."""

    def __init__(self, env_id: str, *, seed: int = 0) -> None:
        self.env_id = env_id
        probe = gymnasium.make(env_id)
        obs_space, act_space = probe.observation_space, probe.action_space
        self.max_episode_steps: int = probe.spec.max_episode_steps
        probe.close()
        if not isinstance(obs_space, spaces.Box) or len(obs_space.shape) != 1:
            raise ValueError(f"{env_id}: only flat Box observation spaces are supported")
        if self.max_episode_steps is None:
            raise ValueError(f"{env_id}: the env has no max_episode_steps, episodes may not end")
        self.obs_dim = obs_space.shape[0]
        if isinstance(act_space, spaces.Discrete):
            self.discrete, self.act_dim, self.act_bound = True, int(act_space.n), 1.0
        elif isinstance(act_space, spaces.Box) and len(act_space.shape) == 1:
            low, high = act_space.low, act_space.high
            if not ((low == -high).all() and (high == high[0]).all()):
                raise ValueError(
                    f"{env_id}: action bounds must be symmetric and equal in every dimension, "
                    f"got low={low}, high={high}"
                )
            self.discrete, self.act_dim, self.act_bound = False, act_space.shape[0], float(high[0])
        else:
            raise ValueError(f"{env_id}: unsupported action space {act_space}")
        self.rng = np.random.default_rng(seed)
        self._envs: gymnasium.vector.SyncVectorEnv | None = None

    def _vector_env(self, n: int) -> gymnasium.vector.SyncVectorEnv:
        """A vector of n sub-envs, kept while n stays the same."""
        if self._envs is None or self._envs.num_envs != n:
            if self._envs is not None:
                self._envs.close()
            self._envs = gymnasium.vector.SyncVectorEnv([partial(gymnasium.make, self.env_id)] * n)
        return self._envs

    def evaluate(
        self,
        policy: Policy,
        n: int,
        *,
        normalizer: RunningNorm | None = None,
        update_normalizer: bool = False,
        initial_state: tuple[np.ndarray, np.ndarray] | None = None,
    ) -> Rollouts:
        """Run episode i with policy row i, i < n, until each terminates or is truncated."""
        if initial_state is not None:
            raise ValueError(f"{self.env_id}: initial_state is supported by the MuJoCo engine only")
        if n < 1:
            raise ValueError(f"need at least one episode, got n={n}")
        if update_normalizer and normalizer is None:
            raise ValueError("update_normalizer=True needs a normalizer")
        envs = self._vector_env(n)
        seeds = self.rng.integers(2**31, size=n)
        obs, _ = envs.reset(seed=[int(s) for s in seeds])

        returns = np.zeros(n)
        lengths = np.zeros(n, dtype=np.int64)
        terminated = np.zeros(n, dtype=bool)
        running = np.ones(n, dtype=bool)
        rows = torch.arange(n)
        # SyncVectorEnv steps every sub-env: one whose episode ended is reset automatically at its
        # next step and keeps playing episodes that are not recorded (cheap for the small envs
        # this fallback is for).
        while running.any():
            raw = np.asarray(obs, dtype=np.float64)
            if update_normalizer:  # the observations about to be acted on, then normalise them
                normalizer.update(raw[running], rows.numpy()[running])
            policy_obs = torch.from_numpy(raw)
            if normalizer is not None:
                policy_obs = normalizer.normalize(policy_obs, rows)
            out = policy(policy_obs.to(torch.float32), rows).detach()
            actions = out.argmax(dim=1).numpy() if self.discrete else out.numpy()

            obs, reward, term, trunc, _ = envs.step(actions)
            returns[running] += reward[running]
            lengths[running] += 1
            terminated[running] = term[running]
            running &= ~(term | trunc)
        return Rollouts(returns=returns, lengths=lengths, terminated=terminated)
