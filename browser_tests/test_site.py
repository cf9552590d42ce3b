"""The pages of the site that are not pages of the book: the search page and the
site's address.

* ``test_search``: the built-in search finds "variance" in pages of the book, and its
  snippets show formulas as text, not TeX (``_static/course.js``);
* ``test_home_page``: the site's address opens the home page;
* ``test_book_dir_is_consistent``: the pages under test come from the tested book.

Each fails, like every check of ``checks.py``, on a JavaScript error in the console, an
uncaught exception, a failed request to the local site or an HTTP error, except the
failures that only the absence of internet causes (``OFFLINE_HOSTS`` /
``OFFLINE_ERRORS`` in conftest.py).
"""

from __future__ import annotations

import time
from urllib.parse import urljoin

from checks import (
    BOOK,
    LATE_ERRORS_S,
    PAGES,
    article,
    axe_unfailing_rules,
    element_text,
    run_axe,
    settle,
    text_pattern,
)
from conftest import BOOK_DIR, VIEWPORTS

# Sphinx's searchtools.js writes "Search finished, found N page(s)..." (or "Your search
# did not match any documents...") once it has listed every result; each result's
# snippet (p.context) then comes from a fetch of its page.
SEARCH_DONE_JS = """() => {
    const status = document.querySelector('#search-results .search-summary');
    if (!status || !/Search finished|did not match/.test(status.textContent)) return false;
    return [...document.querySelectorAll('#search-results ul.search li')]
        .every(li => li.querySelector('p.context, span'));
}"""


def search(page, base_url, word: str) -> None:
    response = page.goto(base_url + f"search.html?q={word}", wait_until="load")
    assert response.status == 200, f"search.html: HTTP {response.status}"
    page.wait_for_function(SEARCH_DONE_JS, timeout=30_000)
    found = page.locator("#search-results ul.search li").count()
    assert found, f"the search for {word!r} found nothing"


def assert_no_console_errors(page, since: float) -> None:
    """No error on the page; the page has had ``LATE_ERRORS_S`` since ``since`` to
    report one."""
    page.wait_for_timeout(max(0.0, LATE_ERRORS_S - (time.monotonic() - since)) * 1000)
    errors = page.console_log.errors
    assert not errors, "JavaScript/network errors on the page:\n  " + "\n  ".join(errors)


def test_search(page, base_url, screenshot_dir):
    """The built-in search finds a word of the intro and links to pages of the book."""
    search(page, base_url, "variance")
    settled = time.monotonic()
    results = page.locator("#search-results ul.search li a")
    hrefs = {urljoin(page.url, a.get_attribute("href")).split("?")[0].split("#")[0]
             for a in results.all()}  # fmt: skip
    book_urls = {base_url + p.url for p in PAGES}
    assert hrefs & book_urls, f"search results link to no page of the book: {hrefs}"
    # snippets show formulas as text, not TeX (_static/course.js)
    snippets = page.locator("#search-results ul.search li p.context").all_text_contents()
    assert snippets, "the search results have no snippets"
    for text in snippets:
        for tex in ("\\(", "\\[", "\\operatorname", "\\frac", "$$"):
            assert tex not in text, f"raw TeX {tex!r} in a search snippet: {text[:120]!r}"
    if screenshot_dir:
        page.screenshot(path=str(screenshot_dir / "search.png"), full_page=True)
    assert_no_console_errors(page, settled)


def test_search_page_axe(new_page, base_url):
    """axe-core on the search page with its results, at both screen sizes."""
    for size, (width, height) in VIEWPORTS.items():
        page = new_page(width, height)
        search(page, base_url, "variance")
        found = run_axe(page)
        assert not found, f"axe-core violations at {size}:\n  " + "\n  ".join(found)


def test_axe_leaves_out_only_rules_that_cannot_fail(page, base_url):
    """The axe-core rules the checks do not run are exactly those whose every check has a
    minor or moderate impact (worked out again here, in Python, from axe-core's rules and
    checks), and the rules behind serious or critical findings all run."""
    page.goto(base_url + PAGES[0].url, wait_until="load")
    skipped = set(axe_unfailing_rules(page))
    checks_of = page.evaluate(
        """() => Object.fromEntries(axe._audit.rules.map(rule => [rule.id,
            [...rule.any, ...rule.all, ...rule.none].map(c => c.id || c)]))"""
    )
    impact = page.evaluate(
        "() => Object.fromEntries(Object.entries(axe._audit.data.checks)"
        ".map(([id, c]) => [id, c.impact]))"
    )
    cannot_fail = {
        rule
        for rule, checks in checks_of.items()
        if checks and all(impact.get(c) in ("minor", "moderate") for c in checks)
    }
    assert skipped == cannot_fail, skipped ^ cannot_fail
    assert 10 <= len(skipped) <= len(checks_of) - 60, (len(skipped), len(checks_of))
    must_run = {"color-contrast", "target-size", "label", "image-alt", "link-name",
                "button-name", "aria-hidden-focus", "scrollable-region-focusable"}  # fmt: skip
    assert not must_run & skipped, must_run & skipped
    assert {"region", "heading-order", "landmark-one-main"} <= skipped


def test_home_page(page, base_url):
    """The site's address opens the home page (index.html redirects to the toc root)."""
    page.goto(base_url, wait_until="load")
    page.wait_for_url(base_url + PAGES[0].url, timeout=10_000)
    settle(page)
    settled = time.monotonic()
    assert text_pattern(PAGES[0].title).fullmatch(element_text(article(page).locator("h1")))
    assert_no_console_errors(page, settled)


def test_book_dir_is_consistent():
    """The pages under test come from the book whose site is tested."""
    assert PAGES and (BOOK_DIR / "_toc.yml").is_file() and BOOK.title
