#!/usr/bin/env bash
# Install the browser of the browser test (browser_tests/): Debian's Chromium, and its
# WebDriver for anyone who prefers Selenium; and poppler-utils (pdftotext, pdftoppm)
# for the test of the handout PDF (make pdf). Idempotent: does nothing when
# /usr/bin/chromium (or $CHROMIUM) is already there. Needs root (or sudo) for apt-get.
#
# The test drives this Chromium with Playwright's Python package (requirements.txt),
# whose wheel carries its own driver. Never run `playwright install`: it downloads a
# browser build of its own, which is neither needed nor reachable from CI.
set -euo pipefail
CHROMIUM=${CHROMIUM:-/usr/bin/chromium}
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
$SUDO apt-get install -y chromium chromium-driver poppler-utils
if [ ! -x "$CHROMIUM" ]; then
    echo "install_browser: chromium is installed but $CHROMIUM is missing (set CHROMIUM)" >&2
    exit 1
fi
echo "install_browser: installed $CHROMIUM"
