"""E-mail (R34): mails are rendered in the buyer's language, queued, and sent over real SMTP.

Delivery claims due messages in a short transaction, talks SMTP holding none, and records
each outcome on its own; failures back off by the shop's clock and give up after a limit.
"""

from __future__ import annotations

import asyncio
import sqlite3
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from alembic import command
from fake_smtp import Collector, HungServer, free_port, running
from jinja2 import ChoiceLoader, FileSystemLoader
from locks import assert_writes_are_not_blocked
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from shop.app import template_environment
from shop.clock import Clock
from shop.db import alembic_config, make_engine, migrate, session_scope
from shop.i18n import Translator
from shop.mail import (
    Attachment,
    DeliveryReport,
    DocumentLink,
    OutboxMessage,
    deliver_due,
    list_outbox,
    parse_smtp_url,
    queue_mail,
    render_mail,
)
from shop.mail.delivery import LEASE, claim_due
from shop.money import Money
from shop.settings import Settings

ROOT = Path(__file__).resolve().parent.parent
NOW = datetime(2025, 4, 1, 9, 0, tzinfo=UTC)
SENDER = "Licence Shop <shop@example.com>"
PDF = b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\n%%EOF\n\x00\xff binary"


@pytest.fixture
def engine(database_url: str) -> Iterator[Engine]:
    """The migrated, empty database of conftest (SQLite and PostgreSQL) as an engine."""
    engine = make_engine(database_url)
    yield engine
    engine.dispose()


def queue(session: Session, to: str = "anna@example.org", **changes: Any) -> OutboxMessage:
    values: dict[str, Any] = {
        "to": to,
        "subject": "Ihre Bestellung für Müller & Söhne",
        "text": "Guten Tag,\n\nvielen Dank für Ihre Bestellung.\n",
        "html": "<p>Guten Tag,</p><p>vielen Dank für Ihre Bestellung.</p>",
        "locale": "de",
        "kind": "order_received",
        "now": NOW,
    }
    return queue_mail(session, **{**values, **changes})


def rows(engine: Engine) -> list[OutboxMessage]:
    with Session(engine) as session:
        return list(session.exec(select(OutboxMessage).order_by(OutboxMessage.id)))


def at(moment: datetime) -> Clock:
    return Clock(ZoneInfo("UTC"), moment)


def deliver(
    engine: Engine, smtp_url: str | None, now: datetime = NOW, **options: Any
) -> DeliveryReport:
    return deliver_due(engine, smtp_url, SENDER, at(now), **options)


def test_queued_mail_arrives_with_text_html_and_pdf(
    engine: Engine, smtp: tuple[str, Collector]
) -> None:
    url, server = smtp
    with session_scope(engine) as session:
        queued = queue(
            session,
            order_number="2025-0001",
            attachment=Attachment("Rechnung 2025-0001.pdf", "application/pdf", PDF),
        )
        assert queued.id is not None and queued.sent_at is None and queued.attempts == 0

    assert deliver(engine, url).sent == 1

    [envelope] = server.envelopes
    assert envelope.rcpt_tos == ["anna@example.org"]
    assert envelope.mail_from == "shop@example.com"
    [received] = server.messages()
    assert received["To"] == "anna@example.org"
    assert received["From"] == SENDER
    assert received["Subject"] == "Ihre Bestellung für Müller & Söhne"
    assert received["Message-ID"] and received["Date"]
    assert received.get_content_type() == "multipart/mixed"
    text = received.get_body(preferencelist=("plain",))
    html = received.get_body(preferencelist=("html",))
    assert text is not None and html is not None
    assert text.get_content() == "Guten Tag,\n\nvielen Dank für Ihre Bestellung.\n"
    assert "<p>vielen Dank für Ihre Bestellung.</p>" in html.get_content()
    [attachment] = list(received.iter_attachments())
    assert attachment.get_content_type() == "application/pdf"
    assert attachment.get_filename() == "Rechnung 2025-0001.pdf"
    assert attachment.get_content() == PDF

    [row] = rows(engine)
    assert row.status == "sent" and row.sent_at == NOW
    assert row.attempts == 1 and row.last_error is None
    assert row.order_number == "2025-0001" and row.attachment == PDF

    assert deliver(engine, url, NOW + timedelta(minutes=5)).sent == 0
    assert len(server.envelopes) == 1


def test_a_linked_document_is_rendered_when_the_mail_is_sent(
    engine: Engine, smtp: tuple[str, Collector]
) -> None:
    url, server = smtp
    with session_scope(engine) as session:
        queue(session, order_number="7", document=DocumentLink("invoice", "Rechnung-7.pdf"))
    drawn: list[tuple[str | None, str | None]] = []

    def documents(message: OutboxMessage) -> Attachment | None:
        drawn.append((message.order_number, message.document_kind))
        return Attachment(message.attachment_name or "", "application/pdf", PDF)

    assert deliver(engine, url, documents=documents).sent == 1

    assert drawn == [("7", "invoice")]
    [attachment] = list(server.messages()[0].iter_attachments())
    assert attachment.get_filename() == "Rechnung-7.pdf"
    assert attachment.get_content() == PDF
    [row] = rows(engine)
    assert row.attachment is None and row.attachment_name == "Rechnung-7.pdf"


def test_a_document_that_cannot_be_made_fails_only_its_own_mail(
    engine: Engine, smtp: tuple[str, Collector]
) -> None:
    url, server = smtp
    with session_scope(engine) as session:
        queue(
            session, to="a@example.org", order_number="7", document=DocumentLink("quote", "Q.pdf")
        )
        queue(session, to="b@example.org")

    def documents(message: OutboxMessage) -> Attachment | None:
        if message.document_kind is not None:
            raise LookupError("order 7 is gone")
        return None

    report = deliver(engine, url, documents=documents)

    assert (report.sent, report.retrying) == (1, 1)
    broken, sent = rows(engine)
    assert broken.status == "pending" and broken.last_error == "LookupError: order 7 is gone"
    assert sent.status == "sent"
    assert [e.rcpt_tos for e in server.envelopes] == [["b@example.org"]]


def test_text_only_mail_is_a_single_plain_part(engine: Engine, smtp: tuple[str, Collector]) -> None:
    url, server = smtp
    with session_scope(engine) as session:
        queue(session, html=None)
    assert deliver(engine, url).sent == 1
    [received] = server.messages()
    assert received.get_content_type() == "text/plain"
    assert received.get_content() == "Guten Tag,\n\nvielen Dank für Ihre Bestellung.\n"


def test_unreachable_server_keeps_the_mail_for_its_retry(
    engine: Engine, smtp: tuple[str, Collector]
) -> None:
    url, server = smtp
    with session_scope(engine) as session:
        queue(session)

    assert deliver(engine, f"smtp://127.0.0.1:{free_port()}").retrying == 1

    [row] = rows(engine)
    assert row.status == "pending" and row.sent_at is None and row.attempts == 1
    assert row.last_error  # e.g. "ConnectionRefusedError: [Errno 111] Connection refused"
    assert row.next_attempt_at == NOW + timedelta(minutes=1)

    # Every later order's delivery leaves it alone until then.
    assert deliver(engine, url, NOW + timedelta(seconds=59)).sent == 0
    assert server.envelopes == []

    later = NOW + timedelta(minutes=1)
    assert deliver(engine, url, later).sent == 1
    [row] = rows(engine)
    assert row.status == "sent" and row.sent_at == later
    assert row.attempts == 2 and row.last_error is None and row.next_attempt_at is None
    assert len(server.envelopes) == 1


def test_failing_deliveries_back_off_and_give_up_after_the_limit(
    engine: Engine, smtp: tuple[str, Collector]
) -> None:
    url, server = smtp
    down = f"smtp://127.0.0.1:{free_port()}"
    with session_scope(engine) as session:
        queue(session)
    waits = [
        timedelta(minutes=1),
        timedelta(minutes=5),
        timedelta(minutes=30),
        timedelta(hours=2),
        timedelta(hours=6),
        timedelta(hours=12),
        timedelta(days=1),
    ]

    now = NOW
    for attempt, wait in enumerate(waits, start=1):
        assert deliver(engine, down, now).retrying == 1
        [row] = rows(engine)
        assert (row.status, row.attempts) == ("pending", attempt)
        assert row.next_attempt_at == now + wait
        assert deliver(engine, down, now + wait - timedelta(seconds=1)).retrying == 0
        now += wait

    assert deliver(engine, down, now).failed == 1  # the eighth attempt is the last
    [row] = rows(engine)
    assert (row.status, row.attempts, row.next_attempt_at) == ("failed", 8, None)
    assert row.last_error and "Connection refused" in row.last_error

    # Given up is given up: not even a working server gets it any more.
    assert deliver(engine, url, now + timedelta(days=30)).sent == 0
    assert server.envelopes == []


def test_a_refused_recipient_does_not_hold_up_the_others(
    engine: Engine, smtp: tuple[str, Collector]
) -> None:
    url, server = smtp
    server.refused.add("gone@example.org")
    with session_scope(engine) as session:
        queue(session, to="gone@example.org")
        queue(session, to="anna@example.org")

    assert deliver(engine, url).sent == 1

    refused, sent = rows(engine)
    assert refused.sent_at is None and refused.attempts == 1
    assert refused.last_error is not None and "550" in refused.last_error
    assert sent.sent_at == NOW and sent.attempts == 1
    assert [e.rcpt_tos for e in server.envelopes] == [["anna@example.org"]]


def test_a_hung_server_holds_no_database_lock(database_url: str, engine: Engine) -> None:
    with session_scope(engine) as session:
        queue(session)
    with HungServer() as hung:
        reports: list[DeliveryReport] = []
        sender = threading.Thread(
            target=lambda: reports.append(deliver(engine, hung.url, timeout=30)), daemon=True
        )
        sender.start()
        try:
            assert hung.connected.wait(timeout=10), "the sender never reached the server"
            # The sender waits for the server's greeting: checkouts can write meanwhile.
            assert sender.is_alive()
            assert_writes_are_not_blocked(database_url)
            [row] = rows(engine)
            assert row.status_at(NOW) == "sending" and row.claimed_until == NOW + LEASE
        finally:
            hung.release()
            sender.join(timeout=10)
    assert [r.retrying for r in reports] == [1]
    [row] = rows(engine)
    assert row.status_at(NOW) == "pending" and row.attempts == 1
    assert row.last_error and "SMTPServerDisconnected" in row.last_error


def test_a_server_that_never_answers_times_out(engine: Engine) -> None:
    with session_scope(engine) as session:
        queue(session)
    with HungServer() as hung:
        report = deliver(engine, hung.url, timeout=0.2)
    assert report.retrying == 1
    [row] = rows(engine)
    assert row.attempts == 1 and row.next_attempt_at == NOW + timedelta(minutes=1)
    assert row.last_error and "timed out" in row.last_error


def test_a_crashed_senders_mail_goes_out_once_its_lease_ends(
    engine: Engine, smtp: tuple[str, Collector]
) -> None:
    url, server = smtp
    with session_scope(engine) as session:
        queue(session)
    [claimed] = claim_due(engine, "crashed-sender", NOW)  # ... and the sender died

    assert deliver(engine, url, NOW + LEASE - timedelta(seconds=1)).sent == 0
    assert server.envelopes == []

    assert deliver(engine, url, NOW + LEASE).sent == 1
    assert deliver(engine, url, NOW + LEASE + timedelta(hours=1)).sent == 0
    [received] = server.messages()
    assert received["Message-ID"].startswith(f"<outbox-{claimed.id}.")
    [row] = rows(engine)
    assert row.status == "sent" and row.attempts == 1


class GatedCollector(Collector):
    """Holds the first mail's DATA until ``go_on`` is set, so a sender stays mid-SMTP."""

    def __init__(self) -> None:
        super().__init__()
        self.first_arrived = threading.Event()
        self.go_on = threading.Event()

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        if not self.first_arrived.is_set():
            self.first_arrived.set()
            await asyncio.get_running_loop().run_in_executor(None, self.go_on.wait, 10)
        return await super().handle_DATA(server, session, envelope)


def test_two_senders_at_once_send_each_mail_once(engine: Engine) -> None:
    with session_scope(engine) as session:
        for n in range(6):
            queue(session, to=f"buyer{n}@example.org")
    collector = GatedCollector()
    with running(collector) as url:
        first: list[DeliveryReport] = []
        sender = threading.Thread(
            target=lambda: first.append(deliver(engine, url, batch=3)), daemon=True
        )
        sender.start()
        try:
            assert collector.first_arrived.wait(timeout=10)
            # The first sender is in the middle of SMTP with three messages claimed.
            second = deliver(engine, url)
        finally:
            collector.go_on.set()
            sender.join(timeout=10)

    assert second.sent == 3 and [r.sent for r in first] == [3]
    ids = [m["Message-ID"] for m in collector.messages()]
    assert len(ids) == len(set(ids)) == 6
    assert sorted(r for e in collector.envelopes for r in e.rcpt_tos) == [
        f"buyer{n}@example.org" for n in range(6)
    ]
    assert all(row.status == "sent" and row.attempts == 1 for row in rows(engine))


class Hands:
    """A clock the test moves by hand."""

    def __init__(self, moment: datetime) -> None:
        self.moment = moment

    def now(self) -> datetime:
        return self.moment


def test_a_sender_hands_back_what_its_lease_may_not_cover(engine: Engine) -> None:
    with session_scope(engine) as session:
        queue(session, to="first@example.org")
        queue(session, to="second@example.org")
    hands = Hands(NOW)

    class SlowCollector(Collector):
        async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
            # The first hand-over took so long that one more could outlast the lease.
            hands.moment = NOW + LEASE - timedelta(minutes=1)
            return await super().handle_DATA(server, session, envelope)

    collector = SlowCollector()
    with running(collector) as url:
        report = deliver_due(engine, url, SENDER, hands, timeout=30)  # type: ignore[arg-type]
        first, second = rows(engine)
        assert report.sent == 1 and first.status == "sent"
        assert (second.status, second.attempts, second.claimed_until) == ("pending", 0, None)

        # Handed back, it is another sender's at once, and goes out once.
        assert deliver(engine, url, hands.moment).sent == 1
    assert [e.rcpt_tos for e in collector.envelopes] == [
        ["first@example.org"],
        ["second@example.org"],
    ]


def test_without_an_smtp_url_mail_stays_in_the_outbox(
    engine: Engine, smtp: tuple[str, Collector]
) -> None:
    _url, server = smtp
    with session_scope(engine) as session:
        queue(session)

    assert deliver(engine, None).sent == 0

    assert server.envelopes == []
    [row] = rows(engine)
    assert row.sent_at is None and row.attempts == 0 and row.last_error is None


def test_upgrading_turns_stored_order_pdfs_into_links(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'old.db'}"
    command.upgrade(alembic_config(url), "0002")  # the outbox as it was, PDFs stored
    old = sqlite3.connect(tmp_path / "old.db")
    columns = "to_address, subject, text_body, locale, kind, order_number, attachment_name,"
    columns += " attachment_mime, attachment, created_at, sent_at, attempts"
    when = "2025-04-01 09:00:00.000000"
    with old:
        old.executemany(
            f"INSERT INTO outbox_message ({columns}) VALUES (?,?,?,?,?,?,?,?,?,?,?,?)",
            [
                ("a@x.org", "s", "t", "de", "order_received", "1", "Rechnung-1.pdf",
                 "application/pdf", PDF, when, when, 1),
                ("b@x.org", "s", "t", "nl", "quote", "2", "Offerte-2.pdf",
                 "application/pdf", PDF, when, None, 3),
                ("c@x.org", "s", "t", "en", "payment_received", "3", None, None, None,
                 when, None, 0),
                ("d@x.org", "s", "t", "en", "login_link", None, "notes.txt", "text/plain", b"n",
                 when, None, 0),
            ],
        )  # fmt: skip
    old.close()

    migrate(url)

    engine = make_engine(url)
    try:
        invoice, quote, plain, other = rows(engine)
    finally:
        engine.dispose()
    assert (invoice.status, invoice.document_kind, invoice.attachment) == ("sent", "invoice", None)
    assert invoice.attachment_name == "Rechnung-1.pdf" and invoice.next_attempt_at is None
    assert (quote.status, quote.document_kind, quote.attachment) == ("pending", "quote", None)
    assert quote.attempts == 3 and quote.next_attempt_at == NOW  # due at once
    assert (plain.status, plain.document_kind, plain.attachment_name) == ("pending", None, None)
    assert (other.document_kind, other.attachment) == (None, b"n")  # not an order's PDF


def test_the_operator_lists_the_outbox_newest_first(engine: Engine) -> None:
    with session_scope(engine) as session:
        for minutes, to in enumerate(["a@example.org", "B@Example.org", "a@example.org"]):
            queue(session, to=to, subject=f"mail {minutes}", now=NOW + timedelta(minutes=minutes))

    with Session(engine) as session:
        assert [m.subject for m in list_outbox(session)] == ["mail 2", "mail 1", "mail 0"]
        assert [m.subject for m in list_outbox(session, limit=2)] == ["mail 2", "mail 1"]
        assert [m.subject for m in list_outbox(session, to="A@example.org")] == [
            "mail 2",
            "mail 0",
        ]
        assert [m.subject for m in list_outbox(session, to="b@example.org")] == ["mail 1"]


def test_buyer_input_cannot_add_mail_headers(engine: Engine) -> None:
    with session_scope(engine) as session:
        with pytest.raises(ValueError):
            queue(session, to="anna@example.org\r\nBcc: all@example.org")
        with pytest.raises(ValueError):
            queue(session, subject="Order\nBcc: all@example.org")
        with pytest.raises(ValueError):  # a document belongs to an order
            queue(session, document=DocumentLink("invoice", "Invoice-1.pdf"))
    with pytest.raises(ValueError):
        Attachment("invoice.pdf", "pdf", PDF)
    with pytest.raises(ValueError):
        DocumentLink("invoice", "Invoice-1.pdf\r\nBcc: all@example.org")


def test_smtp_urls() -> None:
    plain = parse_smtp_url("smtp://mail.example.org")
    assert (plain.host, plain.port, plain.implicit_tls, plain.username) == (
        "mail.example.org",
        25,
        False,
        None,
    )
    assert parse_smtp_url("smtp://127.0.0.1:2525").port == 2525
    secure = parse_smtp_url("smtps://shop%40example.org:p%40ss%3Aword@mail.example.org")
    assert (secure.host, secure.port, secure.implicit_tls) == ("mail.example.org", 465, True)
    assert (secure.username, secure.password) == ("shop@example.org", "p@ss:word")
    assert parse_smtp_url("smtps://mail.example.org:2465").port == 2465
    for wrong in ["http://mail.example.org", "smtp://", "smtp://host:port", "mail.example.org"]:
        with pytest.raises(ValueError):
            parse_smtp_url(wrong)


TEST_TXT = """{% extends "mail/base.txt" %}
{% block subject %}
  {{ _('Catalog') }}: {{ product }}
{% endblock %}
{% block content %}
{{ _('Licences and subscriptions') }}: {{ product }}
{{ t.money(price) }}
{% endblock %}
"""

TEST_HTML = """{% extends "mail/base.html" %}
{% block content %}
<p>{{ _('Licences and subscriptions') }}: {{ product }}</p>
{% endblock %}
"""


@pytest.mark.parametrize(
    ("locale", "catalog", "licences", "price"),
    [
        ("de", "Katalog", "Lizenzen und Abonnements", "1.234,50\xa0€"),
        ("en", "Catalog", "Licences and subscriptions", "€1,234.50"),
    ],
)
def test_mails_are_rendered_in_the_buyers_language(
    tmp_path: Path, locale: str, catalog: str, licences: str, price: str
) -> None:
    (tmp_path / "mail").mkdir()
    (tmp_path / "mail" / "hello.txt").write_text(TEST_TXT)
    (tmp_path / "mail" / "hello.html").write_text(TEST_HTML)
    env = template_environment(Settings(templates_dir=ROOT / "templates"))
    env.loader = ChoiceLoader([FileSystemLoader(tmp_path), FileSystemLoader(ROOT / "templates")])
    t = Translator.for_locale(ROOT / "locales", locale)

    mail = render_mail(
        env,
        "hello",
        t,
        product="Pro <Max> & Co",
        price=Money.of("1234.50", "EUR"),
        shop_name="Licence Shop",
    )

    assert mail.subject == f"{catalog}: Pro <Max> & Co"
    assert mail.text.startswith("Licence Shop\n============\n\n")
    assert f"{licences}: Pro <Max> & Co\n{price}\n" in mail.text
    assert t.gettext("Kind regards") in mail.text
    assert t.gettext("This is an automatic message from %(shop)s.", shop="Licence Shop") in (
        mail.text
    )
    assert "{%" not in mail.text and "\n\n\n" not in mail.text
    assert mail.text.endswith(".\n")
    assert f'<html lang="{locale}">' in mail.html
    assert f"<title>{catalog}: Pro &lt;Max&gt; &amp; Co</title>" in mail.html
    assert f"<p>{licences}: Pro &lt;Max&gt; &amp; Co</p>" in mail.html
    assert "Licence Shop" in mail.html and t.gettext("Kind regards") in mail.html


def test_a_mail_without_a_subject_is_refused(tmp_path: Path) -> None:
    (tmp_path / "mail").mkdir()
    (tmp_path / "mail" / "bare.txt").write_text('{% extends "mail/base.txt" %}')
    (tmp_path / "mail" / "bare.html").write_text('{% extends "mail/base.html" %}')
    env = template_environment(Settings())
    env.loader = ChoiceLoader([FileSystemLoader(tmp_path), FileSystemLoader(ROOT / "templates")])
    with pytest.raises(LookupError):
        render_mail(env, "bare", Translator.for_locale(ROOT / "locales", "en"), shop_name="S")
