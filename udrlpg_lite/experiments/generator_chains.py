"""The generator's chains on the map of policy space (GoGePo paper, Figure 4; arXiv version, B.3).

A *chain* is what the generator writes for a fixed set of commands at one moment of training: the
policies G(c) for 20 commands evenly over the env's return range, and the returns they achieve. A
GoGePo run records a chain at a few fractions of its budget (``STAGES``, from untrained to the end)
and, when it ends, places the buffer's policies and every chain on one map: the first two principal
components of their probing actions on the *final* critic's probing states, with the principal axes
of the buffer's policies (``critic.policy_map``). A trained generator's chain runs from the dark
(low-return) region of the map to the bright one.

The chain's episodes are evaluation episodes: the normaliser is frozen, the steps count as
evaluation steps, and the evaluation env's random stream is put back afterwards, so recording
chains changes nothing else the run does.
"""

from __future__ import annotations

import numpy as np
import torch

from ..critic import policy_map

STAGES = (0.0, 0.1, 0.3, 1.0)  # fractions of the step budget at which a chain is recorded
N_COMMANDS = 20  # GoGePo B.3: "a set of 20 commands, evenly spaced across the range"
EPISODES = 2  # episodes per command


def chain_due(n_recorded: int, env_steps: int, budget: int) -> bool:
    """Whether the next chain (number ``n_recorded``) is due at ``env_steps`` of ``budget``."""
    return n_recorded < len(STAGES) and env_steps >= STAGES[n_recorded] * budget


def record_chain(algo, episodes: int = EPISODES) -> dict:
    """The chain of a GoGePo algorithm now: commands (env units), G(c) (thetas [C, n_params]), the
    mean achieved return per command, and the training step it was taken at."""
    commands = np.linspace(*algo.preset.return_range, N_COMMANDS)
    thetas = algo.policies_for(commands)
    env = algo.command_env
    stream = env.rng.bit_generator.state
    achieved, _ = algo.play_commanded(algo.spec, thetas, episodes)
    env.rng.bit_generator.state = stream  # the run's evaluations stay what they would have been
    return {
        "env_steps": algo.env_steps,
        "commands": commands.tolist(),
        "achieved": achieved.tolist(),
        "thetas": thetas.cpu(),
    }


def map_data(algo, chains: list[dict], digits: int = 4) -> dict:
    """The map as plain numbers (for ``policy_map.json``): every buffer policy's coordinates and
    stored return, and every chain's coordinates, commands and achieved returns."""
    state = algo.buffer.state_dict()
    if state["thetas"] is None:
        raise ValueError("the buffer is empty: there is no map to draw")
    buffer_thetas = state["thetas"].to(algo.device)
    everything = torch.cat([buffer_thetas] + [c["thetas"].to(algo.device) for c in chains])
    points = policy_map(algo.critic, everything, reference=buffer_thetas).cpu().numpy()
    points = np.round(points.astype(np.float64), digits)
    n = len(buffer_thetas)
    parts = np.split(points[n:], np.cumsum([len(c["thetas"]) for c in chains])[:-1])
    return {
        "env_steps": algo.env_steps,
        "buffer": {
            "x": points[:n, 0].tolist(),
            "y": points[:n, 1].tolist(),
            "return": [round(float(r), 2) for r in state["returns"]],
        },
        "chains": [
            {
                "env_steps": c["env_steps"],
                "commands": c["commands"],
                "achieved": [round(float(a), 2) for a in c["achieved"]],
                "x": xy[:, 0].tolist(),
                "y": xy[:, 1].tolist(),
            }
            for c, xy in zip(chains, parts)
        ],
    }
