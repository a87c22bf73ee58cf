"""E-mail: rendered from templates in the buyer's language, queued in the outbox, sent by SMTP."""

from shop.mail.delivery import DeliveryReport, Documents, deliver_due
from shop.mail.outbox import (
    Attachment,
    DocumentLink,
    MailStatus,
    OutboxMessage,
    list_outbox,
    parse_smtp_url,
    queue_mail,
)
from shop.mail.render import RenderedMail, render_mail

__all__ = [
    "Attachment",
    "DeliveryReport",
    "DocumentLink",
    "Documents",
    "MailStatus",
    "OutboxMessage",
    "RenderedMail",
    "deliver_due",
    "list_outbox",
    "parse_smtp_url",
    "queue_mail",
    "render_mail",
]
