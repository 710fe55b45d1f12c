"""UDRLPG: upside-down RL with a policy generator, trained by hindsight, with no critic.

UDRLPG paper, Sec. 4. A hypernetwork G_rho maps a command c (a desired return, scaled to [0, 1]) to
policy weights. Exploration adds Gaussian noise in parameter space, g_rho(c) = G_rho(c) + eps with
eps ~ N(0, sigma^2 I). Each explored policy is stored with the return it actually achieved, and G_rho
learns by supervised regression on the buffer:

    L_G(rho) = E_{(theta, r) ~ D} [ (G_rho(r) - theta)^2 ]                      (UDRLPG Sec. 4)

Pseudocode of one run (the authors' schedule; ``population`` > 1 runs several rollouts at once):

    1  warm-up: roll out G_rho(1.0) (no noise) a few times; store (theta, r)
    2  c <- best scaled return stored so far
    3  repeat until the step budget is spent:
    4      do ``updates_per_rollout`` x population times:
    5          sample a batch (theta_i, r_i) from the buffer (return buckets, weighted by rank)
    6          rho <- Adam step on mean_i (G_rho(r_i) - theta_i)^2
    7      theta_p <- G_rho(c) + sigma * eps_p for p = 1..population
    8      roll out each theta_p once; store (theta_p, r_p); c <- max(c, max_p r_p)
"""

from __future__ import annotations

import copy
import dataclasses
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F

from ..buffers import BucketBuffer, FIFOBuffer, RecencyBuffer, ReplayBuffer
from ..generator import PRESETS, PolicyGenerator
from ..presets import EnvPreset, ReturnScale, env_preset
from .base import Algorithm, adam, check_settings, require_finite
from .placement import choose_sim
from .precision import check_precision, describe, update_in_bf16


@dataclass(frozen=True)
class UDRLPGConfig:
    """Hyperparameters; the defaults are the UDRLPG authors' (JacopoD/udrlpg_)."""

    sigma: float = 0.1  # std of the parameter-space exploration noise
    lr: float = 2e-6  # Adam learning rate of the generator
    batch_size: int = 24
    updates_per_rollout: int = 8
    population: int = 1  # rollouts per iteration (1 = the paper's schedule)
    warmup: int = 10  # warm-up rollouts of the untrained generator
    warmup_command: float = 1.0
    buffer: str = "buckets"  # buckets | fifo | recency
    weighting: str = "exp"  # bucket weighting: exp | uniform | reciprocal
    weight_scale: float = 0.3  # the 0.3 of w_k = exp(0.3 (k - K))
    n_buckets: int = 800
    bucket_capacity: int = 2
    bucket_rule: str = "first"  # full bucket: keep the first arrivals (authors), newest, or freeze
    freeze_margin: float = 0.1  # ours, bucket_rule "freeze": how far below the best a bucket freezes
    buffer_capacity: int = 10_000
    generator: str = "udrlpg"  # generator preset (generator.PRESETS)
    hidden: tuple[int, ...] = (256, 256)  # policy hidden layers
    precision: str = "auto"  # matmul precision of generator updates: auto | fp32 | bf16
    sim: str = "auto"  # simulator of a GPU run: auto (by population) | cpu | gpu (placement.py)
    eval_episodes: int = 5
    # how the exploration command is chosen: "max" = the best return stored so far (authors);
    # "achieved" = ours: every probe_every iterations, play G(c) without noise at probe_commands
    # commands over [0, best stored] and explore at the one whose policy scored best
    command_rule: str = "max"
    probe_every: int = 20
    probe_commands: int = 5
    probe_tolerance: float = 0.02  # scaled returns this close to the best probe count as ties
    # ours, for command following (the "follow" preset): a share of every batch drawn uniformly over
    # the non-empty buckets (BucketBuffer.cover), and a share of rollouts explored at a command drawn
    # uniformly over [0, best stored] instead of at the command
    cover_share: float = 0.0
    explore_share: float = 0.0
    # ours: a share of rollouts plays the command's policy shrunk towards zero, alpha * G(c) with
    # alpha ~ U(0, 1) and no noise, so the buffer holds lower-return policies that differ from the
    # best one by more than noise (``explore``)
    shrink_share: float = 0.0
    # ours, keep the best (``elite_check``): now and then play G(c) without noise ``elite_episodes``
    # times, as training steps, spending at most ``elite_share`` of them so; the best generator so
    # scored is the elite, and one that scores more than ``elite_tolerance`` (scaled) below it is
    # replaced by it (a rollback)
    keep_best: bool = False
    elite_episodes: int = 3
    elite_share: float = 0.1
    elite_tolerance: float = 0.05

    def __post_init__(self) -> None:
        checks = {
            "sigma": self.sigma > 0,
            "lr": self.lr > 0,
            "batch_size": self.batch_size > 0,
            "updates_per_rollout": self.updates_per_rollout >= 0,
            "population": self.population > 0,
            "warmup": self.warmup > 0,
            "eval_episodes": self.eval_episodes > 0,
            "probe_every": self.probe_every > 0,
            "probe_commands": self.probe_commands > 1,
            "probe_tolerance": self.probe_tolerance >= 0,
            "elite_episodes": self.elite_episodes > 0,
            "freeze_margin": self.freeze_margin > 0,
        }
        check_settings(self, checks, "must be positive")
        check_settings(self, {"elite_tolerance": self.elite_tolerance >= 0}, "must be >= 0")
        shares = {
            "cover_share": 0 <= self.cover_share <= 1,
            "explore_share": 0 <= self.explore_share <= 1,
            "shrink_share": 0 <= self.shrink_share <= 1,
            "elite_share": 0 < self.elite_share <= 1,
        }
        check_settings(self, shares, "a share: must be in [0, 1], elite_share above 0")
        if self.buffer not in ("buckets", "fifo", "recency"):
            raise ValueError(f"unknown buffer {self.buffer!r}; use buckets, fifo or recency")
        if self.command_rule not in ("max", "achieved"):
            raise ValueError(f"unknown command_rule {self.command_rule!r}; use max or achieved")
        if self.generator not in PRESETS:
            raise ValueError(f"unknown generator preset {self.generator!r}; use {list(PRESETS)}")
        check_precision(self.precision)

    def make_buffer(self) -> ReplayBuffer:
        if self.buffer == "buckets":
            return BucketBuffer(
                self.n_buckets,
                self.bucket_capacity,
                self.buffer_capacity,
                self.weighting,
                self.weight_scale,
                self.bucket_rule,
                self.cover_share,
                self.freeze_margin,
            )
        if self.buffer == "fifo":
            return FIFOBuffer(self.buffer_capacity)
        return RecencyBuffer(self.buffer_capacity)


# Named settings for ``train --preset NAME``, applied under any --set. "faithful" is the UDRLPG
# authors' algorithm (the reproduction's default); "reliable" and "demo" are ours, not the paper's:
# the command chosen by what the generator's policies achieve (``probe``) and full buckets keeping
# their newest policies, at the paper's sizes ("reliable") or, for the built-in demo, with a small
# policy (64, 64) and generator ("small" preset) and a learning rate to match. "follow" (ours) adds
# to "reliable" the command-following mechanisms (cover, exploration commands, shrunk policies,
# keep-best, frozen buckets below the top) and a learning rate high enough for the generator to
# move (book chapter 7).
PRESET_SETTINGS: dict[str, dict[str, object]] = {
    "faithful": {},
    "reliable": {"command_rule": "achieved", "bucket_rule": "newest"},
    "follow": {
        "command_rule": "achieved",
        "bucket_rule": "freeze",  # newest near the top, first below: keeps the climb's policies
        "cover_share": 0.5,
        "explore_share": 0.2,
        "shrink_share": 0.2,
        "keep_best": True,
        "lr": 1e-4,  # 50x the authors': at 2e-6 the generator's output barely moves (``drift``)
    },
    "demo": {
        "command_rule": "achieved",
        "bucket_rule": "newest",
        "generator": "small",
        "hidden": (64, 64),
        "lr": 1e-4,
    },
}


class UDRLPG(Algorithm):
    """The UDRLPG training loop (pseudocode in the module docstring)."""

    name = "udrlpg"
    supports_gpu = True

    def __init__(
        self,
        env_id: str,
        preset: EnvPreset,
        seed: int,
        config: UDRLPGConfig = UDRLPGConfig(),
        device: str = "cpu",
    ) -> None:
        super().__init__(env_id, preset, seed, device, choose_sim(device, config.sim, config.population))
        self.config = config
        self.spec = self.policy_spec(config.hidden)
        # built on the CPU, then moved: the same seed gives the same initial generator everywhere
        self.generator = PolicyGenerator(self.spec, PRESETS[config.generator]).to(self.device)
        # G_0, the generator as initialised, the origin of ``drift`` (rebuilt alike on resume)
        self.initial_generator = copy.deepcopy(self.generator).requires_grad_(False)
        self.optimizer = adam(self.generator.parameters(), config.lr)
        self.buffer = config.make_buffer()  # holds the thetas where they were made: on the device
        self.scale = ReturnScale(*preset.return_range)
        self.command = 0.0  # scaled; line 2 sets it after the warm-up
        self.last_loss = float("nan")
        self.next_probe = 1  # the iteration at which the achieved rule probes next
        self.probe_env_steps = 0  # the training steps the probes took (part of env_steps)
        self.elite: dict | None = None  # keep_best: the best generator so far, with its score
        self.rollbacks = 0
        self.elite_env_steps = 0  # the training steps the elite checks took (part of env_steps)
        self.next_elite_check = 0  # the env step at which keep_best checks next
        what = describe("udrlpg", config.batch_size, self.generator)
        self.bf16_updates = update_in_bf16(config.precision, self.device, self.probe_update, what)
        self.explore_rng = self.explore_generator()

    def probe_update(self, bf16: bool) -> Callable[[], None]:
        """One generator update as ``update`` makes it, on a copy and a random batch of its own
        (for timing the precisions: the run's networks and random streams stay untouched)."""
        generator = copy.deepcopy(self.generator)
        optimizer = adam(generator.parameters(), self.config.lr)
        rng = torch.Generator(device=self.device).manual_seed(0)
        shape = (self.config.batch_size, self.spec.n_params)
        thetas = torch.randn(shape, generator=rng, device=self.device)
        returns = torch.rand(shape[0], generator=rng, device=self.device)

        def step() -> None:
            with torch.autocast(self.device.type, dtype=torch.bfloat16, enabled=bf16):
                loss = F.mse_loss(generator(returns).float(), thetas)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()

        return step

    # --- lines 5-6: one hindsight update --------------------------------------------------------
    def update(self) -> float:
        thetas, returns = self.buffer.sample(self.config.batch_size, self.rng)
        with torch.autocast(self.device.type, dtype=torch.bfloat16, enabled=self.bf16_updates):
            generated = self.generator(returns)
        loss = F.mse_loss(generated.float(), thetas)
        require_finite("generator loss", loss.detach(), self.env_steps)
        self.optimizer.zero_grad(set_to_none=True)
        loss.backward()
        self.optimizer.step()
        return loss.item()

    # --- lines 7-8: explore around the command and store in hindsight --------------------------
    def rollout_and_store(self, thetas: torch.Tensor) -> np.ndarray:
        rollouts = self.rollout_train(self.spec, thetas)
        for theta, ret in zip(thetas, rollouts.returns):
            scaled = self.scale(float(ret))
            self.buffer.add(theta, scaled)
            if self.config.command_rule == "max" or self.iterations == 0:
                self.command = max(self.command, scaled)
        return rollouts.returns

    # --- our command rule: explore where the generator's own policies score best ----------------
    def probe(self, final: bool = False) -> tuple[np.ndarray, np.ndarray]:
        """Play G_rho(c) without noise once at ``probe_commands`` commands evenly over [0, c_max].

        c_max is the best scaled return stored so far (the authors' command). Every probe episode
        is a policy with an observed return, so it is stored like any rollout, and its steps count
        as training steps: choosing the command is a training decision. The command becomes the
        highest probed c whose policy scored within ``probe_tolerance`` of the best probe, so a
        generator whose policies all score alike keeps the authors' optimistic c_max. The
        ``final`` probe, which sets the command the run ends at, is a decision only
        (``rollout_decide``: nothing stored, the normaliser frozen, so the policies it scores are
        the ones the final evaluation plays) and takes the middle one of the best-scoring commands:
        the highest often lies at the edge of a cliff, where one episode reached the top and most
        do not. Returns (commands, returns), both scaled. This rule is ours
        (``command_rule="achieved"``), not the paper's.
        """
        cfg = self.config
        commands = np.linspace(0.0, self.buffer.best_return, cfg.probe_commands)
        with torch.no_grad():
            thetas = self.generator(torch.tensor(commands, dtype=torch.float32, device=self.device))
        steps = self.env_steps
        if final:
            raw = self.rollout_decide(self.spec, thetas).returns
        else:
            raw = self.rollout_and_store(thetas)
        returns = np.array([self.scale(float(r)) for r in raw])
        self.probe_env_steps += self.env_steps - steps
        good = np.flatnonzero(returns >= returns.max() - cfg.probe_tolerance)
        self.command = float(commands[good[len(good) // 2] if final else good[-1]])
        self.next_probe = self.iterations + cfg.probe_every
        return commands, returns

    # --- ours: exploration commands over the seen range ---------------------------------------
    def explore(self) -> torch.Tensor:
        """Line 7: the population's policies. Each explores at the command, or, with probability
        ``explore_share`` (ours), at a command drawn uniformly over [0, best stored return], so that
        every part of the identity curve keeps getting fresh hindsight pairs (theta, r).

        With probability ``shrink_share`` (ours) a policy is instead alpha * G(c), alpha ~ U(0, 1),
        without noise. Noisy copies of one policy differ by sigma * sqrt(d) whatever their returns,
        so the regression cannot tell from them which weights belong to a low return
        (``buffer_census.separation``); shrunk ones lie on the line from G(c) to the null policy,
        each stored with the return it really obtained, so the low buckets hold policies that are
        truly different and the generator can learn where along that line each return lies.
        """
        cfg = self.config
        if cfg.explore_share == 0 and cfg.shrink_share == 0:  # the authors': no extra random numbers
            return self.generator.explore(self.command, cfg.population, cfg.sigma, self.explore_rng)
        commands = np.full(cfg.population, self.command)
        spread = self.rng.random(cfg.population) < cfg.explore_share
        commands[spread] = self.rng.uniform(0.0, max(self.buffer.best_return, 0.0), spread.sum())
        commands = torch.tensor(commands, dtype=torch.float32, device=self.device)
        thetas = self.generator.explore_at(commands, cfg.sigma, self.explore_rng)
        if cfg.shrink_share > 0:
            shrunk = torch.from_numpy(self.rng.random(cfg.population) < cfg.shrink_share)
            alpha = torch.from_numpy(self.rng.random(cfg.population)).float().to(self.device)
            if shrunk.any():
                with torch.no_grad():
                    top = self.generator(torch.tensor([self.command], device=self.device))
                shrunk = shrunk.to(self.device)
                thetas[shrunk] = alpha[shrunk, None] * top
        return thetas

    # --- ours: keep the best generator ------------------------------------------------------------
    def elite_score(self) -> float:
        """Mean scaled return of ``elite_episodes`` noise-free episodes of G(c) (``rollout_decide``)."""
        thetas = self.generator.explore(self.command, self.config.elite_episodes, 0.0)
        steps = self.env_steps
        returns = self.rollout_decide(self.spec, thetas).returns
        self.elite_env_steps += self.env_steps - steps
        return float(np.mean([self.scale(float(r)) for r in returns]))

    def elite_check(self) -> None:
        """Score the generator; keep it as the elite if it beats the elite, roll back to the elite
        if it falls more than ``elite_tolerance`` below it.

        The elite is the generator's and optimiser's state, the normaliser's and the command. Its
        score is the mean of every score it has had, so a lucky first score (the maximum of noisy
        estimates is biased upwards) is corrected each time the elite is restored and scored again.
        The next check is due once the training steps since this one are (1 - elite_share) /
        elite_share times what this check took: checks spend at most elite_share of the steps.
        """
        cfg = self.config
        steps = self.env_steps
        score = self.elite_score()
        if self.elite is None or score > self.elite["score"]:
            self.elite = {
                "score": score,
                "n_scores": 1,
                "generator": {k: v.detach().clone() for k, v in self.generator.state_dict().items()},
                "optimizer": copy.deepcopy(self.optimizer.state_dict()),
                "normalizer": copy.deepcopy(self.normalizer.state_dict()),
                "command": self.command,
            }
        elif score < self.elite["score"] - cfg.elite_tolerance:
            self.generator.load_state_dict(self.elite["generator"])
            self.optimizer.load_state_dict(copy.deepcopy(self.elite["optimizer"]))
            self.normalizer.load_state_dict(copy.deepcopy(self.elite["normalizer"]))
            self.command = self.elite["command"]
            self.rollbacks += 1
            n = self.elite["n_scores"]
            self.elite["score"] = (n * self.elite["score"] + self.elite_score()) / (n + 1)
            self.elite["n_scores"] = n + 1
        spent = self.env_steps - steps
        self.next_elite_check = self.env_steps + int(spent * (1 - cfg.elite_share) / cfg.elite_share)

    def finish(self) -> None:
        """When the budget is spent (ours): with command_rule "achieved" a last probe
        (``probe(final=True)``), so that the run ends at a command whose policy scores best now,
        not at one chosen up to ``probe_every`` iterations of updates ago; with keep_best then a
        last check, so that the run ends with the elite if it fell below it. Both spend training
        steps, as always."""
        if self.config.command_rule == "achieved":
            self.probe(final=True)
        if self.config.keep_best:
            self.elite_check()

    def iterate(self) -> dict[str, float]:
        cfg = self.config
        if self.iterations == 0:  # line 1
            returns = self.rollout_and_store(self.generator.explore(cfg.warmup_command, cfg.warmup, 0.0))
        else:
            losses = [self.update() for _ in range(cfg.updates_per_rollout * cfg.population)]
            if losses:
                self.last_loss = float(np.mean(losses))
            if cfg.command_rule == "achieved" and self.iterations >= self.next_probe:
                self.probe()
            returns = self.rollout_and_store(self.explore())
            if cfg.keep_best and self.env_steps >= self.next_elite_check:
                self.elite_check()
        self.iterations += 1
        return {
            "train_return": float(np.max(returns)),
            "command": self.scale.unscale(self.command),
            "loss": self.last_loss,
            "buffer_size": len(self.buffer),
        }

    def evaluate(self) -> dict[str, float]:
        """Roll out G_rho(c) without noise at the current command, ``eval_episodes`` times."""
        thetas = self.generator.explore(self.command, self.config.eval_episodes, 0.0)
        row = self.summary(self.rollout_eval(self.spec, thetas)) | {
            "command_spread": self.spread(),
            "drift": self.drift(),
        }
        if self.config.keep_best:  # what keep_best did so far, beside the evaluation
            row["elite_score"] = self.scale.unscale(self.elite["score"]) if self.elite else float("nan")
            row["rollbacks"] = self.rollbacks
        return row

    def spread(self) -> float:
        """How much the command changes the policy: the RMS over weights of G(c_best) - G(0), with
        c_best the best stored return (0 before any). Set beside sigma, the exploration noise per
        weight: a spread far below sigma means that the generator writes nearly one policy for
        every command, whatever it is asked (a flat identity curve)."""
        top = max(self.buffer.best_return, 0.0) if len(self.buffer) else 0.0
        with torch.no_grad():
            low, high = self.generator(torch.tensor([0.0, top], device=self.device))
        return float((high - low).pow(2).mean().sqrt())

    def drift(self) -> float:
        """How far training has moved the generator's output: the RMS over weights of
        G_t(c) - G_0(c) at the current command c, G_0 the generator as initialised. Set beside
        sigma: a drift below sigma means that all the updates so far changed the policy at the
        command by less than one exploration step, so no command can yet write a policy much
        different from any other's (book chapter 7, "A generator that cannot move")."""
        with torch.no_grad():
            c = torch.tensor([self.command], device=self.device)
            return float((self.generator(c) - self.initial_generator(c)).pow(2).mean().sqrt())

    def command_sweep(self, commands: np.ndarray, episodes: int = 5) -> tuple[np.ndarray, np.ndarray]:
        """Achieved returns of G_rho(c) (no noise) for each command c in returns' units (the
        training reward's: ``rollout_commanded``).

        The "extensive evaluation" of the UDRLPG paper (Figure 4). Returns (mean [C], std [C]).
        These episodes count as evaluation steps.
        """
        scaled = torch.tensor(
            [self.scale(float(c)) for c in commands], dtype=torch.float32, device=self.device
        )
        with torch.no_grad():
            thetas = self.generator(scaled)
        return self.play_commanded(self.spec, thetas, episodes)

    def export(self) -> dict:
        """What it takes to generate and run policies later: generator, normaliser, command, config.

        Much smaller than a checkpoint (no buffer, no optimiser); ``load_exported`` rebuilds it.
        """
        return {
            "env_id": self.env_id,
            "seed": self.seed,
            "config": dataclasses.asdict(self.config),
            "generator": {k: v.cpu() for k, v in self.generator.state_dict().items()},
            "normalizer": self.normalizer.state_dict(),
            "command": self.command,
            "best_return": self.buffer.best_return,  # scaled: the best training return stored
            "env_steps": self.env_steps,
        }

    @classmethod
    def load_exported(cls, state: dict) -> UDRLPG:
        """An UDRLPG whose generator, normaliser and command are those exported (empty buffer)."""
        config = dict(state["config"])
        config["hidden"] = tuple(config["hidden"])
        algo = cls(state["env_id"], env_preset(state["env_id"]), state["seed"], UDRLPGConfig(**config))
        algo.generator.load_state_dict(state["generator"])
        algo.normalizer.load_state_dict(state["normalizer"])
        algo.command, algo.env_steps = state["command"], state["env_steps"]
        return algo

    def run_info(self) -> dict:
        info = {"update_precision": "bf16" if self.bf16_updates else "fp32"}
        if self.config.command_rule == "achieved":
            info["probe_env_steps"] = self.probe_env_steps
        if self.config.keep_best:
            info |= {"elite_env_steps": self.elite_env_steps, "rollbacks": self.rollbacks}
        return info

    def state_dict(self) -> dict:
        return super().state_dict() | {
            "generator": self.generator.state_dict(),
            "optimizer": self.optimizer.state_dict(),
            "buffer": self.buffer.state_dict(),
            "command": self.command,
            "last_loss": self.last_loss,
            "next_probe": self.next_probe,
            "probe_env_steps": self.probe_env_steps,
            "elite": self.elite,
            "rollbacks": self.rollbacks,
            "elite_env_steps": self.elite_env_steps,
            "next_elite_check": self.next_elite_check,
        }

    def load_state_dict(self, state: dict) -> None:
        super().load_state_dict(state)
        self.generator.load_state_dict(state["generator"])
        self.optimizer.load_state_dict(state["optimizer"])
        self.buffer.load_state_dict(state["buffer"])
        self.command = state["command"]
        self.last_loss = state["last_loss"]
        self.next_probe = state.get("next_probe", 1)
        self.probe_env_steps = state.get("probe_env_steps", 0)
        self.elite = state.get("elite")
        self.rollbacks = state.get("rollbacks", 0)
        self.elite_env_steps = state.get("elite_env_steps", 0)
        self.next_elite_check = state.get("next_elite_check", 0)
