"""Quotes an operator must accept before they can be paid: co-terming (R27).

A maintenance renewal that asks to align its date with another licence is saved as a
quote with a ``review_reason``. Until an operator decides (``reviewed_at``), it takes no
payment and no card or PayPal payment is opened for it.
"""

from __future__ import annotations

from sqlmodel import Session, col, select

from shop.orders.models import Order, OrderStatus


def awaiting_review(order: Order) -> bool:
    return (
        order.status == OrderStatus.QUOTE
        and order.review_reason is not None
        and order.reviewed_at is None
    )


def waiting_for_review(session: Session, limit: int = 500) -> list[Order]:
    """Flagged quotes no operator has decided on yet, oldest first."""
    statement = (
        select(Order)
        .where(
            Order.status == OrderStatus.QUOTE,
            col(Order.review_reason).is_not(None),
            col(Order.reviewed_at).is_(None),
        )
        .order_by(col(Order.created_at), col(Order.id))
        .limit(limit)
    )
    return list(session.exec(statement))
