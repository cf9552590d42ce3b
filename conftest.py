"""How the one pytest run of ``make test`` is spread over pytest-xdist workers.

``make test`` runs ``pytest -n 2 --dist loadscope``: pytest-xdist hands out *work units*
(scopes), the next unit to whichever worker is nearly done. This file defines the units
and their order:

* a unit is a whole file -- a notebook under nbval (its cells share one kernel), a test
  module (its module-scoped fixtures are computed once) -- except for the tests of
  ``browser_tests/test_pages_*.py``: each of those opens its own browser context, so
  each page at each screen size is a unit of its own (``pytest_xdist_make_scheduler``);
* the units are ordered longest first (their seconds in ``.ci/durations.json``; a unit
  missing there gets a guess by kind), so that the long ones start early and the two
  workers finish within seconds of each other (``pytest_collection_modifyitems``).

(``--dist loadgroup`` with ``xdist_group`` marks would be the usual way, but
pytest-xdist 3.8 marks a test's group by setting ``item._nodeid``, which pytest 9 no
longer reads: every test would become a unit of its own and a notebook's cells would
run on two workers.)

This only orders and groups: every test runs, exactly as before. Without pytest-xdist
(``pytest tests/test_x.py``) only the order of the files changes.

``pytest ... --store-durations`` updates ``.ci/durations.json`` with the units of the run
(the seconds of each: setup, call and teardown of its tests; the other units are kept).
Stale numbers cost only balance, never a test.
"""

from __future__ import annotations

import json
import os
import platform
from collections import defaultdict
from pathlib import Path

# nbval compares with outputs computed by OpenBLAS's Haswell kernel; its AVX-512 kernel
# rounds float32 sums differently (see the Makefile). Set before numpy is first imported:
# this process's tests, the xdist workers and the notebook kernels all inherit it.
if platform.machine() in ("x86_64", "AMD64"):
    os.environ.setdefault("OPENBLAS_CORETYPE", "Haswell")
# One BLAS thread per process, as the Makefile sets: with two workers of two threads each
# on a 2-core machine the threads fight, and the bit-for-bit tests of float32 training
# (tests/test_exact_training.py) compare products whose sums OpenBLAS splits otherwise
# when it threads them. `pytest` run by hand thus behaves as `make test`.
for _var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

ROOT = Path(__file__).resolve().parent
DURATIONS = ROOT / ".ci" / "durations.json"
#: tests that are units of their own (one page at one screen size each)
SPLIT = ("browser_tests/test_pages_laptop.py", "browser_tests/test_pages_phone.py")
#: guesses (seconds) for units missing from DURATIONS
GUESS_NOTEBOOK = 20.0
GUESS_PAGE = 12.0
GUESS_OTHER = 2.0


def unit_of(nodeid: str) -> str:
    """The work unit of a test: its file, or the test itself for a page test."""
    path = nodeid.split("::", 1)[0]
    return nodeid if path in SPLIT else path


def _guess(unit: str) -> float:
    if unit.endswith(".ipynb"):
        return GUESS_NOTEBOOK
    if unit.split("::", 1)[0] in SPLIT:
        return GUESS_PAGE
    return GUESS_OTHER


def pytest_addoption(parser):
    parser.addoption(
        "--store-durations",
        action="store_true",
        help=f"update {DURATIONS.relative_to(ROOT)} with the seconds of the work units of this run",
    )


def pytest_collection_modifyitems(config, items):
    try:
        known = json.loads(DURATIONS.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        known = {}
    units: dict[str, list] = {}
    for item in items:
        unit = unit_of(item.nodeid)
        units.setdefault(unit, []).append(item)
    # longest first; the order of the tests within a unit is kept (sorted() is stable)
    order = sorted(units, key=lambda u: -float(known.get(u, _guess(u))))
    items[:] = [item for unit in order for item in units[unit]]


class _Recorder:
    def __init__(self):
        self.seconds = defaultdict(float)

    def pytest_runtest_logreport(self, report):
        self.seconds[unit_of(report.nodeid)] += report.duration

    def pytest_sessionfinish(self, session):
        if hasattr(session.config, "workerinput") or not self.seconds:
            return  # a pytest-xdist worker: the controller writes the file
        try:
            data = json.loads(DURATIONS.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            data = {}
        data.update((u, round(s, 1)) for u, s in self.seconds.items())
        data = dict(sorted(data.items(), key=lambda kv: (-kv[1], kv[0])))
        DURATIONS.write_text(json.dumps(data, indent=0) + "\n", encoding="utf-8")


def pytest_configure(config):
    if config.getoption("store_durations"):
        config.pluginmanager.register(_Recorder(), "weightinit-durations")


def pytest_xdist_make_scheduler(config, log):
    """``--dist loadscope`` with the units of :func:`unit_of`, in collection order."""
    if config.getvalue("dist") != "loadscope":
        return None
    from xdist.scheduler import LoadScopeScheduling

    class UnitScheduling(LoadScopeScheduling):
        def _split_scope(self, nodeid: str) -> str:
            return unit_of(nodeid)

    config.option.loadscopereorder = False  # keep the longest-first order
    return UnitScheduling(config, log)
