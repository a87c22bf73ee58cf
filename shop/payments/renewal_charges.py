"""Renewals paid by a saved card, charged off-session by the job, crash-safe (R21).

One order at a time: a short transaction claims it (``FOR UPDATE SKIP LOCKED``) and
records the attempt, when and with which idempotency key, and commits; the provider is
asked with no transaction open (on SQLite a transaction holds the only write lock; the
shop must not wait on a provider); a second short transaction records the outcome
(``charged``, ``declined``; ``not_charged`` when the method cannot charge by itself).

A runner killed between the two leaves an attempt without an outcome. Every run starts
by reconciling those, as Kill Bill's janitor does: the provider is asked what it holds for
the order (Stripe: the customer's PaymentIntents with the order number in their metadata),
and the outcome recorded; when it holds nothing, nothing was charged and the attempt is
resumed under the same key (so a runner still charging it meanwhile gets the same
PaymentIntent, never a second charge). An attempt whose outcome is unknown (no answer,
``processing``) stays open and its order is never invoiced: the invoice step only takes
renewals with no charge to come (see ``shop.orders.models.AWAITS_NO_CHARGE``). A declined
charge mails the buyer the invoice with the reason.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, replace
from functools import partial

from sqlalchemy import text
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from shop.jobs.retry import BusyRetry
from shop.orders.models import CHARGE_UNSETTLED, Order, OrderKind, OrderStatus
from shop.orders.notifications import notify
from shop.orders.payments import payment_request
from shop.payments.methods import (
    ChargeResult,
    OnlineMethod,
    PaymentRequest,
    ProviderUnavailable,
    ReconcilesCharges,
    failure_reason,
)
from shop.payments.received import Context, apply_provider_payment, lock_order
from shop.settings import Settings
from shop.subscriptions.models import Subscription

log = logging.getLogger("shop.payments")

CHARGED, DECLINED, NOT_CHARGED = "charged", "declined", "not_charged"
RECONCILE_BATCH = 50


@dataclass
class ChargeReport:
    charged: int = 0
    failed: int = 0
    reconciled: int = 0  # attempts of a dead runner whose outcome was found and recorded
    unsettled: int = 0  # attempts whose outcome is still unknown (asked again next run)


@dataclass(frozen=True)
class Charge:
    """One renewal to charge, read while claiming it."""

    method: OnlineMethod
    request: PaymentRequest
    customer: str
    saved_method: str
    settings: Settings


@dataclass(frozen=True)
class Claimed:
    order_id: int
    charge: Charge | None  # None: its method cannot charge by itself (invoiced instead)


def charge_renewals(
    engine: Engine,
    context_for: Callable[[Session], Context],
    on_batch: Callable[[int], None] = lambda done: None,
    *,
    retry: BusyRetry | None = None,
    report: ChargeReport | None = None,
) -> ChargeReport:
    """Charge every claimable renewal once, one order at a time; a transaction that meets
    a busy database is rolled back and done again (``retry``)."""
    transaction = retry or BusyRetry(engine)
    report = report or ChargeReport()
    after = 0
    while True:
        claimed = transaction(partial(claim_one, context_for=context_for, after=after))
        if claimed is None:
            return report
        after = claimed.order_id
        if claimed.charge is not None:
            charge = claimed.charge
            result = charge.method.charge_renewal(
                charge.request, charge.customer, charge.saved_method, charge.settings
            )
            settle(transaction, context_for, charge, result, report)
        on_batch(1)


def claim_one(
    session: Session, context_for: Callable[[Session], Context], after: int
) -> Claimed | None:
    """Claim the next renewal to charge beyond ``after`` and record the attempt."""
    statement = (
        select(Order)
        .join(Subscription, col(Subscription.id) == col(Order.subscription_id))
        .where(
            Order.kind == OrderKind.RENEWAL,
            Order.status == OrderStatus.PENDING,
            col(Order.charge_attempted_at).is_(None),
            col(Order.invoiced_at).is_(None),
            col(Subscription.saved_method).is_not(None),
            col(Order.id) > after,
        )
        .order_by(col(Order.id))
        .limit(1)
        .with_for_update(skip_locked=True, of=Order)
    )
    order = session.exec(statement).first()
    if order is None:
        return None
    context = context_for(session)
    charge = charge_of(session, context, order)
    order.charge_attempted_at = context.now
    order.charge_key = charge.request.idempotency_key if charge else None
    if charge is None:
        order.charge_outcome = NOT_CHARGED
    session.add(order)
    return Claimed(order.id or 0, charge)


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
    key = order.charge_key or f"renewal-{order.token}"
    request = replace(request, idempotency_key=key)
    return Charge(
        method,
        request,
        subscription.saved_customer,
        subscription.saved_method,
        context.settings,
    )


def settle(
    transaction: BusyRetry,
    context_for: Callable[[Session], Context],
    charge: Charge,
    result: ChargeResult,
    report: ChargeReport,
) -> str | None:
    """Record ``result`` in a transaction of its own; the outcome recorded, if any."""
    if not result.decided:
        report.unsettled += 1
        log.warning(
            "renewal order %s: charge outcome unknown, asked again next run",
            charge.request.order_number,
        )
        return None
    outcome = transaction(partial(record_outcome, context_for, charge, result))
    report.charged += outcome == CHARGED
    report.failed += outcome == DECLINED
    return outcome


def record_outcome(
    context_for: Callable[[Session], Context],
    charge: Charge,
    result: ChargeResult,
    session: Session,
) -> str | None:
    """Apply what the provider answered, once: an attempt already settled (by a runner
    reconciling it meanwhile) is left as it is. Returns the outcome recorded."""
    order = lock_order(session, charge.request.order_number)
    if order is None or order.charge_outcome is not None:
        return None
    context = context_for(session)
    if result.payment is not None:
        order.charge_outcome = CHARGED
        session.add(order)
        apply_provider_payment(
            session, context, charge.method.code, result.payment, "renewal charge"
        )
        return CHARGED
    order.charge_outcome = DECLINED
    session.add(order)
    if order.status == OrderStatus.PENDING:
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
    return DECLINED


def record_nothing_charged(session: Session, order_number: int) -> str | None:
    """The provider holds no charge for an order that no longer waits for one."""
    order = lock_order(session, order_number)
    if order is None or order.charge_outcome is not None:
        return None
    order.charge_outcome = NOT_CHARGED
    session.add(order)
    return NOT_CHARGED


def unsettled_batch(
    session: Session, context_for: Callable[[Session], Context], after: int, limit: int
) -> list[tuple[int, int, bool, Charge | None]]:
    """Attempts without an outcome beyond ``after``: (id, number, whether it may still be
    charged, charge). An order no longer pending, or invoiced, is never charged now."""
    orders = session.exec(
        select(Order)
        .where(text(CHARGE_UNSETTLED), col(Order.id) > after)
        .order_by(col(Order.id))
        .limit(limit)
    ).all()
    if not orders:
        return []
    context = context_for(session)
    return [
        (
            o.id or 0,
            o.number,
            o.status == OrderStatus.PENDING and o.invoiced_at is None,
            charge_of(session, context, o),
        )
        for o in orders
    ]


def reconcile_charges(
    engine: Engine,
    context_for: Callable[[Session], Context],
    *,
    retry: BusyRetry | None = None,
    report: ChargeReport | None = None,
) -> ChargeReport:
    """Find what became of every attempt whose outcome was never recorded and record it,
    before anything is invoiced: the provider's word, or the attempt resumed."""
    transaction = retry or BusyRetry(engine)
    report = report or ChargeReport()
    after = 0
    while True:
        batch = transaction(
            partial(unsettled_batch, context_for=context_for, after=after, limit=RECONCILE_BATCH)
        )
        if not batch:
            return report
        after = batch[-1][0]
        for _, number, chargeable, charge in batch:
            if charge is None:
                report.unsettled += 1  # its method is gone: it cannot be asked (kept open)
                log.warning("renewal order %s: charge unsettled, method unavailable", number)
                continue
            settings = charge.settings
            try:
                found = (
                    charge.method.find_renewal_charge(charge.request, charge.customer, settings)
                    if isinstance(charge.method, ReconcilesCharges)
                    else None
                )
            except ProviderUnavailable:
                report.unsettled += 1
                continue
            if found is None and not chargeable:
                if transaction(partial(record_nothing_charged, order_number=number)):
                    report.reconciled += 1
                continue
            if found is None:  # nothing was charged: resume the attempt under its key
                found = charge.method.charge_renewal(
                    charge.request, charge.customer, charge.saved_method, settings
                )
            if settle(transaction, context_for, charge, found, report) is not None:
                report.reconciled += 1
