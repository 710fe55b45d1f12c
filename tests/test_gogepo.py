"""GoGePo: the fingerprinting evaluator, the two updates of Algorithm 1, and the training loop."""

import io

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from scipy.stats import spearmanr

from udrlpg_lite.algorithms.gogepo import GoGePo, GoGePoConfig
from udrlpg_lite.critic import ProbingCritic, policy_map
from udrlpg_lite.policy import PolicySpec, forward
from udrlpg_lite.presets import env_preset

torch.set_num_threads(1)

# A small generator, evaluator and policy so that the tests take seconds.
SMALL = {
    "hidden": (32, 32),
    "critic_hidden": (32, 32),
    "n_probing": 16,
    "warmup": 3,
    "generator_steps": 2,
    "critic_steps": 2,
}
IP = "InvertedPendulum-v5"
SPEC = PolicySpec(3, 2, hidden=(8,), act_bound=2.0)


def small_algo(seed=0, **kw):
    return GoGePo(IP, env_preset(IP), seed, GoGePoConfig(**(SMALL | kw)))


def parameters(module):
    return [p.detach().clone() for p in module.parameters()]


def same(a, b):
    return all(torch.equal(x, y) for x, y in zip(a, b))


def test_probing_actions_are_the_policies_actions_on_the_probing_states():
    critic = ProbingCritic(SPEC, n_probing=7, hidden=(16,))
    theta = torch.randn(5, SPEC.n_params)
    actions = critic.probing_actions(theta)
    assert actions.shape == (5, 7 * SPEC.act_dim)
    states = critic.probing_states.expand(5, -1, -1)
    torch.testing.assert_close(actions, forward(SPEC, theta, states).flatten(1))
    assert critic(theta).shape == (5,)
    # GoGePo appendix A.1: probing states initialised uniformly in [0, 1)
    assert critic.probing_states.shape == (7, SPEC.obs_dim)
    assert 0 <= critic.probing_states.min() and critic.probing_states.max() < 1


def test_gradients_reach_the_probing_states_the_mlp_and_the_policy_weights():
    critic = ProbingCritic(SPEC, n_probing=7, hidden=(16,))
    theta = torch.randn(5, SPEC.n_params, requires_grad=True)
    critic(theta).sum().backward()
    assert critic.probing_states.grad is not None and critic.probing_states.grad.abs().sum() > 0
    assert all(p.grad is not None and p.grad.abs().sum() > 0 for p in critic.mlp.parameters())
    assert theta.grad.abs().sum() > 0


def test_the_critic_ranks_held_out_policies_by_return():
    # Synthetic task: a policy's "return" is how closely it imitates a fixed controller on 32 states
    # the critic never sees; the critic must find informative probing states on its own.
    torch.manual_seed(0)
    spec = PolicySpec(3, 1, hidden=(8,))
    thetas = torch.randn(400, spec.n_params)
    states = torch.rand(32, 3) * 2 - 1
    actions = forward(spec, thetas, states.expand(400, -1, -1))
    returns = -((actions - torch.sin(3 * states[:, :1])) ** 2).mean(dim=(1, 2))
    critic = ProbingCritic(spec, n_probing=16, hidden=(32, 32))
    optimizer = torch.optim.Adam(critic.parameters(), lr=5e-3)
    for _ in range(300):
        batch = torch.randint(0, 300, (32,))
        loss = F.mse_loss(critic(thetas[batch]), returns[batch])
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    with torch.no_grad():
        predicted = critic(thetas[300:])
    assert spearmanr(predicted, returns[300:]).statistic > 0.8


def test_policy_map_is_a_pca_of_probing_actions():
    torch.manual_seed(0)
    critic = ProbingCritic(SPEC, n_probing=7, hidden=(16,))
    thetas = torch.randn(50, SPEC.n_params)
    coords = policy_map(critic, thetas, chunk=16)
    assert coords.shape == (50, 2)
    torch.testing.assert_close(coords.mean(0), torch.zeros(2), atol=1e-5, rtol=0)
    assert coords[:, 0].var() >= coords[:, 1].var()  # first component explains the most
    # other policies land on the map fitted to the reference set
    others = policy_map(critic, thetas[:3], reference=thetas)
    torch.testing.assert_close(others, coords[:3], atol=1e-5, rtol=1e-4)


@pytest.mark.parametrize(
    "field,value",
    [
        ("sigma", 0.0),
        ("generator_lr", 0.0),
        ("critic_lr", -1e-3),
        ("generator_batch", 0),
        ("critic_batch", 0),
        ("generator_steps", -1),
        ("drive", -20.0),
        ("population", 0),
        ("warmup", 0),
        ("n_probing", 0),
        ("hidden", ()),
        ("eval_episodes", 0),
        ("generator", "nonsense"),
    ],
)
def test_invalid_settings_name_the_problem(field, value):
    with pytest.raises(ValueError, match=field if field != "generator" else "generator preset"):
        GoGePoConfig(**{field: value})


def test_defaults_follow_the_paper_and_the_authors_code():
    cfg = GoGePoConfig()
    assert (cfg.generator_lr, cfg.critic_lr, cfg.sigma) == (2e-6, 5e-3, 0.1)
    assert (cfg.generator_steps, cfg.generator_batch) == (19, 16)
    assert (cfg.critic_steps, cfg.critic_batch) == (4, 16)
    assert (cfg.n_probing, cfg.critic_hidden, cfg.drive) == (200, (256, 256), 20.0)
    assert (cfg.buffer_capacity, cfg.recency_power, cfg.eval_episodes) == (10_000, 1.1, 10)


def test_generator_step_changes_only_the_generator():
    algo = small_algo()
    algo.iterate()
    algo.critic_step()
    critic_before = parameters(algo.critic)
    critic_grads = [p.grad.clone() for p in algo.critic.parameters()]
    generator_before = parameters(algo.generator)
    algo.generator_step()
    assert same(parameters(algo.critic), critic_before)
    assert same([p.grad for p in algo.critic.parameters()], critic_grads)  # no gradient kept
    assert all(p.requires_grad for p in algo.critic.parameters())  # unfrozen afterwards
    assert not same(parameters(algo.generator), generator_before)


def test_critic_step_changes_only_the_critic():
    algo = small_algo()
    algo.iterate()
    probing_before = algo.critic.probing_states.detach().clone()
    critic_before, generator_before = parameters(algo.critic), parameters(algo.generator)
    algo.critic_step()
    assert same(parameters(algo.generator), generator_before)
    assert not same(parameters(algo.critic), critic_before)
    assert not torch.equal(algo.critic.probing_states.detach(), probing_before)


def test_warmup_then_noisy_rollouts_steps_and_commands():
    algo = small_algo()
    calls = []
    evaluate = algo.train_env.evaluate
    algo.train_env.evaluate = lambda *a, **kw: calls.append(evaluate(*a, **kw)) or calls[-1]

    algo.iterate()  # warm-up: 3 noisy rollouts at command 0, no updates
    assert algo.buffer.n_added == 3 and np.isnan(algo.critic_loss)
    thetas = torch.stack([e.theta for e in algo.buffer.entries])
    assert not torch.equal(thetas[0], thetas[1])  # noise: distinct policies
    log = algo.iterate()
    assert algo.buffer.n_added == 4
    assert algo.env_steps == sum(int(r.lengths.sum()) for r in calls)
    # the buffer holds returns in the environment's units; the command is best + drive, scaled
    assert algo.buffer.entries[-1].ret == log["train_return"]
    best = max(e.ret for e in algo.buffer.entries)
    assert log["command"] == pytest.approx(best + 20.0)
    assert algo.command == pytest.approx(algo.scale(best + 20.0))
    torch.testing.assert_close(
        algo.to_commands(torch.tensor([best + 20.0])), torch.tensor([algo.command])
    )
    assert np.isfinite(log["critic_loss"]) and np.isfinite(log["generator_loss"])

    train_steps = algo.env_steps
    result = algo.evaluate()
    assert algo.env_steps == train_steps and algo.eval_env_steps > 0
    assert set(result) >= {"eval_return_mean", "eval_return_std"}
    mean, std = algo.command_sweep(np.array([0.0, 500.0, 1000.0]), episodes=2)
    assert mean.shape == std.shape == (3,)


def test_population_mode_rolls_out_p_policies_and_scales_updates():
    algo = small_algo(population=3)
    algo.iterate()
    calls = []
    critic_step, generator_step = algo.critic_step, algo.generator_step
    algo.critic_step = lambda: calls.append("critic") or critic_step()
    algo.generator_step = lambda: calls.append("generator") or generator_step()
    algo.iterate()
    assert algo.buffer.n_added == 3 + 3
    # Algorithm 1 order: all evaluator steps, then all generator steps, each scaled by P
    assert calls == ["critic"] * 2 * 3 + ["generator"] * 2 * 3


def test_same_seed_same_run_different_seed_different_run():
    def trace(seed):
        algo = small_algo(seed)
        for _ in range(5):
            algo.iterate()
        theta = algo.generator(torch.tensor([0.5]))
        return algo.env_steps, algo.command, theta, algo.critic(theta)

    a, b, c = trace(0), trace(0), trace(1)
    assert a[:2] == b[:2] and torch.equal(a[2], b[2]) and torch.equal(a[3], b[3])
    assert not torch.equal(a[2], c[2])


def test_checkpoint_resumes_exactly():
    def run_on(algo, n):
        return [algo.iterate() for _ in range(n)]

    algo = small_algo(seed=2)
    run_on(algo, 4)
    saved = io.BytesIO()
    torch.save(algo.state_dict(), saved)
    expected = run_on(algo, 3)

    resumed = small_algo(seed=99)  # a different seed: everything must come from the checkpoint
    saved.seek(0)
    resumed.load_state_dict(torch.load(saved, weights_only=False))
    assert run_on(resumed, 3) == expected
    assert torch.equal(resumed.critic.probing_states, algo.critic.probing_states)
    theta = algo.generator(torch.tensor([0.3]))
    assert torch.equal(resumed.generator(torch.tensor([0.3])), theta)


def test_bf16_updates_follow_the_fp32_gradients():
    """Both updates in bf16 autocast point where fp32's do (same batch; cosine > 0.99)."""
    grads = {}
    for precision in ("fp32", "bf16"):
        algo = small_algo(seed=1, precision=precision, critic_lr=1e-30, generator_lr=1e-30)
        algo.iterate()  # the warm-up fills the buffer identically in both precisions
        algo.critic_step()
        critic = torch.cat([p.grad.flatten() for p in algo.critic.parameters()])
        algo.generator_step()
        generator = torch.cat([p.grad.flatten() for p in algo.generator.parameters()])
        grads[precision] = (critic, generator)
    for fp32, bf16 in zip(grads["fp32"], grads["bf16"]):
        assert F.cosine_similarity(fp32, bf16, dim=0) > 0.99
    with pytest.raises(ValueError, match="unknown precision"):
        GoGePoConfig(precision="fp16")
