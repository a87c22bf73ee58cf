"""E-mail (R34): mails are rendered in the buyer's language, queued, and sent over real SMTP."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from fake_smtp import Collector, free_port
from jinja2 import ChoiceLoader, FileSystemLoader
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from shop.app import template_environment
from shop.db import make_engine, session_scope
from shop.i18n import Translator
from shop.mail import (
    Attachment,
    OutboxMessage,
    deliver_pending,
    list_outbox,
    parse_smtp_url,
    queue_mail,
    render_mail,
)
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


def deliver(engine: Engine, smtp_url: str | None, now: datetime = NOW) -> int:
    with session_scope(engine) as session:
        return deliver_pending(session, smtp_url, SENDER, now)


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

    assert deliver(engine, url) == 1

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
    assert row.sent_at == NOW and row.attempts == 1 and row.last_error is None
    assert row.order_number == "2025-0001" and row.attachment == PDF

    assert deliver(engine, url, NOW + timedelta(minutes=5)) == 0
    assert len(server.envelopes) == 1


def test_text_only_mail_is_a_single_plain_part(engine: Engine, smtp: tuple[str, Collector]) -> None:
    url, server = smtp
    with session_scope(engine) as session:
        queue(session, html=None)
    assert deliver(engine, url) == 1
    [received] = server.messages()
    assert received.get_content_type() == "text/plain"
    assert received.get_content() == "Guten Tag,\n\nvielen Dank für Ihre Bestellung.\n"


def test_unreachable_server_keeps_the_mail_for_a_later_delivery(
    engine: Engine, smtp: tuple[str, Collector]
) -> None:
    url, server = smtp
    with session_scope(engine) as session:
        queue(session)

    assert deliver(engine, f"smtp://127.0.0.1:{free_port()}") == 0

    [row] = rows(engine)
    assert row.sent_at is None and row.attempts == 1
    assert row.last_error  # e.g. "ConnectionRefusedError: [Errno 111] Connection refused"

    later = NOW + timedelta(hours=1)
    assert deliver(engine, url, later) == 1
    [row] = rows(engine)
    assert row.sent_at == later and row.attempts == 2 and row.last_error is None
    assert len(server.envelopes) == 1


def test_a_refused_recipient_does_not_hold_up_the_others(
    engine: Engine, smtp: tuple[str, Collector]
) -> None:
    url, server = smtp
    server.refused.add("gone@example.org")
    with session_scope(engine) as session:
        queue(session, to="gone@example.org")
        queue(session, to="anna@example.org")

    assert deliver(engine, url) == 1

    refused, sent = rows(engine)
    assert refused.sent_at is None and refused.attempts == 1
    assert refused.last_error is not None and "550" in refused.last_error
    assert sent.sent_at == NOW and sent.attempts == 1
    assert [e.rcpt_tos for e in server.envelopes] == [["anna@example.org"]]


# SQLite has a single writer: there a second worker simply waits for the first.
@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
def test_two_workers_never_send_the_same_mail(engine: Engine, smtp: tuple[str, Collector]) -> None:
    url, server = smtp
    with session_scope(engine) as session:
        queue(session)

    with session_scope(engine) as first:
        assert deliver_pending(first, url, SENDER, NOW) == 1
        # The first worker has not committed yet; its rows are locked and skipped.
        assert deliver(engine, url) == 0

    assert len(server.envelopes) == 1
    assert deliver(engine, url) == 0


def test_without_an_smtp_url_mail_stays_in_the_outbox(
    engine: Engine, smtp: tuple[str, Collector]
) -> None:
    _url, server = smtp
    with session_scope(engine) as session:
        queue(session)

    assert deliver(engine, None) == 0

    assert server.envelopes == []
    [row] = rows(engine)
    assert row.sent_at is None and row.attempts == 0 and row.last_error is None


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
    with pytest.raises(ValueError):
        Attachment("invoice.pdf", "pdf", PDF)


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
