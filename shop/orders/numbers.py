"""Gapless order numbers (R8).

The counter row is incremented inside the transaction that uses the number: a rolled-back
checkout gives its number back, and concurrent checkouts queue on the row's lock.
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
    statement = (
        update(NumberSequence)
        .where(col(NumberSequence.name) == name)
        .values(last=col(NumberSequence.last) + 1)
        .returning(col(NumberSequence.last))
    )
    number = session.execute(statement).scalar_one_or_none()
    if number is None:  # the migration creates the row; a hand-made database may lack it
        session.add(NumberSequence(name=name, last=1))
        session.flush()
        return 1
    return int(number)


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
