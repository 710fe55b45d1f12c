"""What a UDRLPG run's replay buffer holds: ``python -m udrlpg_lite buffer RUN [--replay N]``.

The generator learns only what the buffer shows it (UDRLPG paper, Sec. 4: L_G is a regression on
the stored (theta, r) pairs). Two things decide whether G(c) can follow a command c:

* **coverage**: how many stored policies have returns near c, and how much of each batch they get
  (the sampling mass of their return range under the buffer's weighting);
* **label truth**: whether a stored return is still the return of its policy. A return is measured
  once, in one noisy training episode under the observation statistics of that moment; the policy
  is later generated and run under today's statistics. ``replay`` plays every stored policy again,
  without noise, under today's normaliser, with the reward its return was stored in, and compares;
* **separation**: whether policies of different returns are different policies at all. Every stored
  policy is G(c) + sigma * eps; if the buffer held noisy copies of one policy, the mean weights of
  two return ranges with n_a and n_b policies would differ only by noise, by sigma * sqrt(d (1/n_a +
  1/n_b)) in norm (d weights). ``separation`` is the distance of each range's mean from the top
  range's in that unit: near 1, the regression has nothing but noise to tell the ranges apart.

The census reads a run directory's checkpoint and changes nothing in it; replayed episodes are
evaluation episodes (they do not count as training steps, and nothing learns from them).
"""

from __future__ import annotations

import numpy as np

from .runner import Run


def census(run: Run, bins: int = 10, replay_episodes: int = 0) -> dict:
    """Stored returns of ``run``'s buffer per return range (in the env's units).

    Returns ``edges`` (bins + 1 values over the env's return range), and per range ``entries``,
    ``mass`` (probability that one draw of a batch comes from it) and, with ``replay_episodes``,
    ``replayed`` (mean replayed return of its entries, NaN where empty) and ``abs_error`` (mean
    |stored - replayed| of its entries), and ``separation`` (module docstring; NaN for an empty
    range and for the top non-empty one, the reference). Returns at or beyond the range's ends count
    in the end bins.
    """
    algo = run.algo
    if not hasattr(algo, "buffer") or not hasattr(algo, "scale"):
        raise ValueError(f"{run.out} is a {run.settings['algo']} run: it has no policy buffer")
    buffer = algo.buffer
    if not len(buffer):
        raise ValueError(f"{run.out}: the buffer is empty (no checkpoint, or a run not started)")
    if bins < 1 or replay_episodes < 0:
        raise ValueError(f"bins must be >= 1 and replay episodes >= 0, got {bins}, {replay_episodes}")
    stored = np.array([algo.scale.unscale(e.ret) for e in buffer.entries])
    lo, hi = algo.preset.return_range
    edges = np.linspace(lo, hi, bins + 1)
    which = np.clip(np.digitize(stored, edges[1:-1]), 0, bins - 1)
    mass = np.bincount(which, weights=buffer.probabilities(), minlength=bins)
    result = {
        "env": algo.env_id,
        "env_steps": algo.env_steps,
        "n_entries": len(stored),
        "edges": edges.tolist(),
        "entries": np.bincount(which, minlength=bins).tolist(),
        "mass": mass.tolist(),
        "separation": separation(buffer, which, bins, algo.config.sigma).tolist(),
    }
    if replay_episodes:
        import torch

        thetas = torch.stack([e.theta for e in buffer.entries]).repeat_interleave(replay_episodes, 0)
        rollouts = algo.rollout_commanded(algo.spec, thetas)  # the stored returns' reward
        replayed = rollouts.returns.reshape(len(stored), replay_episodes).mean(axis=1)
        error = np.abs(stored - replayed)
        per_bin = [which == k for k in range(bins)]
        result |= {
            "replay_episodes": replay_episodes,
            "replayed": [float(replayed[m].mean()) if m.any() else float("nan") for m in per_bin],
            "abs_error": [float(error[m].mean()) if m.any() else float("nan") for m in per_bin],
            "abs_error_all": float(error.mean()),
        }
    return result


def separation(buffer, which: np.ndarray, bins: int, sigma: float) -> np.ndarray:
    """Per return range: |mean theta - mean theta of the top non-empty range|, over the distance
    that noise alone would give, sigma * sqrt(d (1/n + 1/n_top)) (module docstring)."""
    import torch

    thetas = torch.stack([e.theta.float().cpu() for e in buffer.entries])
    counts = np.bincount(which, minlength=bins)
    top = int(np.flatnonzero(counts)[-1])
    means = {k: thetas[torch.from_numpy(which == k)].mean(0) for k in np.flatnonzero(counts)}
    result = np.full(bins, np.nan)
    for k, mean in means.items():
        if k != top:
            noise = sigma * np.sqrt(thetas.shape[1] * (1 / counts[k] + 1 / counts[top]))
            result[k] = float((mean - means[top]).norm()) / noise
    return result


def format_census(result: dict) -> str:
    edges = result["edges"]
    replay = "replayed" in result
    head = f"{'stored return':>19} {'entries':>8} {'sampling mass':>14} {'separation':>11}"
    if replay:
        head += f" {'replayed (mean)':>16} {'|stored - replayed|':>20}"
    lines = [
        f"{result['env']}, buffer after {result['env_steps']:,} training steps: "
        f"{result['n_entries']} policies",
        head,
    ]
    for k, (n, m) in enumerate(zip(result["entries"], result["mass"])):
        line = f"{edges[k]:8.0f} to {edges[k + 1]:<8.0f} {n:>8d} {m:>14.3f}"
        line += f" {result['separation'][k]:>11.1f}"
        if replay:
            line += f" {result['replayed'][k]:>16.0f} {result['abs_error'][k]:>20.0f}"
        lines.append(line)
    lines.append("separation: distance from the top range's mean policy, in units of what noise gives")
    if replay:
        lines.append(
            f"mean |stored - replayed| over all policies: {result['abs_error_all']:.0f} "
            f"({result['replay_episodes']} episodes each, no noise, today's normaliser)"
        )
    return "\n".join(lines)
