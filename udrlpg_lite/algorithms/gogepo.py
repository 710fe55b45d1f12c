"""GoGePo: a return-conditioned policy generator trained through a learned evaluator.

GoGePo paper, Sec. "Deep Policy Generators (GoGePo)" and Algorithm 1. As in UDRLPG, a hypernetwork
G_rho maps a command c (a desired return) to policy weights and explores with Gaussian noise in
parameter space, g_rho(c) = G_rho(c) + eps, eps ~ N(0, sigma^2 I). Unlike UDRLPG, G_rho never regresses
onto stored weights. An evaluator V_w(theta) (critic.py) learns to predict the return of a policy, and
the generator learns to produce policies that the evaluator scores at the requested return:

    L_V(w)   = E_{(r, theta) ~ D} [ (r - V_w(theta))^2 ]          (Algorithm 1, line 9)
    L_G(rho) = E_{r ~ D} [ (r - V_w(G_rho(c(r))))^2 ]             (Algorithm 1, line 13; V_w fixed)

Pseudocode of one run (Algorithm 1 plus our warm-up; ``population`` > 1 runs P rollouts at once):

    1  c <- 0; warm-up: roll out ``warmup`` noisy policies G_rho(0) + sigma * eps; store (theta, r)
    2  repeat until the step budget is spent:                                     (Alg. 1 line 2)
    3      theta_p <- G_rho(c) + sigma * eps_p for p = 1..P; roll out each once;
           store (theta_p, r_p)                                                   (Alg. 1 lines 3-6)
    4      do ``critic_steps`` x P times: sample (theta_i, r_i) from D;
           Adam step on L_V(w)                                                    (Alg. 1 lines 7-10)
    5      do ``generator_steps`` x P times: sample r_i from D;
           Adam step on L_G(rho) with V_w frozen                                  (Alg. 1 lines 11-14)
    6      c <- best return stored so far + drive                                 (Alg. 1 line 15)

In this module r is a return in the environment's units and c = c(r) the scaled command the
generator reads (first choice below).

Choices this implementation makes, and why:

* Two scales, as in the authors' code. The generator reads the command scaled to [0, 1] by the
  environment's ReturnScale (presets.py), the command space UDRLPG uses too: raw returns of up to a few
  thousand as an input would swamp the slice embeddings. The evaluator, by contrast, predicts returns in
  the environment's own units, and the buffer stores them so. Adam moves each weight by about its
  learning rate per step whatever the scale of the loss, so the scale of the targets decides how finely
  the evaluator can tell returns apart; the lr of 5e-3 was tuned for raw returns. With targets scaled
  to [0, 1] the evaluator could not separate returns of 5 and 15 (0.005 and 0.015), V(G(c)) came out
  flat in c, and a short InvertedPendulum-v5 run did not improve in 5k steps; with raw targets the same
  run reached 1000 within 5k steps.
* The command is the best return stored so far plus a drive of 20, in return units (paper, "Choosing
  the Command"; appendix B.4 of the earlier version), scaled for the generator afterwards.
* Warm-up: Algorithm 1 starts at c = 0 and stores a rollout before its first update, so the buffer is
  never empty; we begin with ``warmup`` noisy rollouts at c = 0 instead of one, so that the evaluator's
  first fit sees a spread of policies and returns rather than a single point.
* Both losses sample batches of 16 from the recency-weighted buffer (appendix A.1 lists one batch size,
  16). The step counts are the authors' code's 19 generator and 4 evaluator steps per episode; the
  appendix table says 20 and 5.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from ..buffers import RecencyBuffer
from ..critic import ProbingCritic
from ..generator import PRESETS, PolicyGenerator
from ..presets import EnvPreset, ReturnScale
from .base import Algorithm, adam, check_settings, require_finite
from .placement import choose_sim
from .precision import check_precision, describe, update_in_bf16


@dataclass(frozen=True)
class GoGePoConfig:
    """Hyperparameters; defaults from GoGePo appendix A.1 and the authors' code (authors-code.md)."""

    sigma: float = 0.1  # std of the parameter-space exploration noise
    generator_lr: float = 2e-6  # Adam learning rate of G_rho
    critic_lr: float = 5e-3  # Adam learning rate of V_w (MLP and probing states)
    generator_steps: int = 19  # generator updates per rollout
    generator_batch: int = 16
    critic_steps: int = 4  # evaluator updates per rollout
    critic_batch: int = 16
    drive: float = 20.0  # command = best return + drive, in return units (paper, appendix B.4)
    population: int = 1  # rollouts per iteration (1 = Algorithm 1)
    warmup: int = 10  # noisy rollouts at command 0 before the first update
    buffer_capacity: int = 10_000
    recency_power: float = 1.1  # the k-th newest pair is drawn with weight 1 / k^1.1
    generator: str = "gogepo"  # generator preset (generator.PRESETS)
    hidden: tuple[int, ...] = (256, 256)  # policy hidden layers
    critic_hidden: tuple[int, ...] = (256, 256)  # hidden layers of the evaluator's MLP U
    n_probing: int = 200  # number of probing states
    eval_episodes: int = 10
    precision: str = "auto"  # matmul precision of both updates: auto | fp32 | bf16 (base.py)
    sim: str = "auto"  # simulator of a GPU run: auto (by population) | cpu | gpu (placement.py)

    def __post_init__(self) -> None:
        checks = {
            "sigma": self.sigma > 0,
            "generator_lr": self.generator_lr > 0,
            "critic_lr": self.critic_lr > 0,
            "generator_steps": self.generator_steps >= 0,
            "generator_batch": self.generator_batch > 0,
            "critic_steps": self.critic_steps >= 0,
            "critic_batch": self.critic_batch > 0,
            "drive": self.drive >= 0,
            "population": self.population > 0,
            "warmup": self.warmup > 0,
            "buffer_capacity": self.buffer_capacity > 0,
            "recency_power": self.recency_power >= 0,
            "hidden": len(self.hidden) > 0 and all(h > 0 for h in self.hidden),
            "critic_hidden": all(h > 0 for h in self.critic_hidden),
            "n_probing": self.n_probing > 0,
            "eval_episodes": self.eval_episodes > 0,
        }
        check_settings(self, checks, "out of range")
        if self.generator not in PRESETS:
            raise ValueError(f"unknown generator preset {self.generator!r}; use {list(PRESETS)}")
        check_precision(self.precision)


@contextmanager
def frozen(module: nn.Module) -> Iterator[None]:
    """Hold a module's parameters fixed: gradients flow through it but are not kept for it."""
    module.requires_grad_(False)
    try:
        yield
    finally:
        module.requires_grad_(True)


class GoGePo(Algorithm):
    """The GoGePo training loop (pseudocode in the module docstring)."""

    name = "gogepo"
    supports_gpu = True

    def __init__(
        self,
        env_id: str,
        preset: EnvPreset,
        seed: int,
        config: GoGePoConfig = GoGePoConfig(),
        device: str = "cpu",
    ) -> None:
        super().__init__(env_id, preset, seed, device, choose_sim(device, config.sim, config.population))
        self.config = config
        self.spec = self.policy_spec(config.hidden)
        # built on the CPU, then moved: the same seed gives the same initial networks everywhere
        self.generator = PolicyGenerator(self.spec, PRESETS[config.generator]).to(self.device)
        self.critic = ProbingCritic(self.spec, config.n_probing, config.critic_hidden).to(self.device)
        self.generator_optimizer = adam(self.generator.parameters(), config.generator_lr)
        self.critic_optimizer = adam(self.critic.parameters(), config.critic_lr)
        self.buffer = RecencyBuffer(config.buffer_capacity, config.recency_power)
        self.scale = ReturnScale(*preset.return_range)
        self.command = 0.0  # scaled; Algorithm 1, line 1
        self.critic_loss = float("nan")
        self.generator_loss = float("nan")
        what = describe("gogepo", config.generator_batch, self.generator, self.critic)
        self.bf16_updates = update_in_bf16(config.precision, self.device, self.probe_update, what)
        self.explore_rng = self.explore_generator()

    def probe_update(self, bf16: bool) -> Callable[[], None]:
        """One generator step through the critic as ``generator_step`` makes it, on copies and a
        random batch of their own (for timing the precisions; the run stays untouched)."""
        generator, critic = copy.deepcopy(self.generator), copy.deepcopy(self.critic)
        optimizer = adam(generator.parameters(), self.config.generator_lr)
        rng = torch.Generator(device=self.device).manual_seed(0)
        returns = torch.rand(self.config.generator_batch, generator=rng, device=self.device)

        def step() -> None:
            with frozen(critic), torch.autocast(self.device.type, torch.bfloat16, enabled=bf16):
                loss = F.mse_loss(critic(generator(returns)).float(), returns)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()

        return step

    def to_commands(self, returns: torch.Tensor) -> torch.Tensor:
        """Returns [B] in the environment's units -> the scaled commands the generator reads."""
        lo, hi = self.scale.lo, self.scale.hi
        return (returns.clamp(min=lo) - lo) / (hi - lo)  # ReturnScale, elementwise

    # --- line 4: fit the evaluator to the stored returns ----------------------------------------
    def critic_step(self) -> float:
        """One Adam step on L_V(w) = mean_i (r_i - V_w(theta_i))^2 (Algorithm 1, lines 8-9)."""
        thetas, returns = self.buffer.sample(self.config.critic_batch, self.rng)
        with torch.autocast(self.device.type, dtype=torch.bfloat16, enabled=self.bf16_updates):
            predicted = self.critic(thetas)
        loss = F.mse_loss(predicted.float(), returns)
        require_finite("critic loss", loss.detach(), self.env_steps)
        self.critic_optimizer.zero_grad(set_to_none=True)
        loss.backward()
        self.critic_optimizer.step()
        return loss.item()

    # --- line 5: train the generator through the fixed evaluator --------------------------------
    def generator_step(self) -> float:
        """One Adam step on L_G(rho) = mean_i (r_i - V_w(G_rho(r_i)))^2 (Algorithm 1, lines 12-13).

        The commands are stored returns r_i, scaled for the generator; the evaluator is frozen, so
        only rho changes.
        """
        _, returns = self.buffer.sample(self.config.generator_batch, self.rng)
        with (
            frozen(self.critic),
            torch.autocast(self.device.type, dtype=torch.bfloat16, enabled=self.bf16_updates),
        ):
            predicted = self.critic(self.generator(self.to_commands(returns)))
        loss = F.mse_loss(predicted.float(), returns)
        require_finite("generator loss", loss.detach(), self.env_steps)
        self.generator_optimizer.zero_grad(set_to_none=True)
        loss.backward()
        self.generator_optimizer.step()
        return loss.item()

    # --- line 3: explore around the command and store what happened ----------------------------
    def rollout_and_store(self, thetas: torch.Tensor) -> np.ndarray:
        """Roll out each policy once and store (theta, r) (Algorithm 1, lines 4-6); returns the r."""
        rollouts = self.rollout_train(self.spec, thetas)
        for theta, ret in zip(thetas, rollouts.returns):
            self.buffer.add(theta, float(ret))
        return rollouts.returns

    def iterate(self) -> dict[str, float]:
        cfg = self.config
        if self.iterations == 0:  # line 1: warm-up
            returns = self.rollout_and_store(
                self.generator.explore(self.command, cfg.warmup, cfg.sigma, self.explore_rng)
            )
        else:  # lines 3-5
            thetas = self.generator.explore(self.command, cfg.population, cfg.sigma, self.explore_rng)
            returns = self.rollout_and_store(thetas)
            critic_losses = [self.critic_step() for _ in range(cfg.critic_steps * cfg.population)]
            generator_losses = [
                self.generator_step() for _ in range(cfg.generator_steps * cfg.population)
            ]
            if critic_losses:
                self.critic_loss = float(np.mean(critic_losses))
            if generator_losses:
                self.generator_loss = float(np.mean(generator_losses))
        self.command = self.scale(self.buffer.best_return + cfg.drive)  # line 6
        self.iterations += 1
        return {
            "train_return": float(np.max(returns)),
            "command": self.scale.unscale(self.command),
            "critic_loss": self.critic_loss,
            "generator_loss": self.generator_loss,
            "buffer_size": len(self.buffer),
        }

    def evaluate(self) -> dict[str, float]:
        """Roll out G_rho(c) without noise at the current command, ``eval_episodes`` times.

        The authors' code evaluates at the best return itself; our c asks for ``drive`` more.
        """
        thetas = self.generator.explore(self.command, self.config.eval_episodes, 0.0)
        return self.summary(self.rollout_eval(self.spec, thetas))

    def command_sweep(self, commands: np.ndarray, episodes: int = 10) -> tuple[np.ndarray, np.ndarray]:
        """Achieved returns of G_rho(c) (no noise) for each command c in returns' units (the
        training reward's: ``rollout_commanded``).

        GoGePo's behaviour test (Figure 5: 21 commands from the lowest to the highest return).
        Returns (mean [C], std [C]). These episodes count as evaluation steps.
        """
        return self.play_commanded(self.spec, self.policies_for(commands), episodes)

    def policies_for(self, commands: np.ndarray) -> torch.Tensor:
        """G_rho(c) for commands c in returns' units: flat policy weights [C, n_params]."""
        scaled = self.to_commands(torch.as_tensor(commands, dtype=torch.float32, device=self.device))
        with torch.no_grad():
            return self.generator(scaled)

    def run_info(self) -> dict:
        return {"update_precision": "bf16" if self.bf16_updates else "fp32"}

    def state_dict(self) -> dict:
        return super().state_dict() | {
            "generator": self.generator.state_dict(),
            "critic": self.critic.state_dict(),
            "generator_optimizer": self.generator_optimizer.state_dict(),
            "critic_optimizer": self.critic_optimizer.state_dict(),
            "buffer": self.buffer.state_dict(),
            "command": self.command,
            "critic_loss": self.critic_loss,
            "generator_loss": self.generator_loss,
        }

    def load_state_dict(self, state: dict) -> None:
        super().load_state_dict(state)
        self.generator.load_state_dict(state["generator"])
        self.critic.load_state_dict(state["critic"])
        self.generator_optimizer.load_state_dict(state["generator_optimizer"])
        self.critic_optimizer.load_state_dict(state["critic_optimizer"])
        self.buffer.load_state_dict(state["buffer"])
        self.command = state["command"]
        self.critic_loss = state["critic_loss"]
        self.generator_loss = state["generator_loss"]
