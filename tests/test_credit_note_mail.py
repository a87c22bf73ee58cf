"""GoBD, R34: each credit note goes to the buyer by e-mail in the order's language, with its
PDF (drawn when the mail is sent), queued in the transaction that issues it: once per
credit note, whether the order is cancelled, expires or the operator corrects the invoice."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta
from io import BytesIO
from typing import Any

import pypdf
import pytest
from fake_smtp import Collector
from litestar.testing import TestClient
from sqlmodel import Session, select
from test_backoffice import csrf, make_operator
from test_backoffice import log_in as operator_log_in
from test_checkout_mail import stored_mails
from test_credit_notes import order_for, pay, stored_notes
from test_numbering import run_jobs

from shop.app import create_app
from shop.clock import Clock
from shop.db import make_engine
from shop.demo import insert_due_subscriptions
from shop.mail import OutboxMessage
from shop.orders.documents import mail_documents
from shop.orders.models import Order
from shop.plugins.manager import Plugins, get_plugin_manager
from shop.settings import Settings

SUBJECTS = {
    "en": "Credit note CN-{note} for invoice INV-{invoice}",
    "de": "Rechnungskorrektur CN-{note} zu Rechnung INV-{invoice}",
    "nl": "Creditnota CN-{note} bij factuur INV-{invoice}",
}
TITLES = {"en": "Credit note", "de": "Rechnungskorrektur", "nl": "Creditnota"}


def pdf_text(mail: Any) -> tuple[str, str]:
    """The attachment's file name and its PDF's text."""
    [attachment] = list(mail.iter_attachments())
    assert attachment.get_content_type() == "application/pdf"
    reader = pypdf.PdfReader(BytesIO(attachment.get_content()))
    return attachment.get_filename(), "\n".join(page.extract_text() for page in reader.pages)


def credit_note_mails(collector: Collector) -> list[Any]:
    return [m for m in collector.messages() if "CN-" in m["Subject"]]


@pytest.mark.parametrize("lang", ["de", "nl"])
def test_gobd_r34_cancelling_an_invoice_mails_its_credit_note_in_the_buyers_language(
    seeded: Settings, smtp: tuple[str, Collector], lang: str
) -> None:
    url, collector = smtp
    with TestClient(app=create_app(replace(seeded, smtp_url=url))) as client:
        order = order_for(client, "anna@example.com", lang=lang)
        assert credit_note_mails(collector) == []  # the order's own mail only
        assert client.post(f"/api/v1/orders/{order['token']}/cancel").status_code == 200
        again = client.post(f"/api/v1/orders/{order['token']}/cancel")
        assert again.status_code == 409  # closed already: no second credit note, no mail
    [note] = stored_notes(seeded)
    [mail] = credit_note_mails(collector)
    invoice = order["invoice_number"]
    assert mail["To"] == "anna@example.com"
    assert mail["Subject"] == SUBJECTS[lang].format(note=note.number, invoice=invoice)
    body = mail.get_body(preferencelist=("plain",)).get_content()
    assert f"INV-{invoice}" in body and order["token"] in body  # the invoice, the order page
    assert ("storniert" if lang == "de" else "crediteert") in body
    name, text = pdf_text(mail)
    assert name == f"{TITLES[lang]}-CN-{note.number}.pdf"
    assert f"{TITLES[lang]} CN-{note.number}" in text and f"INV-{invoice}" in text
    [stored] = [m for m in stored_mails(seeded) if m.kind == "credit_note"]
    assert (stored.locale, stored.attachment) == (lang, None)  # linked, not stored


def test_gobd_r34_the_operators_credit_note_for_a_paid_invoice_is_mailed(
    seeded: Settings, admin: dict[str, str], smtp: tuple[str, Collector]
) -> None:
    url, collector = smtp
    make_operator(seeded, "ops@example.com")
    with TestClient(app=create_app(replace(seeded, smtp_url=url))) as client:
        order = order_for(client, "anna@example.com", lang="de")
        pay(client, admin, order)
        assert operator_log_in(client, "ops@example.com").status_code == 303
        page = client.get(f"/admin/orders/{order['number']}").text
        path = f"/admin/orders/{order['number']}/credit-notes"
        form = {"reason": "Falsche Anschrift", "confirm": "1", "_csrf_token": csrf(page)}
        issued = client.post(path, data=form, follow_redirects=False)
        assert issued.status_code == 303, issued.text
        assert client.post(path, data={**form, "reason": "noch einmal"}).status_code == 409
    [mail] = credit_note_mails(collector)
    assert mail["Subject"] == f"Rechnungskorrektur CN-1 zu Rechnung INV-{order['invoice_number']}"
    body = mail.get_body(preferencelist=("plain",)).get_content()
    assert "Grund: Falsche Anschrift" in body
    _, text = pdf_text(mail)
    assert "Rechnungskorrektur CN-1" in text and "Falsche Anschrift" in text


def test_gobd_a_cancelled_quote_has_no_credit_note_and_no_mail(
    seeded: Settings, smtp: tuple[str, Collector]
) -> None:
    url, collector = smtp
    with TestClient(app=create_app(replace(seeded, smtp_url=url))) as client:
        quote = order_for(client, "bert@example.com", lang="de", quote=True)
        assert client.post(f"/api/v1/orders/{quote['token']}/cancel").status_code == 200
    assert stored_notes(seeded) == []
    assert [m.kind for m in stored_mails(seeded)] == ["quote"]
    assert credit_note_mails(collector) == []


def credit_note_outbox(settings: Settings) -> list[OutboxMessage]:
    return [m for m in stored_mails(settings) if m.kind == "credit_note"]


def test_gobd_r1_an_expiring_invoice_is_mailed_its_credit_note_once_by_the_job_runner(
    seeded: Settings,
) -> None:
    with TestClient(app=create_app(seeded)) as client:
        order = order_for(client, "anna@example.com", lang="nl")
    later = Clock.from_setting(seeded.clock, seeded.timezone).now() + timedelta(days=31)
    run_jobs(seeded, later.isoformat())
    run_jobs(seeded, (later + timedelta(days=1)).isoformat())  # nothing new to credit
    [note] = stored_notes(seeded)
    [mail] = credit_note_outbox(seeded)  # no SMTP: it waits in the outbox
    assert mail.to_address == "anna@example.com"
    assert mail.subject == f"Creditnota CN-{note.number} bij factuur INV-{order['invoice_number']}"
    assert (mail.document_kind, mail.document_number) == ("credit_note", note.number)
    # The sender draws the PDF from the link.
    engine = make_engine(seeded.database_url)
    try:
        attachment = mail_documents(engine, Plugins(get_plugin_manager()), seeded)(mail)
    finally:
        engine.dispose()
    assert attachment is not None and attachment.name == f"Creditnota-CN-{note.number}.pdf"
    text = "\n".join(p.extract_text() for p in pypdf.PdfReader(BytesIO(attachment.data)).pages)
    assert f"Creditnota CN-{note.number}" in text and f"INV-{order['invoice_number']}" in text


def test_gobd_r21_each_renewal_expired_in_bulk_is_mailed_its_credit_note(
    seeded: Settings,
) -> None:
    engine = make_engine(seeded.database_url)
    try:
        insert_due_subscriptions(engine, 3)
    finally:
        engine.dispose()
    run_jobs(seeded, "2026-01-01T06:00:00+01:00")  # renewal invoices, unpaid: on hold
    assert credit_note_outbox(seeded) == []
    run_jobs(seeded, "2026-02-15T06:00:00+01:00")  # past the grace period: expired
    mails = credit_note_outbox(seeded)
    engine = make_engine(seeded.database_url)
    try:
        with Session(engine) as session:
            orders = session.exec(select(Order).where(Order.kind == "renewal")).all()
    finally:
        engine.dispose()
    assert sorted(m.order_number or "" for m in mails) == sorted(str(o.number) for o in orders)
    assert sorted(m.document_number or 0 for m in mails) == [n.number for n in stored_notes(seeded)]
