"""What every training algorithm offers the runner (runner.py), and the pieces they share."""

from __future__ import annotations

import importlib.util
from abc import ABC, abstractmethod
from pathlib import Path

import numpy as np
import torch

from .envs import Rollouts, make_evaluator
from .normalizer import RunningNorm
from .policy import PolicySpec, PopulationPolicy
from .presets import EnvPreset

PRECISIONS = ("auto", "fp32", "bf16")


def native_bf16() -> bool:
    """Whether this CPU multiplies bf16 natively (AVX512-BF16 or AMX), read from /proc/cpuinfo.

    There, bf16 autocast makes a generator update 2.5-4x faster; the test suite checks that its
    gradient agrees with fp32 (cosine > 0.99), and fitting one target with the paper's learning rate
    progressed identically to 5 digits over 300 updates in both precisions. Policies used in rollouts
    are always generated in fp32.
    """
    try:
        flags = Path("/proc/cpuinfo").read_text()
    except OSError:
        return False
    return "avx512_bf16" in flags or "amx_bf16" in flags


def check_precision(precision: str) -> None:
    """A one-line ValueError unless ``precision`` is one of PRECISIONS (the configs' check)."""
    if precision not in PRECISIONS:
        raise ValueError(f"unknown precision {precision!r}; use {', '.join(PRECISIONS)}")


def bf16_updates(precision: str, device: torch.device | None = None) -> bool:
    """Whether the network updates of a run with this ``precision`` setting use bf16 autocast.

    ``auto`` picks bf16 where the device multiplies it natively (on the CPU ``native_bf16``, on a
    GPU ``torch.cuda.is_bf16_supported``), fp32 elsewhere; the forward passes inside the updates run
    in bf16, the losses and the optimiser states in fp32.
    """
    check_precision(precision)
    on_gpu = device is not None and device.type == "cuda"
    native = torch.cuda.is_bf16_supported() if on_gpu else native_bf16()
    return precision == "bf16" or (precision == "auto" and native)


def auto_device() -> str:
    """``train --device auto``: "cuda" where the gpu extra is installed and a CUDA GPU visible."""
    if not torch.cuda.is_available() or importlib.util.find_spec("mujoco_warp") is None:
        return "cpu"  # (importing warp without a GPU prints a warning: check torch first)
    from .envs.gpu_backend import gpu_available

    return "cuda" if gpu_available() else "cpu"


class Algorithm(ABC):
    """One training run: ``iterate`` until ``env_steps`` reaches the budget, ``evaluate`` now and then.

    ``env_steps`` counts every environment step of every episode the algorithm learns from (warm-up
    included); ``eval_env_steps`` counts the steps of evaluation episodes, which it does not learn from.

    ``device`` says where the episodes run (``make_evaluator``): "cpu" (the CPU engine), "cuda"
    (the GPU back end) or "warp:cpu" (the GPU back end's code on warp's CPU device, for tests).
    ``self.device`` is the torch device the simulator hands its tensors on; algorithms that support
    the GPU (``supports_gpu``) keep their networks, optimisers and buffers there, so that a
    population's policies go from generator to simulator without leaving the device.
    """

    supports_gpu = False

    def __init__(self, env_id: str, preset: EnvPreset, seed: int, device: str = "cpu") -> None:
        if device != "cpu" and not self.supports_gpu:
            raise ValueError(f"{type(self).__name__} runs on the CPU only, not on device {device!r}")
        self.env_id, self.preset, self.seed = env_id, preset, seed
        torch.manual_seed(seed)
        self.rng = np.random.default_rng(seed)
        self.train_env = make_evaluator(
            env_id, seed=seed, survival_bonus=preset.survival_bonus, device=device
        )
        self.eval_env = make_evaluator(env_id, seed=seed + 1_000_003, device=device)
        self.device = torch.device(getattr(self.train_env, "device", "cpu"))
        self.normalizer = RunningNorm(self.train_env.obs_dim)
        self.explore_rng: torch.Generator | None = None  # set with explore_generator()
        self.env_steps = 0
        self.eval_env_steps = 0
        self.iterations = 0

    @abstractmethod
    def iterate(self) -> dict[str, float]:
        """One iteration of the algorithm; returns values worth logging."""

    @abstractmethod
    def evaluate(self) -> dict[str, float]:
        """Evaluate the current solution without exploration noise; at least eval_return_mean/std."""

    def explore_generator(self) -> torch.Generator:
        """A torch random stream of this run's own, for its exploration noise; call it last in
        ``__init__``.

        On the CPU it continues torch's global stream from where building the networks left it, so
        a run draws the numbers it would draw from the global stream, and runs sharing one process
        (``multiseed``) do not draw from each other's. On a GPU it is seeded with the run's seed.
        Assigned to ``self.explore_rng``, it is saved and restored with the other random states.
        """
        rng = torch.Generator(device=self.device)
        if self.device.type == "cpu":
            rng.set_state(torch.get_rng_state())
        else:
            rng.manual_seed(self.seed)
        return rng

    def run_info(self) -> dict:
        """Facts about this run worth writing in its manifest (e.g. a precision chosen at run time)."""
        return {}

    def policy_spec(self, hidden: tuple[int, ...]) -> PolicySpec:
        """The MLP policy for this env: its observation, action sizes and action bound."""
        env = self.train_env
        return PolicySpec(env.obs_dim, env.act_dim, hidden, env.act_bound)

    def rollout_train(self, spec: PolicySpec, thetas: torch.Tensor) -> Rollouts:
        """One training episode per row of thetas; the normaliser absorbs them; steps counted."""
        rollouts = self.train_env.evaluate(
            PopulationPolicy(spec, thetas),
            len(thetas),
            normalizer=self.normalizer,
            update_normalizer=True,
        )
        self.env_steps += int(rollouts.lengths.sum())
        return rollouts

    def rollout_eval(self, spec: PolicySpec, thetas: torch.Tensor) -> Rollouts:
        """One evaluation episode per row of thetas (normaliser frozen); counted as eval steps."""
        rollouts = self.eval_env.evaluate(
            PopulationPolicy(spec, thetas), len(thetas), normalizer=self.normalizer
        )
        self.eval_env_steps += int(rollouts.lengths.sum())
        return rollouts

    @staticmethod
    def summary(rollouts: Rollouts) -> dict[str, float]:
        return {
            "eval_return_mean": float(rollouts.returns.mean()),
            "eval_return_std": float(rollouts.returns.std()),
        }

    def record_eval(self, rollouts: Rollouts) -> dict[str, float]:
        self.eval_env_steps += int(rollouts.lengths.sum())
        return self.summary(rollouts)

    def state_dict(self) -> dict:
        state = {
            "env_steps": self.env_steps,
            "eval_env_steps": self.eval_env_steps,
            "iterations": self.iterations,
            "rng": self.rng.bit_generator.state,
            "torch_rng": torch.get_rng_state(),
            "train_env_rng": self.train_env.rng.bit_generator.state,
            "eval_env_rng": self.eval_env.rng.bit_generator.state,
            "normalizer": self.normalizer.state_dict(),
        }
        if self.explore_rng is not None:
            state["explore_rng"] = self.explore_rng.get_state()
        return state

    def load_state_dict(self, state: dict) -> None:
        self.env_steps = state["env_steps"]
        self.eval_env_steps = state["eval_env_steps"]
        self.iterations = state["iterations"]
        self.rng.bit_generator.state = state["rng"]
        torch.set_rng_state(state["torch_rng"].cpu())
        self.train_env.rng.bit_generator.state = state["train_env_rng"]
        self.eval_env.rng.bit_generator.state = state["eval_env_rng"]
        self.normalizer.load_state_dict(state["normalizer"])
        if self.explore_rng is not None:
            # checkpoints from before explore_rng: the global stream was the exploration stream
            self.explore_rng.set_state(state.get("explore_rng", state["torch_rng"]).to("cpu"))
