"""The buyer's e-mails arrive over real SMTP, in their language (R34), with the PDF (R9)."""

from __future__ import annotations

from dataclasses import replace

from fake_smtp import Collector
from litestar.testing import TestClient

from shop.app import create_app
from shop.settings import Settings


def test_order_and_payment_mails_arrive_over_smtp_in_german(
    seeded: Settings, admin: dict[str, str], smtp: tuple[str, Collector]
) -> None:
    url, collector = smtp
    app = create_app(replace(seeded, smtp_url=url))
    with TestClient(app=app) as client:
        body = {
            "email": "grete@example.com",
            "name": "Grete",
            "country": "DE",
            "currency": "EUR",
            "payment_method": "bank_transfer",
            "items": [{"sku": "base-monthly", "quantity": 1}],
            "po_number": "PO-42",
        }
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
        [pdf] = [part for part in received.iter_attachments()]
        assert pdf.get_content_type() == "application/pdf"
        assert pdf.get_content().startswith(b"%PDF")

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
        assert all(m["sent_at"] for m in outbox)
        assert all(m["locale"] == "de" for m in outbox)


def test_without_smtp_the_mails_wait_in_the_outbox(
    client: TestClient, admin: dict[str, str]
) -> None:
    body = {
        "email": "q@example.com",
        "name": "Q",
        "country": "NL",
        "currency": "EUR",
        "quote": True,
        "items": [{"sku": "server-starter", "quantity": 1}],
    }
    assert (
        client.post("/api/v1/orders", json=body, headers={"Accept-Language": "nl"}).status_code
        == 201
    )
    [message] = client.get("/api/v1/admin/outbox", headers=admin).json()["messages"]
    assert message["kind"] == "quote"
    assert message["sent_at"] is None
    assert message["locale"] == "nl"
    assert message["attachment"].endswith(".pdf")
