"""render_episode plays an episode exactly as the engine evaluates it (same return, same length)."""

import os

import gymnasium
import numpy as np
import torch

from udrlpg_lite.envs import make_evaluator
from udrlpg_lite.envs.render import render_episode
from udrlpg_lite.normalizer import RunningNorm
from udrlpg_lite.policy import PolicySpec, PopulationPolicy


def test_rendered_episode_matches_the_engine():
    os.environ.setdefault("MUJOCO_GL", "egl")  # headless rendering
    env_id = "Hopper-v5"
    engine = make_evaluator(env_id, seed=0)
    spec = PolicySpec(engine.obs_dim, engine.act_dim, (32, 32), engine.act_bound)
    theta = 0.3 * torch.randn(1, spec.n_params, generator=torch.Generator().manual_seed(0))
    normalizer = RunningNorm(spec.obs_dim)
    normalizer.update(np.random.default_rng(0).normal(size=(100, spec.obs_dim)))

    frames, ret = render_episode(env_id, spec, theta, normalizer=normalizer, seed=5, width=64, height=48)

    env = gymnasium.make(env_id)  # the same initial state as render_episode's reset(seed=5)
    env.reset(seed=5)
    state = (env.unwrapped.data.qpos[None].copy(), env.unwrapped.data.qvel[None].copy())
    rollout = engine.evaluate(
        PopulationPolicy(spec, theta), 1, normalizer=normalizer, initial_state=state
    )
    assert ret == rollout.returns[0]
    assert frames.shape == (rollout.lengths[0] + 1, 48, 64, 3) and frames.dtype == np.uint8
    assert frames.std() > 0  # a picture, not a blank
