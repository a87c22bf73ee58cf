"""Gapless numbers (R8): the order's own number, and one series per kind of document.

Every order has its own ``number`` (the API's, the operator's and the providers' handle).
Quotes and invoices are numbered in series of their own, so an expired quote leaves no
hole among the invoices: a quote takes its quote number when saved; an order placed to be
paid takes its invoice number at once, a quote when it is accepted or paid. An invoice
keeps its number when the order is cancelled or expires: it is then printed as cancelled.
Credit notes (``shop.orders.credit_notes``) have a series the same way, a counter row of
their own.

A counter row is incremented inside the transaction that uses the number: a rolled-back
checkout gives its number back, and concurrent checkouts queue on the row's lock. A batch
of renewals takes all its numbers in one increment, late in its transaction, so the row
is held only while the batch writes its orders. Whoever takes more than one counter takes
the order counter first, so two transactions never wait on each other's rows.
"""

from __future__ import annotations

import secrets
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import update
from sqlmodel import Session, col

from shop.orders.models import NumberSequence, Order, OrderStatus

ORDER_NUMBERS = "order"
QUOTE_NUMBERS = "quote"
INVOICE_NUMBERS = "invoice"
CREDIT_NOTE_NUMBERS = "credit_note"

# How a document's number is printed (PDF, pages, mails); the series stay plain integers.
PREFIXES = {QUOTE_NUMBERS: "Q-", INVOICE_NUMBERS: "INV-", CREDIT_NOTE_NUMBERS: "CN-"}


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
    """A new order with the next gapless number (R8), a private token and nothing paid; a
    quote gets the next quote number, an order placed to be paid the next invoice number."""
    order = Order(
        number=next_number(session),
        token=secrets.token_urlsafe(24),
        paid_amount=Decimal(0),
        **fields,
    )
    if order.status == OrderStatus.QUOTE:
        order.quote_number = next_number(session, QUOTE_NUMBERS)
    else:
        issue_invoice_number(session, order, order.created_at)
    session.add(order)
    session.flush()
    return order


def issue_invoice_number(session: Session, order: Order, now: datetime) -> None:
    """Give ``order`` the next invoice number, dated ``now``, unless it has one: a quote
    when it is accepted or paid, whichever comes first (R8)."""
    if order.invoice_number is None:
        order.invoice_number = next_number(session, INVOICE_NUMBERS)
        order.invoice_issued_at = now
        session.add(order)


def printed_number(series: str, number: int) -> str:
    """``Q-17``, ``INV-42``: a document number as printed."""
    return f"{PREFIXES[series]}{number}"


def quote_reference(order: Order) -> str | None:
    return printed_number(QUOTE_NUMBERS, order.quote_number) if order.quote_number else None


def invoice_reference(order: Order) -> str | None:
    if order.invoice_number is None:
        return None
    return printed_number(INVOICE_NUMBERS, order.invoice_number)
