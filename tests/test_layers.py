"""The package's layout: each layer imports only layers below it, and no module imports itself
back through others (README, "Map of the package").

The layers, lowest first: the building blocks at the top of the package (policy, generator,
buffers, critic, normalizer, presets), ``envs``, ``algorithms``, ``experiments``, ``bench``, and the
command line (``cli``, ``__main__``). Imports inside one layer are allowed; cycles are not, in any
layer. Every import counts, also one inside a function (those are imported late only to keep the
command line's start-up light), read from the source with ``ast``: nothing is imported here.
"""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

import udrlpg_lite

PACKAGE_DIR = Path(udrlpg_lite.__file__).parent
REPO = PACKAGE_DIR.parent

LAYERS = ("blocks", "envs", "algorithms", "experiments", "bench", "cli")
BLOCKS = ("policy", "generator", "buffers", "critic", "normalizer", "presets")
SUBPACKAGES = ("envs", "algorithms", "experiments", "bench")
TOP = ("cli", "__main__")


def layer_of(module: str) -> str:
    """The layer of a module named ``pkg.a.b``; a ValueError for a module no layer holds (a new
    top-level module must be given its place here and in the README's map)."""
    parts = module.split(".")[1:]
    if not parts:  # the package's __init__: its docstring and __version__
        return "blocks"
    if parts[0] in BLOCKS:
        return "blocks"
    if parts[0] in SUBPACKAGES:
        return parts[0]
    if parts[0] in TOP:
        return "cli"
    raise ValueError(f"{module} belongs to no layer: add it to tests/test_layers.py and the README")


def modules(package_dir: Path) -> dict[str, Path]:
    """Every module of the package below ``package_dir``, by dotted name (packages by their
    ``__init__``)."""
    found = {}
    for path in sorted(package_dir.rglob("*.py")):
        parts = path.relative_to(package_dir.parent).with_suffix("").parts
        if parts[-1] == "__init__":
            parts = parts[:-1]
        found[".".join(parts)] = path
    return found


def imports(module: str, path: Path, known: dict[str, Path]) -> set[str]:
    """The package's modules that ``module`` imports, relative imports resolved; ``from pkg
    import name`` counts as importing the module ``pkg.name`` where there is one, else ``pkg``."""
    root = module.split(".")[0]
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]

    def owner(name: str) -> str | None:  # the longest known module that is ``name`` or holds it
        parts = name.split(".")
        for i in range(len(parts), 0, -1):
            if ".".join(parts[:i]) in known:
                return ".".join(parts[:i])
        return None

    found = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[: len(base) - (node.level - 1)]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            subs = [f"{target}.{alias.name}" for alias in node.names]
            targets = [sub if sub in known else target for sub in subs]
        else:
            continue
        for target in targets:
            if target.split(".")[0] == root and (found_module := owner(target)):
                found.add(found_module)
    found.discard(module)
    return found


def graph(package_dir: Path) -> dict[str, set[str]]:
    known = modules(package_dir)
    return {name: imports(name, path, known) for name, path in known.items()}


def upward_imports(edges: dict[str, set[str]]) -> list[str]:
    """Every import of a module in a higher layer than the importer's."""
    rank = {layer: i for i, layer in enumerate(LAYERS)}
    return [
        f"{a} ({layer_of(a)}) imports {b} ({layer_of(b)})"
        for a, targets in sorted(edges.items())
        for b in sorted(targets)
        if rank[layer_of(b)] > rank[layer_of(a)]
    ]


def cycles(edges: dict[str, set[str]]) -> list[list[str]]:
    """One cycle through each strongly connected group of modules that import one another."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    groups = []

    def visit(v: str) -> None:  # Tarjan's algorithm
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in sorted(edges.get(v, ())):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            group = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                group.append(w)
                if w == v:
                    break
            if len(group) > 1:
                groups.append(sorted(group))

    for v in sorted(edges):
        if v not in index:
            visit(v)
    found = []
    for group in groups:  # a path from the group's first module back to itself, inside the group
        start, members = group[0], set(group)
        paths = {start: [start]}
        queue = [start]
        while queue:
            v = queue.pop(0)
            for w in sorted(edges[v] & members):
                if w == start:
                    found.append(paths[v] + [start])
                    queue = []
                    break
                if w not in paths:
                    paths[w] = paths[v] + [w]
                    queue.append(w)
    return found


def test_every_module_has_a_layer():
    for name in modules(PACKAGE_DIR):
        assert layer_of(name) in LAYERS


def test_no_layer_imports_a_layer_above_it():
    assert upward_imports(graph(PACKAGE_DIR)) == []


def test_no_import_cycle():
    assert cycles(graph(PACKAGE_DIR)) == []


def test_the_checks_catch_an_upward_import_and_a_cycle(tmp_path):
    """A made-up package with one of each: the checks above would fail on it."""
    files = {
        "pkg/__init__.py": "",
        "pkg/policy.py": "def f():\n    from .experiments.runner import Run\n",
        "pkg/buffers.py": "from pkg import critic\n",
        "pkg/critic.py": "from . import buffers\n",
        "pkg/envs/__init__.py": "from ..policy import f\n",
        "pkg/experiments/__init__.py": "",
        "pkg/experiments/runner.py": "import pkg.envs\nfrom ..algorithms import x\n",
        "pkg/algorithms/__init__.py": "",
    }
    for name, text in files.items():
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text(text)
    edges = graph(tmp_path / "pkg")
    assert edges["pkg.policy"] == {"pkg.experiments.runner"}
    assert edges["pkg.experiments.runner"] == {"pkg.envs", "pkg.algorithms"}
    assert upward_imports(edges) == ["pkg.policy (blocks) imports pkg.experiments.runner (experiments)"]
    assert sorted(cycles(edges)) == [
        ["pkg.buffers", "pkg.critic", "pkg.buffers"],
        ["pkg.envs", "pkg.policy", "pkg.experiments.runner", "pkg.envs"],
    ]
    with pytest.raises(ValueError, match="belongs to no layer"):
        layer_of("pkg.plotting")


def test_no_code_under_results():
    assert sorted((REPO / "results").rglob("*.py")) == []


# extras some modules need: their absence is no failure of the package (pyproject's gpu, ray)
OPTIONAL = {"warp", "mujoco_warp", "ray"}


def test_every_module_imports_in_a_fresh_interpreter():
    names = list(modules(PACKAGE_DIR))
    script = (
        "import importlib, sys\n"
        f"for name in {names!r}:\n"
        "    try:\n"
        "        importlib.import_module(name)\n"
        "    except ModuleNotFoundError as e:\n"
        f"        if e.name.split('.')[0] not in {sorted(OPTIONAL)!r}:\n"
        "            raise\n"
        "        print('skipped', name, e.name)\n"
    )
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr[-2000:]
