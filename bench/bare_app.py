"""The bare Litestar reference: what the same pages cost without the shop's machinery.

    BARE_DATABASE_URL=sqlite:////tmp/bare.db .venv/bin/python -m uvicorn bare_app:app \\
        --app-dir bench --port 8001

The same products (taken from the shop's built-in package-line plugins), prices formatted
with Babel, one Jinja2 page of about the shop catalog's size, the same products as JSON,
and a checkout that inserts one order row and its line rows with plain SQL (SQLite in WAL
mode, or PostgreSQL through psycopg). No plugins, sessions, CSRF, translations or ORM:
the floor that the shop's ratios are measured against. bench/run.py serves it with uvicorn
like `shop serve`, with the same number of worker processes.
"""

from __future__ import annotations

import os
import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import psycopg
from babel import Locale
from babel.numbers import format_currency
from jinja2 import Environment, FileSystemLoader, select_autoescape
from litestar import Litestar, get, post
from litestar.exceptions import HTTPException
from litestar.plugins.jinja import JinjaTemplateEngine
from litestar.response import Template
from litestar.template import TemplateConfig

from shop.catalog.products import ProductLine
from shop.plugins.lines import base_package, legacy_packages, server_cloud, support_agreement

LINES: list[ProductLine] = sorted(
    (
        line
        for plugin in (base_package, server_cloud, support_agreement, legacy_packages)
        for line in plugin.shop_product_lines()
    ),
    key=lambda line: line.position,
)
PRICES = {p.sku: p.prices["EUR"] for line in LINES for p in line.products if "EUR" in p.prices}
COUNTRIES = {
    code: name
    for code, name in Locale("en").territories.items()
    if len(code) == 2 and code.isalpha()
}

SCHEMA = (
    "CREATE TABLE IF NOT EXISTS bare_order (id {serial} PRIMARY KEY, email VARCHAR(320) NOT NULL,"
    " name VARCHAR(200) NOT NULL, country VARCHAR(2) NOT NULL, currency VARCHAR(3) NOT NULL,"
    " total NUMERIC(12, 2) NOT NULL, created_at VARCHAR(40) NOT NULL)",
    "CREATE TABLE IF NOT EXISTS bare_order_line (id {serial} PRIMARY KEY,"
    " order_id INTEGER NOT NULL REFERENCES bare_order (id), sku VARCHAR(80) NOT NULL,"
    " quantity INTEGER NOT NULL, unit_price NUMERIC(12, 2) NOT NULL,"
    " total NUMERIC(12, 2) NOT NULL)",
)


def _is_sqlite(url: str) -> bool:
    return url.startswith("sqlite:")


def _connect(url: str) -> Any:
    """One DB-API connection: SQLite in WAL mode with a busy timeout, or psycopg."""
    if _is_sqlite(url):
        connection = sqlite3.connect(
            url.removeprefix("sqlite:///"), isolation_level=None, check_same_thread=False
        )
        connection.execute("PRAGMA journal_mode=WAL")
        connection.execute("PRAGMA busy_timeout=30000")
        return connection
    return psycopg.connect(url.replace("postgresql+psycopg://", "postgresql://"))


def create_tables(url: str) -> None:
    """The two tables, created by the driver before the server's workers start."""
    connection = _connect(url)
    serial = "INTEGER" if _is_sqlite(url) else "SERIAL"
    for statement in SCHEMA:
        connection.execute(statement.format(serial=serial))
    if not _is_sqlite(url):
        connection.commit()
    connection.close()


class Pool:
    """At most ``size`` connections, reused: SQLAlchemy's default (5 + 10 overflow) is 15."""

    def __init__(self, url: str, size: int = 15) -> None:
        self.url = url
        self._idle: list[Any] = []
        self._lock = threading.Lock()
        self._slots = threading.BoundedSemaphore(size)

    @contextmanager
    def connection(self) -> Iterator[Any]:
        with self._slots:
            with self._lock:
                connection = self._idle.pop() if self._idle else None
            if connection is None:
                connection = _connect(self.url)
            try:
                yield connection
            finally:
                with self._lock:
                    self._idle.append(connection)


POOL = Pool(os.environ.get("BARE_DATABASE_URL", "sqlite:///bare.db"))


def _money(amount: Decimal) -> str:
    return format_currency(amount, "EUR", locale="en")


def _period(months: int | None) -> str:
    return "one-time" if months is None else "per year" if months == 12 else "per month"


@get("/en/", sync_to_thread=False)
def catalog_page() -> Template:
    """Every product line with its products and add-ons, prices in EUR."""
    return Template(
        "catalog.html",
        context={"lines": LINES, "countries": COUNTRIES, "money": _money, "period": _period},
    )


@get("/api/v1/products", sync_to_thread=False)
def products_json() -> dict[str, Any]:
    return {
        "currency": "EUR",
        "products": [
            {
                "sku": p.sku,
                "name": p.name,
                "description": p.description,
                "line": line.code,
                "kind": p.kind.value,
                "billing_period_months": p.billing_period_months,
                "trial_days": p.trial_days,
                "price": {"amount": str(PRICES[p.sku]), "currency": "EUR"},
            }
            for line in LINES
            for p in line.products
            if p.sku in PRICES
        ],
    }


@post("/api/v1/orders", sync_to_thread=True, status_code=201)
def place_order(data: dict[str, Any]) -> dict[str, Any]:
    """Insert one order and its lines in one transaction, with plain SQL."""
    try:
        lines = [(str(i["sku"]), int(i["quantity"]), PRICES[str(i["sku"])]) for i in data["items"]]
        email, name, country = str(data["email"]), str(data["name"]), str(data["country"])
    except (KeyError, TypeError, ValueError) as exc:
        raise HTTPException(status_code=422, detail="bad order") from exc
    total = sum((price * quantity for _, quantity, price in lines), Decimal("0.00"))
    now = datetime.now(UTC).isoformat()
    with POOL.connection() as connection:
        if _is_sqlite(POOL.url):
            number = _insert_sqlite(connection, email, name, country, total, now, lines)
        else:
            number = _insert_postgres(connection, email, name, country, total, now, lines)
    return {"order": {"number": number, "total": {"amount": str(total), "currency": "EUR"}}}


def _insert_sqlite(
    c: sqlite3.Connection,
    email: str,
    name: str,
    country: str,
    total: Decimal,
    now: str,
    lines: list[tuple[str, int, Decimal]],
) -> int:
    c.execute("BEGIN IMMEDIATE")  # like the shop: writers queue instead of failing
    try:
        cursor = c.execute(
            "INSERT INTO bare_order (email, name, country, currency, total, created_at)"
            " VALUES (?, ?, ?, 'EUR', ?, ?)",
            (email, name, country, str(total), now),
        )
        number = int(cursor.lastrowid or 0)
        c.executemany(
            "INSERT INTO bare_order_line (order_id, sku, quantity, unit_price, total)"
            " VALUES (?, ?, ?, ?, ?)",
            [(number, sku, q, str(price), str(price * q)) for sku, q, price in lines],
        )
        c.execute("COMMIT")
    except BaseException:
        c.execute("ROLLBACK")
        raise
    return number


def _insert_postgres(
    c: psycopg.Connection[Any],
    email: str,
    name: str,
    country: str,
    total: Decimal,
    now: str,
    lines: list[tuple[str, int, Decimal]],
) -> int:
    with c.transaction(), c.cursor() as cursor:
        cursor.execute(
            "INSERT INTO bare_order (email, name, country, currency, total, created_at)"
            " VALUES (%s, %s, %s, 'EUR', %s, %s) RETURNING id",
            (email, name, country, total, now),
        )
        row = cursor.fetchone()
        number = int(row[0]) if row else 0
        cursor.executemany(
            "INSERT INTO bare_order_line (order_id, sku, quantity, unit_price, total)"
            " VALUES (%s, %s, %s, %s, %s)",
            [(number, sku, q, price, price * q) for sku, q, price in lines],
        )
    return number


def _templates() -> Environment:
    return Environment(
        loader=FileSystemLoader(Path(__file__).resolve().parent / "bare_templates"),
        autoescape=select_autoescape(["html"]),
        trim_blocks=True,
        lstrip_blocks=True,
    )


app = Litestar(
    route_handlers=[catalog_page, products_json, place_order],
    template_config=TemplateConfig(engine=JinjaTemplateEngine.from_environment(_templates())),
)
