"""The handout PDF of the whole book (``make pdf`` -> ``_build/pdf/book.pdf``).

* it exists and has more pages than the book has pages of the table of contents;
* its text (``pdftotext``) contains the title of every page of ``_toc.yml``, in
  reading order, and no "Click to show"/"Show code cell" button text;
* no line of an exercise solution is in it (the handout leaves solutions out);
* a few pages render with ``pdftoppm`` to images that are neither blank nor black: the
  first and one in the middle (full pages: at least 0.3 % dark pixels at 60 dpi) and the
  last (which may hold only the end of a chapter: some dark pixels and some text).

The PDF is built here (``scripts/build_pdf.py``, what ``make pdf`` runs) when it is
missing or older than a page of the built site, so that ``make test`` builds it on a
pytest-xdist worker while the other worker runs other tests. ``PDF_PATH`` overrides the
file (then it must exist: it is tested, not built); ``pdftotext``/``pdftoppm``/``pdfinfo``
come from Debian's poppler-utils (``scripts/install_browser.sh``).
"""

from __future__ import annotations

import importlib.util
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from book_pages import normalize, solution_lines
from checks import BOOK, PAGES
from conftest import BOOK_DIR, ROOT

PDF = Path(os.environ.get("PDF_PATH", BOOK_DIR / "_build" / "pdf" / "book.pdf"))


_spec = importlib.util.spec_from_file_location("build_pdf", ROOT / "scripts" / "build_pdf.py")
build_pdf = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(build_pdf)


@pytest.fixture(scope="module")
def pdf(site_dir) -> Path:
    if "PDF_PATH" in os.environ:
        if not PDF.is_file():
            pytest.fail(f"no PDF at {PDF} (PDF_PATH)", pytrace=False)
        return PDF
    if build_pdf.outdated(PDF, site_dir):
        build = subprocess.run(
            [sys.executable, str(ROOT / "scripts" / "build_pdf.py"), "--site", str(site_dir),
             "--out", str(PDF), "--book", str(BOOK_DIR)],
            capture_output=True, text=True, check=False, timeout=900,
        )  # fmt: skip
        if build.returncode != 0:
            pytest.fail(f"building the PDF failed:\n{build.stdout[-3000:]}{build.stderr[-3000:]}",
                        pytrace=False)  # fmt: skip
    return PDF


def _pages(pdf: Path) -> int:
    info = subprocess.run(["pdfinfo", str(pdf)], capture_output=True, text=True, check=True)
    return int(re.search(r"^Pages:\s+(\d+)", info.stdout, re.MULTILINE).group(1))


def test_pdf_has_every_page_in_order(pdf):
    n = _pages(pdf)
    assert n > len(PAGES), f"{n} PDF pages for {len(PAGES)} pages of the book"
    raw = subprocess.run(["pdftotext", "-layout", str(pdf), "-"], capture_output=True,
                         text=True, check=True).stdout  # fmt: skip
    text = normalize(raw)
    pos = 0
    for page in PAGES:
        words = [w for w in re.split(r"[^\w]+", page.title) if len(w) > 2][:4]
        pattern = r"\W+(?:\S+\W+){0,2}".join(re.escape(w) for w in words)
        found = re.compile(pattern, re.IGNORECASE).search(text, pos)
        assert found, f"{page.docname}: title {page.title!r} not found (after offset {pos})"
        pos = found.end()
    for button in ("Click to show", "Show code cell", "Hide code cell"):
        assert button not in text, f"the PDF prints the button text {button!r}"
    assert BOOK.title.split()[0] in text
    # the handout leaves the solutions out (a line counts when no other page has it)
    sources = {p.docname: p.source.read_text(encoding="utf-8") for p in PAGES}
    for page in PAGES:
        if page.source.suffix != ".ipynb":
            continue
        nb = json.loads(sources[page.docname])
        others = normalize(
            "\n".join(
                "".join(c["source"])
                for d, src in sources.items()
                if d != page.docname and src.lstrip().startswith("{")
                for c in json.loads(src)["cells"]
            )
        )
        leaked = [
            s for s in solution_lines(nb) if normalize(s) not in others and normalize(s) in text
        ]
        assert not leaked, f"{page.docname}: solution lines in the PDF: {leaked[:3]}"


def _ink(pgm: bytes) -> float:
    """Fraction of dark pixels of a binary PGM (P5) image."""
    header = re.match(rb"P5\s+(\d+)\s+(\d+)\s+(\d+)\s", pgm)
    w, h = int(header.group(1)), int(header.group(2))
    pixels = pgm[header.end() : header.end() + w * h]
    return sum(1 for b in pixels if b < 200) / max(1, len(pixels))


def test_pdf_pages_render(pdf, tmp_path):
    n = _pages(pdf)
    for number in sorted({1, n // 2, n}):
        prefix = tmp_path / f"p{number}"
        subprocess.run(["pdftoppm", "-f", str(number), "-l", str(number), "-r", "60", "-gray",
                        str(pdf), str(prefix)], check=True)  # fmt: skip
        (image,) = tmp_path.glob(f"p{number}*.pgm")
        ink = _ink(image.read_bytes())
        # the last page may carry a single line (the end of the bibliography)
        low = 0.003 if number < n else 0.0005
        assert low < ink < 0.6, f"page {number} looks blank or black: {ink:.3%} dark pixels"
        text = subprocess.run(["pdftotext", "-f", str(number), "-l", str(number), str(pdf), "-"],
                              check=True, capture_output=True, text=True).stdout  # fmt: skip
        assert len(text.split()) >= 5, f"page {number} has no text: {text!r}"
        subprocess.run(["pdftoppm", "-f", str(number), "-l", str(number), "-r", "60", "-png",
                        str(pdf), str(pdf.parent / f"page-{number}")], check=True)  # fmt: skip
