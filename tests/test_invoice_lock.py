"""GoBD / §14 UStG: an issued invoice is locked. Once an order has its invoice number, its
amounts, lines, buyer and address never change; status and payments still do. A quote
before it is accepted has no invoice number and can still be edited."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
from litestar import get
from litestar.testing import TestClient
from sqlalchemy import delete, update
from sqlmodel import Session, col, select

from shop.app import create_app
from shop.db import make_engine
from shop.i18n import Translator
from shop.orders.invoice_lock import InvoiceLocked
from shop.orders.models import Order, OrderLine
from shop.settings import Settings

BODY = {
    "email": "anna@example.com",
    "name": "Anna Berg",
    "country": "DE",
    "currency": "EUR",
    "street": "Hauptstraße 1",
    "postcode": "10115",
    "city": "Berlin",
    "items": [{"sku": "base-yearly", "quantity": 1}, {"sku": "persons-yearly", "quantity": 5}],
}


def place(settings: Settings, **extra: Any) -> dict[str, Any]:
    with TestClient(app=create_app(settings)) as client:
        answer = client.post("/api/v1/orders", json={**BODY, **extra})
    assert answer.status_code == 201, answer.text
    order: dict[str, Any] = answer.json()["order"]
    return order


def stored(session: Session, number: int) -> Order:
    return session.exec(select(Order).where(Order.number == number)).one()


def line_of(session: Session, order: Order) -> OrderLine:
    return session.exec(select(OrderLine).where(OrderLine.order_id == order.id)).first()  # type: ignore[return-value]


@pytest.mark.parametrize(
    ("field", "value"),
    [("total", Decimal("1.00")), ("street", "Nebenstraße 9"), ("name", "Someone Else")],
)
def test_gobd_an_issued_invoice_refuses_changes_to_amount_and_address(
    seeded: Settings, field: str, value: Any
) -> None:
    order = place(seeded, payment_method="bank_transfer")
    assert order["invoice_number"] == 1
    engine = make_engine(seeded.database_url)
    try:
        with Session(engine) as session:
            issued = stored(session, order["number"])
            setattr(issued, field, value)
            session.add(issued)
            with pytest.raises(InvoiceLocked) as refused:
                session.commit()
            assert refused.value.status == 409 and refused.value.code == "invoice_locked"
            session.rollback()
        with Session(engine) as session:
            issued = stored(session, order["number"])
            assert getattr(issued, field) != value  # nothing was written
    finally:
        engine.dispose()


def test_gobd_the_lines_of_an_issued_invoice_are_locked(seeded: Settings) -> None:
    order = place(seeded, payment_method="bank_transfer")
    engine = make_engine(seeded.database_url)
    try:
        with Session(engine) as session:
            line = line_of(session, stored(session, order["number"]))
            line.total = Decimal("0.01")
            session.add(line)
            with pytest.raises(InvoiceLocked):
                session.flush()
            session.rollback()
            line = line_of(session, stored(session, order["number"]))
            session.delete(line)
            with pytest.raises(InvoiceLocked):
                session.flush()
            session.rollback()
            issued = stored(session, order["number"])
            assert issued.id is not None
            session.add(
                OrderLine(
                    order_id=issued.id,
                    position=9,
                    sku="extra",
                    name="Extra",
                    kind="addon",
                    quantity=1,
                    unit_price=Decimal(1),
                    total=Decimal(1),
                )
            )
            with pytest.raises(InvoiceLocked):
                session.flush()
            session.rollback()
            with pytest.raises(InvoiceLocked):  # nor is the invoice deleted
                session.delete(stored(session, order["number"]))
                session.flush()
    finally:
        engine.dispose()


def test_gobd_a_change_after_commit_is_refused_without_reloading(seeded: Settings) -> None:
    """The guard also holds for an order whose attributes were expired by a commit."""
    order = place(seeded, payment_method="bank_transfer")
    engine = make_engine(seeded.database_url)
    try:
        with Session(engine) as session:
            issued = stored(session, order["number"])
            issued.paid_amount = Decimal(0)
            session.add(issued)
            session.commit()  # expires every attribute
            issued.total = Decimal("2.00")
            session.add(issued)
            with pytest.raises(InvoiceLocked):
                session.commit()
    finally:
        engine.dispose()


def test_gobd_status_and_payments_of_an_issued_invoice_still_change(
    seeded: Settings, admin: dict[str, str]
) -> None:
    order = place(seeded, payment_method="bank_transfer")
    with TestClient(app=create_app(seeded)) as client:
        paid = client.post(
            f"/api/v1/admin/orders/{order['number']}/payments",
            json={"amount": order["total"]["amount"], "currency": "EUR", "method": "bank_transfer"},
            headers=admin,
        )
        assert paid.status_code == 201, paid.text
        after = client.get(f"/api/v1/orders/{order['token']}").json()["order"]
    assert after["status"] == "paid" and after["paid"] == order["total"]
    assert after["invoice_number"] == order["invoice_number"]
    assert after["invoice_retained_until"] == "2033-12-31"  # §147 AO: 8 years after 2025


def test_gobd_a_quote_before_issue_can_still_change(seeded: Settings) -> None:
    quote = place(seeded, quote=True)
    assert quote["invoice_number"] is None
    engine = make_engine(seeded.database_url)
    try:
        with Session(engine) as session:
            open_quote = stored(session, quote["number"])
            open_quote.street = "Nebenstraße 9"
            open_quote.po_number = "PO-1"
            open_quote.total = Decimal("1.00")
            line = line_of(session, open_quote)
            line.total = Decimal("1.00")
            session.add_all([open_quote, line])
            session.commit()
        with Session(engine) as session:
            changed = stored(session, quote["number"])
            assert (changed.street, changed.po_number) == ("Nebenstraße 9", "PO-1")
            assert changed.total == Decimal("1.00")
    finally:
        engine.dispose()


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_gobd_the_refusal_is_translated(settings: Settings) -> None:
    error = InvoiceLocked(7, "total")
    german = Translator.for_settings(settings, "de").gettext(error.detail, **error.params)
    dutch = Translator.for_settings(settings, "nl").gettext(error.detail, **error.params)
    assert "INV-7" in german and "Rechnungskorrektur" in german
    assert "INV-7" in dutch and "creditnota" in dutch


def test_gobd_a_bulk_update_or_delete_of_an_issued_invoice_is_refused(seeded: Settings) -> None:
    order = place(seeded, payment_method="bank_transfer")
    quote = place(seeded, email="bert@example.com", quote=True)
    engine = make_engine(seeded.database_url)
    issued = col(Order.number) == order["number"]
    try:
        with Session(engine) as session:
            with pytest.raises(InvoiceLocked):
                session.execute(update(Order).where(issued).values(total=Decimal(1)))
            session.rollback()
            with pytest.raises(InvoiceLocked):
                session.execute(
                    update(OrderLine)
                    .where(col(OrderLine.order_id) == stored(session, order["number"]).id)
                    .values(total=Decimal(1))
                )
            session.rollback()
            with pytest.raises(InvoiceLocked):
                session.execute(delete(OrderLine))
            session.rollback()
            # What is not on the invoice still changes in bulk; a quote's fields too.
            session.execute(update(Order).where(issued).values(needs_action="late_money"))
            session.execute(
                update(Order)
                .where(col(Order.number) == quote["number"])
                .values(total=Decimal(1), street="Nebenstraße 9")
            )
            session.commit()
        with Session(engine) as session:
            assert stored(session, order["number"]).needs_action == "late_money"
            assert stored(session, order["number"]).total == Decimal(order["total"]["amount"])
            assert stored(session, quote["number"]).total == Decimal(1)
    finally:
        engine.dispose()


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_gobd_the_refusal_is_a_translated_409_on_the_api_and_a_message_on_pages(
    seeded: Settings,
) -> None:
    @get("/api/v1/test-invoice-locked", sync_to_thread=False)
    def api_change() -> None:
        raise InvoiceLocked(3, "total")

    @get("/de/test-invoice-locked", sync_to_thread=False)
    def page_change() -> None:
        raise InvoiceLocked(3, "total")

    app = create_app(seeded)
    app.register(api_change)
    app.register(page_change)
    with TestClient(app=app) as client:
        api = client.get("/api/v1/test-invoice-locked", headers={"Accept-Language": "de"})
        page = client.get("/de/test-invoice-locked", headers={"Accept-Language": "de"})
    assert api.status_code == 409
    assert api.headers["content-type"].startswith("application/problem+json")
    problem = api.json()
    assert problem["code"] == "invoice_locked" and problem["title"] == "Rechnung ausgestellt"
    assert "INV-3" in problem["detail"] and "Rechnungskorrektur" in problem["detail"]
    assert page.status_code == 409 and "text/html" in page.headers["content-type"]
    assert "Die Rechnung INV-3 ist ausgestellt" in page.text
