"""Command line: ``python -m udrlpg_lite {train,resume,bench} ...``.

Examples:
  python -m udrlpg_lite train                                  # the demo: InvertedPendulum, ~1 min
  python -m udrlpg_lite train --env Swimmer-v5 --preset reliable  # our variant at the paper's sizes
  python -m udrlpg_lite train --env Swimmer-v5 --seed 1 --out runs/swimmer-s1
  python -m udrlpg_lite resume runs/swimmer-s1
  python -m udrlpg_lite train --env Swimmer-v5 --seeds 0,1,2,3  # four seeds in one process
  python -m udrlpg_lite export runs/swimmer-s1                 # generator.pt for the book
  python -m udrlpg_lite commands runs/swimmer-s1               # commanded vs achieved return
  python -m udrlpg_lite buffer runs/swimmer-s1 --replay 1      # what the replay buffer holds
  python -m udrlpg_lite relabel runs/ip-s0 --out runs/relabel  # refit on a relabelled buffer
  python -m udrlpg_lite bench --env Hopper-v5
  python -m udrlpg_lite bench --device cuda                   # also the GPU back end (gpu extra)
  python -m udrlpg_lite bench-population --env Swimmer-v5      # population vs faithful schedule
Errors in the input (unknown env, sigma <= 0, unwritable --out, corrupt checkpoint, ...) end the
program with one line ``error: ...`` and exit status 2.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import torch

from .bench.commands import BENCH_COMMANDS, add_bench_parsers, run_bench
from .experiments.sweep import torch_threads
from .presets import env_preset

DEFAULT_ENV = "InvertedPendulum-v5"
DEFAULT_STEPS = 20_000  # the built-in demo (preset "demo"): about a minute on 2 CPU cores
PRESETS = ("faithful", "reliable", "follow", "demo")  # udrlpg.PRESET_SETTINGS (not imported: start-up)


def _parse_set(items: list[str]) -> dict[str, str]:
    out = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep:
            raise ValueError(f"--set expects key=value, got {item!r}")
        out[key.strip().replace("-", "_")] = value.strip()
    return out


def _parse_seeds(text: str) -> list[int]:
    try:
        seeds = [int(part) for part in text.split(",")]
    except ValueError:
        raise ValueError(f"--seeds expects integers separated by commas, got {text!r}") from None
    if len(seeds) < 2 or len(set(seeds)) != len(seeds):
        raise ValueError(f"--seeds needs at least two distinct seeds, got {text!r}")
    return seeds


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m udrlpg_lite",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    sub = parser.add_subparsers(dest="cmd", required=True)

    train = sub.add_parser("train", help="train from scratch")
    train.add_argument("--env", default=None, help=f"gymnasium id (default: the demo on {DEFAULT_ENV})")
    train.add_argument("--algo", default="udrlpg")
    train.add_argument(
        "--steps",
        type=int,
        default=None,
        help=f"env-step budget (default: the env's paper budget; {DEFAULT_STEPS} "
        f"when --env is not given)",
    )
    train.add_argument("--seed", type=int, default=0)
    train.add_argument(
        "--preset",
        choices=PRESETS,
        default=None,
        help="udrlpg settings: faithful (the authors', the default with --env), reliable (ours: "
        "command by achieved return, newest policies kept), follow (ours: reliable with the "
        "command-following mechanisms and lr 1e-4), demo (reliable with a small policy and "
        "generator; the default without --env)",
    )
    train.add_argument(
        "--seeds",
        default=None,
        metavar="S1,S2,...",
        help="several seeds in one process (udrlpg, gogepo), their training episodes played "
        "together; run directories OUT/s<seed>",
    )
    train.add_argument("--out", type=Path, default=None, help="run directory (default runs/...)")
    train.add_argument("--eval-every", type=int, default=None)
    train.add_argument("--sigma", type=float, default=None, help="parameter noise std")
    train.add_argument("--lr", type=float, default=None)
    train.add_argument("--population", type=int, default=None, help="rollouts per iteration")
    train.add_argument(
        "--device",
        choices=["auto", "cpu", "cuda"],
        default="auto",
        help="where udrlpg and gogepo keep their networks, updates and buffers (episodes: see "
        "--sim); auto = cuda when a CUDA GPU and the gpu extra are there, else cpu",
    )
    train.add_argument(
        "--sim",
        choices=["auto", "cpu", "gpu"],  # placement.SIMS (not imported: keeps start-up light)
        default=None,
        help="where a --device cuda run of udrlpg or gogepo simulates its episodes: auto = the CPU "
        "engine for small populations (the faithful P = 1), MuJoCo Warp for large ones",
    )
    train.add_argument(
        "--precision",
        choices=["auto", "fp32", "bf16"],  # precision.PRECISIONS (not imported: keeps start-up light)
        default=None,
        help="matmul precision of the network updates of udrlpg and gogepo "
        "(auto: the faster on this machine, measured once and cached)",
    )
    train.add_argument(
        "--set",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="any other algorithm setting, e.g. --set buffer=fifo",
    )

    resume = sub.add_parser("resume", help="continue an interrupted run")
    resume.add_argument("out", type=Path)

    commands = sub.add_parser(
        "commands", help="a udrlpg or gogepo run's commanded vs achieved return (RUN/summary.png)"
    )
    commands.add_argument("out", type=Path)
    commands.add_argument("--commands", type=int, default=10, help="commands over the return range")
    commands.add_argument("--episodes", type=int, default=5, help="episodes per command")

    census = sub.add_parser(
        "buffer", help="a udrlpg run's replay buffer: stored returns, sampling mass, replays"
    )
    census.add_argument("out", type=Path)
    census.add_argument("--bins", type=int, default=10, help="return ranges over the env's range")
    census.add_argument(
        "--replay", type=int, default=0, metavar="N",
        help="play every stored policy N times without noise under today's normaliser",
    )  # fmt: skip

    rl = sub.add_parser(
        "relabel", help="refit udrlpg runs on their buffer as stored and relabelled by a replay"
    )
    rl.add_argument("runs", type=Path, nargs="+", help="trained udrlpg run directories")
    rl.add_argument("--out", type=Path, required=True, help="writes relabel.json and .txt here")
    rl.add_argument("--updates", type=int, default=4500, help="generator updates after relabelling")

    report = sub.add_parser(
        "report", help="final return over seeds with a 95%% bootstrap CI, pass rate and RMSE"
    )
    report.add_argument(
        "roots", type=Path, nargs="+", help="folders of run directories (grouped by parent folder)"
    )
    report.add_argument(
        "--out",
        type=Path,
        required=True,
        help="writes summary.csv, table1.md, README.md (provenance) and the figures here",
    )

    export = sub.add_parser(
        "export", help="write RUN/generator.pt: a UDRLPG run's generator, normaliser and command"
    )
    export.add_argument("out", type=Path)

    sw = sub.add_parser(
        "sweep", help="every env x algo x seed as a run directory, on all cores (or on Ray)"
    )
    sw.add_argument("--envs", required=True, help="gymnasium ids, comma-separated")
    sw.add_argument("--algos", default="udrlpg", help="algorithms, comma-separated")
    sw.add_argument("--seeds", dest="sweep_seeds", default="0-4", help="e.g. 0-4 or 0,1,7")
    sw.add_argument("--out", type=Path, required=True, help="runs go to OUT/<env>-<algo>/s<seed>")
    sw.add_argument("--steps", type=int, default=None, help="env-step budget (default: the paper's)")
    sw.add_argument("--preset", choices=PRESETS, default="faithful", help="udrlpg settings")
    sw.add_argument("--eval-every", type=int, default=None)
    sw.add_argument("--set", action="append", default=[], metavar="KEY=VALUE")
    sw.add_argument("--workers", type=int, default=None, help="processes (default: usable cores)")
    sw.add_argument("--ray", default=None, metavar="ADDRESS", help="run as Ray tasks (or: local)")

    for p in (train, resume, commands, census, rl, report, export, sw, *add_bench_parsers(sub)):
        p.add_argument(
            "--threads",
            default="auto",
            help="torch threads: a number, or auto (the cores this process may use, shared among "
            "the seeds of --seeds)",
        )
        p.add_argument("--no-progress", action="store_true", help="hide the progress bar")
    return parser


def run_cli(argv: list[str] | None = None) -> None:
    args = build_parser().parse_args(argv)
    seeds = _parse_seeds(args.seeds) if getattr(args, "seeds", None) is not None else None
    torch.set_num_threads(torch_threads(args.threads, len(seeds) if seeds else 1))
    if args.cmd in BENCH_COMMANDS:
        run_bench(args)
        return
    if args.cmd == "sweep":
        from .experiments.sweep import parse_seeds, plan, run_sweep

        jobs = plan(
            args.envs.split(","),
            args.algos.split(","),
            parse_seeds(args.sweep_seeds),
            args.out,
            steps=args.steps,
            preset=args.preset,
            overrides=_parse_set(args.set),
            eval_every=args.eval_every,
        )
        for result in run_sweep(jobs, args.workers, args.ray):
            print(f"{result['out']}: {result['status']} ({result['wall_time_s']:.0f} s)")
        return
    if args.cmd == "report":
        from .experiments.report import write_report

        for name in write_report(args.roots, args.out):
            print(f"wrote {args.out / name}")
        return

    if args.cmd == "relabel":
        from .experiments import relabel

        rows = relabel.study(args.runs, args.updates)
        for row in rows:
            print(relabel.format_row(row))
        for path in relabel.write(rows, args.out):
            print(f"wrote {path}")
        return

    from .algorithms.base import auto_device
    from .experiments.runner import ALGORITHMS, Run

    if args.cmd == "export":
        run = Run.load(args.out)
        if not hasattr(run.algo, "export"):
            raise ValueError(f"{args.out} is a {run.settings['algo']} run; only udrlpg runs export")
        torch.save(run.algo.export(), args.out / "generator.pt")
        print(f"wrote {args.out / 'generator.pt'} (at {run.algo.env_steps} env steps)")
        return
    if args.cmd == "buffer":
        from .experiments.buffer_census import census, format_census

        result = census(Run.load(args.out), args.bins, args.replay)
        print(format_census(result))
        (args.out / "buffer.json").write_text(json.dumps(result, indent=2))
        print(f"wrote {args.out / 'buffer.json'}")
        return
    if args.cmd == "commands":
        run = Run.load(args.out)
        sweep = run.command_sweep(args.commands, args.episodes)
        _print_sweep(sweep)
        print(f"wrote {args.out / 'commands.json'} and {args.out / 'summary.png'}")
        return
    if args.cmd == "resume":
        run = Run.load(args.out)
    else:
        demo = args.env is None
        args.env = args.env or DEFAULT_ENV
        env_preset(args.env)  # unknown env -> one clear error
        steps = args.steps
        if steps is None:
            steps = DEFAULT_STEPS if demo else env_preset(args.env).steps
        preset = args.preset or ("demo" if demo and args.algo == "udrlpg" else "faithful")
        if preset != "faithful" and args.algo != "udrlpg":
            raise ValueError(f"--preset {preset} is a udrlpg preset, not one for {args.algo}")
        from .algorithms.udrlpg import PRESET_SETTINGS

        overrides = dict(PRESET_SETTINGS[preset]) | _parse_set(args.set)
        for name in ("sigma", "lr", "population", "precision", "sim"):
            if getattr(args, name) is not None:
                overrides[name] = getattr(args, name)
        tag = f"s{args.seed}" if seeds is None else "seeds" + "-".join(map(str, seeds))
        out = args.out or Path("runs") / f"{args.env}-{args.algo}-{tag}"
        gpu_path = args.algo in ALGORITHMS and ALGORITHMS[args.algo].cls.supports_gpu
        device = args.device
        if device == "auto":  # the CPU for algorithms without a GPU path, whatever is present
            device = auto_device() if gpu_path else "cpu"
        if seeds is not None:
            from .experiments.multiseed import train_together

            if args.algo in ALGORITHMS and not gpu_path:
                raise ValueError(f"--seeds trains udrlpg or gogepo, not {args.algo}")
            runs = [
                Run.create(
                    out / f"s{seed}",
                    args.algo,
                    args.env,
                    steps,
                    seed,
                    overrides,
                    args.eval_every,
                    device,
                    preset,
                )
                for seed in seeds
            ]
            train_together(runs, progress=not args.no_progress)
            for run in runs:
                last = run.rows[-1]
                print(
                    f"seed {run.settings['seed']}: final eval return "
                    f"{last['eval_return_mean']:.1f}; results in {run.out}/"
                )
            return
        run = Run.create(
            out, args.algo, args.env, steps, args.seed, overrides, args.eval_every, device, preset
        )
    rows = run.train(progress=not args.no_progress)
    last = rows[-1]
    print(
        f"done: {run.algo.env_steps} env steps, final eval return "
        f"{last['eval_return_mean']:.1f} +- {last['eval_return_std']:.1f}; "
        f"results in {run.out}/ (metrics.csv, manifest.json, curve.png)"
    )
    if run.settings.get("preset") == "demo":  # the demo ends with the trained generator's test
        _print_sweep(run.command_sweep())
        print(f"plot: {run.out / 'summary.png'} (learning curve, commanded vs achieved return)")


def _print_sweep(sweep: dict) -> None:
    print(f"commanded vs achieved return ({sweep['episodes']} episodes each, no noise):")
    for c, m, s in zip(sweep["commands"], sweep["mean"], sweep["std"]):
        print(f"  {c:9.1f} -> {m:9.1f} +- {s:.1f}")
    print(f"  RMSE of achieved vs commanded: {sweep['rmse']:.1f}")


def main(argv: list[str] | None = None) -> int:
    try:
        run_cli(argv)
    except (ValueError, OSError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(
            "interrupted: `python -m udrlpg_lite resume DIR` continues from the last checkpoint",
            file=sys.stderr,
        )
        return 130
    return 0
