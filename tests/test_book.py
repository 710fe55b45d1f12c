"""The book's checks: one set-up cell everywhere, its Colab install path, computed numbers.

The Colab path is run for real, in a fresh virtual environment that sees the machine's packages
(as a Colab runtime comes with torch, numpy and matplotlib preinstalled) but not this checkout:
the cell clones the repository from a local address, installs it as a normal package, and the
same interpreter then imports everything every chapter imports.
"""

from __future__ import annotations

import ast
import os
import re
import subprocess
import sys
import sysconfig
import venv
from pathlib import Path

import nbformat
import pytest

ROOT = Path(__file__).resolve().parents[1]
CHAPTERS = sorted((ROOT / "book").glob("*.ipynb"))
CELL = (ROOT / "book" / "_tools" / "setup_cell.py").read_text().rstrip("\n")


def code_cells(path: Path) -> list[str]:
    nb = nbformat.read(path, as_version=4)
    return [c.source for c in nb.cells if c.cell_type == "code"]


def chapter_imports() -> list[str]:
    """Every top-level import statement of the chapters' code cells (IPython magics dropped)."""
    found: dict[str, None] = {}
    for path in CHAPTERS:
        for source in code_cells(path):
            python = "\n".join(ln for ln in source.splitlines() if not ln.startswith(("%", "!")))
            for node in ast.parse(python).body:
                if isinstance(node, ast.Import | ast.ImportFrom):
                    found[ast.unparse(node)] = None
    return list(found)


def test_every_chapter_opens_with_the_same_setup_cell():
    assert len(CHAPTERS) >= 6
    differ = [p.name for p in CHAPTERS if code_cells(p)[0] != CELL]
    assert differ == [], f"first code cell differs from book/_tools/setup_cell.py in {differ}"


GLUE_REF = re.compile(r"\{glue(?::[a-z]+)?\}`([^`:]+)")  # {glue:text}`name:.1f` in the text
GLUE_CALL = re.compile(r"""\bglue\(\s*(?:f?["'])([^"']+)["']""")  # glue("name", value) in a cell


def test_every_number_glued_into_the_text_is_computed_by_a_cell():
    """A number the prose marks as computed ({glue} role) comes from a glue() call in a code cell."""
    for path in CHAPTERS:
        nb = nbformat.read(path, as_version=4)
        text = "\n".join(c.source for c in nb.cells if c.cell_type == "markdown")
        code = "\n".join(c.source for c in nb.cells if c.cell_type == "code")
        missing = set(GLUE_REF.findall(text)) - set(GLUE_CALL.findall(code))
        assert not missing, f"{path.name} cites numbers no cell computes: {sorted(missing)}"


def test_no_number_is_glued_by_two_cells():
    """mystnb warns on a key glued twice in a chapter (and `-W` fails the build): one cell each."""
    for path in CHAPTERS:
        seen: set[str] = set()
        twice: set[str] = set()
        for source in code_cells(path):
            keys = set(GLUE_CALL.findall(source))
            twice |= keys & seen
            seen |= keys
        assert not twice, f"{path.name} glues these keys in two cells: {sorted(twice)}"


def test_glue_patterns_read_what_the_book_writes():
    assert GLUE_REF.findall("first pass at {glue:text}`ars_first:,.0f` steps") == ["ars_first"]
    assert GLUE_CALL.findall('glue("ars_first", first, display=False)') == ["ars_first"]


def test_chapter_imports_are_found():
    imports = chapter_imports()
    assert "import mediapy" in imports
    assert any(s.startswith("from udrlpg_lite.experiments.runner import") for s in imports)


def test_no_chapter_sets_quick_or_the_renderer_itself():
    for path in CHAPTERS:
        for source in code_cells(path)[1:]:
            for name in ("QUICK", "DEVICE", "MUJOCO_GL"):
                assert not re.search(rf"^{name}\s*=|\"{name}\"", source, re.M), (
                    f"{path.name} sets {name} outside the set-up cell"
                )


@pytest.mark.skipif(not (ROOT / ".git").exists(), reason="needs the repository as a git clone")
def test_setup_cell_installs_an_importable_book_in_a_fresh_venv(tmp_path):
    env_dir, clone = tmp_path / "venv", tmp_path / "udrlpg-book"
    venv.create(env_dir, system_site_packages=True, with_pip=True)
    python = env_dir / "bin" / "python"
    if sys.prefix != sys.base_prefix:  # run from a virtual environment (the README's set-up): its
        # packages, not the base interpreter's, play the ones a Colab runtime comes with
        inner = subprocess.run(
            [str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
            capture_output=True, text=True, check=True,
        ).stdout.strip()  # fmt: skip
        outer = {sysconfig.get_paths()[key] for key in ("purelib", "platlib")}
        Path(inner, "outer-environment.pth").write_text("\n".join(sorted(outer)) + "\n")
    script = "\n".join(
        [
            CELL,
            *chapter_imports(),
            "import udrlpg_lite",
            "print('PACKAGE', udrlpg_lite.__file__)",
            "print('CWD', os.getcwd())",
        ]
    )
    env = dict(
        os.environ,
        BOOK_INSTALL="1",
        BOOK_REPO=f"file://{ROOT}",
        BOOK_ROOT=str(clone),
        MPLBACKEND="Agg",
        PYTHONNOUSERSITE="1",
    )
    env.pop("PYTHONPATH", None)
    env.pop("QUICK", None)
    done = subprocess.run(
        [str(python), "-c", script], env=env, cwd=tmp_path, capture_output=True, text=True
    )
    assert done.returncode == 0, done.stderr[-3000:]
    lines = dict(
        ln.split(" ", 1) for ln in done.stdout.splitlines() if ln.startswith(("PACKAGE", "CWD"))
    )
    assert Path(lines["PACKAGE"]).is_relative_to(env_dir), lines["PACKAGE"]  # not this checkout
    assert Path(lines["CWD"]) == clone / "book"
    assert "QUICK=True" in done.stdout and sys.executable != str(python)


def test_every_address_of_the_repository_is_the_one_in_config():
    """The repository's address is one setting (_config.yml's repository.url): the set-up cell's
    default and every chapter's Colab badge are checked against it."""
    config = (ROOT / "_config.yml").read_text()
    url = re.search(r"^repository:\s*\n\s+url:\s*(\S+)", config, re.M).group(1)
    assert f'"BOOK_REPO", "{url}"' in CELL
    slug = url.removeprefix("https://github.com/")
    for path in CHAPTERS:
        text = path.read_text()
        badges = re.findall(r"colab\.research\.google\.com/github/([^)\"\\]+)", text)
        assert badges == [f"{slug}/blob/main/book/{path.name}"], (path.name, badges)
