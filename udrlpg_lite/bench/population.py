"""Wall-clock cost of population training against the faithful one-rollout schedule.

With ``population`` = P, UDRLPG and GoGePo roll out P policies per iteration and scale their updates
by P, so the number of updates per rollout (the authors' ratio) is unchanged and only the rollouts are
batched. This benchmark trains both schedules from the same seed on the same env, alternating chunks
of ``chunk_steps`` env steps between them so that load from other processes hits both alike, and
reports the training cost per env step (evaluation excluded: the protocol is the same for both) and
its split between rollouts and updates. On Swimmer every episode has 1000 steps, so both schedules
do the same work per env step apart from the batching; elsewhere the episode lengths differ as the
two runs learn, which the per-step figures absorb.

    python -m udrlpg_lite bench-population --env Swimmer-v5 --population 8
"""

from __future__ import annotations

import dataclasses
import time

import torch

from ..algorithms.base import Algorithm
from ..experiments.runner import ALGORITHMS, build_config
from ..presets import env_preset


class _TimedRollouts:
    """Wraps an algorithm's train_env and adds up the seconds its ``evaluate`` calls take."""

    def __init__(self, evaluator) -> None:
        self.evaluator, self.seconds = evaluator, 0.0

    def __getattr__(self, name: str):
        return getattr(self.evaluator, name)

    def evaluate(self, *args, **kwargs):
        start = time.perf_counter()
        try:
            return self.evaluator.evaluate(*args, **kwargs)
        finally:
            self.seconds += time.perf_counter() - start


@dataclasses.dataclass
class ScheduleTiming:
    """What one schedule spent: env steps trained, total seconds, seconds in rollouts."""

    population: int
    env_steps: int = 0
    seconds: float = 0.0
    rollout_seconds: float = 0.0

    @property
    def steps_per_s(self) -> float:
        return self.env_steps / self.seconds

    @property
    def rollout_share(self) -> float:
        return self.rollout_seconds / self.seconds


def _build(
    algo: str, env_id: str, seed: int, population: int, sizes: dict
) -> tuple[Algorithm, _TimedRollouts]:
    config = build_config(algo, env_id, {"population": population} | sizes)
    trainer = ALGORITHMS[algo].cls(env_id, env_preset(env_id), seed, config)
    timed = _TimedRollouts(trainer.train_env)
    trainer.train_env = timed
    trainer.iterate()  # the warm-up, the same in both schedules: not timed
    return trainer, timed


def run(
    env_id: str = "Swimmer-v5",
    algo: str = "udrlpg",
    population: int = 8,
    steps: int = 100_000,
    chunk_steps: int = 10_000,
    seed: int = 0,
    sizes: dict | None = None,
) -> dict[int, ScheduleTiming]:
    """Train the faithful (P = 1) and the population (P) schedule for ``steps`` env steps each.

    ``sizes`` overrides the paper's network sizes (e.g. ``{"generator": "small"}``; for tests).

    Prints env-steps/s of training for both, the share of it spent in rollouts, and the speed-up;
    returns {P: ScheduleTiming}. The two trainers share torch's global RNG, so their runs are not
    those of separate processes: only the timings are meant here.
    """
    if algo not in ("udrlpg", "gogepo"):
        raise ValueError(f"population training exists for udrlpg and gogepo, not {algo!r}")
    if population < 2:
        raise ValueError(f"--population must be at least 2 to compare with 1, got {population}")
    if steps <= 0 or chunk_steps <= 0:
        raise ValueError("--steps and --chunk-steps must be positive")
    schedules = {
        p: (*_build(algo, env_id, seed, p, sizes or {}), ScheduleTiming(p)) for p in (1, population)
    }
    while any(timing.env_steps < steps for *_, timing in schedules.values()):
        for trainer, timed, timing in schedules.values():
            start_steps, start_rollouts = trainer.env_steps, timed.seconds
            start = time.perf_counter()
            while trainer.env_steps - start_steps < chunk_steps and timing.env_steps < steps:
                before = trainer.env_steps
                trainer.iterate()
                timing.env_steps += trainer.env_steps - before
            timing.seconds += time.perf_counter() - start
            timing.rollout_seconds += timed.seconds - start_rollouts

    faithful, batched = schedules[1][2], schedules[population][2]
    print(f"{algo} on {env_id}, seed {seed}: training env-steps/s (evaluation excluded)")
    print(f"torch threads {torch.get_num_threads()}; chunks of {chunk_steps} steps, alternating")
    for timing in (faithful, batched):
        print(
            f"  population {timing.population:>4}: {timing.steps_per_s:>8.0f} env-steps/s over "
            f"{timing.env_steps} steps, {100 * timing.rollout_share:.0f}% of it in rollouts"
        )
    print(
        f"speed-up of population {population} over the faithful schedule: "
        f"{batched.steps_per_s / faithful.steps_per_s:.2f}"
    )
    return {1: faithful, population: batched}
