"""Placement of a GPU run: networks on the GPU, episodes where they are simulated fastest."""

from __future__ import annotations

import importlib.util

import pytest
import torch

from udrlpg_lite.algorithms.placement import SIM_CROSSOVER, choose_sim
from udrlpg_lite.algorithms.udrlpg import UDRLPG, UDRLPGConfig
from udrlpg_lite.presets import env_preset


@pytest.mark.parametrize(
    ("device", "sim", "population", "expected"),
    [
        ("cpu", "auto", 1, "cpu"),  # a CPU run simulates on the CPU, whatever its population
        ("cpu", "cpu", 512, "cpu"),
        ("cuda", "auto", 1, "cpu"),  # the faithful P = 1: the CPU engine
        ("cuda", "auto", SIM_CROSSOVER - 1, "cpu"),
        ("cuda", "auto", SIM_CROSSOVER, "cuda"),  # a large population: MuJoCo Warp
        ("cuda:1", "auto", 4096, "cuda:1"),
        ("cuda", "gpu", 1, "cuda"),  # overrides
        ("cuda", "cpu", 4096, "cpu"),
        ("warp:cpu", "auto", 1, "warp:cpu"),  # the test device keeps the Warp back end
    ],
)
def test_choose_sim(device, sim, population, expected):
    assert choose_sim(device, sim, population) == expected


def test_choose_sim_takes_the_crossover_as_given():
    assert choose_sim("cuda", "auto", 8, crossover=8) == "cuda"
    assert choose_sim("cuda", "auto", 7, crossover=8) == "cpu"


def test_bad_placements_are_one_clear_error():
    with pytest.raises(ValueError, match="--sim gpu needs --device cuda"):
        choose_sim("cpu", "gpu", 1)
    with pytest.raises(ValueError, match="sim must be one of auto, cpu, gpu"):
        choose_sim("cuda", "fast", 1)
    with pytest.raises(ValueError, match="sim must be one of"):
        UDRLPG("InvertedPendulum-v5", env_preset("InvertedPendulum-v5"), 0, UDRLPGConfig(sim="x"))


@pytest.mark.skipif(importlib.util.find_spec("mujoco_warp") is None, reason="needs the gpu extra")
def test_networks_and_simulator_on_different_devices_train():
    """Networks on the CPU, episodes on the Warp back end (warp's CPU device): the policies cross
    to the simulator's device and the rollouts come back as usual."""
    config = UDRLPGConfig(generator="small", hidden=(16,), warmup=2, batch_size=2, sim="gpu")
    algo = UDRLPG("InvertedPendulum-v5", env_preset("InvertedPendulum-v5"), 0, config, "warp:cpu")
    assert algo.device == torch.device("cpu") and algo.sim_device == torch.device("cpu")
    assert type(algo.train_env).__name__ == "WarpEvaluator"
    before = algo.env_steps
    algo.iterate()
    assert algo.env_steps > before
