"""The matmul precision of network updates, chosen by measuring it on the machine that runs them.

bf16 autocast can make a generator update several times faster or slower than fp32, and which one
a CPU flag does not tell: on this project's developer machines it was 2.6x faster on one AMD EPYC,
1.4x slower on an Intel Xeon with avx512_bf16, and about 9x slower on an AMD EPYC without AVX-512
(the probe below: 0.70 s against 6.5 s per paper-sized update). ``python -m udrlpg_lite bench-train
--precisions fp32,bf16`` measures it on the machine at hand.
So ``precision="auto"`` times a few updates of a copy of the run's own networks in both precisions
(the copies and their random batches leave the run's networks and random streams untouched) and
keeps the faster one. The answer is cached per machine, torch version, thread count and network
size in ``~/.cache/udrlpg_lite/precision.json`` (``UDRLPG_CACHE`` moves the folder), so a run, its
resume and a rerun of the same seed use the same precision; the runner also writes the chosen one
into the run's run.json.
"""

from __future__ import annotations

import json
import os
import platform
import time
from collections.abc import Callable
from pathlib import Path

import torch

PRECISIONS = ("auto", "fp32", "bf16")

# one timed update: bf16 (True) or fp32 (False); built fresh by the algorithm for each call
StepFactory = Callable[[bool], Callable[[], None]]


def check_precision(precision: str) -> None:
    """A one-line ValueError unless ``precision`` is one of PRECISIONS (the configs' check)."""
    if precision not in PRECISIONS:
        raise ValueError(f"unknown precision {precision!r}; use {', '.join(PRECISIONS)}")


def cache_path() -> Path:
    root = os.environ.get("UDRLPG_CACHE") or Path.home() / ".cache" / "udrlpg_lite"
    return Path(root) / "precision.json"


# the CPU features that decide how fast a matmul runs in fp32 and bf16
MATMUL_FEATURES = ("avx2", "avx512f", "avx512_bf16", "amx_bf16")


def cpu_name(cpuinfo: str = "/proc/cpuinfo") -> str:
    """The processor's model name and its MATMUL_FEATURES, from /proc/cpuinfo where there is one.

    A virtual machine's model name can be as vague as "AMD EPYC": two of this project's developer
    machines had that name, one without AVX-512 (bf16 updates 9x slower) and one with avx512_bf16
    (3x faster), so the features are part of the name that results and the precision cache record.
    """
    try:
        with open(cpuinfo) as f:
            lines = f.read().splitlines()
    except OSError:
        return platform.processor() or platform.machine()
    fields = dict(line.split(":", 1) for line in lines if ":" in line)
    fields = {key.strip(): value.strip() for key, value in fields.items()}
    name = fields.get("model name") or platform.processor() or platform.machine()
    flags = fields.get("flags", "").split()
    features = [feature for feature in MATMUL_FEATURES if feature in flags]
    return f"{name} ({' '.join(features) or 'no avx2'})"


def usable_cores() -> int:
    """The cores this process may run on (``os.sched_getaffinity`` where the OS has it)."""
    if hasattr(os, "sched_getaffinity"):
        return len(os.sched_getaffinity(0))
    return os.cpu_count() or 1


def machine_key(device: torch.device, what: str) -> str:
    """What the measured answer depends on: processor, torch, threads, device and the networks."""
    cpu = cpu_name()
    if device.type == "cuda":
        cpu = torch.cuda.get_device_name(device)
    return f"{cpu} | torch {torch.__version__} | threads {torch.get_num_threads()} | {what}"


def describe(algo: str, batch: int, *networks: torch.nn.Module) -> str:
    """The part of the cache key naming what an update computes: algorithm, sizes, batch."""
    sizes = "+".join(str(sum(p.numel() for p in net.parameters())) for net in networks)
    return f"{algo} update: {sizes} params, batch {batch}"


def time_step(step: Callable[[], None], device: torch.device, timer: Callable[[], float]) -> float:
    """Seconds one call of ``step`` takes (the device synchronised before reading the clock)."""
    sync = torch.cuda.synchronize if device.type == "cuda" else (lambda: None)
    sync()
    start = timer()
    step()
    sync()
    return timer() - start


def measure(
    make_step: StepFactory,
    device: torch.device,
    repeats: int = 2,
    timer: Callable[[], float] = time.perf_counter,
) -> dict[str, float]:
    """Best time of ``repeats`` updates in each precision, interleaved (fp32, bf16, fp32, ...) so
    that other load on the machine hits both alike, after one timed warm-up each; where the
    warm-ups already differ by more than 4x, they are the answer (no repeat would reverse it)."""
    steps = {"fp32": make_step(False), "bf16": make_step(True)}
    times = {name: [time_step(step, device, timer)] for name, step in steps.items()}
    if max(times["fp32"][0], times["bf16"][0]) <= 4 * min(times["fp32"][0], times["bf16"][0]):
        times = {name: [] for name in steps}  # the warm-ups paid for allocations and kernel choice
        for _ in range(repeats):
            for name, step in steps.items():
                times[name].append(time_step(step, device, timer))
    return {name: min(values) for name, values in times.items()}


def update_in_bf16(
    precision: str,
    device: torch.device,
    make_step: StepFactory,
    what: str,
    timer: Callable[[], float] = time.perf_counter,
    cache: Path | None = None,
) -> bool:
    """Whether updates run in bf16: "fp32" and "bf16" as said; "auto" the faster, as measured.

    ``what`` names the networks and batch (part of the cache key); ``timer`` and ``cache`` are
    there for tests.
    """
    check_precision(precision)
    if precision != "auto":
        return precision == "bf16"
    if device.type == "cuda" and not torch.cuda.is_bf16_supported():
        return False
    cache = cache or cache_path()
    key = machine_key(device, what)
    try:
        known = json.loads(cache.read_text())
    except (OSError, ValueError):
        known = {}
    if key not in known:
        seconds = measure(make_step, device, timer=timer)
        known[key] = {"choice": min(seconds, key=seconds.get), "seconds": seconds}
        try:
            cache.parent.mkdir(parents=True, exist_ok=True)
            tmp = cache.with_name(f"{cache.name}.{os.getpid()}.tmp")
            tmp.write_text(json.dumps(known, indent=2))
            os.replace(tmp, cache)  # atomic: runs in parallel never read half a file
        except OSError:
            pass  # an unwritable cache only costs a new measurement next time
    return known[key]["choice"] == "bf16"
