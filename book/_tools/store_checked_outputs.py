"""Refresh the outputs that the book's nbval test compares, and strip all others.

The notebooks are stored without outputs, except in the cells whose first line is
``# NBVAL_CHECK_OUTPUT``: ``pytest --nbval-lax`` compares exactly those cells with what
they print when the notebook runs again. After changing such a cell (or the code behind
its value), run from the repository root

    QUICK=1 python book/_tools/store_checked_outputs.py book/04_multimodality.ipynb ...

``--check`` instead only verifies that every checked cell has a stored output (for CI):

    python book/_tools/store_checked_outputs.py --check book/*.ipynb

Each notebook is executed top to bottom with QUICK=1 in its own directory; the checked
cells keep their new outputs, every other cell is cleared, and the file is rewritten.
Look at the diff before committing: a changed checked value is a changed result.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import nbformat
from nbclient import NotebookClient

MARK = "# NBVAL_CHECK_OUTPUT"


def refresh(path: Path, timeout: int = 900) -> list[str]:
    nb = nbformat.read(path, as_version=4)
    client = NotebookClient(
        nb,
        timeout=timeout,
        kernel_name="python3",
        resources={"metadata": {"path": str(path.parent)}},
    )
    client.execute()
    kept = []
    for cell in nb.cells:
        if cell.cell_type != "code":
            continue
        cell.metadata.pop("execution", None)
        if cell.source.lstrip().startswith(MARK):
            # keep what nbval compares, the printed text, and the execution count:
            # nbval treats a cell with outputs but no count as "unrun" and fails it
            cell.outputs = [
                o
                for o in cell.outputs
                if o.output_type == "stream" and o.name == "stdout"
            ]
            kept.append("".join(o.text for o in cell.outputs))
        else:
            cell.outputs = []
            cell.execution_count = None
    # the widget state of the executed run is not needed in the source
    nb.metadata.pop("widgets", None)
    nbformat.write(nb, path)
    return kept


def check(paths: list[str]) -> None:
    """Fail unless every checked cell has a stored output (or nbval checks nothing) and
    calls no ``glue``: a glued value is a display output, which is not stored, so nbval
    would find an output it does not expect."""
    missing, glued = [], []
    for p in paths:
        nb = nbformat.read(p, as_version=4)
        for i, cell in enumerate(nb.cells):
            if cell.cell_type == "code" and cell.source.lstrip().startswith(MARK):
                where = f"{p}: cell {i} ({cell.get('id', '?')})"
                if not cell.outputs or cell.execution_count is None:
                    missing.append(where)
                if "glue(" in cell.source:
                    glued.append(where)
    if missing:
        sys.exit("checked cells without stored output:\n  " + "\n  ".join(missing))
    if glued:
        head = "checked cells that call glue (move it to a cell of its own):\n  "
        sys.exit(head + "\n  ".join(glued))
    print(f"{len(paths)} notebooks: every {MARK} cell has a stored output")


def main(paths: list[str]) -> None:
    if paths and paths[0] == "--check":
        check(paths[1:])
        return
    os.environ.setdefault("QUICK", "1")
    if os.environ["QUICK"] != "1":
        sys.exit("run with QUICK=1: the checked outputs are those of the QUICK run")
    for p in paths:
        for text in refresh(Path(p)):
            print(f"{p}:\n{text}")


if __name__ == "__main__":
    main(sys.argv[1:])
