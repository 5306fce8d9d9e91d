"""Browser fixtures: a real `aloft serve` and Debian's Chromium driven by Playwright.

* `site` — an `aloft serve` process (SQLite, rate limits off) for the module.
* `browser` — headless Chromium for the session (Playwright's own browser builds are not
  used: `CHROMIUM`, installed by `make test`). Tests skip, saying why, where it is missing.
* `open_page(js=True)` — a page in a fresh browser context (its own cookies: one person).
  Every page is watched for console errors and uncaught exceptions (a script error, a
  refused Content-Security-Policy, a failed load); any makes the test fail at teardown.
  When a test fails, every page it opened is saved as a screenshot under
  runs/browser/<test>/, and the paths are printed in the failure report.
"""

from __future__ import annotations

import os
import re
import shutil
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from tests.conftest import ROOT, Server, start_server, stop_server

CHROMIUM = os.environ.get("ALOFT_CHROMIUM", "/usr/bin/chromium")
SHOTS = ROOT / "runs" / "browser"
PAGES = pytest.StashKey[list[Any]]()


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    srv = start_server(tmp_path_factory.mktemp("web") / "data")
    yield srv
    stop_server(srv)


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    if not Path(CHROMIUM).exists() and shutil.which("chromium") is None:
        pytest.skip(f"Chromium is not installed at {CHROMIUM} (make test installs it)")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        pytest.skip("Playwright for Python is not installed (uv sync installs it)")
    with sync_playwright() as playwright:
        # --no-sandbox: Chromium's sandbox refuses to run as root, which CI is.
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        yield chromium
        chromium.close()


class Watched:
    """A page and the errors its console reported."""

    def __init__(self, page: Any, name: str) -> None:
        self.page = page
        self.name = name
        self.errors: list[str] = []
        page.on("console", self._console)
        page.on("pageerror", lambda exc: self.errors.append(f"uncaught: {exc}"))

    def _console(self, message: Any) -> None:
        if message.type != "error":
            return
        source = message.location.get("url", "")
        # Chromium reports a page answered with a 4xx (a refused sign-in, a 404 page) as a
        # failed load of that page itself; its status is the test's to check. Any other
        # failed load (a stylesheet, a script, an image, the favicon) is an error here.
        if message.text.startswith("Failed to load resource") and source == self.page.url:
            return
        self.errors.append(f"{message.text} (at {self.page.url}; source {source or '-'})")


@pytest.fixture
def open_page(
    browser: Any, site: Server, request: pytest.FixtureRequest
) -> Iterator[Callable[..., Any]]:
    opened: list[Watched] = []
    request.node.stash[PAGES] = opened

    def make(js: bool = True) -> Any:
        context = browser.new_context(base_url=site.url, java_script_enabled=js)
        context.set_default_timeout(15_000)
        watched = Watched(context.new_page(), f"page{len(opened) + 1}")
        opened.append(watched)
        return watched.page

    yield make
    errors = [f"{w.name}: {e}" for w in opened for e in w.errors]
    for w in opened:
        w.page.context.close()
    assert not errors, "console errors:\n" + "\n".join(errors)


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Iterator[None]:
    outcome = yield
    report = outcome.get_result()
    opened = item.stash.get(PAGES, [])
    if report.when != "call" or not report.failed or not opened:
        return
    folder = SHOTS / re.sub(r"[^\w.-]+", "_", item.nodeid)
    folder.mkdir(parents=True, exist_ok=True)
    saved = []
    for w in opened:
        path = folder / f"{w.name}.png"
        try:
            w.page.screenshot(path=str(path), full_page=True)
            saved.append(f"{path} ({w.page.url})")
        except Exception as exc:  # a closed page: say so, keep the others
            saved.append(f"{path}: not taken ({exc})")
    report.sections.append(("browser screenshots", "\n".join(saved)))
