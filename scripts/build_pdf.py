"""Build a PDF of the whole book for handouts: ``make pdf`` -> ``_build/pdf/book.pdf``.

Every page of the built website (``_build/html``, ``make book``), in the order of
``_toc.yml``, is printed by the Chromium of the browser test, Debian's headless shell
(``chromium-headless-shell``; or ``CHROMIUM``), driven by Playwright (no browser
download), after MathJax has typeset it, and the pages are joined with ``pdfunite``
(poppler-utils). The print rules of ``_static/course.css`` apply: code and
tables wrap instead of being clipped, equations are not cut, no buttons, sidebars or
download bars are printed, every folded code cell is printed open, and exercise
**solutions are left out** (the handout is for students; instructors have the site and
the solved notebooks). Each page's footer gives the page's title and its page number.

(Jupyter Book's single-page build, ``--builder singlehtml``, fails on myst-nb's folded
code cells, which have no translator for that builder; printing the pages of the
regular build avoids a second build and prints exactly what the site shows.)

Usage::

    python scripts/build_pdf.py                   # from _build/html
    python scripts/build_pdf.py --site other/html --out handout.pdf
"""

from __future__ import annotations

import argparse
import functools
import html
import http.server
import os
import subprocess
import sys
import tempfile
import threading
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent
SITE = ROOT / "_build" / "html"
PDF = ROOT / "_build" / "pdf" / "book.pdf"
# Debian's Chromium headless shell, as in the browser test (browser_tests/conftest.py)
CHROMIUM = os.environ.get("CHROMIUM", "/usr/lib/chromium/chromium-headless-shell")


def outdated(pdf: Path, site: Path) -> bool:
    """True when ``pdf`` is missing or older than a page of the built ``site``: when the
    browser test builds it (``browser_tests/test_pdf.py``; the root ``conftest.py`` orders
    that test by the build's seconds then)."""
    if not pdf.is_file():
        return True
    built = pdf.stat().st_mtime
    return any(page.stat().st_mtime > built for page in site.rglob("*.html"))


def toc_pages(root: Path = ROOT) -> list[str]:
    """Docnames of the book in reading order (the root, then every file of every part)."""
    toc = yaml.safe_load((root / "_toc.yml").read_text(encoding="utf-8"))
    pages = [toc["root"]]

    def walk(entries):
        for entry in entries or []:
            if "file" in entry:
                pages.append(entry["file"])
            walk(entry.get("sections"))

    for part in toc.get("parts", []):
        walk(part.get("chapters"))
    walk(toc.get("chapters"))
    return pages


class _Quiet(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format, *args):
        pass


def print_pdf(site: Path = SITE, out: Path = PDF, book: Path = ROOT) -> Path:
    from playwright.sync_api import sync_playwright

    if not (site / "index.html").is_file():
        raise SystemExit(f"no built site at {site}: run `make book` first")
    handler = functools.partial(_Quiet, directory=str(site))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    base = f"http://127.0.0.1:{server.server_address[1]}/"
    out.parent.mkdir(parents=True, exist_ok=True)
    parts = []
    tmp = tempfile.TemporaryDirectory()
    try:
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM,
                                        args=["--headless", "--no-sandbox", "--disable-gpu"])  # fmt: skip
            page = browser.new_page(viewport={"width": 1100, "height": 1400})
            page.route(lambda u: not u.startswith(base),
                       lambda route: route.abort("internetdisconnected"))  # fmt: skip
            for number, docname in enumerate(toc_pages(book)):
                page.goto(f"{base}{docname}.html", wait_until="load", timeout=120_000)
                page.wait_for_function(
                    "() => !document.querySelector('.math') || (window.MathJax && "
                    "MathJax.startup && MathJax.startup.promise)", timeout=60_000
                )  # fmt: skip
                page.evaluate("() => window.MathJax && MathJax.startup.promise")
                page.evaluate(
                    "() => document.querySelectorAll('details').forEach(d => d.open = true)"
                )
                page.emulate_media(media="print")
                title = html.escape(page.title())
                part = Path(tmp.name) / f"{number:03d}.pdf"
                page.pdf(path=str(part), format="A4", print_background=True,
                         margin={"top": "16mm", "bottom": "16mm", "left": "14mm", "right": "14mm"},
                         display_header_footer=True, header_template="<span></span>",
                         footer_template='<div style="font-size:8px;width:100%;text-align:center">'
                                         f'{title} &middot; <span class="pageNumber"></span></div>')  # fmt: skip
                parts.append(part)
            browser.close()
        subprocess.run(["pdfunite", *map(str, parts), str(out)], check=True)
    finally:
        server.shutdown()
        server.server_close()
        tmp.cleanup()
    return out


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--site", type=Path, default=SITE, help="the built site (_build/html)")
    parser.add_argument("--out", type=Path, default=PDF, help="the PDF to write")
    parser.add_argument("--book", type=Path, default=ROOT, help="the book (its _toc.yml)")
    args = parser.parse_args(argv)
    out = print_pdf(args.site, args.out, args.book)
    print(f"wrote {out} ({out.stat().st_size / 1e6:.1f} MB)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
