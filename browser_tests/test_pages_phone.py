"""Every page of ``_toc.yml`` on a 390 px phone screen: every check of ``checks.py``.

One test per page: the page is loaded once and every check runs on it (see
``checks.run_page``); a failure lists every failed check by name, with the page and the
screen size. The laptop screen is ``test_pages_laptop.py``, in a file of its own;
under ``make test`` each page test is a pytest-xdist work unit of its own (root conftest.py).
"""

from __future__ import annotations

import pytest
from checks import IDS, PAGES, run_page


@pytest.mark.parametrize("index", range(len(PAGES)), ids=IDS)
def test_page_at_phone(new_page, base_url, config, screenshot_dir, index):
    run = run_page(new_page, base_url, config, screenshot_dir, index, "phone")
    if run.failures:
        pytest.fail(run.report(), pytrace=False)
