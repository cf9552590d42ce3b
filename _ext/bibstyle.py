"""Sphinx extension: the course's bibliography, author-year with links and back-links.

* A pybtex formatting style ``wi`` (registered here; ``bibtex_default_style: wi`` in
  ``_config.yml``): pybtex's ``unsrt`` entries (which link DOIs, arXiv ids and URLs),
  sorted by author, year and title, labelled "He et al., 2015" (two authors: "Glorot
  and Bengio, 2010"; a letter is added when two entries would share a label), with
  ``and others`` in a .bib author list printed as "et al.".
* Back-links: every entry of the bibliography page ends with "Cited in" and a link to
  the first citation of it on each page that cites it ("Chapter 5" for a numbered
  chapter, the page title otherwise). sphinxcontrib-bibtex only makes back-links
  within one page; the course cites from the chapters and lists on its own page.
* Accessibility: docutils marks the list of entries ``role="list"`` but each entry
  ``role="doc-biblioentry"``, which axe-core reports (a list needs list items); the
  entries become ``role="listitem"``.
* Speed: pybtex finds a plugin by name by scanning the entry points of every installed
  distribution (about 15 ms each time), and rendering a label or a tooltip as plain text
  asks for the plain-text backend by name each time: 222 scans, about 2.7 s of a 17 s
  book build. The backend is found once and registered as a runtime plugin under its
  two names (the same class), which pybtex looks up first.
"""

from __future__ import annotations

import re
from collections import Counter, defaultdict

from docutils import nodes
from pybtex.plugin import find_plugin, register_plugin
from pybtex.richtext import Text
from pybtex.style.formatting.unsrt import Style as UnsrtStyle
from pybtex.style.labels import BaseLabelStyle
from pybtex.style.template import FieldIsMissing, join, node, sentence
from sphinx import addnodes


def _is_others(person) -> bool:
    return " ".join(person.last_names).strip().lower() == "others"


_PLAINTEXT = find_plugin("pybtex.backends", "plaintext")  # the class, found once


def _plain(parts) -> str:
    return Text.from_latex(" ".join(parts)).render_as("text")


@node
def names_et_al(children, context, role, **kwargs):
    """Like pybtex's ``names``, with a final ``others`` printed as "et al."."""
    if children:
        raise ValueError(children)
    entry = context["entry"]
    try:
        persons = entry.persons[role]
    except KeyError:
        raise FieldIsMissing(role, entry) from None
    style = context["style"]
    real = [p for p in persons if not _is_others(p)]
    formatted = [style.format_name(p, style.abbreviate_names) for p in real]
    names = join(**kwargs)[formatted].format_data(context)
    if len(real) < len(persons):
        return join[names, " et al."].format_data(context)
    return names


def author_year(entry) -> str:
    persons = entry.persons.get("author") or entry.persons.get("editor") or []
    real = [p for p in persons if not _is_others(p)]
    lasts = [_plain(p.prelast_names + p.last_names) for p in real]
    year = entry.fields.get("year", "n.d.")
    if not lasts:
        return f"{_plain([entry.fields.get('title', entry.key)])}, {year}"
    if len(lasts) == 1 and len(real) == len(persons):
        who = lasts[0]
    elif len(lasts) == 2 and len(real) == len(persons):
        who = f"{lasts[0]} and {lasts[1]}"
    else:
        who = f"{lasts[0]} et al."
    return f"{who}, {year}"


class AuthorYearLabelStyle(BaseLabelStyle):
    """Labels "He et al., 2015"; "LeCun et al., 1998a" / "1998b" when two coincide."""

    def format_labels(self, sorted_entries):
        entries = list(sorted_entries)
        labels = [author_year(e) for e in entries]
        counts = Counter(labels)
        seen: Counter = Counter()
        for label in labels:
            if counts[label] > 1:
                seen[label] += 1
                yield label + "abcdefghijklmnopqrstuvwxyz"[seen[label] - 1]
            else:
                yield label


class CourseStyle(UnsrtStyle):
    default_label_style = "wi_author_year"
    default_sorting_style = "author_year_title"

    def format_names(self, role, as_sentence=True):
        formatted = names_et_al(role, sep=", ", sep2=" and ", last_sep=", and ")
        return sentence[formatted] if as_sentence else formatted


def _page_label(env, docname: str) -> str:
    numbers = env.toc_secnumbers.get(docname, {}).get("")
    if numbers:
        return "Chapter " + ".".join(str(n) for n in numbers)
    title = env.titles.get(docname)
    return title.astext() if title is not None else docname


def _back_links(app, doctree, docname) -> None:
    domain = app.env.get_domain("cite")
    citations = {
        c.citation_id: c.key for c in domain.citations if c.bibliography_key.docname == docname
    }
    if not citations:
        return
    refs_by_key: dict[str, dict[str, str]] = defaultdict(dict)  # key -> {docname: first ref id}
    for ref in domain.citation_refs:
        for target in ref.targets:
            refs_by_key[target.key].setdefault(ref.docname, ref.citation_ref_id)
    order = {d: i for i, d in enumerate(_reading_order(app))}
    for citation in doctree.findall(nodes.citation):
        key = next((citations[i] for i in citation["ids"] if i in citations), None)
        if key is None or not refs_by_key.get(key):
            continue
        para = nodes.paragraph(classes=["wi-backlinks"])
        para += nodes.Text("Cited in: ")
        pages = sorted(refs_by_key[key].items(), key=lambda kv: order.get(kv[0], 1_000))
        for i, (citing, ref_id) in enumerate(pages):
            if i:
                para += nodes.Text(", ")
            uri = app.builder.get_relative_uri(docname, citing) + "#" + ref_id
            para += nodes.reference("", _page_label(app.env, citing), refuri=uri, internal=True)
        para += nodes.Text(".")
        citation += para


def _reading_order(app) -> list[str]:
    env = app.env
    root = app.config.root_doc
    order, stack = [], [root]
    while stack:
        doc = stack.pop(0)
        if doc in order:
            continue
        order.append(doc)
        stack[0:0] = env.toctree_includes.get(doc, [])
    return order


def _keep_citation_anchors(app, doctree) -> None:
    """Give each citation an anchor that survives resolution (the back-links' targets).

    sphinxcontrib-bibtex records the id of every citation's pending reference, but the
    resolved reference does not keep it; an empty ``<span id=...>`` in front does.
    """
    for ref in list(doctree.findall(addnodes.pending_xref)):
        if ref.get("refdomain") == "cite" and ref.get("ids"):
            anchor = nodes.inline("", "", ids=list(ref["ids"]))
            ref["ids"] = []
            ref.parent.insert(ref.parent.index(ref), anchor)


_BIBLIOENTRY = re.compile(r'(<div class="citation"[^>]*?) role="doc-biblioentry"')


def _list_items(app, pagename, templatename, context, doctree) -> None:
    body = context.get("body")
    if body and "doc-biblioentry" in body:
        context["body"] = _BIBLIOENTRY.sub(r'\1 role="listitem"', body)


def setup(app):
    register_plugin("pybtex.style.labels", "wi_author_year", AuthorYearLabelStyle)
    register_plugin("pybtex.style.formatting", "wi", CourseStyle)
    # what the entry points give, without the scan (see the module docstring)
    for name in ("plaintext", "text"):
        register_plugin("pybtex.backends", name, _PLAINTEXT, force=True)
    app.connect("doctree-read", _keep_citation_anchors)
    app.connect("doctree-resolved", _back_links)
    app.connect("html-page-context", _list_items)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
