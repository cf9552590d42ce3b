"""Browser test of the built website: every page of ``_toc.yml`` in headless Chromium.

Run after ``make book`` with ``make browser`` (or ``pytest browser_tests``). For every
page, in reading order:

* ``test_page_content``: the ``<title>`` holds the page's title and the book's; the
  ``<h1>`` is the source's first heading and every ``##`` heading of the source is an
  ``<h2>`` (a chapter has at least ``MIN_CHAPTER_SECTIONS``); every image has loaded
  with a non-zero size, and chapters (and pages whose source has images) show at
  least one figure; MathJax (served by the site itself) has typeset every formula,
  without a TeX error; a full-page screenshot goes to ``_build/screenshots/``;
* ``test_hidden_solutions``: every dropdown solution and every folded ("hide-input")
  code cell is hidden at first and visible after one click; chapters have at least one;
* ``test_navigation``: the previous/next links point to the neighbours in the table of
  contents, clicking "next" opens the next page, the sidebar lists every page, and
  every link to a file of the site resolves;
* ``test_reader_buttons``: download button (the source file is served), repository
  and issue buttons, Binder and Colab launch buttons on notebook pages, logo, favicon;

and ``test_search`` runs the built-in search. Each test also fails on any JavaScript
error in the console or uncaught exception, any failed request to the local site,
and any HTTP error, except the failures that only the absence of internet causes
(``OFFLINE_HOSTS`` / ``OFFLINE_ERRORS`` in conftest.py; requests to other hosts are
aborted, so the result does not depend on the network).
"""

from __future__ import annotations

import re
from urllib.parse import urljoin, urlsplit

import pytest
from book_pages import MATH_PLACEHOLDER, normalize, read_book
from conftest import BOOK_DIR

ROOT = BOOK_DIR
BOOK = read_book(ROOT)
PAGES = BOOK.pages
IDS = [p.docname for p in PAGES]
MIN_CHAPTER_SECTIONS = 3

# Text of an element as a reader sees it, without the headerlink "#", the section
# number, and with every formula replaced by the placeholder.
JS_TEXT = """(el, placeholder) => {
    const clone = el.cloneNode(true);
    clone.querySelectorAll('.headerlink, .section-number').forEach(e => e.remove());
    clone.querySelectorAll('.math, mjx-container').forEach(e => e.replaceWith(placeholder));
    return clone.textContent;
}"""


def text_pattern(text: str) -> re.Pattern:
    """Regex for a heading whose formulas may render as anything (placeholder = .*)."""
    parts = [re.escape(normalize(p)) for p in text.split(MATH_PLACEHOLDER)]
    return re.compile(r"\s*.*?\s*".join(parts))


def open_page(page, base_url, expected):
    response = page.goto(base_url + expected.url, wait_until="load")
    assert response is not None and response.status == 200, f"{expected.url} not served"
    wait_for_mathjax(page)
    return page


def wait_for_mathjax(page) -> None:
    """Wait until MathJax has typeset the page (if the page has any math)."""
    if page.locator(".math").count() == 0:
        return
    page.wait_for_function(
        "() => window.MathJax && window.MathJax.startup && window.MathJax.startup.promise",
        timeout=30_000,
    )
    done = page.evaluate(
        """() => Promise.race([window.MathJax.startup.promise.then(() => true),
                              new Promise(r => setTimeout(() => r(false), 30000))])"""
    )
    assert done, "MathJax did not finish typesetting within 30 s"


def assert_no_console_errors(page) -> None:
    page.wait_for_timeout(300)  # let late scripts report
    errors = page.console_log.errors
    assert not errors, "JavaScript/network errors on the page:\n  " + "\n  ".join(errors)


def element_text(locator) -> str:
    return normalize(locator.evaluate(JS_TEXT, MATH_PLACEHOLDER))


def article(page):
    return page.locator("article.bd-article")


def screenshot_name(docname: str) -> str:
    return docname.replace("/", "__") + ".png"


# --------------------------------------------------------------------------- content
@pytest.mark.parametrize("index", range(len(PAGES)), ids=IDS)
def test_page_content(page, base_url, screenshot_dir, index):
    expected = PAGES[index]
    assert expected.title, f"{expected.source} has no '# ' title"
    open_page(page, base_url, expected)
    body = article(page)

    # title: "<number. >Page title — Book title"
    title = page.title()
    assert BOOK.title in title, f"book title missing from <title>{title}</title>"
    assert text_pattern(expected.title).search(normalize(title)), (
        f"<title>{title}</title> does not contain the page title {expected.title!r}"
    )

    # headings
    h1 = body.locator("h1")
    assert h1.count() == 1, f"expected one <h1>, found {h1.count()}"
    assert text_pattern(expected.title).fullmatch(element_text(h1)), (
        f"<h1> {element_text(h1)!r} is not the source title {expected.title!r}"
    )
    shown = [element_text(h) for h in body.locator("h2").all()]
    remaining = iter(shown)  # the source's sections, in order, among the page's <h2>
    for section in expected.sections:
        pattern = text_pattern(section)
        assert any(pattern.fullmatch(h) for h in remaining), (
            f"section {section!r} is not an <h2> in the right order; the page has {shown}"
        )
    if expected.numbered:
        assert len(shown) >= MIN_CHAPTER_SECTIONS, (
            f"a chapter needs at least {MIN_CHAPTER_SECTIONS} sections (## headings), got {shown}"
        )

    # images: every one loads; chapters show at least one figure (a cell output image)
    images = body.locator("img")
    for i in range(images.count()):
        img = images.nth(i)
        img.scroll_into_view_if_needed()
        src = img.get_attribute("src")
        # wait until the browser is done with it (loaded or failed), 15 s at most
        img.evaluate(
            """img => img.complete || new Promise(done => {
                   img.addEventListener('load', done); img.addEventListener('error', done);
                   setTimeout(done, 15000); })"""
        )
        size = img.evaluate("img => [img.naturalWidth, img.naturalHeight]")
        assert size[0] > 0 and size[1] > 0, f"image {src} did not load: natural size {size}"
        box = img.bounding_box()
        assert box and box["width"] > 0 and box["height"] > 0, f"image {src} is not displayed"
    figures = body.locator(".cell_output img, figure img")
    if expected.numbered or expected.has_images:
        assert figures.count() >= 1, "no figure (cell output image or figure) on the page"

    # math: MathJax typeset every formula, with no TeX error
    formulas = body.locator(".math")
    if expected.has_math:
        assert formulas.count() >= 1, "the source has math but the page has no .math element"
        assert body.locator("mjx-container").count() >= 1, "MathJax rendered no formula"
    untypeset = body.locator(".math:not(:has(mjx-container))")
    assert untypeset.count() == 0, (
        f"{untypeset.count()} formulas not typeset, e.g. {untypeset.first.text_content()!r}"
    )
    errors = body.locator("mjx-merror")
    assert errors.count() == 0, f"MathJax errors: {[e.text_content() for e in errors.all()]}"

    page.evaluate("window.scrollTo(0, 0)")
    page.screenshot(path=str(screenshot_dir / screenshot_name(expected.docname)), full_page=True)
    assert_no_console_errors(page)


# --------------------------------------------------------------------------- solutions
@pytest.mark.parametrize("index", range(len(PAGES)), ids=IDS)
def test_hidden_solutions(page, base_url, index):
    expected = PAGES[index]
    if expected.numbered:
        assert expected.dropdown_solutions + expected.hidden_cells >= 1, (
            f"{expected.source}: a chapter has exercises with hidden solutions "
            "(a {solution} with :class: dropdown, or a code cell tagged hide-input)"
        )
    open_page(page, base_url, expected)
    body = article(page)

    dropdowns = body.locator(".admonition.dropdown")
    assert dropdowns.count() >= expected.dropdown_solutions, (
        f"{expected.dropdown_solutions} dropdown solutions in the source, "
        f"{dropdowns.count()} on the page"
    )
    for i in range(dropdowns.count()):
        box = dropdowns.nth(i)
        content = box.locator(":scope > :not(.admonition-title)").first
        assert not content.is_visible(), f"dropdown {i + 1} is open before any click"
        button = box.locator("button.toggle-button")
        button.scroll_into_view_if_needed()
        button.click()
        content.wait_for(state="visible", timeout=5_000)
        assert button.get_attribute("aria-expanded") == "true"

    folded = body.locator("details.hide")
    assert folded.count() >= expected.hidden_cells, (
        f"{expected.hidden_cells} hide-input cells in the source, {folded.count()} on the page"
    )
    for i in range(folded.count()):
        details = folded.nth(i)
        inner = details.locator(":scope > :not(summary)").first
        assert not inner.is_visible(), f"folded cell {i + 1} is open before any click"
        summary = details.locator(":scope > summary")
        summary.scroll_into_view_if_needed()
        summary.click()
        inner.wait_for(state="visible", timeout=5_000)
        assert details.evaluate("d => d.open")
    assert_no_console_errors(page)


# --------------------------------------------------------------------------- navigation
@pytest.mark.parametrize("index", range(len(PAGES)), ids=IDS)
def test_navigation(page, base_url, index):
    expected = PAGES[index]
    open_page(page, base_url, expected)
    here = page.url

    def target(locator) -> str:
        return urljoin(here, locator.get_attribute("href")).split("#")[0]

    prev_link, next_link = page.locator("a.left-prev"), page.locator("a.right-next")
    if index == 0:
        assert prev_link.count() == 0, "the first page has a 'previous' link"
    else:
        assert prev_link.count() == 1, "no 'previous' link"
        assert target(prev_link) == base_url + PAGES[index - 1].url

    # the sidebar lists every page of the book
    sidebar = {target(a) for a in page.locator("nav.bd-docs-nav a.reference").all()}
    sidebar |= {here.split("#")[0]}  # the current page may be marked without a link
    missing = [p.url for p in PAGES if base_url + p.url not in sidebar]
    assert not missing, f"pages missing from the sidebar: {missing}"

    # every link to a file of this site is served
    hrefs = {target(a) for a in page.locator("a[href]").all()}
    for url in sorted(u for u in hrefs if u.startswith(base_url)):
        status = page.request.get(url).status
        assert status == 200, f"link to {url} gives HTTP {status}"

    if index == len(PAGES) - 1:
        assert next_link.count() == 0, "the last page has a 'next' link"
    else:
        following = PAGES[index + 1]
        assert next_link.count() == 1, "no 'next' link"
        assert target(next_link) == base_url + following.url
        next_link.scroll_into_view_if_needed()
        with page.expect_navigation(wait_until="load"):
            next_link.click()
        assert page.url.split("#")[0] == base_url + following.url
        wait_for_mathjax(page)
        h1 = element_text(article(page).locator("h1"))
        assert text_pattern(following.title).fullmatch(h1), f"'next' opened {h1!r}"
    assert_no_console_errors(page)


# --------------------------------------------------------------------------- buttons
@pytest.mark.parametrize("index", range(len(PAGES)), ids=IDS)
def test_reader_buttons(page, base_url, config, index):
    expected = PAGES[index]
    open_page(page, base_url, expected)
    repo = config["repository"]["url"].rstrip("/")
    branch = config["repository"]["branch"]
    source = expected.source.relative_to(ROOT).as_posix()

    # download the page's source
    download = page.locator(f'a[href$="_sources/{source}"]')
    assert download.count() >= 1, f"no download link for {source}"
    url = urljoin(page.url, download.first.get_attribute("href"))
    response = page.request.get(url)
    assert response.status == 200, f"download {url}: HTTP {response.status}"
    if source.endswith(".ipynb"):
        assert response.json()["cells"], "the downloaded notebook has no cells"

    # repository and issue buttons
    assert page.locator(f'a[href="{repo}"]').count() >= 1, "no repository button"
    assert page.locator(f'a[href^="{repo}/issues/new"]').count() >= 1, "no issues button"

    # launch buttons on notebook pages
    if source.endswith(".ipynb"):
        binder = config["launch_buttons"]["binderhub_url"].rstrip("/")
        colab = config["launch_buttons"]["colab_url"].rstrip("/")
        owner_repo = urlsplit(repo).path.strip("/")
        binder_link = page.locator(f'a[href^="{binder}/v2/gh/{owner_repo}/{branch}"]')
        assert binder_link.count() >= 1, "no Binder launch button"
        assert source in binder_link.first.get_attribute("href")
        colab_link = page.locator(f'a[href="{colab}/github/{owner_repo}/blob/{branch}/{source}"]')
        assert colab_link.count() >= 1, "no Colab launch button"

    # logo and favicon
    logo = page.locator("img.logo__image:visible")
    assert logo.count() >= 1, "no logo"
    assert logo.first.evaluate("img => img.naturalWidth") > 0, "the logo did not load"
    icon = page.locator('link[rel="icon"]')
    assert icon.count() == 1, "no favicon"
    assert page.request.get(urljoin(page.url, icon.get_attribute("href"))).status == 200
    assert_no_console_errors(page)


# --------------------------------------------------------------------------- search
def test_search(page, base_url, screenshot_dir):
    """The built-in search finds a word of the intro and links to pages of the book."""
    response = page.goto(base_url + "search.html?q=variance", wait_until="load")
    assert response.status == 200
    results = page.locator("#search-results ul.search li a")
    results.first.wait_for(timeout=30_000)
    hrefs = {urljoin(page.url, a.get_attribute("href")).split("?")[0].split("#")[0]
             for a in results.all()}  # fmt: skip
    book_urls = {base_url + p.url for p in PAGES}
    assert hrefs & book_urls, f"search results link to no page of the book: {hrefs}"
    # snippets show formulas as text, not TeX (_static/course.js)
    snippets = page.locator("#search-results ul.search li p.context")
    snippets.first.wait_for(timeout=30_000)
    page.wait_for_timeout(1000)
    for text in snippets.all_text_contents():
        for tex in ("\\(", "\\[", "\\operatorname", "\\frac", "$$"):
            assert tex not in text, f"raw TeX {tex!r} in a search snippet: {text[:120]!r}"
    page.screenshot(path=str(screenshot_dir / "search.png"), full_page=True)
    assert_no_console_errors(page)


# --------------------------------------------------------------------------- home
def test_home_page(page, base_url):
    """The site's address opens the home page (index.html redirects to the toc root)."""
    page.goto(base_url, wait_until="load")
    page.wait_for_url(base_url + PAGES[0].url, timeout=10_000)
    assert text_pattern(PAGES[0].title).fullmatch(element_text(article(page).locator("h1")))
    assert_no_console_errors(page)
