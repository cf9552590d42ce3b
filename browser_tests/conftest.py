"""Fixtures of the browser test: the built site on localhost and headless Chromium.

* ``site_dir``: ``_build/html`` (override with ``SITE_DIR``); the session fails, it
  does not skip, when the site has not been built (``make book``).
* ``base_url``: the site served by ``http.server`` in a thread on a free port of
  127.0.0.1.
* ``browser``: Debian's Chromium headless shell (``HEADLESS_SHELL``, package
  ``chromium-headless-shell``; override with ``CHROMIUM``, e.g. ``/usr/bin/chromium``)
  driven by Playwright, whose Python wheel brings its own driver; nothing is
  downloaded (never run ``playwright install``). The headless shell is the same Blink
  as the full browser without its window and profile machinery, and what Playwright
  itself runs for headless tests: the browser test used 16 % less CPU with it than with
  the full ``chromium --headless`` (367 against 438 CPU-s, the same 38 tests passing).
* ``page``: a fresh browser context and page per test, with every request to a host
  other than 127.0.0.1 aborted as "internet disconnected", so the test behaves the
  same with or without a network, and with a :class:`Console` recorder attached.
* ``pages``: the pages of the book in reading order, from ``_toc.yml`` and the sources.
"""

from __future__ import annotations

import functools
import http.server
import os
import shutil
import threading
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

import pytest
import yaml
from book_pages import Page, read_book
from playwright.sync_api import sync_playwright

ROOT = Path(__file__).resolve().parent.parent
#: the book whose _toc.yml and sources say what the pages must show (default: this one;
#: BOOK_DIR points at another, e.g. the fixture book of browser_tests/fixture_book.py)
BOOK_DIR = Path(os.environ.get("BOOK_DIR", ROOT)).resolve()
#: the two screens of the layout checks: a 1366 px laptop and a 390 px phone
VIEWPORTS = {"laptop": (1366, 900), "phone": (390, 844)}
#: Debian's chromium-headless-shell (scripts/install_browser.sh installs it)
HEADLESS_SHELL = "/usr/lib/chromium/chromium-headless-shell"
CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]

# Console errors that only the absence of internet causes, and nothing else: a request
# to one of these hosts that fails with one of these network errors. Requests to other
# hosts are aborted too (see `page`), but their failure is reported: an unknown
# external dependency of the site should be a decision, not an accident.
#   mybinder.org, colab.research.google.com: launch buttons (links only, never loaded)
#   unpkg.com: sphinx-thebe's Thebe bundle (only loaded on "live code", disabled here)
#   cdn.jsdelivr.net, cdnjs.cloudflare.com: ipywidgets embedding (switched off in
#     _config.yml with nb_ipywidgets_js) and MathJax's default CDN (we serve MathJax)
#   fonts.googleapis.com, fonts.gstatic.com: web fonts a theme may request
#   github.com, api.github.com: repository and issue buttons
# With the current configuration the pages make no external request at all: the list
# is what a reader without internet could see, not what the test expects to see.
OFFLINE_HOSTS = {
    "mybinder.org",
    "colab.research.google.com",
    "unpkg.com",
    "cdn.jsdelivr.net",
    "cdnjs.cloudflare.com",
    "fonts.googleapis.com",
    "fonts.gstatic.com",
    "github.com",
    "api.github.com",
}
OFFLINE_ERRORS = (
    "net::ERR_INTERNET_DISCONNECTED",
    "net::ERR_NAME_NOT_RESOLVED",
    "net::ERR_CONNECTION_REFUSED",
    "net::ERR_CONNECTION_TIMED_OUT",
    "net::ERR_ADDRESS_UNREACHABLE",
    "net::ERR_NETWORK_ACCESS_DENIED",
    "net::ERR_PROXY_CONNECTION_FAILED",
    "net::ERR_TIMED_OUT",
    "net::ERR_FAILED",
)


def is_local(url: str) -> bool:
    parts = urlsplit(url)
    return parts.scheme in ("data", "blob", "about") or parts.hostname in ("127.0.0.1", None)


def offline_failure(url: str, text: str) -> bool:
    """True when a failure is caused by the absence of internet (allow-listed above)."""
    host = urlsplit(url).hostname or ""
    return host in OFFLINE_HOSTS and any(err in text for err in OFFLINE_ERRORS)


@dataclass
class Console:
    """What a page reported: console errors, uncaught exceptions, failed requests."""

    errors: list[str] = field(default_factory=list)  # not caused by being offline
    offline: list[str] = field(default_factory=list)  # caused by being offline
    #: set once the page under test is left for another one whose own test checks it
    #: (checks.check_next): what that page reports is not recorded
    muted: bool = False

    def on_console(self, msg) -> None:
        if msg.type != "error" or self.muted:
            return
        url = (msg.location or {}).get("url", "")
        text = f"console.error: {msg.text} [{url}]"
        (self.offline if offline_failure(url, msg.text) else self.errors).append(text)

    def on_pageerror(self, exc) -> None:
        if self.muted:
            return
        self.errors.append(f"uncaught exception: {exc}")

    def on_requestfailed(self, request) -> None:
        if self.muted:
            return
        failure = request.failure or ""
        text = f"request failed: {request.url} ({failure})"
        (self.offline if offline_failure(request.url, failure) else self.errors).append(text)

    def on_response(self, response) -> None:
        if response.status >= 400 and not self.muted:
            self.errors.append(f"HTTP {response.status}: {response.url}")


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format, *args):
        pass


#: the built site under test (``SITE_DIR``, default: the book's ``_build/html``)
SITE = Path(os.environ.get("SITE_DIR", BOOK_DIR / "_build" / "html")).resolve()
#: screenshots go next to the site (_build/screenshots), not inside it: never published
SCREENSHOTS = SITE.parent / "screenshots"


def pytest_addoption(parser):
    parser.addoption(
        "--screenshots",
        action="store_true",
        help="browser_tests: save a full-page screenshot of every page at each screen size "
        "in _build/screenshots/ (make browser does; costly on long pages)",
    )


def pytest_configure(config):
    # emptied once per run, by the main process (not by each pytest-xdist worker, which
    # would delete the screenshots of the other)
    if config.getoption("screenshots") and not hasattr(config, "workerinput"):
        shutil.rmtree(SCREENSHOTS, ignore_errors=True)


@pytest.fixture(scope="session")
def site_dir() -> Path:
    if not (SITE / "index.html").is_file():
        pytest.fail(f"no built site at {SITE}: run `make book` first", pytrace=False)
    return SITE


@pytest.fixture(scope="session")
def screenshot_dir(site_dir, pytestconfig) -> Path | None:
    """Where screenshots go (``--screenshots``), or None: no screenshots."""
    if not pytestconfig.getoption("screenshots"):
        return None
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    return SCREENSHOTS


@pytest.fixture(scope="session")
def base_url(site_dir):
    handler = functools.partial(_QuietHandler, directory=str(site_dir))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/"
    server.shutdown()
    server.server_close()


@pytest.fixture(scope="session")
def browser():
    executable = os.environ.get("CHROMIUM", HEADLESS_SHELL)
    if not Path(executable).is_file():
        pytest.fail(
            f"no Chromium at {executable}: run `bash scripts/install_browser.sh`", pytrace=False
        )
    # Playwright starts Chromium with a fresh temporary profile (--user-data-dir) of
    # its own, and every test gets a new incognito-like context inside it.
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=executable, args=CHROMIUM_FLAGS)
        yield browser
        browser.close()


@pytest.fixture
def new_page(browser, base_url):
    """A factory: ``new_page(width, height)`` opens a fresh context and page at that size."""
    contexts = []

    def make(width: int = 1280, height: int = 900):
        context = browser.new_context(viewport={"width": width, "height": height})
        contexts.append(context)
        context.route(
            lambda url: not is_local(url),
            lambda route: route.abort("internetdisconnected"),
        )
        pg = context.new_page()
        pg.set_default_timeout(30_000)
        console = Console()
        pg.on("console", console.on_console)
        pg.on("pageerror", console.on_pageerror)
        pg.on("requestfailed", console.on_requestfailed)
        pg.on("response", console.on_response)
        pg.console_log = console
        return pg

    yield make
    for context in contexts:
        context.close()


@pytest.fixture
def page(new_page):
    return new_page(1280, 900)


@pytest.fixture(scope="session")
def book():
    return read_book(BOOK_DIR)


@pytest.fixture(scope="session")
def pages(book) -> list[Page]:
    return book.pages


@pytest.fixture(scope="session")
def config() -> dict:
    return yaml.safe_load((BOOK_DIR / "_config.yml").read_text(encoding="utf-8"))
