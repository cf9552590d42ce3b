"""Write the student edition of the course: the book with the exercise solutions taken out.

Usage::

    python scripts/make_student_edition.py                 # writes ./student
    python scripts/make_student_edition.py --out /tmp/hw1  # anywhere else
    make student                                           # the same as the first line

What the student copy contains
------------------------------
The book sources (``_config.yml``, ``_toc.yml``, ``intro.md``, ``references.bib``,
every top-level folder whose name starts with ``_`` such as ``_static/`` or ``_ext/``
(not ``_build/``), and ``chapters/``) except the instructors' page
``chapters/instructors.md`` (and its entry in ``_toc.yml``; references to it become
plain text). In every notebook:

* a code cell tagged ``solution`` keeps its signature and docstring, but the code
  between ``# BEGIN SOLUTION`` and ``# END SOLUTION`` becomes
  ``raise NotImplementedError("Exercise: write your solution here")`` (at the
  indentation of the marker); a tagged cell without markers becomes a comment and
  that ``raise``. Its outputs and execution count are cleared and its
  ``hide-input`` tag (and any other tag that would hide the stub) removed;
* every code cell that calls a check of :mod:`weightinit.checks` has its outputs
  cleared, so the student does not see the instructor's ``PASS``;
* ``{solution}`` blocks of sphinx-exercise (both the ```` ``` ```` and the ``:::``
  fence forms, and the gated ``{solution-start}``/``{solution-end}`` form) are
  removed from markdown cells and from the markdown pages;
* every other cell is left exactly as it was.

The copied ``_config.yml`` gets ``hide_solutions: true`` (sphinx-exercise's option)
under ``sphinx: config:`` and ``execute_notebooks: "off"``: a build of the student
copy shows the stored outputs of the untouched cells and does not run the stubs.

The output is deterministic and the command idempotent: running it twice gives the
same files. The output folder is replaced as a whole, so the script refuses to
write into a non-empty folder it did not create (it leaves a marker file).
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
TOP_FILES = ("_config.yml", "_toc.yml", "intro.md", "references.bib")
#: Top-level folders starting with "_" (``_static``, ``_ext``, ``_vendor``...) are copied,
#: except these.
SKIP_DIRS = {"_build", "__pycache__"}
IGNORE = shutil.ignore_patterns(".ipynb_checkpoints", "__pycache__", "_build", "*.pyc")

_BEGIN_RE = re.compile(r"^(\s*)" + re.escape(BEGIN) + r"\s*$")
_END_RE = re.compile(r"^\s*" + re.escape(END) + r"\s*$")
_FENCE_OPEN = re.compile(r"^(\s*)(`{3,}|:{3,})\{(solution|solution-start|solution-end)\}")
_REF_INSTRUCTORS = re.compile(r"\{ref\}`([^`<]*?)\s*<instructors>`")
_REF_INSTRUCTORS_BARE = re.compile(r"\{ref\}`instructors`")

README = """\
# Student edition

This is the student copy of the course "Initializing Neural Network Weights".

* The programming exercises are code cells containing
  `raise NotImplementedError("Exercise: write your solution here")` between the
  markers `# BEGIN SOLUTION` and `# END SOLUTION`. Replace that line with your code,
  keeping the function's name and arguments.
* The cell after each exercise calls a check from `weightinit.checks`. Run it: it
  prints what is right (✔), what is wrong (✘) with a hint, and a verdict line that
  starts with PASS or FAIL.
* Install the library and the tools with `pip install -r requirements.txt` from the
  course repository, then open the notebooks in `chapters/` with Jupyter.
"""


class EditionError(ValueError):
    """A source file that cannot be turned into a student copy (e.g. unbalanced markers)."""


# --------------------------------------------------------------------------- code cells
def stub_source(source: str, where: str = "cell") -> str:
    """Replace every ``# BEGIN SOLUTION`` ... ``# END SOLUTION`` region by a stub.

    The marker lines are kept, so the student sees where to write; the stub is
    indented like the ``# BEGIN SOLUTION`` line. A source without markers is
    replaced entirely by :data:`STUB_CELL`.
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


def is_solution_cell(cell) -> bool:
    return cell.cell_type == "code" and SOLUTION_TAG in cell.metadata.get("tags", [])


def calls_check(cell) -> bool:
    return cell.cell_type == "code" and bool(CHECK_CALL.search(cell.source))


# --------------------------------------------------------------------------- markdown
def _closes(line: str, char: str, length: int) -> bool:
    stripped = line.strip()
    return len(stripped) >= length and set(stripped) == {char}


def strip_solutions(text: str) -> str:
    """Remove sphinx-exercise ``{solution}`` blocks (``` and ::: fences, gated form too).

    A blank line left over between the text before and after a removed block is
    dropped, so no run of blank lines is created.
    """
    lines = text.split("\n")
    out: list[str] = []
    i = 0
    gated = False  # inside {solution-start} ... {solution-end}
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
        # lines i..j (inclusive) are the directive block
        if kind == "solution-start":
            gated = True
        elif kind == "solution-end":
            gated = False
        i = j + 1
        # drop one blank line so "text\n\n<block>\n\ntext" becomes "text\n\ntext"
        if i < len(lines) and lines[i].strip() == "" and (not out or out[-1].strip() == ""):
            i += 1
    if gated:
        raise EditionError("{solution-start} without {solution-end}")
    return "\n".join(out)


def unlink_instructors(text: str) -> str:
    """References to the instructors' page (absent from the student copy) become text."""
    text = _REF_INSTRUCTORS.sub(lambda m: m.group(1), text)
    return _REF_INSTRUCTORS_BARE.sub("the page for instructors", text)


def convert_markdown(text: str) -> str:
    return unlink_instructors(strip_solutions(text))


# --------------------------------------------------------------------------- notebooks
def convert_notebook(nb, name: str = "notebook"):
    """Turn an instructor notebook (an ``nbformat`` node) into the student version, in place."""
    for index, cell in enumerate(nb.cells):
        if is_solution_cell(cell):
            cell.source = stub_source(cell.source, f"{name}, cell {index}")
            cell.outputs = []
            cell.execution_count = None
            tags = [t for t in cell.metadata.get("tags", []) if t not in HIDING_TAGS]
            cell.metadata["tags"] = tags
            cell.metadata.pop("execution", None)
        elif calls_check(cell):
            if cell.outputs or cell.execution_count is not None:
                cell.outputs = []
                cell.execution_count = None
        elif cell.cell_type == "markdown":
            new = convert_markdown(cell.source)
            if new != cell.source:
                cell.source = new
    return nb


def convert_toc(text: str) -> str:
    """Drop the line of ``_toc.yml`` that lists the instructors' page."""
    stem = INSTRUCTORS_PAGE.removesuffix(".md")
    pattern = re.compile(r"^\s*-\s*file:\s*" + re.escape(stem) + r"(\.md)?\s*$")
    return "\n".join(line for line in text.split("\n") if not pattern.match(line))


def convert_config(text: str) -> str:
    """Set ``sphinx.config.hide_solutions: true`` and turn notebook execution off.

    Edits the text (so comments survive) and verifies the result with a YAML parser.
    """
    lines = text.split("\n")
    # 1. execution off
    exec_re = re.compile(r"^(\s+)execute_notebooks\s*:.*$")
    found = False
    for k, line in enumerate(lines):
        m = exec_re.match(line)
        if m:
            lines[k] = f'{m.group(1)}execute_notebooks: "off"'
            found = True
    if not found:
        if any(re.match(r"^execute\s*:", line) for line in lines):
            k = next(i for i, line in enumerate(lines) if re.match(r"^execute\s*:", line))
            lines.insert(k + 1, '  execute_notebooks: "off"')
        else:
            lines += ["execute:", '  execute_notebooks: "off"']
    # 2. hide_solutions under sphinx: config:
    lines = [line for line in lines if not re.match(r"^\s+hide_solutions\s*:", line)]
    top = next((i for i, line in enumerate(lines) if re.match(r"^sphinx\s*:", line)), None)
    if top is None:
        lines += ["sphinx:", "  config:", "    hide_solutions: true"]
    else:
        end = next(
            (i for i in range(top + 1, len(lines)) if re.match(r"^\S", lines[i])), len(lines)
        )
        cfg = next(
            (i for i in range(top + 1, end) if re.match(r"^(\s+)config\s*:\s*$", lines[i])), None
        )
        if cfg is None:
            lines.insert(top + 1, "  config:")
            lines.insert(top + 2, "    hide_solutions: true")
        else:
            indent = re.match(r"^(\s+)", lines[cfg]).group(1)
            child = next(
                (
                    re.match(r"^(\s+)", lines[i]).group(1)
                    for i in range(cfg + 1, end)
                    if lines[i].strip() and not lines[i].lstrip().startswith("#")
                ),
                indent * 2,
            )
            lines.insert(cfg + 1, f"{child}hide_solutions: true")
    out = "\n".join(lines)
    parsed = yaml.safe_load(out)
    if parsed["sphinx"]["config"].get("hide_solutions") is not True:
        raise EditionError("could not set sphinx.config.hide_solutions in _config.yml")
    if parsed["execute"]["execute_notebooks"] != "off":
        raise EditionError("could not turn notebook execution off in _config.yml")
    return out


# --------------------------------------------------------------------------- the whole book
def _prepare_out(out: Path) -> None:
    if out.resolve() == ROOT.resolve() or ROOT.resolve().is_relative_to(out.resolve()):
        raise EditionError(f"refusing to write the student edition over the course itself: {out}")
    if out.exists():
        if any(out.iterdir()) and not (out / MARKER_FILE).exists():
            raise EditionError(
                f"{out} exists, is not empty and is not a student edition; choose another --out"
            )
        shutil.rmtree(out)
    out.mkdir(parents=True)


def make_student_edition(out: Path, source: Path = ROOT) -> list[Path]:
    """Write the student edition of the book in ``source`` to ``out``; returns the files written."""
    out, source = Path(out), Path(source)
    _prepare_out(out)
    written: list[Path] = []
    for name in TOP_FILES:
        src = source / name
        if not src.exists():
            continue
        text = src.read_text(encoding="utf-8")
        if name == "_config.yml":
            text = convert_config(text)
        elif name == "_toc.yml":
            text = convert_toc(text)
        elif name.endswith(".md"):
            text = convert_markdown(text)
        (out / name).write_text(text, encoding="utf-8")
        written.append(out / name)
    for path in sorted(source.iterdir()):
        if path.is_dir() and path.name.startswith("_") and path.name not in SKIP_DIRS:
            shutil.copytree(path, out / path.name, ignore=IGNORE)
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
            convert_notebook(nb, rel.as_posix())
            nbformat.write(nb, dst)
        elif src.suffix == ".md":
            dst.write_text(convert_markdown(src.read_text(encoding="utf-8")), encoding="utf-8")
        else:
            shutil.copy2(src, dst)
        written.append(dst)
    (out / "README.md").write_text(README, encoding="utf-8")
    (out / MARKER_FILE).write_text(
        "Written by scripts/make_student_edition.py; this folder is replaced on every run.\n",
        encoding="utf-8",
    )
    return written


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=ROOT / "student", help="output folder")
    parser.add_argument("--source", type=Path, default=ROOT, help="course root (default: here)")
    args = parser.parse_args(argv)
    try:
        files = make_student_edition(args.out, args.source)
    except EditionError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    notebooks = [f for f in files if f.suffix == ".ipynb"]
    print(f"student edition written to {args.out}: {len(notebooks)} notebooks, {len(files)} files")
    return 0


if __name__ == "__main__":
    sys.exit(main())
