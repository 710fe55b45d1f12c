"""What every training algorithm offers the runner (runner.py), and the pieces they share."""

from __future__ import annotations

import dataclasses
import importlib.util
import math
from abc import ABC, abstractmethod

import numpy as np
import torch

from ..envs import Rollouts, make_evaluator
from ..normalizer import RunningNorm
from ..policy import PolicySpec, PopulationPolicy
from ..presets import EnvPreset


class NonFiniteError(ValueError):
    """A run made NaN or inf (policy weights, actions, a loss, a return): it stops with one line."""


def require_finite(what: str, values: torch.Tensor | np.ndarray | float, env_steps: int) -> None:
    """Raise NonFiniteError naming ``what`` and the env step, unless every value is finite."""
    finite = torch.isfinite(values).all() if torch.is_tensor(values) else np.isfinite(values).all()
    if not bool(finite):
        raise NonFiniteError(f"non-finite {what} at env step {env_steps}; the run stopped there")


def check_settings(config: object, checks: dict[str, bool], rule: str = "must be positive") -> None:
    """One-line ValueErrors for a config: every float setting finite, then each named check."""
    for field in dataclasses.fields(config):
        value = getattr(config, field.name)
        if isinstance(value, float) and not math.isfinite(value):
            raise ValueError(f"invalid {field.name} = {value!r} (must be finite)")
    for name, ok in checks.items():
        if not ok:
            raise ValueError(f"invalid {name} = {getattr(config, name)!r} ({rule})")


def adam(parameters, lr: float) -> torch.optim.Adam:
    """Adam (Kingma and Ba, 2015) as the authors use it, with its step fused into one kernel.

    The update rule is torch's default Adam. Fused, a step over the paper-sized generator's 2.3M
    parameters took 11 ms instead of 38 ms in one timing on the developer CPU (one thread, another
    run on the other core): about 7% of the 0.39 s a generator update takes there in
    ``bench-train``. A checkpoint keeps the optimiser's settings, so a run resumes with the
    implementation it started with.
    """
    return torch.optim.Adam(parameters, lr=lr, fused=True)


def auto_device() -> str:
    """``train --device auto``: "cuda" where the gpu extra is installed and a CUDA GPU visible."""
    if not torch.cuda.is_available() or importlib.util.find_spec("mujoco_warp") is None:
        return "cpu"  # (importing warp without a GPU prints a warning: check torch first)
    from ..envs.gpu_backend import gpu_available

    return "cuda" if gpu_available() else "cpu"


class Algorithm(ABC):
    """One training run: ``iterate`` until ``env_steps`` reaches the budget, ``evaluate`` now and then.

    ``env_steps`` counts every environment step of every episode the algorithm learns from (warm-up
    included); ``eval_env_steps`` counts the steps of evaluation episodes, which it does not learn from.

    ``device`` says where the networks live: "cpu", "cuda" or "warp:cpu" (the GPU back end's code on
    warp's CPU device, for tests); algorithms that support the GPU (``supports_gpu``) keep their
    networks, optimisers and buffers on ``self.device``. ``sim_device`` says where the episodes run
    (``make_evaluator``; by default where the networks are; ``placement.choose_sim`` picks it by
    population size): ``self.sim_device`` is the torch device the simulator takes policies on.
    """

    supports_gpu = False

    def __init__(
        self,
        env_id: str,
        preset: EnvPreset,
        seed: int,
        device: str = "cpu",
        sim_device: str | None = None,
    ) -> None:
        if device != "cpu" and not self.supports_gpu:
            raise ValueError(f"{type(self).__name__} runs on the CPU only, not on device {device!r}")
        if device.startswith("cuda") and not torch.cuda.is_available():
            raise ValueError(f"device {device!r}: torch sees no CUDA GPU on this machine")
        self.env_id, self.preset, self.seed = env_id, preset, seed
        torch.manual_seed(seed)
        self.rng = np.random.default_rng(seed)
        sim_device = device if sim_device is None else sim_device  # placement.choose_sim
        self.train_env = make_evaluator(
            env_id, seed=seed, survival_bonus=preset.survival_bonus, device=sim_device
        )
        self.eval_env = make_evaluator(env_id, seed=seed + 1_000_003, device=sim_device)
        # command tests score in the commands' units, the training reward (Hopper: no healthy reward)
        self.command_env = (
            self.eval_env
            if preset.survival_bonus
            else make_evaluator(env_id, seed=seed + 1_000_003, survival_bonus=False, device=sim_device)
        )
        self.sim_device = torch.device(getattr(self.train_env, "device", "cpu"))
        self.device = torch.device(device) if device.startswith("cuda") else self.sim_device
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
        """One training episode per row of thetas; the normaliser absorbs them; steps counted.

        Non-finite policy weights or returns stop the run (NonFiniteError) before they are stored.
        """
        require_finite("policy weights", thetas, self.env_steps)
        rollouts = self.train_env.evaluate(
            PopulationPolicy(spec, thetas.to(self.sim_device)),
            len(thetas),
            normalizer=self.normalizer,
            update_normalizer=True,
        )
        self.env_steps += int(rollouts.lengths.sum())
        require_finite("returns", rollouts.returns, self.env_steps)
        return rollouts

    def rollout_decide(self, spec: PolicySpec, thetas: torch.Tensor) -> Rollouts:
        """Training episodes that a run decides by rather than stores: the training env and reward,
        the normaliser frozen (so that two generators are scored under the same statistics), the
        steps counted as training steps (``env_steps``), since what the run keeps depends on them."""
        require_finite("policy weights", thetas, self.env_steps)
        rollouts = self.train_env.evaluate(
            PopulationPolicy(spec, thetas.to(self.sim_device)), len(thetas), normalizer=self.normalizer
        )
        self.env_steps += int(rollouts.lengths.sum())
        require_finite("returns", rollouts.returns, self.env_steps)
        return rollouts

    def finish(self) -> None:
        """Called once when the step budget is spent, before the final evaluation."""
        return None  # most algorithms have nothing to finish

    def rollout_eval(self, spec: PolicySpec, thetas: torch.Tensor) -> Rollouts:
        """One evaluation episode per row of thetas (normaliser frozen); counted as eval steps."""
        return self._play_frozen(self.eval_env, spec, thetas)

    def rollout_commanded(self, spec: PolicySpec, thetas: torch.Tensor) -> Rollouts:
        """Evaluation episodes scored with the reward the commands are returns of: the training
        reward (``EnvPreset.survival_bonus``). Without it (Hopper) a command test would set
        commands without the healthy reward against returns with it. Normaliser frozen; counted as
        evaluation steps. Where training keeps the standard reward, these are ``rollout_eval``'s."""
        return self._play_frozen(self.command_env, spec, thetas)

    def play_commanded(
        self, spec: PolicySpec, thetas: torch.Tensor, episodes: int
    ) -> tuple[np.ndarray, np.ndarray]:
        """Mean and std [C] of the returns of each policy in ``thetas`` [C, n_params] over
        ``episodes`` episodes of ``rollout_commanded``: a command test's scores."""
        rollouts = self.rollout_commanded(spec, thetas.repeat_interleave(episodes, dim=0))
        per_policy = rollouts.returns.reshape(len(thetas), episodes)
        return per_policy.mean(axis=1), per_policy.std(axis=1)

    def _play_frozen(self, env, spec: PolicySpec, thetas: torch.Tensor) -> Rollouts:
        require_finite("policy weights", thetas, self.env_steps)
        rollouts = env.evaluate(
            PopulationPolicy(spec, thetas.to(self.sim_device)), len(thetas), normalizer=self.normalizer
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
