"""Replay buffers of (policy weights theta, observed return r) pairs.

Three buffers with one interface, so the buffer ablation of the UDRLPG paper (Figure 3) is a setting:

* ``BucketBuffer``: return buckets (UDRLPG paper, Sec. 4). Sampling first picks a bucket by a weight
  that depends only on the bucket's rank among the non-empty buckets, then a policy uniformly inside
  it, which decouples the sampling probability of a return range from how many policies landed there.
* ``FIFOBuffer``: the newest ``capacity`` pairs, sampled uniformly.
* ``RecencyBuffer``: the newest ``capacity`` pairs, the k-th newest drawn with weight 1 / k^1.1
  (GoGePo appendix A.1).

All sample with replacement from a numpy Generator the caller owns, so a seeded run is reproducible.
"""

from __future__ import annotations

import math
from collections import deque
from dataclasses import dataclass

import numpy as np
import torch


@dataclass(eq=False)  # entries compare by identity
class Entry:
    theta: torch.Tensor
    ret: float
    index: int  # arrival number, 0 for the first pair ever added


class ReplayBuffer:
    """Common interface: ``add``, ``sample``, ``len``, ``best_return``, ``state_dict``."""

    def __init__(self, capacity: int) -> None:
        if capacity <= 0:
            raise ValueError(f"buffer capacity must be positive, got {capacity}")
        self.capacity = capacity
        self.entries: deque[Entry] = deque()  # arrival order, oldest first
        self.n_added = 0
        self.best_return = -math.inf

    def __len__(self) -> int:
        return len(self.entries)

    def add(self, theta: torch.Tensor, ret: float) -> bool:
        """Store a pair; returns whether it was kept."""
        if not math.isfinite(ret):
            raise ValueError(f"cannot store a policy with a non-finite return ({ret})")
        entry = Entry(theta.detach().reshape(-1).clone(), float(ret), self.n_added)
        self.n_added += 1
        self.best_return = max(self.best_return, entry.ret)
        if not self._admit(entry):
            return False
        self.entries.append(entry)
        while len(self.entries) > self.capacity:
            self._evict(self.entries.popleft())
        return True

    def _admit(self, entry: Entry) -> bool:
        return True

    def _evict(self, entry: Entry) -> None:
        pass

    def probabilities(self) -> np.ndarray:
        """Probability of drawing each stored entry, in arrival order (oldest first)."""
        raise NotImplementedError

    def sample(self, batch_size: int, rng: np.random.Generator) -> tuple[torch.Tensor, torch.Tensor]:
        """Draw ``batch_size`` pairs with replacement: (theta [B, n], returns [B])."""
        if not self.entries:
            raise ValueError("cannot sample from an empty replay buffer")
        idx = rng.choice(len(self.entries), size=batch_size, p=self.probabilities())
        chosen = [self.entries[i] for i in idx]
        thetas = torch.stack([e.theta for e in chosen])
        returns = torch.tensor([e.ret for e in chosen], dtype=torch.float32, device=thetas.device)
        return thetas, returns

    def state_dict(self) -> dict:
        return {
            "thetas": torch.stack([e.theta for e in self.entries]) if self.entries else None,
            "returns": [e.ret for e in self.entries],
            "indices": [e.index for e in self.entries],
            "n_added": self.n_added,
            "best_return": self.best_return,
        }

    def load_state_dict(self, state: dict) -> None:
        self.entries.clear()
        self._clear()
        thetas = state["thetas"]
        for i, (ret, index) in enumerate(zip(state["returns"], state["indices"])):
            entry = Entry(thetas[i].clone(), float(ret), int(index))
            self._admit(entry)
            self.entries.append(entry)
        self.n_added = int(state["n_added"])
        self.best_return = float(state["best_return"])

    def _clear(self) -> None:
        pass


class FIFOBuffer(ReplayBuffer):
    """The newest ``capacity`` pairs, each equally likely."""

    def probabilities(self) -> np.ndarray:
        return np.full(len(self.entries), 1.0 / len(self.entries))


class RecencyBuffer(ReplayBuffer):
    """The newest ``capacity`` pairs; the k-th newest (k = 1, 2, ...) has weight 1 / k^power."""

    def __init__(self, capacity: int = 10_000, power: float = 1.1) -> None:
        super().__init__(capacity)
        self.power = power

    def probabilities(self) -> np.ndarray:
        k = np.arange(len(self.entries), 0, -1, dtype=np.float64)  # oldest has the largest k
        w = k**-self.power
        return w / w.sum()


def bucket_weights(n_nonempty: int, strategy: str, scale: float = 0.3) -> np.ndarray:
    """Weights of the K non-empty buckets, in ascending order of return (rank k = 1..K).

    * ``exp``: w_k = exp(scale * (k - K)); the best bucket weighs 1, each lower one e^-scale less.
    * ``uniform``: w_k = 1.
    * ``reciprocal``: w_k = 1 / (K - k + 1); the best weighs 1, the next 1/2, then 1/3, ...
    Weights depend on the rank only, not on the returns or on how full the buckets are.
    """
    k = np.arange(1, n_nonempty + 1, dtype=np.float64)
    if strategy == "exp":
        return np.exp(scale * (k - n_nonempty))
    if strategy == "uniform":
        return np.ones(n_nonempty)
    if strategy == "reciprocal":
        return 1.0 / (n_nonempty - k + 1)
    raise ValueError(f"unknown bucket weighting {strategy!r}; use exp, uniform or reciprocal")


class BucketBuffer(ReplayBuffer):
    """Return buckets of the UDRLPG authors' code (the public repository JacopoD/udrlpg_).

    Returns are expected scaled to [0, 1] (below 0 they fall in bucket 0). ``n_buckets`` equal-width
    buckets cover [0, 1]; a return above 1 lands in a further bucket of the same width (the range grows
    as needed). A bucket holds at most ``bucket_capacity`` policies. When a full bucket gets a new
    arrival, ``rule`` decides: ``first`` (the authors' code) keeps the first arrivals and drops the
    newcomer; ``newest`` (our ablation) drops the bucket's oldest policy and keeps the newcomer, so a
    bucket keeps tracking what the current generator produces. ``freeze`` (ours) acts as ``newest``
    in a bucket whose returns lie within ``freeze_margin`` of the best stored return and as
    ``first`` below it: a bucket that the generator has climbed past keeps the policies it held
    then, written when the generator scored that return, instead of filling up with the unlucky
    noisy copies of today's policy, which differ from it by noise only (book chapter 7, "A
    generator that forgets its commands"). Over all buckets at most ``capacity`` policies are kept,
    the oldest leaving first.

    ``cover`` (ours, not the paper's) mixes the rank weighting with a uniform one over the non-empty
    buckets: a draw picks a bucket by ``(1 - cover) * w_k / sum(w) + cover / K``. The authors' exp
    weighting puts almost all of a batch in the top few buckets (ranks below the top 10 share less
    than e^-3 of it), so the regression never sees the commands of the rest of the range; ``cover``
    keeps a fixed share of every batch on the whole identity curve.
    """

    def __init__(
        self,
        n_buckets: int = 800,
        bucket_capacity: int = 2,
        capacity: int = 10_000,
        weighting: str = "exp",
        scale: float = 0.3,
        rule: str = "first",
        cover: float = 0.0,
        freeze_margin: float = 0.1,
    ) -> None:
        super().__init__(capacity)
        bucket_weights(1, weighting)  # validates the strategy name early
        if rule not in ("first", "newest", "freeze"):
            raise ValueError(f"unknown bucket rule {rule!r}; use first, newest or freeze")
        if not freeze_margin > 0:
            raise ValueError(f"freeze_margin must be positive, got {freeze_margin}")
        if not 0.0 <= cover <= 1.0:
            raise ValueError(f"bucket cover share must be in [0, 1], got {cover}")
        self.cover = cover
        self.rule = rule
        self.freeze_margin = freeze_margin
        self.width = 1.0 / n_buckets
        self.bucket_capacity = bucket_capacity
        self.weighting = weighting
        self.scale = scale
        self.buckets: dict[int, list[Entry]] = {}

    def bucket_of(self, ret: float) -> int:
        return max(0, math.floor(ret / self.width))

    def _admit(self, entry: Entry) -> bool:
        bucket = self.buckets.setdefault(self.bucket_of(entry.ret), [])
        if len(bucket) >= self.bucket_capacity:
            frozen = self.rule == "freeze" and entry.ret < self.best_return - self.freeze_margin
            if self.rule == "first" or frozen:
                return False
            self.entries.remove(bucket.pop(0))  # "newest": the bucket's oldest makes room
        bucket.append(entry)
        return True

    def _evict(self, entry: Entry) -> None:
        key = self.bucket_of(entry.ret)
        self.buckets[key].remove(entry)
        if not self.buckets[key]:
            del self.buckets[key]

    def _clear(self) -> None:
        self.buckets.clear()

    def probabilities(self) -> np.ndarray:
        keys = sorted(self.buckets)
        w = bucket_weights(len(keys), self.weighting, self.scale)
        w = (1.0 - self.cover) * w / w.sum() + self.cover / len(keys)
        p_bucket = dict(zip(keys, w))
        p = np.array(
            [
                p_bucket[self.bucket_of(e.ret)] / len(self.buckets[self.bucket_of(e.ret)])
                for e in self.entries
            ]
        )
        return p / p.sum()
