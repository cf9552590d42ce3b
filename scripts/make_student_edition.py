"""Write the student edition of the course: a folder a teacher can publish as it is.

Usage::

    python scripts/make_student_edition.py --out student            # = make student
    python scripts/make_student_edition.py --out hw --repo-url https://github.com/me/course-student

What the folder contains
------------------------
* the book (``_config.yml``, ``_toc.yml``, ``intro.md``, ``references.bib``, the top-level
  ``_*`` folders such as ``_static/`` and ``_vendor/``, ``chapters/``) WITHOUT the
  instructors' page, with every programming exercise reduced to its stub;
* the library, ``code/weightinit`` with ``pyproject.toml``, so nothing has to be
  installed from the course's (instructor) repository;
* its own ``requirements.txt`` (the book and the library, without the instructor's
  test tools), ``README.md`` and ``Makefile`` with the same two commands as the
  course: ``make book`` (a venv, the requirements, the website, built from the
  stored outputs) and ``make test`` (every notebook runs from top to bottom).

Not copied: ``grading/`` (the hidden tests), ``scripts/``, ``tests/``, ``benchmarks/``,
``browser_tests/``, ``CONTRIBUTING.md``, ``.ci/``.

In every notebook (cells found by their ``weightinit`` metadata, see CONTRIBUTING.md):

* the stub cell (``role: stub``) becomes visible (its ``remove-cell`` tag and any other
  hiding tag removed) and keeps its metadata, which the grader reads;
* everything from the ``{solution-start}`` cell to the ``{solution-end}`` cell is
  dropped (the solution code, its explanation and their attachments), and so is any
  other ``role: solution`` cell;
* check cells lose their outputs (the instructor's PASS);
* ``{solution}`` blocks of written exercises are removed from markdown (cells and
  ``.md`` pages), markdown attachments no longer referenced are dropped, references
  to the instructors' page become plain text;
* a notebook still in the older form (a ``solution``-tagged cell with
  ``# BEGIN SOLUTION``/``# END SOLUTION`` and no metadata) gets the region replaced by
  ``raise NotImplementedError(...)``.

``_config.yml``: notebook execution off, sphinx-exercise's ``hide_solutions: true``;
the repository, Binder/Colab and issue buttons point to ``--repo-url`` or, without it,
are turned off. The instructor repository's URL is replaced by ``--repo-url`` (or by
plain words in text) wherever it appears. Finally the whole folder is scanned: a
solution marker, a solution cell or the instructor URL left anywhere is an error.

The output is deterministic; the output folder is replaced as a whole, so the script
refuses to write into a non-empty folder it did not create (it leaves a marker file).
"""

from __future__ import annotations

import argparse
import re
import shutil
import sys
from pathlib import Path

import nbformat
import yaml

ROOT = Path(__file__).resolve().parent.parent

SOLUTION_TAG = "solution"
BEGIN = "# BEGIN SOLUTION"
END = "# END SOLUTION"
STUB = 'raise NotImplementedError("Exercise: write your solution here")'
STUB_CELL = "# Exercise: write your solution in this cell.\n" + STUB
#: Tags that would hide the stub from the student.
HIDING_TAGS = {"hide-input", "hide-cell", "hide-output", "remove-input", "remove-cell"}
#: A call to one of the checks of weightinit.checks.
CHECK_CALL = re.compile(r"\bcheck_(?:initializer|fans|conv2d|value)\s*\(")
MARKER_FILE = ".student-edition"
INSTRUCTORS_PAGE = "chapters/instructors.md"
TOP_FILES = ("_config.yml", "_toc.yml", "intro.md", "references.bib", "pyproject.toml")
#: Top-level folders starting with "_" (``_static``, ``_ext``, ``_vendor``...) are copied,
#: except these.
SKIP_DIRS = {"_build", "__pycache__"}
IGNORE = shutil.ignore_patterns(".ipynb_checkpoints", "__pycache__", "_build", "*.pyc",
                                "*.egg-info")  # fmt: skip
#: Requirements of the instructor's tooling, not needed by students.
INSTRUCTOR_ONLY_PACKAGES = ("ruff", "hypothesis", "playwright", "pytest-xdist")

_BEGIN_RE = re.compile(r"^(\s*)" + re.escape(BEGIN) + r"\s*$")
_END_RE = re.compile(r"^\s*" + re.escape(END) + r"\s*$")
_FENCE_OPEN = re.compile(r"^(\s*)(`{3,}|:{3,})\{(solution|solution-start|solution-end)\}")
_REF_INSTRUCTORS = re.compile(r"\{ref\}`([^`<]*?)\s*<instructors>`")
_REF_INSTRUCTORS_BARE = re.compile(r"\{ref\}`instructors`")
_ATTACHMENT = re.compile(r"attachment:([^)\s\"']+)")

README = """\
# Initializing Neural Network Weights: student edition

An executable course on how to initialize the weights of a neural network, with the
small numpy library `weightinit` it uses (in `code/`). The programming exercises are
blank: you write them.

## Two commands

On a machine with Python >= 3.10:

```bash
make book    # creates .venv, installs requirements.txt (+ the library, editable) and
             # builds the website into _build/html from the notebooks' stored outputs
make test    # runs every notebook from top to bottom (pytest --nbval-lax chapters)
```

Then open the notebooks in `chapters/` with Jupyter (`.venv/bin/jupyter lab`).

## The exercises

* A programming exercise is a code cell with a function whose body is
  `raise NotImplementedError(...)` between `# BEGIN STUB` and `# END STUB`. Replace
  that line with your code; keep the function's name and arguments. The cell must be
  self-contained: import what you use (`import numpy as np`) and read no variable of
  the chapter; data the function needs are its arguments.
* The cell after it calls a self-check from `weightinit.checks`. Run it: it prints
  what is right (✔), what is wrong (✘) with a hint, and a verdict line that starts
  with PASS or FAIL.
* Your grade comes from other tests, run on your exercise cells only: the self-check
  is for you. Write the code yourself: an exercise cell that calls the library's own
  implementation of what it asks for (for example `weightinit.initializers`) gets no
  points.
"""

MAKEFILE = """\
# Two commands (see README.md):
#   make book  -- create .venv, install requirements.txt, build the website (stored outputs)
#   make test  -- run every notebook from top to bottom
PYTHON ?= python3
export OPENBLAS_NUM_THREADS ?= 1
export OMP_NUM_THREADS ?= 1
export MKL_NUM_THREADS ?= 1
VENV   ?= .venv
BIN     = $(VENV)/bin

.PHONY: book test setup clean

setup: $(VENV)/.installed

$(VENV)/.installed: requirements.txt pyproject.toml
\t$(PYTHON) -m venv $(VENV)
\t$(BIN)/python -m pip install --upgrade pip
\t$(BIN)/python -m pip install -r requirements.txt
\ttouch $@

book: setup
\t$(BIN)/jupyter-book build .

test: setup
\t$(BIN)/pytest --nbval-lax -p no:cacheprovider chapters

clean:
\trm -rf _build
"""

GITIGNORE = "_build/\n.venv/\n__pycache__/\n*.egg-info/\n.ipynb_checkpoints/\n"


class EditionError(ValueError):
    """A source that cannot be turned into a student copy (unbalanced markers, a leak...)."""


# --------------------------------------------------------------------------- code cells
def stub_source(source: str, where: str = "cell") -> str:
    """Older form: replace every ``# BEGIN SOLUTION`` ... ``# END SOLUTION`` region by a stub.

    The marker lines are kept and the stub is indented like the ``# BEGIN SOLUTION``
    line. A source without markers is replaced entirely by :data:`STUB_CELL`.
    """
    lines = source.split("\n")
    if not any(_BEGIN_RE.match(line) for line in lines):
        if any(_END_RE.match(line) for line in lines):
            raise EditionError(f"{where}: '{END}' without '{BEGIN}'")
        return STUB_CELL
    out: list[str] = []
    inside = False
    for line in lines:
        begin = _BEGIN_RE.match(line)
        if begin:
            if inside:
                raise EditionError(f"{where}: nested '{BEGIN}'")
            inside = True
            out.append(line)
            out.append(begin.group(1) + STUB)
        elif _END_RE.match(line):
            if not inside:
                raise EditionError(f"{where}: '{END}' without '{BEGIN}'")
            inside = False
            out.append(line)
        elif not inside:
            out.append(line)
    if inside:
        raise EditionError(f"{where}: '{BEGIN}' without '{END}'")
    return "\n".join(out)


def solution_bodies(source: str) -> list[str]:
    """The lines between the markers of a solution cell (all of it without markers)."""
    lines = source.split("\n")
    if not any(_BEGIN_RE.match(line) for line in lines):
        return lines
    body, inside = [], False
    for line in lines:
        if _BEGIN_RE.match(line):
            inside = True
        elif _END_RE.match(line):
            inside = False
        elif inside:
            body.append(line)
    return body


def role(cell) -> str | None:
    meta = cell.get("metadata", {}).get("weightinit")
    return meta.get("role") if isinstance(meta, dict) else None


def is_solution_cell(cell) -> bool:
    """A cell holding solution code: ``role: solution``, or the older ``solution`` tag."""
    if cell.cell_type != "code":
        return False
    return role(cell) == "solution" or SOLUTION_TAG in cell.metadata.get("tags", [])


def calls_check(cell) -> bool:
    return cell.cell_type == "code" and (
        role(cell) == "check" or bool(CHECK_CALL.search(cell.source))
    )


# --------------------------------------------------------------------------- markdown
def _closes(line: str, char: str, length: int) -> bool:
    stripped = line.strip()
    return len(stripped) >= length and set(stripped) == {char}


def strip_solutions(text: str, gated: bool = False) -> tuple[str, bool]:
    """Remove ``{solution}`` blocks and everything between ``{solution-start}`` and
    ``{solution-end}``; ``gated`` says whether the text starts inside such a pair (the
    pair spans several cells in a notebook). Returns the text and the state at its end.
    """
    lines = text.split("\n")
    out: list[str] = []
    i = 0
    while i < len(lines):
        m = _FENCE_OPEN.match(lines[i])
        if m is None:
            if not gated:
                out.append(lines[i])
            i += 1
            continue
        fence, kind = m.group(2), m.group(3)
        char, length = fence[0], len(fence)
        j = i + 1
        while j < len(lines) and not _closes(lines[j], char, length):
            j += 1
        if kind == "solution-start":
            gated = True
        elif kind == "solution-end":
            gated = False
        i = j + 1
        # drop one blank line so "text\n\n<block>\n\ntext" becomes "text\n\ntext"
        if i < len(lines) and lines[i].strip() == "" and (not out or out[-1].strip() == ""):
            i += 1
    return "\n".join(out), gated


def unlink_instructors(text: str) -> str:
    """Drop every sentence that refers to the instructors' page (absent from the copy).

    A sentence runs from the end of the previous one (". ", a blank line or the start)
    to the next ". " or the end of its paragraph; an emptied paragraph disappears.
    """
    while True:
        m = _REF_INSTRUCTORS.search(text) or _REF_INSTRUCTORS_BARE.search(text)
        if m is None:
            return text
        para_start = text.rfind("\n\n", 0, m.start())
        para_start = 0 if para_start < 0 else para_start + 2
        dots = [i + 2 for i in (text.rfind(". ", para_start, m.start()),
                                text.rfind(".\n", para_start, m.start())) if i >= 0]  # fmt: skip
        start = max([para_start, *dots])
        para_end = text.find("\n\n", m.end())
        para_end = len(text) if para_end < 0 else para_end
        ends = [i + 1 for i in (text.find(". ", m.end(), para_end),
                                text.find(".\n", m.end(), para_end)) if i >= 0]  # fmt: skip
        end = min([*ends, para_end])
        if end < para_end and text[end : end + 1] in (" ", "\n"):
            end += 1
        text = text[:start] + text[end:]
        if not text[para_start:].split("\n\n", 1)[0].strip():  # emptied paragraph
            text = text[:para_start].rstrip("\n") + "\n\n" + text[para_start:].lstrip("\n")
            text = text.lstrip("\n") if para_start == 0 else text


def convert_markdown(text: str) -> str:
    """A markdown page: solutions removed, instructors' page unlinked."""
    new, gated = strip_solutions(text)
    if gated:
        raise EditionError("{solution-start} without {solution-end}")
    return unlink_instructors(new)


# --------------------------------------------------------------------------- notebooks
def _replace_url(node, old: str, new: str):
    if isinstance(node, str):
        return node.replace(old, new)
    if isinstance(node, list):
        return [_replace_url(v, old, new) for v in node]
    if isinstance(node, dict):
        return type(node)({k: _replace_url(v, old, new) for k, v in node.items()})
    return node


def convert_notebook(nb, name: str = "notebook", old_url: str = "", repo_url: str = ""):
    """Turn an instructor notebook (an ``nbformat`` node) into the student version, in place."""
    cells = []
    gated = False
    for index, cell in enumerate(nb.cells):
        where = f"{name}, cell {index}"
        if cell.cell_type == "markdown":
            new, gated_after = strip_solutions(cell.source, gated)
            if gated and gated_after:  # wholly inside a solution dropdown
                continue
            gated = gated_after
            new = unlink_instructors(new)
            if not new.strip():
                continue
            if new != cell.source:
                cell.source = new
            if "attachments" in cell:
                used = set(_ATTACHMENT.findall(cell.source))
                kept = {k: v for k, v in cell.attachments.items() if k in used}
                if kept:
                    cell.attachments = kept
                else:
                    del cell["attachments"]
            cells.append(cell)
            continue
        if gated or role(cell) == "solution":
            continue  # the solution code, in the dropdown or not
        if cell.cell_type == "code" and role(cell) == "stub":
            cell.outputs = []
            cell.execution_count = None
            cell.metadata["tags"] = [
                t for t in cell.metadata.get("tags", []) if t not in HIDING_TAGS
            ]
            cell.metadata.pop("execution", None)
        elif is_solution_cell(cell):  # the older form
            cell.source = stub_source(cell.source, where)
            cell.outputs = []
            cell.execution_count = None
            cell.metadata["tags"] = [
                t for t in cell.metadata.get("tags", []) if t not in HIDING_TAGS
            ]
            cell.metadata.pop("execution", None)
        elif calls_check(cell):
            cell.outputs = []
            cell.execution_count = None
            cell.metadata.pop("execution", None)
        if old_url and cell.cell_type == "code" and old_url in cell.source and not repo_url:
            raise EditionError(
                f"{where}: code uses the instructor repository URL {old_url}; "
                "pass --repo-url with the URL of the students' repository"
            )
        cells.append(cell)
    if gated:
        raise EditionError(f"{name}: {{solution-start}} without {{solution-end}}")
    nb.cells = cells
    if old_url:
        words = repo_url or "the course repository"
        for cell in nb.cells:
            new = repo_url if cell.cell_type == "code" else words
            for key in ("source", "outputs", "attachments"):
                if key in cell:
                    cell[key] = _replace_url(cell[key], old_url, new)
    return nb


def convert_toc(text: str) -> str:
    """Drop the line of ``_toc.yml`` that lists the instructors' page."""
    stem = INSTRUCTORS_PAGE.removesuffix(".md")
    pattern = re.compile(r"^\s*-\s*file:\s*" + re.escape(stem) + r"(\.md)?\s*$")
    return "\n".join(line for line in text.split("\n") if not pattern.match(line))


def convert_config(text: str, repo_url: str = "") -> str:
    """The student ``_config.yml``: execution off, solutions hidden, buttons to ``repo_url``.

    Without ``repo_url`` the repository section is removed and the repository, issue,
    edit, Binder and Colab buttons are turned off.
    """
    cfg = yaml.safe_load(text) or {}
    cfg.setdefault("execute", {})["execute_notebooks"] = "off"
    sphinx = cfg.setdefault("sphinx", {})
    sphinx.setdefault("config", {})["hide_solutions"] = True
    html = cfg.setdefault("html", {})
    launch = cfg.setdefault("launch_buttons", {})
    if repo_url:
        old = cfg.get("repository") or {}
        cfg["repository"] = {"url": repo_url, "path_to_book": old.get("path_to_book", ""),
                             "branch": old.get("branch", "main")}  # fmt: skip
    else:
        cfg.pop("repository", None)
        for key in ("use_repository_button", "use_issues_button", "use_edit_page_button"):
            html[key] = False
        launch["binderhub_url"] = ""
        launch["colab_url"] = ""
        launch["thebe"] = False
    exclude = cfg.setdefault("exclude_patterns", [])
    for pattern in ("code", "README.md", ".venv", "_build"):
        if pattern not in exclude:
            exclude.append(pattern)
    header = "# Student edition: written by make_student_edition.py (execution off).\n"
    return header + yaml.safe_dump(cfg, sort_keys=False, allow_unicode=True, width=100)


def convert_requirements(text: str) -> str:
    """The instructor's requirements without the instructor-only tools (and their comments)."""

    def name(line):
        return re.split(r"[<>=!~\[ ;]", line.strip(), maxsplit=1)[0].lower()

    blocks: list[list[str]] = [[]]
    for line in text.split("\n"):
        # a comment after a requirement starts a new block
        if line.startswith("#") and blocks[-1] and not blocks[-1][-1].startswith("#"):
            blocks.append([])
        blocks[-1].append(line)
    out = []
    for block in blocks:
        reqs = [ln for ln in block if ln.strip() and not ln.startswith("#")]
        if reqs and all(name(ln) in INSTRUCTOR_ONLY_PACKAGES for ln in reqs):
            continue
        out += [
            ln for ln in block if ln.startswith("#") or name(ln) not in INSTRUCTOR_ONLY_PACKAGES
        ]
    return "\n".join(out)


# --------------------------------------------------------------------------- the whole book
def _prepare_out(out: Path, source: Path) -> None:
    if out.resolve() == source.resolve() or source.resolve().is_relative_to(out.resolve()):
        raise EditionError(f"refusing to write the student edition over the course itself: {out}")
    if out.exists():
        if any(out.iterdir()) and not (out / MARKER_FILE).exists():
            raise EditionError(
                f"{out} exists, is not empty and is not a student edition; choose another --out"
            )
        shutil.rmtree(out)
    out.mkdir(parents=True)


def _instructor_url(source: Path) -> str:
    try:
        cfg = yaml.safe_load((source / "_config.yml").read_text(encoding="utf-8")) or {}
    except FileNotFoundError:
        return ""
    return str((cfg.get("repository") or {}).get("url") or "").rstrip("/")


def make_student_edition(out: Path, source: Path = ROOT, repo_url: str = "",
                         library: Path | None = None) -> list[Path]:  # fmt: skip
    """Write the student edition of the book in ``source`` to ``out``; returns the files written.

    ``library`` is the course root whose ``code/``, ``pyproject.toml`` and
    ``requirements.txt`` are shipped (default: this repository).
    """
    out, source = Path(out), Path(source)
    library = Path(library) if library is not None else ROOT
    repo_url = repo_url.rstrip("/")
    old_url = _instructor_url(source)
    if old_url and repo_url == old_url:
        raise EditionError("--repo-url is the instructor repository itself")
    _prepare_out(out, source)
    written: list[Path] = []

    def write(rel: str, text: str) -> None:
        if old_url:
            text = text.replace(old_url, repo_url or "the course repository")
        (out / rel).parent.mkdir(parents=True, exist_ok=True)
        (out / rel).write_text(text, encoding="utf-8")
        written.append(out / rel)

    for name in TOP_FILES:
        src = (library if name == "pyproject.toml" else source) / name
        if not src.exists():
            continue
        text = src.read_text(encoding="utf-8")
        if name == "_config.yml":
            text = convert_config(text, repo_url)
        elif name == "_toc.yml":
            text = convert_toc(text)
        elif name.endswith(".md"):
            text = convert_markdown(text)
        write(name, text)
    for path in sorted(source.iterdir()):
        if path.is_dir() and path.name.startswith("_") and path.name not in SKIP_DIRS:
            shutil.copytree(path, out / path.name, ignore=IGNORE)
    shutil.copytree(library / "code" / "weightinit", out / "code" / "weightinit", ignore=IGNORE)
    req = library / "requirements.txt"
    if req.exists():
        write("requirements.txt", convert_requirements(req.read_text(encoding="utf-8")))
    chapters = source / "chapters"
    for src in sorted(chapters.rglob("*")):
        rel = src.relative_to(source)
        if src.is_dir() or rel.as_posix() == INSTRUCTORS_PAGE:
            continue
        if any(part in (".ipynb_checkpoints", "__pycache__", "_build") for part in rel.parts):
            continue
        dst = out / rel
        dst.parent.mkdir(parents=True, exist_ok=True)
        if src.suffix == ".ipynb":
            nb = nbformat.read(src, as_version=4)
            convert_notebook(nb, rel.as_posix(), old_url, repo_url)
            nbformat.write(nb, dst)
            written.append(dst)
        elif src.suffix == ".md":
            write(rel.as_posix(), convert_markdown(src.read_text(encoding="utf-8")))
        else:
            shutil.copy2(src, dst)
            written.append(dst)
    write("README.md", README)
    write("Makefile", MAKEFILE)
    write(".gitignore", GITIGNORE)
    (out / MARKER_FILE).write_text(
        "Written by make_student_edition.py; this folder is replaced on every run.\n",
        encoding="utf-8",
    )
    verify(out, old_url)
    return written


def verify(out: Path, old_url: str = "") -> None:
    """Refuse an edition with a solution or a pointer to the instructor's material in it."""
    for path in sorted(Path(out).rglob("*")):
        if not path.is_file() or path.suffix not in (".ipynb", ".md", ".yml", ".txt", ".py", ""):
            continue
        text = path.read_text(encoding="utf-8", errors="replace")
        rel = path.relative_to(out)
        if path.suffix == ".ipynb":
            nb = nbformat.reads(text, as_version=4)
            for i, cell in enumerate(nb.cells):
                body = [ln.strip() for ln in solution_bodies(cell.source) if ln.strip()]
                leaked = BEGIN in cell.source and any(ln != STUB for ln in body)
                if role(cell) == "solution" or leaked:
                    raise EditionError(f"{rel}, cell {i}: solution left in the student edition")
        if path.suffix in (".ipynb", ".md") and re.search(r"\{solution(-start|-end)?\}", text):
            raise EditionError(f"{rel}: a {{solution}} block is left")
        if old_url and old_url in text:
            raise EditionError(f"{rel}: mentions the instructor repository {old_url}")
        if "instructors.md" in text or "<instructors>" in text or "`instructors`" in text:
            raise EditionError(f"{rel}: mentions the instructors' page")
    for forbidden in ("grading", "tests", "scripts", "chapters/instructors.md"):
        if (Path(out) / forbidden).exists():
            raise EditionError(f"{forbidden} must not be in the student edition")


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=ROOT / "student", help="output folder")
    parser.add_argument("--source", type=Path, default=ROOT, help="course root (default: here)")
    parser.add_argument("--repo-url", default="",
                        help="URL of the students' repository for the repository/launch "
                             "buttons (default: the buttons are off)")  # fmt: skip
    args = parser.parse_args(argv)
    try:
        files = make_student_edition(args.out, args.source, args.repo_url)
    except EditionError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    notebooks = [f for f in files if f.suffix == ".ipynb"]
    print(f"student edition written to {args.out}: {len(notebooks)} notebooks, {len(files)} files")
    return 0


if __name__ == "__main__":
    sys.exit(main())
