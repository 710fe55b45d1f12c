"""Runs that fail loudly and safely: non-finite settings, NaN mid-run, unsafe checkpoints."""

import json
import math

import pytest
import torch

from udrlpg_lite.algorithms.base import NonFiniteError
from udrlpg_lite.algorithms.gogepo import GoGePoConfig
from udrlpg_lite.algorithms.udrlpg import UDRLPGConfig
from udrlpg_lite.cli import main
from udrlpg_lite.experiments.runner import Run

IP = "InvertedPendulum-v5"
SMALL = {"generator": "small", "hidden": (32, 32), "warmup": 3, "updates_per_rollout": 2}


@pytest.mark.parametrize("value", [math.inf, -math.inf, math.nan])
@pytest.mark.parametrize("config", [UDRLPGConfig, GoGePoConfig])
def test_non_finite_settings_are_refused(config, value):
    with pytest.raises(ValueError, match="sigma.*finite"):
        config(sigma=value)


def test_sigma_inf_on_the_command_line_is_one_error_line(capsys, tmp_path):
    assert main(["train", "--sigma", "inf", "--out", str(tmp_path / "r")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "sigma" in err[0] and "finite" in err[0]


def test_nan_weights_mid_run_stop_it_with_its_data_kept(capsys, tmp_path):
    run = Run.create(tmp_path / "r", "udrlpg", IP, 3000, 0, dict(SMALL), eval_every=200)
    calls = {"n": 0}
    update = run.algo.update

    def poisoned_update():
        calls["n"] += 1
        if calls["n"] == 60:  # the generator's weights go NaN mid-run
            with torch.no_grad():
                next(run.algo.generator.parameters()).fill_(float("nan"))
        return update()

    run.algo.update = poisoned_update
    with pytest.raises(NonFiniteError, match="non-finite .* at env step"):
        run.train(checkpoint_every_s=0.0, progress=False)
    out = tmp_path / "r"
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["status"].startswith("failed: non-finite")
    assert len((out / "metrics.csv").read_text().splitlines()) > 2
    good = Run.load(out)  # the last good checkpoint: finite, from before the NaN
    assert 0 < good.algo.env_steps < 3000
    assert all(torch.isfinite(p).all() for p in good.algo.generator.parameters())


def test_the_command_line_reports_a_non_finite_run_in_one_line(capsys, tmp_path, monkeypatch):
    from udrlpg_lite.algorithms import udrlpg

    monkeypatch.setattr(udrlpg.F, "mse_loss", lambda a, b: (a - b).pow(2).mean() * float("nan"))
    argv = ["train", "--steps", "500", "--no-progress", "--set", "hidden=32,32"]
    assert main([*argv, "--out", str(tmp_path / "r")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "non-finite generator loss" in err[0]


class Payload:
    """Something a pickle can carry that is not a tensor or a plain type."""


def test_a_checkpoint_carrying_a_pickled_object_is_refused(capsys, tmp_path):
    run = Run.create(tmp_path / "r", "udrlpg", IP, 300, 0, dict(SMALL), eval_every=150)
    run.train(progress=False)
    state = torch.load(tmp_path / "r" / "checkpoint.pt", weights_only=True)
    state["rows"].append(Payload())
    torch.save(state, tmp_path / "r" / "checkpoint.pt")
    assert main(["resume", str(tmp_path / "r"), "--no-progress"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "refused" in err[0]
