"""Fixtures of the page tests: the real app served over HTTP, and a real Chromium.

Page tests run on SQLite only: the database choice does not change what a buyer sees,
and the invariant tests already cover PostgreSQL.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from live import bound_socket, serve
from playwright.sync_api import Browser, Page, Playwright, sync_playwright

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


@pytest.fixture
def database_url(tmp_path: Path) -> str:
    """A migrated, empty SQLite database (overrides the SQLite + PostgreSQL parametrisation)."""
    url = f"sqlite:///{tmp_path / 'shop.db'}"
    migrate(url)
    return url


@pytest.fixture
def live_settings(seeded: Settings) -> Settings:
    """The settings the live server runs with; a test module may override this fixture."""
    return seeded


@pytest.fixture
def live_server(live_settings: Settings) -> Iterator[str]:
    """The real app, seeded with the demo data, served by uvicorn; yields its base URL."""
    with serve(live_settings, bound_socket()) as base_url:
        yield base_url


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
