"""Tests for the student edition (``scripts/make_student_edition.py``).

Three promises are checked, on a small fixture notebook made for this test
(``tests/fixtures/exercise_fixture.ipynb``, one exercise of each kind) and on
every chapter of the book:

(a) no solution leaks: no line of an instructor solution (code between the
    markers, or the text of a ``{solution}`` block) appears in the student copy,
    unless the same line is also part of the public text of the notebook;
(b) the student copy executes up to the stubs: executed with nbclient, either no
    cell fails or the first failure is the ``NotImplementedError`` of a stub;
(c) the stubs fail their checks (the check cell after each exercise prints a FAIL
    verdict in the executed student copy) while the instructor solutions pass them
    (the same cell shows a PASS verdict in the stored instructor notebook, which
    ``pytest --nbval`` reproduces).

Every chapter from 02 on must have at least one programming exercise.
"""

from __future__ import annotations

import csv
import importlib.util
import json
import re
import shutil
from pathlib import Path

import nbformat
import pytest
import yaml
from nbclient import NotebookClient

ROOT = Path(__file__).resolve().parent.parent
FIXTURE = ROOT / "tests" / "fixtures" / "exercise_fixture.ipynb"

_spec = importlib.util.spec_from_file_location(
    "make_student_edition", ROOT / "scripts" / "make_student_edition.py"
)
mse = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(mse)


# --------------------------------------------------------------------------- the book's chapters
def _toc_files() -> list[str]:
    toc = yaml.safe_load((ROOT / "_toc.yml").read_text(encoding="utf-8"))
    files = []
    for part in toc.get("parts", []):
        for entry in part.get("chapters", []):
            files.append(entry["file"])
    return files


def _chapter_number(file: str) -> int | None:
    m = re.match(r"chapters/(\d\d)_", file)
    return int(m.group(1)) if m else None


#: Chapters that must have a programming exercise: every numbered chapter from 02 on.
EXERCISE_CHAPTERS = [f for f in _toc_files() if (_chapter_number(f) or 0) >= 2]
#: Every notebook of the book that has exercises, and the fixture.
EXERCISE_NOTEBOOKS = [FIXTURE] + [
    p
    for f in _toc_files()
    if (p := ROOT / (f + ".ipynb")).exists()
    and any(mse.is_solution_cell(c) for c in nbformat.read(p, as_version=4).cells)
]


def _id(path: Path) -> str:
    return path.stem


# --------------------------------------------------------------------------- helpers
def _exercises(nb) -> list[tuple[int, int | None]]:
    """(solution cell index, index of its check cell or None) for each exercise.

    The check cell is the first code cell after the solution cell that calls a
    check, before the next solution cell.
    """
    out = []
    for i, cell in enumerate(nb.cells):
        if not mse.is_solution_cell(cell):
            continue
        check = None
        for j in range(i + 1, len(nb.cells)):
            if mse.is_solution_cell(nb.cells[j]):
                break
            if mse.calls_check(nb.cells[j]):
                check = j
                break
        out.append((i, check))
    return out


def _stdout(cell) -> str:
    return "".join(o.get("text", "") for o in cell.get("outputs", []) if o.output_type == "stream")


def _verdicts(cell) -> list[str]:
    return [
        line.split(":")[0]
        for line in _stdout(cell).splitlines()
        if line.startswith(("PASS:", "FAIL:"))
    ]


def _lines(text: str) -> set[str]:
    return {line.strip() for line in text.splitlines() if line.strip()}


def _secret_and_public(nb) -> tuple[set[str], set[str]]:
    """Lines only the instructor may see, and lines of the public part of a notebook."""
    secret: set[str] = set()
    public: set[str] = set()
    for cell in nb.cells:
        if mse.is_solution_cell(cell):
            body = mse.solution_bodies(cell.source)
            secret |= _lines("\n".join(body))
            public |= _lines(cell.source) - _lines("\n".join(body))
            continue
        if cell.cell_type == "markdown":
            kept = mse.strip_solutions(cell.source)
            secret |= _lines(cell.source) - _lines(kept)
            public |= _lines(kept)
        else:
            public |= _lines(cell.source)
            if not mse.calls_check(cell):
                for o in cell.get("outputs", []):
                    public |= _lines(o.get("text", ""))
                    public |= _lines(str(o.get("data", {}).get("text/plain", "")))
    return secret - public, public


def _student_lines(nb) -> set[str]:
    lines: set[str] = set()
    for cell in nb.cells:
        lines |= _lines(cell.source)
        for o in cell.get("outputs", []):
            lines |= _lines(o.get("text", ""))
            lines |= _lines(str(o.get("data", {}).get("text/plain", "")))
    return lines


def _student_copy(nb_path: Path):
    nb = nbformat.read(nb_path, as_version=4)
    return mse.convert_notebook(nb, nb_path.name)


def _make_source(tmp_path: Path) -> Path:
    """A small course tree: the real top-level files, the fixture and an instructors page."""
    src = tmp_path / "course"
    (src / "chapters" / "figures").mkdir(parents=True)
    for name in mse.TOP_FILES:
        shutil.copy(ROOT / name, src / name)
    shutil.copy(FIXTURE, src / "chapters" / FIXTURE.name)
    (src / "chapters" / "instructors.md").write_text(
        "(instructors)=\n# For instructors\n\nSECRET-INSTRUCTORS-PAGE\n", encoding="utf-8"
    )
    (src / "chapters" / "notes.md").write_text(
        "# Notes\n\n```{solution} ex-x\nSECRET-MD-PAGE\n```\n\nEnd.\n", encoding="utf-8"
    )
    (src / "chapters" / "figures" / "a.png").write_bytes(b"\x89PNG fake")
    return src


def _tree(path: Path) -> dict[str, bytes]:
    return {
        p.relative_to(path).as_posix(): p.read_bytes()
        for p in sorted(path.rglob("*"))
        if p.is_file()
    }


# --------------------------------------------------------------------------- unit: code cells
def test_stub_keeps_signature_markers_and_indentation():
    src = (
        "def f(x):\n"
        '    """Doc."""\n'
        "    # BEGIN SOLUTION\n"
        "    y = 2 * x\n"
        "    return y\n"
        "    # END SOLUTION\n"
        "\n"
        "# BEGIN SOLUTION\n"
        "z = f(1)\n"
        "# END SOLUTION"
    )
    assert mse.stub_source(src) == (
        "def f(x):\n"
        '    """Doc."""\n'
        "    # BEGIN SOLUTION\n"
        f"    {mse.STUB}\n"
        "    # END SOLUTION\n"
        "\n"
        "# BEGIN SOLUTION\n"
        f"{mse.STUB}\n"
        "# END SOLUTION"
    )
    assert mse.solution_bodies(src) == ["    y = 2 * x", "    return y", "z = f(1)"]


def test_stub_without_markers_replaces_the_cell():
    assert mse.stub_source("x = 1\nprint(x)") == mse.STUB_CELL
    compile(mse.STUB_CELL, "stub", "exec")


def test_stub_is_idempotent():
    src = "def f():\n    # BEGIN SOLUTION\n    return 1\n    # END SOLUTION"
    once = mse.stub_source(src)
    assert mse.stub_source(once) == once
    compile(once, "stub", "exec")


@pytest.mark.parametrize(
    "src",
    [
        "# BEGIN SOLUTION\nx = 1",
        "x = 1\n# END SOLUTION",
        "# BEGIN SOLUTION\n# BEGIN SOLUTION\nx\n# END SOLUTION",
        "# BEGIN SOLUTION\nx\n# END SOLUTION\n# END SOLUTION",
    ],
)
def test_unbalanced_markers_are_an_error(src):
    with pytest.raises(mse.EditionError):
        mse.stub_source(src)


# --------------------------------------------------------------------------- unit: markdown
def test_strip_colon_fence_solution():
    text = (
        "Intro.\n\n:::{exercise}\n:label: ex-a\n\nQ?\n:::\n\n"
        ":::{solution} ex-a\n:class: dropdown\n\nSECRET\n:::\n\nAfter."
    )
    assert mse.strip_solutions(text) == "Intro.\n\n:::{exercise}\n:label: ex-a\n\nQ?\n:::\n\nAfter."


def test_strip_backtick_fence_solution_with_nested_code():
    text = (
        "````{solution} ex-b\n:class: dropdown\n\nSECRET\n\n```python\nx = 1\n```\n"
        "````\n\nAfter.\n\n```python\nkept = 1\n```"
    )
    assert mse.strip_solutions(text) == "After.\n\n```python\nkept = 1\n```"


def test_strip_longer_colon_fence_with_inner_directive():
    text = "::::{solution} ex-c\n:::{note}\nSECRET\n:::\nSECRET2\n::::\nAfter."
    assert mse.strip_solutions(text) == "After."


def test_strip_gated_solution():
    text = (
        "Before.\n\n```{solution-start} ex-d\n```\n\nSECRET\n\n```python\ny = 2\n```\n\n"
        "```{solution-end}\n```\n\nAfter."
    )
    assert mse.strip_solutions(text) == "Before.\n\nAfter."


def test_markdown_without_solution_is_unchanged():
    text = "# Title\n\n:::{exercise}\nQ\n:::\n\n```python\nx = 1\n```\n"
    assert mse.convert_markdown(text) == text


def test_references_to_instructors_page_become_text():
    text = "See the {ref}`page for instructors <instructors>` and {ref}`instructors`; {ref}`ch-he`."
    assert mse.unlink_instructors(text) == (
        "See the page for instructors and the page for instructors; {ref}`ch-he`."
    )


# --------------------------------------------------------------------------- unit: config and toc
def test_config_hides_solutions_and_turns_execution_off():
    out = mse.convert_config((ROOT / "_config.yml").read_text(encoding="utf-8"))
    cfg = yaml.safe_load(out)
    original = yaml.safe_load((ROOT / "_config.yml").read_text(encoding="utf-8"))
    assert cfg["sphinx"]["config"]["hide_solutions"] is True
    assert cfg["execute"]["execute_notebooks"] == "off"
    # nothing else changed
    cfg["sphinx"]["config"].pop("hide_solutions")
    cfg["execute"]["execute_notebooks"] = original["execute"]["execute_notebooks"]
    assert cfg == original
    assert mse.convert_config(out) == out  # idempotent


@pytest.mark.parametrize(
    "text",
    [
        "title: T\n",
        "title: T\nsphinx:\n  extra_extensions:\n    - sphinx_exercise\n",
        "title: T\nexecute:\n  timeout: 10\nsphinx:\n  config:\n    numfig: true\nhtml:\n  x: 1\n",
    ],
)
def test_config_variants(text):
    cfg = yaml.safe_load(mse.convert_config(text))
    assert cfg["sphinx"]["config"]["hide_solutions"] is True
    assert cfg["execute"]["execute_notebooks"] == "off"
    assert cfg["title"] == "T"


def test_toc_drops_instructors_page():
    out = mse.convert_toc((ROOT / "_toc.yml").read_text(encoding="utf-8"))
    files = [e["file"] for part in yaml.safe_load(out)["parts"] for e in part["chapters"]]
    assert "chapters/instructors" not in files
    assert len(files) == len(_toc_files()) - ("chapters/instructors" in _toc_files())


# --------------------------------------------------------------------------- the whole edition
def test_edition_files(tmp_path):
    src = _make_source(tmp_path)
    out = tmp_path / "student"
    mse.make_student_edition(out, src)
    tree = _tree(out)
    assert "chapters/instructors.md" not in tree
    assert f"chapters/{FIXTURE.name}" in tree
    assert tree["chapters/figures/a.png"] == b"\x89PNG fake"
    assert {"_config.yml", "_toc.yml", "intro.md", "references.bib", "README.md"} <= set(tree)
    everything = b"".join(tree.values())
    secrets = (
        b"SECRET-INSTRUCTORS-PAGE",
        b"SECRET-MD-PAGE",
        b"SECRET-FIXTURE",
        b"fan_in_secret",
        b"k_secret",
        b"float(w.var())",
        b"2 * x",
    )
    for secret in secrets:
        assert secret not in everything
    assert b"{solution" not in everything
    assert b"<instructors>" not in tree["intro.md"]
    assert yaml.safe_load(tree["_config.yml"])["sphinx"]["config"]["hide_solutions"] is True


def test_edition_is_idempotent_and_deterministic(tmp_path):
    src = _make_source(tmp_path)
    out = tmp_path / "student"
    mse.make_student_edition(out, src)
    first = _tree(out)
    mse.make_student_edition(out, src)
    assert _tree(out) == first
    other = tmp_path / "again"
    mse.make_student_edition(other, src)
    assert _tree(other) == first


def test_edition_refuses_foreign_folder(tmp_path):
    src = _make_source(tmp_path)
    foreign = tmp_path / "mine"
    foreign.mkdir()
    (foreign / "thesis.tex").write_text("precious", encoding="utf-8")
    with pytest.raises(mse.EditionError):
        mse.make_student_edition(foreign, src)
    assert (foreign / "thesis.tex").read_text(encoding="utf-8") == "precious"
    with pytest.raises(mse.EditionError):
        mse.make_student_edition(src, src)


def test_command_line(tmp_path, capsys):
    src = _make_source(tmp_path)
    assert mse.main(["--source", str(src), "--out", str(tmp_path / "s")]) == 0
    assert "1 notebooks" in capsys.readouterr().out
    assert mse.main(["--source", str(src), "--out", str(src / "chapters")]) == 1


def test_fixture_cells_outside_exercises_are_byte_identical():
    original = nbformat.read(FIXTURE, as_version=4)
    student = _student_copy(FIXTURE)
    changed_md = 0
    for before, after in zip(original.cells, student.cells, strict=True):
        if mse.is_solution_cell(before) or mse.calls_check(before):
            continue
        if before.cell_type == "markdown" and mse.convert_markdown(before.source) != before.source:
            changed_md += 1
            assert before.metadata == after.metadata
            continue
        assert json.dumps(before, sort_keys=True) == json.dumps(after, sort_keys=True)
    assert changed_md == 3  # two {solution} blocks and one reference to the instructors' page


def test_whole_notebook_unchanged_when_it_has_no_exercise(tmp_path):
    nb = nbformat.read(FIXTURE, as_version=4)
    nb.cells = [c for c in nb.cells if not (mse.is_solution_cell(c) or mse.calls_check(c))]
    nb.cells = [c for c in nb.cells if c.cell_type == "code"]
    before = nbformat.writes(nb)
    assert nbformat.writes(mse.convert_notebook(nb)) == before


# --------------------------------------------------------------------------- (a) no leaks
@pytest.mark.parametrize("nb_path", EXERCISE_NOTEBOOKS, ids=_id)
def test_no_solution_leaks(nb_path):
    instructor = nbformat.read(nb_path, as_version=4)
    student = _student_copy(nb_path)
    secret, _ = _secret_and_public(instructor)
    assert secret, "no solution text found: the leak test would be vacuous"
    leaked = secret & _student_lines(student)
    assert not leaked, f"solution lines in the student copy of {nb_path.name}: {sorted(leaked)}"
    # negative control: the instructor notebook itself does contain them
    assert secret <= _student_lines(instructor)
    for cell in student.cells:
        assert "{solution" not in cell.source
    for i, check in _exercises(student):
        cell = student.cells[i]
        assert cell.outputs == [] and cell.execution_count is None
        assert "solution" in cell.metadata["tags"]
        assert not set(cell.metadata["tags"]) & mse.HIDING_TAGS
        assert mse.STUB in cell.source
        if check is not None:
            assert student.cells[check].outputs == []


def test_fixture_leak_detector_sees_the_secrets():
    secret, _ = _secret_and_public(nbformat.read(FIXTURE, as_version=4))
    joined = "\n".join(secret)
    for marker in ("fan_in_secret", "k_secret", "measured_var_secret", "whole_cell_secret"):
        assert marker in joined
    assert "SECRET-FIXTURE-PROSE" in joined and "SECRET-FIXTURE-BACKTICKS" in joined


# --------------------------------------------------------------------------- every chapter has an exercise
@pytest.mark.parametrize("chapter", EXERCISE_CHAPTERS)
def test_chapter_has_programming_exercise(chapter):
    path = ROOT / (chapter + ".ipynb")
    assert path.exists(), f"{chapter}.ipynb is listed in _toc.yml but does not exist"
    nb = nbformat.read(path, as_version=4)
    exercises = _exercises(nb)
    assert exercises, f"{path.name} has no programming exercise (a code cell tagged 'solution')"
    for i, check in exercises:
        assert check is not None, f"{path.name}: the solution in cell {i} is never checked"
        assert "hide-input" in nb.cells[i].metadata.get("tags", []), (
            f"{path.name}: solution cell {i} should also be tagged 'hide-input'"
        )


# --------------------------------------------------------------------------- (c) instructor side
@pytest.mark.parametrize("nb_path", EXERCISE_NOTEBOOKS, ids=_id)
def test_instructor_solutions_pass_their_checks(nb_path):
    nb = nbformat.read(nb_path, as_version=4)
    exercises = _exercises(nb)
    assert exercises
    for i, check in exercises:
        assert check is not None, f"{nb_path.name}: solution cell {i} has no check cell"
        verdicts = _verdicts(nb.cells[check])
        assert verdicts, f"{nb_path.name}: check cell {check} has no stored verdict (not executed?)"
        assert set(verdicts) == {"PASS"}, (
            f"{nb_path.name}: cell {check}: {_stdout(nb.cells[check])}"
        )


# --------------------------------------------------------------------------- (b) + (c) student side
@pytest.mark.parametrize("nb_path", EXERCISE_NOTEBOOKS, ids=_id)
def test_student_copy_runs_up_to_the_stubs_and_fails_the_checks(nb_path, tmp_path):
    student = _student_copy(nb_path)
    # run from a copy of the notebook's folder, so relative paths work as in the book
    workdir = tmp_path / "chapters"
    shutil.copytree(nb_path.parent, workdir, ignore=shutil.ignore_patterns("*.ipynb", "_build"))
    client = NotebookClient(
        student,
        timeout=300,
        kernel_name="python3",
        allow_errors=True,
        resources={"metadata": {"path": str(workdir)}},
    )
    client.execute()

    errors = [
        (i, o)
        for i, cell in enumerate(student.cells)
        if cell.cell_type == "code"
        for o in cell.outputs
        if o.output_type == "error"
    ]
    # (b) no error at all, or the first one is a stub's NotImplementedError
    if errors:
        first_cell, first = errors[0]
        assert first.ename == "NotImplementedError", (
            f"{nb_path.name}: cell {first_cell} failed with {first.ename}: {first.evalue}"
        )
        assert "Exercise: write your solution here" in first.evalue
    raised_stub = {
        i
        for i, o in errors
        if mse.is_solution_cell(student.cells[i]) and o.ename == "NotImplementedError"
    }
    # (c) each exercise's check prints FAIL (or could not run because its stub cell raised)
    for i, check in _exercises(student):
        assert check is not None
        cell = student.cells[check]
        verdicts = _verdicts(cell)
        if verdicts:
            assert set(verdicts) == {"FAIL"}, f"{nb_path.name}: a stub passed: {_stdout(cell)}"
        else:
            failed = [o for o in cell.outputs if o.output_type == "error"]
            assert failed and i in raised_stub, (
                f"{nb_path.name}: check cell {check} printed no verdict: {cell.outputs}"
            )


# --------------------------------------------------------------------------- the grader
_gspec = importlib.util.spec_from_file_location(
    "grade_submissions", ROOT / "scripts" / "grade_submissions.py"
)
grader = importlib.util.module_from_spec(_gspec)
_gspec.loader.exec_module(grader)


def test_grader_tabulates_pass_for_solutions_and_fail_for_stubs(tmp_path, capsys):
    (tmp_path / "teacher").mkdir()
    (tmp_path / "alice").mkdir()
    (tmp_path / "bob").mkdir()
    shutil.copy(FIXTURE, tmp_path / "teacher" / FIXTURE.name)
    student = _student_copy(FIXTURE)
    nbformat.write(student, tmp_path / "alice" / FIXTURE.name)
    # bob deleted the last check cell and faked a PASS in a stored output
    bob = _student_copy(FIXTURE)
    last = grader.check_cells(bob)[-1]
    del bob.cells[last]
    first = grader.check_cells(bob)[0]
    bob.cells[first].outputs = [
        nbformat.v4.new_output("stream", name="stdout", text="PASS: your initializer is correct.\n")
    ]
    nbformat.write(bob, tmp_path / "bob" / FIXTURE.name)

    csv_path = tmp_path / "grades.csv"
    code = grader.main(
        [
            str(tmp_path / "alice"),
            str(tmp_path / "bob" / FIXTURE.name),
            str(tmp_path / "teacher"),
            "--reference",
            str(tmp_path / "teacher"),
            "--csv",
            str(csv_path),
        ]
    )
    assert code == 0
    out = capsys.readouterr().out
    assert f"{tmp_path / 'alice' / FIXTURE.name}: 0/4 checks passed" in out
    assert f"{tmp_path / 'bob' / FIXTURE.name}: 0/4 checks passed" in out  # the fake PASS is re-run
    assert f"{tmp_path / 'teacher' / FIXTURE.name}: 4/4 checks passed" in out
    rows = list(csv.DictReader(csv_path.open(encoding="utf-8")))
    verdicts = {(Path(r["notebook"]).parent.name, r["check"]): r["verdict"] for r in rows}
    assert [verdicts[("alice", str(k))] for k in range(1, 5)] == ["FAIL"] * 4
    assert [verdicts[("bob", str(k))] for k in range(1, 5)] == ["FAIL"] * 3 + ["MISSING"]
    assert [verdicts[("teacher", str(k))] for k in range(1, 5)] == ["PASS"] * 4


def test_grader_verdict_of_special_cells():
    error = nbformat.v4.new_code_cell("check_fans(f)")
    error.outputs = [nbformat.v4.new_output("error", ename="NameError", evalue="f", traceback=[])]
    assert grader.verdict_of(error)[0] == "ERROR"
    silent = nbformat.v4.new_code_cell("check_fans(f)")
    silent.outputs = [nbformat.v4.new_output("stream", name="stdout", text="nothing\n")]
    assert grader.verdict_of(silent) == ("NO VERDICT", "")
    both = nbformat.v4.new_code_cell("check_fans(f); check_fans(g)")
    both.outputs = [nbformat.v4.new_output("stream", name="stdout", text="PASS: a\nFAIL: b\n")]
    assert grader.verdict_of(both) == ("FAIL", "FAIL: b")


def test_grader_rejects_missing_paths(tmp_path, capsys):
    assert grader.main([str(tmp_path / "nothing.ipynb")]) == 2
    assert "not a notebook" in capsys.readouterr().err
