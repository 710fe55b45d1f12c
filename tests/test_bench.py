"""The benchmark's report: all three rates measured, ratios consistent, the promised last line."""

import pytest
import torch

from udrlpg_lite.bench import engine as bench
from udrlpg_lite.bench import population as population_bench
from udrlpg_lite.presets import env_preset


def test_bench_reports_the_three_rates_and_the_ratio_last(capsys):
    result = bench.run("InvertedPendulum-v5", n_policies=4, n_steps=50, device="auto")
    lines = capsys.readouterr().out.strip().splitlines()
    for key in ("engine_steps_per_s", "gymnasium_steps_per_s", "mj_step_steps_per_s"):
        assert result[key] > 0
    assert result["ratio"] == result["engine_steps_per_s"] / result["gymnasium_steps_per_s"]
    assert lines[-1] == f"speed ratio engine/gymnasium: {result['ratio']:.2f}"
    assert any(line.startswith("engine / raw mj_step:") for line in lines)


def test_bench_population_times_both_schedules(capsys):
    """Both schedules train at least the asked steps; the printed speed-up is their rate ratio."""
    small = {"generator": "small", "hidden": (32, 32)}  # the schedules, not the paper's sizes
    timings = population_bench.run(
        "InvertedPendulum-v5", population=4, steps=300, chunk_steps=100, sizes=small
    )
    faithful, batched = timings[1], timings[4]
    for timing in (faithful, batched):
        assert timing.env_steps >= 300 and 0 < timing.rollout_seconds < timing.seconds
    last = capsys.readouterr().out.strip().splitlines()[-1]
    assert last.endswith(f"{batched.steps_per_s / faithful.steps_per_s:.2f}")


def test_bench_population_rejects_bad_input():
    with pytest.raises(ValueError, match="population training exists for udrlpg and gogepo"):
        population_bench.run(algo="ars")
    with pytest.raises(ValueError, match="at least 2"):
        population_bench.run(population=1)


def test_bench_train_times_updates_and_rollouts_against_the_reference(capsys):
    from udrlpg_lite.bench import training as train_bench

    loops = train_bench.run(
        "InvertedPendulum-v5",
        iterations=2,
        chunk=1,
        precisions=("fp32",),
        thread_counts=(1,),
        sizes={"generator": "small", "hidden": (32, 32)},
    )
    out = capsys.readouterr().out
    assert set(loops) == {"reference", "ours, 1 thread, fp32"}
    for timing in loops.values():
        assert timing.updates == 16 and timing.env_steps > 0
        assert 0 < timing.rollout_seconds < timing.seconds
    lines = out.strip().splitlines()
    last = lines[-1]
    assert last.startswith("speed ratio train/reference: ") and float(last.split(": ")[1]) > 0
    assert any(line.startswith("ceiling, fp32: an update is ") for line in lines)


def test_update_flops_are_the_linear_layers_forward_and_backward():
    """Each linear layer of rows x k -> n costs 2*rows*k*n FLOPs forward and twice that backward
    (gradients of its input and its weight; the input needs one, as the embeddings are learnt)."""
    from torch import nn

    from udrlpg_lite.algorithms.udrlpg import UDRLPG, UDRLPGConfig
    from udrlpg_lite.bench import training as train_bench

    config = UDRLPGConfig(generator="small", hidden=(32, 32), batch_size=5, precision="fp32")
    trainer = UDRLPG("InvertedPendulum-v5", env_preset("InvertedPendulum-v5"), 0, config)
    expected = 0
    for layer in trainer.generator.layers:
        rows = 5 * layer.embeddings.shape[0]
        for net in (layer.weight_net, layer.bias_net):
            for linear in (m for m in net if isinstance(m, nn.Linear)):
                expected += 6 * rows * linear.in_features * linear.out_features
    assert train_bench.update_flops(trainer) == expected
    assert all(p.grad is None for p in trainer.generator.parameters())


def test_matmul_rate_is_positive_and_keeps_the_thread_count():
    from udrlpg_lite.bench import training as train_bench

    threads = torch.get_num_threads()
    assert train_bench.matmul_rate("fp32", size=64) > 0
    assert torch.get_num_threads() == threads
