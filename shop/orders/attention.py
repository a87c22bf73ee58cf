"""Orders an operator must look at: money kept that the shop could not apply, or a decision
only a person can take (the seed gives no refunds, so nothing is paid back by itself).

Each reason is a stable code, stored on the order with the time it was flagged; the back
office lists flagged orders oldest first and clears the flag once handled.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlmodel import Session

from shop.catalog.products import N_
from shop.errors import ShopError
from shop.i18n import Translator
from shop.orders.models import Order, OrderNote

# code → what the operator (and, where shown, the buyer) is told, translated when shown.
REASONS: dict[str, str] = {
    "stale_basis": N_(
        "This order was priced for a state that has changed since; the payment is kept "
        "on record and nothing was applied. Our team will contact you."
    ),
    "maintenance_too_far_ahead": N_(
        "With this payment, maintenance would be paid more than 3 years ahead; the payment "
        "is kept on record and nothing was applied. Our team will contact you."
    ),
    "superseded": N_(
        "This order was replaced by a newer one; the payment is kept on record and our "
        "team will contact you."
    ),
    "paid_after_close": N_(
        "This order was already closed when the payment arrived; the payment is kept on "
        "record and our team will contact you."
    ),
    "paid_twice": N_(
        "This order was already paid; the further payment is kept on record and our team "
        "will contact you."
    ),
    "overpaid": N_(
        "More than the order's total was paid; the difference is kept on record and our "
        "team will contact you."
    ),
}


# Reasons for which nothing of the order was applied: the buyer gets no licence key for it.
NOTHING_APPLIED = frozenset(
    {"stale_basis", "maintenance_too_far_ahead", "superseded", "paid_after_close"}
)


def flag(order: Order, code: str, now: datetime) -> None:
    """Mark ``order`` for the operator; the first reason and its time are kept."""
    if code not in REASONS:
        raise ValueError(f"unknown reason {code!r}")
    if order.needs_action is None:
        order.needs_action, order.needs_action_since = code, now


def clear(order: Order) -> None:
    order.needs_action = order.needs_action_since = None


def resolve_flag(session: Session, order: Order, note: str, author: str, now: datetime) -> None:
    """The operator handled ``order``'s flag: cleared, with their note kept on the order."""
    if order.needs_action is None:
        raise ShopError(409, "nothing_to_resolve", N_("This order is not waiting for an operator."))
    session.add(
        OrderNote(
            order_id=order.id,  # type: ignore[arg-type]
            reason=order.needs_action,
            text=note[:2000],
            author=author[:100],
            created_at=now,
        )
    )
    clear(order)
    session.add(order)
    session.flush()


def needs_action_json(order: Order, t: Translator) -> dict[str, Any]:
    """The flag as the API shows it: code, translated text, since when."""
    code = order.needs_action
    return {
        "needs_action": code,
        "needs_action_text": t.gettext(REASONS[code]) if code in REASONS else None,
        "needs_action_since": (
            order.needs_action_since.isoformat() if order.needs_action_since else None
        ),
    }
