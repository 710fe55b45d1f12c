"""udrlpg_lite: upside-down RL with policy generators, small and fast.

Modules, in the order the book introduces them:
  policy      flat weight vectors and a population of MLP policies run at once
  envs        batched evaluation of P policies (mujoco.batch engine, gymnasium fallback)
  buffers     replay buffers: return buckets, FIFO, recency-weighted
  generator   the sliced hypernetwork G_rho(c)
  udrlpg      the UDRLPG algorithm
  runner/cli  training runs on disk: metrics, checkpoints, manifests, plots
"""

__version__ = "0.1.0"
