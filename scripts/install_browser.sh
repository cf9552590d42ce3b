#!/usr/bin/env bash
# Install the browser of the browser test (browser_tests/): Debian's Chromium headless
# shell (package chromium-headless-shell, /usr/lib/chromium/chromium-headless-shell), which
# the test and the PDF build drive; the full Chromium and its WebDriver for anyone who
# prefers to look at a page or use Selenium; and poppler-utils (pdftotext, pdftoppm) for
# the test of the handout PDF (make pdf). Idempotent: does nothing when the headless shell
# (or $CHROMIUM) and pdftoppm are already there. Needs root (or sudo) for apt-get.
#
# The test drives the browser with Playwright's Python package (requirements.txt),
# whose wheel carries its own driver. Never run `playwright install`: it downloads a
# browser build of its own, which is neither needed nor reachable from CI.
set -euo pipefail
CHROMIUM=${CHROMIUM:-/usr/lib/chromium/chromium-headless-shell}
if [ -x "$CHROMIUM" ] && command -v pdftoppm >/dev/null; then
    echo "install_browser: $CHROMIUM and poppler-utils (PDF test) are installed"
    exit 0
fi
SUDO=""
if [ "$(id -u)" -ne 0 ]; then
    SUDO=sudo
fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update
$SUDO apt-get install -y chromium chromium-headless-shell chromium-driver poppler-utils
if [ ! -x "$CHROMIUM" ]; then
    echo "install_browser: Chromium is installed but $CHROMIUM is missing (set CHROMIUM)" >&2
    exit 1
fi
echo "install_browser: installed $CHROMIUM"
