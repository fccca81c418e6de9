"""Reports opened in headless Chromium: no console errors, every figure drawn, tables there.

Marked ``browser`` (run with ``pytest -m browser``; ``.ci/run`` installs Chromium and runs
them). Without Chromium these tests fail, saying so, rather than skip.
"""

from __future__ import annotations

import io
import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from PIL import Image, ImageStat
from test_report import EXPECTED, reports, run_folders  # noqa: F401  (session fixtures shared with the report tests)
from test_report_calibration import (  # noqa: F401  (session fixtures shared with the report tests)
    CALIBRATION_EXPECTED,
    calibration_folder,
    calibration_report,
)

pytestmark = pytest.mark.browser

CHROMIUM, CHROMEDRIVER = "/usr/bin/chromium", "/usr/bin/chromedriver"
SCREENSHOTS = os.environ.get("RISKMODEL_SCREENSHOT_DIR")  # e.g. docs: keep the screenshots there


def chromium() -> object:
    """Headless Chromium through Selenium, with the browser console log kept."""
    if not (shutil.which(CHROMIUM) and shutil.which(CHROMEDRIVER)):
        pytest.fail(f"the browser tests need Chromium: {CHROMIUM} and {CHROMEDRIVER} are not both installed "
                    "(apt-get install chromium chromium-driver; .ci/run does this)")  # fmt: skip
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in ("--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync",
                 f"--user-data-dir={tempfile.mkdtemp(prefix='chromium-')}", "--window-size=1400,1000"):  # fmt: skip
        options.add_argument(flag)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    return webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    driver = chromium()
    yield driver
    driver.quit()


def console_errors(driver) -> list[str]:
    return [entry["message"] for entry in driver.get_log("browser") if entry["level"] == "SEVERE"]


def keep_screenshot(driver, name: str) -> None:
    if SCREENSHOTS:
        Path(SCREENSHOTS).mkdir(parents=True, exist_ok=True)
        driver.save_screenshot(str(Path(SCREENSHOTS) / name))


def is_blank(png: bytes) -> bool:
    """Whether a screenshot is one flat colour (nothing drawn)."""
    return max(ImageStat.Stat(Image.open(io.BytesIO(png)).convert("L")).stddev) < 2.0


def opens_cleanly(browser, html: str, page: Path, expected: tuple[list[str], int, list[str]], what: int) -> None:
    """The page opens with no console error, every figure drawn (loaded, not one flat
    colour), each table with rows, and ``what`` tables of what was run."""
    from selenium.webdriver.common.by import By

    page.write_text(html, encoding="utf-8")
    browser.get_log("browser")  # start from an empty console
    browser.get(page.as_uri())
    assert console_errors(browser) == []
    _, n_figures, tables = expected
    images = browser.find_elements(By.CSS_SELECTOR, "img.figure")
    assert len(images) == n_figures
    for image in images:
        browser.execute_script("arguments[0].scrollIntoView()", image)
        assert browser.execute_script("return arguments[0].complete && arguments[0].naturalWidth > 0", image)
        assert not is_blank(image.screenshot_as_png)
    for name in tables:
        rows = browser.find_elements(By.CSS_SELECTOR, f"table.{name} tr")
        assert len(rows) > 1, name
    assert len(browser.find_elements(By.CSS_SELECTOR, "table.what")) == what


@pytest.mark.parametrize("kind", list(EXPECTED))
def test_a_report_renders_in_the_browser(browser, reports, tmp_path, kind):  # noqa: F811
    opens_cleanly(browser, reports[kind], tmp_path / f"{kind}.html", EXPECTED[kind], len(EXPECTED[kind][0]))
    if kind == "simulate":
        browser.execute_script("window.scrollTo(0, document.querySelector('table.sectors').offsetTop - 60)")
        keep_screenshot(browser, "report.png")


def test_the_calibration_report_renders_in_the_browser(browser, calibration_report, tmp_path):  # noqa: F811
    """A calibration folder with a recovery beside it: one what-was-fitted table (the
    recovery files record no provenance)."""
    opens_cleanly(browser, calibration_report, tmp_path / "calibration.html", CALIBRATION_EXPECTED, 1)
    browser.execute_script("window.scrollTo(0, document.querySelector('img.figure').offsetTop - 40)")
    keep_screenshot(browser, "report_calibration.png")
