"""Fixtures of the page tests: the real app served over HTTP, and a real Chromium.

Page tests run on SQLite only: the database choice does not change what a buyer sees,
and the invariant tests already cover PostgreSQL.
"""

from __future__ import annotations

import os
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import uvicorn
from playwright.sync_api import Browser, Page, Playwright, sync_playwright

from shop.app import create_app
from shop.db import migrate
from shop.settings import Settings

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-background-networking",
    "--disable-gpu",
    "--disable-component-update",
    "--no-first-run",
    "--disable-sync",
]
IN_CI = os.environ.get("CI", "").strip().lower() in {"true", "1"}
STARTUP_TIMEOUT = 15.0


@pytest.fixture
def database_url(tmp_path: Path) -> str:
    """A migrated, empty SQLite database (overrides the SQLite + PostgreSQL parametrisation)."""
    url = f"sqlite:///{tmp_path / 'shop.db'}"
    migrate(url)
    return url


def _bound_socket() -> socket.socket:
    """A socket on 127.0.0.1 with a free port, bound now so no other process can take it."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    return sock


def _wait_until_answering(url: str, server: uvicorn.Server, thread: threading.Thread) -> None:
    deadline = time.monotonic() + STARTUP_TIMEOUT
    last_error: Exception | None = None
    while time.monotonic() < deadline:
        if not thread.is_alive():
            raise RuntimeError("the shop's server thread stopped during start-up")
        if server.started:
            try:
                httpx.get(url + "/", timeout=2.0)
                return
            except httpx.HTTPError as exc:
                last_error = exc
        time.sleep(0.05)
    raise RuntimeError(f"the shop did not answer at {url} within {STARTUP_TIMEOUT}s: {last_error}")


@pytest.fixture
def live_settings(seeded: Settings) -> Settings:
    """The settings the live server runs with; a test module may override this fixture."""
    return seeded


@pytest.fixture
def live_server(live_settings: Settings) -> Iterator[str]:
    """The real app, seeded with the demo data, served by uvicorn; yields its base URL."""
    sock = _bound_socket()
    host, port = sock.getsockname()
    config = uvicorn.Config(
        create_app(live_settings), host=host, port=port, log_level="warning", lifespan="on"
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(
        target=server.run, kwargs={"sockets": [sock]}, name="shop-live-server", daemon=True
    )
    thread.start()
    base_url = f"http://{host}:{port}"
    try:
        _wait_until_answering(base_url, server, thread)
        yield base_url
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        sock.close()
    assert not thread.is_alive(), "the shop's server thread did not stop"


@pytest.fixture(scope="session")
def playwright_instance() -> Iterator[Playwright]:
    with sync_playwright() as playwright:
        yield playwright


@pytest.fixture(scope="session")
def browser(playwright_instance: Playwright) -> Iterator[Browser]:
    """Debian's Chromium; the tests never download a browser."""
    if not CHROMIUM.exists():
        message = f"Chromium not installed at {CHROMIUM}: apt-get install chromium"
        if IN_CI:
            pytest.fail(f"Chromium is required in CI. {message}", pytrace=False)
        pytest.skip(message)
    browser = playwright_instance.chromium.launch(
        executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, headless=True
    )
    yield browser
    browser.close()


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    """A fresh page in its own context (no cookies), with an English-speaking browser."""
    context = browser.new_context(locale="en-US", viewport={"width": 1280, "height": 900})
    context.set_default_timeout(10_000)
    page = context.new_page()
    yield page
    context.close()
