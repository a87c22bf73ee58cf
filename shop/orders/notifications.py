"""The e-mails of an order, in the buyer's language (R34): queued in the outbox, sent by SMTP
after the transaction commits (or kept for the operator when no SMTP is configured)."""

from __future__ import annotations

from collections.abc import Sequence
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
from shop.mail.outbox import SEND_SOON
from shop.money import Money
from shop.orders.attention import NOTHING_APPLIED, REASONS
from shop.orders.consents import statements_of
from shop.orders.credit_notes import announce_credit_notes, credit_note_reference, reason_text
from shop.orders.documents import (
    CREDIT_NOTE,
    credit_note_filename,
    document_filename,
    document_kind,
    mail_documents,
)
from shop.orders.models import CreditNote, Order, OrderStatus
from shop.orders.numbers import invoice_reference, quote_reference
from shop.orders.payments import order_lines, payments_of, start_payment
from shop.orders.review import awaiting_review
from shop.plugins.manager import EnabledPlugins, Plugins
from shop.settings import Settings
from shop.subscriptions.models import Subscription

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
    t = Translator.for_settings(settings, order.locale)
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
        "payments": payments_of(session, order),  # named by method (line_text.payment_label)
        "instructions": start.instructions if start else (),
        "licence": licence,
        "order_url": order_url(settings, order),
        # R8: each document's number from its own series, as printed on the PDF.
        "quote_number": quote_reference(order),
        "invoice_number": invoice_reference(order),
        "under_review": awaiting_review(order),
        "statements": statements_of(session, order),  # §356(5) BGB, on a durable medium
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


SUBSCRIPTION_CANCELLED = "subscription_cancelled"  # the outbox kind of the confirmation


def notify_cancelled(
    env: Environment,
    session: Session,
    installed: EnabledPlugins,
    settings: Settings,
    subscription: Subscription,
    name: str,
    now: datetime,
) -> None:
    """Confirm a cancellation to the subscriber in their language (R10, R34): until when
    the paid term runs, and that nothing renews. ``installed`` names the products, even of
    a line the operator has disabled since."""
    t = Translator.for_settings(settings, subscription.locale)
    ends_on = subscription.term_end if subscription.status == "pending-cancel" else None
    products = [
        f"{item['quantity']} × {t.gettext(installed.products[item['sku']].name)}"
        if item["sku"] in installed.products
        else f"{item['quantity']} × {item['sku']}"
        for item in subscription.items
    ]
    mail = render_mail(
        env,
        SUBSCRIPTION_CANCELLED,
        t,
        name=name,
        ends_on=ends_on,
        products=products,
        page_url=f"{settings.public_url}/{subscription.locale}/subscriptions/{subscription.token}",
        shop_name=settings.shop_name,
    )
    queue_mail(
        session,
        to=subscription.email,
        subject=mail.subject,
        text=mail.text,
        html=mail.html,
        locale=subscription.locale,
        kind=SUBSCRIPTION_CANCELLED,
        now=now,
    )


def notify_review(
    session: Session,
    env: Environment,
    enabled: EnabledPlugins,
    settings: Settings,
    order: Order,
    now: datetime,
) -> None:
    """Tell the buyer the operator's decision on their flagged quote (R27), in their
    language: accepted (with the quote as now priced, to pay), or rejected."""
    if order.status == OrderStatus.QUOTE:
        notify(session, env, enabled, settings, order, now, template="review_accepted")
        return
    t = Translator.for_settings(settings, order.locale)
    mail = render_mail(
        env,
        "review_rejected",
        t,
        order=order,
        quote_number=quote_reference(order) or str(order.number),
        order_url=order_url(settings, order),
        shop_name=settings.shop_name,
    )
    queue_mail(
        session,
        to=order.email,
        subject=mail.subject,
        text=mail.text,
        html=mail.html,
        locale=order.locale,
        kind="review_rejected",
        now=now,
        order_number=str(order.number),
    )


CREDIT_NOTE_MAIL = "credit_note"  # the outbox kind of a credit note's mail


def notify_credit_notes(
    session: Session,
    env: Environment,
    settings: Settings,
    issued: Sequence[tuple[CreditNote, Order]],
    now: datetime,
) -> None:
    """Send each buyer their credit note, in the order's language: which invoice it cancels,
    the amount and why. Queued in the transaction that issues it, the PDF linked and drawn
    when the mail is sent, as for ``notify``."""
    for note, order in issued:
        t = Translator.for_settings(settings, order.locale)
        mail = render_mail(
            env,
            CREDIT_NOTE_MAIL,
            t,
            order=order,
            credit_note_number=credit_note_reference(note),
            invoice_number=invoice_reference(order) or str(order.number),
            amount=Money.of(note.amount, note.currency),
            reason=t.gettext(reason_text(note)),
            order_url=order_url(settings, order),
            shop_name=settings.shop_name,
        )
        queue_mail(
            session,
            to=order.email,
            subject=mail.subject,
            text=mail.text,
            html=mail.html,
            locale=order.locale,
            kind=CREDIT_NOTE_MAIL,
            now=now,
            order_number=str(order.number),
            document=DocumentLink(CREDIT_NOTE, credit_note_filename(note, t), number=note.number),
        )
    if issued:
        session.info[SEND_SOON] = True


def mail_credit_notes(engine: Engine, env: Environment, settings: Settings) -> None:
    """Bind ``engine``: every credit note issued through it is mailed to the buyer."""

    def announce(
        session: Session, issued: Sequence[tuple[CreditNote, Order]], now: datetime
    ) -> None:
        notify_credit_notes(session, env, settings, issued, now)

    announce_credit_notes(engine, announce)


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
