"""No number in the prose of chapters 8 and 9 is typed by hand where a file or a cell holds it.

The markdown cells are scanned for digits after removing what is not a typed result: glue roles
(computed by a cell), other MyST roles (citations, cross-references), code spans and fenced code,
formulas, link targets and labels, the numbering of figures, tables, sections, chapters and
list items, environment ids (Hopper-v5), identifiers with digits (bf16, avx512_bf16), quotations
from the papers (between double quotes) and the papers' own values in PAPER_VALUES. What remains
with a digit in it fails the test, with the sentence around it.
"""

from __future__ import annotations

import re
from pathlib import Path

import nbformat
import pytest

ROOT = Path(__file__).resolve().parents[1]
CHAPTERS = ["08_full_scale.ipynb", "09_papers_side_by_side.ipynb"]

# The papers' values the prose may state, each as it is written in the chapters.
PAPER_VALUES = [
    r"980 \$\\pm\$ 40",  # GoGePo, arXiv version, Appendix Table 1: GoGePo, InvertedPendulum
    r"936 \$\\pm\$\s+42",  # same table: ARS, InvertedPendulum
    r"960 \$\\pm\$ 175",  # same table: DDPG, InvertedPendulum
    r"219 \$\\pm\$ 299",  # same table: UDRL, InvertedPendulum
    r"334 \$\\pm\$ 16",  # same table: GoGePo, Swimmer
    r"342 \$\\pm\$ 21",  # same table: ARS, Swimmer
    r"129 \$\\pm\$ 25",  # same table: DDPG, Swimmer
    r"78 \$\\pm\$ 17",  # same table: UDRL, Swimmer
    r"2589\s+\$\\pm\$ 300",  # same table: GoGePo, Hopper
    r"2340\s+\$\\pm\$ 199",  # same table: ARS, Hopper
    r"1634 \$\\pm\$ 1036",  # same table: DDPG, Hopper
    r"1010 \$\\pm\$ 78",  # same table: UDRL, Hopper
    r"\b2589\b",  # same table: GoGePo, Hopper (mean alone)
    r"\b342\b",  # same table: ARS, Swimmer (mean alone)
    r"\b2340\b",  # same table: ARS, Hopper (mean alone)
    r"\b2070\b",  # UDRLPG paper, Sec. 5: UDRLPG's mean final return on Hopper
    r"\b320\b",  # UDRLPG paper, Sec. 5: GoGePo's mean final return on Swimmer
    r"\b300\b",  # UDRLPG paper, Sec. 5: UDRLPG's mean final return on Swimmer
    r"\b1000\b",  # UDRLPG paper, Sec. 5: "the maximum possible reward of 1000" (InvertedPendulum)
    r"\b20\s+(?:runs|commands)\b",  # both papers: 20 runs per method; GoGePo App. B.3: 20 commands
    r"\b10\s+episodes\b",  # GoGePo App. B.2 (evaluation) and UDRLPG Figure 4 (command test)
    r"\b5 runs\b",  # UDRLPG paper, Figure 4: averaged over 5 runs
    r"\b2000\b[^.]*\b3000\b",  # GoGePo: "2000 without survival bonus ... roughly 3000 with"
    r"2501\.16288",  # the UDRLPG paper's arXiv number
    r"AAAI 2023",  # the GoGePo paper's venue
    r"\b95%(?=\s+(?:bootstrap|CI|confidence|intervals?))",  # the interval's name (mean_ci's level)
]

NUMBERED = (
    r"(?:Figures?|Fig\.|Tables?|Sec\.|Sections?|Eq\.|Equations?|[Cc]hapters?|Appendix|"
    r"Algorithm|[Ee]xercises?|Panels?|[Ss]eeds?)"  # a seed's number names a run
)
ITEM = r"(?:[A-Z]\.?)?\d+(?:\.\d+)*[a-z]?"
STRIP = [
    (r"```.*?```", " "),  # fenced code
    (r"\{[a-z:]+\}`[^`]*`", " "),  # MyST roles: {glue:text}, {cite:p}, {ref}, ...
    (r"`[^`]*`", " "),  # code spans
    (r"\$\$.*?\$\$", " "),  # display formulas
    (r"\$[^$]*\$", " "),  # inline formulas
    (r"\]\([^)]*\)", "]"),  # link targets
    (r"^\([\w-]+\)=$", " "),  # cross-reference labels
    (r"^:::.*$|^:[a-z]+:.*$", " "),  # directive fences and options
    (r'"[^"\n]*"', " "),  # quotations (the papers' words)
    (rf"\b{NUMBERED}[\s-]+{ITEM}(?:(?:,\s*|\s+and\s+|\s+to\s+|-){ITEM})*", " "),  # numbering
    (r"^\s*#+\s+\d+(?:\.\d+)*\.?", " "),  # a numbered heading
    (r"^\s*\d+\.\s", " "),  # a numbered list item
    (r"\b[A-Za-z]+-v\d+\b|(?<![\w-])-v\d+\b", " "),  # environment ids, gym's -v2/-v3
    (r"\b[A-Za-z_]+\d+[A-Za-z0-9_]*\b|\b[A-Z]+-\d+\b", " "),  # bf16, avx512_bf16, AVX-512
]


def hand_typed(markdown: str) -> list[str]:
    """The digits left in a markdown cell once everything a reader need not trust is removed,
    each with a few words around it."""
    text = markdown
    for pattern in PAPER_VALUES:
        text = re.sub(pattern, " ", text)
    for pattern, repl in STRIP:
        text = re.sub(pattern, repl, text, flags=re.S | re.M)
    return [text[max(0, m.start() - 40) : m.end() + 40] for m in re.finditer(r"\d+", text)]


def test_the_scan_catches_a_hand_typed_number():
    assert hand_typed("The runs end at 714 on average.")
    assert hand_typed("took 2.3 hours")
    assert hand_typed("the five seeds, 20 of them")  # "20 runs" is the papers', "20 of them" not
    clean = (
        "Figure 9.1 and Table 9.2 (Sec. 5, chapter 7, Figures 1, 2 and 4) show "
        "{glue:text}`n_runs:d` runs on Hopper-v5 (`--seeds 0-4`, bf16, $T(L)$) against "
        'the paper\'s 2070 and 334 $\\pm$ 16 over 20 runs; it "achieves 1000".'
    )
    assert hand_typed(clean) == []


@pytest.mark.parametrize("chapter", CHAPTERS)
def test_no_hand_typed_number_in_the_prose(chapter):
    nb = nbformat.read(ROOT / "book" / chapter, as_version=4)
    cells = [c for c in nb.cells if c.cell_type == "markdown"]
    found = [(c.get("id"), hit) for c in cells for hit in hand_typed(c.source)]
    assert found == [], "\n".join(f"cell {i}: ...{hit!r}..." for i, hit in found)
