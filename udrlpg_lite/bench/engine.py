"""Throughput benchmark: the batched evaluator against gymnasium's single env and raw mj_step.

Three rates in env-steps per second, measured in one run on the same kind of policy, an MLP with
PolicySpec's default (256, 256) tanh hidden layers and torch.nn.Linear's default initial scale:

(a) the evaluator of ``make_evaluator(env_id)`` running n_policies such policies for one episode
    each; the env-steps counted are those actually taken (random policies fall early on Hopper),
(b) ``gymnasium.make(env_id)`` stepped n_steps times with one batch-1 MLP forward per step,
    resetting when an episode ends and taking the next policy for the next episode,
(c) ``mujoco.mj_step`` on one MjData, frame_skip substeps per env-step and zero control, no policy
    and no Python env logic (MuJoCo engine envs only): what one thread of physics alone can do;
(d) where the gpu extra is installed (MuJoCo engine envs only), the GPU back end
    (``envs/gpu_backend.py``) as (a), for several numbers of worlds: 1k, 4k and 16k on a CUDA GPU;
    64 and 256 on warp's CPU device, which runs the GPU code path but launches every kernel from
    Python (~20 ms per physics step of a few worlds) and is timed only to show its cost.

Each of (a)-(c) is measured REPEATS times, interleaved so that load from other processes hits all
three alike, and the best rate of each is reported (as ``timeit`` does); (d) follows, best of
REPEATS for each number of worlds on a GPU, once on warp's CPU device. Every engine repeat plays
the same episodes (same seed), so its env-step count is the same.
"""

from __future__ import annotations

import importlib.util
import time

import gymnasium
import mujoco
import torch

from udrlpg_lite.envs import ENGINE_ENVS, Evaluator, make_evaluator, require_gpu_backend
from udrlpg_lite.envs.mujoco_batch import DEFAULT_NTHREAD, TASKS, MujocoBatchEvaluator
from udrlpg_lite.policy import PolicySpec, PopulationPolicy

TORCH_THREADS = 1  # a small MLP gains nothing from a second thread and suffers if that core is busy
REPEATS = 3
# (d) per device: numbers of worlds (a GPU needs thousands to be busy) and repeats (warp's CPU device
# takes ~35 s for 256 Hopper worlds and is timed only to show its cost: once)
GPU_BACKEND_WORLDS = {"cuda": (1024, 4096, 16384), "cpu": (64, 256)}
GPU_BACKEND_REPEATS = {"cuda": REPEATS, "cpu": 1}


def _random_policies(spec: PolicySpec, n: int, seed: int) -> torch.Tensor:
    """[n, n_params] weights at torch.nn.Linear's default scale: U(-1/sqrt(fan_in), 1/sqrt(fan_in))."""
    generator = torch.Generator().manual_seed(seed)
    layers = [
        (2 * torch.rand(n, fan_in * fan_out + fan_out, generator=generator) - 1) / fan_in**0.5
        for fan_in, fan_out in spec.layers  # each layer's W then b, as policy.py lays them out
    ]
    return torch.cat(layers, dim=1)


def _engine_rate(evaluator: Evaluator, n_policies: int, seed: int) -> tuple[float, int]:
    """(env-steps/s, env-steps) of one evaluate call on n_policies random policies."""
    spec = PolicySpec(evaluator.obs_dim, evaluator.act_dim, act_bound=evaluator.act_bound)
    policy = PopulationPolicy(spec, _random_policies(spec, n_policies, seed))
    start = time.perf_counter()
    rollouts = evaluator.evaluate(policy, n_policies)
    seconds = time.perf_counter() - start
    steps = int(rollouts.lengths.sum())
    return steps / seconds, steps


def _gymnasium_rate(env_id: str, n_steps: int, seed: int) -> float:
    """env-steps/s of gymnasium.make(env_id) driven by batch-1 MLP forwards."""
    env = gymnasium.make(env_id)
    discrete = isinstance(env.action_space, gymnasium.spaces.Discrete)
    act_dim = int(env.action_space.n) if discrete else env.action_space.shape[0]
    act_bound = 1.0 if discrete else float(env.action_space.high[0])
    spec = PolicySpec(env.observation_space.shape[0], act_dim, act_bound=act_bound)
    thetas = _random_policies(spec, 64, seed)
    row = torch.zeros(1, dtype=torch.int64)
    episode = 0
    obs, _ = env.reset(seed=seed)
    policy = PopulationPolicy(spec, thetas[:1])
    start = time.perf_counter()
    for _ in range(n_steps):
        out = policy(torch.as_tensor(obs, dtype=torch.float32).unsqueeze(0), row)[0]
        action = int(out.argmax()) if discrete else out.numpy()
        obs, _, terminated, truncated, _ = env.step(action)
        if terminated or truncated:
            episode += 1
            policy = PopulationPolicy(spec, thetas[episode % len(thetas)].unsqueeze(0))
            obs, _ = env.reset()
    seconds = time.perf_counter() - start
    env.close()
    return n_steps / seconds


def _mj_step_rate(env_id: str, n_steps: int) -> float:
    """env-steps/s of bare mj_step (frame_skip substeps each) on one MjData, zero control."""
    evaluator = MujocoBatchEvaluator(env_id)
    model, frame_skip = evaluator.model, evaluator.task.frame_skip
    data = mujoco.MjData(model)
    start = time.perf_counter()
    for _ in range(n_steps):
        mujoco.mj_step(model, data, nstep=frame_skip)
    return n_steps / (time.perf_counter() - start)


def gpu_backend_device(device: str) -> str | None:
    """Where (d) runs for --device auto/cpu/cuda: "cuda", "cpu" (warp's CPU device) or None.

    auto: the GPU when the gpu extra is installed and a CUDA GPU is visible, else (d) is skipped;
    cuda: the GPU; cpu: warp's CPU device, slow, timed only on request. cuda or cpu without what
    they need is a one-line ValueError.
    """
    if device == "cuda":
        require_gpu_backend(device)
        return "cuda"
    installed = importlib.util.find_spec("mujoco_warp") is not None
    if device == "cpu":
        if not installed:
            raise ValueError(
                "--device cpu times the GPU back end on warp's CPU device: it needs the "
                "gpu extra (pip install -e .[gpu])"
            )
        return "cpu"
    if not installed or not torch.cuda.is_available():  # (importing warp without a GPU warns)
        return None
    from udrlpg_lite.envs.gpu_backend import gpu_available

    return "cuda" if gpu_available() else None


def _gpu_backend_rates(env_id: str, device: str, seed: int) -> dict[int, tuple[float, int]]:
    """(d): {worlds: (env-steps/s, env-steps)} of the GPU back end on device, best of its repeats."""
    from udrlpg_lite.envs.gpu_backend import WarpEvaluator

    rates = {}
    for n in GPU_BACKEND_WORLDS[device]:
        runs = [
            _engine_rate(WarpEvaluator(env_id, seed=seed, device=device), n, seed)
            for _ in range(GPU_BACKEND_REPEATS[device])
        ]
        rates[n] = max(runs)
    return rates


def run(
    env_id: str = "Hopper-v5",
    n_policies: int = 256,
    n_steps: int = 1000,
    seed: int = 0,
    device: str = "auto",
) -> dict:
    """Time (a) the evaluator, (b) gymnasium's single env, (c) raw mj_step, (d) the GPU back end.

    n_steps is the number of env-steps of the gymnasium and raw mj_step runs. device (auto, cpu or
    cuda) says whether and where (d) runs, see ``gpu_backend_device``. Prints the rates and returns
    them; the last printed line is ``speed ratio engine/gymnasium: X``.
    """
    gpu_device = gpu_backend_device(device) if env_id in ENGINE_ENVS else None
    previous_threads = torch.get_num_threads()
    torch.set_num_threads(TORCH_THREADS)
    engine = gym_rate = raw = 0.0
    try:
        for _ in range(REPEATS):
            rate, engine_steps = _engine_rate(make_evaluator(env_id, seed=seed), n_policies, seed)
            engine = max(engine, rate)
            gym_rate = max(gym_rate, _gymnasium_rate(env_id, n_steps, seed))
            if env_id in TASKS:
                raw = max(raw, _mj_step_rate(env_id, n_steps))
        gpu_rates = {} if gpu_device is None else _gpu_backend_rates(env_id, gpu_device, seed)
    finally:
        torch.set_num_threads(previous_threads)
    engine_threads = DEFAULT_NTHREAD if env_id in TASKS else 1

    ratio = engine / gym_rate
    print(f"{env_id}: env-steps/s, best of {REPEATS} (torch threads: {TORCH_THREADS})")
    print(
        f"  engine, {n_policies} policies, {engine_threads} thread(s)  {engine:>10.0f}"
        f"   ({engine_steps} env-steps per run)"
    )
    print(f"  gymnasium, 1 env, batch-1 MLP        {gym_rate:>10.0f}")
    if env_id in TASKS:
        print(f"  raw mj_step, 1 MjData, no policy     {raw:>10.0f}")
        print(f"engine / raw mj_step: {engine / raw:.2f} (engine on {engine_threads} thread(s))")
    if gpu_rates:
        print(f"GPU back end (MuJoCo Warp), {gpu_device} device:")
    for n, (rate, steps) in gpu_rates.items():
        print(
            f"  {f'{n} worlds':<36}{rate:>10.0f}   ({steps} env-steps per run; "
            f"{rate / engine:.2f}x the CPU engine above)"
        )
    print(f"speed ratio engine/gymnasium: {ratio:.2f}")
    return {
        "env_id": env_id,
        "n_policies": n_policies,
        "engine_steps_per_s": engine,
        "engine_env_steps": engine_steps,
        "engine_threads": engine_threads,
        "gymnasium_steps_per_s": gym_rate,
        "mj_step_steps_per_s": raw if env_id in TASKS else None,
        "torch_threads": TORCH_THREADS,
        "gpu_backend_device": gpu_device,
        "gpu_backend_steps_per_s": {n: rate for n, (rate, _) in gpu_rates.items()},
        "ratio": ratio,
    }
