"""Gapless order numbers (R8).

The counter row is incremented inside the transaction that uses the number: a rolled-back
checkout gives its number back, and concurrent checkouts queue on the row's lock. A batch
of renewals takes all its numbers in one increment, late in its transaction, so the row
is held only while the batch writes its orders.
"""

from __future__ import annotations

import secrets
from decimal import Decimal
from typing import Any

from sqlalchemy import update
from sqlmodel import Session, col

from shop.orders.models import NumberSequence, Order

ORDER_NUMBERS = "order"


def next_number(session: Session, name: str = ORDER_NUMBERS) -> int:
    return next_numbers(session, 1, name)[0]


def next_numbers(session: Session, count: int, name: str = ORDER_NUMBERS) -> range:
    """The next ``count`` numbers, in one increment of the counter row; the caller must use
    every one of them in this transaction (R8: no gaps)."""
    if count < 1:
        raise ValueError(f"cannot take {count} numbers")
    statement = (
        update(NumberSequence)
        .where(col(NumberSequence.name) == name)
        .values(last=col(NumberSequence.last) + count)
        .returning(col(NumberSequence.last))
    )
    last = session.execute(statement).scalar_one_or_none()
    if last is None:  # the migration creates the row; a hand-made database may lack it
        session.add(NumberSequence(name=name, last=count))
        session.flush()
        last = count
    return range(int(last) - count + 1, int(last) + 1)


def open_order(session: Session, **fields: Any) -> Order:
    """A new order with the next gapless number (R8), a private token and nothing paid."""
    order = Order(
        number=next_number(session),
        token=secrets.token_urlsafe(24),
        paid_amount=Decimal(0),
        **fields,
    )
    session.add(order)
    session.flush()
    return order
