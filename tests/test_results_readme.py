"""results/README.md is generated from the manifests and results/notes.md (``report``)."""

import json
from pathlib import Path

from udrlpg_lite.experiments.report import provenance_markdown, read_notes, write_provenance

RESULTS = Path(__file__).resolve().parents[1] / "results"


def test_the_committed_readme_is_what_report_writes(tmp_path):
    text = write_provenance([RESULTS], tmp_path / "README.md", RESULTS / "notes.md")
    assert text == (RESULTS / "README.md").read_text(), (
        "results/README.md is stale: run python -m udrlpg_lite report results --out results"
    )


def test_every_folder_of_results_has_a_section():
    text = (RESULTS / "README.md").read_text()
    folders = [p.name for p in RESULTS.iterdir() if p.is_dir()]
    assert folders and all(f"## `{name}/`" in text for name in folders)


def fake_run(out, seed, status="complete", commits=("abc1234def", "fed4321cba-dirty")):
    out.mkdir(parents=True)
    (out / "run.json").write_text(json.dumps({"algo": "ars", "env": "Swimmer-v5", "seed": seed}))
    segments = [{"commit": c, "from_env_steps": 1000 * i} for i, c in enumerate(commits)]
    manifest = {
        "command": f"python -m udrlpg_lite train --seed {seed} --out runs/x/s{seed}",
        "commit": commits[-1],
        "segments": segments,
        "device": "cpu: Intel(R) Xeon(R) Processor (avx2 amx_bf16), 2 cores, torch threads 1",
        "env_steps": 2500,
        "steps_budget": 3000,
        "wall_time_s": 7200.0,
        "status": status,
        "run_info": {},
    }
    (out / "manifest.json").write_text(json.dumps(manifest))


def test_a_group_gets_its_runs_commits_cpu_pauses_and_note(tmp_path):
    fake_run(tmp_path / "grp" / "s0", 0)
    fake_run(tmp_path / "grp" / "s1", 1, status="running", commits=("1234567890",))
    notes = read_notes("Intro.\n\n## grp\n\nStopped early.\n\npause s1: 3 min (SIGSTOP)\n")
    text = provenance_markdown([tmp_path], notes)
    assert text.startswith("# Results\n\nIntro.") and "Stopped early." in text
    assert "(seeds 0-1)" in text and "--seed S --out runs/x/sS" in text  # one command for both
    row0, row1 = [line for line in text.splitlines() if line.startswith("| s")]
    assert "| complete | 2,500 of 3,000 | 2.00 | abc1234, fed4321-dirty (1,000) |" in row0
    assert "| Intel(R) Xeon(R) Processor (avx2 amx_bf16) | 1 |" in row0
    assert row0.endswith("| none recorded |") and row1.endswith("| 3 min (SIGSTOP) |")
    assert "| running |" in row1  # an unfinished run is listed, with its status


def test_every_note_names_a_folder_of_results():
    notes = read_notes((RESULTS / "notes.md").read_text())
    named = [name for name, value in notes.items() if isinstance(value, dict)]
    assert named and [n for n in named if not (RESULTS / n).is_dir()] == []
