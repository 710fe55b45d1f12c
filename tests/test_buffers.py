"""Replay buffers: bucket rules and sampling weights against hand-computed values."""

import math

import numpy as np
import pytest
import torch

from udrlpg_lite.buffers import BucketBuffer, FIFOBuffer, RecencyBuffer, bucket_weights


def theta(i):
    return torch.full((3,), float(i))


def test_exp_weights_by_rank():
    w = bucket_weights(3, "exp", 0.3)
    np.testing.assert_allclose(w, [math.exp(-0.6), math.exp(-0.3), 1.0])
    np.testing.assert_allclose(bucket_weights(3, "uniform"), [1, 1, 1])
    np.testing.assert_allclose(bucket_weights(3, "reciprocal"), [1 / 3, 1 / 2, 1])
    with pytest.raises(ValueError, match="unknown bucket weighting"):
        bucket_weights(3, "softmax")


def test_bucket_rules_first_two_stay_and_range_grows():
    buf = BucketBuffer(n_buckets=800, bucket_capacity=2)
    assert buf.add(theta(0), 0.0001)  # bucket 0 (width 0.00125)
    assert buf.add(theta(1), -0.5)  # below 0 -> bucket 0
    assert not buf.add(theta(2), 0.001)  # bucket 0 is full: later arrivals are dropped
    assert buf.add(theta(3), 0.5)  # bucket 400
    assert buf.add(theta(4), 1.2)  # above 1: bucket 960, appended
    assert sorted(buf.buckets) == [0, 400, 960]
    assert len(buf) == 4 and buf.best_return == 1.2
    w = np.array([math.exp(-0.6), math.exp(-0.3), 1.0])
    w /= w.sum()
    # arrival order of kept entries: 0.0001, -0.5 (both bucket 0), 0.5, 1.2
    np.testing.assert_allclose(buf.probabilities(), [w[0] / 2, w[0] / 2, w[1], w[2]])


def test_newest_rule_replaces_the_oldest_in_a_full_bucket():
    buf = BucketBuffer(n_buckets=10, bucket_capacity=2, rule="newest")
    for i, r in enumerate([0.91, 0.52, 0.93, 0.95]):  # 0.91, 0.93, 0.95 all land in bucket 9
        assert buf.add(theta(i), r)
    assert [e.ret for e in buf.buckets[9]] == [0.93, 0.95]  # 0.91 made room for 0.95
    assert [int(e.theta[0]) for e in buf.entries] == [1, 2, 3]  # gone from the arrival order too
    np.testing.assert_allclose(
        buf.probabilities(),
        [math.exp(-0.3), 0.5, 0.5]
        / np.array([math.exp(-0.3) + 1, math.exp(-0.3) + 1, math.exp(-0.3) + 1]),
    )
    copy = BucketBuffer(n_buckets=10, bucket_capacity=2, rule="newest")
    copy.load_state_dict(buf.state_dict())
    np.testing.assert_allclose(copy.probabilities(), buf.probabilities())
    with pytest.raises(ValueError, match="unknown bucket rule"):
        BucketBuffer(rule="last")


def test_freeze_rule_tracks_the_top_and_keeps_what_the_buckets_below_held():
    buf = BucketBuffer(n_buckets=10, bucket_capacity=1, rule="freeze", freeze_margin=0.15)
    assert buf.add(theta(0), 0.52)  # bucket 5, the best so far
    assert buf.add(theta(1), 0.55)  # within the margin of the best (0.55): newest, replaces 0.52
    assert [int(e.theta[0]) for e in buf.buckets[5]] == [1]
    assert buf.add(theta(2), 0.75)  # the generator climbs: bucket 7, best 0.75
    assert not buf.add(theta(3), 0.58)  # bucket 5 is now 0.17 below the best: frozen, kept 0.55
    assert [int(e.theta[0]) for e in buf.buckets[5]] == [1]
    assert buf.add(theta(4), 0.71)  # bucket 7 is within the margin: newest
    assert [int(e.theta[0]) for e in buf.buckets[7]] == [4]
    assert buf.add(theta(5), 0.31)  # an empty bucket takes any arrival, frozen or not
    with pytest.raises(ValueError, match="freeze_margin"):
        BucketBuffer(rule="freeze", freeze_margin=0.0)


def test_sampling_frequencies_follow_the_probabilities():
    buf = BucketBuffer(n_buckets=10, bucket_capacity=2)
    for i, r in enumerate([0.01, 0.02, 0.55, 0.95]):
        buf.add(theta(i), r)
    rng = np.random.default_rng(0)
    thetas, returns = buf.sample(40_000, rng)
    freq = np.array([(thetas[:, 0] == i).float().mean().item() for i in range(4)])
    np.testing.assert_allclose(freq, buf.probabilities(), atol=0.01)
    torch.testing.assert_close(
        returns[thetas[:, 0] == 2], torch.full_like(returns[thetas[:, 0] == 2], 0.55)
    )


def test_global_cap_evicts_oldest_from_its_bucket():
    buf = BucketBuffer(n_buckets=10, bucket_capacity=2, capacity=3)
    for i, r in enumerate([0.05, 0.15, 0.25, 0.35]):
        buf.add(theta(i), r)
    assert len(buf) == 3 and sorted(buf.buckets) == [1, 2, 3]


def test_fifo_keeps_newest_uniformly():
    buf = FIFOBuffer(capacity=3)
    for i in range(5):
        buf.add(theta(i), float(i))
    assert [e.ret for e in buf.entries] == [2.0, 3.0, 4.0]
    np.testing.assert_allclose(buf.probabilities(), [1 / 3] * 3)


def test_recency_weights_one_over_k_to_the_1_1():
    buf = RecencyBuffer(capacity=10)
    for i in range(3):
        buf.add(theta(i), float(i))
    w = np.array([3**-1.1, 2**-1.1, 1.0])  # oldest (k=3) ... newest (k=1)
    np.testing.assert_allclose(buf.probabilities(), w / w.sum())


def test_nan_return_is_refused():
    with pytest.raises(ValueError, match="non-finite return"):
        FIFOBuffer(3).add(theta(0), float("nan"))


def test_state_dict_round_trip():
    buf = BucketBuffer(n_buckets=10)
    for i, r in enumerate([0.01, 0.02, 0.03, 0.55]):
        buf.add(theta(i), r)
    copy = BucketBuffer(n_buckets=10)
    copy.load_state_dict(buf.state_dict())
    np.testing.assert_allclose(copy.probabilities(), buf.probabilities())
    a = buf.sample(16, np.random.default_rng(3))
    b = copy.sample(16, np.random.default_rng(3))
    torch.testing.assert_close(a, b)
