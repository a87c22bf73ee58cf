"""Issued invoices are locked (GoBD, §14 UStG): once an order has its invoice number, what
the invoice says never changes; a correction or cancellation is a credit note
(``shop.orders.credit_notes``).

One guard for every write through a Session: a ``before_flush`` listener on the Session
class refuses to change or delete an issued invoice's fields or lines, or a credit note;
a ``do_orm_execute`` listener refuses the same done by a bulk UPDATE or DELETE.
What is not on the invoice (status, payments, paid amount, provider references, payment
and closing times, flags) still changes. An invoice is issued when the transaction that
numbered it commits: until then (checkout writes the order, then its lines and total) it
may still be composed.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Delete, Update, event, inspect, select
from sqlalchemy.orm import ORMExecuteState, Session
from sqlmodel import col

from shop.catalog.products import N_
from shop.errors import ShopError
from shop.orders.billing import INVOICE_PARTY
from shop.orders.models import CreditNote, Order, OrderLine

# The fields an invoice prints or is computed from.
LOCKED_ORDER_FIELDS = frozenset(
    {
        *INVOICE_PARTY,
        "invoice_number",
        "invoice_issued_at",
        "number",
        "kind",
        "total",
        "exchange_rate",
        "exchange_margin",
        "quote_number",
    }
)
LOCKED_LINE_FIELDS = frozenset(
    {
        "order_id",
        "position",
        "sku",
        "name",
        "kind",
        "quantity",
        "unit_price",
        "total",
        "billing_period_months",
        "detail",
    }
)


class InvoiceLocked(ShopError):
    """A change to an issued invoice, or to a credit note: refused, 409 ``invoice_locked``."""

    def __init__(self, invoice_number: int | None, what: str) -> None:
        super().__init__(
            409,
            "invoice_locked",
            N_(
                "Invoice %(number)s has been issued and cannot be changed any more; "
                "a correction is made by a credit note."
            ),
            number=f"INV-{invoice_number}" if invoice_number is not None else "",
        )
        self.what = what  # for the log: which field or row


OPEN = "shop_invoices_in_composition"  # session.info: numbered in this transaction
# session.info: orders whose retention period is over, released for erasure in this transaction
RELEASED = "shop_invoices_past_retention"


def release_for_erasure(session: Session, order: Order) -> None:
    """Let this transaction erase ``order``'s invoice data: the only change an invoice takes,
    once its retention period is over (the caller checks ``retention.may_erase``)."""
    session.info.setdefault(RELEASED, set()).add(order.id)


def _released(session: Session, order: Order) -> bool:
    return order.id is not None and order.id in session.info.get(RELEASED, ())


def _composing(session: Session) -> list[Order]:
    value = session.info.setdefault(OPEN, [])
    assert isinstance(value, list)
    return value


def _issued_number(session: Session, order: Order) -> int | None:
    """The invoice number ``order`` had before this transaction (None: not issued yet)."""
    if any(open_order is order for open_order in _composing(session)) or _released(session, order):
        return None
    history = inspect(order).attrs.invoice_number.history
    if history.deleted:
        return history.deleted[0]  # type: ignore[no-any-return]
    if history.unchanged:
        return history.unchanged[0]  # type: ignore[no-any-return]
    if history.added:
        return None  # set in this session, not written yet: issued by this flush
    if order.id is None:
        return None
    with session.no_autoflush:  # not loaded (expired): as the database has it
        stored = session.execute(
            select(col(Order.invoice_number)).where(col(Order.id) == order.id)
        ).scalar_one_or_none()
    return stored


def _changed(obj: object, fields: frozenset[str]) -> str | None:
    state = inspect(obj)
    for name in fields:
        if state.attrs[name].history.has_changes():
            return name
    return None


def _order_of(session: Session, line: OrderLine) -> Order | None:
    history = inspect(line).attrs.order_id.history
    order_id = (history.deleted or history.unchanged or [line.order_id])[0]
    if order_id is None:
        return None
    with session.no_autoflush:
        return session.get(Order, order_id)


def check_flush(session: Session, flush_context: Any, instances: Any) -> None:
    """Refuse (``InvoiceLocked``) a flush that would change an issued invoice."""
    composing = _composing(session)
    for obj in (*session.new, *session.dirty):
        numbered = isinstance(obj, Order) and inspect(obj).attrs.invoice_number.history.added
        if numbered and not any(known is obj for known in composing):
            assert isinstance(obj, Order)
            if obj in session.new or _issued_number(session, obj) is None:
                composing.append(obj)
    for obj in session.dirty:
        if isinstance(obj, Order) and session.is_modified(obj):
            field = _changed(obj, LOCKED_ORDER_FIELDS)
            if field is not None:
                issued = _issued_number(session, obj)
                if issued is not None:
                    raise InvoiceLocked(issued, field)
        elif isinstance(obj, OrderLine) and session.is_modified(obj):
            field = _changed(obj, LOCKED_LINE_FIELDS)
            if field is not None:
                _check_line(session, obj, field)
        elif isinstance(obj, CreditNote) and session.is_modified(obj):
            raise InvoiceLocked(None, "credit_note")
    for obj in session.deleted:
        if isinstance(obj, Order):
            issued = _issued_number(session, obj)
            if issued is not None:
                raise InvoiceLocked(issued, "order")
        elif isinstance(obj, OrderLine):
            _check_line(session, obj, "line")
        elif isinstance(obj, CreditNote):
            raise InvoiceLocked(None, "credit_note")
    for obj in session.new:
        if isinstance(obj, OrderLine):
            _check_line(session, obj, "line")


def _check_line(session: Session, line: OrderLine, what: str) -> None:
    order = _order_of(session, line)
    if order is None:
        return
    issued = _issued_number(session, order)
    if issued is not None:
        raise InvoiceLocked(issued, what)


def _set_columns(statement: Update, parameters: Any) -> set[str]:
    """The columns an UPDATE sets: by ``.values()``, or by its executemany parameters."""
    keys: list[Any] = list(getattr(statement, "_values", None) or {})
    keys += [key for key, _ in getattr(statement, "_ordered_values", None) or ()]
    for row in parameters if isinstance(parameters, list) else [parameters or {}]:
        keys += list(row) if isinstance(row, dict) else []
    return {str(getattr(key, "key", None) or getattr(key, "name", None) or key) for key in keys}


def check_bulk(state: ORMExecuteState) -> None:
    """Refuse a bulk UPDATE of an invoice's fields, or a bulk DELETE, that reaches an issued
    invoice (its order, its lines) or a credit note."""
    statement = state.statement
    if not isinstance(statement, Update | Delete):
        return
    name = getattr(statement.table, "name", None)
    orders = Order.__table__  # type: ignore[attr-defined]
    lines = OrderLine.__table__  # type: ignore[attr-defined]
    if name == CreditNote.__tablename__:
        raise InvoiceLocked(None, "credit_note")
    if name not in (orders.name, lines.name):
        return
    if isinstance(statement, Update):
        locked = LOCKED_ORDER_FIELDS if name == orders.name else LOCKED_LINE_FIELDS
        if not _set_columns(statement, state.parameters) & locked:
            return
    issued = orders.c.invoice_number.is_not(None)
    if name == orders.name:
        reached = select(orders.c.invoice_number).where(issued)
    else:
        reached = select(orders.c.invoice_number).join(lines, lines.c.order_id == orders.c.id)
        reached = reached.where(issued)
    if statement.whereclause is not None:
        reached = reached.where(statement.whereclause)
    with state.session.no_autoflush:
        number = state.session.execute(reached.limit(1)).scalar()
    if number is not None:
        raise InvoiceLocked(number, "bulk")


def end_composition(session: Session, transaction: Any) -> None:
    """Committed or rolled back: the invoices numbered in it are issued, or gone."""
    if transaction.parent is None:
        session.info.pop(OPEN, None)
        session.info.pop(RELEASED, None)


def install() -> None:
    """Register the guard once, for every Session (idempotent)."""
    if not event.contains(Session, "before_flush", check_flush):
        event.listen(Session, "before_flush", check_flush)
        event.listen(Session, "after_transaction_end", end_composition)
        event.listen(Session, "do_orm_execute", check_bulk)


install()
