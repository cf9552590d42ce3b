"""Execute notebooks in place (fresh kernel, from the notebook's own folder) and save outputs.

Usage::

    python scripts/execute_notebooks.py                  # every chapters/*.ipynb
    python scripts/execute_notebooks.py chapters/02_zero_constant.ipynb
    python scripts/execute_notebooks.py --dry-run        # execute and time, do not save

This is how chapter outputs are produced before they are committed: ``pytest
--nbval`` later re-runs each notebook and compares with what is stored here. The
script prints the wall-clock time of each notebook, which is the per-notebook
timing of one run (budget: 30 s each, 60 s for chapter 8, on a 2-core laptop; a
notebook over its budget makes the exit status 1, its outputs are saved all the
same). Wall time includes whatever else the machine is doing: the README's table
comes from ``benchmarks/bench_book.py``, which also reports CPU time.
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import time
from pathlib import Path

import nbformat
from nbclient import NotebookClient

ROOT = Path(__file__).resolve().parent.parent
BUDGET_S = 30.0
BUDGETS_S = {"08_putting_together": 60.0}  # the closing chapter of Part I

# Small matrices: BLAS threads only contend with each other (the kernel inherits this).
for _var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")
# The stored outputs are those of OpenBLAS's Haswell kernel, the one nbval runs with
# (the Makefile and conftest.py explain why); the kernels inherit this.
if platform.machine() in ("x86_64", "AMD64"):
    os.environ.setdefault("OPENBLAS_CORETYPE", "Haswell")


def execute(path: Path, save: bool = True, timeout: int = 300) -> float:
    nb = nbformat.read(path, as_version=4)
    client = NotebookClient(
        nb,
        timeout=timeout,
        kernel_name="python3",
        resources={"metadata": {"path": str(path.parent)}},
    )
    start = time.perf_counter()
    client.execute()
    elapsed = time.perf_counter() - start
    # Keep the stored notebook free of volatile metadata.
    for cell in nb.cells:
        cell.metadata.pop("execution", None)
    if not _has_widgets(nb):
        nb.metadata.pop("widgets", None)
    if save:
        nbformat.write(nb, path)
    return elapsed


def _has_widgets(nb) -> bool:
    return any(
        "application/vnd.jupyter.widget-view+json" in out.get("data", {})
        for cell in nb.cells
        if cell.cell_type == "code"
        for out in cell.get("outputs", [])
    )


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("paths", nargs="*", type=Path)
    parser.add_argument("--dry-run", action="store_true", help="execute and time only")
    args = parser.parse_args(argv)
    paths = args.paths or sorted((ROOT / "chapters").glob("*.ipynb"))
    total, slow = 0.0, []
    for p in paths:
        t = execute(p, save=not args.dry_run)
        total += t
        over = t > BUDGETS_S.get(p.stem, BUDGET_S)
        flag = "  (over budget)" if over else ""
        print(f"{p.name:40s} {t:6.1f} s{flag}", flush=True)
        if over:
            slow.append(p.name)
    print(f"{'total':40s} {total:6.1f} s")
    return 1 if slow else 0


if __name__ == "__main__":
    sys.exit(main())
