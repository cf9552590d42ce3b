"""benchmarks/bench_book.py: the notebook timing the README reports."""

import importlib.util
from pathlib import Path

import nbformat
import pytest

ROOT = Path(__file__).resolve().parent.parent
_spec = importlib.util.spec_from_file_location("bench_book", ROOT / "benchmarks" / "bench_book.py")
bench_book = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(bench_book)


def _notebook(path: Path, source: str) -> Path:
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell(source)]
    nbformat.write(nb, path)
    return path


def test_cpu_time_counts_the_kernel(tmp_path):
    # the work is done in the kernel, a child of the timed process: it must be counted
    # (the runner alone, without the kernel, takes well under 1.5 s of CPU)
    busy = _notebook(tmp_path / "busy.ipynb", "import time\nt = time.process_time()\n"
                     "while time.process_time() - t < 1.5:\n    pass")  # fmt: skip
    cpu, wall = bench_book.run_one(busy)
    assert cpu >= 1.5
    assert wall >= 1.5


def test_a_failing_notebook_is_an_error(tmp_path):
    bad = _notebook(tmp_path / "bad.ipynb", "raise ValueError('boom')")
    with pytest.raises(RuntimeError, match=r"bad\.ipynb failed"):
        bench_book.run_one(bad)


def test_report(tmp_path, capsys):
    nb = _notebook(tmp_path / "08_putting_together.ipynb", "print(1)")
    assert bench_book.main([str(nb), "--jobs", "1"]) == 0
    out = capsys.readouterr().out
    assert "08_putting_together" in out and " 60" in out  # the closing chapter's budget
    assert "book: CPU, one core" in out and "book: wall, 1 at a time" in out
    with pytest.raises(SystemExit):
        bench_book.main([str(nb), "--jobs", "0"])
