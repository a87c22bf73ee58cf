"""Gapless numbers per document (R8): quotes and invoices each have their own series.

A quote takes a quote number when saved; a pay-now order its invoice number when placed; a
quote its invoice number once paid; a renewal is an invoice at once. An expired quote
leaves no hole among the invoices, and an invoice that is cancelled keeps its number and
says so on its PDF.
"""

from __future__ import annotations

import sqlite3
import subprocess
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from io import BytesIO
from pathlib import Path
from typing import Any

import httpx
import pypdf
import pytest
from alembic import command
from litestar.testing import TestClient
from live import SHOP, environment_of, shop_process
from sqlalchemy import text
from sqlmodel import Session, col, select

from shop.app import create_app
from shop.db import alembic_config, make_engine, migrate
from shop.demo import insert_due_subscriptions
from shop.orders.models import Order
from shop.orders.numbers import issue_invoice_number
from shop.settings import Settings

ANSWER_WITHIN = 30.0
LATER = "2025-05-15T09:00:00+00:00"  # 44 days after the tests' clock: quotes have expired


def checkout(n: int, quote: bool) -> dict[str, Any]:
    body: dict[str, Any] = {
        "email": f"buyer{n}@example.com",
        "name": f"Buyer {n}",
        "country": "DE",
        "currency": "EUR",
        "items": [{"sku": "base-yearly", "quantity": 1}, {"sku": "persons-yearly", "quantity": 5}],
    }
    if quote:
        body["quote"] = True
    else:
        body["payment_method"] = "bank_transfer"
    return body


def stored_orders(settings: Settings) -> list[Order]:
    engine = make_engine(settings.database_url)
    try:
        with Session(engine) as session:
            return list(session.exec(select(Order).order_by(col(Order.number))))
    finally:
        engine.dispose()


def assert_gapless(numbers: list[int | None], what: str) -> None:
    taken = [n for n in numbers if n is not None]
    assert sorted(taken) == list(range(1, len(taken) + 1)), f"{what}: {sorted(taken)}"


def text_of(pdf: bytes) -> str:
    return "\n".join(page.extract_text() for page in pypdf.PdfReader(BytesIO(pdf)).pages)


def run_jobs(settings: Settings, clock: str) -> str:
    done = subprocess.run(
        [str(SHOP), "jobs", "run"],
        env={**environment_of(settings), "SHOP_CLOCK": clock},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout


def test_r8_quote_and_invoice_series_gapless_under_concurrency(
    seeded: Settings, admin: dict[str, str]
) -> None:
    """24 checkouts at once (quotes and pay-now mixed) through a real ``shop serve``, then
    half the quotes paid at once while 8 more checkouts come in; then the rest expire."""
    with shop_process(seeded) as url:

        def buy(n: int) -> httpx.Response:
            body = checkout(n, quote=n % 2 == 0)
            return httpx.post(f"{url}/api/v1/orders", json=body, timeout=ANSWER_WITHIN)

        with ThreadPoolExecutor(24) as pool:
            first = list(pool.map(buy, range(24)))
        assert [a.status_code for a in first] == [201] * 24, [a.text for a in first]
        orders = [a.json()["order"] for a in first]
        quotes = [o for o in orders if o["status"] == "quote"]
        assert len(quotes) == 12
        assert all(o["quote_number"] and o["invoice_number"] is None for o in quotes)
        assert all(o["invoice_number"] and o["quote_number"] is None for o in orders[1::2])
        assert_gapless([o["quote_number"] for o in orders], "quotes answered")
        assert_gapless([o["invoice_number"] for o in orders], "invoices answered")

        def pay_quote(order: dict[str, Any]) -> httpx.Response:
            return httpx.post(
                f"{url}/api/v1/admin/orders/{order['number']}/payments",
                json={"amount": order["total"]["amount"], "currency": "EUR", "method": "cheque"},
                headers=admin,
                timeout=ANSWER_WITHIN,
            )

        paid_quotes = quotes[:6]
        with ThreadPoolExecutor(14) as pool:
            paying = [pool.submit(pay_quote, order) for order in paid_quotes]
            more = [pool.submit(buy, n) for n in range(24, 32)]
            paid = [f.result() for f in paying]
            second = [f.result() for f in more]
        assert [a.status_code for a in paid] == [201] * 6, [a.text for a in paid]
        assert [a.status_code for a in second] == [201] * 8, [a.text for a in second]
        assert all(a.json()["order"]["invoice_number"] for a in paid)
        assert all(a.json()["order"]["status"] == "paid" for a in paid)

    run_jobs(seeded, LATER)  # the 10 unpaid quotes and the 16 unpaid orders expire

    stored = stored_orders(seeded)
    assert Counter(o.status for o in stored) == {"expired": 26, "paid": 6}
    assert_gapless([o.quote_number for o in stored], "quote series")
    assert_gapless([o.invoice_number for o in stored], "invoice series")
    assert_gapless([o.number for o in stored], "order numbers")
    # Every order placed to pay, and every quote paid, is an invoice; an expired quote never.
    for order in stored:
        was_quote = order.quote_number is not None
        assert (order.invoice_number is not None) == (not was_quote or order.paid_amount > 0)
    assert len([o for o in stored if o.quote_number]) == 16
    assert len([o for o in stored if o.invoice_number]) == 16 + 6


def test_r8_expired_quote_leaves_no_hole_in_invoices(
    seeded: Settings, admin: dict[str, str]
) -> None:
    with TestClient(app=create_app(seeded)) as client:
        first = client.post("/api/v1/orders", json=checkout(1, quote=False)).json()["order"]
        quote = client.post("/api/v1/orders", json=checkout(2, quote=True)).json()["order"]
        second = client.post("/api/v1/orders", json=checkout(3, quote=False)).json()["order"]
    assert (first["invoice_number"], second["invoice_number"]) == (1, 2)  # no number for the quote
    assert (quote["quote_number"], quote["invoice_number"]) == (1, None)

    run_jobs(seeded, LATER)
    with TestClient(app=create_app(replace(seeded, clock=LATER))) as client:
        assert client.get(f"/api/v1/orders/{quote['token']}").json()["order"]["status"] == (
            "expired"
        )
        third = client.post("/api/v1/orders", json=checkout(4, quote=False)).json()["order"]
        late_quote = client.post("/api/v1/orders", json=checkout(5, quote=True)).json()["order"]
        pdf = client.get(f"/api/v1/orders/{quote['token']}/document.pdf")
        page = client.get(f"/en/orders/{third['token']}")
    assert third["invoice_number"] == 3
    assert late_quote["quote_number"] == 2
    text = text_of(pdf.content)
    assert "Quote Q-1" in text  # an expired quote stays a quote: it never became an invoice
    assert "EXPIRED" in text and "Amount due" not in text
    assert "INV-3" in page.text and 'id="invoice-number"' in page.text


def test_r8_a_paid_quote_becomes_an_invoice_with_the_next_number(
    seeded: Settings, admin: dict[str, str]
) -> None:
    with TestClient(app=create_app(seeded)) as client:
        quote = client.post("/api/v1/orders", json=checkout(1, quote=True)).json()["order"]
        before = client.get(f"/api/v1/orders/{quote['token']}/document.pdf")
        order = client.post("/api/v1/orders", json=checkout(2, quote=False)).json()["order"]
        paid = client.post(
            f"/api/v1/admin/orders/{quote['number']}/payments",
            json={"amount": "10.00", "currency": "EUR", "method": "bank_transfer"},
            headers=admin,
        ).json()["order"]
        after = client.get(f"/api/v1/orders/{quote['token']}/document.pdf")
    assert order["invoice_number"] == 1
    assert paid["status"] == "pending"  # paid in part: it is an invoice now (R8)
    assert (paid["quote_number"], paid["invoice_number"]) == (1, 2)
    assert before.headers["content-disposition"].endswith('filename="Quote-Q-1.pdf"')
    assert after.headers["content-disposition"].endswith('filename="Invoice-INV-2.pdf"')
    reader = pypdf.PdfReader(BytesIO(after.content))
    assert reader.metadata is not None and reader.metadata.title == "Invoice INV-2"
    assert "Amount due" in text_of(after.content)
    assert "Quote number" in text_of(after.content) and "Q-1" in text_of(after.content)


def test_r8_renewal_orders_take_invoice_numbers_in_one_batch(seeded: Settings) -> None:
    with TestClient(app=create_app(seeded)) as client:
        client.post("/api/v1/orders", json=checkout(1, quote=False))
        client.post("/api/v1/orders", json=checkout(2, quote=True))
    engine = make_engine(seeded.database_url)
    try:
        insert_due_subscriptions(engine, 5)
    finally:
        engine.dispose()
    run_jobs(seeded, "2026-01-01T06:00:00+01:00")
    stored = stored_orders(seeded)
    renewals = [o for o in stored if o.kind == "renewal"]
    assert len(renewals) == 5
    assert all(o.quote_number is None for o in renewals)
    assert sorted(o.invoice_number or 0 for o in renewals) == [2, 3, 4, 5, 6]
    assert_gapless([o.invoice_number for o in stored], "invoice series")


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
@pytest.mark.parametrize(
    ("lang", "word", "stamp"),
    [
        ("en", "Invoice", "CANCELLED"),
        ("de", "Rechnung", "STORNIERT"),
        ("nl", "Factuur", "GEANNULEERD"),
    ],
)
def test_r8_cancelled_order_pdf_says_cancelled(
    seeded: Settings, admin: dict[str, str], lang: str, word: str, stamp: str
) -> None:
    with TestClient(app=create_app(seeded)) as client:
        body = {**checkout(1, quote=False), "country": "NL"}
        order = client.post(f"/api/v1/orders?lang={lang}", json=body).json()["order"]
        open_pdf = text_of(client.get(f"/api/v1/orders/{order['token']}/document.pdf").content)
        cancelled = client.post(f"/api/v1/orders/{order['token']}/cancel").json()["order"]
        pdf = text_of(client.get(f"/api/v1/orders/{order['token']}/document.pdf").content)
    assert cancelled["status"] == "cancelled"
    assert cancelled["invoice_number"] == 1  # the number stays taken: no hole (R8)
    assert f"{word} INV-1" in open_pdf and stamp not in open_pdf
    assert f"{word} INV-1" in pdf
    assert stamp in pdf
    # Nothing is asked for: no amount due, no payment instructions.
    due = {"en": "Amount due", "de": "Offener Betrag", "nl": "Te betalen"}[lang]
    assert due in open_pdf and due not in pdf


def test_r8_the_migration_numbers_existing_orders_per_series(tmp_path: Path) -> None:
    """Orders from before the series get numbers in order: a quote number for every order
    saved as a quote, an invoice number for every order that was to be paid."""
    url = f"sqlite:///{tmp_path / 'old.db'}"
    command.upgrade(alembic_config(url), "0006")
    old = sqlite3.connect(tmp_path / "old.db")
    when = "2025-04-01 09:00:00.000000"
    columns = "number, token, status, kind, email, name, country, locale, currency, total,"
    columns += " paid_amount, payment_method, created_at, valid_until"
    rows = [  # number, status, paid, saved as a quote?
        (1, "paid", "10", False),
        (2, "expired", "0", True),  # a quote that expired: no invoice
        (3, "pending", "0", False),
        (4, "paid", "10", True),  # a quote that was paid
        (5, "quote", "0", True),
        (6, "cancelled", "0", False),  # an invoice cancelled keeps its number
        (7, "expired", "5", True),  # a quote paid in part, then expired
    ]
    with old:
        old.executemany(
            f"INSERT INTO shop_order ({columns}) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
            [
                (n, f"t{n}", status, "new", f"b{n}@x.org", "B", "DE", "en", "EUR", "10",
                 paid, "bank_transfer", when, when if quote else None)
                for n, status, paid, quote in rows
            ],
        )  # fmt: skip
        old.execute("UPDATE number_sequence SET last = 7 WHERE name = 'order'")
    old.close()

    migrate(url)

    engine = make_engine(url)
    try:
        with Session(engine) as session:
            stored = session.exec(select(Order).order_by(col(Order.number))).all()
            numbered = [(o.number, o.quote_number, o.invoice_number) for o in stored]
            sequences = dict(session.execute(text("SELECT name, last FROM number_sequence")).all())
            quote = session.exec(select(Order).where(Order.number == 5)).one()
            quote.status = "pending"
            issue_invoice_number(session, quote, quote.created_at)
            session.commit()
            assert quote.invoice_number == 6  # the series goes on where the migration left it
    finally:
        engine.dispose()
    assert numbered == [
        (1, None, 1),
        (2, 1, None),
        (3, None, 2),
        (4, 2, 3),
        (5, 3, None),
        (6, None, 4),
        (7, 4, 5),
    ]
    # Invoices closed before credit notes existed got theirs (GoBD): INV-4 and INV-5.
    assert sequences == {"order": 7, "quote": 4, "invoice": 5, "credit_note": 2}
