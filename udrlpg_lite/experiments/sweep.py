"""Every combination of envs x algorithms x seeds as ordinary run directories.

    python -m udrlpg_lite sweep --envs InvertedPendulum-v5,Swimmer-v5 --algos udrlpg,ars \
        --seeds 0-4 --out runs/sweep

Each combination is one job and one run directory, ``OUT/<env>-<algo>/s<seed>``, exactly as
``train --out`` would write it (run.json, metrics.csv, checkpoints, manifest.json). A job whose
manifest says ``complete`` is kept as it is; one with a checkpoint resumes from it; any other starts
from scratch. A sweep that is killed and started again therefore finishes with the runs an
uninterrupted sweep gives (each run resumes to the same result, ``tests/test_sweep.py``). A finished
UDRLPG or GoGePo run ends with its trained generator's command test (``commands.json``, the data of
the UDRLPG paper's Figure 4), as ``python -m udrlpg_lite commands`` would write it.

Jobs run in a process pool with one worker per core this process may use, the cores shared out as
torch threads (one each in a full pool; ``--workers 1`` on two cores gives its run both), so no run
falls into the oversubscription trap; or, with ``--ray ADDRESS``, as Ray tasks of
one CPU each on a cluster (``pip install "udrlpg_lite[ray]"``; ``--ray local`` starts a Ray instance
on this machine). Either way the results land in the same directories.
"""

from __future__ import annotations

import json
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import dataclass, field, replace
from multiprocessing import get_context
from pathlib import Path

import torch
from tqdm import tqdm

GENERATOR_ALGOS = ("udrlpg", "gogepo")  # the algorithms whose runs end with a command test


@dataclass(frozen=True)
class Job:
    """One run of the sweep: what ``train`` would be asked for, and where it writes."""

    out: str
    algo: str
    env: str
    seed: int
    steps: int
    preset: str = "faithful"
    overrides: dict = field(default_factory=dict)
    eval_every: int | None = None
    checkpoint_every_s: float = 60.0
    threads: int = 1


def torch_threads(setting: str, n_runs: int = 1, cores: int | None = None) -> int:
    """Torch's thread count: a number as given, or "auto": the cores this process may use
    (``os.sched_getaffinity``) shared among the ``n_runs`` runs training in it at once.

    A faithful run alternates updates (torch) and rollouts (MuJoCo), so a lone run can give each
    phase every core; runs that update at the same time get a share each, since more torch threads
    than free cores makes these small matmuls hundreds of times slower. Several processes on one
    machine should each be given their cores (``taskset``) or ``--threads``.
    """
    if setting != "auto":
        try:
            threads = int(setting)
        except ValueError:
            raise ValueError(f"--threads must be a positive integer or auto, got {setting!r}") from None
        if threads <= 0:
            raise ValueError(f"--threads must be positive, got {threads}")
        return threads
    if cores is None:
        from ..algorithms.precision import usable_cores

        cores = usable_cores()
    return max(1, cores // n_runs)


def parse_seeds(text: str) -> list[int]:
    """``0-4`` or ``0,2,5`` (or both: ``0-2,7``) as a list of distinct seeds."""
    seeds: list[int] = []
    try:
        for part in text.split(","):
            low, dash, high = part.partition("-")
            seeds += list(range(int(low), int(high) + 1)) if dash else [int(low)]
    except ValueError:
        raise ValueError(f"--seeds expects e.g. 0-4 or 0,1,2, got {text!r}") from None
    if not seeds or len(set(seeds)) != len(seeds):
        raise ValueError(f"--seeds must name distinct seeds, got {text!r}")
    return seeds


def plan(
    envs: list[str],
    algos: list[str],
    seeds: list[int],
    out: Path,
    *,
    steps: int | None = None,
    preset: str = "faithful",
    overrides: dict | None = None,
    eval_every: int | None = None,
    checkpoint_every_s: float = 60.0,
) -> list[Job]:
    """The jobs of a sweep, checked before any starts (unknown env or algorithm: one clear error)."""
    from ..algorithms.udrlpg import PRESET_SETTINGS
    from ..presets import env_preset
    from .runner import ALGORITHMS

    jobs = []
    for env in envs:
        budget = steps if steps is not None else env_preset(env).steps  # unknown env -> ValueError
        for algo in algos:
            if algo not in ALGORITHMS:
                raise ValueError(f"unknown algorithm {algo!r}; choose from {sorted(ALGORITHMS)}")
            run_preset = preset if algo == "udrlpg" else "faithful"
            settings = dict(PRESET_SETTINGS[run_preset]) | dict(overrides or {})
            for seed in seeds:
                jobs.append(
                    Job(
                        str(out / f"{env}-{algo}" / f"s{seed}"),
                        algo,
                        env,
                        seed,
                        budget,
                        run_preset,
                        settings,
                        eval_every,
                        checkpoint_every_s,
                    )
                )
    return jobs


def is_complete(out: Path) -> bool:
    manifest = out / "manifest.json"
    return manifest.exists() and json.loads(manifest.read_text()).get("status") == "complete"


def run_job(job: Job) -> dict:
    """Train one job to its budget (or keep it, if done); returns its directory and final row."""
    from .runner import Run

    torch.set_num_threads(job.threads)
    out = Path(job.out)
    run = None  # trained here, or finished by an earlier process
    if not is_complete(out):
        if (out / "checkpoint.pt").exists():
            run = Run.load(out)
        else:
            run = Run.create(
                out,
                job.algo,
                job.env,
                job.steps,
                job.seed,
                dict(job.overrides),
                job.eval_every,
                "cpu",
                job.preset,
            )
        run.train(checkpoint_every_s=job.checkpoint_every_s, progress=False)
    if job.algo in GENERATOR_ALGOS and not (out / "commands.json").exists():
        # after training: evaluation episodes, not training steps
        (run or Run.load(out)).command_sweep()
    manifest = json.loads((out / "manifest.json").read_text())
    return {"out": job.out, "status": manifest["status"], "wall_time_s": manifest["wall_time_s"]}


def run_sweep(jobs: list[Job], workers: int | None = None, ray_address: str | None = None) -> list[dict]:
    """Run every job; the finished ones in the order they finish, with a progress bar."""
    if ray_address is not None:
        return _run_on_ray(jobs, ray_address)
    from ..algorithms.precision import usable_cores

    workers = min(workers or usable_cores(), len(jobs))
    threads = torch_threads("auto", n_runs=workers)  # the cores shared out among the workers
    jobs = [replace(job, threads=threads) for job in jobs]
    done = []
    with (
        ProcessPoolExecutor(workers, mp_context=get_context("spawn")) as pool,
        tqdm(total=len(jobs), desc=f"sweep ({workers} workers)", unit="run") as bar,
    ):
        futures = [pool.submit(run_job, job) for job in jobs]
        for future in as_completed(futures):
            done.append(future.result())
            bar.update()
    return done


def _run_on_ray(jobs: list[Job], address: str) -> list[dict]:
    try:
        import ray
    except ImportError:
        raise ValueError('--ray needs Ray: pip install "udrlpg_lite[ray]"') from None
    started_here = not ray.is_initialized()
    if started_here:
        ray.init(address=None if address == "local" else address, log_to_driver=False)
    try:
        task = ray.remote(num_cpus=1)(run_job)
        pending = [task.remote(job) for job in jobs]
        done = []
        with tqdm(total=len(jobs), desc="sweep (ray)", unit="run") as bar:
            while pending:
                ready, pending = ray.wait(pending, num_returns=1)
                done += ray.get(ready)
                bar.update(len(ready))
        return done
    finally:
        if started_here:
            ray.shutdown()
