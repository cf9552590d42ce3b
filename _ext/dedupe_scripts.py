"""Sphinx extension: emit each <script> of a page once.

Sphinx 7.4 adds a script that an extension registers after the builder is
initialised twice to every page: once as given (``filename=None``, an inline
``body``) and once more from the registry with ``filename=''`` in
``StandaloneHTMLBuilder.prepare_writing``; the two compare unequal, so both are
written. For sphinx-thebe's inline configuration, which declares
``const THEBE_JS_URL``, the copy is a JavaScript error on every page
("Identifier 'THEBE_JS_URL' has already been declared"), which the browser test
(browser_tests/) rightly reports. This extension drops the later copy of any
script with the same file name (``None`` and ``''`` being the same) and the same
attributes.
"""

from __future__ import annotations


def _key(js) -> tuple:
    filename = getattr(js, "filename", js) or ""
    attributes = getattr(js, "attributes", {}) or {}
    return (filename, tuple(sorted((k, str(v)) for k, v in attributes.items())))


def _dedupe(app, pagename, templatename, context, doctree) -> None:
    scripts = context.get("script_files")
    if not scripts:
        return
    seen, unique = set(), []
    for js in scripts:
        key = _key(js)
        if key not in seen:
            seen.add(key)
            unique.append(js)
    # the builder restores its own list after every page, so editing it here is safe
    scripts[:] = unique


def setup(app):
    # after the other extensions' html-page-context handlers (default priority 500)
    app.connect("html-page-context", _dedupe, priority=900)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
