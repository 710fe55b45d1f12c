"""The benchmark's report: all three rates measured, ratios consistent, the promised last line."""

from udrlpg_lite import bench


def test_bench_reports_the_three_rates_and_the_ratio_last(capsys):
    result = bench.run("InvertedPendulum-v5", n_policies=4, n_steps=50, device="auto")
    lines = capsys.readouterr().out.strip().splitlines()
    for key in ("engine_steps_per_s", "gymnasium_steps_per_s", "mj_step_steps_per_s"):
        assert result[key] > 0
    assert result["ratio"] == result["engine_steps_per_s"] / result["gymnasium_steps_per_s"]
    assert lines[-1] == f"speed ratio engine/gymnasium: {result['ratio']:.2f}"
    assert any(line.startswith("engine / raw mj_step:") for line in lines)
