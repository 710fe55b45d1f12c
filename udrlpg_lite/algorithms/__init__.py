"""The algorithms: the base class every one of them extends (``base``), the five the book compares
(``udrlpg``, ``gogepo``, ``ars``, ``udrl``, ``ddpg``), the one-dimensional toy of chapter 4, and the
two choices an update makes about the machine it runs on (``precision``, ``placement``).

May import the building blocks (``udrlpg_lite.policy`` ... ``presets``) and ``udrlpg_lite.envs``.
"""
