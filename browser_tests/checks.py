"""The checks of one page of the book at one screen size, on one load of the page.

``run_page`` opens a page of ``_toc.yml`` at one of the two screens of
``conftest.VIEWPORTS`` (1366 px laptop, 390 px phone), waits until it has settled
(the ``load`` event, MathJax's typesetting followed by ``_static/course.js``'s marking
of the scroll boxes, the article's images, the web fonts), then runs every check on
that one loaded page and returns the failures, each naming its check; a check that
fails does not stop the others. The read-only checks come first, on the page as a
reader first sees it; then those that click (solutions, the explorer) and, last,
"next", which leaves the page:

``content``
    ``<title>`` holds the page's title and the book's; the ``<h1>`` is the source's
    first heading and every ``##`` heading of the source is an ``<h2>``, in order (a
    chapter has at least ``MIN_CHAPTER_SECTIONS``); every image has loaded with a
    non-zero natural size and is displayed, and chapters (and pages whose source has
    images) show at least one figure; MathJax (served by the site itself) has typeset
    every formula, without a TeX error;
``grading markers``
    no solution shows its ``# BEGIN/END SOLUTION`` lines (``_ext/solution_markers``);
``figures``
    every ``<img>`` of the article is inside a named ``<figure>`` with a numbered
    caption and alt text that is not a file name; at 1366 px its smallest text is at
    least ``MIN_TEXT_PX``: ``weightinit.plots.MIN_FONT_PT`` points at the pixels per
    inch stored in the PNG (matplotlib writes them), times the shown/natural width;
``axe``
    axe-core (vendored in ``browser_tests/vendor``, injected by the test; never part of
    the site) finds no violation of impact "serious" or "critical" (whole page);
``reader buttons``
    download button (the source file is served), repository and issue buttons, Binder
    and Colab launch buttons on notebook pages, the logo (visible, loaded), the favicon;
``student download``
    (chapters) the solved and the student notebook are offered, the solved one is the
    source, the student one contains no line of a solution (``solution_lines``), no
    ``{solution}`` block, and a stub in every solution region;
``navigation``
    previous/next point to the neighbours in ``_toc.yml``, the sidebar lists every page
    and (at 1366 px) every link to a file of the site is served;
``hidden solutions``
    every dropdown solution and every folded ("hide-input") code cell is hidden at
    first and visible after one click; a chapter has at least one;
``width``
    with every dropdown and folded cell opened, no element of the article sticks out of
    the article's column, except inside a scroll container (``overflow-x: auto|scroll``)
    that fits the column and says that it scrolls (its accessible name mentions
    scrolling; ``_static/course.js`` marks such boxes and shows a visible hint), and
    whose content starts at its left edge (a centred equation that overflows on both
    sides cannot be scrolled to its start). Content clipped by ``overflow: hidden``
    counts as sticking out. With ``--screenshots``, a full-page screenshot (everything
    open) goes to ``_build/screenshots/<page>--<size>.png``;
``explorer``
    (the explorer page, at 1366 px) the chart changes when the activation, the
    initializer or the depth changes, and Part II's schemes are offered;
``next``
    clicking "next" opens the next page of the table of contents.

Every check also fails on a JavaScript error in the console, an uncaught exception, a
failed request to the local site or an HTTP error status that happened while it ran
(``load`` gets those of the page's loading), except the failures that only the absence
of internet causes (``OFFLINE_HOSTS`` / ``OFFLINE_ERRORS`` in conftest.py).

The requests made to check the files behind links and buttons (links served, the
downloads, the favicon, the figures' PNG headers) go out once per page, at 1366 px: the
HTML, hence every address, is the same at both sizes. Everything the screen size can
change (what is shown, laid out, clickable, axe's findings) is checked at both.
"""

from __future__ import annotations

import json
import re
import struct
import time
import traceback
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

from book_pages import MATH_PLACEHOLDER, Page, normalize, read_book, solution_lines
from conftest import BOOK_DIR, VIEWPORTS
from playwright.sync_api import Error as PlaywrightError
from weightinit.plots import MIN_FONT_PT

ROOT = BOOK_DIR
BOOK = read_book(ROOT)
PAGES = BOOK.pages
IDS = [p.docname for p in PAGES]
MIN_CHAPTER_SECTIONS = 3
AXE = Path(__file__).resolve().parent / "vendor" / "axe-core" / "axe.min.js"
MIN_TEXT_PX = 10.0
#: initializers the explorer must offer besides Part I's (scripts/make_explorer_data.py)
PART2_SCHEMES = ("orthogonal_gain", "lsuv", "lsuv_glorot")
#: how long a page may take to report an error after it has settled (late scripts):
#: the last console check of a page comes at least this long after it settled
LATE_ERRORS_S = 0.3
_FILE_NAME = re.compile(r"(^|/)[\w.-]+\.(png|jpe?g|gif|svg|webp)$|_images/", re.IGNORECASE)

# Text of an element as a reader sees it, without the headerlink "#", the section
# number, and with every formula replaced by the placeholder.
JS_TEXT = """(el, placeholder) => {
    const clone = el.cloneNode(true);
    clone.querySelectorAll('.headerlink, .section-number').forEach(e => e.remove());
    clone.querySelectorAll('.math, mjx-container').forEach(e => e.replaceWith(placeholder));
    return clone.textContent;
}"""

# Every image of the article scrolled into view once (in case one loads lazily), then
# waited for until the browser is done with it (loaded or failed), 15 s at most.
IMAGES_DONE_JS = """async () => {
    const imgs = [...document.querySelectorAll('article.bd-article img')];
    imgs.forEach(img => img.scrollIntoView());
    await Promise.race([
        Promise.all(imgs.map(img => img.complete || new Promise(done => {
            img.addEventListener('load', done); img.addEventListener('error', done); }))),
        new Promise(done => setTimeout(done, 15000))]);
    window.scrollTo(0, 0);
    await document.fonts.ready;
    return imgs.length;
}"""

IMAGES_JS = """() => [...document.querySelectorAll('article.bd-article img')].map(img => {
    const r = img.getBoundingClientRect();
    return {src: img.getAttribute('src'), natural: [img.naturalWidth, img.naturalHeight],
            shown: [r.width, r.height]};
})"""

# Opens everything that can be opened, re-marks the scroll boxes, then lists the
# elements of the article that stick out of its column (allowing 1 px of rounding).
OVERFLOW_JS = r"""() => {
  document.querySelectorAll('article.bd-article details').forEach(d => { d.open = true; });
  document.querySelectorAll('article.bd-article .toggle-hidden')
    .forEach(e => e.classList.remove('toggle-hidden'));
  if (window.wiMarkScrollBoxes) window.wiMarkScrollBoxes();
  const art = document.querySelector('article.bd-article');
  const box = art.getBoundingClientRect();
  const cs = getComputedStyle(art);
  const left = box.left + parseFloat(cs.paddingLeft) - 1;
  const right = box.right - parseFloat(cs.paddingRight) + 1;
  const describe = el => {
    const cls = (el.getAttribute('class') || '').split(/\s+/).filter(Boolean).slice(0, 3);
    return el.tagName.toLowerCase() + (el.id ? '#' + el.id : '') +
      (cls.length ? '.' + cls.join('.') : '');
  };
  const clips = el => { const o = getComputedStyle(el).overflowX; return o !== 'visible'; };
  const scrolls = el => ['auto', 'scroll'].includes(getComputedStyle(el).overflowX);
  const saysScroll = el => /scroll/i.test(el.getAttribute('aria-label') || '');
  const bad = [];
  for (const el of art.querySelectorAll('*')) {
    if (el.closest('mjx-assistive-mml, .sr-only, .visually-hidden, script, style')) continue;
    const r = el.getBoundingClientRect();
    if (r.width === 0 || r.height === 0) continue;
    if (el.checkVisibility && !el.checkVisibility({visibilityProperty: true})) continue;
    if (r.left >= left && r.right <= right) continue;
    // the nearest ancestor that clips or scrolls horizontally
    let anc = el.parentElement;
    while (anc && anc !== art && !clips(anc)) anc = anc.parentElement;
    let why = 'sticks out of the column';
    if (anc && anc !== art) {
      const a = anc.getBoundingClientRect();
      const fits = a.left >= left && a.right <= right;
      // reachable by scrolling: nothing to the left of the box's scroll origin
      const reachable = r.left >= a.left - anc.scrollLeft - 1;
      if (scrolls(anc) && saysScroll(anc) && fits && reachable) continue;
      if (scrolls(anc) && !reachable) {
        bad.push(`${describe(el)} starts left of its scroll box ${describe(anc)} ` +
                 `(${Math.round(a.left - r.left)} px cannot be scrolled to)`);
        continue;
      }
      if (!fits) continue;  // the ancestor itself sticks out: reported on its own
      why = scrolls(anc) ? 'in a scroll box that does not say it scrolls: ' + describe(anc)
                         : 'clipped by ' + describe(anc);
    }
    bad.push(`${describe(el)} [${Math.round(r.left)}..${Math.round(r.right)} px, column ` +
             `${Math.round(left + 1)}..${Math.round(right - 1)}] ${why}: ` +
             JSON.stringify((el.textContent || '').trim().slice(0, 60)));
  }
  return bad;
}"""

# What check_content reads, in one round trip: the <title>, the article's <h1> and <h2>
# texts (as JS_TEXT gives them), its images, how many figures, formulas, typeset
# formulas; the text of the formulas left untypeset and of MathJax's error boxes.
CONTENT_JS = """(placeholder) => {
    const text = JS_TEXT;
    const art = document.querySelector('article.bd-article');
    const all = sel => art ? [...art.querySelectorAll(sel)] : [];
    return {
        title: document.title,
        h1: all('h1').map(h => text(h, placeholder)),
        h2: all('h2').map(h => text(h, placeholder)),
        images: (IMAGES_JS)(),
        figures: all('.cell_output img, figure img').length,
        math: all('.math').length,
        typeset: all('mjx-container').length,
        untypeset: all('.math').filter(m => !m.querySelector('mjx-container'))
            .map(m => m.textContent),
        merrors: all('mjx-merror').map(e => e.textContent),
    };
}""".replace("JS_TEXT", JS_TEXT).replace("IMAGES_JS", IMAGES_JS)

# The targets of check_navigation's links, without their #fragment: "previous", "next",
# the sidebar's page links and every link of the page.
NAVIGATION_JS = """() => {
    const targets = sel => [...document.querySelectorAll(sel)].map(a => a.href.split('#')[0]);
    return {prev: targets('a.left-prev'), next: targets('a.right-next'),
            sidebar: targets('nav.bd-docs-nav a.reference'), all: targets('a[href]')};
}"""

# An element is shown as Playwright's is_visible() and :visible have it: rendered
# (checkVisibility(): not in a closed <details>, no display: none above it), not
# visibility: hidden, a non-empty box. The JS below calls it as SHOWN(el).
SHOWN_JS = """(el => { const r = el.getBoundingClientRect();
    return el.checkVisibility() && getComputedStyle(el).visibility === 'visible' &&
        r.width > 0 && r.height > 0; })"""

# check_hidden_solutions: a box is open when its content is shown and the box says so
# (a dropdown's button aria-expanded="true", a <details> open).
OPENED_STATE_JS = """([box, content, button]) => ({shown: SHOWN(content),
    said: box.tagName === 'DETAILS' ? box.open : button.getAttribute('aria-expanded')})"""
OPENED_JS = """(parts) => { const s = (OPENED_STATE)(parts);
    return s.shown && (s.said === true || s.said === 'true'); }"""

# check_reader_buttons: the absolute targets of the links (or <link>s) each selector
# finds, and the logo images: shown, loaded.
READER_JS = """(selectors) => {
    const found = {};
    for (const [name, sel] of Object.entries(selectors))
        found[name] = [...document.querySelectorAll(sel)].map(a => a.href);
    found.logos = [...document.querySelectorAll('img.logo__image')]
        .map(img => ({shown: SHOWN(img), natural: img.naturalWidth}));
    return found;
}"""

# check_student_download: the solved and the student notebook's links (target, shown).
DOWNLOADS_JS = """() => {
    const links = sel => [...document.querySelectorAll(sel)]
        .map(a => ({url: a.href, shown: SHOWN(a)}));
    return {solved: links('a.wi-download-solved'), student: links('a.wi-download-student')};
}"""

OPENED_STATE_JS = OPENED_STATE_JS.replace("SHOWN", SHOWN_JS)
OPENED_JS = OPENED_JS.replace("OPENED_STATE", OPENED_STATE_JS)
READER_JS, DOWNLOADS_JS = (js.replace("SHOWN", SHOWN_JS) for js in (READER_JS, DOWNLOADS_JS))

FIGURES_JS = r"""() => [...document.querySelectorAll('article.bd-article img')].map(img => {
  const fig = img.closest('figure');
  const cap = fig ? fig.querySelector('figcaption') : null;
  return {
    src: img.getAttribute('src'), url: img.currentSrc || img.src,
    alt: img.getAttribute('alt'), inFigure: !!fig,
    caption: cap ? cap.textContent.trim() : '',
    numbered: !!(cap && cap.querySelector('.caption-number')),
    figureId: fig ? fig.id : '',
    natural: img.naturalWidth, shown: img.getBoundingClientRect().width,
  };
})"""

#: the impacts of axe-core findings that fail the test (the others are not reported)
AXE_FAILING_IMPACTS = ("serious", "critical")

# axe-core's rules whose every check has an impact the test does not fail on: such a rule
# can never report a finding the test keeps (a rule's impact is the highest of its failed
# checks', fixed in axe-core's data on its checks), so it is not run -- about 20 of ~100 rules
# (region, heading-order, landmark-*...), ~10 % of axe's time. A check without an impact
# there keeps its rule.
AXE_UNFAILING_RULES_JS = """(failing) => axe._audit.rules.filter(rule => {
    const checks = [...rule.any, ...rule.all, ...rule.none];
    const impact = c => (axe._audit.data.checks[c.id || c] || {}).impact;
    return checks.length > 0 && checks.every(c => impact(c) && !failing.includes(impact(c)));
}).map(rule => rule.id)"""

AXE_JS = """async (unfailing) => {
    const rules = Object.fromEntries(unfailing.map(id => [id, {enabled: false}]));
    const r = await axe.run(document, {resultTypes: ['violations'], rules});
    return r.violations.map(v => ({id: v.id, impact: v.impact, help: v.help,
        nodes: v.nodes.slice(0, 3).map(n => n.target.join(' ')),
        count: v.nodes.length}));
}"""


# --------------------------------------------------------------------------- helpers
def text_pattern(text: str) -> re.Pattern:
    """Regex for a heading whose formulas may render as anything (placeholder = .*)."""
    parts = [re.escape(normalize(p)) for p in text.split(MATH_PLACEHOLDER)]
    return re.compile(r"\s*.*?\s*".join(parts))


def element_text(locator) -> str:
    return normalize(locator.evaluate(JS_TEXT, MATH_PLACEHOLDER))


def article(page):
    return page.locator("article.bd-article")


def screenshot_name(docname: str, size: str) -> str:
    return f"{docname.replace('/', '__')}--{size}.png"


def wait_for_mathjax(page) -> None:
    """Wait until MathJax has typeset the page and course.js has then marked its scroll
    boxes (``<html data-wi-mathjax-marked>``), if the page has any math."""
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
    try:
        page.wait_for_function(
            "() => document.documentElement.dataset.wiMathjaxMarked === '1'", timeout=10_000
        )
    except PlaywrightError:
        raise AssertionError(
            "course.js did not mark the scroll boxes after MathJax (no data-wi-mathjax-marked "
            "on <html> 10 s after typesetting)"
        ) from None


def settle(page) -> None:
    """Wait until a loaded page is complete: typeset, scroll boxes marked, the article's
    images loaded (or failed) and the web fonts in."""
    wait_for_mathjax(page)
    page.evaluate(IMAGES_DONE_JS)


def png_pixels_per_inch(data: bytes) -> float | None:
    """Pixels per inch from a PNG's pHYs chunk (None when absent or not in metres)."""
    if data[:8] != b"\x89PNG\r\n\x1a\n":
        return None
    pos = 8
    while pos + 8 <= len(data):
        length, kind = struct.unpack(">I4s", data[pos : pos + 8])
        if kind == b"pHYs":
            x, _y, unit = struct.unpack(">IIB", data[pos + 8 : pos + 17])
            return x * 0.0254 if unit == 1 else None
        if kind in (b"IDAT", b"IEND"):
            return None
        pos += 12 + length
    return None


def console_errors(page) -> list[str]:
    return page.console_log.errors


@dataclass
class PageRun:
    """One page at one screen size: the loaded Playwright page and what went wrong."""

    page: object  # playwright Page
    expected: Page
    index: int
    size: str
    base_url: str
    config: dict
    screenshot_dir: Path | None  # None: no screenshots
    failures: list[str] = field(default_factory=list)
    settled_at: float = 0.0

    @property
    def laptop(self) -> bool:
        return self.size == "laptop"

    @property
    def where(self) -> str:
        width, height = VIEWPORTS[self.size]
        return f"{self.expected.docname} at {self.size} ({width}x{height})"

    @contextmanager
    def check(self, name: str):
        """Run one check: its failure (an assertion, a Playwright timeout, a bug in the
        check) and the console errors that appeared meanwhile are recorded under
        ``name``, and the next check runs."""
        before = len(console_errors(self.page))
        try:
            yield
        except AssertionError as exc:
            # every assert of this module says what is wrong (pytest does not rewrite
            # them: its explanation would repeat the message)
            where = traceback.extract_tb(exc.__traceback__)[-1]
            message = str(exc) or f"assertion failed: {where.line} ({where.name}:{where.lineno})"
            self.failures.append(f"[{name}] {message}")
        except Exception as exc:  # a timeout, or a bug of the check: say where
            tb = "".join(traceback.format_exception(exc, limit=-4)).rstrip()
            self.failures.append(f"[{name}] {type(exc).__name__}\n{tb}")
        new = console_errors(self.page)[before:]
        if new:
            self.failures.append(
                f"[{name}] JavaScript/network errors on the page:\n" + "\n".join(new)
            )

    def report(self) -> str:
        lines = [f"{self.where}: {len(self.failures)} failed check(s)"]
        lines += [f"  {f}".replace("\n", "\n    ") for f in self.failures]
        return "\n".join(lines)


# --------------------------------------------------------------------------- checks
def check_content(run: PageRun) -> None:
    page, expected = run.page, run.expected
    assert expected.title, f"{expected.source} has no '# ' title"
    problems = []
    # one round trip for everything read here (each Playwright locator call walks the
    # whole document, ~12 000 elements on a page of formulas: 20-50 ms a call)
    seen = page.evaluate(CONTENT_JS, MATH_PLACEHOLDER)

    # title: "<number. >Page title — Book title"
    title = seen["title"]
    if BOOK.title not in title:
        problems.append(f"book title missing from <title>{title}</title>")
    if not text_pattern(expected.title).search(normalize(title)):
        problems.append(f"<title>{title}</title> does not contain the page title {expected.title!r}")  # fmt: skip

    # headings
    h1s = [normalize(t) for t in seen["h1"]]
    if len(h1s) != 1:
        problems.append(f"expected one <h1>, found {len(h1s)}")
    elif not text_pattern(expected.title).fullmatch(h1s[0]):
        problems.append(f"<h1> {h1s[0]!r} is not the source title {expected.title!r}")
    shown = [normalize(t) for t in seen["h2"]]
    remaining = iter(shown)  # the source's sections, in order, among the page's <h2>
    for section in expected.sections:
        pattern = text_pattern(section)
        if not any(pattern.fullmatch(h) for h in remaining):
            problems.append(
                f"section {section!r} is not an <h2> in the right order; the page has {shown}"
            )
            break
    if expected.numbered and len(shown) < MIN_CHAPTER_SECTIONS:
        problems.append(
            f"a chapter needs at least {MIN_CHAPTER_SECTIONS} sections (## headings), got {shown}"
        )

    # images: every one loads and is displayed; chapters show at least one figure
    for img in seen["images"]:
        if not (img["natural"][0] > 0 and img["natural"][1] > 0):
            problems.append(f"image {img['src']} did not load: natural size {img['natural']}")
        elif not (img["shown"][0] > 0 and img["shown"][1] > 0):
            problems.append(f"image {img['src']} is not displayed")
    if (expected.numbered or expected.has_images) and seen["figures"] < 1:
        problems.append("no figure (cell output image or figure) on the page")

    # math: MathJax typeset every formula, with no TeX error
    if expected.has_math:
        if seen["math"] < 1:
            problems.append("the source has math but the page has no .math element")
        elif seen["typeset"] < 1:
            problems.append("MathJax rendered no formula")
    if seen["untypeset"]:
        problems.append(
            f"{len(seen['untypeset'])} formulas not typeset, e.g. {seen['untypeset'][0]!r}"
        )
    if seen["merrors"]:
        problems.append(f"MathJax errors: {seen['merrors']}")
    assert not problems, "\n".join(problems)


def check_grading_markers(run: PageRun) -> None:
    """Solution code is shown without its ``# BEGIN/END SOLUTION`` lines.

    Only the code of solutions counts (a cell tagged ``solution``, a solution dropdown):
    prose that explains the markers, such as the instructors' page, may name them."""
    texts = run.page.locator(
        "article.bd-article .cell.tag_solution, article.bd-article .solution"
    ).all_text_contents()
    for text in texts:
        for marker in ("# BEGIN SOLUTION", "# END SOLUTION"):
            assert marker not in text, f"a solution shows {marker!r}"


def check_figures(run: PageRun) -> None:
    problems = []
    for fig in run.page.evaluate(FIGURES_JS):
        where = fig["src"]
        if not fig["inFigure"]:
            problems.append(f"{where}: not inside a <figure>")
            continue
        if not fig["caption"] or not fig["numbered"]:
            problems.append(f"{where}: no numbered caption ({fig['caption']!r})")
        if not fig["figureId"]:
            problems.append(f"{where}: the figure has no name (mystnb.figure.name)")
        alt = (fig["alt"] or "").strip()
        if not alt or _FILE_NAME.search(alt) or alt.lower() in ("image", "figure", "plot"):
            problems.append(f"{where}: alt text {alt!r} is a file name or empty")
        if not run.laptop or where.lower().endswith(".svg"):
            continue  # the text size is checked at 1366 px; vector text is drawn at its size
        ppi = png_pixels_per_inch(run.page.request.get(fig["url"]).body())
        if ppi is None:
            problems.append(f"{where}: no pixels-per-inch in the PNG, text size unknown")
            continue
        if not fig["natural"]:
            problems.append(f"{where}: the image did not load, text size unknown")
            continue
        text_px = MIN_FONT_PT / 72 * ppi * fig["shown"] / fig["natural"]
        if text_px < MIN_TEXT_PX:
            problems.append(
                f"{where}: {MIN_FONT_PT} pt text is {text_px:.1f} px at 1366 px "
                f"({fig['natural']} px image at {ppi:.0f} ppi shown {fig['shown']:.0f} px wide)"
            )
    assert not problems, "\n".join(problems)


def axe_unfailing_rules(page) -> list[str]:
    """The axe-core rules that cannot report a serious or critical finding (not run)."""
    if not page.evaluate("() => typeof axe !== 'undefined'"):
        page.add_script_tag(path=str(AXE))
    return page.evaluate(AXE_UNFAILING_RULES_JS, list(AXE_FAILING_IMPACTS))


def run_axe(page) -> list[str]:
    unfailing = axe_unfailing_rules(page)
    return [
        f"{v['impact']}: {v['id']} ({v['help']}) x{v['count']}, e.g. {v['nodes']}"
        for v in page.evaluate(AXE_JS, unfailing)
        if v["impact"] in AXE_FAILING_IMPACTS
    ]


def check_axe(run: PageRun) -> None:
    found = run_axe(run.page)
    assert not found, "axe-core violations:\n" + "\n".join(found)


def check_reader_buttons(run: PageRun) -> None:
    page, expected, config = run.page, run.expected, run.config
    repo = config["repository"]["url"].rstrip("/")
    branch = config["repository"]["branch"]
    source = expected.source.relative_to(ROOT).as_posix()
    binder = config["launch_buttons"]["binderhub_url"].rstrip("/")
    colab = config["launch_buttons"]["colab_url"].rstrip("/")
    owner_repo = urlsplit(repo).path.strip("/")
    # every link and image asked about, read in one round trip
    found = page.evaluate(
        READER_JS,
        {
            "download": f'a[href$="_sources/{source}"]',
            "repo": f'a[href="{repo}"]',
            "issues": f'a[href^="{repo}/issues/new"]',
            "binder": f'a[href^="{binder}/v2/gh/{owner_repo}/{branch}"]',
            "colab": f'a[href="{colab}/github/{owner_repo}/blob/{branch}/{source}"]',
            "icon": 'link[rel="icon"]',
        },
    )

    # download the page's source
    assert found["download"], f"no download link for {source}"
    if run.laptop:
        url = found["download"][0]
        response = page.request.get(url)
        assert response.status == 200, f"download {url}: HTTP {response.status}"
        if source.endswith(".ipynb"):
            assert response.json()["cells"], "the downloaded notebook has no cells"

    # repository and issue buttons
    assert found["repo"], "no repository button"
    assert found["issues"], "no issues button"

    # launch buttons on notebook pages
    if source.endswith(".ipynb"):
        assert found["binder"], "no Binder launch button"
        assert source in found["binder"][0], "Binder opens another file"
        assert found["colab"], "no Colab launch button"

    # logo (on a phone it is in the folded sidebar) and favicon
    logos = [logo for logo in found["logos"] if logo["shown"] or not run.laptop]
    assert logos, "no logo" + (" shown" if run.laptop else "")
    assert logos[0]["natural"] > 0, "the logo did not load"
    icons = found["icon"]
    assert len(icons) == 1, f"{len(icons)} favicon links, not one" if icons else "no favicon"
    if run.laptop:
        status = page.request.get(icons[0]).status
        assert status == 200, f"the favicon gives HTTP {status}"


def check_student_download(run: PageRun) -> None:
    page, expected = run.page, run.expected
    solved_nb = json.loads(expected.source.read_text(encoding="utf-8"))
    secret = solution_lines(solved_nb)
    assert secret, f"{expected.source.name}: a chapter has exercises with solutions"
    links = page.evaluate(DOWNLOADS_JS)
    solved, student = links["solved"], links["student"]
    assert len(solved) == 1 and len(student) == 1, (
        f"{len(solved)} solved and {len(student)} student notebook links, not one each"
    )
    assert solved[0]["shown"] and student[0]["shown"], "the download links are not shown"
    if not run.laptop:
        return  # the same files as at 1366 px
    solved_url = solved[0]["url"]
    assert page.request.get(solved_url).json()["cells"] == solved_nb["cells"], (
        f"{solved_url} is not {expected.source.name}"
    )
    response = page.request.get(student[0]["url"])
    assert response.status == 200, f"student notebook: HTTP {response.status}"
    nb = response.json()
    lines = {line.strip() for cell in nb["cells"] for line in "".join(cell["source"]).splitlines()}
    leaked = [line for line in secret if line in lines]
    assert not leaked, f"the student notebook contains solution lines: {leaked[:5]}"
    for cell in nb["cells"]:
        source = "".join(cell["source"])
        assert not re.search(r"\{solution(-start)?\}", source), "a {solution} block remains"
        if cell["cell_type"] == "code" and "# BEGIN SOLUTION" in source:
            assert "NotImplementedError" in source, "a solution region is not a stub"


def check_navigation(run: PageRun) -> None:
    page, index, base_url = run.page, run.index, run.base_url
    here = page.url.split("#")[0]
    problems = []
    # the links' absolute targets, read in one round trip
    links = page.evaluate(NAVIGATION_JS)
    for found, name, neighbour in ((links["prev"], "previous", index - 1),
                                   (links["next"], "next", index + 1)):  # fmt: skip
        if not 0 <= neighbour < len(PAGES):
            if found:
                problems.append(f"the {'first' if neighbour < 0 else 'last'} page has a {name!r} link")  # fmt: skip
        elif len(found) != 1:
            problems.append(f"{len(found)} {name!r} links, not one")
        elif found[0] != base_url + PAGES[neighbour].url:
            problems.append(f"{name!r} points to {found[0]}, not to {PAGES[neighbour].url}")

    # the sidebar lists every page of the book
    sidebar = set(links["sidebar"]) | {here}  # the current page may be marked without a link
    missing = [p.url for p in PAGES if base_url + p.url not in sidebar]
    if missing:
        problems.append(f"pages missing from the sidebar: {missing}")

    # every link to a file of this site is served
    if run.laptop:
        for url in sorted({u for u in links["all"] if u.startswith(base_url)}):
            status = page.request.get(url).status
            if status != 200:
                problems.append(f"link to {url} gives HTTP {status}")
    assert not problems, "\n".join(problems)


def check_hidden_solutions(run: PageRun) -> None:
    """Every dropdown solution and folded cell is hidden, then shown by one real click.

    The boxes are found once (element handles: a locator would walk the whole document
    again at every step, 20-50 ms each on a page of formulas); each is clicked with
    Playwright's mouse (scrolled into view, checked to receive the click), then one
    wait checks that its content shows and that it says so (``aria-expanded``,
    ``open``)."""
    page, expected = run.page, run.expected
    if expected.numbered:
        assert expected.dropdown_solutions + expected.hidden_cells >= 1, (
            f"{expected.source}: a chapter has exercises with hidden solutions "
            "(a {solution} with :class: dropdown, or a code cell tagged hide-input)"
        )
    dropdowns = page.query_selector_all("article.bd-article .admonition.dropdown")
    assert len(dropdowns) >= expected.dropdown_solutions, (
        f"{expected.dropdown_solutions} dropdown solutions in the source, "
        f"{len(dropdowns)} on the page"
    )
    folded = page.query_selector_all("article.bd-article details.hide")
    assert len(folded) >= expected.hidden_cells, (
        f"{expected.hidden_cells} hide-input cells in the source, {len(folded)} on the page"
    )
    parts = [("dropdown", box, ":scope > :not(.admonition-title)", "button.toggle-button")
             for box in dropdowns]  # fmt: skip
    parts += [("folded cell", d, ":scope > :not(summary)", ":scope > summary") for d in folded]
    number = {"dropdown": 0, "folded cell": 0}
    for kind, box, content_css, button_css in parts:
        number[kind] += 1
        what = f"{kind} {number[kind]}"
        content, button = box.query_selector(content_css), box.query_selector(button_css)
        assert content and button, f"{what} has no content or no button"
        assert not page.evaluate(SHOWN_JS, content), f"{what} is open before any click"
        button.click()  # scrolls it into view first, as a reader would
        try:
            page.wait_for_function(OPENED_JS, arg=[box, content, button], timeout=5_000)
        except PlaywrightError:
            state = page.evaluate(OPENED_STATE_JS, [box, content, button])
            raise AssertionError(f"{what} did not open on a click: {state}") from None


def check_width(run: PageRun) -> None:
    page = run.page
    bad = page.evaluate(OVERFLOW_JS)
    if run.screenshot_dir:
        page.evaluate("window.scrollTo(0, 0)")
        page.screenshot(
            path=str(run.screenshot_dir / screenshot_name(run.expected.docname, run.size)),
            full_page=True,
        )
    assert not bad, f"{len(bad)} elements wider than the column:\n" + "\n".join(bad[:12])


def check_explorer(run: PageRun) -> None:
    pg = run.page
    box = pg.locator(".wi-explorer")
    assert box.count() == 1, "no explorer on the page"
    pg.wait_for_selector(".wi-explorer[data-ready='1']", timeout=15_000)
    chart = box.locator("svg.wi-explorer-chart")
    curve = chart.locator("polyline.wi-explorer-curve")

    def state():
        return (chart.get_attribute("data-key"), curve.get_attribute("points"),
                box.locator(".wi-explorer-readout").text_content())  # fmt: skip

    first = state()
    assert first[1] and len(first[1].split()) == 10, f"expected 10 points, got {first[1]!r}"
    selects = box.locator("select")
    labels = [s.evaluate("s => s.parentElement.firstChild.textContent.trim()")
              for s in selects.all()]  # fmt: skip
    assert {"initializer", "activation", "width"} <= set(labels), (
        f"the explorer's controls are {labels}: no initializer, activation or width"
    )
    pg.select_option(".wi-explorer label:has-text('activation') select", "tanh")
    second = state()
    assert second[0] != first[0] and second[1] != first[1], "activation change: same chart"
    pg.select_option(".wi-explorer label:has-text('initializer') select", "normal")
    third = state()
    assert third[1] != second[1], "initializer change: same chart"
    # the schemes of Part II (issue 14), with their note in the caption
    init_select = ".wi-explorer label:has-text('initializer') select"
    offered = pg.locator(init_select + " option").all_text_contents()
    assert set(PART2_SCHEMES) <= set(offered), f"Part II schemes missing: {offered}"
    pg.select_option(init_select, "lsuv")
    lsuv_state = state()
    assert lsuv_state[1] != third[1], "initializer lsuv: same chart as normal"
    assert "LSUV" in box.locator("figcaption").text_content(), "no note for lsuv"
    depth = box.locator("input[type=range]").first
    depth.evaluate("r => { r.value = 25; r.dispatchEvent(new Event('input')); }")
    fourth = state()
    assert len(fourth[1].split()) == 25, "depth 25 should draw 25 points"
    assert fourth[2] != lsuv_state[2], "the readout did not change with the depth"


def _document_only(route) -> None:
    if route.request.is_navigation_request():
        route.continue_()
    else:
        route.abort("blockedbyclient")


def check_next(run: PageRun) -> None:
    """Clicking "next" opens the next page (it leaves the page: the last check)."""
    page, index, base_url = run.page, run.index, run.base_url
    if index == len(PAGES) - 1:
        return  # no 'next' link: checked by check_navigation
    following = PAGES[index + 1]
    next_link = page.query_selector("a.right-next")
    assert next_link, "no 'next' link to click"
    # The next page's own test loads it in full and checks it, its errors included:
    # here, that the click opens it. Only its HTML document is fetched -- its styles,
    # scripts, MathJax and images are refused, which would make it a second full page
    # load (2-3 s of CPU) -- and what it then reports is not recorded.
    page.console_log.muted = True
    page.route("**/*", _document_only)
    with page.expect_navigation(wait_until="domcontentloaded"):
        next_link.click()
    assert page.url.split("#")[0] == base_url + following.url, f"'next' opened {page.url}"
    h1 = element_text(article(page).locator("h1"))
    assert text_pattern(following.title).fullmatch(h1), f"'next' opened {h1!r}"


def is_explorer(expected: Page) -> bool:
    return expected.docname.endswith("explorer")


def is_chapter_notebook(expected: Page) -> bool:
    return expected.numbered and expected.source.suffix == ".ipynb"


def run_page(
    new_page, base_url, config, screenshot_dir, index: int, size: str, prepare=None
) -> PageRun:
    """Open page ``index`` of ``PAGES`` at ``size`` once and run every check on it.

    ``prepare(page)``, if given, is called on the new Playwright page before it opens
    the book's page (test_defects.py uses it to serve a page with defects put in)."""
    expected = PAGES[index]
    width, height = VIEWPORTS[size]
    page = new_page(width, height)
    if prepare is not None:
        prepare(page)
    run = PageRun(page, expected, index, size, base_url, config, screenshot_dir)
    served = False
    with run.check("load"):
        response = page.goto(base_url + expected.url, wait_until="load")
        served = response is not None and response.status == 200
        assert served, f"{expected.url} not served"
        settle(page)  # when it fails (MathJax...), the checks still run and say more
    run.settled_at = time.monotonic()
    if not served:
        return run
    # read-only: the page as a reader first sees it
    with run.check("content"):
        check_content(run)
    with run.check("grading markers"):
        check_grading_markers(run)
    with run.check("figures"):
        check_figures(run)
    with run.check("axe"):
        check_axe(run)
    with run.check("reader buttons"):
        check_reader_buttons(run)
    if is_chapter_notebook(expected):
        with run.check("student download"):
            check_student_download(run)
    with run.check("navigation"):
        check_navigation(run)
    # clicks: open the solutions, then everything, then play with the explorer
    with run.check("hidden solutions"):
        check_hidden_solutions(run)
    with run.check("width"):
        check_width(run)
    if is_explorer(expected) and run.laptop:
        with run.check("explorer"):
            check_explorer(run)
    # errors a late script reports: give the page LATE_ERRORS_S after it settled
    with run.check("late errors"):
        page.wait_for_timeout(max(0.0, LATE_ERRORS_S - (time.monotonic() - run.settled_at)) * 1000)  # fmt: skip
    with run.check("next"):
        check_next(run)
    return run
