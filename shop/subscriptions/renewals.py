"""Renewals at term end (R20, R21): scheduled downgrades applied, a renewal order at current
prices, on-hold until paid, expired after the grace period; pending cancellations end.

Safe with several workers: each batch is claimed with ``FOR UPDATE SKIP LOCKED`` on
PostgreSQL (SQLite has a single writer), and a unique index allows one renewal order per
term. A worker killed mid-batch loses only its open transaction; the next run redoes it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from sqlalchemy import String, cast
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from shop.catalog.rates import current_rates
from shop.db import session_scope
from shop.licences.models import Licence, LicenceStatus
from shop.mail.outbox import OutboxMessage
from shop.orders.models import Order, OrderKind, OrderLine, OrderStatus
from shop.orders.notifications import RENEWAL_INVOICE
from shop.orders.numbers import open_order
from shop.plugins.manager import EnabledPlugins
from shop.subscriptions.models import Subscription, SubscriptionStatus
from shop.subscriptions.service import items_dict, price_of, record_event, set_status

BATCH = 25
RENEWING = (SubscriptionStatus.ACTIVE, SubscriptionStatus.PENDING_CANCEL)


@dataclass
class RenewalReport:
    renewed: int = 0
    cancelled: int = 0
    expired: int = 0
    orders: list[int] = field(default_factory=list)  # numbers of the renewal orders created


def due(session: Session, today: date, limit: int) -> list[Subscription]:
    """Claim up to ``limit`` subscriptions whose term has ended, skipping ones another
    worker holds."""
    statement = (
        select(Subscription)
        .where(col(Subscription.status).in_(RENEWING), col(Subscription.term_end) <= today)
        .order_by(col(Subscription.id))
        .limit(limit)
        .with_for_update(skip_locked=True)
    )
    return list(session.exec(statement))


def count_due(session: Session, today: date) -> int:
    statement = select(Subscription.id).where(
        col(Subscription.status).in_(RENEWING), col(Subscription.term_end) <= today
    )
    return len(session.exec(statement).all())


def renew(
    session: Session,
    enabled: EnabledPlugins,
    subscription: Subscription,
    now: datetime,
    report: RenewalReport,
) -> Order | None:
    """End or renew one subscription whose term is over."""
    assert subscription.term_end is not None and subscription.id is not None
    if subscription.status == SubscriptionStatus.PENDING_CANCEL:
        set_status(
            session,
            subscription,
            SubscriptionStatus.CANCELLED,
            "job",
            "cancelled by the customer; the paid term has ended",
            now,
        )
        report.cancelled += 1
        return None
    if subscription.scheduled_items is not None:  # R20: the downgrade applies now
        subscription.items = subscription.scheduled_items
        subscription.scheduled_items = None
        record_event(
            session,
            subscription,
            "renewal",
            subscription.status,
            f"scheduled downgrade applied: {items_dict(subscription.items)}",
            now,
        )
    quantities = items_dict(subscription.items)
    rates = current_rates(session)
    total = price_of(enabled, subscription, quantities, rates)
    order = open_order(
        session,
        status=OrderStatus.PENDING,
        kind=OrderKind.RENEWAL,
        email=subscription.email,
        name=subscription.email,
        country=subscription.country,
        locale=subscription.locale,
        currency=subscription.currency,
        total=total.amount,
        payment_method=subscription.payment_method,
        licence_id=subscription.licence_id,
        subscription_id=subscription.id,
        renewal_term_start=subscription.term_end,
        created_at=now,
    )
    for position, (sku, quantity) in enumerate(quantities.items()):
        product = enabled.products[sku]
        unit = price_of(enabled, subscription, {sku: 1}, rates).amount
        session.add(
            OrderLine(
                order_id=order.id,  # type: ignore[arg-type]
                position=position,
                sku=sku,
                name=product.name,
                kind=product.kind.value,
                quantity=quantity,
                unit_price=unit,
                total=price_of(enabled, subscription, {sku: quantity}, rates).amount,
                billing_period_months=product.months_per_charge,
            )
        )
    subscription.recurring_total = total.amount
    subscription.on_hold_since = now
    set_status(
        session,
        subscription,
        SubscriptionStatus.ON_HOLD,
        "renewal",
        f"renewal order {order.number} awaiting payment",
        now,
    )
    report.renewed += 1
    report.orders.append(order.number)
    return order


def expire_unpaid(session: Session, now: datetime, grace: timedelta) -> int:
    """On hold for longer than the grace period: the subscription and licence expire (R21)."""
    late = session.exec(
        select(Subscription)
        .where(
            Subscription.status == SubscriptionStatus.ON_HOLD,
            col(Subscription.on_hold_since) < now - grace,
        )
        .with_for_update(skip_locked=True)
    ).all()
    for subscription in late:
        set_status(
            session,
            subscription,
            SubscriptionStatus.EXPIRED,
            "job",
            f"renewal unpaid after {grace.days} days",
            now,
        )
        licence = session.get(Licence, subscription.licence_id)
        if licence is not None:
            licence.status = LicenceStatus.EXPIRED
            licence.updated_at = now
            session.add(licence)
        for order in session.exec(
            select(Order).where(
                Order.subscription_id == subscription.id,
                Order.kind == OrderKind.RENEWAL,
                Order.status == OrderStatus.PENDING,
            )
        ):
            order.status = OrderStatus.EXPIRED
            order.closed_at = now
            session.add(order)
    return len(late)


def run_renewals(
    engine: Engine,
    enabled_for: Callable[[Session], EnabledPlugins],
    today: date,
    now: datetime,
    grace: timedelta,
    on_batch: Callable[[int], None] = lambda done: None,
) -> RenewalReport:
    """Renew everything due, one committed batch at a time, then expire the unpaid.

    Batches stay short: they hold the gapless order counter (R8) until they commit, so the
    invoice mails (with their PDFs) are written afterwards by ``invoice_renewals``."""
    report = RenewalReport()
    while True:
        with session_scope(engine) as session:
            batch = due(session, today, BATCH)
            if not batch:
                break
            enabled = enabled_for(session)
            for subscription in batch:
                renew(session, enabled, subscription, now, report)
        on_batch(len(batch))
    with session_scope(engine) as session:
        report.expired = expire_unpaid(session, now, grace)
    return report


def invoice_renewals(engine: Engine, send: Callable[[Session, Order], None]) -> int:
    """Queue the invoice mail of every unpaid renewal order that has none yet.

    Safe to rerun and to run in parallel: orders are claimed with SKIP LOCKED, and the
    outbox is checked again once the order's lock is held, because on PostgreSQL the claim
    query's snapshot may predate another runner's committed invoice for the same order.
    A runner killed between renewing and invoicing leaves work that the next run finishes."""
    invoiced = select(OutboxMessage.order_number).where(
        OutboxMessage.kind == RENEWAL_INVOICE, col(OutboxMessage.order_number).is_not(None)
    )
    sent = 0
    while True:
        with session_scope(engine) as session:
            orders = session.exec(
                select(Order)
                .where(
                    Order.kind == OrderKind.RENEWAL,
                    Order.status == OrderStatus.PENDING,
                    cast(col(Order.number), String).not_in(invoiced),
                )
                .order_by(col(Order.id))
                .limit(BATCH)
                .with_for_update(skip_locked=True)
            ).all()
            for order in orders:
                mine = invoiced.where(OutboxMessage.order_number == str(order.number))
                if session.exec(mine).first() is None:
                    send(session, order)
                    sent += 1
        if len(orders) < BATCH:
            return sent
