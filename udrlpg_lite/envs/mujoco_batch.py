"""Batched MuJoCo engine: gymnasium's InvertedPendulum-v5, Swimmer-v5 and Hopper-v5, many at once.

Each episode is one simulation of a ``mujoco.batch.Batch`` built from gymnasium's own XML file. The
engine reproduces ``gymnasium.make(env_id)`` step for step (tests/test_envs.py checks it bit for
bit):

* reset (``MujocoEnv.reset`` + ``reset_model``): ``mj_resetData``, then qpos = init_qpos + U(-s, s)
  and qvel = init_qvel + U(-s, s), drawn in that order per episode from one numpy Generator, so the
  n initial states of a call are those of n successive resets of one gymnasium env;
* step (``MujocoEnv.do_simulation``): ctrl = action, then ``frame_skip`` calls of ``mj_step``.
  gymnasium follows them with ``mj_rnePostConstraint``, which only fills force quantities (cacc,
  cfrc_int, cfrc_ext) that none of these three envs reads, so the engine skips it;
* observation, reward and termination as in each env's ``step`` (the ``_Task`` classes below), and
  truncation by the ``TimeLimit`` wrapper after ``max_episode_steps`` (1000) steps.

Only the simulations still running are stepped: ``Batch.step`` takes their ids, so a finished
episode costs nothing further.

The task formulas are written once for numpy arrays and torch tensors alike (``_xp`` picks the
namespace), so the GPU back end (``gpu_backend.py``) computes the same observations, rewards and
terminations on the device; ``MujocoEvaluatorBase`` is what both back ends share.
"""

from __future__ import annotations

import os
from abc import ABC, abstractmethod

import gymnasium
import mujoco
import numpy as np
import torch
from mujoco.batch import Batch

from udrlpg_lite.envs.base import Policy, Rollouts
from udrlpg_lite.normalizer import RunningNorm

ASSETS = os.path.join(os.path.dirname(gymnasium.__file__), "envs", "mujoco", "assets")

# Batch threads: one per usable core. The policy forward runs between steps on the caller's thread
# (torch with one thread), so physics and policy never overlap and the physics may take every core.
# Measured on the 2-core machine, Hopper-v5: with the other core idle, 2 threads step the batch
# ~1.9x faster than 1; with another process keeping a core busy they are ~10% slower.
DEFAULT_NTHREAD = (
    len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1
)


# The task formulas take numpy arrays (this engine) or torch tensors (the GPU back end) and use only
# functions both namespaces spell alike: xp.concatenate(..., axis=), xp.clip, xp.sum(..., axis=), ...
Array = np.ndarray | torch.Tensor


def _xp(array: Array):
    """The array namespace of array: torch for a tensor, else numpy."""
    return torch if isinstance(array, torch.Tensor) else np


def _control_cost(weight: float, action: Array) -> Array:
    """weight * sum(action^2) per row, computed like gymnasium's ``control_cost``.

    gymnasium squares and sums the action it was given in that action's dtype; for the float32
    actions a policy emits the cost is float32, and it is kept so for bit-exact rewards.
    """
    xp = _xp(action)
    return weight * xp.sum(xp.square(action), axis=1)


class _Task(ABC):
    """What a gymnasium v5 env adds to its MuJoCo model: observation, reward and termination.

    Arrays hold one row per episode: qpos [k, nq], qvel [k, nv], action [k, nu] (float32); all
    numpy arrays, or all torch tensors on one device. Results are in the namespace of the inputs.
    """

    xml_file: str
    frame_skip: int
    reset_noise_scale: float

    @abstractmethod
    def observe(self, qpos: Array, qvel: Array) -> Array:
        """The env's ``_get_obs``: [k, obs_dim], in the dtype of qpos (float64 in this engine)."""

    @abstractmethod
    def reward_and_termination(
        self,
        x_before: Array,
        qpos: Array,
        qvel: Array,
        action: Array,
        dt: float,
        survival_bonus: bool,
    ) -> tuple[Array, Array]:
        """Reward ([k]; float64 here) and terminated (bool [k]) of a step, from the state after it.

        x_before is qpos[:, 0] before the step, for the forward velocity.
        """


class _InvertedPendulum(_Task):
    """InvertedPendulum-v5: reward 1 per step, 0 on the step that terminates."""

    xml_file = "inverted_pendulum.xml"
    frame_skip = 2
    reset_noise_scale = 0.01

    def observe(self, qpos: Array, qvel: Array) -> Array:
        return _xp(qpos).concatenate([qpos, qvel], axis=1)

    def reward_and_termination(self, x_before, qpos, qvel, action, dt, survival_bonus):
        xp = _xp(qpos)
        obs = self.observe(qpos, qvel)
        terminated = ~xp.isfinite(obs).all(axis=1) | (xp.abs(obs[:, 1]) > 0.2)
        return xp.where(terminated, 0.0, 1.0), terminated


class _Swimmer(_Task):
    """Swimmer-v5: forward velocity minus 1e-4 * |a|^2; never terminates."""

    xml_file = "swimmer.xml"
    frame_skip = 4
    reset_noise_scale = 0.1
    forward_reward_weight = 1.0
    ctrl_cost_weight = 1e-4

    def observe(self, qpos: Array, qvel: Array) -> Array:
        return _xp(qpos).concatenate([qpos[:, 2:], qvel], axis=1)

    def reward_and_termination(self, x_before, qpos, qvel, action, dt, survival_bonus):
        x_velocity = (qpos[:, 0] - x_before) / dt
        forward_reward = self.forward_reward_weight * x_velocity
        reward = forward_reward - _control_cost(self.ctrl_cost_weight, action)
        return reward, _xp(qpos).zeros_like(reward, dtype=bool)


class _Hopper(_Task):
    """Hopper-v5: forward velocity + 1 while healthy - 1e-3 * |a|^2; terminates when unhealthy.

    Healthy (v5 defaults, all strict inequalities): every entry of the state vector but x and z,
    i.e. qpos[2:] and the unclipped qvel, within (-100, 100); z = qpos[1] in (0.7, inf); the
    torso angle qpos[2] in (-0.2, 0.2). The healthy reward is paid only when healthy, so the step
    that terminates earns none. The observation clips qvel to [-10, 10].
    """

    xml_file = "hopper.xml"
    frame_skip = 4
    reset_noise_scale = 5e-3
    forward_reward_weight = 1.0
    ctrl_cost_weight = 1e-3
    healthy_reward = 1.0

    def observe(self, qpos: Array, qvel: Array) -> Array:
        xp = _xp(qpos)
        return xp.concatenate([qpos[:, 1:], xp.clip(qvel, -10, 10)], axis=1)

    @staticmethod
    def is_healthy(qpos: Array, qvel: Array) -> Array:
        state = _xp(qpos).concatenate([qpos[:, 2:], qvel], axis=1)
        healthy_state = ((-100.0 < state) & (state < 100.0)).all(axis=1)
        z, angle = qpos[:, 1], qpos[:, 2]
        healthy_z = (0.7 < z) & (z < np.inf)
        healthy_angle = (-0.2 < angle) & (angle < 0.2)
        return healthy_state & healthy_z & healthy_angle

    def reward_and_termination(self, x_before, qpos, qvel, action, dt, survival_bonus):
        healthy = self.is_healthy(qpos, qvel)
        x_velocity = (qpos[:, 0] - x_before) / dt
        forward_reward = self.forward_reward_weight * x_velocity
        healthy_reward = healthy * (self.healthy_reward if survival_bonus else 0.0)
        # gymnasium's order of operations: (forward + healthy) - ctrl_cost
        reward = (forward_reward + healthy_reward) - _control_cost(self.ctrl_cost_weight, action)
        return reward, ~healthy


TASKS: dict[str, _Task] = {
    "InvertedPendulum-v5": _InvertedPendulum(),
    "Swimmer-v5": _Swimmer(),
    "Hopper-v5": _Hopper(),
}


class MujocoEvaluatorBase:
    """What the MuJoCo back ends share: model, task, spaces and the stream of initial states.

    A subclass adds ``evaluate`` (see ``udrlpg_lite.envs.base.Evaluator``) on its simulator.
    """

    def __init__(self, env_id: str, *, seed: int = 0, survival_bonus: bool = True) -> None:
        if env_id not in TASKS:
            raise ValueError(f"the MuJoCo engine has no env {env_id!r}; it has {sorted(TASKS)}")
        self.env_id = env_id
        self.task = TASKS[env_id]
        self.survival_bonus = survival_bonus
        self.model = mujoco.MjModel.from_xml_path(os.path.join(ASSETS, self.task.xml_file))
        self.dt = self.model.opt.timestep * self.task.frame_skip  # MujocoEnv.dt
        self.init_qpos = self.model.qpos0.copy()  # what MjData starts from, as in MujocoEnv
        self.init_qvel = np.zeros(self.model.nv)
        self.obs_dim = self.task.observe(self.init_qpos[None], self.init_qvel[None]).shape[1]
        self.act_dim = self.model.nu
        low, high = self.model.actuator_ctrlrange.T  # MujocoEnv's action space
        assert (low == -high).all() and (high == high[0]).all(), "asymmetric action bounds"
        self.act_bound = float(high[0])
        self.discrete = False
        self.max_episode_steps: int = gymnasium.envs.registry[env_id].max_episode_steps
        self.rng = np.random.default_rng(seed)  # as gymnasium's env.reset(seed=seed) seeds

    @staticmethod
    def _check_arguments(n: int, normalizer: RunningNorm | None, update_normalizer: bool) -> None:
        """The argument checks of ``evaluate``."""
        if n < 1:
            raise ValueError(f"need at least one episode, got n={n}")
        if update_normalizer and normalizer is None:
            raise ValueError("update_normalizer=True needs a normalizer")

    def _initial_states(
        self, n: int, given: tuple[np.ndarray, np.ndarray] | None
    ) -> tuple[np.ndarray, np.ndarray]:
        """(qpos [n, nq], qvel [n, nv]): given, or drawn as in the env's ``reset_model``."""
        nq, nv = self.model.nq, self.model.nv
        if given is not None:
            qpos, qvel = (np.asarray(x, dtype=np.float64) for x in given)
            if qpos.shape != (n, nq) or qvel.shape != (n, nv):
                raise ValueError(
                    f"initial_state must be (qpos [{n}, {nq}], qvel [{n}, {nv}]), "
                    f"got shapes {qpos.shape} and {qvel.shape}"
                )
            return qpos, qvel
        # One uniform draw per coordinate, qpos then qvel, episode after episode: the same stream
        # of numbers as n resets of one gymnasium env sharing this Generator.
        s = self.task.reset_noise_scale
        noise = self.rng.uniform(low=-s, high=s, size=(n, nq + nv))
        return self.init_qpos + noise[:, :nq], self.init_qvel + noise[:, nq:]


class MujocoBatchEvaluator(MujocoEvaluatorBase):
    """Evaluator (see ``udrlpg_lite.envs.base.Evaluator``) on a ``mujoco.batch.Batch``."""

    def __init__(
        self,
        env_id: str,
        *,
        seed: int = 0,
        survival_bonus: bool = True,
        nthread: int | None = None,
    ) -> None:
        super().__init__(env_id, seed=seed, survival_bonus=survival_bonus)
        self.nthread = DEFAULT_NTHREAD if nthread is None else nthread
        self._batch: Batch | None = None

    def _simulations(self, n: int) -> Batch:
        """A batch of at least n simulations, kept between calls; the first n are used."""
        if self._batch is None or self._batch.nsim < n:
            self._batch = Batch(self.model, n, nthread=self.nthread)
        return self._batch

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
        self._check_arguments(n, normalizer, update_normalizer)
        task = self.task
        qpos0, qvel0 = self._initial_states(n, initial_state)
        sim = self._simulations(n)
        qpos, qvel, ctrl = sim.bind("qpos"), sim.bind("qvel"), sim.bind("ctrl")
        episodes = np.arange(n, dtype=np.int32)
        sim.reset(episodes, stage=mujoco.mjtStage.mjSTAGE_NONE)  # mj_resetData; mj_step forwards
        qpos[:n], qvel[:n] = qpos0, qvel0

        returns = np.zeros(n)
        lengths = np.zeros(n, dtype=np.int64)
        terminated = np.zeros(n, dtype=bool)
        # The policy is called on `rows` (episode ids) and computes an action for each; only the
        # `live` rows, those still running, are stepped. Finished rows stay in `rows` (their actions
        # are thrown away) until fewer than half are running: a new rows tensor makes the policy
        # gather its weights again, which costs more than a few wasted forwards.
        rows = live = episodes
        rows_tensor = torch.from_numpy(rows.astype(np.int64))
        running = np.ones(n, dtype=bool)  # running[j]: episode rows[j] is still going
        obs = task.observe(qpos0, qvel0)  # latest observation of each row

        # All episodes start together, so the step being taken, t, is the length of every running one.
        for t in range(1, self.max_episode_steps + 1):
            if update_normalizer:  # the observations about to be acted on, then normalise them
                normalizer.update(obs[running], rows[running])
            policy_obs = torch.from_numpy(obs)
            if normalizer is not None:
                policy_obs = normalizer.normalize(policy_obs, rows_tensor)
            actions = policy(policy_obs.to(torch.float32), rows_tensor)
            action = actions.detach().numpy()[running]

            ctrl[live] = action
            x_before = qpos[live, 0]
            sim.step(live, nstep=task.frame_skip)
            q, v = qpos[live], qvel[live]
            reward, term = task.reward_and_termination(
                x_before, q, v, action, self.dt, self.survival_bonus
            )
            returns[live] += reward
            done = term | (t == self.max_episode_steps)  # TimeLimit truncation
            new_obs = task.observe(q, v)
            obs[running] = new_obs
            if not done.any():
                continue

            lengths[live[done]] = t
            terminated[live[done]] = term[done]
            running[np.flatnonzero(running)[done]] = False
            if 2 * np.count_nonzero(running) < rows.size:
                rows, obs, running = rows[running], obs[running], running[running]
                rows_tensor = torch.from_numpy(rows.astype(np.int64))
            live = rows[running]
            if live.size == 0:
                break
        return Rollouts(returns=returns, lengths=lengths, terminated=terminated)
