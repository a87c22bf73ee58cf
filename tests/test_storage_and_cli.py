"""Storage (Alembic owns the schema, on SQLite and PostgreSQL) and the `shop` command."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from click.testing import CliRunner
from litestar.testing import TestClient
from sqlmodel import SQLModel

from shop.app import create_app
from shop.cli import main
from shop.db import load_models, make_engine
from shop.settings import Settings


def _shop_owns(obj: object, name: str | None, kind: str, *_: object) -> bool:
    """The shop's tables and its built-in plugins': not the plugins' version tables, nor
    the tables of a third-party plugin another test imported (tests/test_example_plugin)."""
    table = name if kind == "table" else getattr(getattr(obj, "table", None), "name", None)
    if table is None:
        return True
    if table.startswith("alembic_version_"):
        return False
    model_table = SQLModel.metadata.tables.get(table)
    models = [m.class_ for m in SQLModel._sa_registry.mappers if m.local_table is model_table]
    return all(m.__module__.startswith("shop.") for m in models)


def test_migrations_build_exactly_the_models_schema(database_url: str) -> None:
    """Given a database migrated to head, the models and the schema do not differ."""
    engine = make_engine(database_url)
    with engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"include_object": _shop_owns})
        diff = compare_metadata(context, load_models().metadata)
    engine.dispose()
    # Each plugin's migration history lives in a version table of its own.
    plugin_versions = [
        d for d in diff if d[0] == "remove_table" and d[1].name.startswith("alembic_version_")
    ]
    assert [d for d in diff if d not in plugin_versions] == []


def test_sqlite_runs_in_wal_mode(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'wal.db'}")
    with engine.connect() as connection:
        assert connection.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
    engine.dispose()


def run(args: list[str], url: str) -> str:
    result = CliRunner().invoke(main, args, env={"SHOP_DATABASE_URL": url}, catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return result.output


@pytest.mark.plugins("training")
def test_cli_plugins_list_disable_enable_and_token(database_url: str) -> None:
    """An operator switches USD off with the command; the running shop drops it at once."""
    run(["db", "upgrade"], database_url)
    listing = run(["plugins", "list"], database_url)
    assert "usd" in listing and "enabled" in listing
    assert "training" in listing and "shop-training" in listing

    token = run(["admin", "token", "alice"], database_url).strip()
    app = create_app(Settings(database_url=database_url, secret_key="x"))
    with TestClient(app=app) as client:
        headers = {"Authorization": f"Bearer {token}"}
        assert client.get("/api/v1/admin/plugins", headers=headers).status_code == 200
        assert client.get("/api/v1/products", params={"currency": "USD"}).status_code == 200

        assert "usd disabled" in run(["plugins", "disable", "usd"], database_url)
        assert client.get("/api/v1/products", params={"currency": "USD"}).status_code == 422
        line = next(
            ln for ln in run(["plugins", "list"], database_url).splitlines() if ln.startswith("usd")
        )
        assert "disabled" in line

        run(["plugins", "enable", "usd"], database_url)
        assert client.get("/api/v1/products", params={"currency": "USD"}).status_code == 200


def test_cli_refuses_unknown_and_essential_plugins(database_url: str) -> None:
    env = {"SHOP_DATABASE_URL": database_url}
    unknown = CliRunner().invoke(main, ["plugins", "disable", "nope"], env=env)
    assert unknown.exit_code != 0
    assert "no plugin is called 'nope'" in unknown.output
    essential = CliRunner().invoke(main, ["plugins", "disable", "eur"], env=env)
    assert essential.exit_code != 0
    assert "essential" in essential.output


def test_shop_command_is_installed_in_the_venv(tmp_path: Path) -> None:
    shop = Path(sys.executable).parent / "shop"
    assert shop.exists()
    env = {**os.environ, "SHOP_DATABASE_URL": f"sqlite:///{tmp_path / 'cli.db'}"}
    result = subprocess.run([str(shop), "db", "upgrade"], env=env, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert "up to date" in result.stdout


def test_shop_serve_creates_the_database_with_the_demo_catalog(tmp_path: Path) -> None:
    """README's first command on a fresh machine: an empty database becomes a browsable shop."""
    import socket
    import time

    import httpx

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    shop = Path(sys.executable).parent / "shop"
    env = {**os.environ, "SHOP_DATABASE_URL": f"sqlite:///{tmp_path / 'fresh.db'}"}
    server = subprocess.Popen(
        [str(shop), "serve", "--port", str(port)],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        url = f"http://127.0.0.1:{port}/api/v1/products"
        deadline = time.monotonic() + 60
        while True:
            try:
                response = httpx.get(url, params={"currency": "DZD", "country": "DZ"})
                break
            except httpx.TransportError:
                assert server.poll() is None, "shop serve stopped"
                assert time.monotonic() < deadline, "shop serve did not answer within 60 s"
                time.sleep(0.2)
        assert response.status_code == 200
        assert any(p["sku"] == "base-yearly" for p in response.json()["products"])
        assert httpx.get(f"http://127.0.0.1:{port}/", follow_redirects=True).status_code == 200
    finally:
        server.terminate()
        output, _ = server.communicate(timeout=30)
    assert "demo catalog" in output
