"""Summaries over seeds of run directories: ``python -m udrlpg_lite report results/ --out DIR``.

A group is the set of finished runs (manifest status ``complete``) that share a parent folder, e.g.
``results/udrlpg-ip/s0 ... s4``; a folder given on the command line may be one group or hold many.

A run's final return is the mean of its last 20 evaluations (GoGePo appendix, Table 1). Over the
seeds of one (env, algo, preset) group the report gives the mean and the sample standard deviation
(ddof 1) of the final returns, a 95% bootstrap confidence interval of the mean
(``scipy.stats.bootstrap``, BCa), two shares of seeds against the env's threshold (``reached_rate``:
any evaluation at or above it; ``final_pass_rate``: the final return at or above it), and, where a
run has its command test (commands.json), the RMSE of achieved against commanded return.

``README.md`` beside them is the provenance of every group of run directories, finished or not, read
from their manifests (``provenance_markdown``), with the short notes of ``notes.md`` where the
manifests cannot say it (a pause inside a wall time, a run stopped early).
"""

from __future__ import annotations

import csv
import dataclasses
import json
from pathlib import Path

import numpy as np

from .figures import read_metrics
from .stats import mean_ci

PASS_THRESHOLDS = {"InvertedPendulum-v5": 950.0, "Swimmer-v5": 250.0, "Hopper-v5": 2070.0}
PASS_THRESHOLDS["InvertedPendulum-v4"] = 950.0  # the authors' code runs the -v4 task
FINAL_EVALS = 20  # the last evaluations averaged into a run's final return
COLUMNS = [
    "env",
    "algo",
    "preset",
    "variant",
    "n_seeds",
    "final_return_mean",
    "final_return_std",
    "ci95_low",
    "ci95_high",
    "reached_rate",
    "final_pass_rate",
    "rmse_median",
    "steps",
    "eval_every",
    "eval_episodes",
]


def variant(settings: dict) -> str:
    """The run's settings beyond its preset's, e.g. ``faithful`` or ``faithful, bucket_rule=newest``
    (the matmul precision, chosen per machine, is not part of it). A preset's setting that a run's
    config lacks was added after the run, which ran with that setting's default: a run of an
    earlier ``follow`` reads ``follow, lr=2e-06, shrink_share=0.0``."""
    from ..algorithms.udrlpg import PRESET_SETTINGS, UDRLPGConfig

    preset = settings.get("preset", "faithful")
    own = PRESET_SETTINGS.get(preset, {}) if settings["algo"] == "udrlpg" else {}
    config = settings.get("config", {})
    defaults = {f.name: f.default for f in dataclasses.fields(UDRLPGConfig)}
    config = {k: defaults[k] for k in own if k not in config} | config
    extra = {k: v for k, v in config.items() if k != "precision" and _plain(own.get(k)) != _plain(v)}
    return ", ".join([preset, *(f"{k}={_plain(v)}" for k, v in sorted(extra.items()))])


def _plain(value: object) -> object:
    return list(value) if isinstance(value, tuple | list) else value


def run_summary(out: Path) -> dict:
    """One run directory: its identity, final return, first step at the threshold, RMSE."""
    settings = json.loads((out / "run.json").read_text())
    manifest = json.loads((out / "manifest.json").read_text())
    metrics = read_metrics(out / "metrics.csv")
    returns = np.array(metrics["eval_return_mean"])
    threshold = PASS_THRESHOLDS.get(settings["env"], np.inf)
    passed = np.flatnonzero(returns >= threshold)
    sweep = out / "commands.json"
    return {
        "env": settings["env"],
        "algo": settings["algo"],
        "preset": settings.get("preset", "faithful"),
        "variant": variant(settings),
        "seed": settings["seed"],
        "out": out,
        "final_return": float(returns[-FINAL_EVALS:].mean()),
        "first_pass_step": int(metrics["env_steps"][passed[0]]) if len(passed) else None,
        "rmse": json.loads(sweep.read_text())["rmse"] if sweep.exists() else None,
        "wall_time_s": manifest["wall_time_s"],
        "steps": settings.get("steps"),
        "eval_every": settings["eval_every"],
        "eval_episodes": manifest["config"].get("eval_episodes"),
    }


def group_summary(runs: list[dict]) -> dict:
    finals = np.array([r["final_return"] for r in runs])
    low, high = mean_ci(finals)
    rmses = [r["rmse"] for r in runs if r["rmse"] is not None]
    first = runs[0]
    threshold = PASS_THRESHOLDS.get(first["env"], np.inf)
    reached = round(sum(r["first_pass_step"] is not None for r in runs) / len(runs), 3)
    return {
        "env": first["env"],
        "algo": first["algo"],
        "preset": first["preset"],
        "variant": first["variant"],
        "n_seeds": len(runs),
        "final_return_mean": round(float(finals.mean()), 1),
        # the sample std (ddof 1); one seed has no spread to estimate
        "final_return_std": round(float(finals.std(ddof=1)), 1) if len(finals) > 1 else 0.0,
        "ci95_low": round(low, 1),
        "ci95_high": round(high, 1),
        "reached_rate": reached,  # any evaluation at or above the threshold
        "final_pass_rate": round(float(np.mean(finals >= threshold)), 3),
        "rmse_median": round(float(np.median(rmses)), 1) if rmses else "",
        "steps": first["steps"],
        "eval_every": first["eval_every"],
        "eval_episodes": first["eval_episodes"],
        "pass_rate": reached,  # old name of reached_rate, not in summary.csv; for chapter 7 only
    }


def find_runs(root: Path) -> list[Path]:
    """Every finished run directory below root (run.json beside a manifest saying complete)."""
    found = []
    for path in sorted(root.rglob("run.json")):
        manifest = path.parent / "manifest.json"
        if manifest.exists() and json.loads(manifest.read_text()).get("status") == "complete":
            found.append(path.parent)
    return found


def find_groups(roots: list[Path]) -> dict[Path, list[dict]]:
    """The finished runs under ``roots``, grouped by their parent folder (sorted by name)."""
    groups: dict[Path, list[dict]] = {}
    seen: set[Path] = set()
    for root in roots:
        runs = find_runs(root)
        if not runs:
            raise ValueError(f"no finished run directories under {root}")
        for out in (r for r in runs if r.resolve() not in seen):
            seen.add(out.resolve())
            groups.setdefault(out.parent, []).append(run_summary(out))
    for group, runs in groups.items():
        identities = {(r["env"], r["algo"], r["variant"]) for r in runs}
        if len(identities) > 1:
            raise ValueError(f"{group} mixes runs of different settings: {sorted(identities)}")
    return dict(sorted(groups.items()))


def write_summary(roots: list[Path], csv_path: Path) -> list[dict]:
    """One summary row per group of runs under ``roots``, written to ``csv_path``."""
    return _write_rows(find_groups(roots), csv_path)


def _write_rows(groups: dict[Path, list[dict]], csv_path: Path) -> list[dict]:
    rows = [{"group": group.name} | group_summary(runs) for group, runs in groups.items()]
    with open(csv_path, "w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=["group", *COLUMNS], extrasaction="ignore")
        writer.writeheader()
        writer.writerows(rows)
    return rows


# The papers' final returns (mean +- std over 20 runs, the last 20 evaluations of each): GoGePo,
# arXiv version with the appendix ("PoliGen"), Appendix Table 1, on gym's -v2/-v3 envs; UDRLPG's
# paper states its means in Sec. 5 (Results and Discussion) on -v4 envs, without a spread.
PAPER_TABLE1 = {
    "InvertedPendulum-v5": {
        "env_then": "InvertedPendulum-v2 (GoGePo), -v4 (UDRLPG)",
        "gogepo": "980 ± 40",
        "ars": "936 ± 42",
        "ddpg": "960 ± 175",
        "udrl": "219 ± 299",
        "udrlpg": "1000 (converges to the maximum)",
    },
    "Swimmer-v5": {
        "env_then": "Swimmer-v3 (GoGePo), -v4 (UDRLPG)",
        "gogepo": "334 ± 16",
        "ars": "342 ± 21",
        "ddpg": "129 ± 25",
        "udrl": "78 ± 17",
        "udrlpg": "300 (GoGePo 320 in the same figure)",
    },
    "Hopper-v5": {
        "env_then": "Hopper-v3 (GoGePo), -v4 (UDRLPG)",
        "gogepo": "2589 ± 300",
        "ars": "2340 ± 199",
        "ddpg": "1634 ± 1036",
        "udrl": "1010 ± 78",
        "udrlpg": "2070 (said to match GoGePo's run in its Figure 1; not GoGePo's 2589)",
    },
}


def same_task(env: str, table: dict) -> object | None:
    """The entry of ``table`` for ``env`` or, failing that, for another version of its task
    (``InvertedPendulum-v4`` -> the ``InvertedPendulum-v5`` entry); None if there is none."""
    if env in table:
        return table[env]
    task = env.rsplit("-", 1)[0]
    return next((v for k, v in table.items() if k.rsplit("-", 1)[0] == task), None)


def is_paper_protocol(row: dict) -> bool:
    """A group run with an algorithm's faithful settings (the papers' protocol), nothing changed."""
    return row["variant"] == "faithful"


# The faithful settings with one change of a protocol the papers leave open, at the paper's
# budget: Table 1 shows them beside the faithful row, under these names. GoGePo's appendix does not
# say whether its UDRL baseline trained on Hopper with the healthy reward (book chapter 3).
PROTOCOL_QUESTIONS = {
    "faithful, train_reward=standard": "faithful, but the standard reward in training",
}


def in_table1(row: dict) -> bool:
    """The papers' protocol (or it with a change the papers leave open, ``PROTOCOL_QUESTIONS``),
    or one of our named UDRLPG presets unchanged, at the paper's budget (a variant: Table 1
    names it as ours)."""
    from ..presets import ENV_PRESETS

    if is_paper_protocol(row):
        return True
    budget = ENV_PRESETS[row["env"]].steps if row["env"] in ENV_PRESETS else None
    if row["variant"] in PROTOCOL_QUESTIONS:
        return row["steps"] == budget
    return row["algo"] == "udrlpg" and row["variant"] == row["preset"] and row["steps"] == budget


def table1_settings(row: dict) -> str:
    """How Table 1 names a group's settings: faithful, a protocol question, or our variant."""
    if is_paper_protocol(row):
        return "faithful"
    return PROTOCOL_QUESTIONS.get(row["variant"], f"{row['variant']} (ours)")


def table1_markdown(rows: list[dict]) -> str:
    """Our final returns beside the papers' (GoGePo Appendix Table 1; UDRLPG Sec. 5); a group
    trained on another budget than the paper's says so in its settings, and an algorithm of the
    papers with no group of ours on an environment we ran gets a row "not run"."""
    from ..presets import ENV_PRESETS

    entries = []  # (env, algo, settings, ours, papers'), one table row each
    for row in filter(in_table1, rows):
        settings = table1_settings(row)
        budget = same_task(row["env"], ENV_PRESETS)
        if row["steps"] and row["steps"] != (budget.steps if budget else None):
            settings += f", {row['steps'] / 1e6:g}M steps"
        ours = (
            f"{row['final_return_mean']:.0f} ± {row['final_return_std']:.0f} ({row['n_seeds']}) | "
            f"{row['ci95_low']:.0f} to {row['ci95_high']:.0f} | "
            f"{row['reached_rate']:.2f} | {row['final_pass_rate']:.2f}"
        )
        # the authors' own code (algo udrlpg-authors) stands beside the UDRLPG paper's value
        paper = same_task(row["env"], PAPER_TABLE1) or {}
        theirs = paper.get(row["algo"].removesuffix("-authors"), "-")
        entries.append((row["env"], row["algo"], settings, ours, theirs))
    for env in sorted({row["env"] for row in rows} & set(PAPER_TABLE1)):
        done = {row["algo"] for row in rows if row["env"] == env and is_paper_protocol(row)}
        for algo in sorted(set(PAPER_TABLE1[env]) - {"env_then"} - done):
            entries.append((env, algo, "not run", "- | - | - | -", PAPER_TABLE1[env][algo]))
    lines = [
        "| env (ours; theirs) | algorithm | settings | ours: mean ± std (n) | ours: 95% CI "
        "| reached the mark once | final ≥ mark | papers |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for env, algo, settings, ours, theirs in sorted(entries):
        then = PAPER_TABLE1.get(env, {}).get("env_then", "-")
        lines.append(f"| {env}; {then} | {algo} | {settings} | {ours} | {theirs} |")
    return "\n".join(lines) + "\n"


def write_report(roots: list[Path], out: Path) -> list[str]:
    """summary.csv, table1.md and the figures of ``figures.py`` for the runs under ``roots``: the
    learning curves of the groups run with the papers' protocol, and of every UDRLPG variant."""
    from . import figures

    out.mkdir(parents=True, exist_ok=True)
    groups = find_groups(roots)  # read once: the table and every figure use the same runs
    rows = _write_rows(groups, out / "summary.csv")
    (out / "table1.md").write_text(table1_markdown(rows))
    paper = {g: runs for g, runs in groups.items() if is_paper_protocol(runs[0])}
    variants = {g: runs for g, runs in groups.items() if runs[0]["algo"] == "udrlpg"}
    written = ["summary.csv", "table1.md", "final_returns.png"]
    for name, chosen in (("learning_curves.png", paper), ("udrlpg_variants.png", variants)):
        if chosen:
            figures.learning_curves(chosen, out / name)
            written.append(name)
    figures.final_returns(groups, out / "final_returns.png")
    write_provenance(roots, out / "README.md", out / NOTES)
    written.append("README.md")
    if figures.identity_curves(groups, out / "identity_curves.png"):
        written.append("identity_curves.png")
    if figures.buffer_strategies(groups, out / "buffer_strategies.png"):
        written.append("buffer_strategies.png")
    if figures.policy_map(groups, out / "policy_map.png"):
        written.append("policy_map.png")
    return written


# --- provenance: results/README.md, generated from the manifests (and notes.toml) ---------------

NOTES = "notes.md"  # beside the report's files: an intro, then "## folder" and its short note
PROVENANCE_COLUMNS = [
    "run",
    "status",
    "env steps of budget",
    "wall time (h)",
    "commits (from env step)",
    "CPU (matrix features)",
    "torch threads",
    "updates in",
    "pauses in the wall time",
]


def find_run_dirs(root: Path) -> list[Path]:
    """Every run directory below root, finished or not (run.json beside a manifest.json)."""
    return [p.parent for p in sorted(root.rglob("run.json")) if (p.parent / "manifest.json").exists()]


def device_parts(device: str) -> tuple[str, str]:
    """``cpu: AMD EPYC (avx2 avx512f), 2 cores, torch threads 1`` -> (``AMD EPYC (avx2
    avx512f)``, ``1``); a manifest from before the features were recorded says so."""
    name = device.removeprefix("cpu: ").split(", ")[0]
    threads = device.rsplit("torch threads ", 1)[-1] if "torch threads" in device else "-"
    return (name if "(" in name else f"{name} (not recorded)"), threads


def commits_text(manifest: dict) -> str:
    """The commit of each process that trained the run, short, with the step it started from."""
    segments = manifest.get("segments") or [
        {"commit": manifest.get("commit", "not recorded"), "from_env_steps": 0}
    ]
    parts = []
    for s in segments:
        commit, _, dirty = s["commit"].partition("-")
        start = f" ({s['from_env_steps']:,})" if s["from_env_steps"] else ""
        parts.append(commit[:7] + (f"-{dirty}" if dirty else "") + start)
    return ", ".join(parts)


def seeds_text(seeds: list[int]) -> str:
    """[0, 1, 2, 4] -> '0-2, 4'."""
    seeds, spans = sorted(seeds), []
    for s in seeds:
        if spans and s == spans[-1][1] + 1:
            spans[-1][1] = s
        else:
            spans.append([s, s])
    return ", ".join(f"{a}" if a == b else f"{a}-{b}" for a, b in spans)


def provenance_markdown(roots: list[Path], notes: dict) -> str:
    """The provenance of every folder of run directories under ``roots`` (sorted by name): what
    the runs are, the commands, and per run its status, steps, wall time, commits, CPU, threads,
    precision and the pauses ``notes`` records; folders without runs get their note only."""
    import re

    folders: dict[str, list[Path]] = {}
    for root in roots:
        for out in find_run_dirs(root):
            folders.setdefault(str(out.parent.relative_to(root)), []).append(out)
    names = sorted(set(folders) | {k for k, v in notes.items() if isinstance(v, dict)})
    lines = ["# Results", "", notes.get("intro", "").strip(), ""]
    for name in names:
        note = notes.get(name, {})
        lines += [f"## `{name}/`", ""]
        if note.get("note", "").strip():
            lines += [note["note"].strip(), ""]
        if name not in folders:
            continue
        runs = []
        for out in folders[name]:
            settings = json.loads((out / "run.json").read_text())
            runs.append((settings, json.loads((out / "manifest.json").read_text()), out))
        runs.sort(key=lambda r: (r[0].get("seed", 0), r[2].name))
        kinds = sorted({f"{s['algo']} on {s['env']}, {variant(s)}" for s, _, _ in runs})
        done = sum(m["status"] == "complete" for _, m, _ in runs)
        lines += [f"{'; '.join(kinds)}. {len(runs)} run(s), {done} complete.", "", "Commands:", ""]
        commands: dict[str, list[int]] = {}
        for s, m, _ in runs:
            seed = s["seed"]
            general = re.sub(rf"(--seed |[/-]s){seed}\b", r"\1S", m.get("command", "not recorded"))
            commands.setdefault(general, []).append(seed)
        for command, seeds in commands.items():
            which = f"seed {seeds[0]}" if len(seeds) == 1 else f"seeds {seeds_text(seeds)}"
            lines.append(f"- `{command}` ({which})")
        pauses = note.get("pauses", {})
        lines += ["", "| " + " | ".join(PROVENANCE_COLUMNS) + " |"]
        lines.append("|" + "---|" * len(PROVENANCE_COLUMNS))
        for _, m, out in runs:
            cpu, threads = device_parts(m.get("device", "not recorded"))
            cells = [
                out.name,
                m["status"],
                f"{m.get('env_steps', 0):,} of {m.get('steps_budget', 0):,}",
                f"{m['wall_time_s'] / 3600:.2f}",
                commits_text(m),
                cpu,
                threads,
                m.get("run_info", {}).get("update_precision", "-"),
                pauses.get(out.name, "none recorded"),
            ]
            lines.append("| " + " | ".join(cells) + " |")
        lines.append("")
    return "\n".join(lines).rstrip() + "\n"


def read_notes(text: str) -> dict:
    """notes.md: an intro, then one ``## folder`` section per folder: its note, and lines
    ``pause RUN: TEXT`` for the pauses (SIGSTOP) a run's wall time includes."""
    notes: dict = {"intro": []}
    current = notes["intro"]
    for line in text.splitlines():
        if line.startswith("## "):
            name = line[3:].strip().strip("`/")
            notes[name] = {"note": [], "pauses": {}}
            current = notes[name]["note"]
        elif line.startswith("pause ") and ":" in line and current is not notes["intro"]:
            run, _, what = line[len("pause ") :].partition(":")
            notes[name]["pauses"][run.strip()] = what.strip()
        else:
            current.append(line)
    notes["intro"] = "\n".join(notes["intro"])
    for value in notes.values():
        if isinstance(value, dict):
            value["note"] = "\n".join(value["note"])
    return notes


def write_provenance(roots: list[Path], md_path: Path, notes_path: Path | None = None) -> str:
    """README.md of a results folder: ``provenance_markdown`` with the notes of ``notes_path``."""
    notes = read_notes(notes_path.read_text()) if notes_path and notes_path.exists() else {}
    text = provenance_markdown(roots, notes)
    md_path.write_text(text)
    return text
