"""Shared fixtures: a migrated database on SQLite and on PostgreSQL, the app, tokens.

PostgreSQL is the scale path, so invariant tests run on both. Outside CI a missing
PostgreSQL skips those runs with the reason shown; in CI (CI=true) it fails them.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
from aiosmtpd.controller import Controller
from fake_smtp import Collector, free_port
from litestar.testing import TestClient
from sqlalchemy import inspect, text
from sqlalchemy.engine import make_url

from shop.accounts.tokens import create_token
from shop.app import create_app
from shop.clock import Clock
from shop.db import make_engine, migrate, session_scope
from shop.demo import seed_demo
from shop.licences.keys import generate_signing_key_b64
from shop.plugins.manager import PLUGINS_VARIABLE
from shop.settings import Settings

# The suite sees the shop's own plugins only, whatever else is installed on the machine; a
# test that needs the example plugin (tests/example_plugin) asks with
# ``@pytest.mark.plugins("training")``. Set before anything builds a plugin manager.
os.environ[PLUGINS_VARIABLE] = "builtin"

IN_CI = os.environ.get("CI", "").lower() in {"1", "true", "yes"}
POSTGRES_URL = os.environ.get(
    "SHOP_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
)
NOW = "2025-04-01T09:00:00+00:00"


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", "plugins(*names): load these third-party plugins beside the built-ins"
    )


@pytest.fixture(autouse=True)
def third_party_plugins(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> None:
    """Let in the third-party plugins the test names with ``@pytest.mark.plugins``."""
    marker = request.node.get_closest_marker("plugins")
    if marker is not None:
        monkeypatch.setenv(PLUGINS_VARIABLE, ",".join(("builtin", *marker.args)))


def _unavailable(reason: str) -> None:
    if IN_CI:
        pytest.fail(f"PostgreSQL is required in CI: {reason}", pytrace=False)
    pytest.skip(f"PostgreSQL not reachable ({reason}); set SHOP_TEST_POSTGRES_URL")


def _admin_dsn(url: str) -> str:
    sa_url = make_url(url)
    return sa_url.set(drivername="postgresql").render_as_string(hide_password=False)


@pytest.fixture(scope="session")
def postgres_database() -> Iterator[str]:
    """A fresh, migrated PostgreSQL database for this test session, dropped afterwards."""
    name = f"shop_test_{uuid.uuid4().hex[:10]}"
    try:
        admin = psycopg.connect(_admin_dsn(POSTGRES_URL), autocommit=True, connect_timeout=5)
    except psycopg.OperationalError as exc:
        _unavailable(str(exc).strip().splitlines()[0])
    with admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    url = make_url(POSTGRES_URL).set(database=name).render_as_string(hide_password=False)
    migrate(url)
    yield url
    with psycopg.connect(_admin_dsn(POSTGRES_URL), autocommit=True) as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def _empty_tables(url: str) -> None:
    engine = make_engine(url)
    kept = {"alembic_version", "number_sequence"}
    names = [
        name
        for name in inspect(engine).get_table_names()
        if name not in kept and not name.startswith("alembic_version")
    ]
    with engine.begin() as connection:
        connection.execute(text(f"TRUNCATE {', '.join(names)} RESTART IDENTITY CASCADE"))
        connection.execute(text("UPDATE number_sequence SET last = 0"))
    engine.dispose()


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A migrated, empty database: each test runs once on SQLite and once on PostgreSQL."""
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'shop.db'}"
        migrate(url)
        return url
    url: str = request.getfixturevalue("postgres_database")
    if request.node.get_closest_marker("plugins") is not None:
        migrate(url)  # the plugins' own tables, beside the core's migrated once
    _empty_tables(url)
    return url


SIGNING_KEY = generate_signing_key_b64()


@pytest.fixture
def settings(database_url: str, tmp_path: Path) -> Settings:
    return Settings(
        database_url=database_url,
        clock=NOW,
        secret_key="test-secret",
        licence_signing_key=SIGNING_KEY,
        licence_key_file=tmp_path / "unused-key.pem",
    )


@pytest.fixture
def seeded(settings: Settings) -> Settings:
    """The database with the demo data `shop serve` creates on first start."""
    engine = make_engine(settings.database_url)
    with session_scope(engine) as session:
        seed_demo(session, Clock.from_setting(settings.clock, settings.timezone).now())
    engine.dispose()
    return settings


@pytest.fixture
def client(seeded: Settings) -> Iterator[TestClient]:
    with TestClient(app=create_app(seeded)) as test_client:
        yield test_client


@pytest.fixture
def operator_token(seeded: Settings) -> str:
    engine = make_engine(seeded.database_url)
    with session_scope(engine) as session:
        token = create_token(session, "test operator", Clock.from_setting(NOW, "UTC").now())
    engine.dispose()
    return token


@pytest.fixture
def admin(operator_token: str) -> dict[str, str]:
    """Headers of an operator's API call."""
    return {"Authorization": f"Bearer {operator_token}"}


@pytest.fixture
def smtp() -> Iterator[tuple[str, Collector]]:
    """A real SMTP server on localhost, and the URL that reaches it."""
    collector = Collector()
    port = free_port()
    controller = Controller(collector, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield f"smtp://127.0.0.1:{port}", collector
    finally:
        controller.stop()
