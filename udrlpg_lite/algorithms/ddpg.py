"""DDPG, the action-space baseline of the GoGePo paper, through stable-baselines3.

Lillicrap et al. (2016), "Continuous control with deep reinforcement learning", as implemented in
OpenAI's Spinning Up (Achiam, 2018), which the GoGePo paper ran with the settings of its appendix A.1:
actor and critic MLPs of two hidden layers of 256 units (PyTorch default initialisation), Adam with
learning rate 1e-3 for both, batch size 100, discount 0.99, Polyak parameter 0.995 (tau = 0.005),
Gaussian action noise of standard deviation 0.1, 50 updates every 50 environment steps, uniformly
random actions for the first 10000 steps and no update before step 1000, replay buffer of 100k
transitions, no observation normalisation and no survival-reward adjustment. ``DDPGConfig`` holds
these values.

We use stable-baselines3's ``DDPG`` (its TD3 with one critic, no target smoothing and no delayed actor
updates) with two adaptations to match Spinning Up:

* SB3 ties random actions and the first update to one ``learning_starts``; Spinning Up separates them
  (start_steps = 10000, update_after = 1000). ``SpinningUpDDPG`` keeps ``learning_starts =
  update_after`` and takes random actions while fewer than ``start_steps`` steps are done.
* SB3 adds its action noise to the action scaled to [-1, 1]; Spinning Up adds it to the action in the
  environment's units. For a symmetric bound b we give SB3 the standard deviation 0.1 / b.

The hidden layers are ReLU for actor and critic (Spinning Up's default). Training steps one
``gymnasium.make(env_id)`` env with its usual reward; ``iterate`` advances SB3's ``learn`` by
``steps_per_iter`` steps, and ``evaluate`` runs the deterministic actor on the shared batched
evaluator, as for every other algorithm.

Checkpoints. ``state_dict`` holds the SB3 model (weights, optimisers, step counters), its replay
buffer and the random states SB3 draws from, but not the state of the training env in the middle of an
episode: after ``load_state_dict`` the episode under way is dropped and SB3 starts a new one. Resuming
is therefore close to, but not exactly, the uninterrupted run.
"""

from __future__ import annotations

import dataclasses
import io
from dataclasses import dataclass

import gymnasium
import numpy as np
import torch
from stable_baselines3 import DDPG as SB3DDPG
from stable_baselines3.common.noise import ActionNoise, NormalActionNoise

from ..presets import EnvPreset
from .base import Algorithm, check_settings


@dataclass(frozen=True)
class DDPGConfig:
    """Hyperparameters (GoGePo appendix A.1, Spinning Up's DDPG); the same for every environment."""

    start_steps: int = 10_000  # uniformly random actions before this many steps
    update_after: int = 1_000  # no update before this many steps
    update_every: int = 50  # steps between rounds of update_every updates
    tau: float = 0.005  # target networks: 1 - Polyak parameter 0.995
    gamma: float = 0.99
    hidden: tuple[int, ...] = (256, 256)  # actor and critic hidden layers
    action_noise: float = 0.1  # std of the Gaussian exploration noise, in the env's action units
    lr: float = 1e-3  # actor and critic
    batch_size: int = 100
    buffer_size: int = 100_000
    steps_per_iter: int = 1_000  # env steps per ``iterate``; a multiple of update_every
    eval_episodes: int = 5

    def __post_init__(self) -> None:
        checks = {
            "start_steps": self.start_steps >= 0,
            "update_after": self.update_after >= 0,
            "update_every": self.update_every > 0,
            "tau": 0 < self.tau <= 1,
            "gamma": 0 < self.gamma <= 1,
            "hidden": len(self.hidden) > 0 and all(h > 0 for h in self.hidden),
            "action_noise": self.action_noise >= 0,
            "lr": self.lr > 0,
            "batch_size": self.batch_size > 0,
            "buffer_size": self.buffer_size > 0,
            "steps_per_iter": self.steps_per_iter > 0,
            "eval_episodes": self.eval_episodes > 0,
        }
        check_settings(self, checks, "out of range")
        if self.steps_per_iter % self.update_every:
            raise ValueError(
                f"invalid steps_per_iter = {self.steps_per_iter} "
                f"(must be a multiple of update_every = {self.update_every})"
            )


def ddpg_config_for(env_id: str, **overrides: object) -> DDPGConfig:
    """``DDPGConfig()`` with ``overrides``: the paper used the same DDPG settings for every env."""
    return dataclasses.replace(DDPGConfig(), **overrides)


class SpinningUpDDPG(SB3DDPG):
    """SB3's DDPG with Spinning Up's random actions for the first ``start_steps`` steps."""

    start_steps: int = 0

    def _sample_action(
        self, learning_starts: int, action_noise: ActionNoise | None = None, n_envs: int = 1
    ) -> tuple[np.ndarray, np.ndarray]:
        return super()._sample_action(max(learning_starts, self.start_steps), action_noise, n_envs)


class DDPG(Algorithm):
    """DDPG (SB3) trained ``steps_per_iter`` steps at a time, evaluated on the shared evaluator."""

    name = "ddpg"

    def __init__(
        self, env_id: str, preset: EnvPreset, seed: int, config: DDPGConfig = DDPGConfig()
    ) -> None:
        super().__init__(env_id, preset, seed)
        self.config = config
        if self.train_env.discrete:
            raise ValueError(f"DDPG needs continuous actions; {env_id} has discrete ones")
        self.gym_env = gymnasium.make(env_id)
        act_dim, bound = self.train_env.act_dim, self.train_env.act_bound
        noise = NormalActionNoise(np.zeros(act_dim), np.full(act_dim, config.action_noise / bound))
        self.model = SpinningUpDDPG(
            "MlpPolicy",
            self.gym_env,
            learning_rate=config.lr,
            buffer_size=config.buffer_size,
            learning_starts=config.update_after,
            batch_size=config.batch_size,
            tau=config.tau,
            gamma=config.gamma,
            train_freq=(config.update_every, "step"),
            gradient_steps=config.update_every,
            action_noise=noise,
            policy_kwargs={"net_arch": list(config.hidden)},
            seed=seed,
            device="cpu",
        )
        self.model.start_steps = config.start_steps

    def iterate(self) -> dict[str, float]:
        self.model.learn(total_timesteps=self.config.steps_per_iter, reset_num_timesteps=False)
        self.env_steps = self.model.num_timesteps
        self.iterations += 1
        return {}

    def evaluate(self) -> dict[str, float]:
        """The deterministic actor (no noise), one episode per row, ``eval_episodes`` episodes."""

        def actor(obs: torch.Tensor, rows: torch.Tensor) -> torch.Tensor:
            actions, _ = self.model.predict(obs.numpy(), deterministic=True)
            return torch.as_tensor(actions, dtype=torch.float32)

        return self.record_eval(self.eval_env.evaluate(actor, self.config.eval_episodes))

    def state_dict(self) -> dict:
        model, replay = io.BytesIO(), io.BytesIO()
        self.model.save(model)
        self.model.save_replay_buffer(replay)
        return super().state_dict() | {
            "sb3_model": model.getvalue(),
            "sb3_replay_buffer": replay.getvalue(),
            # SB3's NormalActionNoise draws from it; kept as plain types (weights_only checkpoints)
            "numpy_global_rng": [
                v.tolist() if isinstance(v, np.ndarray) else v for v in np.random.get_state()
            ],
            "action_space_rng": self.model.action_space.np_random.bit_generator.state,
        }

    def load_state_dict(self, state: dict) -> None:
        # SB3's load reseeds torch, numpy and the action space: restore our random states after it
        self.model = SpinningUpDDPG.load(io.BytesIO(state["sb3_model"]), env=self.gym_env, device="cpu")
        self.model.load_replay_buffer(io.BytesIO(state["sb3_replay_buffer"]))
        self.model.start_steps = self.config.start_steps
        super().load_state_dict(state)
        name, keys, pos, has_gauss, cached = state["numpy_global_rng"]
        np.random.set_state((name, np.asarray(keys, dtype=np.uint32), pos, has_gauss, cached))
        self.model.action_space.np_random.bit_generator.state = state["action_space_rng"]
