"""Training runs on disk and what is made of them: ``runner`` (run directories, checkpoints,
metrics, manifests), ``multiseed`` and ``sweep`` (many runs at once), ``report`` (the summary over
seeds and Table 1), ``figures`` (every plot), and the studies on finished runs.

May import the algorithms, the environments and the building blocks.
"""
