"""``python -m udrlpg_lite bench-train``: the faithful UDRLPG loop against one built like the authors'.

The reference loop is structured as the UDRLPG authors' code (JacopoD/udrlpg_): one gymnasium env
(``gymnasium.make``) stepping one policy, whose forward pass runs once per step on one observation,
fp32 generator updates with torch's default Adam on one torch thread, 8 updates of batch 24 per
rollout. Ours is ``UDRLPG.iterate`` on the batched MuJoCo engine, at each thread count and
precision the machine offers. Both use the same generator, buffer and seed, the warm-up is not
timed, and the loops run alternating chunks of iterations so that other load on the machine hits all
of them alike.

Update and rollout time are measured separately, as seconds per update and seconds per rollout step.
Since the loops learn differently, their episode lengths drift apart; so the speed ratio prices each
loop's update and step costs at the reference loop's own mix of updates and steps:

    ratio = T_reference / (n_updates * s_per_update + n_steps * s_per_step)

The ceiling says how far the ratio can go on this machine. Nearly all of an update is matrix
multiplication, so it cannot take less than (its FLOPs) / (the rate this machine multiplies at).
The FLOPs of one update (forward and backward) are counted by ``torch.utils.flop_counter``; the
rate is timed on a square matmul, one thread per core, at each precision. With every usable core
multiplying at that rate and the rollouts as fast as ours, the reference's mix would take

    T_ceiling = n_updates * FLOPs / (cores * rate) + n_steps * s_per_step(ours, fastest)

and T_reference / T_ceiling bounds the ratio.

    python -m udrlpg_lite bench-train --env Hopper-v5 --iterations 12
"""

from __future__ import annotations

import dataclasses
import time

import torch
import torch.nn.functional as F
from torch.utils.flop_counter import FlopCounterMode

from ..algorithms.precision import cpu_name, usable_cores
from ..algorithms.udrlpg import UDRLPG, UDRLPGConfig
from ..envs.gym_vector import GymVectorEvaluator
from ..presets import env_preset
from .population import _TimedRollouts


@dataclasses.dataclass
class LoopTiming:
    """One loop's setting and what it spent (warm-up excluded)."""

    name: str
    threads: int
    precision: str
    updates: int = 0
    env_steps: int = 0
    seconds: float = 0.0
    rollout_seconds: float = 0.0

    @property
    def s_per_update(self) -> float:
        return (self.seconds - self.rollout_seconds) / max(self.updates, 1)

    @property
    def s_per_step(self) -> float:
        return self.rollout_seconds / max(self.env_steps, 1)

    def priced_at(self, mix: LoopTiming) -> float:
        """Seconds this loop would take for ``mix``'s updates and env steps."""
        return mix.updates * self.s_per_update + mix.env_steps * self.s_per_step


def _loop(
    env_id: str, seed: int, precision: str, reference: bool, sizes: dict
) -> tuple[UDRLPG, _TimedRollouts]:
    config = UDRLPGConfig(precision=precision, **sizes)
    trainer = UDRLPG(env_id, env_preset(env_id), seed, config)
    if reference:  # one gymnasium env, one policy forward per step (GymVectorEvaluator with n = 1)
        trainer.train_env = GymVectorEvaluator(env_id, seed=seed)
        # and torch's default Adam, as the authors' code builds it (ours fuses its step)
        trainer.optimizer = torch.optim.Adam(trainer.generator.parameters(), lr=config.lr)
    timed = _TimedRollouts(trainer.train_env)
    trainer.train_env = timed
    trainer.iterate()  # the warm-up: the same work in every loop, not timed
    return trainer, timed


def update_flops(trainer: UDRLPG) -> int:
    """FLOPs of one generator update as ``UDRLPG.update`` makes it (forward and backward)."""
    n, batch = trainer.spec.n_params, trainer.config.batch_size
    generator = trainer.generator
    with FlopCounterMode(display=False) as counter:
        generated = generator(torch.rand(batch))
        F.mse_loss(generated, torch.zeros(batch, n)).backward()
    generator.zero_grad(set_to_none=True)
    return counter.get_total_flops()


def matmul_rate(precision: str, threads: int = 1, size: int = 1024, repeats: int = 3) -> float:
    """FLOP/s of a size^3 matmul at ``precision`` on ``threads`` threads (best of ``repeats``)."""
    dtype = torch.bfloat16 if precision == "bf16" else torch.float32
    a, b = torch.randn(size, size, dtype=dtype), torch.randn(size, size, dtype=dtype)
    before = torch.get_num_threads()
    torch.set_num_threads(threads)
    a @ b  # warm-up
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        a @ b
        best = min(best, time.perf_counter() - start)
    torch.set_num_threads(before)
    return 2 * size**3 / best


def machine() -> str:
    return f"{cpu_name()}, {usable_cores()} cores usable, torch {torch.__version__}"


def run(
    env_id: str,
    iterations: int = 12,
    chunk: int = 3,
    seed: int = 0,
    precisions: tuple[str, ...] = ("fp32", "bf16"),
    thread_counts: tuple[int, ...] | None = None,
    sizes: dict | None = None,
) -> dict[str, LoopTiming]:
    """Time ``iterations`` iterations of every loop (chunks of ``chunk``); print and return them.

    ``sizes`` overrides the paper's policy and generator sizes (tests use small ones).
    """
    sizes = sizes or {}
    env_preset(env_id)  # unknown env -> one clear error
    if iterations <= 0 or chunk <= 0:
        raise ValueError("--iterations and --chunk must be positive")
    thread_counts = thread_counts or tuple(sorted({1, usable_cores()}))
    reference_loop = _loop(env_id, seed, "fp32", True, sizes)
    loops = {"reference": (LoopTiming("reference", 1, "fp32"), *reference_loop)}
    for threads in thread_counts:
        for precision in precisions:
            name = f"ours, {threads} thread{'s' if threads > 1 else ''}, {precision}"
            timing = LoopTiming(name, threads, precision)
            loops[name] = (timing, *_loop(env_id, seed, precision, False, sizes))
    done = 0
    while done < iterations:
        n = min(chunk, iterations - done)
        for timing, trainer, timed in loops.values():
            torch.set_num_threads(timing.threads)
            steps, rollout_s = trainer.env_steps, timed.seconds
            start = time.perf_counter()
            for _ in range(n):
                trainer.iterate()
            timing.seconds += time.perf_counter() - start
            timing.rollout_seconds += timed.seconds - rollout_s
            timing.env_steps += trainer.env_steps - steps
            timing.updates += n * trainer.config.updates_per_rollout
        done += n

    reference = loops["reference"][0]
    what = f"sizes {sizes}" if sizes else "paper sizes"
    print(f"bench-train: UDRLPG ({what}) on {env_id}, seed {seed}, {iterations} iterations")
    print(f"machine: {machine()}; chunks of {chunk} iterations, alternating")
    print(f"{'loop':<28} {'ms/update':>10} {'us/step':>9} {'steps/s':>8} {'rollout %':>9} {'ratio':>6}")
    ours = {}
    for name, (timing, *_) in loops.items():
        ratio = reference.priced_at(reference) / timing.priced_at(reference)
        if name != "reference":
            ours[name] = ratio
        print(
            f"{name:<28} {1000 * timing.s_per_update:>10.1f} {1e6 * timing.s_per_step:>9.1f} "
            f"{timing.env_steps / timing.seconds:>8.0f} "
            f"{100 * timing.rollout_seconds / timing.seconds:>9.1f} {ratio:>6.2f}"
        )
    best = max(ours, key=ours.get)
    print(f"fastest: {best}")
    flops = update_flops(loops["reference"][1])
    cores = usable_cores()
    fastest_rollout = min(loops[name][0].s_per_step for name in ours)
    for precision in precisions:
        rate = matmul_rate(precision)
        floor = reference.updates * flops / (cores * rate) + reference.env_steps * fastest_rollout
        print(
            f"ceiling, {precision}: an update is {flops / 1e9:.2f} GFLOP, one thread multiplies at "
            f"{rate / 1e9:.1f} GFLOP/s ({1000 * flops / rate:.0f} ms/update); on {cores} cores "
            f"the ratio is at most {reference.seconds / floor:.2f}"
        )
    print(f"speed ratio train/reference: {ours[best]:.2f}")
    return {name: timing for name, (timing, *_) in loops.items()}
