"""The benchmark's report: all three rates measured, ratios consistent, the promised last line."""

import pytest

from udrlpg_lite import bench, population_bench


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
    from udrlpg_lite import train_bench

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
    last = out.strip().splitlines()[-1]
    assert last.startswith("speed ratio train/reference: ") and float(last.split(": ")[1]) > 0
