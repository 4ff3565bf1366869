"""A real headless Chromium for page tests: Debian's ``chromium`` driven through ``chromedriver`` by Selenium.

The browser is started with its console log captured (so a test can assert that no CSP violation or
script error happened) and stopped by pid: ``driver.quit()`` first, then every process it started
(chromedriver and the chromium processes under it, recorded at start) is stopped by its pid if still
alive. Screenshots go to ``test-artifacts/screenshots/`` at the repository root (gitignored); each path
is printed, so ``pytest -s`` lists them.
"""

from __future__ import annotations

import os
import re
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tests.support.leaks import alive, stop_pid

CHROMIUM = shutil.which("chromium")
DRIVER = shutil.which("chromedriver")
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "screenshots"
LAPTOP = (1280, 900)
PHONE = (390, 844)
MISSING = "chromium and chromium-driver are installed by scripts/setup"


def _children(pid: int) -> list[int]:
    found = []
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        try:
            stat = Path(f"/proc/{name}/stat").read_text()
        except OSError:
            continue
        if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
            found.append(int(name))
    return found


def descendants(pid: int) -> list[int]:
    """``pid``'s children, their children, and so on."""
    found, queue = [], [pid]
    while queue:
        for child in _children(queue.pop()):
            found.append(child)
            queue.append(child)
    return found


@dataclass
class Browser:
    driver: Any
    base_url: str
    pids: list[int] = field(default_factory=list)
    shots: list[Path] = field(default_factory=list)

    def open(self, path: str) -> None:
        self.driver.get(self.base_url + path)

    @property
    def path(self) -> str:
        url = str(self.driver.current_url)
        return url[len(self.base_url) :] if url.startswith(self.base_url) else url

    def css(self, selector: str) -> Any:
        return self.driver.find_element("css selector", selector)

    def all(self, selector: str) -> list[Any]:
        return list(self.driver.find_elements("css selector", selector))

    def text(self, selector: str) -> str:
        return str(self.css(selector).text)

    def fill(self, selector: str, value: str) -> None:
        element = self.css(selector)
        element.clear()
        element.send_keys(value)

    def click(self, selector: str) -> None:
        self.css(selector).click()

    def submit(self, selector: str, timeout: float = 15.0) -> None:
        """Click ``selector`` and wait until the browser has left the page (a form sent, a link followed)."""
        from selenium.common.exceptions import StaleElementReferenceException, WebDriverException
        from selenium.webdriver.support.wait import WebDriverWait

        page = self.css("html")
        self.css(selector).click()

        def left(_: Any) -> bool:
            try:
                page.is_enabled()
            except StaleElementReferenceException:
                return True
            except WebDriverException as exc:
                # Asked mid-navigation, ChromeDriver answers that the node left the document instead of
                # "stale": the page is gone either way.
                if "does not belong to the document" in str(exc):
                    return True
                raise
            return False

        WebDriverWait(self.driver, timeout).until(left)

    def console(self) -> list[dict[str, Any]]:
        """Console entries since the last call (Chromium hands each out once)."""
        return list(self.driver.get_log("browser"))

    def errors(self) -> list[str]:
        return [str(entry.get("message")) for entry in self.console() if entry.get("level") == "SEVERE"]

    def screenshot(self, name: str, size: tuple[int, int] = LAPTOP, full: bool = True) -> Path:
        """The page at ``size`` (the whole page's height when ``full``), under test-artifacts/screenshots."""
        width, height = size
        self.driver.set_window_size(width, height)
        if full:
            page = int(self.driver.execute_script("return document.documentElement.scrollHeight"))
            self.driver.set_window_size(width, min(max(height, page + 120), 8000))
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        shot = ARTIFACTS / f"{re.sub(r'[^A-Za-z0-9_.-]+', '-', name)}.png"
        assert self.driver.save_screenshot(str(shot)), shot
        self.driver.set_window_size(*LAPTOP)
        self.shots.append(shot)
        print(f"screenshot: {shot}")
        return shot


def start_browser(base_url: str, profile: Path) -> Browser:
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM or ""
    for flag in (
        "--headless=new",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-dev-shm-usage",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--no-first-run",
        "--password-store=basic",
        f"--user-data-dir={profile}",
        f"--window-size={LAPTOP[0]},{LAPTOP[1]}",
    ):
        options.add_argument(flag)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    service = Service(DRIVER or "")
    driver = webdriver.Chrome(service=service, options=options)
    driver_pid = int(service.process.pid)
    return Browser(driver, base_url, [driver_pid, *descendants(driver_pid)])


def stop_browser(browser: Browser) -> None:
    try:
        browser.driver.quit()
    finally:
        for pid in browser.pids:
            if alive(pid):
                stop_pid(pid)


def sign_in(browser: Browser, token: str, next_path: str = "/ui/approvals") -> None:
    """Through the sign-in form, as a person does: the page asks, the token is typed, the form sent."""
    browser.open(next_path)
    assert browser.path.startswith("/ui/sign-in"), browser.path
    browser.fill("#token", token)
    browser.submit("#sign-in")
    assert browser.path == next_path, browser.path
