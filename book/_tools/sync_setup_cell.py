"""Write the one set-up cell (``setup_cell.py`` beside this file) into every chapter.

The first code cell of each notebook in ``book/`` is that cell, character for
character, so that a fix to the Colab path is made once. From the repository root:

    python book/_tools/sync_setup_cell.py book/*.ipynb          # rewrite them
    python book/_tools/sync_setup_cell.py --check book/*.ipynb  # report differences

``tests/test_book.py`` runs the check and the cell's install path in a fresh venv.
"""

from __future__ import annotations

import sys
from pathlib import Path

import nbformat

CELL = (Path(__file__).parent / "setup_cell.py").read_text().rstrip("\n")


def first_code_cell(nb: nbformat.NotebookNode) -> nbformat.NotebookNode:
    return next(c for c in nb.cells if c.cell_type == "code")


def main(argv: list[str]) -> int:
    check = "--check" in argv
    differ = []
    for name in (a for a in argv if a != "--check"):
        nb = nbformat.read(name, as_version=4)
        cell = first_code_cell(nb)
        if cell.source == CELL:
            continue
        differ.append(name)
        if not check:
            cell.source, cell.outputs, cell.execution_count = CELL, [], None
            nbformat.write(nb, name)
    verb = "differ from" if check else "rewritten to"
    for name in differ:
        print(f"{name}: first code cell {verb} book/_tools/setup_cell.py")
    return 1 if check and differ else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
