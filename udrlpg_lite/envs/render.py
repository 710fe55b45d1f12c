"""Watch a policy: one rendered episode of a weight-vector policy in gymnasium's own environment.

The book shows what "a policy that achieves return c" looks like by generating theta = G(c) and
filming one episode. Rendering uses gymnasium's ``render_mode="rgb_array"`` (MuJoCo's renderer);
on a machine without a display set ``MUJOCO_GL=egl`` (or ``osmesa``) before MuJoCo is first imported.
The episode is played exactly as the evaluators play it: the float64 observations normalised with the
given (frozen) statistics, cast to float32 for the policy, whose action is applied as it is.
"""

from __future__ import annotations

import gymnasium
import numpy as np
import torch

from ..normalizer import RunningNorm
from ..policy import PolicySpec, forward, unflatten


def render_episode(
    env_id: str,
    spec: PolicySpec,
    theta: torch.Tensor,
    *,
    normalizer: RunningNorm | None = None,
    seed: int = 0,
    width: int = 320,
    height: int = 240,
    every: int = 1,
) -> tuple[np.ndarray, float]:
    """Frames [T, height, width, 3] (uint8, every ``every``-th step) and the episode's return.

    theta is one policy's flat weights ([n_params] or [1, n_params]); the episode starts from
    ``env.reset(seed=seed)`` and runs to termination or truncation.
    """
    theta = theta.detach().reshape(1, -1).to(torch.float32)
    unflatten(spec, theta)  # validates the shape before an environment is made
    if every < 1:
        raise ValueError(f"every must be >= 1, got {every}")
    env = gymnasium.make(env_id, render_mode="rgb_array", width=width, height=height)
    try:
        obs, _ = env.reset(seed=seed)
        frames, ret, t = [env.render()], 0.0, 0
        while True:
            x = torch.as_tensor(np.asarray(obs, dtype=np.float64))
            if normalizer is not None:
                x = normalizer.normalize(x)
            with torch.no_grad():
                action = forward(spec, theta, x.to(torch.float32).view(1, 1, -1)).view(-1).numpy()
            obs, reward, terminated, truncated, _ = env.step(action)
            ret += float(reward)
            t += 1
            if t % every == 0:
                frames.append(env.render())
            if terminated or truncated:
                return np.stack(frames), ret
    finally:
        env.close()
