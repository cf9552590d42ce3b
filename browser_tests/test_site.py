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
