"""Shared test helpers."""

import pytest


@pytest.fixture
def kill_at():
    """``kill_at(run, n)``: train ``run`` as a process killed during its n-th iteration would be,
    checkpointing after every iteration; ``Run.load(run.out)`` then resumes it."""

    def kill(run, n: int) -> None:
        calls, iterate = {"n": 0}, run.algo.iterate

        def interrupted():
            calls["n"] += 1
            if calls["n"] == n:
                raise KeyboardInterrupt
            return iterate()

        run.algo.iterate = interrupted
        with pytest.raises(KeyboardInterrupt):
            run.train(checkpoint_every_s=0.0, progress=False)

    return kill
