"""udrlpg_lite: upside-down RL with policy generators, small and fast.

In layers, in the order the book introduces them; each imports only the layers before it
(README, "Map of the package"; tests/test_layers.py):
  policy, normalizer, presets, generator, buffers, critic
              the building blocks: a population of MLP policies run at once, observation
              normalisation, per-env settings, the sliced hypernetwork G_rho(c), replay buffers,
              GoGePo's critic
  envs        batched evaluation of P policies (mujoco.batch engine, gymnasium fallback, GPU)
  algorithms  UDRLPG, GoGePo, ARS, UDRL, DDPG, the toy, and their base class
  experiments training runs on disk (metrics, checkpoints, manifests), many seeds, sweeps, the
              report and its figures, studies of finished runs
  bench       the project's benchmarks and GPU check
  cli         python -m udrlpg_lite ...
"""

__version__ = "0.1.0"
