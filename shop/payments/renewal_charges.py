"""Renewals paid by a saved card, charged off-session by the job (R21).

Each renewal order is charged at most once by the shop: the claim marks
``charge_attempted_at`` under a ``SKIP LOCKED`` row lock, and the provider is given an
idempotency key per order, so a worker that dies after charging and is run again gets the
provider's first answer back instead of a second charge. A declined charge leaves the order
unpaid (the subscription stays on hold) and mails the buyer the invoice with the reason.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from shop.db import session_scope
from shop.orders.models import Order, OrderKind, OrderStatus
from shop.orders.notifications import notify
from shop.orders.payments import payment_request
from shop.payments.methods import OnlineMethod, failure_reason
from shop.payments.received import APPLIED, Context, apply_provider_payment
from shop.subscriptions.models import Subscription

BATCH = 25


@dataclass
class ChargeReport:
    charged: int = 0
    failed: int = 0


def claim(session: Session) -> list[Order]:
    """Unpaid renewal orders of subscriptions with a saved card, never charged before."""
    statement = (
        select(Order)
        .join(Subscription, col(Subscription.id) == col(Order.subscription_id))
        .where(
            Order.kind == OrderKind.RENEWAL,
            Order.status == OrderStatus.PENDING,
            col(Order.charge_attempted_at).is_(None),
            col(Subscription.saved_method).is_not(None),
        )
        .order_by(col(Order.id))
        .limit(BATCH)
        .with_for_update(skip_locked=True, of=Order)
    )
    return list(session.exec(statement))


def charge_renewals(engine: Engine, context_for: Callable[[Session], Context]) -> ChargeReport:
    """Charge every claimable renewal once; committed one batch at a time."""
    report = ChargeReport()
    while True:
        with session_scope(engine) as session:
            orders = claim(session)
            if not orders:
                return report
            context = context_for(session)
            for order in orders:
                order.charge_attempted_at = context.now
                session.add(order)
                charge_one(session, context, order, report)


def charge_one(session: Session, context: Context, order: Order, report: ChargeReport) -> None:
    subscription = session.get(Subscription, order.subscription_id)
    method = context.enabled.payment_methods.get(order.payment_method)
    if (
        subscription is None
        or not subscription.saved_customer
        or not subscription.saved_method
        or not isinstance(method, OnlineMethod)
        or not method.can_charge_renewals
    ):
        return  # the invoice mail asks for payment instead
    request = payment_request(order, context.settings.public_url)
    result = method.charge_renewal(
        request, subscription.saved_customer, subscription.saved_method, context.settings
    )
    if result.payment is not None:
        outcome = apply_provider_payment(
            session, context, order.payment_method, result.payment, "renewal charge"
        )
        if outcome == APPLIED:
            report.charged += 1
        return
    report.failed += 1
    code = result.failure.code if result.failure else "unknown"
    notify(
        session,
        context.templates,
        context.enabled,
        context.settings,
        order,
        context.now,
        template="renewal_charge_failed",
        reason=failure_reason(code),
    )
