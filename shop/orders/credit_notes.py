"""Credit notes (GoBD): the only way an issued invoice is corrected or cancelled.

An issued invoice never changes (``shop.orders.invoice_lock``). When an order with an
invoice number is cancelled or expires, a credit note cancelling the whole invoice is
issued in the same transaction; an operator may issue one for a paid invoice (a full
correction, with a reason). Credit notes have their own gapless series (R8, ``CN-<n>``)
and are kept as long as the invoice (``shop.orders.retention``).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from datetime import datetime
from decimal import Decimal
from weakref import WeakKeyDictionary

from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from shop.catalog.products import N_
from shop.errors import ShopError
from shop.orders.models import CreditNote, Order, OrderStatus
from shop.orders.numbers import CREDIT_NOTE_NUMBERS, next_numbers, printed_number
from shop.orders.retention import retained_until

# Reasons the shop writes itself, as message ids (translated where shown); an operator's
# reason is stored as typed.
CANCELLED = "order_cancelled"
EXPIRED = "order_expired"
REASONS = {
    CANCELLED: N_("The order was cancelled."),
    EXPIRED: N_("The order was cancelled as it stayed unpaid."),
}
REASON_LENGTH = 500

# Tells the buyer of credit notes just issued (queues their mails in the same transaction).
Announce = Callable[[Session, Sequence[tuple[CreditNote, Order]], datetime], None]
# Credit notes are issued deep in many paths (cancellation, expiry, renewals, back office),
# none of which holds the mail templates: the app and the job runner bind theirs to the
# engine their sessions use. A session on an unbound engine issues credit notes unmailed.
_ANNOUNCERS: WeakKeyDictionary[Engine, Announce] = WeakKeyDictionary()


def announce_credit_notes(engine: Engine, announce: Announce) -> None:
    """Bind ``engine``: each credit note issued through it is announced by ``announce``."""
    _ANNOUNCERS[engine] = announce


def credit_note_reference(note: CreditNote) -> str:
    """``CN-7``: the credit note's number as printed."""
    return printed_number(CREDIT_NOTE_NUMBERS, note.number)


def reason_text(note: CreditNote) -> str:
    """The reason as a message id for the shop's own, as typed for an operator's."""
    return REASONS.get(note.reason, note.reason)


def credit_notes_of(session: Session, order: Order) -> Sequence[CreditNote]:
    """The order's credit notes, oldest first."""
    if order.id is None:
        return ()
    return session.exec(
        select(CreditNote).where(CreditNote.order_id == order.id).order_by(col(CreditNote.number))
    ).all()


def credit_in_full(
    session: Session, orders: Iterable[Order], reason: str, now: datetime, seller_country: str
) -> list[CreditNote]:
    """A credit note cancelling what is left of each order's invoice, numbered in one
    increment of the series (R8); orders without an invoice, or credited in full already,
    get none."""
    invoiced = [o for o in orders if o.invoice_number is not None and o.id is not None]
    if not invoiced:
        return []
    # What was credited so far, for all of them in one query (a renewal batch is large).
    earlier: dict[int, Decimal] = {}
    for order_id, amount in session.exec(
        select(col(CreditNote.order_id), col(CreditNote.amount)).where(
            col(CreditNote.order_id).in_([o.id for o in invoiced])
        )
    ):
        earlier[order_id] = earlier.get(order_id, Decimal(0)) + amount
    due = []
    for order in invoiced:
        assert order.id is not None
        if order.id not in earlier:
            due.append((order, order.total))  # a zero invoice too: it is cancelled as well
        elif order.total - earlier[order.id] > 0:
            due.append((order, order.total - earlier[order.id]))
    if not due:
        return []
    issued = []
    for number, (order, amount) in zip(
        next_numbers(session, len(due), CREDIT_NOTE_NUMBERS), due, strict=True
    ):
        assert order.id is not None
        note = CreditNote(
            number=number,
            order_id=order.id,
            issued_at=now,
            amount=amount,
            currency=order.currency,
            reason=reason[:REASON_LENGTH],
            retained_until=retained_until(now, seller_country),
        )
        session.add(note)
        issued.append((note, order))
    session.flush()
    bind = session.get_bind()
    announce = _ANNOUNCERS.get(bind) if isinstance(bind, Engine) else None
    if announce is not None:
        announce(session, issued, now)  # the buyer's mail, once per credit note
    return [note for note, _ in issued]


def on_close(session: Session, order: Order, status: str, now: datetime) -> None:
    """A cancelled or expired order's invoice is cancelled by a credit note. The seller's
    country is not known here: its retention is the longer (German) one."""
    reason = EXPIRED if status == OrderStatus.EXPIRED else CANCELLED
    credit_in_full(session, [order], reason, now, "DE")


def correct_invoice(
    session: Session, order: Order, reason: str, now: datetime, seller_country: str
) -> CreditNote:
    """An operator's full correction of a paid invoice, with a reason: the order stays paid
    (R10: no refunds), its invoice is cancelled by the credit note."""
    reason = " ".join(reason.split())
    if not reason:
        raise ShopError(
            422, "validation_error", N_("Please give the reason for the credit note.")
        ).on_field("reason")
    if order.invoice_number is None or order.status != OrderStatus.PAID:
        raise ShopError(
            409, "not_creditable", N_("Only a paid invoice can be corrected by a credit note.")
        )
    notes = credit_in_full(session, [order], reason, now, seller_country)
    if not notes:
        raise ShopError(
            409, "not_creditable", N_("This invoice has been cancelled by a credit note already.")
        )
    return notes[0]
