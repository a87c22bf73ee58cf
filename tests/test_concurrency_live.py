"""A crowd against a real ``shop serve`` over HTTP, on SQLite and on PostgreSQL.

The bound on each answer (``ANSWER_WITHIN``) is a deadlock check, not a speed test: before
the request plumbing was fixed, 32 concurrent catalog reads got no answer at all.
"""

from __future__ import annotations

import sqlite3
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx
import pytest
from live import shop_process
from sqlmodel import col, select

from shop.db import make_engine, session_scope
from shop.orders.models import Order
from shop.settings import Settings

ANSWER_WITHIN = 15.0


def checkout(email: str) -> dict[str, Any]:
    return {
        "email": email,
        "name": "Crowd Buyer",
        "country": "DE",
        "currency": "EUR",
        "payment_method": "bank_transfer",
        "items": [{"sku": "base-yearly", "quantity": 1}, {"sku": "persons-yearly", "quantity": 5}],
    }


def at_once(count: int, call: Any) -> list[httpx.Response]:
    """``count`` calls started together, each on its own connection."""
    with ThreadPoolExecutor(count) as pool:
        return list(pool.map(lambda n: call(n), range(count)))


@pytest.fixture
def shop_url(seeded: Settings) -> Any:
    with shop_process(seeded) as url:
        yield url


def test_32_concurrent_catalog_reads_all_get_the_page(shop_url: str) -> None:
    def read(_n: int) -> httpx.Response:
        return httpx.get(f"{shop_url}/de/", timeout=ANSWER_WITHIN)

    answers = at_once(32, read)

    assert [a.status_code for a in answers] == [200] * 32
    assert all("Basispaket" in a.text for a in answers)


def test_r1_20_concurrent_checkouts_for_one_email_give_one_order(
    shop_url: str, seeded: Settings
) -> None:
    def buy(_n: int) -> httpx.Response:
        return httpx.post(
            f"{shop_url}/api/v1/orders", json=checkout("crowd@example.com"), timeout=ANSWER_WITHIN
        )

    answers = at_once(20, buy)

    codes = Counter(
        (a.status_code, a.json().get("code") if a.status_code != 201 else None) for a in answers
    )
    assert codes == {(201, None): 1, (409, "licence_exists"): 19}
    engine = make_engine(seeded.database_url)
    with session_scope(engine) as session:
        assert len(session.exec(select(Order)).all()) == 1
    engine.dispose()


def test_r8_20_concurrent_checkouts_for_distinct_emails_get_consecutive_numbers(
    shop_url: str, seeded: Settings
) -> None:
    def buy(n: int) -> httpx.Response:
        return httpx.post(
            f"{shop_url}/api/v1/orders",
            json=checkout(f"buyer{n}@example.com"),
            timeout=ANSWER_WITHIN,
        )

    answers = at_once(20, buy)

    assert [a.status_code for a in answers] == [201] * 20
    answered = sorted(a.json()["order"]["number"] for a in answers)
    assert answered == list(range(answered[0], answered[0] + 20))
    engine = make_engine(seeded.database_url)
    with session_scope(engine) as session:
        stored = session.exec(select(Order.number).order_by(col(Order.number))).all()
    engine.dispose()
    assert list(stored) == answered


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_sqlite_readers_run_beside_a_writer_and_a_blocked_writer_gets_503(
    seeded: Settings,
) -> None:
    path = seeded.database_url.removeprefix("sqlite:///")
    with shop_process(seeded, SHOP_DB_WAIT_SECONDS="1") as url:
        holder = sqlite3.connect(path, isolation_level=None)
        holder.execute("BEGIN IMMEDIATE")  # another program writes and takes its time
        try:
            page = httpx.get(f"{url}/nl/", timeout=ANSWER_WITHIN)
            busy = httpx.post(
                f"{url}/api/v1/orders",
                json=checkout("patient@example.com"),
                headers={"Accept-Language": "de"},
                timeout=ANSWER_WITHIN,
            )
        finally:
            holder.execute("ROLLBACK")
            holder.close()
        again = httpx.post(
            f"{url}/api/v1/orders", json=checkout("patient@example.com"), timeout=ANSWER_WITHIN
        )

    assert page.status_code == 200 and "Basispakket" in page.text
    assert busy.status_code == 503
    assert busy.headers["retry-after"].isdigit()
    assert busy.headers["content-type"].startswith("application/problem+json")
    assert busy.json()["code"] == "busy"
    assert "in einem Moment erneut" in busy.json()["detail"]
    assert again.status_code == 201  # nothing of the refused attempt was left behind


@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
def test_two_worker_processes_share_one_licence_check_and_the_plugin_state(
    seeded: Settings, admin: dict[str, str]
) -> None:
    with shop_process(seeded, "--workers", "2") as url:

        def buy(_n: int) -> httpx.Response:
            return httpx.post(
                f"{url}/api/v1/orders", json=checkout("twice@example.com"), timeout=ANSWER_WITHIN
            )

        bought = Counter(a.status_code for a in at_once(20, buy))
        switched = httpx.patch(
            f"{url}/api/v1/admin/plugins/usd", json={"enabled": False}, headers=admin
        )

        def prices_in_usd(_n: int) -> httpx.Response:
            return httpx.get(f"{url}/api/v1/products?currency=USD", timeout=ANSWER_WITHIN)

        after = at_once(20, prices_in_usd)

    assert bought == {201: 1, 409: 19}
    assert switched.status_code == 200
    # Whichever worker answers, USD is gone at once, without a restart.
    assert {(a.status_code, a.json()["code"]) for a in after} == {(422, "plugin_disabled")}
