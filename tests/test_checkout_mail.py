"""The buyer's e-mails arrive over real SMTP, in their language (R34), with the PDF (R9).

The quote or invoice is drawn when the mail is sent, from the order, and never stored in
the outbox; a mail server that hangs holds up neither the checkout nor anyone else.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from io import BytesIO
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pypdf
import pytest
from click.testing import CliRunner
from fake_smtp import Collector, HungServer, free_port
from litestar.testing import TestClient
from live import bound_socket, serve
from locks import assert_writes_are_not_blocked
from sqlmodel import Session, select

import shop.orders.documents
from shop.app import create_app
from shop.cli import main
from shop.clock import Clock
from shop.db import make_engine
from shop.demo import insert_due_subscriptions
from shop.mail import OutboxMessage
from shop.orders.notifications import send_due_mail
from shop.plugins.manager import Plugins, get_plugin_manager
from shop.settings import Settings

NOW = datetime(2025, 4, 1, 9, 0, tzinfo=UTC)
ORDER = {
    "email": "grete@example.com",
    "name": "Grete",
    "country": "DE",
    "currency": "EUR",
    "payment_method": "bank_transfer",
    "items": [{"sku": "base-monthly", "quantity": 1}],
}
QUOTE = {
    "email": "q@example.com",
    "name": "Q",
    "country": "NL",
    "currency": "EUR",
    "quote": True,
    "items": [{"sku": "server-starter", "quantity": 1}],
}


def pdf_of(mail: Any) -> pypdf.PdfReader:
    [attachment] = list(mail.iter_attachments())
    assert attachment.get_content_type() == "application/pdf"
    return pypdf.PdfReader(BytesIO(attachment.get_content()))


def title_of(mail: Any) -> str:
    metadata = pdf_of(mail).metadata
    assert metadata is not None and metadata.title
    return str(metadata.title)


def stored_mails(settings: Settings) -> list[OutboxMessage]:
    engine = make_engine(settings.database_url)
    try:
        with Session(engine) as session:
            return list(session.exec(select(OutboxMessage).order_by(OutboxMessage.id)))
    finally:
        engine.dispose()


def test_order_and_payment_mails_arrive_over_smtp_in_german(
    seeded: Settings, admin: dict[str, str], smtp: tuple[str, Collector]
) -> None:
    url, collector = smtp
    app = create_app(replace(seeded, smtp_url=url))
    with TestClient(app=app) as client:
        body = {**ORDER, "po_number": "PO-42"}
        created = client.post("/api/v1/orders", json=body, headers={"Accept-Language": "de"})
        assert created.status_code == 201
        order = created.json()["order"]

        [received] = collector.messages()
        assert received["To"] == "grete@example.com"
        assert str(order["number"]) in received["Subject"]
        text = received.get_body(preferencelist=("plain",)).get_content()
        assert "Grete" in text
        assert "IBAN" in text
        assert "PO-42" in text
        [attachment] = list(received.iter_attachments())
        # R8: the invoice carries its number from the invoice series
        assert attachment.get_filename() == f"Rechnung-INV-{order['invoice_number']}.pdf"
        assert title_of(received) == f"Rechnung INV-{order['invoice_number']}"
        pdf = pdf_of(received)
        assert pdf.trailer["/Root"]["/Lang"] == "de"
        assert "PO-42" in pdf.pages[0].extract_text()

        paid = client.post(
            f"/api/v1/admin/orders/{order['number']}/payments",
            json={
                "amount": "45.00",
                "currency": "EUR",
                "method": "bank_transfer",
                "reference": "x",
            },
            headers=admin,
        )
        assert paid.status_code == 201
        key = paid.json()["order"]["licence_key"]
        assert len(collector.messages()) == 2
        payment_mail = collector.messages()[1]
        assert payment_mail["To"] == "grete@example.com"
        assert key in payment_mail.get_body(preferencelist=("plain",)).get_content()

        outbox = client.get("/api/v1/admin/outbox", headers=admin).json()["messages"]
        assert [m["kind"] for m in outbox] == ["payment_received", "order_received"]
        assert all(m["sent_at"] and m["status"] == "sent" for m in outbox)
        assert all(m["attempts"] == 1 and m["next_attempt_at"] is None for m in outbox)
        assert all(m["locale"] == "de" for m in outbox)
    # The invoice went out, yet the outbox keeps no copy of it.
    assert [m.attachment for m in stored_mails(seeded)] == [None, None]


def test_a_dutch_quote_is_mailed_with_the_quote_in_dutch(
    seeded: Settings, smtp: tuple[str, Collector]
) -> None:
    url, collector = smtp
    with TestClient(app=create_app(replace(seeded, smtp_url=url))) as client:
        created = client.post("/api/v1/orders", json=QUOTE, headers={"Accept-Language": "nl"})
        number = created.json()["order"]["quote_number"]
    [received] = collector.messages()
    assert title_of(received) == f"Offerte Q-{number}"  # R8: the quote series
    assert pdf_of(received).trailer["/Root"]["/Lang"] == "nl"
    [stored] = stored_mails(seeded)
    assert (stored.document_kind, stored.attachment) == ("quote", None)


def test_without_smtp_the_mails_wait_in_the_outbox(
    client: TestClient, admin: dict[str, str]
) -> None:
    created = client.post("/api/v1/orders", json=QUOTE, headers={"Accept-Language": "nl"})
    assert created.status_code == 201
    number = created.json()["order"]["quote_number"]
    [message] = client.get("/api/v1/admin/outbox", headers=admin).json()["messages"]
    assert message["kind"] == "quote"
    assert message["sent_at"] is None
    assert (message["status"], message["attempts"]) == ("pending", 0)
    assert message["next_attempt_at"] == NOW.isoformat()
    assert message["locale"] == "nl"
    assert message["attachment"] == f"Offerte-Q-{number}.pdf"


def test_the_checkout_draws_no_pdf_the_sending_draws_it_once(
    seeded: Settings, smtp: tuple[str, Collector], monkeypatch: pytest.MonkeyPatch
) -> None:
    drawn: list[str] = []
    render = shop.orders.documents.render_document

    def counting(document: Any, t: Any) -> bytes:
        drawn.append(document.number)
        return render(document, t)

    monkeypatch.setattr(shop.orders.documents, "render_document", counting)
    with TestClient(app=create_app(seeded)) as client:  # no SMTP: the mail waits
        number = client.post("/api/v1/orders", json=ORDER).json()["order"]["invoice_number"]
    assert drawn == []
    [stored] = stored_mails(seeded)
    assert (stored.document_kind, stored.attachment) == ("invoice", None)

    url, collector = smtp
    engine = make_engine(seeded.database_url)
    clock = Clock(ZoneInfo("UTC"), NOW)
    plugins = Plugins(get_plugin_manager())
    try:
        report = send_due_mail(engine, plugins, replace(seeded, smtp_url=url), clock)
    finally:
        engine.dispose()
    assert report.sent == 1 and drawn == [f"INV-{number}"]
    assert title_of(collector.messages()[0]) == f"Invoice INV-{number}"
    # The mailed invoice is the Factur-X one a download gets: its XML inside (issue 13).
    assert list(pdf_of(collector.messages()[0]).attachments) == ["factur-x.xml"]


def test_the_operator_sees_a_mail_retried_and_then_given_up(
    seeded: Settings, admin: dict[str, str]
) -> None:
    down = replace(seeded, smtp_url=f"smtp://127.0.0.1:{free_port()}")
    with TestClient(app=create_app(down)) as client:
        assert client.post("/api/v1/orders", json=ORDER).status_code == 201
        [mail] = client.get("/api/v1/admin/outbox", headers=admin).json()["messages"]
        assert (mail["status"], mail["attempts"]) == ("pending", 1)
        assert mail["next_attempt_at"] == (NOW + timedelta(minutes=1)).isoformat()
        assert "Connection refused" in mail["last_error"]

        # A second order's delivery sends its own mail only: the first is not due yet.
        second = client.post("/api/v1/orders", json={**ORDER, "email": "b@example.com"})
        assert second.status_code == 201
        first = client.get("/api/v1/admin/outbox", headers=admin).json()["messages"][-1]
        assert first["attempts"] == 1

        engine = make_engine(seeded.database_url)
        plugins = Plugins(get_plugin_manager())
        try:
            for days in range(1, 8):  # a day later each time: every wait is over
                moment = Clock(ZoneInfo("UTC"), NOW + timedelta(days=days))
                send_due_mail(engine, plugins, down, moment)
        finally:
            engine.dispose()
        first = client.get("/api/v1/admin/outbox", headers=admin).json()["messages"][-1]
        assert (first["status"], first["attempts"], first["next_attempt_at"]) == ("failed", 8, None)
        assert "Connection refused" in first["last_error"]


def test_a_hung_mail_server_holds_up_neither_checkouts_nor_the_catalog(
    seeded: Settings,
) -> None:
    with HungServer() as hung:
        # The timeout is only a safety net: the test hangs the server up itself.
        settings = replace(seeded, smtp_url=hung.url, smtp_timeout=60)
        with serve(settings, bound_socket()) as base, httpx.Client(base_url=base) as http:
            try:
                first = http.post("/api/v1/orders", json=ORDER, timeout=30)
                assert first.status_code == 201
                assert hung.connected.wait(timeout=10), "the mail was never sent"
                # Its delivery now waits for the server's greeting, and holds no lock:
                assert_writes_are_not_blocked(seeded.database_url)
                catalog = http.get("/api/v1/products?currency=EUR&country=DE", timeout=30)
                assert catalog.status_code == 200 and catalog.json()
                second = http.post(
                    "/api/v1/orders", json={**ORDER, "email": "b@example.com"}, timeout=30
                )
                assert second.status_code == 201
                assert second.json()["order"]["number"] == first.json()["order"]["number"] + 1
            finally:
                hung.release()
        # The server stopped once both deliveries had recorded the hang-up.
    mails = stored_mails(seeded)
    assert [(m.status, m.attempts) for m in mails] == [("pending", 1), ("pending", 1)]
    assert all(m.next_attempt_at == NOW + timedelta(minutes=1) for m in mails)
    assert all(m.last_error and "SMTPServerDisconnected" in m.last_error for m in mails)


def test_the_job_runner_mails_renewal_invoices_drawn_as_it_sends(
    seeded: Settings, smtp: tuple[str, Collector]
) -> None:
    url, collector = smtp
    engine = make_engine(seeded.database_url)
    try:
        insert_due_subscriptions(engine, 2)
    finally:
        engine.dispose()
    env = {
        "SHOP_DATABASE_URL": seeded.database_url,
        "SHOP_CLOCK": "2026-01-01T06:00:00+01:00",
        "SHOP_LICENCE_SIGNING_KEY": seeded.licence_signing_key or "",
        "SHOP_SMTP_URL": url,
    }

    first = CliRunner().invoke(main, ["jobs", "run"], env=env)
    assert first.exit_code == 0, first.output
    assert "Sent 2 e-mail(s); 0 to be retried, 0 given up." in first.output

    titles = sorted(title_of(mail) for mail in collector.messages())
    assert titles == ["Rechnung INV-1", "Rechnung INV-2"]  # renewals are invoices (R8)
    assert all(m.attachment is None and m.status == "sent" for m in stored_mails(seeded))

    again = CliRunner().invoke(main, ["jobs", "run"], env=env)
    assert "Sent 0 e-mail(s)" in again.output and len(collector.envelopes) == 2
