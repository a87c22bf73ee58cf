"""Renewals paid by a saved card, charged off-session by the job (R21).

Each renewal order is charged at most once by the shop: the claim marks
``charge_attempted_at`` under a ``SKIP LOCKED`` row lock and commits, and the provider is
given an idempotency key per order. The provider is asked with no transaction open (on
SQLite a transaction holds the only write lock; the shop must not wait on a provider), and
the answer is recorded in a transaction of its own. A worker that dies in between leaves
the money to the provider's webhook, or, if it died before charging, the order to the
invoice mail. A declined charge leaves the order unpaid (the subscription stays on hold)
and mails the buyer the invoice with the reason.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import partial

from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from shop.jobs.retry import BusyRetry
from shop.orders.models import Order, OrderKind, OrderStatus
from shop.orders.notifications import notify
from shop.orders.payments import payment_request
from shop.payments.methods import ChargeResult, OnlineMethod, PaymentRequest, failure_reason
from shop.payments.received import APPLIED, DUPLICATE, Context, apply_provider_payment, lock_order
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


@dataclass(frozen=True)
class Charge:
    """One renewal to charge, read while claiming it."""

    method: OnlineMethod
    request: PaymentRequest
    customer: str
    saved_method: str


def charge_renewals(
    engine: Engine,
    context_for: Callable[[Session], Context],
    on_batch: Callable[[int], None] = lambda done: None,
    *,
    retry: BusyRetry | None = None,
) -> ChargeReport:
    """Charge every claimable renewal once, a claimed batch at a time; a transaction that
    meets a busy database is rolled back and done again (``retry``)."""
    transaction = retry or BusyRetry(engine)
    report = ChargeReport()
    while True:
        context, claimed, charges = transaction(lambda session: claim_charges(session, context_for))
        if not claimed:
            return report
        for charge in charges:
            result = charge.method.charge_renewal(
                charge.request, charge.customer, charge.saved_method, context.settings
            )
            # Counted once the answer is recorded: a retried transaction counts once.
            report.charged += transaction(partial(record_result, context_for, charge, result))
            report.failed += result.payment is None
        on_batch(claimed)


def claim_charges(
    session: Session, context_for: Callable[[Session], Context]
) -> tuple[Context, int, list[Charge]]:
    """Claim a batch, mark it attempted, and say what charging each order takes."""
    orders = claim(session)
    context = context_for(session)
    charges = []
    for order in orders:
        order.charge_attempted_at = context.now
        session.add(order)
        if (charge := charge_of(session, context, order)) is not None:
            charges.append(charge)
    return context, len(orders), charges


def charge_of(session: Session, context: Context, order: Order) -> Charge | None:
    """What charging ``order`` takes, or None when its method cannot charge by itself
    (the invoice mail then asks for payment)."""
    subscription = session.get(Subscription, order.subscription_id)
    method = context.enabled.payment_methods.get(order.payment_method)
    if (
        subscription is None
        or not subscription.saved_customer
        or not subscription.saved_method
        or not isinstance(method, OnlineMethod)
        or not method.can_charge_renewals
    ):
        return None
    request = payment_request(order, context.settings.public_url)
    return Charge(method, request, subscription.saved_customer, subscription.saved_method)


def record_result(
    context_for: Callable[[Session], Context],
    charge: Charge,
    result: ChargeResult,
    session: Session,
) -> bool:
    """Apply what the provider answered; True when it paid the renewal."""
    context = context_for(session)
    if result.payment is not None:
        method = charge.method.code
        outcome = apply_provider_payment(session, context, method, result.payment, "renewal charge")
        return outcome in (APPLIED, DUPLICATE)  # DUPLICATE: its webhook was quicker
    order = lock_order(session, charge.request.order_number)
    if order is None or order.status != OrderStatus.PENDING:
        return False
    notify(
        session,
        context.templates,
        context.enabled,
        context.settings,
        order,
        context.now,
        template="renewal_charge_failed",
        reason=failure_reason(result.failure.code if result.failure else "unknown"),
    )
    return False
