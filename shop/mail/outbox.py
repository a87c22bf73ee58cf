"""The outbox: every e-mail is stored first and sent later, so a checkout never waits for SMTP.

A mail is written in the same transaction as the order it belongs to; if the order rolls
back, so does its mail. ``deliver_pending`` then sends what is unsent. Without an SMTP
server (``SHOP_SMTP_URL`` unset) the mails simply stay here, readable by the operator.

Delivery is at least once: a message is marked sent in the caller's transaction, so a crash
between the SMTP hand-over and the commit sends it again. Each message carries a Message-ID
derived from its row, so mail clients can recognise such a repeat as the same message.
"""

from __future__ import annotations

import smtplib
import ssl
from dataclasses import dataclass
from datetime import datetime
from email.message import EmailMessage
from email.utils import format_datetime, parseaddr
from urllib.parse import unquote, urlsplit

from sqlalchemy import LargeBinary, Text, func
from sqlmodel import Field, Session, SQLModel, col, select

SMTP_TIMEOUT = 30  # seconds; a hanging server must not block the caller for long
MAX_ERROR_LENGTH = 1000


class OutboxMessage(SQLModel, table=True):
    __tablename__ = "outbox_message"

    id: int | None = Field(default=None, primary_key=True)
    to_address: str = Field(max_length=320)
    subject: str = Field(sa_type=Text)
    text_body: str = Field(sa_type=Text)
    html_body: str | None = Field(default=None, sa_type=Text)
    locale: str = Field(max_length=8)
    kind: str = Field(max_length=50)  # which mail, e.g. "order_received"
    order_number: str | None = Field(default=None, max_length=50, index=True)
    attachment_name: str | None = Field(default=None, max_length=255)
    attachment_mime: str | None = Field(default=None, max_length=100)
    attachment: bytes | None = Field(default=None, sa_type=LargeBinary)
    created_at: datetime
    sent_at: datetime | None = Field(default=None, index=True)
    attempts: int = 0
    last_error: str | None = Field(default=None, sa_type=Text)


@dataclass(frozen=True)
class Attachment:
    """One file sent with a mail, such as an invoice PDF."""

    name: str
    mime: str
    data: bytes

    def __post_init__(self) -> None:
        maintype, slash, subtype = self.mime.partition("/")
        if not (maintype and slash and subtype) or "/" in subtype:
            raise ValueError(f"not a MIME type: {self.mime!r}")
        if not self.name or _has_line_break(self.name):
            raise ValueError(f"not a file name: {self.name!r}")


@dataclass(frozen=True)
class SmtpServer:
    """Where and how to hand mail over, read from ``SHOP_SMTP_URL``."""

    host: str
    port: int
    implicit_tls: bool = False
    username: str | None = None
    password: str | None = None


def _has_line_break(value: str) -> bool:
    return "\r" in value or "\n" in value


def queue_mail(
    session: Session,
    *,
    to: str,
    subject: str,
    text: str,
    html: str | None,
    locale: str,
    kind: str,
    now: datetime,
    order_number: str | None = None,
    attachment: Attachment | None = None,
) -> OutboxMessage:
    """Store a mail for sending; it is sent only if the caller's transaction commits.

    A line break in the address or subject would let a buyer's input add mail headers, so
    it is refused here, where the caller still sees the error.
    """
    if not to or _has_line_break(to):
        raise ValueError(f"not an e-mail address: {to!r}")
    if _has_line_break(subject):
        raise ValueError("a mail subject is one line")
    message = OutboxMessage(
        to_address=to,
        subject=subject,
        text_body=text,
        html_body=html,
        locale=locale,
        kind=kind,
        order_number=order_number,
        attachment_name=attachment.name if attachment else None,
        attachment_mime=attachment.mime if attachment else None,
        attachment=attachment.data if attachment else None,
        created_at=now,
    )
    session.add(message)
    session.flush()
    return message


def parse_smtp_url(url: str) -> SmtpServer:
    """``smtp://[user:password@]host[:port]`` (port 25) or ``smtps://…`` (TLS, port 465).

    With a user name on ``smtp://`` the connection is upgraded by STARTTLS before logging
    in, so a password never crosses the network in the clear. A malformed URL raises
    ValueError: it is a configuration mistake, not a delivery failure.
    """
    parts = urlsplit(url)
    if parts.scheme not in {"smtp", "smtps"}:
        raise ValueError(f"SMTP URL must start with smtp:// or smtps://: {url!r}")
    try:
        port = parts.port
    except ValueError:
        raise ValueError(f"SMTP URL has an invalid port: {url!r}") from None
    if not parts.hostname:
        raise ValueError(f"SMTP URL has no host: {url!r}")
    implicit_tls = parts.scheme == "smtps"
    return SmtpServer(
        host=parts.hostname,
        port=port or (465 if implicit_tls else 25),
        implicit_tls=implicit_tls,
        username=unquote(parts.username) if parts.username else None,
        password=unquote(parts.password) if parts.password is not None else None,
    )


def _message_id(message: OutboxMessage, sender: str) -> str:
    """The same row always gets the same Message-ID, so a repeated send is recognisable."""
    domain = parseaddr(sender)[1].rpartition("@")[2] or "localhost"
    stamp = int(message.created_at.timestamp() * 1_000_000)
    return f"<outbox-{message.id}.{stamp}@{domain}>"


def compose(message: OutboxMessage, sender: str) -> EmailMessage:
    """The MIME message: text, HTML as its alternative, and the attachment if any."""
    email = EmailMessage()
    email["From"] = sender
    email["To"] = message.to_address
    email["Subject"] = message.subject
    email["Date"] = format_datetime(message.created_at)
    email["Message-ID"] = _message_id(message, sender)
    email["Content-Language"] = message.locale
    email.set_content(message.text_body)
    if message.html_body is not None:
        email.add_alternative(message.html_body, subtype="html")
    if message.attachment is not None and message.attachment_mime and message.attachment_name:
        maintype, _, subtype = message.attachment_mime.partition("/")
        email.add_attachment(
            message.attachment, maintype=maintype, subtype=subtype, filename=message.attachment_name
        )
    return email


def _connect(server: SmtpServer) -> smtplib.SMTP:
    context = ssl.create_default_context()
    smtp: smtplib.SMTP
    if server.implicit_tls:
        smtp = smtplib.SMTP_SSL(server.host, server.port, timeout=SMTP_TIMEOUT, context=context)
    else:
        smtp = smtplib.SMTP(server.host, server.port, timeout=SMTP_TIMEOUT)
    try:
        if server.username is not None:
            if not server.implicit_tls:
                smtp.starttls(context=context)
            smtp.login(server.username, server.password or "")
    except BaseException:
        smtp.close()
        raise
    return smtp


def _describe(error: BaseException) -> str:
    return f"{type(error).__name__}: {error}"[:MAX_ERROR_LENGTH]


def _failed(message: OutboxMessage, error: BaseException) -> None:
    message.attempts += 1
    message.last_error = _describe(error)


# Errors that concern one message; the connection stays usable for the next one.
_MESSAGE_ERRORS = (
    smtplib.SMTPRecipientsRefused,
    smtplib.SMTPResponseException,
    smtplib.SMTPNotSupportedError,
    ValueError,  # a header the message cannot carry, e.g. an address it cannot encode
)


def deliver_pending(session: Session, smtp_url: str | None, sender: str, now: datetime) -> int:
    """Send every unsent message over one SMTP connection; returns how many went out.

    Nothing raises for a failed delivery: the message counts the attempt, keeps the error
    for the operator and is tried again next time. When the connection itself fails, every
    message still waiting gets that error. ``FOR UPDATE SKIP LOCKED`` keeps two workers on
    PostgreSQL from sending the same message; SQLite has one writer anyway. Run it in a
    session of its own, after the transaction that queued the mail has committed.
    """
    if smtp_url is None:
        return 0
    server = parse_smtp_url(smtp_url)
    pending = list(
        session.exec(
            select(OutboxMessage)
            .where(col(OutboxMessage.sent_at).is_(None))
            .order_by(col(OutboxMessage.id))
            .with_for_update(skip_locked=True)
        )
    )
    if not pending:
        return 0
    sent = 0
    waiting = list(pending)
    try:
        with _connect(server) as smtp:
            while waiting:
                message = waiting[0]
                try:
                    smtp.send_message(compose(message, sender))
                except _MESSAGE_ERRORS as error:
                    _failed(message, error)
                else:
                    message.sent_at = now
                    message.attempts += 1
                    message.last_error = None
                    sent += 1
                waiting.pop(0)
    except (OSError, smtplib.SMTPException) as error:
        for message in waiting:
            _failed(message, error)
    session.flush()
    return sent


def list_outbox(session: Session, *, to: str | None = None, limit: int = 50) -> list[OutboxMessage]:
    """The newest messages first, for the operator; ``to`` matches regardless of case."""
    query = select(OutboxMessage)
    if to is not None:
        query = query.where(func.lower(col(OutboxMessage.to_address)) == to.lower())
    query = query.order_by(col(OutboxMessage.created_at).desc(), col(OutboxMessage.id).desc())
    return list(session.exec(query.limit(limit)))
