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
  workers finish within seconds of each other (``pytest_collection_modifyitems``);
* ``browser_tests/test_pdf.py`` builds the handout PDF when it is missing or older than
  the site, as on every fresh clone: it is then ordered by its seconds *with* the build
  (the key ``"browser_tests/test_pdf.py (building the PDF)"``), otherwise by its seconds
  without (``known_seconds``).

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

import importlib.util
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
#: the PDF's test, and the key of its seconds when it builds the PDF (see known_seconds)
PDF_UNIT = "browser_tests/test_pdf.py"
PDF_BUILD_UNIT = PDF_UNIT + " (building the PDF)"
GUESS_PDF_BUILD = 60.0


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


def _pdf_paths() -> tuple[Path, Path]:
    """The handout PDF and the site it is printed from, as ``browser_tests`` finds them."""
    book = Path(os.environ.get("BOOK_DIR", ROOT)).resolve()
    site = Path(os.environ.get("SITE_DIR", book / "_build" / "html"))
    return book / "_build" / "pdf" / "book.pdf", site


def pdf_will_be_built() -> bool:
    """True when ``browser_tests/test_pdf.py`` will build the PDF in this run: it is
    outdated (``scripts/build_pdf.py``'s ``outdated``: missing or older than a page of the
    built site), and ``PDF_PATH`` does not name one to test instead."""
    if "PDF_PATH" in os.environ:
        return False
    spec = importlib.util.spec_from_file_location("build_pdf", ROOT / "scripts" / "build_pdf.py")
    build_pdf = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(build_pdf)
    return build_pdf.outdated(*_pdf_paths())


def known_seconds(known: dict, unit: str, building_pdf: bool) -> float:
    """A unit's seconds for the order: its record, or a guess by kind. The PDF's test has
    two records: with the build (on a fresh clone the PDF is always built, ~50 s of
    Chromium) and without; ordered by the short one, the build started among the last
    units and the other worker waited for it at the end of the run."""
    if unit == PDF_UNIT and building_pdf:
        return float(known.get(PDF_BUILD_UNIT, GUESS_PDF_BUILD))
    return float(known.get(unit, _guess(unit)))


def pytest_collection_modifyitems(config, items):
    try:
        known = json.loads(DURATIONS.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        known = {}
    units: dict[str, list] = {}
    for item in items:
        unit = unit_of(item.nodeid)
        units.setdefault(unit, []).append(item)
    building = PDF_UNIT in units and pdf_will_be_built()
    # longest first; the order of the tests within a unit is kept (sorted() is stable)
    order = sorted(units, key=lambda u: -known_seconds(known, u, building))
    items[:] = [item for unit in order for item in units[unit]]


class _Recorder:
    def __init__(self, building_pdf: bool):
        self.seconds = defaultdict(float)
        #: whether the PDF was outdated when the run began (its test then built it)
        self.building_pdf = building_pdf

    def pytest_runtest_logreport(self, report):
        self.seconds[unit_of(report.nodeid)] += report.duration

    def pytest_sessionfinish(self, session):
        if hasattr(session.config, "workerinput") or not self.seconds:
            return  # a pytest-xdist worker: the controller writes the file
        try:
            data = json.loads(DURATIONS.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            data = {}
        seconds = dict(self.seconds)
        if PDF_UNIT in seconds and self.building_pdf:
            seconds[PDF_BUILD_UNIT] = seconds.pop(PDF_UNIT)
        data.update((u, round(s, 1)) for u, s in seconds.items())
        data = dict(sorted(data.items(), key=lambda kv: (-kv[1], kv[0])))
        DURATIONS.write_text(json.dumps(data, indent=0) + "\n", encoding="utf-8")


def pytest_configure(config):
    if config.getoption("store_durations"):
        # decided before any test runs (test_pdf.py then builds the PDF, if outdated)
        recorder = _Recorder(building_pdf=pdf_will_be_built())
        config.pluginmanager.register(recorder, "weightinit-durations")


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
