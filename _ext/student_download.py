"""Sphinx extension: each chapter page offers the student notebook next to the solved one.

When the HTML is written, every notebook page whose notebook has an exercise solution
(a cell tagged ``solution`` or with ``"weightinit": {"role": "solution"}`` metadata, or
a ``{solution}`` / ``{solution-start}`` block in its markdown) gets

* ``_downloads/student/<name>.ipynb`` in the output: the notebook converted by the
  student edition's own function (``convert_notebook`` of
  ``scripts/make_student_edition.py``, the code behind ``make student``), so the
  download and the student edition never disagree;
* a bar under the page's title with two links, "Notebook with solutions" (the source
  that the theme's download button serves) and "Student notebook (blank exercises)";
* the same student link in the theme's download menu.

The browser test downloads the student notebook and checks that no solution is in it.
"""

from __future__ import annotations

import importlib.util
import re
from pathlib import Path

import nbformat

_SOLUTION_MD = re.compile(r"^\s*(:{3,}|`{3,})\{solution(-start)?\}", re.MULTILINE)
_GATED_START = re.compile(r"^\s*(:{3,}|`{3,})\{solution-start\}", re.MULTILINE)
_GATED_END = re.compile(r"^\s*(:{3,}|`{3,})\{solution-end\}", re.MULTILINE)
_H1_END = re.compile(r"</h1>")


def _edition(app):
    """The student edition's module, or None in a book without it (the student edition)."""
    path = Path(app.srcdir) / "scripts" / "make_student_edition.py"
    if not path.is_file():
        return None
    spec = importlib.util.spec_from_file_location("make_student_edition", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def has_solutions(nb) -> bool:
    for cell in nb.cells:
        meta = cell.get("metadata", {})
        if cell.cell_type == "code" and (
            "solution" in meta.get("tags", [])
            or meta.get("weightinit", {}).get("role") == "solution"
        ):
            return True
        if cell.cell_type == "markdown" and _SOLUTION_MD.search(cell.source):
            return True
    return False


def drop_gated_solutions(nb) -> None:
    """Remove every cell from a ``{solution-start}`` cell to its ``{solution-end}`` cell.

    CONTRIBUTING's exercise pattern puts the solution (code and explanation) in cells
    between a markdown cell holding only ``{solution-start}`` and one holding only
    ``{solution-end}``; the student notebook drops them all. Done here before
    ``convert_notebook``, which (in its older form) handles a solution block only
    within one markdown cell.
    """
    keep, inside = [], False
    for cell in nb.cells:
        text = cell.source if cell.cell_type == "markdown" else ""
        if not inside and _GATED_START.search(text):
            inside = not _GATED_END.search(text)
            continue
        if inside:
            if _GATED_END.search(text):
                inside = False
            continue
        keep.append(cell)
    nb.cells = keep


def student_target(docname: str) -> str:
    return f"_downloads/student/{Path(docname).name}.ipynb"


def _write(app, pagename: str, source: Path) -> str | None:
    nb = nbformat.read(source, as_version=4)
    edition = _edition(app)
    if edition is None or not has_solutions(nb):
        return None
    drop_gated_solutions(nb)
    edition.convert_notebook(nb, pagename)
    target = student_target(pagename)
    out = Path(app.outdir) / target
    out.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(nb, out)
    return target


def _page(app, pagename, templatename, context, doctree) -> None:
    if app.builder.format != "html" or doctree is None:
        return
    source = Path(app.env.doc2path(pagename))
    if source.suffix != ".ipynb":
        return
    target = _write(app, pagename, source)
    if target is None:
        return
    pathto = context["pathto"]
    student = pathto(target, 1)
    solved = pathto("_sources/" + context.get("sourcename", ""), 1)
    name = Path(pagename).name
    bar = (
        '<div class="wi-downloads" role="group" aria-label="Download this chapter">'
        '<span class="wi-downloads-label">Download this chapter:</span> '
        f'<a class="wi-download-solved" href="{solved}" download="{name}.ipynb">'
        "Notebook with solutions (.ipynb)</a> "
        f'<a class="wi-download-student" href="{student}" download="{name}-student.ipynb">'
        "Student notebook, blank exercises (.ipynb)</a></div>"
    )
    body = context.get("body", "")
    context["body"] = _H1_END.sub("</h1>" + bar, body, count=1) if "</h1>" in body else bar + body
    for button in context.get("header_buttons", []):
        if button.get("type") == "group" and any(
            "download" in str(b.get("label", "")) for b in button.get("buttons", [])
        ):
            button["buttons"].append({
                "type": "link", "url": student, "text": "student .ipynb",
                "tooltip": "Student notebook (blank exercises)",
                "icon": "fas fa-file-pen", "label": "download-student-notebook-button",
            })  # fmt: skip
            break


def setup(app):
    # after sphinx-book-theme's header buttons (default priority 500)
    app.connect("html-page-context", _page, priority=900)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
