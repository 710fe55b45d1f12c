"""Our command-following mechanisms (the "follow" preset): the buckets' cover share, exploration
commands over the seen range and keep-best, against hand-computed cases; resume: test_udrlpg.py."""

import math

import numpy as np
import pytest
import torch

from udrlpg_lite.algorithms.udrlpg import PRESET_SETTINGS, UDRLPG, UDRLPGConfig
from udrlpg_lite.buffers import BucketBuffer
from udrlpg_lite.experiments.runner import build_config
from udrlpg_lite.presets import env_preset

IP = "InvertedPendulum-v5"
SMALL = {"generator": "small", "hidden": (32, 32), "warmup": 3, "updates_per_rollout": 2}


def small_algo(seed=0, **kw):
    return UDRLPG(IP, env_preset(IP), seed, UDRLPGConfig(**(SMALL | kw)))


def test_cover_mixes_the_rank_weights_with_a_uniform_share():
    buf = BucketBuffer(n_buckets=10, bucket_capacity=2, cover=0.5)
    for i, r in enumerate([0.05, 0.06, 0.55, 0.95]):  # buckets 0 (two entries), 5, 9
        buf.add(torch.full((3,), float(i)), r)
    w = np.array([math.exp(-0.6), math.exp(-0.3), 1.0])
    per_bucket = 0.5 * w / w.sum() + 0.5 / 3
    expected = [per_bucket[0] / 2, per_bucket[0] / 2, per_bucket[1], per_bucket[2]]
    np.testing.assert_allclose(buf.probabilities(), expected)
    with pytest.raises(ValueError, match="cover share"):
        BucketBuffer(cover=1.5)


def test_no_cover_is_the_authors_weighting_exactly():
    a, b = BucketBuffer(n_buckets=50), BucketBuffer(n_buckets=50, cover=0.0)
    for r in np.linspace(0, 1, 40) ** 2:
        a.add(torch.zeros(2), float(r))
        b.add(torch.zeros(2), float(r))
    assert np.array_equal(a.probabilities(), b.probabilities())


def test_exploration_commands_spread_over_the_seen_range(monkeypatch):
    algo = small_algo(population=400, explore_share=0.5)
    algo.iterate()  # warm-up
    algo.buffer.best_return, algo.command = 0.6, 0.6
    seen = {}

    def explore_at(commands, sigma, rng=None):
        seen["commands"] = commands.cpu().numpy()
        return torch.zeros(len(commands), algo.spec.n_params)

    monkeypatch.setattr(algo.generator, "explore_at", explore_at)
    algo.explore()
    commands = seen["commands"]
    spread = commands != np.float32(0.6)
    assert 200 - 3 * 10 < spread.sum() < 200 + 3 * 10  # binomial(400, 0.5): mean 200, std 10
    assert commands.min() >= 0.0 and commands.max() <= 0.6


def test_without_exploration_commands_the_authors_schedule_is_kept(monkeypatch):
    algo = small_algo()
    monkeypatch.setattr(algo.generator, "explore_at", lambda *a, **k: pytest.fail("spread"))
    state = algo.rng.bit_generator.state
    algo.explore()
    assert algo.rng.bit_generator.state == state  # no extra random numbers drawn


def test_shrunk_policies_lie_on_the_line_from_the_commands_policy_to_zero():
    algo = small_algo(population=400, shrink_share=0.5)
    algo.iterate()  # warm-up
    thetas = algo.explore()
    with torch.no_grad():
        top = algo.generator(torch.tensor([algo.command]))[0]
    alpha = thetas @ top / (top @ top)  # the coefficient along G(c)
    off_line = (thetas - alpha[:, None] * top).norm(dim=1) / top.norm()
    shrunk = off_line < 1e-5  # noisy policies are off the line by about sigma sqrt(d) / |G(c)|
    assert 200 - 3 * 10 < shrunk.sum() < 200 + 3 * 10  # binomial(400, 0.5)
    assert (off_line[~shrunk] > 0.1).all()
    a = alpha[shrunk].numpy()
    assert a.min() >= 0 and a.max() <= 1 and abs(a.mean() - 0.5) < 3 * (1 / 12) ** 0.5 / 200**0.5


def scripted_scores(algo, scores):
    """Make the elite checks score the given scaled returns in turn, each taking 100 steps."""
    scores = iter(scores)

    def elite_score():
        algo.env_steps += 100
        algo.elite_env_steps += 100
        return next(scores)

    algo.elite_score = elite_score


def test_keep_best_keeps_the_elite_and_rolls_back_to_it():
    algo = small_algo(keep_best=True, elite_share=0.2, elite_tolerance=0.05)
    algo.iterate()
    scripted_scores(algo, [0.5, 0.8, 0.6, 0.7, 0.72])
    algo.elite_check()  # the first check: 0.5 is the elite
    assert algo.elite["score"] == 0.5 and algo.rollbacks == 0
    algo.command = 0.8
    algo.elite_check()  # 0.8 beats it: this generator (and its command) is the elite now
    kept = {k: v.clone() for k, v in algo.generator.state_dict().items()}
    assert algo.elite["score"] == 0.8
    with torch.no_grad():
        for p in algo.generator.parameters():
            p.add_(1.0)
    algo.command = 0.3
    algo.elite_check()  # 0.6 < 0.8 - 0.05: roll back, then score the elite again (0.7)
    assert algo.rollbacks == 1 and algo.command == 0.8
    for k, v in algo.generator.state_dict().items():
        assert torch.equal(v, kept[k])
    assert algo.elite["score"] == pytest.approx((0.8 + 0.7) / 2) and algo.elite["n_scores"] == 2
    algo.elite_check()  # 0.72 is within 0.05 of 0.75: neither kept nor rolled back
    assert algo.rollbacks == 1 and algo.elite["score"] == pytest.approx(0.75)
    # each check took 100 steps (the rollback's two scorings 200): next due after 100 * 0.8 / 0.2
    assert algo.next_elite_check == algo.env_steps + 400


def test_elite_checks_are_training_steps_and_show_in_the_records():
    algo = small_algo(keep_best=True)
    for _ in range(4):
        algo.iterate()
    assert algo.elite is not None and algo.elite_env_steps > 0
    evals = algo.eval_env_steps
    steps = algo.env_steps
    algo.finish()  # a last check when the budget is spent
    assert algo.env_steps > steps and algo.eval_env_steps == evals
    row = algo.evaluate()
    assert {"elite_score", "rollbacks"} <= set(row)
    assert algo.run_info()["elite_env_steps"] == algo.elite_env_steps
    assert "elite_score" not in small_algo().evaluate()


@pytest.mark.parametrize(
    "field,value", [("cover_share", 1.5), ("explore_share", -0.1), ("elite_share", 0.0)]
)
def test_invalid_shares_name_the_problem(field, value):
    with pytest.raises(ValueError, match=field):
        UDRLPGConfig(**{field: value})


def test_the_follow_preset_switches_every_mechanism_on():
    config = build_config("udrlpg", IP, dict(PRESET_SETTINGS["follow"]))
    assert config.cover_share > 0 and config.explore_share > 0 and config.keep_best
    assert config.shrink_share > 0 and config.lr > UDRLPGConfig().lr
    assert config.bucket_rule == "freeze"
    assert build_config("udrlpg", IP, {"keep_best": "false"}).keep_best is False
    with pytest.raises(ValueError, match="keep_best"):
        build_config("udrlpg", IP, {"keep_best": "maybe"})


def test_the_command_spread_measures_how_far_apart_low_and_high_commands_write_policies():
    algo = small_algo()
    algo.iterate()
    algo.buffer.best_return = 0.7
    with torch.no_grad():
        low, high = algo.generator(torch.tensor([0.0])), algo.generator(torch.tensor([0.7]))
    expected = float(((high - low) ** 2).mean().sqrt())
    assert algo.evaluate()["command_spread"] == pytest.approx(expected, rel=1e-5)
    with torch.no_grad():  # a generator blind to its command: the command's input weights at 0
        for layer in algo.generator.nets.values():
            layer[0].weight[:, -1] = 0.0
    assert algo.spread() == 0.0


def test_the_drift_measures_how_far_training_moved_the_generator_from_its_start():
    algo = small_algo(seed=3)
    algo.iterate()  # the warm-up: no update yet
    assert algo.evaluate()["drift"] == 0.0
    for _ in range(3):
        algo.iterate()
    fresh = small_algo(seed=3).generator  # the same seed builds G_0 again
    c = torch.tensor([algo.command])
    with torch.no_grad():
        expected = float(((algo.generator(c) - fresh(c)) ** 2).mean().sqrt())
    assert expected > 0
    assert algo.evaluate()["drift"] == pytest.approx(expected, rel=1e-5)
