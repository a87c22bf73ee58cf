"""GoBD: an issued invoice is corrected or cancelled only by a credit note, of its own
gapless series (R8, ``CN-<n>``), linked to the invoice, printed in the buyer's language;
a cancelled invoice says so and names its credit note. R35: another customer's credit
notes are a 404."""

from __future__ import annotations

import re
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from decimal import Decimal
from io import BytesIO
from typing import Any

import pypdf
import pytest
from litestar.testing import TestClient
from sqlmodel import Session, col, select
from test_accounts import log_in as customer_log_in
from test_backoffice import csrf, make_operator
from test_backoffice import log_in as operator_log_in
from test_einvoice import assert_valid_cii, broken_rules, embedded_xml, is_pdfa3, one, totals
from test_numbering import run_jobs

from shop.app import create_app
from shop.clock import Clock
from shop.db import make_engine, session_scope
from shop.demo import insert_due_subscriptions
from shop.orders.credit_notes import correct_invoice
from shop.orders.lifecycle import cancel_order, expire_due
from shop.orders.models import CreditNote, Order
from shop.settings import Settings

BODY = {
    "name": "Anna Berg",
    "organisation": "Berg Planung GmbH",
    "country": "DE",
    "currency": "EUR",
    "payment_method": "bank_transfer",
    "street": "Hauptstraße 1",
    "postcode": "10115",
    "city": "Berlin",
    "items": [{"sku": "base-yearly", "quantity": 1}, {"sku": "persons-yearly", "quantity": 5}],
}


def text_of(pdf: bytes) -> str:
    return "\n".join(page.extract_text() for page in pypdf.PdfReader(BytesIO(pdf)).pages)


def order_for(client: TestClient[Any], email: str, lang: str = "en", **extra: Any) -> Any:
    answer = client.post(f"/api/v1/orders?lang={lang}", json={**BODY, "email": email, **extra})
    assert answer.status_code == 201, answer.text
    return answer.json()["order"]


def pay(client: TestClient[Any], admin: dict[str, str], order: dict[str, Any]) -> None:
    paid = client.post(
        f"/api/v1/admin/orders/{order['number']}/payments",
        json={"amount": order["total"]["amount"], "currency": "EUR", "method": "bank_transfer"},
        headers=admin,
    )
    assert paid.status_code == 201, paid.text


def stored_notes(settings: Settings) -> list[CreditNote]:
    engine = make_engine(settings.database_url)
    try:
        with Session(engine) as session:
            return list(session.exec(select(CreditNote).order_by(col(CreditNote.number))))
    finally:
        engine.dispose()


def test_gobd_cancelling_an_invoiced_order_issues_cn_1(client: TestClient[Any]) -> None:
    order = order_for(client, "anna@example.com")
    quote = order_for(client, "bert@example.com", quote=True)
    cancelled = client.post(f"/api/v1/orders/{order['token']}/cancel").json()["order"]
    client.post(f"/api/v1/orders/{quote['token']}/cancel")
    assert cancelled["status"] == "cancelled" and cancelled["invoice_number"] == 1
    [note] = cancelled["credit_notes"]
    assert note["number"] == "CN-1" and note["currency"] == "EUR"
    assert note["amount"] == order["total"]  # the whole invoice, gross
    assert note["pdf_url"].endswith(f"/api/v1/orders/{order['token']}/credit-notes/1/document.pdf")
    assert cancelled["invoice_retained_until"] == "2033-12-31"
    page = client.get(f"/de/orders/{order['token']}").text  # the buyer's order page links it
    assert "Rechnungskorrektur CN-1 (PDF)" in page
    assert f"/api/v1/orders/{order['token']}/credit-notes/1/document.pdf" in page
    quote_after = client.get(f"/api/v1/orders/{quote['token']}").json()["order"]
    assert quote_after["credit_notes"] == []  # a quote is no invoice: nothing to cancel
    assert "invoice_retained_until" not in quote_after


def test_gobd_credit_notes_stay_gapless_under_concurrent_cancellations(seeded: Settings) -> None:
    with TestClient(app=create_app(seeded)) as client:
        orders = [order_for(client, f"buyer{n}@example.com") for n in range(8)]
    engine = make_engine(seeded.database_url)
    now = Clock.from_setting(seeded.clock, seeded.timezone).now()

    def cancel(number: int) -> None:
        with session_scope(engine) as session:
            order = session.exec(select(Order).where(Order.number == number)).one()
            cancel_order(session, order, now)

    try:
        with ThreadPoolExecutor(8) as pool:
            list(pool.map(cancel, [o["number"] for o in orders]))
    finally:
        engine.dispose()
    notes = stored_notes(seeded)
    assert [n.number for n in notes] == list(range(1, 9))  # R8: no gap, no twin
    assert len({n.order_id for n in notes}) == 8


def test_gobd_an_expired_unpaid_invoice_is_cancelled_by_a_credit_note(seeded: Settings) -> None:
    with TestClient(app=create_app(seeded)) as client:
        order = order_for(client, "anna@example.com")
    engine = make_engine(seeded.database_url)
    later = Clock.from_setting(seeded.clock, seeded.timezone).now() + timedelta(days=31)
    try:
        with session_scope(engine) as session:
            report = expire_due(session, later)
    finally:
        engine.dispose()
    assert report.orders == 1
    [note] = stored_notes(seeded)
    assert note.number == 1 and note.amount == Decimal(order["total"]["amount"])
    assert note.reason == "order_expired"


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
@pytest.mark.parametrize(
    ("lang", "title", "stamp", "due"),
    [
        ("en", "Credit note", "CANCELLED", "Amount due"),
        ("de", "Rechnungskorrektur", "STORNIERT", "Offener Betrag"),
        ("nl", "Creditnota", "GEANNULEERD", "Te betalen"),
    ],
)
def test_gobd_the_cancelled_invoice_and_its_credit_note_in_the_buyers_language(
    client: TestClient[Any], lang: str, title: str, stamp: str, due: str
) -> None:
    order = order_for(client, "anna@example.com", lang=lang)
    client.post(f"/api/v1/orders/{order['token']}/cancel")
    invoice = text_of(client.get(f"/api/v1/orders/{order['token']}/document.pdf").content)
    assert stamp in invoice and "CN-1" in invoice  # says it is cancelled, and by what
    assert due not in invoice  # asks for nothing
    answer = client.get(f"/api/v1/orders/{order['token']}/credit-notes/1/document.pdf")
    assert answer.status_code == 200 and answer.headers["content-type"] == "application/pdf"
    note = text_of(answer.content)
    assert f"{title} CN-1" in note
    assert "INV-1" in note and "Hauptstraße 1" in note and "Berg Planung GmbH" in note
    assert "Musterstraße 1" in note  # the seller's address, as the invoice prints it
    # Every amount is negative: the total and each line.
    minus = re.findall(r"[-−]\s?(?:€\s?)?\d", note)
    assert len(minus) >= 3, note
    assert due not in note and stamp not in note


def test_gobd_an_operator_corrects_a_paid_invoice_by_a_credit_note(
    seeded: Settings, admin: dict[str, str]
) -> None:
    make_operator(seeded, "ops@example.com")
    with TestClient(app=create_app(seeded)) as client:
        order = order_for(client, "anna@example.com", lang="de")
        unpaid = client.get(f"/admin/orders/{order['number']}")
        assert "issue-credit-note" not in unpaid.text  # an unpaid invoice: nothing to correct
        assert operator_log_in(client, "ops@example.com").status_code == 303
        pay(client, admin, order)
        page = client.get(f"/admin/orders/{order['number']}").text
        assert 'id="issue-credit-note"' in page
        path = f"/admin/orders/{order['number']}/credit-notes"
        unconfirmed = client.post(
            path, data={"reason": "Falsche Anschrift", "_csrf_token": csrf(page)}
        )
        assert unconfirmed.status_code == 422 and 'id="credit-error"' in unconfirmed.text
        assert stored_notes(seeded) == []
        issued = client.post(
            path,
            data={"reason": "Falsche Anschrift", "confirm": "1", "_csrf_token": csrf(page)},
            follow_redirects=False,
        )
        assert issued.status_code == 303, issued.text
        page = client.get(f"/admin/orders/{order['number']}").text
        assert "CN-1" in page and 'id="issue-credit-note"' not in page
        again = client.post(
            path, data={"reason": "noch einmal", "confirm": "1", "_csrf_token": csrf(page)}
        )
        assert again.status_code == 409  # credited in full already
        pdf = client.get(f"/admin/orders/{order['number']}/credit-notes/1/document.pdf")
        assert pdf.status_code == 200
        text = text_of(pdf.content)
        after = client.get(f"/api/v1/orders/{order['token']}").json()["order"]
    assert "Rechnungskorrektur CN-1" in text and "Falsche Anschrift" in text
    assert after["status"] == "paid"  # R10: no refund, the order stays paid
    assert [n["number"] for n in after["credit_notes"]] == ["CN-1"]
    assert [n.number for n in stored_notes(seeded)] == [1]


def test_r35_credit_notes_of_other_customers_are_not_found(
    client: TestClient[Any], admin: dict[str, str]
) -> None:
    mine = order_for(client, "anna@example.com")
    theirs = order_for(client, "bert@example.com")
    for order in (mine, theirs):
        client.post(f"/api/v1/orders/{order['token']}/cancel")
    customer_log_in(client, admin, "anna@example.com")
    own = client.get(f"/en/account/orders/{mine['number']}/credit-notes/1/document.pdf")
    assert own.status_code == 200 and "CN-1" in text_of(own.content)
    assert "CN-1" in client.get(f"/en/account/orders/{mine['number']}").text
    other = client.get(f"/en/account/orders/{theirs['number']}/credit-notes/2/document.pdf")
    assert other.status_code == 404
    crossed = client.get(f"/en/account/orders/{mine['number']}/credit-notes/2/document.pdf")
    assert crossed.status_code == 404  # CN-2 exists, but is not this order's
    assert (
        client.get(f"/api/v1/orders/{mine['token']}/credit-notes/2/document.pdf").status_code == 404
    )
    assert client.get("/api/v1/orders/not-a-token/credit-notes/1/document.pdf").status_code == 404


def test_gobd_r21_expired_renewal_invoices_get_credit_notes_in_one_batch(
    seeded: Settings,
) -> None:
    """Renewals left unpaid past the grace period expire in bulk (R21); each invoice is
    cancelled by a credit note, numbered without gaps, in the same transaction."""
    engine = make_engine(seeded.database_url)
    try:
        insert_due_subscriptions(engine, 3)
    finally:
        engine.dispose()
    run_jobs(seeded, "2026-01-01T06:00:00+01:00")  # renewal invoices, unpaid: on hold
    assert stored_notes(seeded) == []
    run_jobs(seeded, "2026-02-15T06:00:00+01:00")  # past the grace period: expired
    notes = stored_notes(seeded)
    assert [n.number for n in notes] == [1, 2, 3]
    assert {n.reason for n in notes} == {"order_expired"}
    engine = make_engine(seeded.database_url)
    try:
        with Session(engine) as session:
            orders = session.exec(select(Order).where(Order.kind == "renewal")).all()
            assert {o.status for o in orders} == {"expired"}
            assert sorted(n.order_id for n in notes) == sorted(o.id for o in orders)  # type: ignore[misc]
    finally:
        engine.dispose()


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_gobd_the_credit_note_pdf_is_factur_x_type_381(
    client: TestClient[Any], admin: dict[str, str]
) -> None:
    """EN 16931: a credit note is type 381 with positive amounts and names the invoice it
    cancels (BG-3); it validates like the invoice."""
    order = order_for(client, "anna@example.com", lang="de", tax_number="DE811907980")
    pay(client, admin, order)
    settings = client.app.state.shop.settings
    engine = make_engine(settings.database_url)
    now = Clock.from_setting(settings.clock, settings.timezone).now()
    try:
        with session_scope(engine) as session:
            paid = session.exec(select(Order).where(Order.number == order["number"])).one()
            correct_invoice(session, paid, "Falsche Anschrift", now, "DE")
    finally:
        engine.dispose()
    pdf = client.get(f"/api/v1/orders/{order['token']}/credit-notes/1/document.pdf").content
    name, xml = embedded_xml(pdf)
    assert name == "factur-x.xml" and xml is not None
    root = assert_valid_cii(xml)
    assert broken_rules(xml) == []
    assert is_pdfa3(pdf)
    assert one(root, "/rsm:CrossIndustryInvoice/rsm:ExchangedDocument/ram:TypeCode") == "381"
    assert one(root, "/rsm:CrossIndustryInvoice/rsm:ExchangedDocument/ram:ID") == "CN-1"
    assert one(root, "//ram:InvoiceReferencedDocument/ram:IssuerAssignedID") == "INV-1"
    total = Decimal(order["total"]["amount"])
    assert totals(root)["GrandTotalAmount"] == total  # positive: 381 says it is credited
    assert totals(root)["DuePayableAmount"] == total
    assert "Rechnungskorrektur CN-1" in text_of(pdf)
