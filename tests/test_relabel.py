"""The relabel-and-refit study (``python -m udrlpg_lite relabel``, results/udrlpg-ip-relabel/)."""

from __future__ import annotations

import json

import pytest

from udrlpg_lite.algorithms.udrlpg import PRESET_SETTINGS
from udrlpg_lite.cli import main
from udrlpg_lite.experiments import relabel
from udrlpg_lite.experiments.runner import Run

IP = "InvertedPendulum-v5"  # return range (0, 1000): the study's ten commands 0, 111, ..., 1000


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    out = tmp_path_factory.mktemp("relabel") / "run"
    run = Run.create(out, "udrlpg", IP, 300, 0, dict(PRESET_SETTINGS["demo"]), 300, "cpu", "demo")
    run.train(progress=False)
    return out


def test_refit_leaves_the_run_on_disk_as_it_was(trained):
    checkpoint = (trained / "checkpoint.pt").read_bytes()
    row = relabel.refit(trained, relabel=True, updates=3)
    assert (trained / "checkpoint.pt").read_bytes() == checkpoint
    assert row["buffer"] == "relabelled" and row["updates"] == 3 and row["run"] == str(trained)
    assert len(row["before"]) == len(row["after"]) == relabel.N_COMMANDS
    assert row["rmse_before"] >= 0 and row["rmse_after"] >= 0


def test_the_study_is_reproducible_and_its_control_keeps_the_buffer(trained):
    first = relabel.study([trained], updates=3)
    assert [row["buffer"] for row in first] == ["as stored", "relabelled"]
    assert relabel.study([trained], updates=3) == first  # torch seeded, evaluators from the checkpoint
    assert first[0]["before"] == first[1]["before"]  # the same trained generator before the refit


def test_relabel_replaces_the_stored_returns_by_replayed_ones(trained, monkeypatch):
    seen = {}
    run = Run.load(trained)
    cls = type(run.algo.buffer)
    original = cls.load_state_dict

    def watch(self, state):
        seen["returns"] = list(state["returns"])
        return original(self, state)

    monkeypatch.setattr(cls, "load_state_dict", watch)
    relabel.refit(trained, relabel=True, updates=0)
    stored = [float(r) for r in run.algo.buffer.state_dict()["returns"]]
    assert len(seen["returns"]) == len(stored)
    assert all(0.0 <= r <= 1.0 + 1e-6 for r in seen["returns"])  # scaled, as the buffer stores them


def test_the_command_writes_the_json_and_the_printed_table(trained, tmp_path, capsys):
    assert main(["relabel", str(trained), "--out", str(tmp_path), "--updates", "2"]) == 0
    rows = json.loads((tmp_path / "relabel.json").read_text())
    assert [r["buffer"] for r in rows] == ["as stored", "relabelled"]
    printed = capsys.readouterr().out
    table = (tmp_path / "relabel.txt").read_text()
    assert table.splitlines() == [relabel.format_row(r) for r in rows]
    assert table in printed


def test_errors_are_one_line(tmp_path, capsys):
    run = Run.create(tmp_path / "ars", "ars", IP, 100, 0, {}, 100, "cpu")
    run.train(progress=False)
    assert main(["relabel", str(run.out), "--out", str(tmp_path / "o")]) == 2
    assert "relabel refits udrlpg runs" in capsys.readouterr().err
    (tmp_path / "empty").mkdir()
    assert main(["relabel", str(tmp_path / "empty"), "--out", str(tmp_path / "o")]) == 2
    assert "no checkpoint.pt" in capsys.readouterr().err
