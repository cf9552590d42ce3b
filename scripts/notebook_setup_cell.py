"""Insert or update the hidden setup cell at the top of every notebook of the course.

Usage::

    python scripts/notebook_setup_cell.py                 # every notebook of _toc.yml
    python scripts/notebook_setup_cell.py chapters/07_he.ipynb
    python scripts/notebook_setup_cell.py --check         # exit 1 if a notebook lacks it

A notebook opened on its own (downloaded, on Colab, on Binder) has no ``weightinit``
installed. Its first code cell therefore

* installs the library with ``pip`` when ``import weightinit`` fails, from ONE
  configurable place: ``[tool.weightinit-course] install`` in ``pyproject.toml`` (a pip
  requirement: by default the course repository's git URL; a wheel's URL or a local
  path work too). At run time the environment variable ``WEIGHTINIT_INSTALL``
  overrides it (the test installs from a local path that way);
* applies the course's figure style (:func:`weightinit.plots.use_style`) and sets the
  inline backend to ``retina`` PNGs: sharp on HiDPI screens, and ignored by nbval,
  which compares text but not PNG bytes, so outputs stay deterministic.

The cell is tagged ``remove-cell``: myst-nb executes it when the book is built but does
not show it on the website, while the notebook file (the download button, Colab,
Binder) keeps it. It is marked with ``"weightinit": {"role": "setup"}`` in its
metadata; running the script again replaces it in place, so the script is idempotent.
When the library is installed, the cell prints nothing.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import nbformat
import tomllib
import yaml

ROOT = Path(__file__).resolve().parent.parent
ROLE = "setup"
TAGS = ["remove-cell"]
ENV_VAR = "WEIGHTINIT_INSTALL"
FIGURE_FORMAT = "retina"

TEMPLATE = """\
# Setup, hidden on the website: installs the course library when it is missing
# (Colab, Binder, a downloaded notebook) and sets the figure style. Written by
# scripts/notebook_setup_cell.py; the install source is set in pyproject.toml.
import importlib.util
import os
import subprocess
import sys

if importlib.util.find_spec("weightinit") is None:
    _spec = os.environ.get({env!r}, {spec!r})
    print(f"installing the course library: pip install {{_spec}}")
    subprocess.run([sys.executable, "-m", "pip", "install", "-q", _spec], check=True)
    importlib.invalidate_caches()

import weightinit.plots

weightinit.plots.use_style()
%config InlineBackend.figure_formats = [{fmt!r}]"""


def install_spec(root: Path = ROOT) -> str:
    """The pip requirement the setup cell installs (``pyproject.toml``)."""
    data = tomllib.loads((root / "pyproject.toml").read_text(encoding="utf-8"))
    try:
        spec = data["tool"]["weightinit-course"]["install"]
    except KeyError as exc:
        raise SystemExit(
            "pyproject.toml has no [tool.weightinit-course] install = '...' "
            "(the pip requirement notebooks install the library from)"
        ) from exc
    if not isinstance(spec, str) or not spec.strip():
        raise SystemExit("[tool.weightinit-course] install must be a non-empty string")
    return spec.strip()


def cell_source(spec: str) -> str:
    return TEMPLATE.format(env=ENV_VAR, spec=spec, fmt=FIGURE_FORMAT)


def is_setup_cell(cell) -> bool:
    meta = cell.get("metadata", {}).get("weightinit", {})
    return cell.get("cell_type") == "code" and meta.get("role") == ROLE


def setup_cell_status(nb, spec: str) -> str:
    """``"ok"``, ``"missing"``, ``"outdated"`` (wrong source or tags) or ``"misplaced"``."""
    code = [c for c in nb.cells if c.cell_type == "code"]
    setups = [c for c in nb.cells if is_setup_cell(c)]
    if not setups:
        return "missing"
    if len(setups) > 1 or not code or not is_setup_cell(code[0]):
        return "misplaced"
    cell = setups[0]
    tags = cell.metadata.get("tags", [])
    if cell.source != cell_source(spec) or not all(t in tags for t in TAGS):
        return "outdated"
    return "ok"


def apply(nb, spec: str) -> bool:
    """Put the setup cell first among the code cells (after leading markdown); True if changed."""
    if setup_cell_status(nb, spec) == "ok":
        return False
    old = [c for c in nb.cells if is_setup_cell(c)]
    outputs = old[0].outputs if old else []
    cell = nbformat.v4.new_code_cell(cell_source(spec))
    if old:
        cell.id = old[0].get("id", cell.id)
        cell.execution_count = old[0].get("execution_count")
    cell.outputs = outputs
    cell.metadata = {"tags": list(TAGS), "weightinit": {"role": ROLE}}
    nb.cells = [c for c in nb.cells if not is_setup_cell(c)]
    # after the leading markdown cells (the title cell stays first: the page's title)
    index = next((i for i, c in enumerate(nb.cells) if c.cell_type == "code"), len(nb.cells))
    nb.cells.insert(index, cell)
    return True


def book_notebooks(root: Path = ROOT) -> list[Path]:
    """Every notebook that ``_toc.yml`` lists, in reading order."""
    toc = yaml.safe_load((root / "_toc.yml").read_text(encoding="utf-8"))
    files = [toc["root"]]

    def walk(entries):
        for entry in entries or []:
            if "file" in entry:
                files.append(entry["file"])
            walk(entry.get("sections"))

    for part in toc.get("parts", []):
        walk(part.get("chapters"))
    walk(toc.get("chapters"))
    return [root / f"{f}.ipynb" for f in files if (root / f"{f}.ipynb").is_file()]


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("paths", nargs="*", type=Path, help="default: every notebook of _toc.yml")
    parser.add_argument("--check", action="store_true", help="change nothing; exit 1 if needed")
    args = parser.parse_args(argv)
    spec = install_spec()
    paths = args.paths or book_notebooks()
    bad = 0
    for path in paths:
        nb = nbformat.read(path, as_version=4)
        status = setup_cell_status(nb, spec)
        if args.check:
            if status != "ok":
                print(f"{path}: setup cell {status}")
                bad += 1
            continue
        if apply(nb, spec):
            nbformat.write(nb, path)
            print(f"{path}: setup cell {'added' if status == 'missing' else 'updated'}")
    if args.check and bad:
        print("run: python scripts/notebook_setup_cell.py", file=sys.stderr)
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
