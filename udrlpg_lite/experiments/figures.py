"""Every figure of the package, drawn with matplotlib's file-only backend (notebooks switch to
their inline one themselves).

A run's own, written by the runner into its directory and shared with the book:

- ``curve.png``: the learning curve, evaluation return against training env steps
  (``plot_learning_curve``);
- ``summary.png``: the learning curve beside the trained generator's commanded vs achieved return
  (``plot_command_curve``).

The report's, over the seeds of each group of run directories (``python -m udrlpg_lite report``):

- ``learning_curves.png`` (and ``udrlpg_variants.png``): mean evaluation return over seeds with its
  95% bootstrap CI against training env steps, one panel per env, one line per group (UDRLPG
  paper, Figure 1).
- ``final_returns.png``: every seed's final return (mean of its last 20 evaluations) per group, with
  the group mean and its CI (UDRLPG paper, Figure 2).
- ``identity_curves.png``: commanded vs achieved return at the end of training, the mean over the
  seeds of each group that ran their command test (``commands.json``; UDRLPG paper, Figure 4).
- ``buffer_strategies.png``: learning curves of UDRLPG groups that differ only in their replay
  buffer (buckets with exp or uniform weights, FIFO, recency; UDRLPG paper, Figure 3).
- ``policy_map.png``: a GoGePo run's map of policy space, its buffer's policies and the generator's
  chains at four stages of training (``policy_map.json``; GoGePo paper, Figure 4).
"""

from __future__ import annotations

import csv
import json
from pathlib import Path

import matplotlib
import numpy as np

matplotlib.use("Agg")  # the CLI saves files; notebooks switch to their inline backend themselves
import matplotlib.pyplot as plt  # noqa: E402

from .stats import mean_ci  # noqa: E402


def read_metrics(path: str | Path) -> dict[str, list[float]]:
    """metrics.csv as columns of floats."""
    with open(path, newline="") as f:
        rows = list(csv.DictReader(f))
    return {key: [float(r[key]) for r in rows] for key in (rows[0] if rows else {})}


def plot_learning_curve(metrics: dict[str, list[float]], title: str, ax=None):
    """Mean evaluation return (+- one std over evaluation episodes) against training env steps."""
    if ax is None:
        _, ax = plt.subplots(figsize=(6, 3.6))
    x = metrics["env_steps"]
    mean, std = metrics["eval_return_mean"], metrics["eval_return_std"]
    ax.plot(x, mean, color="C0", label="evaluation return (no noise)")
    ax.fill_between(
        x, [m - s for m, s in zip(mean, std)], [m + s for m, s in zip(mean, std)], color="C0", alpha=0.2
    )
    if "command" in metrics:
        # UDRLPG's command is the best return seen; GoGePo's asks for its drive more
        ax.plot(x, metrics["command"], color="C1", ls="--", lw=1, label="command")
    ax.set_xlabel("training environment steps")
    ax.set_ylabel("episode return")
    ax.set_title(title)
    ax.legend(loc="lower right", fontsize=8)
    ax.grid(alpha=0.3)
    return ax


def save_learning_curve(metrics_csv: str | Path, png: str | Path, title: str) -> None:
    fig, ax = plt.subplots(figsize=(6, 3.6))
    plot_learning_curve(read_metrics(metrics_csv), title, ax)
    fig.tight_layout()
    fig.savefig(png, dpi=120)
    plt.close(fig)


def plot_command_curve(commands, achieved, achieved_std, title: str, ax=None):
    """Achieved return of G(c) (no noise) against the commanded return c, with the identity line
    (UDRLPG paper, Figure 4): a generator that follows commands lies on the diagonal."""
    if ax is None:
        _, ax = plt.subplots(figsize=(4.2, 3.6))
    lo, hi = min(commands), max(commands)
    ax.plot([lo, hi], [lo, hi], color="0.5", ls=":", lw=1, label="achieved = commanded")
    ax.errorbar(
        commands,
        achieved,
        yerr=achieved_std,
        color="C1",
        marker="o",
        ms=4,
        capsize=2,
        label="achieved (mean +- std)",
    )
    ax.set_xlabel("commanded return")
    ax.set_ylabel("achieved return")
    ax.set_title(title)
    ax.legend(loc="upper left", fontsize=8)
    ax.grid(alpha=0.3)
    return ax


def save_run_summary(metrics_csv: str | Path, sweep: dict, png: str | Path, title: str) -> None:
    """The learning curve beside the command-following curve of the trained generator."""
    fig, (left, right) = plt.subplots(1, 2, figsize=(10, 3.8), width_ratios=(3, 2))
    plot_learning_curve(read_metrics(metrics_csv), title, left)
    plot_command_curve(sweep["commands"], sweep["mean"], sweep["std"], "commanded vs achieved", right)
    fig.tight_layout()
    fig.savefig(png, dpi=120)
    plt.close(fig)


# The report's figures over seeds

GRID_POINTS = 40  # env-step grid on which the seeds' curves are averaged
PANELS_PER_ROW = 4  # identity curves: one panel per group, wrapped into rows


def curve_band(runs: list[dict]) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Step grid, mean return over seeds and the 95% CI at each grid point (seeds' evaluation
    curves interpolated onto a common grid up to the shortest run's last evaluation)."""
    curves = [read_metrics(Path(r["out"]) / "metrics.csv") for r in runs]
    end = min(c["env_steps"][-1] for c in curves)
    grid = np.linspace(0, end, GRID_POINTS)
    ys = np.array([np.interp(grid, c["env_steps"], c["eval_return_mean"]) for c in curves])
    bands = np.array([mean_ci(ys[:, i]) for i in range(len(grid))])
    return grid, ys.mean(axis=0), bands[:, 0], bands[:, 1]


def _save(fig, png: Path) -> None:
    fig.tight_layout()
    fig.savefig(png, dpi=120)
    plt.close(fig)


def _axes(ax, title: str, xlabel: str, ylabel: str, **title_kw) -> None:
    ax.set_title(title, **title_kw)
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=7, loc="best")


def _label(group: Path, runs: list[dict]) -> str:
    return f"{group.name} ({runs[0]['algo']}, n={len(runs)})"


def learning_curves(groups: dict[Path, list[dict]], png: Path) -> None:
    """One panel per env. Where no panel holds two groups of one algorithm (the papers'
    protocol), each algorithm keeps one colour across all panels; else each group its own."""
    algos = ["udrlpg", "gogepo", "ars", "ddpg", "udrl"]  # the papers' order, then any other
    algos += sorted({r[0]["algo"] for r in groups.values()} - set(algos))
    envs = sorted({runs[0]["env"] for runs in groups.values()})
    per_env = [[r[0]["algo"] for r in groups.values() if r[0]["env"] == env] for env in envs]
    by_algo = all(len(found) == len(set(found)) for found in per_env)
    fig, axes = plt.subplots(1, len(envs), figsize=(5.2 * len(envs), 3.8), squeeze=False)
    for ax, env in zip(axes[0], envs):
        for k, (group, runs) in enumerate((g, r) for g, r in groups.items() if r[0]["env"] == env):
            colour = f"C{algos.index(runs[0]['algo']) if by_algo else k}"
            grid, mean, low, high = curve_band(runs)
            ax.plot(grid, mean, color=colour, label=_label(group, runs))
            ax.fill_between(grid, low, high, color=colour, alpha=0.2)
        _axes(ax, env, "training environment steps", "evaluation return (mean over seeds, 95% CI)")
    _save(fig, png)


def final_returns(groups: dict[Path, list[dict]], png: Path) -> None:
    """One axis per env (their returns differ in scale), one column per group."""
    envs = sorted({runs[0]["env"] for runs in groups.values()})
    names = {env: [g for g, r in groups.items() if r[0]["env"] == env] for env in envs}
    widths = [max(2, len(names[env])) for env in envs]
    fig, axes = plt.subplots(1, len(envs), figsize=(max(6.0, 0.75 * sum(widths) + 1.5), 4.6),
                             squeeze=False, width_ratios=widths)  # fmt: skip
    rng = np.random.default_rng(0)  # horizontal jitter of the dots only
    for ax, env in zip(axes[0], envs):
        for i, group in enumerate(names[env]):
            finals = np.array([r["final_return"] for r in groups[group]])
            ax.scatter(i + rng.uniform(-0.15, 0.15, len(finals)), finals, s=14, color="C0",
                       alpha=0.7)  # fmt: skip
            low, high = mean_ci(finals)
            ax.errorbar(i + 0.3, finals.mean(), yerr=[[finals.mean() - low], [high - finals.mean()]],
                        color="C3", marker="D", ms=5, capsize=3)  # fmt: skip
        ax.set_xticks(range(len(names[env])), [_label(g, groups[g]) for g in names[env]],
                      rotation=35, ha="right", fontsize=7)  # fmt: skip
        ax.set_xlim(-0.6, len(names[env]) - 0.2)
        ax.set_title(env, fontsize=9)
        ax.grid(alpha=0.3, axis="y")
    axes[0][0].set_ylabel("final return (mean of last 20 evaluations)")
    fig.suptitle("final return per seed (dots), group mean with 95% CI (diamond)", fontsize=10)
    _save(fig, png)


def tested(runs: list[dict]) -> list[dict]:
    """The runs of a group that have their command test (``commands.json``)."""
    return [r for r in runs if (Path(r["out"]) / "commands.json").exists()]


def identity_curves(groups: dict[Path, list[dict]], png: Path) -> bool:
    """One panel per group with at least one command test, over the seeds that have one (the
    title says how many). Returns False (and draws nothing) when no group has any."""
    with_sweep = {}
    for g, runs in groups.items():
        if found := tested(runs):
            with_sweep[g] = [json.loads((Path(r["out"]) / "commands.json").read_text()) for r in found]
    if not with_sweep:
        return False
    cols = min(len(with_sweep), PANELS_PER_ROW)
    rows = -(-len(with_sweep) // cols)
    fig, axes = plt.subplots(rows, cols, figsize=(3.8 * cols, 3.6 * rows), squeeze=False)
    for ax in axes.flat[len(with_sweep) :]:
        ax.set_visible(False)
    for ax, (group, sweeps) in zip(axes.flat, with_sweep.items()):
        for s in sweeps:  # each seed's commands span the returns its own run saw
            ax.plot(s["commands"], s["mean"], color="C1", alpha=0.3, lw=0.8)
        if all(s["commands"] == sweeps[0]["commands"] for s in sweeps):
            mean = np.mean([s["mean"] for s in sweeps], axis=0)
            ax.plot(sweeps[0]["commands"], mean, color="C1", marker="o", ms=3, label="mean")
        top = max(max(s["commands"]) for s in sweeps)
        ax.plot([0, top], [0, top], color="0.5", ls=":", label="identity")
        runs = groups[group]
        title = f"{group.name} ({runs[0]['algo']}, {len(sweeps)} of {len(runs)} seeds tested)"
        _axes(ax, title, "commanded return", "achieved return", fontsize=8)
    _save(fig, png)
    return True


BUFFER_SETTINGS = ("buffer=", "weighting=")  # what the strategies of Figure 3 change


def strategy(variant: str) -> str:
    """``buckets+exp`` (the paper's), ``buckets+uniform``, ``fifo``, ``recency`` from a variant."""
    items = dict(item.split("=", 1) for item in variant.split(", ") if "=" in item)
    buffer = items.get("buffer", "buckets")
    return f"buckets+{items.get('weighting', 'exp')}" if buffer == "buckets" else buffer


def strategy_sets(groups: dict[Path, list[dict]]) -> dict[tuple, dict[str, tuple]]:
    """UDRLPG groups with the same env, budget and settings but for the buffer, by strategy; only
    sets with at least two strategies."""
    sets: dict[tuple, dict[str, tuple]] = {}
    for group, runs in groups.items():
        first = runs[0]
        if first["algo"] != "udrlpg":
            continue
        rest = [v for v in first["variant"].split(", ") if not v.startswith(BUFFER_SETTINGS)]
        key = (first["env"], first["steps"], ", ".join(rest))
        sets.setdefault(key, {})[strategy(first["variant"])] = (group, runs)
    return {key: found for key, found in sets.items() if len(found) > 1}


def buffer_strategies(groups: dict[Path, list[dict]], png: Path) -> bool:
    """Returns False (and draws nothing) when no groups differ only in their buffer."""
    sets = strategy_sets(groups)
    if not sets:
        return False
    fig, axes = plt.subplots(1, len(sets), figsize=(5.6 * len(sets), 3.8), squeeze=False)
    for ax, ((env, _, rest), found) in zip(axes[0], sets.items()):
        for k, name in enumerate(sorted(found)):
            group, runs = found[name]
            grid, mean, low, high = curve_band(runs)
            ax.plot(grid, mean, color=f"C{k}", label=f"{name} (n={len(runs)})")
            ax.fill_between(grid, low, high, color=f"C{k}", alpha=0.2)
        _axes(ax, f"{env}: {rest}", "training environment steps",
              "evaluation return (mean over seeds, 95% CI)", fontsize=8)  # fmt: skip
    _save(fig, png)
    return True


def map_run(groups: dict[Path, list[dict]]) -> dict | None:
    """The run whose map the report draws: the first seed with a ``policy_map.json`` of the first
    GoGePo group run with the papers' settings (else of any GoGePo group), or None."""
    gogepo = [runs for runs in groups.values() if runs[0]["algo"] == "gogepo"]
    ordered = [r for r in gogepo if r[0]["variant"] == "faithful"] + gogepo
    for runs in ordered:
        for run in sorted(runs, key=lambda r: r["seed"]):
            if (Path(run["out"]) / "policy_map.json").exists():
                return run
    return None


def policy_map(groups: dict[Path, list[dict]], png: Path) -> bool:
    """Left: the buffer's policies (dots, coloured by stored return) and the generator's chains (one
    marker per stage, coloured by achieved return) at the first two principal components of their
    probing actions. Right: the chains' achieved returns against the commands. Returns False (and
    draws nothing) when no GoGePo run has a map."""
    run = map_run(groups)
    if run is None:
        return False
    data = json.loads((Path(run["out"]) / "policy_map.json").read_text())
    buffer, chains = data["buffer"], data["chains"]
    values = buffer["return"] + [a for c in chains for a in c["achieved"]]
    norm = plt.Normalize(min(values), max(values))
    fig, (left, right) = plt.subplots(1, 2, figsize=(12, 4.6), width_ratios=[1.3, 1])
    dots = left.scatter(buffer["x"], buffer["y"], c=buffer["return"], norm=norm, s=8, alpha=0.5)
    markers = "s^Do"
    for k, c in enumerate(chains):
        marker, label = markers[k % len(markers)], f"G(c) after {c['env_steps']:,} steps"
        left.plot(c["x"], c["y"], color="0.3", lw=0.8, zorder=2)
        left.scatter(c["x"], c["y"], c=c["achieved"], norm=norm, marker=marker, s=40,
                     edgecolors="k", zorder=3, label=label)  # fmt: skip
        right.plot(c["commands"], c["achieved"], marker=marker, ms=4, label=label)
    fig.colorbar(dots, ax=left, label="return")
    title = f"{run['algo']} on {run['env']}, seed {run['seed']} ({Path(run['out']).parent.name})"
    _axes(left, title, "principal component 1 of the probing actions", "principal component 2",
          fontsize=9)  # fmt: skip
    commands = chains[-1]["commands"]
    right.plot(commands, commands, color="0.5", ls=":", label="achieved = command")
    _axes(right, "what the chains achieve", "command (desired return)", "achieved return",
          fontsize=9)  # fmt: skip
    _save(fig, png)
    return True
