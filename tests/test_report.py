"""The summary over seeds: final return, sample std, bootstrap CI (scipy), the two pass rates,
degenerate samples."""

import csv
import json

import numpy as np
import pytest
from scipy import stats

from udrlpg_lite.algorithms.udrlpg import PRESET_SETTINGS, UDRLPGConfig
from udrlpg_lite.experiments.report import write_summary
from udrlpg_lite.experiments.stats import mean_ci, median_ci


def fake_run(out, seed, returns, rmse=None, env="InvertedPendulum-v5"):
    out.mkdir(parents=True)
    settings = {"algo": "udrlpg", "env": env, "seed": seed, "eval_every": 1000, "preset": "demo"}
    (out / "run.json").write_text(json.dumps(settings))
    manifest = {"wall_time_s": 1.0, "config": {"eval_episodes": 5}, "status": "complete"}
    (out / "manifest.json").write_text(json.dumps(manifest))
    lines = ["env_steps,eval_return_mean,eval_return_std"]
    lines += [f"{1000 * i},{r},0.0" for i, r in enumerate(returns)]
    (out / "metrics.csv").write_text("\n".join(lines) + "\n")
    if rmse is not None:
        (out / "commands.json").write_text(json.dumps({"rmse": rmse}))


def test_final_return_pass_rates_std_and_rmse_by_hand(tmp_path):
    fake_run(tmp_path / "g" / "s0", 0, [10] * 5 + [1000] * 20, rmse=30.0)  # final 1000, passes
    fake_run(tmp_path / "g" / "s1", 1, [10] * 25, rmse=90.0)  # final 10, never passes
    fake_run(tmp_path / "g" / "s2", 2, [960] + [500] * 24, rmse=50.0)  # passes once, final 500
    (row,) = write_summary([tmp_path / "g"], tmp_path / "summary.csv")
    assert row["n_seeds"] == 3 and row["reached_rate"] == pytest.approx(2 / 3, abs=1e-3)
    assert row["final_pass_rate"] == pytest.approx(1 / 3, abs=1e-3)  # only s0 ends at 950+
    assert row["final_return_mean"] == pytest.approx((1000 + 10 + 500) / 3, abs=0.1)
    # the sample std (ddof 1): sqrt(sum of squared deviations / (n - 1))
    mean = (1000 + 10 + 500) / 3
    by_hand = (((1000 - mean) ** 2 + (10 - mean) ** 2 + (500 - mean) ** 2) / 2) ** 0.5
    assert row["final_return_std"] == pytest.approx(by_hand, abs=0.1)
    assert row["final_return_std"] > np.std([1000, 10, 500]) + 50  # not the population std
    assert row["rmse_median"] == 50.0
    assert row["ci95_low"] <= row["final_return_mean"] <= row["ci95_high"]
    with open(tmp_path / "summary.csv") as f:
        written = next(csv.DictReader(f))
    assert written["reached_rate"] == str(row["reached_rate"])
    assert written["final_pass_rate"] == str(row["final_pass_rate"])
    assert "pass_rate" not in written  # the old, ambiguous column is gone


def test_every_seed_at_1000_gives_a_point_interval_not_nan():
    low, high = mean_ci(np.array([1000.0, 1000.0, 1000.0]))
    assert low == high == 1000.0


def test_the_interval_is_scipys_bootstrap():
    values = np.array([100.0, 300.0, 500.0, 800.0, 1000.0, 950.0])
    low, high = mean_ci(values)
    assert low < values.mean() < high and 100 <= low and high <= 1000


def test_the_median_interval_is_scipys_percentile_bootstrap():
    values = np.array([100.0, 300.0, 500.0, 800.0, 1000.0, 950.0])
    expected = stats.bootstrap(
        (values,), np.median, confidence_level=0.95, method="percentile", random_state=0
    ).confidence_interval
    assert median_ci(values) == (expected.low, expected.high)
    assert median_ci(np.array([42.0])) == (42.0, 42.0)  # one seed: no interval, its value


def test_a_folder_without_runs_is_one_clear_error(tmp_path):
    (tmp_path / "empty").mkdir()
    with pytest.raises(ValueError, match="no finished run directories"):
        write_summary([tmp_path / "empty"], tmp_path / "s.csv")


def test_variant_names_what_differs_from_the_preset():
    from udrlpg_lite.experiments.report import variant

    assert variant({"algo": "udrlpg", "preset": "faithful", "config": {"precision": "bf16"}}) == (
        "faithful"
    )
    # run.json's config: the preset's settings with the command's --set on top
    demo = dict(PRESET_SETTINGS["demo"]) | {"command_rule": "max"}
    assert variant({"algo": "udrlpg", "preset": "demo", "config": demo}) == "demo, command_rule=max"
    # a run of the follow preset from before it had shrunk policies and its learning rate
    early = {k: v for k, v in PRESET_SETTINGS["follow"].items() if k not in ("shrink_share", "lr")}
    assert variant({"algo": "udrlpg", "preset": "follow", "config": early}) == (
        f"follow, lr={UDRLPGConfig().lr}, shrink_share=0.0"
    )
    assert variant({"algo": "ars", "config": {"step_size": 0.02}}) == "faithful, step_size=0.02"


def test_report_writes_the_table_beside_the_papers_and_the_figures(tmp_path):
    from udrlpg_lite.experiments.report import write_report

    for seed in range(3):
        fake_run(tmp_path / "runs" / "ip" / f"s{seed}", seed, [10 * seed] * 5 + [1000] * 20)
    (tmp_path / "runs" / "ip" / "s0" / "run.json").write_text(
        json.dumps(
            {"algo": "udrlpg", "env": "InvertedPendulum-v5", "seed": 0, "eval_every": 1000}
            | {"preset": "faithful"}
        )
    )
    with pytest.raises(ValueError, match="mixes runs of different settings"):
        write_report([tmp_path / "runs"], tmp_path / "report")
    for seed in (1, 2):
        settings = json.loads((tmp_path / "runs" / "ip" / f"s{seed}" / "run.json").read_text())
        settings["preset"] = "faithful"
        (tmp_path / "runs" / "ip" / f"s{seed}" / "run.json").write_text(json.dumps(settings))
    written = write_report([tmp_path / "runs"], tmp_path / "report")
    assert {"summary.csv", "table1.md", "learning_curves.png", "final_returns.png"} <= set(written)
    table = (tmp_path / "report" / "table1.md").read_text()
    assert "| udrlpg | faithful | 1000 ± 0 (3) | 1000 to 1000 | 1.00 | 1.00 | 1000 (converges" in table
    readme = (tmp_path / "report" / "README.md").read_text()  # the provenance of every run
    assert "README.md" in written and "| s2 | complete |" in readme
    assert "nan" not in table.lower()


def test_table1_names_our_presets_at_the_papers_budget_as_ours():
    from udrlpg_lite.experiments.report import in_table1

    row = {"env": "Hopper-v5", "algo": "udrlpg", "preset": "demo", "variant": "demo"}
    assert in_table1(row | {"steps": 3_000_000})  # the paper's budget, the preset unchanged
    assert not in_table1(row | {"steps": 20_000})  # a short run is not a Table-1 number
    assert not in_table1(row | {"steps": 3_000_000, "variant": "demo, sigma=0.2"})
    assert in_table1({"env": "Hopper-v5", "algo": "ars", "variant": "faithful", "steps": 1})


def test_table1_shows_a_protocol_question_at_the_papers_budget_beside_the_faithful_row():
    from udrlpg_lite.experiments.report import in_table1, table1_settings

    row = {"env": "Hopper-v5", "algo": "udrl", "preset": "faithful"}
    asked = row | {"variant": "faithful, train_reward=standard"}
    assert in_table1(asked | {"steps": 3_000_000})
    assert not in_table1(asked | {"steps": 300_000})  # a reduced-budget audit run stays out
    assert not in_table1(row | {"variant": "faithful, lr=0.1", "steps": 3_000_000})
    assert table1_settings(asked) == "faithful, but the standard reward in training"
    assert table1_settings(row | {"variant": "faithful"}) == "faithful"
    assert table1_settings(row | {"variant": "demo"}) == "demo (ours)"


def test_table1_names_a_budget_other_than_the_papers():
    from udrlpg_lite.experiments.report import table1_markdown

    row = {
        "env": "Hopper-v5",
        "algo": "ddpg",
        "preset": "faithful",
        "variant": "faithful",
        "n_seeds": 1,
        "final_return_mean": 1500.0,
        "final_return_std": 0.0,
        "ci95_low": 1500.0,
        "ci95_high": 1500.0,
        "reached_rate": 0.0,
        "final_pass_rate": 0.0,
    }
    assert "| ddpg | faithful, 1M steps | 1500 ± 0 (1) |" in table1_markdown(
        [row | {"steps": 1_000_000}]
    )
    assert "| ddpg | faithful | 1500 ± 0 (1) |" in table1_markdown([row | {"steps": 3_000_000}])


def test_buffer_strategies_are_read_from_the_variants(tmp_path):
    from udrlpg_lite.experiments.figures import buffer_strategies, strategy, strategy_sets
    from udrlpg_lite.experiments.report import find_groups

    assert strategy("demo, bucket_rule=first") == "buckets+exp"
    assert strategy("demo, buffer=buckets, weighting=uniform") == "buckets+uniform"
    assert strategy("faithful, buffer=fifo") == "fifo"
    for name, config in (("exp", {}), ("fifo", {"buffer": "fifo"}), ("other", {"sigma": 0.3})):
        for seed in (0, 1):
            fake_run(tmp_path / name / f"s{seed}", seed, [100.0 * seed] * 25)
            settings = json.loads((tmp_path / name / f"s{seed}" / "run.json").read_text())
            (tmp_path / name / f"s{seed}" / "run.json").write_text(
                json.dumps(settings | {"config": config, "steps": 100_000})
            )
    groups = find_groups([tmp_path])
    (found,) = strategy_sets(groups).values()  # sigma=0.3 differs in more than the buffer
    assert sorted(found) == ["buckets+exp", "fifo"]
    assert buffer_strategies(groups, tmp_path / "fig3.png") and (tmp_path / "fig3.png").exists()


def test_identity_curves_draw_every_group_with_a_tested_seed(tmp_path):
    from udrlpg_lite.experiments.figures import identity_curves, tested
    from udrlpg_lite.experiments.report import find_groups

    test = {"commands": [0.0, 500.0, 1000.0], "mean": [10.0, 500.0, 990.0], "rmse": 5.8}
    for name, n_tested in (("all", 2), ("half", 1), ("none", 0)):
        for seed in (0, 1):
            out = tmp_path / name / f"s{seed}"
            fake_run(out, seed, [100.0] * 25)
            if seed < n_tested:
                (out / "commands.json").write_text(json.dumps(test))
    groups = find_groups([tmp_path])
    assert [len(tested(runs)) for runs in groups.values()] == [2, 2 - 1, 0]  # all, half, none
    assert identity_curves(groups, tmp_path / "id.png") and (tmp_path / "id.png").exists()
    none = {g: runs for g, runs in groups.items() if g.name == "none"}
    assert not identity_curves(none, tmp_path / "nothing.png")
    assert not (tmp_path / "nothing.png").exists()


def test_table1_names_the_papers_algorithms_we_have_not_run():
    from udrlpg_lite.experiments.report import table1_markdown

    row = {
        "env": "Hopper-v5",
        "algo": "ars",
        "preset": "faithful",
        "variant": "faithful",
        "steps": 3_000_000,
        "n_seeds": 5,
        "final_return_mean": 2500.0,
        "final_return_std": 100.0,
        "ci95_low": 2400.0,
        "ci95_high": 2600.0,
        "reached_rate": 1.0,
        "final_pass_rate": 0.8,
    }
    lines = table1_markdown([row]).splitlines()[2:]
    assert [line.split(" | ")[1:3] for line in lines] == [
        ["ars", "faithful"],
        ["ddpg", "not run"],
        ["gogepo", "not run"],
        ["udrl", "not run"],
        ["udrlpg", "not run"],
    ]  # every algorithm of the papers' Hopper row, ours first where we ran it
    assert lines[0].endswith("| 2500 ± 100 (5) | 2400 to 2600 | 1.00 | 0.80 | 2340 ± 199 |")
    assert lines[2].endswith("| gogepo | not run | - | - | - | - | 2589 ± 300 |")
    ours_only = row | {"variant": "demo", "preset": "demo", "algo": "udrlpg"}
    assert "| udrlpg | not run |" in table1_markdown([ours_only])  # a variant is not the paper's


def test_the_authors_code_on_another_env_version_stands_beside_the_udrlpg_paper():
    from udrlpg_lite.experiments.report import PAPER_TABLE1, same_task, table1_markdown

    assert same_task("InvertedPendulum-v4", PAPER_TABLE1) is PAPER_TABLE1["InvertedPendulum-v5"]
    assert same_task("Walker2d-v5", PAPER_TABLE1) is None
    row = {
        "env": "InvertedPendulum-v4",
        "algo": "udrlpg-authors",
        "preset": "faithful",
        "variant": "faithful",
        "steps": 100_000,  # the task's budget: no "M steps" in the settings
        "n_seeds": 5,
        "final_return_mean": 500.0,
        "final_return_std": 300.0,
        "ci95_low": 250.0,
        "ci95_high": 750.0,
        "reached_rate": 0.4,
        "final_pass_rate": 0.2,
    }
    line = table1_markdown([row]).splitlines()[2]
    assert "| udrlpg-authors | faithful | 500 ± 300 (5) |" in line
    assert line.endswith(f"| {PAPER_TABLE1['InvertedPendulum-v5']['udrlpg']} |")
