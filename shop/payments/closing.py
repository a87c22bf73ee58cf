"""An order that closed unpaid (cancelled, superseded, expired) has its card or PayPal
payment cancelled at the provider, so the buyer can no longer pay it there.

Provider calls run with no transaction open: right after the cancel's commit
(``after_commit`` of the cancel routes), and as a step of every `shop jobs run`, which
finds every closed order whose payment is still open (orders expired by the job, a
cancel whose provider call failed). A payment that arrives anyway is kept on record and
the order flagged for the operator (``paid_after_close``, see ``record_payment``).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from datetime import datetime
from functools import partial

from sqlalchemy import text, update
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from shop.jobs.retry import BusyRetry
from shop.orders.models import PROVIDER_PAYMENT_OPEN, Order
from shop.payments.methods import CancelsPayments, PaymentMethod
from shop.settings import Settings

log = logging.getLogger("shop.payments")
ORDERS = Order.__table__  # type: ignore[attr-defined]
BATCH = 50

Open = tuple[int, str]  # an order's id and its provider payment ("card:pi_…")


def open_payments(session: Session, after: int, limit: int, token: str | None = None) -> list[Open]:
    statement = (
        select(col(Order.id), col(Order.provider_payment))
        .where(text(PROVIDER_PAYMENT_OPEN), col(Order.id) > after)
        .order_by(col(Order.id))
        .limit(limit)
    )
    if token is not None:
        statement = statement.where(col(Order.token) == token)
    return [(i or 0, str(p)) for i, p in session.exec(statement).all()]


def cancel_at_provider(
    methods: Mapping[str, PaymentMethod], settings: Settings, provider_payment: str
) -> bool:
    """Cancel one provider payment; True once nothing is left open."""
    code, _, opened = provider_payment.partition(":")
    method = methods.get(code)
    if not isinstance(method, CancelsPayments):
        # Nothing to cancel: e.g. a PayPal order is only taken when the shop captures
        # it, which it never does for a closed order.
        return True
    return method.cancel_payment(opened, settings)


def mark_closed(session: Session, order_id: int, provider_payment: str, now: datetime) -> None:
    session.execute(
        update(ORDERS)
        .where(ORDERS.c.id == order_id, ORDERS.c.provider_payment == provider_payment)
        .values(provider_payment_closed_at=now)
    )


def close_provider_payments(
    engine: Engine,
    methods: Mapping[str, PaymentMethod],
    settings: Settings,
    now: datetime,
    *,
    retry: BusyRetry | None = None,
    token: str | None = None,
) -> int:
    """Cancel the open provider payment of every closed order (or of the one with
    ``token``); how many were cancelled."""
    transaction = retry or BusyRetry(engine)
    cancelled, after = 0, 0
    while True:
        batch = transaction(partial(open_payments, after=after, limit=BATCH, token=token))
        if not batch:
            return cancelled
        after = batch[-1][0]
        for order_id, provider_payment in batch:
            if cancel_at_provider(methods, settings, provider_payment):
                transaction(
                    partial(
                        mark_closed, order_id=order_id, provider_payment=provider_payment, now=now
                    )
                )
                cancelled += 1
            else:
                log.warning(
                    "could not cancel %s yet; the next job run tries again", provider_payment
                )


def close_after_cancel(
    engine: Engine,
    methods: Mapping[str, PaymentMethod],
    settings: Settings,
    now: datetime,
    token: str,
) -> None:
    """After a cancel's commit: its payment cancelled at once, errors left to the job."""
    try:
        close_provider_payments(engine, methods, settings, now, token=token)
    except Exception:  # the buyer's cancel stands; `shop jobs run` cancels it later
        log.exception("cancelling the provider payment of order %s failed", token)
