"""``riskmodel dashboard`` as a real server on 127.0.0.1, driven by headless Chromium: the
page loads without console errors, a step advances the day counter, a slider changes the
model built on reset and the panels that show it, and the server stops cleanly.
"""

from __future__ import annotations

import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator

import pytest
from test_report_browser import browser, console_errors, keep_screenshot  # noqa: F401  (shared browser fixture)

pytestmark = pytest.mark.browser

CLI = [sys.executable, "-c", "from riskmodel.cli import main; main()"]
WAIT = 180  # seconds: the first page builds the model (the world is compiled) on a busy machine


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def until(condition, what: str, timeout: float = WAIT):
    """Poll ``condition`` until it gives a true value; fail naming ``what`` otherwise."""
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        try:
            value = condition()
        except Exception:  # the page or server is not there yet
            value = None
        if value:
            return value
        time.sleep(0.5)
    pytest.fail(f"timed out after {timeout:.0f} s waiting for {what}")


@pytest.fixture(scope="module")
def server() -> Iterator[tuple[subprocess.Popen, str]]:
    port = free_port()
    process = subprocess.Popen([*CLI, "dashboard", "--port", str(port)], stdout=subprocess.PIPE,
                               stderr=subprocess.STDOUT, text=True)  # fmt: skip
    url = f"http://127.0.0.1:{port}/"
    try:
        until(lambda: process.poll() is None and urllib.request.urlopen(url, timeout=5).status == 200,
              "the dashboard server")  # fmt: skip
        yield process, url
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()


def body(driver) -> str:
    from selenium.webdriver.common.by import By

    return driver.find_element(By.TAG_NAME, "body").text


def lever(driver, name: str) -> str:
    from selenium.webdriver.common.by import By

    return driver.find_element(By.CSS_SELECTOR, f"b.lever-{name}").text


def button(driver, label: str):
    from selenium.webdriver.common.by import By

    return next(b for b in driver.find_elements(By.TAG_NAME, "button") if b.text.strip().upper() == label)


def test_the_dashboard_in_a_browser(server, browser):  # noqa: F811
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys

    _, url = server
    browser.get_log("browser")
    browser.get(url)
    until(lambda: "Step: 0" in body(browser) and "Day 0 of" in body(browser), "the page and its first model")
    until(lambda: len(browser.find_elements(By.CSS_SELECTOR, "img")) >= 6, "the panels' figures")
    assert console_errors(browser) == []

    button(browser, "STEP").click()  # one render interval: a week
    until(lambda: "Step: 7" in body(browser) and "Day 7 of" in body(browser), "the day counter to advance")

    assert lever(browser, "blame") == "1.0"
    label = browser.find_element(By.XPATH, "//*[contains(@class, 'v-label') and contains(., 'Blame')]")
    thumb = label.find_element(By.XPATH, "ancestor::*[contains(@class, 'v-input')][1]//*[@role='slider']")
    thumb.send_keys(Keys.ARROW_RIGHT)  # one slider step: 0.25
    button(browser, "RESET").click()  # the model is built again from the inputs
    until(lambda: lever(browser, "blame") == "1.25", "the new model's blame in the status panel")
    until(lambda: "Step: 0" in body(browser), "the reset")
    button(browser, "STEP").click()
    until(lambda: "Day 7 of" in body(browser), "the new model to step")
    assert console_errors(browser) == []
    keep_screenshot(browser, "dashboard.png")


def test_the_server_stops_cleanly(server):
    process, url = server
    process.terminate()  # SIGTERM, as a service manager or Ctrl-C would stop it
    output, _ = process.communicate(timeout=60)
    assert process.returncode == 0, output
    with pytest.raises(OSError):
        urllib.request.urlopen(url, timeout=5)
