"""Sphinx extension: the website shows a solution's code without its grading markers.

A solution cell (tag ``solution``) wraps the part a student writes in ``# BEGIN
SOLUTION`` / ``# END SOLUTION``: the student edition and the grader need the markers,
a reader of the site does not. Their lines are dropped from the code shown on the page
(the notebook, and so the download and the student edition, keep them).
"""

from __future__ import annotations

import re

from docutils import nodes

MARKER = re.compile(r"^\s*# (BEGIN|END) SOLUTION\s*$")
TAG_CLASS = "tag_solution"


def _in_solution_cell(node) -> bool:
    parent = node.parent
    while parent is not None:
        if isinstance(parent, nodes.container) and "cell" in parent.get("classes", []):
            return TAG_CLASS in parent["classes"]
        parent = parent.parent
    return False


def strip_markers(text: str) -> str:
    return "\n".join(line for line in text.split("\n") if not MARKER.match(line))


def _strip(app, doctree, docname) -> None:
    for block in list(doctree.findall(nodes.literal_block)):
        text = block.astext()
        if "SOLUTION" not in text or not _in_solution_cell(block):
            continue
        new = strip_markers(text)
        if new != text:
            block.children = [nodes.Text(new)]
            block.rawsource = new


def setup(app):
    app.connect("doctree-resolved", _strip)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
