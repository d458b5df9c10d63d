"""Fixtures for the Continue page: a tiny application site to land on, and Chromium.

Chromium is Debian's ``chromium`` package driven by Playwright (``executable_path``); Playwright's
own browser downloads are never used. Without Chromium the browser tests skip locally and fail in
CI (``CI=true`` or ``TENANTRY_REQUIRE_CHROMIUM=1``). Screenshots go to ``artifacts/web/`` (git
ignores ``/artifacts/``), or to ``TENANTRY_TEST_ARTIFACTS`` when set.
"""

from __future__ import annotations

import os
import shutil
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]


class AppSite:
    """The application a magic link leads to: answers every GET with a page and records it."""

    def __init__(self) -> None:
        self.requests: list[str] = []
        site = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802 (http.server's naming)
                site.requests.append(self.path)
                body = b"<!doctype html><title>App</title><h1>Application received the link</h1>"
                self.send_response(200)
                self.send_header("Content-Type", "text/html; charset=utf-8")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *_args: Any) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.origin = f"http://127.0.0.1:{self._server.server_address[1]}"
        self.redirect_url = f"{self.origin}/authenticate"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()


@pytest.fixture
def app_site() -> Iterator[AppSite]:
    site = AppSite()
    try:
        yield site
    finally:
        site.close()


def _chromium_required() -> bool:
    return os.environ.get("TENANTRY_REQUIRE_CHROMIUM") == "1" or os.environ.get("CI", "").lower() == "true"


# Module scope, not session: while Playwright's sync API is open it leaves an event loop marked
# running in the main thread, so a later test in the same worker that calls asyncio.run() fails.
@pytest.fixture(scope="module")
def chromium() -> Iterator[Any]:
    """A headless Debian Chromium under Playwright, shared by one module's tests."""
    executable = shutil.which("chromium")
    problem = None
    if executable is None:
        problem = "Debian's chromium is not installed (apt-get install chromium)"
    else:
        try:
            from playwright.sync_api import sync_playwright
        except ImportError:
            problem = "the playwright package is not installed (pip install -e '.[dev]')"
    if problem is not None:
        if _chromium_required():
            pytest.fail(problem + " (CI=true or TENANTRY_REQUIRE_CHROMIUM=1: not skipping)", pytrace=False)
        pytest.skip(problem)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=executable, headless=True)
        try:
            yield browser
        finally:
            browser.close()


@pytest.fixture
def artifacts_dir(request: pytest.FixtureRequest) -> Path:
    base = Path(os.environ.get("TENANTRY_TEST_ARTIFACTS") or REPO_ROOT / "artifacts")
    safe = "".join(c if c.isalnum() or c in "-_." else "_" for c in request.node.name)
    path = base / "web" / safe
    path.mkdir(parents=True, exist_ok=True)
    return path
