"""The GPU back end (MuJoCo Warp) against the CPU engine, on warp's CPU device.

Both engines play the same episodes: same seed, hence the same initial states, and the same
deterministic MLP policies. MJWarp computes in float32 and the CPU engine in float64, so observations,
returns and normaliser statistics are compared to float32 tolerance; lengths and terminations
exactly. Episodes are truncated at 100 steps to keep the file fast (warp's CPU device launches every
kernel from Python: ~20 ms per physics step). Without the gpu extra the simulator tests skip.
"""

from __future__ import annotations

import importlib.util

import numpy as np
import pytest
import torch

from udrlpg_lite.envs import ENGINE_ENVS, Rollouts, make_evaluator
from udrlpg_lite.envs.mujoco_batch import MujocoBatchEvaluator
from udrlpg_lite.normalizer import RunningNorm
from udrlpg_lite.policy import PolicySpec, PopulationPolicy

N_WORLDS = 4
IP = "InvertedPendulum-v5"
N_STEPS = 100  # episodes truncated here, in both engines
SEED = 7
# float32 physics against float64: returns and statistics to 1e-4; the normalised policy inputs,
# divided by stds as small as 1e-2 after up to 400 physics steps, to 1e-3 (Swimmer: 2.3e-4)
RTOL, ATOL = 1e-4, 1e-4
OBS_ATOL = 1e-3


@pytest.fixture(scope="module")
def gpu_backend():
    """The gpu_backend module, or a skip where the gpu extra is not installed."""
    pytest.importorskip("mujoco_warp")
    from udrlpg_lite.envs import gpu_backend

    return gpu_backend


class RecordingPolicy:
    """A PopulationPolicy that records what it is called with: (obs, rows) at every step."""

    def __init__(self, spec: PolicySpec, theta: torch.Tensor) -> None:
        self.policy = PopulationPolicy(spec, theta)
        self.calls: list[tuple[np.ndarray, np.ndarray]] = []

    def __call__(self, obs: torch.Tensor, rows: torch.Tensor) -> torch.Tensor:
        self.calls.append((obs.cpu().numpy().copy(), rows.cpu().numpy().copy()))
        return self.policy(obs, rows)


def _policy(evaluator, scale: float = 0.3) -> RecordingPolicy:
    """N_WORLDS small random tanh MLPs (one hidden layer of 16), the same for every evaluator.

    The weights lie on the evaluator's torch device (the CPU engine's: the CPU).
    """
    spec = PolicySpec(evaluator.obs_dim, evaluator.act_dim, (16,), evaluator.act_bound)
    theta = scale * torch.randn(N_WORLDS, spec.n_params, generator=torch.Generator().manual_seed(0))
    return RecordingPolicy(spec, theta.to(getattr(evaluator, "device", "cpu")))


def _play(evaluator, **kwargs) -> tuple[Rollouts, RecordingPolicy]:
    """One evaluate call of N_WORLDS episodes truncated at N_STEPS steps."""
    evaluator.max_episode_steps = N_STEPS
    policy = _policy(evaluator)
    return evaluator.evaluate(policy, N_WORLDS, **kwargs), policy


def _assert_rollouts_match(gpu: Rollouts, cpu: Rollouts) -> None:
    np.testing.assert_array_equal(gpu.lengths, cpu.lengths)
    np.testing.assert_array_equal(gpu.terminated, cpu.terminated)
    np.testing.assert_allclose(gpu.returns, cpu.returns, rtol=RTOL, atol=ATOL)


@pytest.mark.parametrize("env_id", ENGINE_ENVS)
@pytest.mark.parametrize("device", ["cpu", "cuda"])
def test_gpu_backend_matches_cpu_engine(gpu_backend, device, env_id):
    """Per-step policy inputs, returns, lengths, terminations and normaliser statistics."""
    if device == "cuda" and not gpu_backend.gpu_available():
        pytest.skip("no CUDA GPU")
    cpu = MujocoBatchEvaluator(env_id, seed=SEED, nthread=1)
    gpu = gpu_backend.WarpEvaluator(env_id, seed=SEED, device=device)
    norms = {name: RunningNorm(cpu.obs_dim) for name in ("cpu", "gpu")}
    cpu_out, cpu_policy = _play(cpu, normalizer=norms["cpu"], update_normalizer=True)
    gpu_out, gpu_policy = _play(gpu, normalizer=norms["gpu"], update_normalizer=True)

    _assert_rollouts_match(gpu_out, cpu_out)
    assert gpu.rng.bit_generator.state == cpu.rng.bit_generator.state  # same draws of initial states
    # The policy saw the same (normalised) observations at every step of every running episode. The
    # GPU back end calls it on every row; the CPU engine on a shrinking set of rows.
    assert len(gpu_policy.calls) == len(cpu_policy.calls) == cpu_out.lengths.max()
    for t, ((gpu_obs, gpu_rows), (cpu_obs, cpu_rows)) in enumerate(
        zip(gpu_policy.calls, cpu_policy.calls), start=1
    ):
        np.testing.assert_array_equal(gpu_rows, np.arange(N_WORLDS))
        running = cpu_out.lengths[cpu_rows] >= t
        np.testing.assert_allclose(
            gpu_obs[cpu_rows[running]], cpu_obs[running], atol=OBS_ATOL, err_msg=f"step {t}"
        )
    assert norms["gpu"].count == norms["cpu"].count == cpu_out.lengths.sum()
    np.testing.assert_allclose(norms["gpu"].mean, norms["cpu"].mean, rtol=RTOL, atol=ATOL)
    np.testing.assert_allclose(norms["gpu"].std, norms["cpu"].std, rtol=RTOL, atol=ATOL)


def test_gpu_backend_hopper_termination_and_survival_bonus(gpu_backend):
    """Given initial states, Hopper episodes end as in the CPU engine, with and without the bonus."""
    rng = np.random.default_rng(1)
    probe = MujocoBatchEvaluator("Hopper-v5")
    qpos = probe.init_qpos + rng.uniform(-0.05, 0.05, (N_WORLDS, probe.model.nq))
    qvel = rng.uniform(-0.5, 0.5, (N_WORLDS, probe.model.nv))
    out = {}
    for bonus in (True, False):
        for name, evaluator in (
            ("cpu", MujocoBatchEvaluator("Hopper-v5", survival_bonus=bonus, nthread=1)),
            ("gpu", gpu_backend.WarpEvaluator("Hopper-v5", survival_bonus=bonus, device="cpu")),
        ):
            out[name, bonus] = _play(evaluator, initial_state=(qpos, qvel))[0]
    for bonus in (True, False):
        _assert_rollouts_match(out["gpu", bonus], out["cpu", bonus])
    with_bonus, without = out["gpu", True], out["gpu", False]
    assert with_bonus.terminated.all() and (with_bonus.lengths < N_STEPS).all()  # all fell
    # one healthy reward per step but the terminating one
    healthy_steps = with_bonus.lengths - with_bonus.terminated
    np.testing.assert_allclose(with_bonus.returns - without.returns, healthy_steps, atol=ATOL)


def test_gpu_backend_selection():
    """device None/"cpu" keeps the CPU engine; an unknown device or a non-engine env: ValueError."""
    assert type(make_evaluator("Hopper-v5")) is MujocoBatchEvaluator
    assert type(make_evaluator("Hopper-v5", device="cpu")) is MujocoBatchEvaluator
    with pytest.raises(ValueError, match="unknown device"):
        make_evaluator("Hopper-v5", device="tpu")
    with pytest.raises(ValueError, match="runs only"):
        make_evaluator("CartPole-v1", device="cuda")


@pytest.mark.skipif(torch.cuda.is_available(), reason="checks the error where no GPU is present")
def test_gpu_backend_selection_cuda_without_gpu():
    """make_evaluator(device="cuda") without a GPU (or the extra): one clear ValueError."""
    with pytest.raises(ValueError, match="gpu extra|CUDA GPU"):
        make_evaluator("Hopper-v5", device="cuda")


@pytest.mark.skipif(torch.cuda.is_available(), reason="checks the error where no GPU is present")
def test_gpu_backend_bench_device_cuda_without_gpu(capsys):
    """``bench --device cuda`` without a GPU (or the extra) ends with one error line, status 2."""
    from udrlpg_lite.cli import main

    assert main(["bench", "--device", "cuda"]) == 2
    assert capsys.readouterr().err.startswith("error: device 'cuda' needs")


def test_gpu_backend_bench_device_choice():
    """bench times the GPU back end on a visible GPU by default, on warp's CPU device on request."""
    from udrlpg_lite.bench.engine import gpu_backend_device

    if importlib.util.find_spec("mujoco_warp") is None:
        assert gpu_backend_device("auto") is None
        with pytest.raises(ValueError, match="gpu extra"):
            gpu_backend_device("cpu")
        return
    from udrlpg_lite.envs.gpu_backend import gpu_available

    assert gpu_backend_device("auto") == (
        "cuda" if torch.cuda.is_available() and gpu_available() else None
    )
    assert gpu_backend_device("cpu") == "cpu"


# --- training on the GPU back end (train --device): here on warp's CPU device ---------------------


@pytest.mark.parametrize("algo", ["udrlpg", "gogepo"])
def test_gpu_backend_trains_as_the_cpu_engine_does(gpu_backend, algo, tmp_path):
    """A short run through the runner on device "warp:cpu": generator, buffer and policies live on
    the simulator's device, the warm-up (before any update) returns what the CPU engine returns for
    the same seed, and run.json and the manifest record the device."""
    from udrlpg_lite.envs import WARP_CPU
    from udrlpg_lite.experiments.runner import Run

    settings = {"warmup": 3} | ({"generator_steps": 2, "critic_steps": 1} if algo == "gogepo" else {})
    runs, warm_up = {}, {}
    for device in ("cpu", WARP_CPU):  # one after the other: both draw on torch's global RNG
        run = Run.create(tmp_path / device, algo, IP, 200, 3, settings, 10_000, device)
        warm_up[device] = run.algo.iterate()["train_return"]
        run.train(progress=False)
        runs[device] = run
    gpu = runs[WARP_CPU].algo
    assert isinstance(gpu.train_env, gpu_backend.WarpEvaluator)
    assert next(gpu.generator.parameters()).device == gpu.device
    assert all(e.theta.device == gpu.device for e in gpu.buffer.entries)
    assert gpu.env_steps >= 200 and gpu.iterations > 1  # updates ran after the warm-up
    np.testing.assert_allclose(warm_up[WARP_CPU], warm_up["cpu"], rtol=RTOL, atol=ATOL)
    manifest = (tmp_path / WARP_CPU / "manifest.json").read_text()
    assert '"status": "complete"' in manifest
    assert Run.load(tmp_path / WARP_CPU).settings["device"] == WARP_CPU


def test_gpu_backend_device_errors(tmp_path):
    """Algorithms without a GPU path, and cuda without a GPU, refuse in one line."""
    from udrlpg_lite.cli import main
    from udrlpg_lite.experiments.runner import Run

    with pytest.raises(ValueError, match="ars runs on the CPU only"):
        Run.create(tmp_path / "a", "ars", "InvertedPendulum-v5", 100, 0, {}, None, "cuda")
    if not torch.cuda.is_available():
        out = tmp_path / "b"
        assert main(["train", "--device", "cuda", "--steps", "100", "--out", str(out)]) == 2


def test_gpu_check_runs_end_to_end_on_warps_cpu_device(gpu_backend, tmp_path):
    """``gpu-check`` at its tiny sizes: every item runs and lands in the report."""
    from udrlpg_lite.bench import gpu_check

    report = gpu_check.run(tmp_path, "tiny", device="cpu").read_text()
    for heading in ("## 1-2. Parity", "## 3. Hopper-v5 env-steps/s", "## 4. Generator", "## 5. UDRLPG"):
        assert heading in report
    data = __import__("json").loads((tmp_path / "gpu-check.json").read_text())
    assert [p["env"] for p in data["parity"]] == list(ENGINE_ENVS)
    for p in data["parity"]:
        assert p["lengths_equal"] and p["terminations_equal"] and p["max_relative_diff"] < 1e-4
        assert p["nacon"] <= p["naconmax"] and p["nefc"] <= p["njmax"]  # no contact overflow
    assert [t["population"] for t in data["training"]] == [1, 2]
    assert all(t["env_steps"] >= 60 for t in data["training"])
