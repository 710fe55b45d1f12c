"""Per-environment settings, so that ``--env`` alone gives the papers' protocol.

Return ranges and budgets are the UDRLPG authors' (JacopoD/udrlpg_); Pendulum-v1 and
MountainCarContinuous-v0 ranges are ours (their reward bounds), since the authors give none. The papers
used gym's -v2/-v3/-v4 MuJoCo tasks; we run gymnasium's -v5 ones (same observations, frame skips and
1000-step limits), and say so wherever we compare with the papers.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class EnvPreset:
    return_range: tuple[float, float]  # (min, max) used to scale returns to [0, 1]
    steps: int  # training budget in environment steps
    eval_every: int  # environment steps between evaluations
    survival_bonus: bool = True  # False: train without Hopper's healthy reward (evaluate with it)


ENV_PRESETS: dict[str, EnvPreset] = {
    "InvertedPendulum-v5": EnvPreset((0.0, 1000.0), 100_000, 1_000),
    "Swimmer-v5": EnvPreset((-100.0, 365.0), 3_000_000, 30_000),
    "Hopper-v5": EnvPreset((-100.0, 2000.0), 3_000_000, 30_000, survival_bonus=False),
    "HalfCheetah-v5": EnvPreset((-100.0, 4000.0), 3_000_000, 30_000),
    "CartPole-v1": EnvPreset((0.0, 500.0), 100_000, 1_000),
    "Pendulum-v1": EnvPreset((-1700.0, 0.0), 100_000, 2_000),
    "MountainCarContinuous-v0": EnvPreset((-100.0, 100.0), 100_000, 1_000),
}


def env_preset(env_id: str) -> EnvPreset:
    if env_id not in ENV_PRESETS:
        known = ", ".join(ENV_PRESETS)
        raise ValueError(f"no preset for env {env_id!r}; known: {known}")
    return ENV_PRESETS[env_id]


@dataclass(frozen=True)
class ReturnScale:
    """r -> (max(r, lo) - lo) / (hi - lo): the command space of UDRLPG is [0, 1] (can exceed 1)."""

    lo: float
    hi: float

    def __call__(self, ret: float) -> float:
        return (max(ret, self.lo) - self.lo) / (self.hi - self.lo)

    def unscale(self, scaled: float) -> float:
        return self.lo + scaled * (self.hi - self.lo)
