"""Driving the web app in Debian's Chromium through Playwright, at a phone's 390x844: the app served by uvicorn on a
loopback port in a thread of the test, one browser context per person, a screenshot of every page kept under
var/screenshots/ (not committed) and every page checked for horizontal scrolling."""
from __future__ import annotations

import os
import re
import socket
import threading
import time
from contextlib import contextmanager
from pathlib import Path

import uvicorn

from reports.pdf import CHROMIUM_ARGS, chromium_path
from tests.web.world import PASSWORD
from web.app import Settings, create_app

SHOTS = Path(os.environ.get("LOSTCONTACT_SCREENSHOTS", "var/screenshots"))
PHONE = {"viewport": {"width": 390, "height": 844}, "device_scale_factor": 2, "is_mobile": True, "has_touch": True,
         "locale": "zh-CN", "timezone_id": "Asia/Shanghai"}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextmanager
def serving(store, clock=None):
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    settings = Settings(base_url=base, clock=clock) if clock else Settings(base_url=base)
    server = uvicorn.Server(uvicorn.Config(create_app(store, settings), host="127.0.0.1", port=port,
                                           log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.05)
    assert server.started, "the web app did not start"
    try:
        yield base
    finally:
        server.should_exit = True
        thread.join(10)


@contextmanager
def chromium():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=chromium_path(), args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()


class Person:
    """One person's phone: a browser context signed in as them."""

    def __init__(self, browser, base: str, login: str, folder: str):
        self.context = browser.new_context(**PHONE)
        self.page = self.context.new_page()
        self.base, self.login, self.folder = base, login, folder
        self.shots = 0

    def shot(self, name: str) -> Path:
        """Screenshot the whole page and check nothing is wider than the phone."""
        self.shots += 1
        path = SHOTS / self.folder / f"{self.shots:02d}-{self.login}-{name}.png"
        path.parent.mkdir(parents=True, exist_ok=True)
        self.page.screenshot(path=str(path), full_page=True)
        width = self.page.evaluate("document.documentElement.scrollWidth")
        assert width <= 390, f"{name}: the page is {width}px wide on a 390px phone (horizontal scrolling)"
        return path

    def sign_in(self) -> None:
        self.page.goto(f"{self.base}/signin")
        self.shot("signin")
        self.page.fill("#login", self.login)
        self.page.fill("#password", PASSWORD)
        self.page.click("button[type=submit]")
        self.page.wait_for_url(re.compile(r".*/inbox.*"))
        self.shot("inbox")

    def inbox_has(self, text: str) -> bool:
        self.page.goto(f"{self.base}/inbox")
        return self.page.locator("ul.items").inner_text().find(text) >= 0

    def open_case(self, case_id: str) -> None:
        self.page.goto(f"{self.base}/inbox")
        self.page.click(f"a[href='/cases/{case_id}']")
        self.page.wait_for_url(f"**/cases/{case_id}")

    def submit(self, form_selector: str, name: str) -> None:
        self.shot(f"{name}-form")
        self.page.click(f"{form_selector} button[type=submit]")
        self.page.wait_for_load_state("load")
        self.shot(f"{name}-done")

    def close(self) -> None:
        self.context.close()
