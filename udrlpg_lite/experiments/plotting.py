"""Figures shared by the command line and the book."""

from __future__ import annotations

import csv
from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # the CLI saves files; notebooks switch to their inline backend themselves
import matplotlib.pyplot as plt  # noqa: E402


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
