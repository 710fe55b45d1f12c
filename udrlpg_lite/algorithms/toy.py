"""The multimodality toy: why hindsight regression can fail, and two ways around it.

The example of the GoGePo paper (section "Deep Policy Generators"; its introduction raises the issue):
let a 1-D "policy" theta in [-1, 1] have the "return" J(theta) = theta^2. Both theta = +1/2 and
theta = -1/2 achieve the command c = 1/4. A generator G(c) fitted in hindsight by Gaussian maximum
likelihood, i.e. by the mean squared error

    L(G) = E_theta [ (G(J(theta)) - theta)^2 ],

learns the conditional mean E[theta | J(theta) = c], and that mean lies between the modes:

    J(theta) = c  <=>  theta = +sqrt(c) or -sqrt(c), equally likely for theta ~ U[-1, 1],
    so E[theta | J = c] = (sqrt(c) - sqrt(c)) / 2 = 0 for every c,

whose return is J(0) = 0, not c (mean collapse). The same holds on the unit disk with
J(theta) = ||theta||^2: the policies with return c form a circle of radius sqrt(c) around the origin,
whose mean is the origin.

This module shows, with small torch models (every function is deterministic given its seed):

* ``hindsight_fit``: the collapse, on theta uniform on [-1, 1] (dim=1) or on the unit disk (dim=2);
* ``critic_generator``: GoGePo's remedy (its L_G(rho) = E_r[(r - V_w(G_rho(r)))^2]): fit a critic
  V(theta) ~ J(theta), then train G through the frozen critic, which asks for *a* theta with return c;
* ``udrlpg_on_toy``: the UDRLPG paper's argument (UDRLPG Sec. 5): online, a generator that starts on
  one side explores around itself, so the data it stores in hindsight come from one mode only and the
  collapse does not happen (the "initialisation bias").

Each returns a plain dataclass of numpy arrays (the data, G(c) over a grid of commands, the returns
J(G(c)) they achieve) for a notebook to plot.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

COMMANDS = np.linspace(0.0, 1.0, 41)  # the command grid every result reports G(c) on (0.25 is on it)


def toy_return(theta: torch.Tensor) -> torch.Tensor:
    """J(theta) = ||theta||^2 over the last axis (theta^2 in 1-D): [..., dim] -> [...]."""
    return (theta**2).sum(dim=-1)


def analytic_hindsight_target(commands: np.ndarray, dim: int = 1) -> np.ndarray:
    """E[theta | J(theta) = c] for theta uniform on [-1, 1] or the unit disk: the origin for every c.

    The set {theta : J(theta) = c} is {-sqrt(c), +sqrt(c)} (a circle of radius sqrt(c) in 2-D), and the
    uniform prior puts equal density on every point of it, so its mean is 0. This is the minimiser of
    the hindsight MSE, hence what ``hindsight_fit`` converges to. Returns [C, dim].
    """
    return np.zeros((len(commands), dim))


@dataclass
class ToyResult:
    """A generator G(c) and the data it was trained on."""

    commands: np.ndarray  # [C] the command grid c
    generated: np.ndarray  # [C, dim] G(c)
    achieved: np.ndarray  # [C] J(G(c)): a perfect generator has achieved == commands
    thetas: np.ndarray  # [N, dim] the policies in the training data
    returns: np.ndarray  # [N] their returns J(theta)

    def at(self, command: float) -> tuple[np.ndarray, float]:
        """(G(c), J(G(c))) at the grid command nearest to ``command``."""
        i = int(np.abs(self.commands - command).argmin())
        return self.generated[i], float(self.achieved[i])


@dataclass
class CriticResult(ToyResult):
    """``ToyResult`` plus the critic's curve V(t e_1) along the first axis, t in [-1, 1]."""

    critic_thetas: np.ndarray  # [T] t
    critic_values: np.ndarray  # [T] V(t e_1); J(t e_1) = t^2


@dataclass
class OnlineResult(ToyResult):
    """``ToyResult`` of the online loop, with the side its generator started on."""

    initial_side: float  # sign of G's output at initialisation, +1 or -1
    side_fraction: float  # fraction of stored thetas on that side


@contextmanager
def _seeded(seed: int) -> Iterator[None]:
    """Seed torch's global generator for a block, restoring the caller's state afterwards."""
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        yield


def _mlp(n_in: int, n_out: int, hidden: tuple[int, ...], bounded: bool) -> nn.Sequential:
    """tanh MLP; ``bounded`` ends in tanh too, which keeps a generator's theta in [-1, 1]^dim."""
    layers: list[nn.Module] = []
    for h in hidden:
        layers += [nn.Linear(n_in, h), nn.Tanh()]
        n_in = h
    layers.append(nn.Linear(n_in, n_out))
    if bounded:
        layers.append(nn.Tanh())
    return nn.Sequential(*layers)


def _uniform_policies(n: int, dim: int) -> torch.Tensor:
    """n points uniform on [-1, 1] (dim=1) or on the unit disk (dim=2)."""
    if dim == 1:
        return 2.0 * torch.rand(n, 1) - 1.0
    if dim == 2:
        radius = torch.rand(n).sqrt()  # sqrt makes the density uniform in area
        angle = 2.0 * torch.pi * torch.rand(n)
        return torch.stack([radius * angle.cos(), radius * angle.sin()], dim=1)
    raise ValueError(f"the toy has dim 1 or 2, got dim={dim}")


def _fit(model: nn.Module, loss_fn: Callable[[], torch.Tensor], steps: int, lr: float) -> None:
    """Full-batch Adam on ``loss_fn()``, learning rate annealed to 0 (cosine) so that it settles."""
    optimizer = torch.optim.Adam(model.parameters(), lr=lr)
    schedule = torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, steps)
    for _ in range(steps):
        loss = loss_fn()
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        schedule.step()


def _result(
    cls: type[ToyResult], generator: nn.Module, thetas: torch.Tensor, **extra: float | np.ndarray
) -> ToyResult:
    """``cls`` filled with G over ``COMMANDS``, the data, and the ``extra`` fields of ``cls``."""
    with torch.no_grad():
        generated = generator(torch.as_tensor(COMMANDS, dtype=torch.float32).unsqueeze(1))
    return cls(
        commands=COMMANDS.copy(),
        generated=generated.numpy().astype(np.float64),
        achieved=toy_return(generated).numpy().astype(np.float64),
        thetas=thetas.numpy().astype(np.float64),
        returns=toy_return(thetas).numpy().astype(np.float64),
        **extra,
    )


def hindsight_fit(
    dim: int = 1,
    n_data: int = 2000,
    steps: int = 500,
    lr: float = 1e-2,
    hidden: tuple[int, ...] = (32, 32),
    seed: int = 0,
) -> ToyResult:
    """Fit G(c) by hindsight MSE on (theta, J(theta)), theta uniform: G(c) -> E[theta | J = c] = 0.

    The Gaussian maximum-likelihood fit of UDRL (GoGePo, "Deep Policy Generators"), i.e. UDRLPG
    Sec. 4's L_G on a buffer holding both modes. Every command maps to theta ~ 0, whose return is ~0
    (mean collapse).
    """
    with _seeded(seed):
        thetas = _uniform_policies(n_data, dim)
        returns = toy_return(thetas).unsqueeze(1)
        generator = _mlp(1, dim, hidden, bounded=True)
        _fit(generator, lambda: F.mse_loss(generator(returns), thetas), steps, lr)
    return _result(ToyResult, generator, thetas)


def critic_generator(
    dim: int = 1,
    n_data: int = 2000,
    critic_steps: int = 1000,
    generator_steps: int = 1000,
    critic_lr: float = 1e-2,
    generator_lr: float = 3e-2,
    hidden: tuple[int, ...] = (32, 32),
    seed: int = 0,
) -> CriticResult:
    """GoGePo's generator: fit V(theta) ~ J(theta), then min over G of (V(G(c)) - c)^2, V frozen.

    GoGePo, "Deep Policy Generators": L_V(w) = E[(r - V_w(theta))^2], then
    L_G(rho) = E_r[(r - V_w(G_rho(r)))^2] with V_w fixed, on the same uniform data as ``hindsight_fit``.
    The loss asks for one theta with V(theta) = c rather than the mean of all of them, so G(1/4) lands
    near +1/2 or -1/2; which one depends on where the optimisation starts.
    GoGePo draws the commands c from the buffer's returns; we use the uniform grid ``COMMANDS``
    instead, because the returns of uniform thetas crowd near 0 (density 1 / (2 sqrt(c)) in 1-D),
    exactly where the wanted theta = sqrt(c) is steepest and hardest for a small G to follow.
    """
    with _seeded(seed):
        thetas = _uniform_policies(n_data, dim)
        returns = toy_return(thetas).unsqueeze(1)
        critic = _mlp(dim, 1, hidden, bounded=False)
        _fit(critic, lambda: F.mse_loss(critic(thetas), returns), critic_steps, critic_lr)
        critic.requires_grad_(False)
        generator = _mlp(1, dim, hidden, bounded=True)
        commands = torch.as_tensor(COMMANDS, dtype=torch.float32).unsqueeze(1)
        _fit(
            generator,
            lambda: F.mse_loss(critic(generator(commands)), commands),
            generator_steps,
            generator_lr,
        )
        line = torch.linspace(-1.0, 1.0, 101)
        with torch.no_grad():
            values = critic(F.pad(line.unsqueeze(1), (0, dim - 1))).squeeze(1)
    return _result(
        CriticResult,
        generator,
        thetas,
        critic_thetas=line.numpy().astype(np.float64),
        critic_values=values.numpy().astype(np.float64),
    )


def udrlpg_on_toy(
    initial_theta: float = 0.2,
    sigma: float = 0.1,
    iterations: int = 300,
    updates_per_rollout: int = 4,
    batch_size: int = 32,
    warmup: int = 10,
    lr: float = 1e-3,
    hidden: tuple[int, ...] = (32, 32),
    seed: int = 0,
) -> OnlineResult:
    """UDRLPG's online loop on the 1-D toy: the initialisation bias keeps it in one mode.

    UDRLPG Sec. 4's loop (see ``udrlpg.py``) in miniature, with a uniformly sampled buffer:

        1  G starts near ``initial_theta`` for every command (its output bias set so)
        2  warm-up: store ``warmup`` policies theta = G(1) + sigma * eps with their returns J(theta)
        3  repeat ``iterations`` times:
        4      ``updates_per_rollout`` Adam steps on the hindsight MSE (G(J(theta_i)) - theta_i)^2
        5      c <- best return stored; store theta = clip(G(c) + sigma * eps, -1, 1) and J(theta)

    The explored policies surround G, so the buffer fills with one mode and G(c) follows
    sign(initial_theta) * sqrt(c) instead of collapsing (UDRLPG Sec. 5). ``side_fraction`` says
    how many stored thetas lie on G's starting side.
    """
    with _seeded(seed):
        generator = _mlp(1, 1, hidden, bounded=True)
        with torch.no_grad():  # line 1: a near-constant G(c) ~ initial_theta
            generator[-2].weight.mul_(0.1)
            generator[-2].bias.fill_(float(np.arctanh(initial_theta)))
        optimizer = torch.optim.Adam(generator.parameters(), lr=lr)

        def explore(command: float, n: int) -> torch.Tensor:
            with torch.no_grad():
                center = generator(torch.full((n, 1), command))
            return (center + sigma * torch.randn(n, 1)).clamp(-1.0, 1.0)

        thetas = explore(1.0, warmup)  # line 2
        for _ in range(iterations):
            returns = toy_return(thetas).unsqueeze(1)
            for _ in range(updates_per_rollout):  # line 4
                batch = torch.randint(len(thetas), (batch_size,))
                loss = F.mse_loss(generator(returns[batch]), thetas[batch])
                optimizer.zero_grad(set_to_none=True)
                loss.backward()
                optimizer.step()
            thetas = torch.cat([thetas, explore(float(returns.max()), 1)])  # line 5
    side = float(np.sign(initial_theta))
    fraction = float((torch.sign(thetas) == side).float().mean())
    return _result(OnlineResult, generator, thetas, initial_side=side, side_fraction=fraction)
