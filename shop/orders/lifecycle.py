"""Orders that end unpaid: cancelled by buyer or operator, or expired by `shop jobs run`."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlmodel import Session, col, select

from shop.catalog.products import N_
from shop.errors import ShopError
from shop.licences.models import Licence, LicenceStatus
from shop.licences.service import release_for_order
from shop.orders.credit_notes import on_close
from shop.orders.models import Order, OrderStatus


def cancel_order(session: Session, order: Order, now: datetime) -> Order:
    """Cancel an unpaid order or quote; its e-mail is free again (R1). Paid ones stay (R10)."""
    if order.status not in (OrderStatus.PENDING, OrderStatus.QUOTE):
        raise ShopError(409, "order_not_cancellable", N_("Only unpaid orders can be cancelled."))
    _close(session, order, OrderStatus.CANCELLED, now)
    return order


def _close(session: Session, order: Order, status: OrderStatus, now: datetime) -> None:
    release_for_order(session, order)
    order.status = status
    order.closed_at = now
    order.expires_at = None
    session.add(order)
    on_close(session, order, status, now)  # an issued invoice is cancelled by a credit note
    session.flush()


@dataclass(frozen=True)
class ExpiryReport:
    quotes: int
    orders: int
    trials: int


def expire_due(session: Session, now: datetime) -> ExpiryReport:
    """Quotes past 30 days, unpaid orders past 30 days, trials past their end."""
    quotes = session.exec(
        select(Order).where(Order.status == OrderStatus.QUOTE, col(Order.valid_until) < now)
    ).all()
    for order in quotes:
        _close(session, order, OrderStatus.EXPIRED, now)
    unpaid = session.exec(
        select(Order).where(Order.status == OrderStatus.PENDING, col(Order.expires_at) < now)
    ).all()
    for order in unpaid:
        _close(session, order, OrderStatus.EXPIRED, now)
    trials = session.exec(
        select(Licence).where(
            Licence.status == LicenceStatus.TRIAL, col(Licence.trial_ends_at) < now
        )
    ).all()
    for licence in trials:
        licence.status = LicenceStatus.EXPIRED
        licence.updated_at = now
        session.add(licence)
    session.flush()
    return ExpiryReport(len(quotes), len(unpaid), len(trials))
