"""Evaluators against gymnasium itself.

Parity tests replay, in the batched MuJoCo engine, episodes recorded with ``gymnasium.make(env_id)``
from the same initial states with the same float32 actions, and compare:

* observations at every step, exactly, after the float64 -> float32 cast the policy input gets;
* per-step rewards and terminations of the engine's reward code on gymnasium's states, exactly;
* episode returns (float64, same order of summation), lengths and terminated flags, exactly.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import gymnasium
import numpy as np
import pytest
import torch

from udrlpg_lite.envs import ENGINE_ENVS, Rollouts, make_evaluator
from udrlpg_lite.envs.mujoco_batch import TASKS
from udrlpg_lite.normalizer import RunningNorm

Controller = Callable[[np.ndarray, np.random.Generator], np.ndarray]


# Controllers used to record gymnasium episodes: feedback ones that survive to the time limit and
# open-loop ones that fail early. Their actions are recorded and replayed, so the engine's episodes
# need no controller.
CONTROLLERS: dict[str, list[Controller]] = {
    "InvertedPendulum-v5": [
        lambda o, rng: np.clip([0.5 * o[0] + 5 * o[1] + 0.5 * o[2] + o[3]], -3, 3),  # balances
        lambda o, rng: rng.uniform(-3, 3, 1),
        lambda o, rng: np.zeros(1),
        lambda o, rng: rng.uniform(-0.3, 0.3, 1),
    ],
    "Swimmer-v5": [
        lambda o, rng: rng.uniform(-1, 1, 2),
        lambda o, rng: np.array([np.sin(o[0] * 3), np.cos(o[1] * 3)]),
        lambda o, rng: np.zeros(2),
    ],
    "Hopper-v5": [
        lambda o, rng: np.clip(-o[2:5] - 0.1 * o[8:11], -1, 1),  # stands until the time limit
        lambda o, rng: rng.uniform(-1, 1, 3),  # falls within a few dozen steps
        lambda o, rng: np.zeros(3),  # topples after ~140 steps
        lambda o, rng: np.clip(-o[2:5] - 0.1 * o[8:11] + rng.uniform(-0.2, 0.2, 3), -1, 1),
    ],
}


@dataclass
class Episode:
    """One gymnasium episode: observations [L+1], actions [L] (float32), rewards [L], states."""

    obs: np.ndarray
    actions: np.ndarray
    rewards: np.ndarray
    terminated: bool
    truncated: bool
    qpos: np.ndarray  # [L+1, nq], qpos[0] the initial state
    qvel: np.ndarray  # [L+1, nv]

    @property
    def length(self) -> int:
        return len(self.actions)


def record(env_id: str, controller: Controller, seed: int) -> Episode:
    """Play one episode of gymnasium.make(env_id) reset with seed, recording everything."""
    env = gymnasium.make(env_id)
    data = env.unwrapped.data
    rng = np.random.default_rng(seed)
    obs, _ = env.reset(seed=seed)
    observations, actions, rewards = [obs], [], []
    qpos, qvel = [data.qpos.copy()], [data.qvel.copy()]
    terminated = truncated = False
    while not (terminated or truncated):
        action = np.asarray(controller(obs, rng), dtype=np.float32)
        obs, reward, terminated, truncated, _ = env.step(action)
        observations.append(obs)
        actions.append(action)
        rewards.append(reward)
        qpos.append(data.qpos.copy())
        qvel.append(data.qvel.copy())
    env.close()
    return Episode(
        np.array(observations),
        np.array(actions),
        np.array(rewards, dtype=np.float64),
        terminated,
        truncated,
        np.array(qpos),
        np.array(qvel),
    )


@pytest.fixture(scope="module", params=ENGINE_ENVS)
def recorded(request) -> tuple[str, list[Episode]]:
    env_id = request.param
    return env_id, [record(env_id, c, seed=100 + i) for i, c in enumerate(CONTROLLERS[env_id])]


class Replay:
    """A policy that plays recorded actions by (episode, step) and checks what it is shown.

    Row i gets episodes[i]'s actions in order; the observation it is given at each step must equal
    gymnasium's, cast to float32. Rows whose episode is over (kept in the batch by the engine)
    get zeros.
    """

    def __init__(self, episodes: list[Episode]) -> None:
        self.episodes = episodes
        self.steps = np.zeros(len(episodes), dtype=np.int64)
        self.rows_seen: list[torch.Tensor] = []

    def __call__(self, obs: torch.Tensor, rows: torch.Tensor) -> torch.Tensor:
        if not any(r is rows for r in self.rows_seen):
            self.rows_seen.append(rows)
        assert obs.dtype == torch.float32 and obs.shape[0] == rows.shape[0]
        out = np.zeros((len(rows), self.episodes[0].actions.shape[1]), dtype=np.float32)
        for j, i in enumerate(rows.tolist()):
            episode, t = self.episodes[i], self.steps[i]
            if t < episode.length:
                expected = episode.obs[t].astype(np.float32)
                np.testing.assert_array_equal(obs[j].numpy(), expected, f"episode {i} step {t}")
                out[j] = episode.actions[t]
                self.steps[i] += 1
        return torch.from_numpy(out)


def test_recorded_episodes_cover_termination_and_truncation(recorded):
    env_id, episodes = recorded
    assert all(e.length >= 200 or e.terminated for e in episodes)
    assert any(e.truncated and e.length == 1000 for e in episodes)
    if env_id != "Swimmer-v5":
        assert any(e.terminated for e in episodes)
    if env_id == "Hopper-v5":
        assert any(e.terminated and e.length >= 100 for e in episodes)


def test_task_matches_gymnasium_step_by_step(recorded):
    """Observation, reward and termination code on gymnasium's own states, every step."""
    env_id, episodes = recorded
    task, evaluator = TASKS[env_id], make_evaluator(env_id)
    for e in episodes:
        np.testing.assert_array_equal(task.observe(e.qpos, e.qvel), e.obs)  # float64, exact
        reward, terminated = task.reward_and_termination(
            e.qpos[:-1, 0], e.qpos[1:], e.qvel[1:], e.actions, evaluator.dt, True
        )
        np.testing.assert_array_equal(reward, e.rewards)  # float64, exact
        np.testing.assert_array_equal(terminated, [False] * (e.length - 1) + [e.terminated])


def test_engine_replays_gymnasium_episodes(recorded):
    env_id, episodes = recorded
    evaluator = make_evaluator(env_id)
    replay = Replay(episodes)
    initial_state = (np.stack([e.qpos[0] for e in episodes]), np.stack([e.qvel[0] for e in episodes]))
    rollouts = evaluator.evaluate(replay, len(episodes), initial_state=initial_state)

    lengths = [e.length for e in episodes]
    np.testing.assert_array_equal(rollouts.lengths, lengths)
    np.testing.assert_array_equal(replay.steps, lengths)  # every observation was checked
    np.testing.assert_array_equal(rollouts.terminated, [e.terminated for e in episodes])
    np.testing.assert_array_equal(rollouts.returns, [sum(e.rewards.tolist()) for e in episodes])
    assert rollouts.returns.dtype == np.float64 and rollouts.lengths.dtype == np.int64
    assert rollouts.terminated.dtype == bool
    # rows are only replaced when the running set halves
    assert len(replay.rows_seen) <= 1 + int(np.log2(len(episodes))) + 1


@pytest.mark.parametrize("env_id", ENGINE_ENVS)
def test_initial_states_are_successive_gymnasium_resets(env_id):
    """Episode i starts where the i-th reset of a gymnasium env seeded once with seed starts."""
    n, seed = 3, 7
    env = gymnasium.make(env_id)
    expected = [env.reset(seed=seed)[0]] + [env.reset()[0] for _ in range(n - 1)]
    first_obs: dict[int, np.ndarray] = {}

    def policy(obs: torch.Tensor, rows: torch.Tensor) -> torch.Tensor:
        for j, i in enumerate(rows.tolist()):
            first_obs.setdefault(i, obs[j].numpy().copy())
        return torch.zeros(len(rows), env.action_space.shape[0])

    make_evaluator(env_id, seed=seed).evaluate(policy, n)
    for i in range(n):
        np.testing.assert_array_equal(first_obs[i], expected[i].astype(np.float32))


class LinearPolicy:
    """tanh(W_row . obs) * bound, computed row by row so that results do not depend on the batch."""

    def __init__(self, n: int, obs_dim: int, act_dim: int, bound: float, seed: int) -> None:
        gen = torch.Generator().manual_seed(seed)
        self.weights = torch.randn(n, act_dim, obs_dim, generator=gen)
        self.bound = bound

    def __call__(self, obs: torch.Tensor, rows: torch.Tensor) -> torch.Tensor:
        return torch.tanh((self.weights[rows] * obs[:, None, :]).sum(-1)) * self.bound


def _assert_same(a: Rollouts, b: Rollouts) -> None:
    np.testing.assert_array_equal(a.returns, b.returns)
    np.testing.assert_array_equal(a.lengths, b.lengths)
    np.testing.assert_array_equal(a.terminated, b.terminated)


@pytest.mark.parametrize("env_id", ["Hopper-v5", "Pendulum-v1", "CartPole-v1"])
def test_same_seed_same_rollouts(env_id):
    first, second = make_evaluator(env_id, seed=3), make_evaluator(env_id, seed=3)
    policy = LinearPolicy(6, first.obs_dim, first.act_dim, first.act_bound, seed=0)
    for _ in range(2):  # the second calls continue the same random streams
        _assert_same(first.evaluate(policy, 6), second.evaluate(policy, 6))
    other = make_evaluator(env_id, seed=4).evaluate(policy, 6)
    assert not np.array_equal(other.returns, first.evaluate(policy, 6).returns)


@pytest.mark.parametrize("env_id", ["Hopper-v5", "CartPole-v1"])
def test_restoring_rng_state_replays_episodes(env_id):
    """What a checkpoint relies on: the evaluator's future is its rng state."""
    evaluator = make_evaluator(env_id, seed=9)
    policy = LinearPolicy(4, evaluator.obs_dim, evaluator.act_dim, evaluator.act_bound, seed=0)
    state = evaluator.rng.bit_generator.state
    first = evaluator.evaluate(policy, 4)
    evaluator.rng.bit_generator.state = state
    _assert_same(first, evaluator.evaluate(policy, 4))


def test_hopper_without_survival_bonus():
    """Same trajectories; the return loses the healthy reward of every step but a terminating one."""
    kwargs = dict(seed=5)
    standard = make_evaluator("Hopper-v5", **kwargs)
    policy = LinearPolicy(8, standard.obs_dim, standard.act_dim, 0.3, seed=1)
    with_bonus = standard.evaluate(policy, 8)
    without = make_evaluator("Hopper-v5", survival_bonus=False, **kwargs).evaluate(policy, 8)
    np.testing.assert_array_equal(without.lengths, with_bonus.lengths)
    np.testing.assert_array_equal(without.terminated, with_bonus.terminated)
    healthy_steps = with_bonus.lengths - with_bonus.terminated
    np.testing.assert_allclose(without.returns, with_bonus.returns - healthy_steps, atol=1e-9)


class LoggingNorm(RunningNorm):
    """A RunningNorm that records what it is given, to check the order of updates and use."""

    def __init__(self, dim: int) -> None:
        super().__init__(dim)
        self.log: list[tuple[str, np.ndarray]] = []

    def update(self, obs: np.ndarray, rows: np.ndarray | None = None) -> None:
        self.log.append(("update", np.array(obs, dtype=np.float64)))
        super().update(obs)

    def normalize(self, obs: torch.Tensor, rows: torch.Tensor | None = None) -> torch.Tensor:
        self.log.append(("normalize", obs.numpy().copy()))
        return super().normalize(obs)


@pytest.mark.parametrize("env_id", ["Hopper-v5", "CartPole-v1"])
def test_normalizer_updates_every_step_before_acting(env_id):
    """Each step merges the running episodes' observations, then normalises them (authors' order)."""
    evaluator = make_evaluator(env_id, seed=2)
    normalizer = LoggingNorm(evaluator.obs_dim)
    policy = LinearPolicy(5, evaluator.obs_dim, evaluator.act_dim, evaluator.act_bound, seed=2)
    rollouts = evaluator.evaluate(policy, 5, normalizer=normalizer, update_normalizer=True)

    kinds = [kind for kind, _ in normalizer.log]
    assert kinds == ["update", "normalize"] * rollouts.lengths.max()  # one update per step, first
    updates = [x for kind, x in normalizer.log if kind == "update"]
    assert [len(x) for x in updates] == [int((rollouts.lengths > t).sum()) for t in range(len(updates))]
    assert normalizer.count == rollouts.lengths.sum()  # every observation acted on, exactly once
    for (_, merged), (_, shown) in zip(normalizer.log[::2], normalizer.log[1::2]):
        assert any(np.array_equal(merged[0], row) for row in shown)  # merged the rows it then used
    everything = np.concatenate(updates)
    np.testing.assert_allclose(normalizer.mean, everything.mean(axis=0), rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(normalizer.std**2, everything.var(axis=0) + 1e-8, rtol=1e-7)

    before = normalizer.state_dict()
    evaluator.evaluate(policy, 5, normalizer=normalizer)  # no update unless asked
    assert normalizer.count == before["count"]


@pytest.mark.parametrize(
    "env_id, obs_dim, act_dim, act_bound, discrete",
    [("Pendulum-v1", 3, 1, 2.0, False), ("CartPole-v1", 4, 2, 1.0, True)],
)
def test_fallback_matches_plain_gymnasium_loop(env_id, obs_dim, act_dim, act_bound, discrete):
    n, seed = 4, 11
    evaluator = make_evaluator(env_id, seed=seed)
    assert (evaluator.obs_dim, evaluator.act_dim) == (obs_dim, act_dim)
    assert (evaluator.act_bound, evaluator.discrete) == (act_bound, discrete)
    policy = LinearPolicy(n, obs_dim, act_dim, act_bound, seed=3)
    rollouts = evaluator.evaluate(policy, n)

    # documented seeding: episode i of the first call is env.reset(seed=s[i])
    seeds = np.random.default_rng(seed).integers(2**31, size=n)
    env = gymnasium.make(env_id)
    for i in range(n):
        obs, _ = env.reset(seed=int(seeds[i]))
        total, steps, done = 0.0, 0, False
        while not done:
            out = policy(torch.as_tensor(obs, dtype=torch.float32)[None], torch.tensor([i]))[0]
            action = int(out.argmax()) if discrete else out.numpy()
            obs, reward, terminated, truncated, _ = env.step(action)
            total, steps, done = total + reward, steps + 1, terminated or truncated
        assert (rollouts.returns[i], rollouts.lengths[i]) == (total, steps)
        assert rollouts.terminated[i] == terminated
    assert rollouts.lengths.max() <= evaluator.max_episode_steps
    if env_id == "Pendulum-v1":  # never terminates
        assert (rollouts.lengths == 200).all() and not rollouts.terminated.any()


def test_unknown_env_id():
    with pytest.raises(ValueError, match="NoSuchEnv-v0"):
        make_evaluator("NoSuchEnv-v0")


def test_engine_env_list():
    assert set(ENGINE_ENVS) == set(TASKS)
    for env_id in ENGINE_ENVS:
        evaluator = make_evaluator(env_id)
        reference = gymnasium.make(env_id)
        assert evaluator.obs_dim == reference.observation_space.shape[0]
        assert evaluator.act_dim == reference.action_space.shape[0]
        assert evaluator.act_bound == reference.action_space.high[0]
        assert evaluator.max_episode_steps == 1000 and not evaluator.discrete
