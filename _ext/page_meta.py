"""Sphinx extension: a description and OpenGraph tags in the ``<head>`` of every page.

``<meta name="description">``, ``og:title``, ``og:description``, ``og:type``,
``og:site_name``, ``og:image`` (the logo) and ``twitter:card``, so that a link to the
course shared elsewhere shows its title and a line about it. The description is the
``wi_description`` setting (``_config.yml``, ``sphinx: config:``); ``og:url`` and an
absolute image address need ``html_baseurl``, and are added when it is set.
"""

from __future__ import annotations

import html
import re


def _meta(app, pagename, templatename, context, doctree) -> None:
    desc = app.config.wi_description.strip()
    book = context.get("docstitle") or app.config.project
    title = html.unescape(re.sub(r"<[^>]+>", "", context.get("title") or "")).strip() or book
    base = (app.config.html_baseurl or "").rstrip("/")
    tags = [
        ("name", "description", desc),
        ("property", "og:title", f"{title} - {book}" if title != book else book),
        ("property", "og:description", desc),
        ("property", "og:type", "website"),
        ("property", "og:site_name", book),
        ("name", "twitter:card", "summary"),
    ]
    logo = app.config.html_logo
    if logo:
        image = f"_static/{logo.split('/')[-1]}"
        tags.append(
            ("property", "og:image", f"{base}/{image}" if base else context["pathto"](image, 1))
        )
    if base:
        tags.append(("property", "og:url", f"{base}/{pagename}.html"))
    extra = "".join(
        f'<meta {attr}="{html.escape(name)}" content="{html.escape(value)}">\n'
        for attr, name, value in tags
    )
    context["metatags"] = context.get("metatags", "") + extra


def setup(app):
    app.add_config_value("wi_description", "", "html")
    app.connect("html-page-context", _meta)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
