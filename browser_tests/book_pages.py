"""What the browser test expects of each page, read from ``_toc.yml`` and the sources.

The pages are taken in reading order from the table of contents (the root first,
then every ``file`` of every part, sections included), so that the test covers a
chapter as soon as it is listed there. For each page the source (``.md`` or
``.ipynb``) tells:

* ``title``: its first ``# `` heading, as plain text (inline code kept, each formula
  replaced by ``MATH_PLACEHOLDER``);
* ``sections``: its ``## `` headings, in order;
* ``has_math``: whether its markdown contains math (``$...$``, ``$$...$$``, amsmath
  environments, ``{math}`` directives or roles);
* ``has_images``: whether a stored cell output or the markdown holds an image;
* ``dropdown_solutions``: how many ``{solution}`` (or gated ``{solution-start}``)
  directives use ``:class: dropdown``;
* ``hidden_cells``: how many code cells are tagged ``hide-input`` (solutions whose
  code is folded away);
* ``numbered``: whether it is in a numbered part (the chapters of the course).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path

import yaml
from markdown_it import MarkdownIt
from mdit_py_plugins.amsmath import amsmath_plugin
from mdit_py_plugins.dollarmath import dollarmath_plugin

_MD = MarkdownIt("commonmark").use(dollarmath_plugin, double_inline=True).use(amsmath_plugin)
_SOLUTION = re.compile(r"^(:{3,}|`{3,})\{solution(-start)?\}", re.MULTILINE)
_MATH_DIRECTIVE = re.compile(r"(^(:{3,}|`{3,})\{math\})|\{math\}`", re.MULTILINE)
_IMAGE = re.compile(r"(^(:{3,}|`{3,})\{(figure|image)\})|!\[[^\]]*\]\(", re.MULTILINE)


@dataclass
class Page:
    docname: str  # e.g. "chapters/02_zero_constant"
    source: Path
    numbered: bool
    title: str = ""
    sections: list[str] = field(default_factory=list)
    has_math: bool = False
    has_images: bool = False
    dropdown_solutions: int = 0
    hidden_cells: int = 0

    @property
    def url(self) -> str:
        """Path of the HTML page relative to the site root."""
        return f"{self.docname}.html"


@dataclass
class Book:
    title: str
    pages: list[Page]


def _toc_entries(toc: dict):
    """(docname, numbered) for every page of a jb-book table of contents, in order."""
    yield toc["root"], False

    def walk(entries, numbered):
        for entry in entries or []:
            if "file" in entry:
                yield entry["file"], numbered
            yield from walk(entry.get("sections"), numbered)

    for part in toc.get("parts", []):
        yield from walk(part.get("chapters"), bool(part.get("numbered", False)))
    yield from walk(toc.get("chapters"), False)


#: stands for a formula in a heading's text (the browser renders it as anything)
MATH_PLACEHOLDER = "\u2063"


def _inline_text(token) -> str:
    """Plain text of an inline token: text and inline code, markup dropped, each
    formula replaced by MATH_PLACEHOLDER."""
    out = []
    for child in token.children or []:
        if child.type in ("text", "code_inline"):
            out.append(child.content)
        elif child.type.startswith("math"):
            out.append(MATH_PLACEHOLDER)
        elif child.type in ("softbreak", "hardbreak"):
            out.append(" ")
    return normalize("".join(out))


_TYPOGRAPHY = str.maketrans({"\u2018": "'", "\u2019": "'", "\u201c": '"', "\u201d": '"',
                             "\u2013": "-", "\u2014": "-", "\u2026": "..."})  # fmt: skip


def normalize(text: str) -> str:
    """Text as the source and the browser's textContent share it: whitespace collapsed,
    and the typography of Sphinx's smartquotes (curly quotes, dashes from ``--`` and
    ``---``, ellipsis) folded back to ASCII."""
    text = re.sub(r"-{2,3}", "-", text.translate(_TYPOGRAPHY))
    return " ".join(text.split())


def _contains_math(text: str) -> bool:
    for tok in _MD.parse(text):
        if tok.type.startswith("math") or tok.type == "amsmath":
            return True
        if tok.type == "inline" and any(c.type.startswith("math") for c in tok.children or []):
            return True
        if tok.type == "fence" and tok.info.strip().startswith("{") and _contains_math(tok.content):
            return True
    return bool(_MATH_DIRECTIVE.search(text))


def _analyse_markdown(page: Page, text: str) -> None:
    tokens = _MD.parse(text)
    for i, tok in enumerate(tokens):
        if tok.type == "heading_open" and i + 1 < len(tokens):
            content = _inline_text(tokens[i + 1])
            if tok.tag == "h1" and not page.title:
                page.title = content
            elif tok.tag == "h2":
                page.sections.append(content)
    # math anywhere, including in the body of MyST directives in backtick fences
    page.has_math = _contains_math(text)
    if _IMAGE.search(text):
        page.has_images = True
    for match in _SOLUTION.finditer(text):
        # the directive's options follow on the next lines, up to the first blank line
        block = text[match.end() :].split("\n\n", 1)[0]
        if re.search(r"^:class:.*\bdropdown\b", block, re.MULTILINE):
            page.dropdown_solutions += 1


def read_page(root: Path, docname: str, numbered: bool) -> Page:
    for suffix in (".ipynb", ".md"):
        source = root / f"{docname}{suffix}"
        if source.is_file():
            break
    else:
        raise FileNotFoundError(f"_toc.yml lists {docname!r} but there is no .ipynb or .md")
    page = Page(docname=docname, source=source, numbered=numbered)
    if source.suffix == ".md":
        _analyse_markdown(page, source.read_text(encoding="utf-8"))
        return page
    nb = json.loads(source.read_text(encoding="utf-8"))
    markdown = []
    for cell in nb["cells"]:
        text = "".join(cell["source"])
        if cell["cell_type"] == "markdown":
            markdown.append(text)
        elif cell["cell_type"] == "code":
            if "hide-input" in cell.get("metadata", {}).get("tags", []):
                page.hidden_cells += 1
            for out in cell.get("outputs", []):
                if any(k.startswith("image/") for k in out.get("data", {})):
                    page.has_images = True
    _analyse_markdown(page, "\n\n".join(markdown))
    return page


def read_book(root: Path) -> Book:
    toc = yaml.safe_load((root / "_toc.yml").read_text(encoding="utf-8"))
    config = yaml.safe_load((root / "_config.yml").read_text(encoding="utf-8"))
    pages = [read_page(root, doc, numbered) for doc, numbered in _toc_entries(toc)]
    return Book(title=config["title"], pages=pages)


_GATED_START = re.compile(r"^\s*(:{3,}|`{3,})\{solution-start\}", re.MULTILINE)
_GATED_END = re.compile(r"^\s*(:{3,}|`{3,})\{solution-end\}", re.MULTILINE)
_SOLUTION_BLOCK = re.compile(
    r"^(?P<fence>:{3,}|`{3,})\{solution\}.*?^(?P=fence)\s*$", re.MULTILINE | re.DOTALL
)
#: shorter lines ("return x", "import numpy as np") may be public too
MIN_SECRET_CHARS = 16


def _is_solution_cell(cell) -> bool:
    meta = cell.get("metadata", {})
    return cell.get("cell_type") == "code" and (
        "solution" in meta.get("tags", []) or meta.get("weightinit", {}).get("role") == "solution"
    )


def solution_lines(nb: dict) -> list[str]:
    """Lines of a notebook that only its solutions contain (what a student copy must lack).

    The code a student writes (between ``# BEGIN SOLUTION`` / ``# END SOLUTION`` of a
    solution cell, or the whole cell without markers), the cells between a
    ``{solution-start}`` and its ``{solution-end}``, and the text of ``{solution}``
    blocks; minus lines that also occur (whole or within a longer line) elsewhere in the
    notebook, and short lines.
    """
    secret, public = [], []
    gated = False
    for cell in nb["cells"]:
        text = "".join(cell["source"])
        if cell["cell_type"] == "markdown":
            if _GATED_START.search(text):
                gated = True
                secret.extend(_GATED_START.split(text, 1)[-1].splitlines()[1:])
                public.extend(_GATED_START.split(text, 1)[0].splitlines())
                continue
            if gated:
                if _GATED_END.search(text):
                    gated = False
                    public.extend(_GATED_END.split(text, 1)[-1].splitlines()[1:])
                    continue
                secret.extend(text.splitlines())
                continue
            for block in _SOLUTION_BLOCK.finditer(text):
                secret.extend(block.group(0).splitlines()[1:-1])
            public.extend(_SOLUTION_BLOCK.sub("", text).splitlines())
        elif _is_solution_cell(cell) or gated:
            lines = text.splitlines()
            marked = [i for i, line in enumerate(lines) if "# BEGIN SOLUTION" in line]
            if marked:
                inside = False
                for line in lines:
                    if "# BEGIN SOLUTION" in line:
                        inside = True
                    elif "# END SOLUTION" in line:
                        inside = False
                    elif inside:
                        secret.append(line)
                    else:
                        public.append(line)
            else:
                secret.extend(lines)
        else:
            public.extend(text.splitlines())
    shown = {line.strip() for line in public}
    out = []
    for line in secret:
        s = line.strip()
        if len(s) < MIN_SECRET_CHARS or s.startswith(":") or s in out:
            continue
        if any(s in p for p in shown):  # also part of a public line: not a secret
            continue
        out.append(s)
    return out
