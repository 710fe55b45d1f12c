"""Upside-Down RL (UDRL) in action space, the command-conditioned baseline of the GoGePo paper.

Schmidhuber (2019), "Reinforcement learning upside down: don't predict rewards, just map them to
actions", and Srivastava et al. (2019), "Training agents using upside-down reinforcement learning"
(their Algorithms 1 and 2), in the episodic continuous-control form the GoGePo paper compares with
(its appendices A.1 "UDRL" and B.1). A behaviour function B(s, d_r, d_h) -> a maps a state and a
command (desired return d_r, desired horizon d_h) to an action. One iteration:

    1  command: from the ``last_few`` best episodes of the replay buffer take d_h = their mean length
       and d_r ~ U[m, m + s], with m and s the mean and standard deviation of their returns
    2  explore: run ``episodes_per_iter`` episodes with B at that command plus Gaussian action noise;
       after each step with reward r_t the command becomes d_r <- d_r - r_t, d_h <- max(d_h - 1, 1)
    3  keep only the ``buffer_episodes`` episodes with the highest returns
    4  train B by supervised learning, ``updates_per_iter`` Adam steps on the mean squared error
       between B(s_t, R_t, H_t) and a_t, for an episode drawn uniformly from the buffer and a time t
       uniformly from it, where R_t = r_t + ... + r_{T-1} is the return-to-go and H_t = T - t the
       steps-to-go (the trailing segments of Srivastava et al.)

The buffer starts with ``warmup_episodes`` episodes of uniformly random actions. Choices of ours, where
the papers leave room: B is an MLP on the concatenation (normalised state, return_scale * d_r,
horizon_scale * d_h) with a tanh output times the action bound (Srivastava et al. combine state and
command multiplicatively instead); exploration adds N(0, (action_noise * bound)^2) to each action
component and clips to the bound (Srivastava et al. treat discrete actions, which they sample);
observations are normalised by the shared running statistics, which absorb every training episode.

Hopper's healthy reward. By default (``train_reward="preset"``) UDRL trains, like every algorithm here,
on the env preset's reward, for Hopper without the +1 per healthy step (the GoGePo paper's rule for its
parameter-based methods); ``train_reward="standard"`` keeps gymnasium's reward, as the paper's
action-space baseline DDPG does. Evaluation reports the standard reward either way, but counts the
command down in the training reward's units (``run_episode(strip_bonus=True)``): B's commands are
returns without the bonus, and subtracting the bonus as well would tell B, step by step, that less and
less return is still wanted.

Why a rollout loop of its own. The batched evaluators (``udrlpg_lite.envs``) call the policy with
observations only, so a policy cannot subtract the reward r_t from its command, and they return
returns and lengths only, not the (s_t, a_t, r_t) that UDRL learns from. UDRL therefore steps one
``gymnasium.make`` env per purpose (training, evaluation), one episode at a time; the reset seeds come
from the evaluators' random streams (``train_env.rng``, ``eval_env.rng``), which the base class saves.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import gymnasium
import numpy as np
import torch
from torch import nn

from ..envs import Rollouts
from ..presets import EnvPreset
from .base import Algorithm, check_settings

ACTIVATIONS: dict[str, type[nn.Module]] = {"relu": nn.ReLU, "tanh": nn.Tanh}
TRAIN_REWARDS = ("preset", "standard")


@dataclass(frozen=True)
class UDRLConfig:
    """Hyperparameters; defaults are Srivastava et al.'s sizes and the Swimmer preset's tuned values."""

    lr: float = 1e-3  # Adam learning rate of B
    batch_size: int = 768  # (episode, t) pairs per update
    updates_per_iter: int = 150  # step 4
    episodes_per_iter: int = 20  # step 2
    warmup_episodes: int = 50  # random-action episodes that fill the buffer first
    last_few: int = 10  # step 1: best episodes that define the exploration command
    buffer_episodes: int = 600  # step 3: episodes kept, the best by return
    hidden: tuple[int, ...] = (256, 256)
    activation: str = "relu"  # "relu" or "tanh"
    action_noise: float = 0.1  # std of the exploration noise, as a fraction of the action bound
    return_scale: float = 0.01  # d_r enters B as return_scale * d_r
    horizon_scale: float = 0.01  # d_h enters B as horizon_scale * d_h
    eval_episodes: int = 5
    # the reward B is trained and commanded with: "preset" follows the env preset (Hopper: without
    # its healthy reward, the GoGePo paper's rule for its parameter-based methods), "standard" is
    # gymnasium's reward (the rule of the paper's action-space baseline DDPG); evaluation always
    # reports the standard reward
    train_reward: str = "preset"
    # > 0: every evaluation also runs this many episodes the way the UDRL reference code evaluates
    # (sampled actions: B plus the training noise; command: the best last_few episodes' mean return
    # and mean length, not a draw from [m, m + s]), logged as ref_eval_*; its own random stream, so
    # training and the main evaluation are unchanged
    ref_eval_episodes: int = 0

    def __post_init__(self) -> None:
        checks = {
            "lr": self.lr > 0,
            "batch_size": self.batch_size > 0,
            "updates_per_iter": self.updates_per_iter > 0,
            "episodes_per_iter": self.episodes_per_iter > 0,
            "warmup_episodes": self.warmup_episodes > 0,
            "last_few": self.last_few > 0,
            "buffer_episodes": self.buffer_episodes > 0,
            "hidden": len(self.hidden) > 0 and all(h > 0 for h in self.hidden),
            "action_noise": self.action_noise >= 0,
            "return_scale": self.return_scale > 0,
            "horizon_scale": self.horizon_scale > 0,
            "eval_episodes": self.eval_episodes > 0,
            "ref_eval_episodes": self.ref_eval_episodes >= 0,
        }
        check_settings(self, checks, "must be positive")
        if self.activation not in ACTIVATIONS:
            raise ValueError(
                f"invalid activation = {self.activation!r} (choose from {list(ACTIVATIONS)})"
            )
        if self.train_reward not in TRAIN_REWARDS:
            raise ValueError(
                f"invalid train_reward = {self.train_reward!r} (choose from {list(TRAIN_REWARDS)})"
            )
        if self.last_few > self.buffer_episodes:
            raise ValueError(
                f"invalid last_few = {self.last_few} "
                f"(must not exceed buffer_episodes = {self.buffer_episodes})"
            )


# GoGePo appendix A.1 "UDRL", tuned per environment (the paper ran the -v3/-v2 MuJoCo versions).
UDRL_PRESETS: dict[str, UDRLConfig] = {
    "Swimmer-v5": UDRLConfig(activation="relu", lr=1e-3, last_few=10),
    "Hopper-v5": UDRLConfig(activation="relu", lr=1e-5, last_few=10),
    "InvertedPendulum-v5": UDRLConfig(activation="tanh", lr=1e-3, last_few=1),
    "MountainCarContinuous-v0": UDRLConfig(activation="relu", lr=1e-5, last_few=1),
}


def udrl_config_for(env_id: str, **overrides: object) -> UDRLConfig:
    """The tuned preset for ``env_id`` (``UDRLConfig()`` for an env without one), with ``overrides``."""
    return dataclasses.replace(UDRL_PRESETS.get(env_id, UDRLConfig()), **overrides)


@dataclass
class Episode:
    """One stored episode: obs [T, obs_dim] (raw), actions [T, act_dim], rewards [T]."""

    obs: np.ndarray
    actions: np.ndarray
    rewards: np.ndarray
    terminated: bool  # ended by termination (else by truncation)

    @property
    def ret(self) -> float:
        return float(self.rewards.sum())

    @property
    def length(self) -> int:
        return len(self.rewards)


def segment_targets(rewards: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Step 4's command for every t of an episode: (return-to-go sum_{u >= t} r_u, steps-to-go T - t)."""
    returns_to_go = np.cumsum(rewards[::-1])[::-1].astype(np.float64)
    steps_to_go = np.arange(len(rewards), 0, -1, dtype=np.float64)
    return returns_to_go, steps_to_go


def exploration_command(episodes: list[Episode], rng: np.random.Generator) -> tuple[float, float]:
    """Step 1 (Srivastava et al., section 2.3.3): (d_r, d_h) from the given best episodes."""
    returns = np.array([e.ret for e in episodes])
    d_h = float(np.mean([e.length for e in episodes]))
    d_r = float(rng.uniform(returns.mean(), returns.mean() + returns.std()))
    return d_r, d_h


class BehaviourFunction(nn.Module):
    """B(s, d_r, d_h) -> action in [-bound, bound]: an MLP on (s, scaled d_r, scaled d_h)."""

    def __init__(self, obs_dim: int, act_dim: int, act_bound: float, config: UDRLConfig) -> None:
        super().__init__()
        layers: list[nn.Module] = []
        width = obs_dim + 2
        for h in config.hidden:
            layers += [nn.Linear(width, h), ACTIVATIONS[config.activation]()]
            width = h
        layers += [nn.Linear(width, act_dim), nn.Tanh()]
        self.net = nn.Sequential(*layers)
        self.act_bound = act_bound
        self.command_scale = torch.tensor([config.return_scale, config.horizon_scale])

    def forward(self, obs: torch.Tensor, command: torch.Tensor) -> torch.Tensor:
        """obs [k, obs_dim] (normalised), command [k, 2] = (d_r, d_h) -> actions [k, act_dim]."""
        return self.act_bound * self.net(torch.cat([obs, command * self.command_scale], dim=-1))


def make_env(env_id: str, survival_bonus: bool) -> gymnasium.Env:
    """``gymnasium.make(env_id)``; survival_bonus=False zeroes Hopper's healthy reward."""
    return gymnasium.make(env_id, **({} if survival_bonus else {"healthy_reward": 0.0}))


class UDRL(Algorithm):
    """Episodic UDRL with a continuous-action behaviour function (pseudocode in the module docstring)."""

    name = "udrl"

    def __init__(
        self, env_id: str, preset: EnvPreset, seed: int, config: UDRLConfig = UDRLConfig()
    ) -> None:
        super().__init__(env_id, preset, seed)
        self.config = config
        spec = self.train_env
        if spec.discrete:
            raise ValueError(f"UDRL here needs continuous actions; {env_id} has discrete ones")
        self.act_bound = spec.act_bound
        self.behaviour = BehaviourFunction(spec.obs_dim, spec.act_dim, spec.act_bound, config)
        self.optimizer = torch.optim.Adam(self.behaviour.parameters(), lr=config.lr)
        # with the healthy reward in training (standard reward, or an env without a bonus to remove)
        self.train_bonus = preset.survival_bonus or config.train_reward == "standard"
        self.gym_train = make_env(env_id, self.train_bonus)
        self.gym_eval = make_env(env_id, survival_bonus=True)
        self.buffer: list[Episode] = []  # best first
        self.ref_eval_rng = np.random.default_rng(seed + 2_000_003)  # resets and noise of ref_eval
        # before any episode: ask for nothing in particular, over a whole episode
        self.explore_command = (0.0, float(spec.max_episode_steps))

    # ----- acting -----------------------------------------------------------------------------

    def run_episode(
        self,
        env: gymnasium.Env,
        reset_rng: np.random.Generator,
        command: tuple[float, float] | None,
        noise: float,
        strip_bonus: bool = False,
        noise_rng: np.random.Generator | None = None,
    ) -> Episode:
        """One episode; command None takes uniformly random actions, else B's actions plus noise.

        The command evolves as in step 2; observations are normalised with the statistics as they are
        at the call. ``strip_bonus``: count the command down by the reward without the healthy reward
        (``info["reward_survive"]``), the units B was trained in when training drops it, while the
        episode records the env's own reward. ``noise_rng``: the stream of the action noise (default:
        the run's ``rng``).
        """
        noise_rng = self.rng if noise_rng is None else noise_rng
        obs, _ = env.reset(seed=int(reset_rng.integers(2**31)))
        d_r, d_h = command if command is not None else (0.0, 0.0)
        act_dim = self.train_env.act_dim
        observations, actions, rewards = [], [], []
        done = False
        while not done:
            if command is None:
                action = self.rng.uniform(-self.act_bound, self.act_bound, act_dim)
            else:
                with torch.no_grad():
                    state = self.normalizer.normalize(torch.as_tensor(obs, dtype=torch.float32)[None])
                    cmd = torch.tensor([[d_r, d_h]], dtype=torch.float32)
                    action = self.behaviour(state, cmd)[0].double().numpy()
                if noise > 0:
                    action = action + noise_rng.normal(0.0, noise * self.act_bound, act_dim)
                    action = np.clip(action, -self.act_bound, self.act_bound)
            next_obs, reward, terminated, truncated, info = env.step(action.astype(np.float32))
            observations.append(obs)
            actions.append(action)
            rewards.append(float(reward))
            counted = float(reward) - (float(info.get("reward_survive", 0.0)) if strip_bonus else 0.0)
            d_r, d_h = d_r - counted, max(d_h - 1.0, 1.0)
            obs, done = next_obs, terminated or truncated
        return Episode(
            np.asarray(observations, dtype=np.float32),
            np.asarray(actions, dtype=np.float32),
            np.asarray(rewards, dtype=np.float64),
            bool(terminated),
        )

    def collect(self, n: int, command: tuple[float, float] | None) -> list[Episode]:
        """n training episodes (step 2), counted in env_steps, merged into the normaliser afterwards."""
        episodes = [
            self.run_episode(self.gym_train, self.train_env.rng, command, self.config.action_noise)
            for _ in range(n)
        ]
        self.env_steps += sum(e.length for e in episodes)
        self.normalizer.update(np.concatenate([e.obs for e in episodes]))
        return episodes

    # ----- learning ---------------------------------------------------------------------------

    def store(self, episodes: list[Episode]) -> None:
        """Step 3: add the episodes and keep the ``buffer_episodes`` best (ties: older first)."""
        ranked = sorted(self.buffer + episodes, key=lambda e: -e.ret)
        self.buffer = ranked[: self.config.buffer_episodes]

    def train(self) -> float:
        """Step 4 on the current buffer; returns the mean loss over the updates."""
        cfg = self.config
        lengths = np.array([e.length for e in self.buffer])
        offsets = np.concatenate([[0], np.cumsum(lengths)[:-1]])
        targets = [segment_targets(e.rewards) for e in self.buffer]
        obs = self.normalizer.normalize(torch.from_numpy(np.concatenate([e.obs for e in self.buffer])))
        actions = torch.from_numpy(np.concatenate([e.actions for e in self.buffer]))
        returns_to_go, steps_to_go = (np.concatenate(parts) for parts in zip(*targets))
        commands = torch.from_numpy(np.stack([returns_to_go, steps_to_go], axis=1)).to(torch.float32)
        losses = []
        for _ in range(cfg.updates_per_iter):
            episode = self.rng.integers(len(self.buffer), size=cfg.batch_size)
            t = np.floor(self.rng.random(cfg.batch_size) * lengths[episode]).astype(np.int64)
            rows = torch.from_numpy(offsets[episode] + t)
            loss = nn.functional.mse_loss(self.behaviour(obs[rows], commands[rows]), actions[rows])
            self.optimizer.zero_grad()
            loss.backward()
            self.optimizer.step()
            losses.append(loss.item())
        return float(np.mean(losses))

    def iterate(self) -> dict[str, float]:
        cfg = self.config
        if not self.buffer:
            self.store(self.collect(cfg.warmup_episodes, command=None))
        self.explore_command = exploration_command(self.buffer[: cfg.last_few], self.rng)  # step 1
        episodes = self.collect(cfg.episodes_per_iter, self.explore_command)  # step 2
        self.store(episodes)  # step 3
        loss = self.train()  # step 4
        self.iterations += 1
        return {
            "train_return": max(e.ret for e in episodes),
            "loss": loss,
            "command_return": self.explore_command[0],
            "command_horizon": self.explore_command[1],
        }

    def evaluate(self) -> dict[str, float]:
        """B at the current exploration command, without noise, for ``eval_episodes`` episodes.

        The episodes score the standard reward; the command counts down in the training reward's units.
        """
        episodes = [
            self.run_episode(
                self.gym_eval,
                self.eval_env.rng,
                self.explore_command,
                noise=0.0,
                strip_bonus=not self.train_bonus,
            )
            for _ in range(self.config.eval_episodes)
        ]
        rollouts = Rollouts(
            returns=np.array([e.ret for e in episodes]),
            lengths=np.array([e.length for e in episodes], dtype=np.int64),
            terminated=np.array([e.terminated for e in episodes]),
        )
        result = self.record_eval(rollouts) | {
            "eval_command_return": self.explore_command[0],
            "eval_command_horizon": self.explore_command[1],
        }
        if self.config.ref_eval_episodes > 0:
            result |= self.reference_evaluate()
        return result

    def reference_command(self) -> tuple[float, float]:
        """The reference code's evaluation command: the best ``last_few`` episodes' mean return and
        mean length (before any episode: the initial exploration command)."""
        if not self.buffer:
            return self.explore_command
        best = self.buffer[: self.config.last_few]
        return float(np.mean([e.ret for e in best])), float(np.mean([e.length for e in best]))

    def reference_evaluate(self) -> dict[str, float]:
        """``ref_eval_episodes`` episodes with sampled actions (training noise) at ``reference_command``;
        counted in eval_env_steps."""
        command = self.reference_command()
        episodes = [
            self.run_episode(
                self.gym_eval,
                self.ref_eval_rng,
                command,
                noise=self.config.action_noise,
                strip_bonus=not self.train_bonus,
                noise_rng=self.ref_eval_rng,
            )
            for _ in range(self.config.ref_eval_episodes)
        ]
        returns = np.array([e.ret for e in episodes])
        self.eval_env_steps += sum(e.length for e in episodes)
        return {
            "ref_eval_return_mean": float(returns.mean()),
            "ref_eval_return_std": float(returns.std()),
            "ref_eval_command_return": command[0],
            "ref_eval_command_horizon": command[1],
        }

    # ----- checkpoints ------------------------------------------------------------------------

    def state_dict(self) -> dict:
        return super().state_dict() | {
            "behaviour": {k: v.clone() for k, v in self.behaviour.state_dict().items()},
            "optimizer": self.optimizer.state_dict(),
            "buffer": [  # tensors and plain types (checkpoints load with weights_only=True)
                {k: torch.from_numpy(v) if isinstance(v, np.ndarray) else v for k, v in vars(e).items()}
                for e in self.buffer
            ],
            "explore_command": self.explore_command,
            "ref_eval_rng": self.ref_eval_rng.bit_generator.state,
        }

    def load_state_dict(self, state: dict) -> None:
        super().load_state_dict(state)
        self.behaviour.load_state_dict(state["behaviour"])
        self.optimizer.load_state_dict(state["optimizer"])
        self.buffer = [
            Episode(**{k: v.numpy() if torch.is_tensor(v) else v for k, v in episode.items()})
            for episode in state["buffer"]
        ]
        self.explore_command = tuple(state["explore_command"])
        if "ref_eval_rng" in state:  # checkpoints from before ref_eval keep the fresh stream
            self.ref_eval_rng.bit_generator.state = state["ref_eval_rng"]
