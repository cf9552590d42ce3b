"""Execution time of every notebook of the book, and of the whole book, on this machine.

Usage::

    python benchmarks/bench_book.py                 # every chapters/*.ipynb, 2 at a time
    python benchmarks/bench_book.py --jobs 1        # one after the other
    python benchmarks/bench_book.py chapters/07_he.ipynb chapters/08_putting_together.ipynb

Each notebook runs top to bottom in a fresh kernel from its own folder (as
``scripts/execute_notebooks.py`` does, but nothing is saved), in a process of its own
with single-threaded BLAS (as the Makefile sets). For each notebook the script reports

* the **CPU time** (user + system) of that process and the kernel it started: what the
  notebook costs on an idle core, whatever else the machine is doing;
* the **wall time**, which equals the CPU time on an idle machine and is inflated by any
  other load (the load average is printed before and after).

Then the totals: the **sum of the CPU times** (the time one core needs for the whole
book) and the **wall time of the whole run** with ``--jobs`` notebooks at a time (the
time the book takes on this machine; with two cores, two at a time). The budgets are
the project's: 30 s per notebook, 60 s for the closing chapter of Part I, 180 s for the
whole book; a row over its budget is marked ✘. The longest notebooks start first (by the
CPU times of the previous run, kept in ``_build/bench_book.json``, else by name).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BUDGET_S = 30.0
BUDGETS_S = {"08_putting_together": 60.0}  # the closing chapter of Part I
BOOK_BUDGET_S = 180.0
LAST = ROOT / "_build" / "bench_book.json"

# The child: execute one notebook (no save) from its own folder.
CHILD = """
import sys
import nbformat
from nbclient import NotebookClient
path = sys.argv[1]
nb = nbformat.read(path, as_version=4)
NotebookClient(nb, timeout=600, kernel_name="python3",
               resources={"metadata": {"path": sys.argv[2]}}).execute()
"""


def run_one(path: Path) -> tuple[float, float]:
    """CPU seconds (the process and the kernel it waited for) and wall seconds."""
    env = dict(os.environ)
    for var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
        env.setdefault(var, "1")
    start = time.perf_counter()
    proc = subprocess.Popen(
        [sys.executable, "-c", CHILD, str(path), str(path.parent)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - start
    proc.returncode = os.waitstatus_to_exitcode(status)
    err = proc.stderr.read().decode(errors="replace") if proc.stderr else ""
    if proc.returncode != 0:
        raise RuntimeError(f"{path.name} failed (exit {proc.returncode}):\n{err[-3000:]}")
    # ru_* of wait4 include the children this process waited for: the kernel
    return usage.ru_utime + usage.ru_stime, wall


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("notebooks", nargs="*", type=Path)
    parser.add_argument("--jobs", type=int, default=2, help="notebooks at a time (default 2)")
    args = parser.parse_args(argv)
    if args.jobs < 1:
        parser.error(f"--jobs must be >= 1, got {args.jobs}")
    paths = [p.resolve() for p in args.notebooks] or sorted((ROOT / "chapters").glob("*.ipynb"))
    last = json.loads(LAST.read_text()) if LAST.exists() else {}
    order = sorted(paths, key=lambda p: (-last.get(p.stem, 0.0), p.name))

    load0 = os.getloadavg()
    start = time.perf_counter()
    with ThreadPoolExecutor(max_workers=args.jobs) as pool:
        results = dict(zip(order, pool.map(run_one, order), strict=True))
    total_wall = time.perf_counter() - start
    load1 = os.getloadavg()

    print(f"{'notebook':<32} {'CPU s':>7} {'wall s':>7} {'budget s':>9}")
    for p in paths:
        cpu, wall = results[p]
        budget = BUDGETS_S.get(p.stem, BUDGET_S)
        mark = "" if cpu <= budget else " ✘"
        print(f"{p.stem:<32} {cpu:7.1f} {wall:7.1f} {budget:9.0f}{mark}")
    cpu_sum = sum(c for c, _ in results.values())
    for name, value in (("CPU, one core", cpu_sum), (f"wall, {args.jobs} at a time", total_wall)):
        mark = "" if value <= BOOK_BUDGET_S else " ✘"
        print(f"{'book: ' + name:<32} {value:7.1f} {'':>7} {BOOK_BUDGET_S:9.0f}{mark}")
    print(f"load average (1 min) before {load0[0]:.2f}, after {load1[0]:.2f}; "
          f"{os.cpu_count()} CPUs")  # fmt: skip
    if not args.notebooks:
        LAST.parent.mkdir(exist_ok=True)
        LAST.write_text(json.dumps({p.stem: round(c, 2) for p, (c, _) in results.items()}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
