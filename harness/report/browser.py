"""Headless Chromium for checking and timing the HTML report (tests and benchmarks/report_size.py).

Needs Debian's `chromium` and `chromium-driver` (or CHROME_BIN / CHROMEDRIVER) and the `selenium` package.
"""
from __future__ import annotations

import os
import shutil
import tempfile
from contextlib import contextmanager
from collections.abc import Iterator
from pathlib import Path

FLAGS = ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
         "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-dev-shm-usage",
         "--window-size=1400,1000")


def find_chromium() -> tuple[str, str] | None:
    """(browser, chromedriver) paths, or None when either is missing."""
    browser = os.environ.get("CHROME_BIN") or next(
        (p for p in map(shutil.which, ("chromium", "chromium-browser", "google-chrome")) if p), None)
    driver = os.environ.get("CHROMEDRIVER") or shutil.which("chromedriver")
    return (browser, driver) if browser and driver else None


def missing_reason() -> str | None:
    """Why the browser checks cannot run here, or None when they can."""
    if find_chromium() is None:
        return "headless Chromium not found (apt-get install chromium chromium-driver; .ci/run does)"
    try:
        import selenium  # noqa: F401
    except ImportError:
        return "selenium is not installed (pip install selenium; part of evalh[dev])"
    return None


@contextmanager
def chromium() -> Iterator[object]:
    """A selenium WebDriver on a fresh profile; quits and removes the profile afterwards."""
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    found = find_chromium()
    if found is None:
        raise RuntimeError(missing_reason())
    profile = tempfile.mkdtemp(prefix="evalh-chromium-")
    options = webdriver.ChromeOptions()
    options.binary_location = found[0]
    for flag in (*FLAGS, f"--user-data-dir={profile}"):
        options.add_argument(flag)
    driver = webdriver.Chrome(service=Service(found[1]), options=options)
    try:
        yield driver
    finally:
        driver.quit()
        shutil.rmtree(profile, ignore_errors=True)


def open_report(driver: object, path: Path, timeout: float = 30.0) -> float:
    """Load the report from disk; returns its render time in ms, from navigation start to the first frame
    painted after the page's script has drawn everything."""
    from selenium.webdriver.support.ui import WebDriverWait

    driver.get(Path(path).resolve().as_uri())
    WebDriverWait(driver, timeout).until(lambda d: d.execute_script("return window.evalhPainted !== undefined"))
    return float(driver.execute_script("return window.evalhPainted"))
