"""Build the fixture book of the browser test into ``_build/fixture_book``.

The browser test's assertions about chapters (captioned figures, nothing wider than
the column, one exercise pattern, a student download without solutions...) can only
pass on chapters written to ``CONTRIBUTING.md``. This small book,
``browser_tests/fixture_book/`` (a home page, one chapter, the bibliography), is built
with the course's own ``_config.yml``, ``_static/``, ``_ext/``, ``_templates/``,
``_vendor/``, ``references.bib`` and student-edition script, so the same tests can be
run on a page known to follow the conventions::

    .venv/bin/python browser_tests/build_fixture_book.py
    BOOK_DIR=_build/fixture_book SITE_DIR=_build/fixture_book/_build/html \\
        .venv/bin/pytest browser_tests

The chapter, stored without outputs, is executed during the build (a few seconds: the
copied ``_config.yml`` says ``execute_notebooks: force``, where the course's builds from
the committed outputs); the script then prints the fixture book's PDF
(``scripts/build_pdf.py``) for ``test_pdf.py``.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent
SOURCE = Path(__file__).resolve().parent / "fixture_book"
OUT = ROOT / "_build" / "fixture_book"
SHARED = ["_config.yml", "references.bib", "_static", "_ext", "_templates", "_vendor", "scripts"]


def assemble(out: Path = OUT) -> Path:
    shutil.rmtree(out, ignore_errors=True)
    shutil.copytree(SOURCE, out)
    for name in SHARED:
        src = ROOT / name
        if src.is_dir():
            shutil.copytree(src, out / name, ignore=shutil.ignore_patterns("__pycache__"))
        else:
            shutil.copy2(src, out / name)
    # the fixture chapter is stored without outputs: execute it while building
    config_path = out / "_config.yml"
    config = yaml.safe_load(config_path.read_text(encoding="utf-8"))
    config.setdefault("execute", {})["execute_notebooks"] = "force"
    config_path.write_text(yaml.safe_dump(config, sort_keys=False), encoding="utf-8")
    return out


def main() -> int:
    book = assemble()
    jb = Path(sys.executable).with_name("jupyter-book")
    cmd = [str(jb), "build", str(book), "-W", "-n", "--keep-going"]
    code = subprocess.run(cmd, check=False).returncode
    if code:
        return code
    # and its handout PDF, for test_pdf.py
    pdf = [sys.executable, str(ROOT / "scripts" / "build_pdf.py"), "--site",
           str(book / "_build" / "html"), "--out", str(book / "_build" / "pdf" / "book.pdf"),
           "--book", str(book)]  # fmt: skip
    return subprocess.run(pdf, check=False).returncode


if __name__ == "__main__":
    sys.exit(main())
