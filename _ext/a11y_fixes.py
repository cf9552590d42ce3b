"""Sphinx extension: accessible names that axe-core reports as mismatched, fixed in the HTML.

myst-nb's folded code cells (``hide-input``) render ``<summary aria-label="Toggle hidden
content">Show code cell source</summary>``: a name that does not contain the visible
text (axe-core's ``label-content-name-mismatch``, impact serious). The label is dropped,
so the summary is named by what it shows. (The theme's search and colour-mode buttons
are fixed in ``_templates/``; the bibliography's list items in
``bibstyle.py``.)
"""

from __future__ import annotations

import re

_SUMMARY = re.compile(r'<summary aria-label="Toggle hidden content">')


def _fix(app, pagename, templatename, context, doctree) -> None:
    body = context.get("body")
    if body and "Toggle hidden content" in body:
        context["body"] = _SUMMARY.sub("<summary>", body)


def setup(app):
    app.connect("html-page-context", _fix)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
