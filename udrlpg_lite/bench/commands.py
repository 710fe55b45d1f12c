"""The benchmark commands of ``python -m udrlpg_lite``: ``bench``, ``bench-population``,
``bench-train``, ``gpu-check`` and ``authors-code``, their arguments and what each runs. The command line
(``udrlpg_lite.cli``) adds them to its parser and hands them their parsed arguments; the modules
they run are imported only once one is chosen, which keeps the start-up light.
"""

from __future__ import annotations

import argparse
from pathlib import Path

BENCH_COMMANDS = ("bench", "bench-population", "bench-train", "gpu-check", "authors-code")


def add_bench_parsers(sub) -> list[argparse.ArgumentParser]:
    """The five commands' parsers, added to the command line's subparsers ``sub``."""
    bench = sub.add_parser("bench", help="time the batched engine against gymnasium and mj_step")
    bench.add_argument("--env", default="Hopper-v5")
    bench.add_argument("--policies", type=int, default=256)
    bench.add_argument("--steps", type=int, default=1000)
    bench.add_argument(
        "--device",
        choices=["auto", "cpu", "cuda"],
        default="auto",
        help="also time the GPU back end (gpu extra): auto = on a visible CUDA GPU, else not; "
        "cuda = on the GPU; cpu = on warp's CPU device (slow, for checking)",
    )

    pop = sub.add_parser(
        "bench-population",
        help="time population training against the faithful one-rollout schedule",
    )
    pop.add_argument("--env", default="Swimmer-v5")
    pop.add_argument("--algo", default="udrlpg", choices=["udrlpg", "gogepo"])
    pop.add_argument("--population", type=int, default=8)
    pop.add_argument("--steps", type=int, default=100_000, help="training env steps per schedule")
    pop.add_argument("--chunk-steps", type=int, default=10_000)
    pop.add_argument("--seed", type=int, default=0)

    bt = sub.add_parser(
        "bench-train",
        help="time the faithful UDRLPG loop (updates, rollouts) against one built like the authors'",
    )
    bt.add_argument("--env", default="InvertedPendulum-v5")
    bt.add_argument("--iterations", type=int, default=12, help="timed iterations per loop")
    bt.add_argument("--chunk", type=int, default=3, help="iterations per alternating chunk")
    bt.add_argument("--seed", type=int, default=0)
    bt.add_argument("--precisions", default="fp32,bf16", help="precisions of our loop to time")

    gc = sub.add_parser("gpu-check", help="the GPU report: parity, limits, rates, a Hopper run")
    gc.add_argument("--out", type=Path, required=True, help="writes gpu-check.md and .json here")
    gc.add_argument("--size", choices=["full", "tiny"], default="full")
    gc.add_argument(
        "--device", default="cuda", help="cuda (or cuda:N); cpu: warp's CPU device, for testing"
    )

    ac = sub.add_parser(
        "authors-code", help="run the UDRLPG authors' code (a clone of JacopoD/udrlpg_) on one seed"
    )
    ac.add_argument("--repo", type=Path, required=True, help="the clone of JacopoD/udrlpg_")
    ac.add_argument("--env", default="InvertedPendulum-v4", help="an env the authors' code knows")
    ac.add_argument("--seed", type=int, default=0)
    ac.add_argument("--out", type=Path, required=True, help="the run directory to write")
    return [bench, pop, bt, gc, ac]


def run_bench(args: argparse.Namespace) -> None:
    """Run the benchmark command ``args.cmd`` (one of BENCH_COMMANDS)."""
    if args.cmd == "bench":
        from . import engine

        engine.run(args.env, n_policies=args.policies, n_steps=args.steps, device=args.device)
        return
    if args.cmd == "bench-population":
        from ..presets import env_preset
        from . import population

        env_preset(args.env)  # unknown env -> one clear error
        population.run(args.env, args.algo, args.population, args.steps, args.chunk_steps, args.seed)
        return
    if args.cmd == "bench-train":
        from . import training

        precisions = tuple(args.precisions.split(","))
        for precision in precisions:
            if precision not in ("fp32", "bf16"):
                raise ValueError(f"--precisions takes fp32 and bf16, got {precision!r}")
        training.run(args.env, args.iterations, args.chunk, args.seed, precisions)
        return
    if args.cmd == "gpu-check":
        from . import gpu_check

        print(f"wrote {gpu_check.run(args.out, args.size, args.device)}")
        return
    if args.cmd == "authors-code":
        from . import authors_code

        out = authors_code.run(args.repo, args.env, args.seed, args.out)
        print(f"wrote {out}")
