"""The hidden setup cell of every notebook (``scripts/notebook_setup_cell.py``).

* every notebook of the book has the setup cell, first among its code cells, tagged
  ``remove-cell`` and identical to what the script writes (run the script to fix);
* the script is idempotent and puts the cell after the title cell of a fixture;
* a notebook opened on its own works: executed by a kernel of a fresh virtual
  environment that lacks ``weightinit``, its setup cell installs the library (from a
  wheel built from this repository, through the ``WEIGHTINIT_INSTALL`` override of the
  install source) and the notebook runs to the end, drawing retina figures.
"""

from __future__ import annotations

import importlib.util
import json
import os
import shutil
import subprocess
import sys
import sysconfig
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

ROOT = Path(__file__).resolve().parent.parent
FIXTURE = ROOT / "tests" / "fixtures" / "standalone_fixture.ipynb"

_spec = importlib.util.spec_from_file_location(
    "notebook_setup_cell", ROOT / "scripts" / "notebook_setup_cell.py"
)
nsc = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(nsc)
SPEC = nsc.install_spec(ROOT)
NOTEBOOKS = nsc.book_notebooks(ROOT)


def test_install_source_is_configured_once():
    assert SPEC.startswith("weightinit"), SPEC
    assert SPEC in nsc.cell_source(SPEC)


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_every_notebook_has_the_setup_cell(path):
    nb = nbformat.read(path, as_version=4)
    status = nsc.setup_cell_status(nb, SPEC)
    assert status == "ok", (
        f"{path.name}: setup cell {status}; run `python scripts/notebook_setup_cell.py "
        f"{path.relative_to(ROOT)}` and re-execute the notebook"
    )
    cell = next(c for c in nb.cells if nsc.is_setup_cell(c))
    assert "remove-cell" in cell.metadata["tags"]
    # nothing printed when the library is installed (the book's build and nbval)
    assert not cell.get("outputs"), f"{path.name}: the setup cell has outputs"


def test_script_is_idempotent_and_detects_changes():
    nb = nbformat.read(FIXTURE, as_version=4)
    assert nsc.setup_cell_status(nb, SPEC) == "missing"
    assert nsc.apply(nb, SPEC)
    assert nb.cells[0].cell_type == "markdown" and nsc.is_setup_cell(nb.cells[1])
    assert nsc.setup_cell_status(nb, SPEC) == "ok"
    before = nbformat.writes(nb)
    assert not nsc.apply(nb, SPEC)
    assert nbformat.writes(nb) == before
    # a changed install source makes the cell outdated; applying replaces it in place
    assert nsc.setup_cell_status(nb, "weightinit==9") == "outdated"
    assert nsc.apply(nb, "weightinit==9")
    assert sum(nsc.is_setup_cell(c) for c in nb.cells) == 1
    assert "weightinit==9" in nb.cells[1].source
    # a setup cell that is not the first code cell is misplaced
    nb.cells.insert(1, nbformat.v4.new_code_cell("x = 1"))
    assert nsc.setup_cell_status(nb, "weightinit==9") == "misplaced"


def _wheel(tmp: Path) -> Path:
    """A wheel of the library, built from a copy of the sources (no build/ in the repo)."""
    src = tmp / "src"
    src.mkdir()
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(ROOT / name, src / name)
    shutil.copytree(ROOT / "code" / "weightinit", src / "code" / "weightinit",
                    ignore=shutil.ignore_patterns("__pycache__"))  # fmt: skip
    out = tmp / "wheel"
    uv = Path(sys.executable).with_name("uv")  # make setup installs it; ~1 s, pip ~4 s
    if uv.is_file():
        build = [str(uv), "build", "--wheel", "-q", "-o", str(out), str(src)]
    else:
        build = [sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(out), str(src)]
    subprocess.run(build, check=True)
    (wheel,) = out.glob("weightinit-*.whl")
    return wheel


def test_standalone_notebook_installs_the_library_in_a_fresh_venv(tmp_path):
    venv = tmp_path / "venv"
    # no pip of its own (ensurepip takes ~4 s): the setup cell's `python -m pip` is this
    # environment's pip, which installs into the running interpreter's environment
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    python = venv / "bin" / "python"
    # the fresh environment sees the tools (numpy, ipykernel, pip, ...) of this one through
    # a .pth line, but not the editable weightinit: a .pth file listed that way is not run
    purelib = subprocess.run([str(python), "-c", "import sysconfig; print(sysconfig.get_paths()"
                              "['purelib'])"], check=True, capture_output=True, text=True)  # fmt: skip
    Path(purelib.stdout.strip(), "course_tools.pth").write_text(
        sysconfig.get_paths()["purelib"] + "\n", encoding="utf-8"
    )
    probe = subprocess.run([str(python), "-c", "import weightinit"], capture_output=True)
    assert probe.returncode != 0, "the fresh environment must not have weightinit"

    # a kernel that runs the fresh environment's python
    kernels = tmp_path / "kernels" / "fresh"
    kernels.mkdir(parents=True)
    (kernels / "kernel.json").write_text(json.dumps({
        "argv": [str(python), "-m", "ipykernel_launcher", "-f", "{connection_file}"],
        "display_name": "fresh", "language": "python"}), encoding="utf-8")  # fmt: skip

    nb = nbformat.read(FIXTURE, as_version=4)
    nsc.apply(nb, SPEC)
    wheel = _wheel(tmp_path)
    env = {"JUPYTER_PATH": str(tmp_path), "WEIGHTINIT_INSTALL": str(wheel), "PIP_NO_INDEX": "1"}
    old = {k: os.environ.get(k) for k in env}
    os.environ.update(env)
    try:
        NotebookClient(nb, timeout=300, kernel_name="fresh",
                       resources={"metadata": {"path": str(tmp_path)}}).execute()  # fmt: skip
    finally:
        for k, v in old.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
    setup, work = nb.cells[1], nb.cells[2]
    printed = "".join(o.get("text", "") for o in setup.outputs)
    assert f"pip install {wheel}" in printed, setup.outputs
    assert "(288, 576)" in "".join(o.get("text", "") for o in work.outputs)
    images = [o for o in work.outputs if "image/png" in o.get("data", {})]
    assert len(images) == 1, work.outputs
    # retina: the PNG has twice the pixels of its displayed size
    meta = images[0]["metadata"]["image/png"]
    assert meta["width"] > 0 and meta["height"] > 0
    probe = subprocess.run([str(python), "-c", "import weightinit; print(weightinit.__file__)"],
                           capture_output=True, text=True, check=True)  # fmt: skip
    assert str(venv) in probe.stdout, "weightinit was not installed into the fresh environment"
