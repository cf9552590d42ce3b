"""Read a notebook and find its exercises by the cell metadata of the exercise pattern.

Every cell of a programming exercise carries
``"weightinit": {"exercise": "<id>", "role": "stub" | "solution" | "check", "points": N}``
(points on the stub only; see CONTRIBUTING.md). Cells are found by that metadata,
never by position or file name.
"""

from __future__ import annotations

import ast
import json
import re
from dataclasses import dataclass, field
from pathlib import Path

import nbformat

ROLES = ("stub", "solution", "check")
_CHECK_CALL = re.compile(r"\bcheck_(?:initializer|fans|conv2d|value)\s*\(")


class InvalidNotebook(ValueError):
    """The file is not a readable Jupyter notebook."""


@dataclass
class ExerciseCells:
    """The cells of one exercise in one notebook."""

    id: str
    points: float = 0.0
    stub: str | None = None
    solutions: list[str] = field(default_factory=list)
    checks: list[str] = field(default_factory=list)
    stub_index: int | None = None


@dataclass
class Notebook:
    path: Path
    exercises: dict[str, ExerciseCells]
    #: code of the cells that belong to no exercise (for imports and tampering scans)
    other_code: list[tuple[int, str]]
    #: code cells not marked as a check that call a check of weightinit.checks
    stray_checks: list[tuple[int, str]]


def _meta(cell) -> dict | None:
    meta = cell.get("metadata", {}).get("weightinit")
    if not isinstance(meta, dict):
        return None
    if not isinstance(meta.get("exercise"), str) or meta.get("role") not in ROLES:
        return None
    return meta


def read(path: Path, max_bytes: int = 20 << 20) -> Notebook:
    """Parse ``path``; raises :class:`InvalidNotebook` with the reason."""
    path = Path(path)
    try:
        if path.stat().st_size > max_bytes:
            raise InvalidNotebook(f"larger than {max_bytes >> 20} MB")
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise InvalidNotebook(f"cannot be read: {exc}") from None
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise InvalidNotebook(f"not JSON ({exc.msg} at line {exc.lineno})") from None
    try:
        nb = nbformat.from_dict(data)
        if nb.get("nbformat", 0) < 4:
            nb = nbformat.convert(nb, 4)
        cells = nb["cells"]
    except Exception as exc:
        raise InvalidNotebook(f"not a Jupyter notebook ({type(exc).__name__})") from None
    if not isinstance(cells, list):
        raise InvalidNotebook("not a Jupyter notebook (no list of cells)")
    exercises: dict[str, ExerciseCells] = {}
    other, stray = [], []
    for index, cell in enumerate(cells):
        if not isinstance(cell, dict) or cell.get("cell_type") != "code":
            continue
        source = cell.get("source", "")
        if isinstance(source, list):
            source = "".join(source)
        if not isinstance(source, str):
            continue
        meta = _meta(cell)
        if meta is None:
            other.append((index, source))
            if _CHECK_CALL.search(source):
                stray.append((index, source))
            continue
        ex = exercises.setdefault(meta["exercise"], ExerciseCells(meta["exercise"]))
        role = meta["role"]
        if role == "stub":
            if ex.stub is None:
                ex.stub, ex.stub_index = source, index
                points = meta.get("points", 0)
                ok = isinstance(points, (int, float)) and not isinstance(points, bool)
                ex.points = float(points) if ok and points >= 0 else 0.0
            else:  # a second stub cell of the same exercise: the student's extra code
                ex.stub += "\n\n" + source
        elif role == "solution":
            ex.solutions.append(source)
        else:
            ex.checks.append(source)
    return Notebook(path, exercises, other, stray)


def strip_magics(source: str) -> str:
    """IPython-only lines (``%magic``, ``!shell``) become comments, so ``ast`` can parse."""
    out = []
    for line in source.split("\n"):
        s = line.lstrip()
        out.append(line[: len(line) - len(s)] + "# " + s if s.startswith(("%", "!")) else line)
    return "\n".join(out)


def normalize(source: str) -> str:
    """Source without blank lines and trailing spaces (for 'was it edited?' comparisons)."""
    return "\n".join(line.rstrip() for line in source.strip().split("\n") if line.strip())


def imports_for(code: str, other_cells: list[tuple[int, str]]) -> str:
    """Import statements of the notebook's other cells that bind names ``code`` uses freely.

    The pattern makes exercise cells self-contained, but a student who imported numpy
    once at the top of the notebook should not get a NameError for it.
    """
    try:
        tree = ast.parse(code)
    except SyntaxError:
        return ""
    free = free_names(tree)
    lines: list[str] = []
    for _, source in other_cells:
        try:
            cell = ast.parse(strip_magics(source))
        except SyntaxError:
            continue
        for node in cell.body:
            if isinstance(node, (ast.Import, ast.ImportFrom)):
                for alias in node.names:
                    bound = alias.asname or alias.name.split(".")[0]
                    if bound in free and alias.name != "*":
                        one = type(node)(**{**node.__dict__, "names": [alias]})
                        lines.append(ast.unparse(one))
                        free.discard(bound)
    return "\n".join(lines)


def free_names(tree: ast.AST) -> set[str]:
    """Names read somewhere in ``tree`` and bound nowhere in it (builtins excluded)."""
    import builtins

    loaded, bound = set(), set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Name):
            (loaded if isinstance(node.ctx, ast.Load) else bound).add(node.id)
        elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            bound.add(node.name)
        elif isinstance(node, ast.arg):
            bound.add(node.arg)
        elif isinstance(node, (ast.Import, ast.ImportFrom)):
            for alias in node.names:
                bound.add(alias.asname or alias.name.split(".")[0])
    return loaded - bound - set(dir(builtins))
