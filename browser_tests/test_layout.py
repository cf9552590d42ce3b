"""Layout, figures and accessibility of every page, on a 1366 px laptop and a 390 px phone.

For every page of ``_toc.yml`` (and the search page for axe), at both screen sizes:

* ``test_nothing_wider_than_the_column``: with every dropdown and folded cell opened, no
  element of the article sticks out of the article's column, except inside a scroll
  container (``overflow-x: auto|scroll``) that fits the column and says that it scrolls
  (its accessible name mentions scrolling; ``_static/course.js`` marks such boxes and
  shows a visible hint), and whose content starts at its left edge (a centred equation
  that overflows on both sides cannot be scrolled to its start). Content clipped by
  ``overflow: hidden`` counts as sticking out.
* ``test_figures``: every ``<img>`` of the article is inside a ``<figure>`` with a
  numbered caption and alt text that is not a file name; at 1366 px its smallest text
  is at least ``MIN_TEXT_PX``: ``weightinit.plots.MIN_FONT_PT`` points, at the pixels per
  inch stored in the PNG (matplotlib writes them), times the shown/natural width ratio.
* ``test_axe``: axe-core (vendored in ``browser_tests/vendor``, injected by the test;
  never part of the site) finds no violation of impact "serious" or "critical".

and the interactive explorer changes its chart when a control changes
(``test_explorer_is_interactive``); each chapter offers the student notebook next to
the solved one, and the student notebook contains no solution
(``test_student_download``).
"""

from __future__ import annotations

import json
import re
import struct
from pathlib import Path
from urllib.parse import urljoin

import pytest
from book_pages import solution_lines
from conftest import BOOK_DIR, VIEWPORTS
from test_site import BOOK, IDS, PAGES, assert_no_console_errors, wait_for_mathjax
from weightinit.plots import MIN_FONT_PT

AXE = Path(__file__).resolve().parent / "vendor" / "axe-core" / "axe.min.js"
MIN_TEXT_PX = 10.0
SIZES = list(VIEWPORTS)
_FILE_NAME = re.compile(r"(^|/)[\w.-]+\.(png|jpe?g|gif|svg|webp)$|_images/", re.IGNORECASE)

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


def open_at(new_page, base_url, expected, size: str):
    width, height = VIEWPORTS[size]
    pg = new_page(width, height)
    response = pg.goto(base_url + expected.url, wait_until="load")
    assert response is not None and response.status == 200, f"{expected.url} not served"
    wait_for_mathjax(pg)
    pg.wait_for_timeout(400)  # course.js marks scroll boxes after MathJax
    return pg


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


# --------------------------------------------------------------------------- width
@pytest.mark.parametrize("size", SIZES)
@pytest.mark.parametrize("index", range(len(PAGES)), ids=IDS)
def test_nothing_wider_than_the_column(new_page, base_url, screenshot_dir, index, size):
    expected = PAGES[index]
    pg = open_at(new_page, base_url, expected, size)
    bad = pg.evaluate(OVERFLOW_JS)
    name = expected.docname.replace("/", "__")
    pg.screenshot(path=str(screenshot_dir / f"{name}--{size}.png"), full_page=True)
    assert not bad, f"{len(bad)} elements wider than the column at {size}:\n  " + "\n  ".join(
        bad[:12]
    )
    assert_no_console_errors(pg)


# --------------------------------------------------------------------------- figures
@pytest.mark.parametrize("index", range(len(PAGES)), ids=IDS)
def test_figures(new_page, base_url, index):
    expected = PAGES[index]
    pg = open_at(new_page, base_url, expected, "laptop")
    pg.evaluate("() => document.querySelectorAll('article.bd-article img')"
                ".forEach(i => i.scrollIntoView())")  # fmt: skip
    pg.wait_for_function(
        "() => [...document.querySelectorAll('article.bd-article img')].every(i => i.complete)"
    )
    problems = []
    for fig in pg.evaluate(FIGURES_JS):
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
        if where.lower().endswith(".svg"):
            continue  # vector figures: text is drawn at its point size
        ppi = png_pixels_per_inch(pg.request.get(fig["url"]).body())
        if ppi is None:
            problems.append(f"{where}: no pixels-per-inch in the PNG, text size unknown")
            continue
        text_px = MIN_FONT_PT / 72 * ppi * fig["shown"] / fig["natural"]
        if text_px < MIN_TEXT_PX:
            problems.append(
                f"{where}: {MIN_FONT_PT} pt text is {text_px:.1f} px at 1366 px "
                f"({fig['natural']} px image at {ppi:.0f} ppi shown {fig['shown']:.0f} px wide)"
            )
    assert not problems, "\n  ".join(["figures:", *problems])
    assert_no_console_errors(pg)


# --------------------------------------------------------------------------- axe
def run_axe(pg) -> list[str]:
    pg.add_script_tag(path=str(AXE))
    result = pg.evaluate(
        """async () => {
            const r = await axe.run(document, {resultTypes: ['violations']});
            return r.violations.map(v => ({id: v.id, impact: v.impact, help: v.help,
                nodes: v.nodes.slice(0, 3).map(n => n.target.join(' ')),
                count: v.nodes.length}));
        }"""
    )
    return [
        f"{v['impact']}: {v['id']} ({v['help']}) x{v['count']}, e.g. {v['nodes']}"
        for v in result
        if v["impact"] in ("serious", "critical")
    ]


@pytest.mark.parametrize("size", SIZES)
@pytest.mark.parametrize("index", range(len(PAGES)), ids=IDS)
def test_axe(new_page, base_url, index, size):
    expected = PAGES[index]
    pg = open_at(new_page, base_url, expected, size)
    found = run_axe(pg)
    assert not found, "axe-core violations:\n  " + "\n  ".join(found)


# --------------------------------------------------------------------------- explorer
EXPLORER = [p for p in PAGES if p.docname.endswith("explorer")]
#: initializers the explorer must offer besides Part I's (scripts/make_explorer_data.py)
PART2_SCHEMES = ("orthogonal_gain", "lsuv", "lsuv_glorot")


@pytest.mark.parametrize("expected", EXPLORER, ids=[p.docname for p in EXPLORER])
def test_explorer_is_interactive(new_page, base_url, expected):
    pg = open_at(new_page, base_url, expected, "laptop")
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
    assert {"initializer", "activation", "width"} <= set(labels), labels
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
    assert_no_console_errors(pg)


# --------------------------------------------------------------------------- downloads
CHAPTERS = [p for p in PAGES if p.numbered and p.source.suffix == ".ipynb"]


@pytest.mark.parametrize("expected", CHAPTERS, ids=[p.docname for p in CHAPTERS])
def test_student_download(new_page, base_url, expected):
    solved_nb = json.loads(expected.source.read_text(encoding="utf-8"))
    secret = solution_lines(solved_nb)
    assert secret, f"{expected.source.name}: a chapter has exercises with solutions"
    pg = open_at(new_page, base_url, expected, "laptop")
    solved = pg.locator("a.wi-download-solved")
    student = pg.locator("a.wi-download-student")
    assert solved.count() == 1 and student.count() == 1, "no student/solved download links"
    assert solved.is_visible() and student.is_visible()
    solved_url = urljoin(pg.url, solved.get_attribute("href"))
    assert pg.request.get(solved_url).json()["cells"] == solved_nb["cells"]
    response = pg.request.get(urljoin(pg.url, student.get_attribute("href")))
    assert response.status == 200
    nb = response.json()
    lines = {line.strip() for cell in nb["cells"] for line in "".join(cell["source"]).splitlines()}
    leaked = [line for line in secret if line in lines]
    assert not leaked, f"the student notebook contains solution lines: {leaked[:5]}"
    for cell in nb["cells"]:
        source = "".join(cell["source"])
        assert not re.search(r"\{solution(-start)?\}", source), "a {solution} block remains"
        if cell["cell_type"] == "code" and "# BEGIN SOLUTION" in source:
            assert "NotImplementedError" in source, "a solution region is not a stub"
    assert_no_console_errors(pg)


def test_book_dir_is_consistent():
    """The pages under test come from the book whose site is tested."""
    assert PAGES and (BOOK_DIR / "_toc.yml").is_file() and BOOK.title


@pytest.mark.parametrize("index", range(len(PAGES)), ids=IDS)
def test_no_grading_markers(page, base_url, index):
    """Solution code is shown without its ``# BEGIN/END SOLUTION`` lines (_ext/solution_markers).

    Only the code of solutions counts (a cell tagged ``solution``, a solution dropdown):
    prose that explains the markers, such as the instructors' page, may name them."""
    expected = PAGES[index]
    page.goto(base_url + expected.url, wait_until="load")
    texts = page.locator("article.bd-article .cell.tag_solution, article.bd-article .solution")
    for text in texts.all_text_contents():
        for marker in ("# BEGIN SOLUTION", "# END SOLUTION"):
            assert marker not in text, f"a solution shows {marker!r}"
