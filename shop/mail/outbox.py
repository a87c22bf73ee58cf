"""The outbox: every e-mail is stored first and sent later, so a checkout never waits for SMTP.

A mail is written in the same transaction as the order it belongs to; if the order rolls
back, so does its mail. ``shop.mail.delivery`` then sends what is due. Without an SMTP
server (``SHOP_SMTP_URL`` unset) the mails simply stay here, readable by the operator.

An order's quote or invoice is not stored with its mail: the row names the document
(``order_number`` and ``document_kind``) and it is rendered from the order when the mail
is sent, so 10,000 renewal invoices do not keep 10,000 copies of a PDF. Other files
travel as an ``Attachment`` whose bytes are stored.

Each message carries a Message-ID derived from its row, so when a message is sent twice
(delivery is at least once) mail clients can recognise the repeat as the same message.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from email.message import EmailMessage
from email.utils import format_datetime, parseaddr
from enum import StrEnum
from urllib.parse import unquote, urlsplit

from sqlalchemy import Index, LargeBinary, Text, func
from sqlmodel import Field, Session, SQLModel, col, select


class MailStatus(StrEnum):
    PENDING = "pending"  # waiting for its next attempt (or taken by a sender right now)
    SENT = "sent"
    FAILED = "failed"  # given up after too many attempts; the operator has a look


class OutboxMessage(SQLModel, table=True):
    __tablename__ = "outbox_message"
    # What a sender asks for: the pending messages whose next attempt is due.
    __table_args__ = (Index("ix_outbox_message_due", "status", "next_attempt_at"),)

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
    # The order's document rendered at sending: "quote" or "invoice" of ``order_number``,
    # or its "credit_note" numbered ``document_number`` (an order may have several).
    document_kind: str | None = Field(default=None, max_length=16)
    document_number: int | None = None
    created_at: datetime
    status: str = Field(
        default=MailStatus.PENDING, max_length=16, sa_column_kwargs={"server_default": "pending"}
    )
    next_attempt_at: datetime | None = None  # pending: when it is due; None once done
    # A sender's claim: until then no other sender takes the message (a lease, so a
    # crashed sender's messages fall due again).
    claimed_until: datetime | None = None
    claimed_by: str | None = Field(default=None, max_length=64)
    sent_at: datetime | None = Field(default=None, index=True)
    attempts: int = 0
    last_error: str | None = Field(default=None, sa_type=Text)

    def status_at(self, now: datetime) -> str:
        """pending, sending (a sender holds it), sent or failed, for the operator."""
        if self.status == MailStatus.PENDING and self.claimed_until and self.claimed_until > now:
            return "sending"
        return self.status


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
class DocumentLink:
    """An order's quote, invoice or credit note, attached when the mail is sent (rendered
    then)."""

    kind: str  # "quote", "invoice" or "credit_note"
    name: str  # the file name the buyer sees
    mime: str = "application/pdf"
    number: int | None = None  # which credit note: its number in the series

    def __post_init__(self) -> None:
        Attachment(self.name, self.mime, b"")  # the same rules as a stored attachment


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


# session.info: a mail queued deep inside an action (a credit note's) asks the request to
# deliver after its response, as a route does by marking itself (``mail_queued``).
SEND_SOON = "shop_mail_send_soon"


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
    document: DocumentLink | None = None,
) -> OutboxMessage:
    """Store a mail for sending; it is sent only if the caller's transaction commits.

    ``document`` attaches the order's quote or invoice, rendered when the mail is sent.
    A line break in the address or subject would let a buyer's input add mail headers, so
    it is refused here, where the caller still sees the error.
    """
    if not to or _has_line_break(to):
        raise ValueError(f"not an e-mail address: {to!r}")
    if _has_line_break(subject):
        raise ValueError("a mail subject is one line")
    if document is not None and (attachment is not None or order_number is None):
        raise ValueError("a document is the one attachment of an order's mail")
    file: Attachment | DocumentLink | None = attachment or document
    message = OutboxMessage(
        to_address=to,
        subject=subject,
        text_body=text,
        html_body=html,
        locale=locale,
        kind=kind,
        order_number=order_number,
        attachment_name=file.name if file else None,
        attachment_mime=file.mime if file else None,
        attachment=attachment.data if attachment else None,
        document_kind=document.kind if document else None,
        document_number=document.number if document else None,
        created_at=now,
        next_attempt_at=now,
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


def _stored_attachment(message: OutboxMessage) -> Attachment | None:
    if message.attachment is None or not message.attachment_name or not message.attachment_mime:
        return None
    return Attachment(message.attachment_name, message.attachment_mime, message.attachment)


def compose(
    message: OutboxMessage, sender: str, document: Attachment | None = None
) -> EmailMessage:
    """The MIME message: text, HTML as its alternative, and the attachment if any: the
    stored one, or ``document``, the rendered file the row links to."""
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
    document = document or _stored_attachment(message)
    if document is not None:
        maintype, _, subtype = document.mime.partition("/")
        email.add_attachment(
            document.data, maintype=maintype, subtype=subtype, filename=document.name
        )
    return email


def list_outbox(session: Session, *, to: str | None = None, limit: int = 50) -> list[OutboxMessage]:
    """The newest messages first, for the operator; ``to`` matches regardless of case."""
    query = select(OutboxMessage)
    if to is not None:
        query = query.where(func.lower(col(OutboxMessage.to_address)) == to.lower())
    query = query.order_by(col(OutboxMessage.created_at).desc(), col(OutboxMessage.id).desc())
    return list(session.exec(query.limit(limit)))
