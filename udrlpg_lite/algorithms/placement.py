"""Where a run's episodes are simulated when its networks live on a GPU (``train --sim``).

A run on ``--device cuda`` keeps its generator, critic, optimisers and buffers on the GPU, where the
updates are fast. Its episodes need not follow them: MuJoCo Warp steps every world of a batch in one
launch, and pays a host synchronisation per env step, so it wins with many worlds and loses with
few; the faithful schedule plays one episode per rollout (P = 1), which the CPU engine steps far
sooner. ``choose_sim`` picks the CPU engine below ``SIM_CROSSOVER`` policies per rollout and MuJoCo
Warp from there on; ``--sim cpu`` or ``--sim gpu`` overrides it. The policy weights cross to the
simulator's device once per rollout (``Algorithm.rollout_train``), a few hundred KB at most.

``SIM_CROSSOVER`` is the population size at which ``python -m udrlpg_lite gpu-check`` is to measure
the two simulators' end-to-end rates crossing; until a GPU measurement is committed under
``results/gpu/`` it is a stated guess, and the GPU report says so.
"""

from __future__ import annotations

SIMS = ("auto", "cpu", "gpu")
SIM_CROSSOVER = 64  # policies per rollout from which "auto" simulates on the GPU (to be measured)


def choose_sim(device: str, sim: str, population: int, crossover: int = SIM_CROSSOVER) -> str:
    """The simulator's device for a run whose networks live on ``device``: "cpu" (the CPU engine)
    or the GPU device itself (MuJoCo Warp). ``device`` "warp:cpu" (tests) keeps the Warp back end."""
    if sim not in SIMS:
        raise ValueError(f"sim must be one of {', '.join(SIMS)}, got {sim!r}")
    if population < 1:
        raise ValueError(f"population must be at least 1, got {population}")
    if not device.startswith("cuda"):
        if sim == "gpu" and device != "warp:cpu":
            raise ValueError("--sim gpu needs --device cuda (the networks on a GPU)")
        return device
    if sim == "cpu" or (sim == "auto" and population < crossover):
        return "cpu"
    return device
