"""The generator's chains on the map of policy space: recorded by GoGePo runs, invisible to them."""

import json

import numpy as np
import pytest
import torch

from udrlpg_lite.algorithms.gogepo import GoGePo, GoGePoConfig
from udrlpg_lite.experiments.figures import map_run, policy_map
from udrlpg_lite.experiments.generator_chains import N_COMMANDS, STAGES, chain_due, record_chain
from udrlpg_lite.experiments.report import find_groups
from udrlpg_lite.experiments.runner import Run
from udrlpg_lite.presets import env_preset

torch.set_num_threads(1)

IP = "InvertedPendulum-v5"
SMALL = {
    "hidden": (16, 16),
    "critic_hidden": (16, 16),
    "n_probing": 8,
    "warmup": 3,
    "generator_steps": 2,
    "critic_steps": 2,
}
SETTINGS = dict(algo="gogepo", env=IP, steps=1200, seed=2, overrides=SMALL, eval_every=300)


def test_chains_fall_due_at_the_stages_of_the_budget():
    assert STAGES[0] == 0.0 and STAGES[-1] == 1.0
    assert chain_due(0, 0, 1000)
    assert not chain_due(1, 99, 1000) and chain_due(1, 100, 1000)  # STAGES[1] = 0.1
    assert not chain_due(len(STAGES), 10**9, 1000)  # all recorded: none left


def test_recording_a_chain_changes_nothing_else():
    def algo():
        a = GoGePo(IP, env_preset(IP), 0, GoGePoConfig(**SMALL))
        for _ in range(5):
            a.iterate()
        return a

    plain, recorded = algo(), algo()
    before = recorded.eval_env_steps
    chain = record_chain(recorded)
    assert chain["commands"] == pytest.approx(np.linspace(0, 1000, N_COMMANDS).tolist())
    assert chain["thetas"].shape == (N_COMMANDS, recorded.spec.n_params)
    assert len(chain["achieved"]) == N_COMMANDS
    assert recorded.eval_env_steps > before  # its episodes are evaluation episodes
    assert recorded.env_steps == plain.env_steps
    assert recorded.evaluate() == plain.evaluate()  # the evaluation stream was put back
    recorded.iterate()
    plain.iterate()
    assert recorded.env_steps == plain.env_steps and recorded.command == plain.command


def test_a_gogepo_run_ends_with_its_map_and_a_resumed_one_with_the_same_map(tmp_path, kill_at):
    whole = Run.create(tmp_path / "whole", **SETTINGS)
    whole.train(progress=False)
    found = json.loads((tmp_path / "whole" / "policy_map.json").read_text())
    chains, buffer = found["chains"], found["buffer"]
    assert len(chains) == len(STAGES)
    assert [c["env_steps"] >= s * SETTINGS["steps"] for c, s in zip(chains, STAGES)] == [True] * 4
    assert chains[0]["env_steps"] == 0  # the untrained generator's chain
    assert all(len(c["x"]) == len(c["y"]) == len(c["achieved"]) == N_COMMANDS for c in chains)
    assert len(buffer["x"]) == len(buffer["return"]) == len(whole.algo.buffer)
    # the principal axes are the buffer's: its points are centred on the origin
    assert abs(np.mean(buffer["x"])) < 1e-3 and abs(np.mean(buffer["y"])) < 1e-3

    kill_at(Run.create(tmp_path / "cut", **SETTINGS), 12)
    resumed = Run.load(tmp_path / "cut")
    assert 0 < len(resumed.chains) < len(STAGES)  # chains recorded before the cut came back
    resumed.train(progress=False)
    assert json.loads((tmp_path / "cut" / "policy_map.json").read_text()) == found

    groups = find_groups([tmp_path])  # the report draws the map of the first such run
    assert map_run(groups)["out"].name in ("whole", "cut")
    assert policy_map(groups, tmp_path / "map.png") and (tmp_path / "map.png").exists()


def test_other_algorithms_record_no_chains(tmp_path):
    run = Run.create(tmp_path / "ars", **(SETTINGS | {"algo": "ars", "overrides": {}}))
    run.train(progress=False)
    assert run.chains is None and not (tmp_path / "ars" / "policy_map.json").exists()
