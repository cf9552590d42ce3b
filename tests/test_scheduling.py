"""The order in which ``make test`` hands its work units to the pytest-xdist workers
(the root ``conftest.py``): longest first, the PDF's test by its seconds with the build
when it will build the PDF."""

from __future__ import annotations

import importlib.util
import json
import os
from pathlib import Path
from types import SimpleNamespace

import pytest

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture
def sched(monkeypatch, tmp_path):
    """The root conftest.py as a module of its own (``import conftest`` may be another),
    pointed at a book in ``tmp_path``."""
    monkeypatch.setenv("BOOK_DIR", str(tmp_path))
    monkeypatch.delenv("SITE_DIR", raising=False)
    monkeypatch.delenv("PDF_PATH", raising=False)
    spec = importlib.util.spec_from_file_location("root_conftest", ROOT / "conftest.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    (tmp_path / "_build" / "html" / "chapters").mkdir(parents=True)
    (tmp_path / "_build" / "pdf").mkdir()
    return module


def _touch(path: Path, mtime: float) -> None:
    path.write_text("x", encoding="utf-8")
    os.utime(path, (mtime, mtime))


def test_pdf_is_built_when_missing_or_older_than_a_page(sched, tmp_path, monkeypatch):
    page = tmp_path / "_build" / "html" / "chapters" / "a.html"
    pdf = tmp_path / "_build" / "pdf" / "book.pdf"
    _touch(page, 1_000_000)
    assert sched.pdf_will_be_built()  # missing
    _touch(pdf, 2_000_000)
    assert not sched.pdf_will_be_built()  # newer than every page
    _touch(page, 3_000_000)
    assert sched.pdf_will_be_built()  # a page was rebuilt after it
    monkeypatch.setenv("PDF_PATH", str(pdf))
    assert not sched.pdf_will_be_built()  # a given PDF is tested, never built


def test_known_seconds_orders_the_pdf_by_its_build_only_when_it_builds(sched):
    known = {sched.PDF_UNIT: 3.0, sched.PDF_BUILD_UNIT: 55.0, "chapters/a.ipynb": 40.0}
    assert sched.known_seconds(known, sched.PDF_UNIT, building_pdf=True) == 55.0
    assert sched.known_seconds(known, sched.PDF_UNIT, building_pdf=False) == 3.0
    assert sched.known_seconds({}, sched.PDF_UNIT, building_pdf=True) == sched.GUESS_PDF_BUILD
    assert sched.known_seconds(known, "chapters/a.ipynb", building_pdf=True) == 40.0
    assert sched.known_seconds({}, "chapters/b.ipynb", True) == sched.GUESS_NOTEBOOK
    # ordered as make test orders them: a fresh clone starts the PDF's build before the
    # 40-s notebook, a run with a current PDF leaves its 3-s test for the end
    units = ["chapters/a.ipynb", sched.PDF_UNIT, "tests/test_x.py"]
    first = sorted(units, key=lambda u: -sched.known_seconds(known, u, True))
    assert first[0] == sched.PDF_UNIT
    last = sorted(units, key=lambda u: -sched.known_seconds(known, u, False))
    assert last[-1] == "tests/test_x.py" and last[0] == "chapters/a.ipynb"


def test_the_recorder_files_a_building_run_under_the_build_key(sched, tmp_path, monkeypatch):
    durations = tmp_path / "durations.json"
    monkeypatch.setattr(sched, "DURATIONS", durations)

    session = SimpleNamespace(config=SimpleNamespace())  # the controller's: no workerinput
    for building, seconds in ((True, 50.0), (False, 2.5)):
        recorder = sched._Recorder(building_pdf=building)
        report = SimpleNamespace(nodeid=sched.PDF_UNIT + "::test_a", duration=seconds)
        recorder.pytest_runtest_logreport(report)
        recorder.pytest_sessionfinish(session)
    data = json.loads(durations.read_text(encoding="utf-8"))
    assert data == {sched.PDF_BUILD_UNIT: 50.0, sched.PDF_UNIT: 2.5}
