"""GPU back end of the batched MuJoCo engine: the same envs and episodes on MuJoCo Warp.

``WarpEvaluator`` plays InvertedPendulum-v5, Swimmer-v5 and Hopper-v5 as ``MujocoBatchEvaluator``
does (same interface, same task formulas, same stream of initial states), with the physics on
MuJoCo Warp (MJWarp, the ``mujoco_warp`` package): every episode is one world of one batched
``mujoco_warp.Data``, stepped by GPU kernels.

Why MuJoCo Warp rather than MJX (checked with ``pip install --dry-run``):

* ``mujoco-warp`` 4.0.0 is released with, and requires, our ``mujoco`` 4.0.0; it adds only
  ``warp-lang``, ``etils`` and ``absl-py`` and changes nothing installed. The newest ``mujoco-mjx``
  on the package index is 3.17.0, made for mujoco 3.17 and its model layout;
* warp arrays and torch tensors share memory both ways (``wp.to_torch`` / ``wp.from_torch``), and on
  a GPU torch runs on warp's stream, so policy, task formulas and physics exchange no copies and need
  no synchronisation; JAX would put a second allocator on the GPU (XLA reserves most of its memory);
* on Colab's GPU runtime it is ``pip install -e .[gpu]``: ``warp-lang`` is a ~150 MB wheel with
  its own CUDA runtime, so nothing depends on the preinstalled JAX;
* warp also compiles its kernels for the CPU, so this module is built and tested on machines
  without a GPU: ``tests/test_gpu_backend.py`` runs it on the CPU device against the CPU engine.

How it differs from the CPU engine:

* MJWarp computes in float32, so observations, rewards and returns agree with the CPU engine
  (float64) to float32 precision, not bit for bit;
* a ``Data`` steps all its worlds every time. Rows whose episode has ended are put back into the
  model's default state (qpos0, zero velocity) after every step, so that a fallen or diverged state
  cannot slow the constraint solver; their actions and rewards are ignored;
* each env-step is one policy forward on all n rows, then ``frame_skip`` calls of
  ``mujoco_warp.step`` (on a GPU, replayed as one CUDA graph captured once), then the task formulas
  on torch views of the simulator's qpos and qvel. The loop synchronises with the host once per
  step, to stop when every episode has ended;
* ``RunningNorm`` keeps float64 statistics on the host: with ``update_normalizer`` the running
  rows' observations are copied to the host once per step.
"""

from __future__ import annotations

import contextlib

import mujoco_warp as mjw
import numpy as np
import torch
import warp as wp

from udrlpg_lite.envs.base import Policy, Rollouts
from udrlpg_lite.envs.mujoco_batch import MujocoEvaluatorBase
from udrlpg_lite.normalizer import RunningNorm
from udrlpg_lite.policy import PopulationPolicy

# warp logs every kernel module it loads at INFO level, dozens of lines per model: warnings only.
wp.config.log_level = wp.LOG_WARNING


def gpu_available() -> bool:
    """True when both warp and torch see a CUDA GPU (torch must, to share the device memory)."""
    return wp.is_cuda_available() and torch.cuda.is_available()


class WarpEvaluator(MujocoEvaluatorBase):
    """Evaluator (see ``udrlpg_lite.envs.base.Evaluator``) on MuJoCo Warp.

    device is a warp device: "cuda" (or "cuda:N") for a GPU, "cpu" for warp's CPU device, which
    runs the same code path (the tests use it) but, launching every kernel from Python, is ~25x
    slower than ``MujocoBatchEvaluator`` (bench/engine.py).
    """

    def __init__(
        self,
        env_id: str,
        *,
        seed: int = 0,
        survival_bonus: bool = True,
        device: str = "cuda",
    ) -> None:
        super().__init__(env_id, seed=seed, survival_bonus=survival_bonus)
        if device.startswith("cuda") and not gpu_available():
            raise ValueError(f"device {device!r}: no CUDA GPU visible to both warp and torch")
        self.wp_device = wp.get_device(device)
        self.device = torch.device(wp.device_to_torch(self.wp_device))
        with wp.ScopedDevice(self.wp_device):
            self._model = mjw.put_model(self.model)
        self._qpos0 = torch.as_tensor(self.init_qpos, dtype=torch.float32, device=self.device)
        self._data: mjw.Data | None = None
        self._graph: wp.Graph | None = None  # the frame_skip steps of self._data, on a GPU

    def _simulations(self, n: int) -> mjw.Data:
        """A Data of exactly n worlds (every world is stepped), kept while n stays the same."""
        if self._data is None or self._data.nworld != n:
            with wp.ScopedDevice(self.wp_device):
                self._data = mjw.make_data(self.model, nworld=n)
                self._graph = None  # warp's CPU device launches the steps one by one
                if self.wp_device.is_cuda:  # the graph holds this Data's arrays: one per Data
                    with wp.ScopedCapture() as capture:
                        self._env_step(self._data)
                    self._graph = capture.graph
        return self._data

    def _env_step(self, data: mjw.Data) -> None:
        """``MujocoEnv.do_simulation``'s frame_skip physics steps, in every world of data."""
        for _ in range(self.task.frame_skip):
            mjw.step(self._model, data)

    def _stream(self) -> contextlib.AbstractContextManager:
        """On a GPU, run torch on warp's stream, so that both see each other's work in order.

        Warp's stream first waits for the caller's torch stream, where the policy weights were
        made (generator, noise, copy to the device). The results go back to the host with
        ``.cpu()``, which waits for warp's stream.
        """
        if not self.wp_device.is_cuda:
            return contextlib.nullcontext()
        stream = wp.stream_to_torch(wp.get_stream(self.wp_device))
        stream.wait_stream(torch.cuda.current_stream(self.device))
        return torch.cuda.stream(stream)

    def _on_device(self, policy: Policy) -> Policy:
        """policy with its weights moved to the simulator's device, if it is a PopulationPolicy."""
        if isinstance(policy, PopulationPolicy) and policy.theta.device != self.device:
            return PopulationPolicy(policy.spec, policy.theta.to(self.device))
        return policy

    def evaluate(
        self,
        policy: Policy,
        n: int,
        *,
        normalizer: RunningNorm | None = None,
        update_normalizer: bool = False,
        initial_state: tuple[np.ndarray, np.ndarray] | None = None,
    ) -> Rollouts:
        """Run episode i with policy row i, i < n, until each terminates or is truncated.

        The policy is called with tensors on the simulator's device.
        """
        self._check_arguments(n, normalizer, update_normalizer)
        qpos0, qvel0 = self._initial_states(n, initial_state)
        data = self._simulations(n)
        policy = self._on_device(policy)
        with wp.ScopedDevice(self.wp_device), self._stream():
            return self._run(policy, data, qpos0, qvel0, normalizer, update_normalizer)

    def _run(
        self,
        policy: Policy,
        data: mjw.Data,
        qpos0: np.ndarray,
        qvel0: np.ndarray,
        normalizer: RunningNorm | None,
        update_normalizer: bool,
    ) -> Rollouts:
        """The episode loop of ``evaluate``, on the simulator's device and stream."""
        task, device, n = self.task, self.device, len(qpos0)
        # torch views of the simulator's arrays: writes to them are the simulator's inputs
        qpos, qvel, ctrl = wp.to_torch(data.qpos), wp.to_torch(data.qvel), wp.to_torch(data.ctrl)
        mjw.reset_data(self._model, data)  # mj_resetData in every world; mj_step forwards
        qpos.copy_(torch.from_numpy(qpos0))
        qvel.copy_(torch.from_numpy(qvel0))

        returns = torch.zeros(n, dtype=torch.float64, device=device)
        lengths = torch.zeros(n, dtype=torch.int64, device=device)
        terminated = torch.zeros(n, dtype=torch.bool, device=device)
        running = torch.ones(n, dtype=torch.bool, device=device)
        rows = torch.arange(n, device=device)  # every row acts, finished ones on reset states
        obs = task.observe(qpos, qvel)

        for t in range(1, self.max_episode_steps + 1):
            if update_normalizer:  # the observations about to be acted on, then normalise them
                normalizer.update(obs[running].cpu().numpy(), rows[running].cpu().numpy())
            policy_obs = obs.to(torch.float64)
            if normalizer is not None:
                policy_obs = normalizer.normalize(policy_obs, rows)
            action = policy(policy_obs.to(torch.float32), rows)

            ctrl.copy_(action)
            x_before = qpos[:, 0].clone()
            if self._graph is not None:
                wp.capture_launch(self._graph)
            else:
                self._env_step(data)
            reward, term = task.reward_and_termination(
                x_before, qpos, qvel, action, self.dt, self.survival_bonus
            )
            returns += torch.where(running, reward, 0.0)
            done = running & (term | (t == self.max_episode_steps))  # TimeLimit truncation
            lengths = torch.where(done, t, lengths)
            terminated |= done & term
            running &= ~done

            # finished rows back to the default state, in place (branch-free: no host sync)
            qpos.copy_(torch.where(running[:, None], qpos, self._qpos0))
            qvel.copy_(torch.where(running[:, None], qvel, 0.0))
            obs = task.observe(qpos, qvel)
            if not running.any():
                break
        return Rollouts(
            returns=returns.cpu().numpy(),
            lengths=lengths.cpu().numpy(),
            terminated=terminated.cpu().numpy(),
        )
