"""Tests for the student edition (``scripts/make_student_edition.py``).

On the fixture course (``tests/fixtures/course``: three notebooks in the one exercise
pattern, a written exercise, an instructors' page, the repository URL in the text and
the config), the edition must be publishable as it is:

* no solution anywhere: no line of a solution cell, of a solution's explanation or of a
  written solution, no solution attachment, no ``role: solution`` cell, no
  ``{solution}`` block, no PASS output of the instructor's check cells;
* self-contained: the library (``code/weightinit``, ``pyproject.toml``), its own
  ``requirements.txt`` (without the instructor's tools), ``README.md`` and ``Makefile``
  with the two commands; no ``grading/``, ``tests/``, ``scripts/``;
* no link to the instructor repository (buttons off, or pointing to ``--repo-url``) and
  no mention of the instructors' page;
* the stubs are visible and keep the metadata the grader reads; the notebooks run from
  top to bottom, each stub failing its check; the instructor's notebooks pass them;
  the website builds with warnings as errors.

The real chapters are checked the same way for leaks, links and stubs (whatever
exercises they hold).
"""

from __future__ import annotations

import importlib.util
import re
import shutil
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest
import yaml
from nbclient import NotebookClient

ROOT = Path(__file__).resolve().parent.parent
COURSE = ROOT / "tests" / "fixtures" / "course"
INSTRUCTOR_URL = "https://github.com/weightinit-course/weightinit-course"
STUDENT_URL = "https://example.org/teacher/course-student"

_spec = importlib.util.spec_from_file_location(
    "make_student_edition", ROOT / "scripts" / "make_student_edition.py"
)
mse = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(mse)


def _lines(text: str) -> set[str]:
    return {line.strip() for line in text.splitlines() if line.strip()}


def _meta(cell) -> dict:
    return dict(cell.metadata.get("weightinit", {}))


def _secret_and_public(nb) -> tuple[set[str], set[str]]:
    """Lines only the instructor may see, and lines of the public part of a notebook."""
    secret: set[str] = set()
    public: set[str] = set()
    gated = False
    for cell in nb.cells:
        if cell.cell_type == "markdown":
            kept, gated_after = mse.strip_solutions(cell.source, gated)
            secret |= _lines(cell.source) - _lines(kept)
            public |= _lines(kept)
            gated = gated_after
            continue
        if gated or mse.is_solution_cell(cell):
            body = (
                mse.solution_bodies(cell.source)
                if mse.role(cell) != "solution"
                else cell.source.split("\n")
            )  # fmt: skip
            secret |= _lines("\n".join(body))
            continue
        public |= _lines(cell.source)
        if not mse.calls_check(cell):
            for o in cell.get("outputs", []):
                public |= _lines(o.get("text", ""))
                public |= _lines(str(o.get("data", {}).get("text/plain", "")))
    return secret - public, public


def _all_text(folder: Path) -> str:
    return "\n".join(
        p.read_text(encoding="utf-8", errors="replace")
        for p in sorted(folder.rglob("*"))
        if p.is_file() and p.suffix in (".ipynb", ".md", ".yml", ".txt", ".toml", ".py", "")
    )


def _tree(path: Path) -> dict[str, bytes]:
    return {p.relative_to(path).as_posix(): p.read_bytes()
            for p in sorted(path.rglob("*")) if p.is_file()}  # fmt: skip


@pytest.fixture(scope="module")
def edition(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("ed") / "student"
    mse.make_student_edition(out, COURSE)
    return out


# --------------------------------------------------------------------------- unit
def test_old_form_stub_keeps_signature_markers_and_indentation():
    src = "def f(x):\n    # BEGIN SOLUTION\n    return 2 * x\n    # END SOLUTION"
    assert (
        mse.stub_source(src)
        == f"def f(x):\n    # BEGIN SOLUTION\n    {mse.STUB}\n    # END SOLUTION"
    )
    assert mse.solution_bodies(src) == ["    return 2 * x"]
    for bad in ("# BEGIN SOLUTION\nx = 1", "x = 1\n# END SOLUTION"):
        with pytest.raises(mse.EditionError):
            mse.stub_source(bad)


def test_strip_solutions_plain_and_gated_across_cells():
    text = "Intro.\n\n:::{solution} ex-a\n:class: dropdown\n\nSECRET\n:::\n\nAfter."
    assert mse.strip_solutions(text) == ("Intro.\n\nAfter.", False)
    assert mse.strip_solutions("```{solution-start} ex-b\n:class: dropdown\n```") == ("", True)
    assert mse.strip_solutions("SECRET explanation", gated=True) == ("", True)
    assert mse.strip_solutions("```{solution-end}\n```\n\nAfter.", gated=True) == ("After.", False)
    with pytest.raises(mse.EditionError):
        mse.convert_markdown("```{solution-start} ex-c\n```\nSECRET")


def test_sentences_about_the_instructors_page_are_dropped():
    text = ("Two pages. A {ref}`page for instructors <instructors>` who assign it. Next.\n\n"
            "See {ref}`instructors`.\n\nEnd {ref}`ch-he`.")  # fmt: skip
    assert mse.unlink_instructors(text) == "Two pages. Next.\n\nEnd {ref}`ch-he`."


@pytest.mark.parametrize("repo_url", ["", STUDENT_URL])
def test_config(repo_url):
    text = (COURSE / "_config.yml").read_text(encoding="utf-8")
    cfg = yaml.safe_load(mse.convert_config(text, repo_url))
    assert cfg["sphinx"]["config"]["hide_solutions"] is True
    assert cfg["execute"]["execute_notebooks"] == "off"
    if repo_url:
        assert cfg["repository"]["url"] == STUDENT_URL
    else:
        assert "repository" not in cfg
        assert cfg["html"]["use_repository_button"] is False
        assert cfg["html"]["use_issues_button"] is False
        assert cfg["launch_buttons"]["binderhub_url"] == cfg["launch_buttons"]["colab_url"] == ""
    real = yaml.safe_load(mse.convert_config((ROOT / "_config.yml").read_text("utf-8"), repo_url))
    original = yaml.safe_load((ROOT / "_config.yml").read_text("utf-8"))
    assert real["title"] == original["title"] and real["html"]["favicon"]
    assert real["sphinx"]["config"]["mathjax_path"] == original["sphinx"]["config"]["mathjax_path"]


def test_requirements_keep_the_book_and_drop_instructor_tools():
    out = mse.convert_requirements((ROOT / "requirements.txt").read_text(encoding="utf-8"))
    names = {re.split(r"[<>=!~ ]", ln)[0] for ln in out.splitlines() if ln and ln[0] != "#"}
    assert {"-e", "jupyter-book", "numpy", "pytest", "nbval"} <= names
    assert not names & {"ruff", "hypothesis", "playwright", "pytest-xdist"}
    assert "Browser test" not in out


# --------------------------------------------------------------------------- the fixture edition
def test_edition_is_self_contained(edition):
    tree = _tree(edition)
    for name in ("README.md", "Makefile", "requirements.txt", "pyproject.toml", ".gitignore",
                 "_config.yml", "_toc.yml", "intro.md", "code/weightinit/__init__.py",
                 "code/weightinit/checks.py", "chapters/07_he.ipynb"):  # fmt: skip
        assert name in tree, name
    for absent in ("grading", "tests", "scripts", "benchmarks", "browser_tests", "CONTRIBUTING.md",
                   "chapters/instructors.md"):  # fmt: skip
        assert not (edition / absent).exists(), absent
    readme = tree["README.md"].decode()
    assert "make book" in readme and "make test" in readme
    make = tree["Makefile"].decode()
    assert re.search(r"^book: setup$", make, re.M) and re.search(r"^test: setup$", make, re.M)
    dry = subprocess.run(["make", "-n", "book", "test"], cwd=edition, capture_output=True,
                         text=True, check=False)  # fmt: skip
    assert dry.returncode == 0, dry.stderr
    assert "pip install -r requirements.txt" in dry.stdout and "jupyter-book build" in dry.stdout
    assert "-e ." in tree["requirements.txt"].decode()


def test_no_solution_anywhere(edition):
    everything = _all_text(edition)
    for nb_path in sorted((COURSE / "chapters").glob("*.ipynb")):
        instructor = nbformat.read(nb_path, as_version=4)
        secret, _ = _secret_and_public(instructor)
        assert secret, "no solution text found: the leak test would be vacuous"
        student = nbformat.read(edition / "chapters" / nb_path.name, as_version=4)
        student_lines = set()
        for cell in student.cells:
            student_lines |= _lines(cell.source)
            for o in cell.get("outputs", []):
                student_lines |= _lines(o.get("text", ""))
            assert mse.role(cell) != "solution"
            assert "attachments" not in cell  # the solution's image
            assert "{solution" not in cell.source
        leaked = secret & student_lines
        assert not leaked, f"{nb_path.name}: {sorted(leaked)}"
        # negative control: the instructor's notebook does hold them
        assert any(s in nbformat.writes(instructor) for s in secret)
    for marker in ("# BEGIN SOLUTION", "secret", "explained", "attachment:", "PASS:",
                   "iVBORw0KGgo"):  # fmt: skip
        assert marker not in everything.replace(_library_text(edition), ""), marker


def _library_text(edition: Path) -> str:
    return "\n".join(p.read_text("utf-8") for p in sorted((edition / "code").rglob("*.py")))


def test_no_link_to_the_instructor_repository_or_page(edition, tmp_path):
    text = _all_text(edition)
    assert INSTRUCTOR_URL not in text
    assert "instructors.md" not in text and "<instructors>" not in text
    assert "{ref}`instructors`" not in text and "instructors' page" not in text
    assert INSTRUCTOR_URL in _all_text(COURSE)  # negative control
    out = tmp_path / "with_url"
    mse.make_student_edition(out, COURSE, repo_url=STUDENT_URL)
    text = _all_text(out)
    assert INSTRUCTOR_URL not in text
    assert yaml.safe_load((out / "_config.yml").read_text())["repository"]["url"] == STUDENT_URL
    with pytest.raises(mse.EditionError, match="instructor repository itself"):
        mse.make_student_edition(tmp_path / "x", COURSE, repo_url=INSTRUCTOR_URL)


def test_stubs_are_visible_and_keep_their_metadata(edition):
    for nb_path in sorted((COURSE / "chapters").glob("*.ipynb")):
        instructor = nbformat.read(nb_path, as_version=4)
        student = nbformat.read(edition / "chapters" / nb_path.name, as_version=4)
        stubs_i = [c for c in instructor.cells if mse.role(c) == "stub"]
        stubs_s = [c for c in student.cells if mse.role(c) == "stub"]
        assert stubs_i and len(stubs_s) == len(stubs_i)
        for a, b in zip(stubs_i, stubs_s, strict=True):
            assert b.source == a.source and _meta(b) == _meta(a) and _meta(b)["points"] > 0
            assert "remove-cell" not in b.metadata["tags"] and "exercise-stub" in b.metadata["tags"]
        for cell in student.cells:
            if mse.role(cell) == "check":
                assert cell.outputs == [] and cell.execution_count is None


def test_edition_is_idempotent_and_refuses_foreign_folders(edition, tmp_path):
    other = tmp_path / "again"
    mse.make_student_edition(other, COURSE)
    assert _tree(other) == _tree(edition)
    mse.make_student_edition(other, COURSE)
    assert _tree(other) == _tree(edition)
    foreign = tmp_path / "mine"
    foreign.mkdir()
    (foreign / "thesis.tex").write_text("precious", encoding="utf-8")
    with pytest.raises(mse.EditionError):
        mse.make_student_edition(foreign, COURSE)
    assert (foreign / "thesis.tex").read_text(encoding="utf-8") == "precious"
    with pytest.raises(mse.EditionError):
        mse.make_student_edition(COURSE, COURSE)


def test_command_line(tmp_path, capsys):
    assert mse.main(["--source", str(COURSE), "--out", str(tmp_path / "s")]) == 0
    assert "3 notebooks" in capsys.readouterr().out
    assert mse.main(["--source", str(COURSE), "--out", str(COURSE / "chapters")]) == 1


def _execute(path: Path) -> nbformat.NotebookNode:
    nb = nbformat.read(path, as_version=4)
    NotebookClient(nb, timeout=120, kernel_name="python3",
                   resources={"metadata": {"path": str(path.parent)}}).execute()  # fmt: skip
    return nb


def _check_verdicts(nb) -> list[str]:
    out = []
    for cell in nb.cells:
        if mse.role(cell) == "check":
            text = "".join(o.get("text", "") for o in cell.outputs if o.output_type == "stream")
            out += [ln.split(":")[0] for ln in text.splitlines() if ln.startswith(("PASS", "FAIL"))]
    return out


def test_stubs_run_and_fail_their_checks(edition):
    """The notebook runs top to bottom (what `make test` does); every check says FAIL.

    (That the instructor's solutions pass the hidden tests is shown by
    tests/test_grading.py, which grades the instructor's notebooks.)"""
    student = _execute(edition / "chapters" / "07_he.ipynb")  # no cell may raise
    verdicts = _check_verdicts(student)
    assert verdicts and set(verdicts) == {"FAIL"}
    assert "NotImplementedError" in nbformat.writes(student)


def test_student_website_builds_without_warnings(edition, tmp_path):
    book = tmp_path / "book"
    shutil.copytree(edition, book)
    jb = Path(sys.executable).with_name("jupyter-book")
    run = subprocess.run([str(jb), "build", str(book), "-W", "-n", "--keep-going"],
                         capture_output=True, text=True, check=False, timeout=300)  # fmt: skip
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
    html = (book / "_build" / "html" / "chapters" / "07_he.html").read_text(encoding="utf-8")
    assert "my_he_normal" in html  # the stub is on the page
    assert "fan_in_secret" not in html and INSTRUCTOR_URL not in html
    assert "mybinder" not in html and "colab.research" not in html


# --------------------------------------------------------------------------- the real book
def test_real_book_edition_has_no_solution_and_no_instructor_link(tmp_path):
    out = tmp_path / "student"
    mse.make_student_edition(out, ROOT, repo_url=STUDENT_URL)
    original_url = yaml.safe_load((ROOT / "_config.yml").read_text("utf-8"))["repository"]["url"]
    text = _all_text(out)
    assert original_url not in text
    assert "<instructors>" not in text and not (out / "chapters" / "instructors.md").exists()
    assert not (out / "grading").exists() and (out / "code" / "weightinit").is_dir()
    n_secret = 0
    for nb_path in sorted((ROOT / "chapters").glob("*.ipynb")):
        instructor = nbformat.read(nb_path, as_version=4)
        secret, _ = _secret_and_public(instructor)
        n_secret += len(secret)
        student = nbformat.read(out / "chapters" / nb_path.name, as_version=4)
        lines = set()
        for cell in student.cells:
            lines |= _lines(cell.source)
            assert mse.role(cell) != "solution"
            if mse.role(cell) == "stub":
                assert "remove-cell" not in cell.metadata.get("tags", [])
        assert not secret & lines, f"{nb_path.name}: {sorted(secret & lines)[:5]}"
    assert n_secret > 0


#: Part II chapters and their programming exercise (id, function).
PART2 = {
    "09_orthogonality.ipynb": ("ex-orthogonal-code", "my_delta_orthogonal"),
    "10_normalization_residual.ipynb": ("ex-norm-residual-code", "my_stream_second_moment"),
    "11_data_width_lr.ipynb": ("ex-data-lsuv-code", "lsuv_factor"),
}


def _strings(node) -> str:
    """Every string of a notebook: sources, outputs, cell and notebook metadata, attachments."""
    if isinstance(node, str):
        return node
    if isinstance(node, dict):
        return "\n".join(_strings(k) + "\n" + _strings(v) for k, v in node.items())
    if isinstance(node, list):
        return "\n".join(_strings(v) for v in node)
    return ""


def test_real_book_edition_covers_part2(tmp_path):
    """Chapters 9-11 are in the student edition with their stubs, and no solution (no line of
    a solution cell, its explanation or a written solution) in any field of the notebook."""
    out = tmp_path / "student"
    mse.make_student_edition(out, ROOT, repo_url=STUDENT_URL)
    toc = (out / "_toc.yml").read_text(encoding="utf-8")
    for name, (ex_id, fn) in PART2.items():
        assert f"chapters/{Path(name).stem}" in toc, name
        instructor = nbformat.read(ROOT / "chapters" / name, as_version=4)
        student = nbformat.read(out / "chapters" / name, as_version=4)

        def cells(nb, role, ex_id=ex_id):
            return [
                c for c in nb.cells if _meta(c).get("exercise") == ex_id and mse.role(c) == role
            ]

        (stub_i,), (stub_s,) = cells(instructor, "stub"), cells(student, "stub")
        assert stub_s.source == stub_i.source and _meta(stub_s) == _meta(stub_i), name
        assert f"def {fn}(" in stub_s.source and "NotImplementedError" in stub_s.source
        assert _meta(stub_s)["points"] > 0
        assert "remove-cell" not in stub_s.metadata["tags"]
        (check,) = cells(student, "check")
        assert check.outputs == [] and check.execution_count is None
        assert cells(instructor, "solution") and not cells(student, "solution")
        assert not any(mse.role(c) == "solution" or "attachments" in c for c in student.cells)
        everything = _strings(dict(student))
        assert "{solution" not in everything and "BEGIN SOLUTION" not in everything
        secret, _ = _secret_and_public(instructor)
        assert len(secret) > 5, name  # the chapter has solutions: the test is not vacuous
        assert all(s in _strings(dict(instructor)) for s in secret)  # negative control
        leaked = sorted(s for s in secret if len(s) > 12 and s in everything)
        assert not leaked, f"{name}: {leaked[:5]}"
        assert not secret & _lines(everything), f"{name}: {sorted(secret & _lines(everything))[:5]}"
