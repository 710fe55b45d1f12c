"""The command line: bad input ends with one clear line and exit status 2."""

import json

import pytest

from udrlpg_lite.cli import main

FAST = [
    "--steps",
    "400",
    "--eval-every",
    "200",
    "--no-progress",
    "--set",
    "generator=gogepo",
    "--set",
    "hidden=32,32",
    "--set",
    "warmup=2",
]


def run(capsys, *argv):
    code = main(list(argv))
    return code, capsys.readouterr()


@pytest.mark.parametrize(
    "argv,needle",
    [
        (["train", "--env", "NoSuchEnv-v0"], "NoSuchEnv-v0"),
        (["train", "--sigma", "0"], "sigma"),
        (["train", "--sigma", "-1"], "sigma"),
        (["train", "--steps", "0"], "--steps"),
        (["train", "--set", "nonsense=1"], "nonsense"),
        (["train", "--algo", "nope"], "nope"),
    ],
)
def test_bad_input_gives_one_error_line(capsys, tmp_path, argv, needle):
    code, out = run(capsys, *argv, "--out", str(tmp_path / "r"))
    lines = out.err.strip().splitlines()
    assert code == 2 and len(lines) == 1 and lines[0].startswith("error:") and needle in lines[0]


def test_unwritable_out(capsys, tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("not a directory")
    code, out = run(capsys, "train", *FAST, "--out", str(blocker / "run"))
    assert code == 2 and "cannot write to --out" in out.err


def test_train_writes_outputs_and_corrupt_checkpoint_is_reported(capsys, tmp_path):
    out_dir = tmp_path / "run"
    code, out = run(capsys, "train", *FAST, "--out", str(out_dir))
    assert code == 0, out.err
    manifest = json.loads((out_dir / "manifest.json").read_text())
    assert {"command", "commit", "device", "seed", "versions", "wall_time_s"} <= set(manifest)
    assert manifest["status"] == "complete" and manifest["env_steps"] >= 400
    header = (out_dir / "metrics.csv").read_text().splitlines()[0].split(",")
    assert "env_steps" in header and "eval_return_mean" in header
    assert (out_dir / "curve.png").stat().st_size > 1000
    code, out = run(capsys, "export", str(out_dir), "--no-progress")
    assert code == 0 and (out_dir / "generator.pt").exists()
    # a second train into the same directory is refused
    code, out = run(capsys, "train", *FAST, "--out", str(out_dir))
    assert code == 2 and "already holds a run" in out.err
    (out_dir / "checkpoint.pt").write_bytes(b"garbage")
    code, out = run(capsys, "resume", str(out_dir), "--no-progress")
    assert code == 2 and "corrupt" in out.err and len(out.err.strip().splitlines()) == 1
