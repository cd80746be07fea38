"""Printing the papers to PDF through headless Chromium (Debian's `chromium`, driven by the `playwright` package;
never `playwright install`, which downloads a browser). The page size and margins come from each paper's CSS @page.

    apt-get install -y chromium fonts-noto-cjk
    pip install "playwright>=1.45,<2"
"""
from __future__ import annotations

import os
from pathlib import Path
from types import TracebackType

CHROMIUM_ENV = "LOSTCONTACT_CHROMIUM"
DEFAULT_CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--no-first-run"]


def chromium_path() -> str:
    return os.environ.get(CHROMIUM_ENV, DEFAULT_CHROMIUM)


def available() -> bool:
    """Whether PDFs can be printed here: Chromium present and playwright importable."""
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return False
    return Path(chromium_path()).exists()


class PdfPrinter:
    """One browser for many papers: `with PdfPrinter() as p: p.print(html, path)`."""

    def __init__(self, executable_path: str | None = None):
        self.executable_path = executable_path or chromium_path()
        self._pw = None
        self._browser = None

    def __enter__(self) -> PdfPrinter:
        if not Path(self.executable_path).exists():
            raise RuntimeError(f"未找到Chromium（{self.executable_path}），无法生成PDF：请安装 "
                               f"`apt-get install -y chromium fonts-noto-cjk`，或设置环境变量{CHROMIUM_ENV}")
        try:
            from playwright.sync_api import sync_playwright
        except ImportError as err:
            raise RuntimeError("未安装playwright，无法生成PDF：pip install 'playwright>=1.45,<2'") from err
        self._pw = sync_playwright().start()
        try:
            self._browser = self._pw.chromium.launch(executable_path=self.executable_path, args=CHROMIUM_ARGS)
        except Exception:
            self._pw.stop()
            self._pw = None
            raise
        return self

    @property
    def browser(self):
        """The running browser (playwright's `Browser`), for callers that lay out or measure pages themselves."""
        if self._browser is None:
            raise RuntimeError("PdfPrinter must be used as a context manager")
        return self._browser

    def print(self, html: str, path: str | os.PathLike) -> str:
        if self._browser is None:
            raise RuntimeError("PdfPrinter must be used as a context manager")
        target = Path(path)
        target.parent.mkdir(parents=True, exist_ok=True)
        page = self._browser.new_page()
        try:
            page.emulate_media(media="print")
            page.set_content(html, wait_until="load")
            page.evaluate("document.fonts.ready.then(() => true)")
            page.pdf(path=str(target), format="A4", prefer_css_page_size=True, print_background=True)
        finally:
            page.close()
        return str(target)

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        try:
            if self._browser is not None:
                self._browser.close()
        finally:
            self._browser = None
            if self._pw is not None:
                self._pw.stop()
                self._pw = None


def html_to_pdf(html: str, path: str | os.PathLike) -> str:
    """Print one paper to a PDF file; returns its path."""
    with PdfPrinter() as printer:
        return printer.print(html, path)
