"""E-mail: rendered from templates in the buyer's language, queued in the outbox, sent by SMTP."""

from shop.mail.outbox import (
    Attachment,
    OutboxMessage,
    deliver_pending,
    list_outbox,
    parse_smtp_url,
    queue_mail,
)
from shop.mail.render import RenderedMail, render_mail

__all__ = [
    "Attachment",
    "OutboxMessage",
    "RenderedMail",
    "deliver_pending",
    "list_outbox",
    "parse_smtp_url",
    "queue_mail",
    "render_mail",
]
