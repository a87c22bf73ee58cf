"""Money the providers confirm, applied once however often it is reported (R13).

A card or PayPal payment reaches the shop up to three ways: the provider's webhook, the
buyer's return to the shop (checked server-side with the provider) and, for renewals, the
answer to an off-session charge. Each names the provider's id of the money; the payment
table holds that id under a unique index, and every webhook is stored by its event id.
The order's row is locked first, so two reports of one payment arriving at once queue up
behind each other and the second finds the first.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import date, datetime

from jinja2 import Environment
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, select

from shop.db import reader, session_scope
from shop.orders.amounts import amount_problem
from shop.orders.models import Order, Payment, ProviderEvent
from shop.orders.notifications import notify
from shop.orders.payments import PAID_AFTER_CLOSE, PAID_TWICE, excess_reason, record_payment
from shop.payments.methods import ProviderPayment, WebhookEvent
from shop.plugins.manager import EnabledPlugins
from shop.settings import Settings
from shop.subscriptions.models import Subscription

log = logging.getLogger("shop.payments")

APPLIED = "applied"
DUPLICATE = "duplicate"


@dataclass(frozen=True)
class Context:
    """What applying a payment needs besides the database."""

    enabled: EnabledPlugins
    settings: Settings
    templates: Environment
    now: datetime
    today: date


def lock_order(session: Session, number: int | None) -> Order | None:
    if number is None:
        return None
    statement = select(Order).where(Order.number == number).with_for_update()
    return session.exec(statement).first()


def apply_provider_payment(
    session: Session, context: Context, method: str, payment: ProviderPayment, source: str
) -> str:
    """Record ``payment`` on its order unless it already is; say what happened.

    Outcomes: applied, duplicate, unknown_order, currency_mismatch, invalid_amount and
    absurd_amount (nothing recorded: a verified event the shop cannot use), paid_twice and
    paid_after_close (the money kept on record and the order flagged for the operator,
    nothing activated). An overpaid order is applied and flagged ``overpaid``."""
    order = lock_order(session, payment.order_number)
    if order is None:
        return "unknown_order"
    reference = f"{method}:{payment.reference}"
    seen = select(Payment).where(Payment.provider_reference == reference)
    if (known := session.exec(seen).first()) is not None:
        # The same money reported again; a later report may still carry the kept card
        # (charge.succeeded can arrive before payment_intent.succeeded) or the card shown.
        save_for_renewals(session, order, method, payment)
        if known.detail is None and payment.detail:
            known.detail = dict(payment.detail)
            session.add(known)
        return DUPLICATE
    if payment.amount.currency != order.currency:
        return "currency_mismatch"  # R13: only the order's currency counts
    amount = payment.amount.amount
    if (problem := amount_problem(amount, order.currency, order.total)) is not None:
        log.warning("order %s: %s %s from %s refused", order.number, problem, amount, source)
        return problem
    was, late = order.status, excess_reason(order, amount)
    record_payment(
        session,
        context.enabled,
        context.settings,
        order,
        amount=amount,
        currency=payment.amount.currency,
        method=method,
        reference=payment.reference,
        recorded_by=source[:100],
        now=context.now,
        today=context.today,
        provider_reference=reference,
        detail=dict(payment.detail) if payment.detail else None,
        accept_overpayment=True,  # the provider has the money already: keep it on record
    )
    if late in (PAID_TWICE, PAID_AFTER_CLOSE):
        log.warning("order %s: %s by %s, flagged for the operator", order.number, late, source)
        return late
    save_for_renewals(session, order, method, payment)
    if order.status != was:
        notify(session, context.templates, context.enabled, context.settings, order, context.now)
    return APPLIED


def save_for_renewals(
    session: Session, order: Order, method: str, payment: ProviderPayment
) -> None:
    """Keep the card the buyer agreed to keep, so renewals charge it (R21)."""
    if order.subscription_id is None or not payment.saved_method:
        return
    subscription = session.get(Subscription, order.subscription_id)
    if subscription is None:
        return
    subscription.payment_method = method
    subscription.saved_customer = payment.saved_customer
    subscription.saved_method = payment.saved_method
    session.add(subscription)


def apply_once(
    engine: Engine, context: Context, method: str, payment: ProviderPayment, source: str
) -> str:
    """``apply_provider_payment`` in its own transaction; a concurrent twin is a duplicate."""
    try:
        with session_scope(engine) as session:
            return apply_provider_payment(session, context, method, payment, source)
    except IntegrityError:
        return DUPLICATE  # the unique provider reference caught a report applied meanwhile


def receive_event(
    engine: Engine, context: Context, provider: str, method: str, event: WebhookEvent
) -> str:
    """Store a verified webhook once and apply what it reports; say what happened."""
    known = select(ProviderEvent.id).where(
        ProviderEvent.provider == provider, ProviderEvent.event_id == event.event_id
    )
    # Providers deliver again and again: a repeat is told apart without the write lock.
    with session_scope(reader(engine)) as session:
        seen = session.exec(known).first() is not None
    if seen:
        log.info("%s webhook %s (%s): %s", provider, event.event_id, event.type, DUPLICATE)
        return DUPLICATE
    try:
        with session_scope(engine) as session:
            if session.exec(known).first() is not None:
                outcome = DUPLICATE
            else:
                outcome = _apply_event(session, context, method, event)
                number = event.payment.order_number if event.payment else None
                if event.failure:
                    number = event.failure.order_number
                session.add(
                    ProviderEvent(
                        provider=provider,
                        event_id=event.event_id,
                        type=event.type[:100],
                        order_number=number,
                        outcome=outcome,
                        received_at=context.now,
                    )
                )
    except IntegrityError:
        outcome = DUPLICATE  # the same event, delivered twice at once, stored by the other
    log.info("%s webhook %s (%s): %s", provider, event.event_id, event.type, outcome)
    return outcome


def _apply_event(session: Session, context: Context, method: str, event: WebhookEvent) -> str:
    if event.malformed:
        return "malformed"  # verified, but nothing in it the shop can apply
    if event.payment is not None:
        source = f"webhook {event.event_id}"
        return apply_provider_payment(session, context, method, event.payment, source)
    if event.failure is not None:
        # The buyer sees a declined checkout on the page; a declined renewal is mailed by
        # the job that charged it. Kept here for the operator.
        return "payment_failed"
    return "ignored"
