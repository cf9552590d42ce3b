"""The checks catch what they are there for: a page of the book served with defects.

``test_checks_catch_defects`` serves one chapter of the tested book (the smallest built
one with math, a dropdown solution and a student notebook) with defects put into its
HTML on the way (a Playwright route: the site on disk is untouched), runs every check
of ``checks.run_page`` on it at 1366 px and requires each defect to be reported by the
check that is meant to find it, with the page, the screen size and the check named. A
check that could not fail would fail this test.
"""

from __future__ import annotations

import re

import pytest
from checks import PAGES, run_page

#: put at the end of the article: (HTML, the check that must report it, what it says)
ARTICLE_DEFECTS = [
    ('<div class="wi-defect-wide" style="width: 3000px">a defect: too wide</div>',
     "width", "div.wi-defect-wide"),
    ('<figure id="wi-defect-figure"><img class="wi-defect-noalt" src="{logo}"></figure>',
     "figures", "alt text '' is a file name or empty"),
    ('<p><img src="{logo}" alt="the course logo, outside any figure"></p>',
     "figures", "not inside a <figure>"),
    ('<figure id="wi-defect-missing"><img src="/_images/wi-defect-missing.png" '
     'alt="a chart that is not there"><figcaption><span class="caption-number">Fig. 99 '
     "</span>missing</figcaption></figure>",
     "content", "wi-defect-missing.png did not load"),
    ('<div class="math notranslate nohighlight">\\[\\frac{1}\\]</div>',
     "content", "MathJax errors"),
    ('<p><input type="text"></p>', "axe", "critical: label"),
    ('<p><a href="wi-defect-no-such-page.html">a link to nowhere</a></p>',
     "navigation", "wi-defect-no-such-page.html gives HTTP 404"),
    ('<div class="cell tag_solution"><pre># BEGIN SOLUTION\nx = 1</pre></div>',
     "grading markers", "a solution shows '# BEGIN SOLUTION'"),
    ('<script>console.error("wi-defect: an error while loading")</script>',
     "load", "console.error: wi-defect: an error while loading"),
    # a solution shown before any click (after togglebutton.js has folded it)
    ("<script>window.addEventListener('load', () => document.querySelector("
     "'article .admonition.dropdown').classList.remove('toggle-hidden'))</script>",
     "hidden solutions", "dropdown 1 is open before any click"),
]  # fmt: skip
#: an error reported 500 ms after MathJax and course.js are done, under whichever check
#: runs then
LATE_ERROR = (
    "<script>new MutationObserver((_, obs) => {"
    " if (!document.documentElement.dataset.wiMathjaxMarked) return; obs.disconnect();"
    " setTimeout(() => console.error('wi-defect: a late error'), 500); })"
    ".observe(document.documentElement, {attributes: true});</script>"
)


def _victim(site_dir):
    """The smallest built chapter with math, a dropdown solution and a student notebook."""
    chapters = [
        (i, p)
        for i, p in enumerate(PAGES)
        if p.numbered and p.source.suffix == ".ipynb" and p.has_math and p.dropdown_solutions
        if i < len(PAGES) - 1 and p.sections
    ]
    if not chapters:
        pytest.fail("no chapter with math, a dropdown solution and a next page", pytrace=False)
    return min(chapters, key=lambda ip: (site_dir / ip[1].url).stat().st_size)


def break_page(html: str, expected, base_url: str) -> str:
    """The page's HTML with every defect of ``ARTICLE_DEFECTS`` and a few more."""
    head, sep, body = html.partition('<article class="bd-article">')
    assert sep, "no <article class='bd-article'> in the page"
    logo = base_url + "_static/logo.png"
    inserts = "".join(snippet.replace("{logo}", logo) for snippet, _, _ in ARTICLE_DEFECTS)
    body = body.replace("</article>", inserts + LATE_ERROR + "</article>", 1)
    # the first section of the source becomes an <h3>
    body = re.sub(r"<h2>(.*?)</h2>", r"<h3>\1</h3>", body, count=1, flags=re.DOTALL)
    html = head + sep + body
    # no favicon; the student download serves the solved notebook; 'next' goes home
    html = re.sub(r'<link rel="icon"[^>]*>', "", html)
    html = re.sub(
        r'(class="wi-download-student" href=")[^"]*"',
        lambda m: m.group(1) + f'../_sources/{expected.docname}.ipynb"',
        html,
    )
    html = re.sub(
        r'(<a class="right-next"\s+href=")[^"]*"',
        lambda m: m.group(1) + base_url + PAGES[0].url + '"',
        html,
    )
    return html


def test_checks_catch_defects(new_page, base_url, config, site_dir):
    index, expected = _victim(site_dir)
    url = base_url + expected.url

    def serve_broken(route):
        response = route.fetch()
        route.fulfill(response=response, body=break_page(response.text(), expected, base_url))

    def prepare(page):
        page.route(url, serve_broken)

    run = run_page(new_page, base_url, config, None, index, "laptop", prepare=prepare)
    report = run.report()
    assert report.startswith(f"{expected.docname} at laptop (1366x900): "), report
    expected_failures = [(check, text) for _, check, text in ARTICLE_DEFECTS] + [
        ("load", "HTTP 404: " + base_url + "_images/wi-defect-missing.png"),
        ("content", f"section {expected.sections[0]!r} is not an <h2>"),
        ("axe", "critical: image-alt"),
        ("reader buttons", "no favicon"),
        ("student download", "the student notebook contains solution lines"),
        ("navigation", "'next' points to " + base_url + PAGES[0].url),
        ("next", "'next' opened"),
    ]
    missed = [
        f"[{check}] ... {text}"
        for check, text in expected_failures
        if not any(f.startswith(f"[{check}] ") and text in f for f in run.failures)
    ]
    assert not missed, "defects not reported:\n  " + "\n  ".join(missed) + "\n" + report
    assert "console.error: wi-defect: a late error" in report, "no late error:\n" + report
    # and nothing else: a check that fails on the page as built would be noise here
    defect_words = ("wi-defect", "defect", "favicon", "student notebook", "'next'", "<h2>",
                    "MathJax errors", "label", "image-alt", "# BEGIN SOLUTION", "dropdown 1",
                    "not inside a <figure>", "alt text")  # fmt: skip
    unexplained = [f for f in run.failures if not any(w in f for w in defect_words)]
    assert not unexplained, "failures that no defect explains:\n" + "\n".join(unexplained)
