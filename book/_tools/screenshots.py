"""Look at the built book as a reader does: a headless Chromium screenshot of every
chapter page, and what each page shows once its scripts have run (figures, typeset
equations, widgets).

    python book/_tools/screenshots.py _build/html OUT_DIR

For each chapter page it writes OUT_DIR/<page>.png (1280 px wide, up to 16000 tall) and
one line of counts in OUT_DIR/pages.md: images (figures and videos), MathJax-typeset
equations, live widgets, and "[glue" placeholders left unresolved. Needs `chromium`.
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

CHROMIUM = [
    "chromium",
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--hide-scrollbars",
]
WAIT_MS = "20000"  # virtual time for MathJax and the widget manager to finish


def rendered_dom(page: Path) -> str:
    args = [*CHROMIUM, f"--virtual-time-budget={WAIT_MS}", "--dump-dom", page.as_uri()]
    return subprocess.run(
        args, capture_output=True, text=True, timeout=180, check=True
    ).stdout


def screenshot(page: Path, png: Path) -> None:
    args = [
        *CHROMIUM,
        f"--virtual-time-budget={WAIT_MS}",
        "--window-size=1280,16000",
        f"--screenshot={png}",
        page.as_uri(),
    ]
    subprocess.run(args, capture_output=True, timeout=180, check=True)


def counts(dom: str) -> dict[str, int]:
    main = dom.split('id="main-content"', 1)[-1]  # the page body, not the navigation
    return {
        "figures": len(re.findall(r"<img\b", main))
        + len(re.findall(r"<video\b", main)),
        "equations": len(re.findall(r"<mjx-container\b", main)),
        "widgets": len(
            re.findall(r'class="[^"]*\bwidget-(?:slider|hslider|vbox|hbox)\b', main)
        ),
        "unresolved": main.count("[glue"),
    }


def main(html: Path, out: Path) -> int:
    out.mkdir(parents=True, exist_ok=True)
    lines = [
        "| page | figures | equations | widgets | unresolved glue |",
        "|---|---|---|---|---|",
    ]
    for page in sorted((html / "book").glob("*.html")):
        if page.stem in ("references", "intro"):
            continue
        screenshot(page, out / f"{page.stem}.png")
        c = counts(rendered_dom(page))
        cells = [page.stem, *map(str, c.values())]
        lines.append("| " + " | ".join(cells) + " |")
    (out / "pages.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    sys.exit(main(Path(sys.argv[1]), Path(sys.argv[2])))
