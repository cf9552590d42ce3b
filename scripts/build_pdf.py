"""Build a PDF of the whole book for handouts: ``make pdf`` -> ``_build/pdf/book.pdf``.

1. Jupyter Book's single-page HTML build of the book (``--builder singlehtml``) with the
   book's own configuration, except that notebooks are not executed again: the stored
   outputs are the ones ``pytest --nbval`` verifies and the website shows.
2. The page is printed by the headless Chromium of the browser test (Playwright, no
   browser download), after MathJax has typeset it, with the print rules of
   ``_static/course.css``: code and tables wrap instead of being clipped, equations
   are not cut, no buttons, sidebars or download bars are printed, and exercise
   **solutions are left out** (the handout is for students; instructors have the site
   and the solved notebooks). Every folded code cell is printed open.

Usage::

    python scripts/build_pdf.py                 # build, then print
    python scripts/build_pdf.py --print-only    # print an existing single-page build
"""

from __future__ import annotations

import argparse
import functools
import http.server
import os
import subprocess
import sys
import threading
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent
BUILD = ROOT / "_build"
SOURCE_OUT = BUILD / "pdf_src"
PDF = BUILD / "pdf" / "book.pdf"
CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")


def pdf_config() -> Path:
    """The book's _config.yml with execution off and absolute local-extension paths."""
    config = yaml.safe_load((ROOT / "_config.yml").read_text(encoding="utf-8"))
    config.setdefault("execute", {})["execute_notebooks"] = "off"
    local = config.get("sphinx", {}).get("local_extensions") or {}
    for name, path in local.items():
        local[name] = str((ROOT / path).resolve())
    path = BUILD / "pdf_config.yml"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(yaml.safe_dump(config, sort_keys=False), encoding="utf-8")
    return path


def build_single_page() -> Path:
    jb = Path(sys.executable).with_name("jupyter-book")
    cmd = [str(jb), "build", str(ROOT), "--builder", "singlehtml", "--config",
           str(pdf_config()), "--path-output", str(SOURCE_OUT), "-W", "-n", "--keep-going"]  # fmt: skip
    subprocess.run(cmd, check=True)
    return SOURCE_OUT / "_build" / "singlehtml"


class _Quiet(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format, *args):
        pass


def print_pdf(site: Path, out: Path = PDF) -> Path:
    from playwright.sync_api import sync_playwright

    handler = functools.partial(_Quiet, directory=str(site))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    url = f"http://127.0.0.1:{server.server_address[1]}/index.html"
    out.parent.mkdir(parents=True, exist_ok=True)
    try:
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM,
                                        args=["--headless", "--no-sandbox", "--disable-gpu"])  # fmt: skip
            page = browser.new_page(viewport={"width": 1100, "height": 1400})
            page.route(lambda u: not u.startswith("http://127.0.0.1"),
                       lambda route: route.abort("internetdisconnected"))  # fmt: skip
            page.goto(url, wait_until="load", timeout=120_000)
            page.wait_for_function(
                "() => !document.querySelector('.math') || (window.MathJax && "
                "MathJax.startup && MathJax.startup.promise)", timeout=60_000
            )  # fmt: skip
            page.evaluate("() => window.MathJax && MathJax.startup.promise")
            page.evaluate("() => document.querySelectorAll('details').forEach(d => d.open = true)")
            page.emulate_media(media="print")
            page.pdf(path=str(out), format="A4", print_background=True,
                     margin={"top": "16mm", "bottom": "16mm", "left": "14mm", "right": "14mm"},
                     display_header_footer=True, header_template="<span></span>",
                     footer_template='<div style="font-size:8px;width:100%;text-align:center">'
                                     '<span class="pageNumber"></span> / '
                                     '<span class="totalPages"></span></div>')  # fmt: skip
            browser.close()
    finally:
        server.shutdown()
        server.server_close()
    return out


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--print-only", action="store_true", help="skip the HTML build")
    args = parser.parse_args(argv)
    site = SOURCE_OUT / "_build" / "singlehtml"
    if not args.print_only:
        site = build_single_page()
    out = print_pdf(site)
    print(f"wrote {out} ({out.stat().st_size / 1e6:.1f} MB)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
