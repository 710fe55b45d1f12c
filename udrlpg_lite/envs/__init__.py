"""Evaluators: run P deterministic policies for one episode each, all at once.

An evaluator plays the part of ``gymnasium.make(env_id)`` for a whole population. Episode i is
driven by row i of the policy (see ``udrlpg_lite.policy.PopulationPolicy``) and ends as a gymnasium
episode does: at termination, or at truncation by the ``TimeLimit`` wrapper after the registered
``max_episode_steps``. Two back ends share one interface:

* ``mujoco_batch``: InvertedPendulum-v5, Swimmer-v5 and Hopper-v5 re-implemented on
  ``mujoco.batch.Batch``, which steps many simulations of one model on a thread pool and
  reproduces gymnasium's observations, rewards and terminations exactly;
* ``gym_vector``: any other registered gymnasium env, through a ``gymnasium.vector.SyncVectorEnv``.

The MuJoCo engine's envs also run on a GPU (``gpu_backend``, MuJoCo Warp; the optional ``gpu``
extra), chosen with ``make_evaluator(..., device="cuda")``. ``base`` holds the interface the back
ends share (``Policy``, ``Rollouts``, ``Evaluator``; re-exported here); ``render`` films one episode
in gymnasium's own env.
"""

from __future__ import annotations

import gymnasium

from udrlpg_lite.envs.base import Evaluator, Policy, Rollouts

__all__ = [
    "ENGINE_ENVS",
    "WARP_CPU",
    "Evaluator",
    "Policy",
    "Rollouts",
    "make_evaluator",
    "require_gpu_backend",
]

# The env ids the batched MuJoCo engine implements (its task table is keyed by the same ids).
ENGINE_ENVS: tuple[str, ...] = ("InvertedPendulum-v5", "Swimmer-v5", "Hopper-v5")

# The GPU back end's code on warp's CPU device: what the tests train with where there is no GPU.
WARP_CPU = "warp:cpu"


def make_evaluator(
    env_id: str,
    *,
    seed: int = 0,
    survival_bonus: bool = True,
    nthread: int | None = None,
    device: str | None = None,
) -> Evaluator:
    """The evaluator for a gymnasium env id: the MuJoCo engine if it has the env, else gymnasium.

    seed seeds the evaluator's random generator once; the same seed and the same sequence of
    calls give identical results. survival_bonus=False drops the reward paid for staying alive
    (Hopper-v5's healthy_reward) and is a no-op for envs without one. nthread is the MuJoCo
    engine's thread count (None: its default); the gymnasium fallback ignores it. device None or
    "cpu" runs on the CPU as above; "cuda" (or "cuda:N") runs a MuJoCo engine env on the GPU back
    end, which needs the gpu extra and a CUDA GPU (one clear ValueError otherwise); "warp:cpu" runs
    the GPU back end's code on warp's CPU device (slow; for testing without a GPU).
    """
    if env_id not in gymnasium.envs.registry:
        raise ValueError(f"unknown environment id {env_id!r}: not in gymnasium's registry")
    if device == WARP_CPU:
        return _gpu_evaluator(env_id, seed=seed, survival_bonus=survival_bonus, device="cpu")
    if device is not None and device != "cpu":
        return _gpu_evaluator(env_id, seed=seed, survival_bonus=survival_bonus, device=device)
    if env_id in ENGINE_ENVS:
        from udrlpg_lite.envs.mujoco_batch import MujocoBatchEvaluator

        return MujocoBatchEvaluator(env_id, seed=seed, survival_bonus=survival_bonus, nthread=nthread)
    from udrlpg_lite.envs.gym_vector import GymVectorEvaluator

    return GymVectorEvaluator(env_id, seed=seed)


def require_gpu_backend(device: str) -> None:
    """Raise a one-line ValueError unless device ("cuda", "cuda:N" or warp's "cpu") can run the
    GPU back end."""
    if not device.startswith("cuda") and device != "cpu":
        raise ValueError(f"unknown device {device!r}: choose cpu or cuda")
    try:
        from udrlpg_lite.envs.gpu_backend import gpu_available
    except ImportError:
        raise ValueError(f"device {device!r} needs the gpu extra: pip install -e .[gpu]") from None
    if device.startswith("cuda") and not gpu_available():
        raise ValueError(f"device {device!r} needs a CUDA GPU; warp and torch see none")


def _gpu_evaluator(env_id: str, *, seed: int, survival_bonus: bool, device: str) -> Evaluator:
    """make_evaluator's GPU back end, with one-line errors for what it cannot do here."""
    if env_id not in ENGINE_ENVS:
        raise ValueError(f"device {device!r} runs only {', '.join(ENGINE_ENVS)}, not {env_id}")
    require_gpu_backend(device)
    from udrlpg_lite.envs.gpu_backend import WarpEvaluator

    return WarpEvaluator(env_id, seed=seed, survival_bonus=survival_bonus, device=device)
