"""Several seeds in one process: independent runs whose training episodes are played together.

A seed sweep of UDRLPG or GoGePo runs S copies of one algorithm that differ only in their seed. Here
each run trains in its own thread, exactly as it would alone (its own networks, buffer, random
streams, checkpoints and run directory), except that its training rollouts go through a
``RolloutBatcher``: it waits until every run still training has handed in its policies, then plays
all of them in one ``evaluate`` call of one evaluator, so the simulator (on a GPU, the device) sees
S times the policies at once. Each run's episodes start from the initial states its own evaluator
would have drawn, and a ``GroupNorm`` keeps each run's normaliser to its own episodes. A batched run
is deterministic (the same seeds give the same runs) and plays the episodes a separate process would
play, up to float rounding: a policy's row sits at another place in the batched weight tensor, and
the CPU's matrix products round differently at different memory alignments (differences of ~1e-7 in
the actions, which a long run amplifies as any perturbation). ``tests/test_multiseed.py`` checks
both. Updates and evaluation episodes run in the runs' threads, side by side (torch releases the
GIL in its kernels).

    python -m udrlpg_lite train --env Swimmer-v5 --seeds 0,1,2,3 --out runs/swimmer
"""

from __future__ import annotations

import threading
import time

import numpy as np
import torch
from tqdm import tqdm

from ..envs import Evaluator, Rollouts
from ..normalizer import GroupNorm, RunningNorm
from ..policy import PopulationPolicy
from .runner import Run


class RolloutBatcher:
    """Plays the training rollouts of several runs as one evaluate call (see the module doc)."""

    def __init__(self, evaluator: Evaluator, n_runs: int) -> None:
        self.evaluator = evaluator
        self.active = set(range(n_runs))  # runs still training
        self.pending: dict[int, tuple[PopulationPolicy, RunningNorm, tuple]] = {}
        self.results: dict[int, Rollouts] = {}
        self.condition = threading.Condition()

    def evaluate(
        self, run: int, policy: PopulationPolicy, normalizer: RunningNorm, states: tuple
    ) -> Rollouts:
        """Run ``run``'s episodes (one per policy row, from ``states``) with everyone else's."""
        with self.condition:
            self.pending[run] = (policy, normalizer, states)
            self._play_if_complete()
            self.condition.wait_for(lambda: run in self.results)
            return self.results.pop(run)

    def leave(self, run: int) -> None:
        """``run`` has finished (or failed): stop waiting for it."""
        with self.condition:
            self.active.discard(run)
            self._play_if_complete()

    def _play_if_complete(self) -> None:
        if not self.pending or set(self.pending) != self.active:
            return
        runs = sorted(self.pending)
        policies, norms, states = zip(*(self.pending.pop(r) for r in runs))
        counts = [len(p.theta) for p in policies]
        groups = np.repeat(np.arange(len(runs)), counts)
        rollouts = self.evaluator.evaluate(
            PopulationPolicy(policies[0].spec, torch.cat([p.theta for p in policies])),
            sum(counts),
            normalizer=GroupNorm(list(norms), groups),
            update_normalizer=True,
            initial_state=tuple(np.concatenate(parts) for parts in zip(*states)),
        )
        start = 0
        for run, count in zip(runs, counts):
            part = slice(start, start + count)
            self.results[run] = Rollouts(
                rollouts.returns[part], rollouts.lengths[part], rollouts.terminated[part]
            )
            start += count
        self.condition.notify_all()


class BatchedTrainEnv:
    """A run's train_env that hands its rollouts to a RolloutBatcher.

    Everything else (spaces, ``rng``, which checkpoints save) is the run's own evaluator's; the
    initial states are drawn from that evaluator's stream, as they would be alone.
    """

    def __init__(self, own: Evaluator, batcher: RolloutBatcher, run: int) -> None:
        self.own, self.batcher, self.run = own, batcher, run

    def __getattr__(self, name: str):
        return getattr(self.own, name)

    def evaluate(
        self,
        policy: PopulationPolicy,
        n: int,
        *,
        normalizer: RunningNorm | None = None,
        update_normalizer: bool = False,
        initial_state: tuple[np.ndarray, np.ndarray] | None = None,
    ) -> Rollouts:
        if normalizer is None or not update_normalizer or len(policy.theta) != n:
            raise ValueError("batched training rollouts take n policy rows and update a normaliser")
        states = self.own._initial_states(n, initial_state)
        return self.batcher.evaluate(self.run, policy, normalizer, states)


def check_batchable(runs: list[Run]) -> None:
    """One-line errors unless the runs differ only in seed and can share one simulator."""
    first = runs[0].settings
    if not runs[0].algo.supports_gpu:
        raise ValueError(f"several seeds in one process: udrlpg or gogepo, not {first['algo']}")
    for run in runs[1:]:
        for key in ("algo", "env", "config", "steps", "eval_every", "device"):
            if run.settings.get(key) != first.get(key):
                raise ValueError(f"runs batched together must share {key}; {run.out} differs")
    seeds = [run.settings["seed"] for run in runs]
    if len(set(seeds)) != len(seeds):
        raise ValueError(f"runs batched together need distinct seeds, got {seeds}")


def train_together(runs: list[Run], progress: bool = True) -> None:
    """Train the runs to their budgets, one thread each, their training rollouts batched."""
    check_batchable(runs)
    batcher = RolloutBatcher(runs[0].algo.train_env, len(runs))
    seeds = [run.settings["seed"] for run in runs]
    errors: list[BaseException] = []

    def work(index: int, run: Run) -> None:
        try:
            run.algo.train_env = BatchedTrainEnv(run.algo.train_env, batcher, index)
            run.batched_seeds = seeds
            run.train(progress=False)
        except BaseException as e:  # re-raised by the main thread
            errors.append(e)
        finally:
            batcher.leave(index)

    threads = [threading.Thread(target=work, args=(i, run), daemon=True) for i, run in enumerate(runs)]
    total = sum(run.settings["steps"] for run in runs)
    title = f"{runs[0].settings['algo']} on {runs[0].settings['env']}, seeds {seeds}"
    with tqdm(total=total, unit="step", desc=title, disable=not progress, dynamic_ncols=True) as bar:
        for thread in threads:
            thread.start()
        while any(thread.is_alive() for thread in threads):
            time.sleep(0.5)
            done = sum(min(run.algo.env_steps, run.settings["steps"]) for run in runs)
            bar.update(done - bar.n)
    if errors:
        raise errors[0]
