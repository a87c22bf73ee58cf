"""The e-mails of an order, in the buyer's language (R34): queued in the outbox, sent by SMTP
after the transaction commits (or kept for the operator when no SMTP is configured)."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

from jinja2 import Environment
from sqlalchemy.engine import Engine
from sqlmodel import Session

from shop.clock import Clock
from shop.i18n import Translator
from shop.licences.models import Licence
from shop.mail import DeliveryReport, DocumentLink, deliver_due, queue_mail, render_mail
from shop.money import Money
from shop.orders.attention import NOTHING_APPLIED, REASONS
from shop.orders.documents import document_filename, document_kind, mail_documents
from shop.orders.models import Order, OrderStatus
from shop.orders.payments import order_lines, start_payment
from shop.plugins.manager import EnabledPlugins, Plugins
from shop.settings import Settings

RENEWAL_INVOICE = "renewal_due"  # the outbox kind of a renewal's invoice mail
PAYMENT_KEPT = "payment_kept"  # paid, flagged for the operator, nothing applied


def order_url(settings: Settings, order: Order) -> str:
    return f"{settings.public_url}/{order.locale}/orders/{order.token}"


def notify(
    session: Session,
    env: Environment,
    enabled: EnabledPlugins,
    settings: Settings,
    order: Order,
    now: datetime,
    *,
    template: str | None = None,
    **extra: Any,
) -> None:
    """Queue the mail that fits the order's state: quote, order received, payment received.

    ``template`` picks another mail of the same kind (a declined renewal charge is still
    the renewal's invoice), with ``extra`` for its text. The quote or invoice goes with it
    as a link to the order, rendered when the mail is sent: no PDF is drawn here, inside
    the caller's transaction."""
    t = Translator.for_locale(settings.locales_dir, order.locale)
    start = start_payment(order, enabled, settings, t, online=False)
    licence = session.get(Licence, order.licence_id) if order.licence_id else None
    kind = {
        OrderStatus.QUOTE: "quote",
        OrderStatus.PENDING: "order_received",
        OrderStatus.PAID: "payment_received",
    }.get(OrderStatus(order.status))
    if kind is None:
        return
    if kind == "order_received" and order.kind == "renewal":
        kind = RENEWAL_INVOICE
    if kind == "payment_received" and order.needs_action in NOTHING_APPLIED:
        # Paid, but kept without being applied: the buyer is told why, not given a key.
        kind, extra = PAYMENT_KEPT, {"reason": REASONS[order.needs_action], **extra}
    context: dict[str, Any] = {
        "order": order,
        "lines": order_lines(session, order),
        "instructions": start.instructions if start else (),
        "licence": licence,
        "order_url": order_url(settings, order),
        "shop_name": settings.shop_name,
        "money": lambda amount: Money.of(Decimal(amount), order.currency),
        **extra,
    }
    mail = render_mail(env, template or kind, t, **context)
    document = None
    if kind in ("quote", "order_received", RENEWAL_INVOICE):
        document = DocumentLink(document_kind(order), document_filename(order, t))
    queue_mail(
        session,
        to=order.email,
        subject=mail.subject,
        text=mail.text,
        html=mail.html,
        locale=order.locale,
        kind=kind,
        now=now,
        order_number=str(order.number),
        document=document,
    )


def send_due_mail(
    engine: Engine,
    plugins: Plugins,
    settings: Settings,
    clock: Clock,
    *,
    batches: int | None = None,
) -> DeliveryReport:
    """Send the outbox's due mails over SMTP, each order's quote or invoice rendered as it
    goes (nothing without ``SHOP_SMTP_URL``). Call it outside any transaction."""
    return deliver_due(
        engine,
        settings.smtp_url,
        settings.mail_from,
        clock,
        documents=mail_documents(engine, plugins, settings),
        timeout=settings.smtp_timeout,
        batches=batches,
    )
