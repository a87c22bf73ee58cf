"""The statements a consumer makes at checkout for digital content (§356(5) BGB).

A licence key is delivered at once, so a consumer's right of withdrawal ends with its
delivery only if they expressly agreed to immediate performance and acknowledged losing
the right: two separate statements, each stored in the words shown and with its time.
A business buyer (an organisation or a VAT number given) has no such right; they are
shown the business variant instead."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime

from sqlmodel import Session, col, select

from shop.catalog.products import N_
from shop.errors import ShopError
from shop.orders.models import Order, OrderConsent

IMMEDIATE_PERFORMANCE = "immediate_performance"
WITHDRAWAL_LOSS = "withdrawal_loss"
STATEMENTS = {
    IMMEDIATE_PERFORMANCE: N_(
        "I expressly agree that you begin performing the contract, by providing the licence "
        "key and the software, before the withdrawal period has ended."
    ),
    WITHDRAWAL_LOSS: N_(
        "I acknowledge that I lose my right of withdrawal once you have begun performing "
        "the contract."
    ),
}
BUSINESS_NOTE = N_(
    "You are ordering as a business (an organisation or a VAT number is given): the right "
    "of withdrawal for consumers does not apply."
)
STATEMENT_MISSING = N_("Please confirm this statement to receive your licence at once.")


def is_consumer(organisation: str | None, tax_number: str | None) -> bool:
    """A buyer without an organisation and without a VAT or tax number is a consumer."""
    return not (organisation or tax_number)


def given_statements(raw: object) -> tuple[str, ...]:
    """The statements made: a form's ticked ``consent_<kind>`` boxes, or the API's list of
    kinds."""
    if isinstance(raw, Mapping):
        return tuple(kind for kind in STATEMENTS if raw.get(f"consent_{kind}"))
    if isinstance(raw, list):
        return tuple(kind for kind in STATEMENTS if kind in raw)
    return ()


def missing_statements(given: tuple[str, ...]) -> list[ShopError]:
    """A consumer on the checkout page must make both statements, each its own box."""
    return [
        ShopError(422, "consent_required", STATEMENT_MISSING).on_field(f"consent_{kind}")
        for kind in STATEMENTS
        if kind not in given
    ]


def record_statements(
    session: Session, order: Order, texts: Mapping[str, str], now: datetime
) -> None:
    """Store each statement with the text the buyer was shown (translated) and the time."""
    assert order.id is not None
    for kind, text in texts.items():
        session.add(
            OrderConsent(order_id=order.id, kind=kind, text=text, locale=order.locale, given_at=now)
        )


def statements_of(session: Session, order: Order) -> list[OrderConsent]:
    query = select(OrderConsent).where(OrderConsent.order_id == order.id)
    return list(session.exec(query.order_by(col(OrderConsent.id))))
