"""What counts as money received for an order (R13, R15), from an operator or a provider
alike: a finite, positive amount in the currency's minor unit, that the database can hold
and that is not absurd for the order (a typo or a forged event, never a real payment).
"""

from __future__ import annotations

from decimal import Decimal

from shop.catalog.products import N_
from shop.errors import ShopError
from shop.money import minor_unit

# Money columns are NUMERIC(20, 6) on PostgreSQL: 14 digits before the point.
LIMIT = Decimal(10) ** 14
# More than this many times the order's total is refused as absurd (4,900.00 on a 490.00
# order is a mistyped amount, an overpayment the operator must confirm; 49,000.01 is not
# money anyone sent for it).
ABSURD_FACTOR = 100

INVALID = "invalid_amount"
ABSURD = "absurd_amount"

MESSAGES = {
    INVALID: N_("The amount must be a positive number of the currency."),
    ABSURD: N_("This amount is far more than the order's total; it cannot be right."),
}


def amount_problem(amount: Decimal, currency: str, total: Decimal) -> str | None:
    """Why ``amount`` cannot be money received for an order of ``total``; None if it can."""
    if not amount.is_finite() or amount <= 0:
        return INVALID
    if amount >= LIMIT or amount > total * ABSURD_FACTOR:
        return ABSURD
    if amount % minor_unit(currency) != 0:
        return INVALID  # more digits than the currency has
    return None


def amount_error(code: str) -> ShopError:
    """The operator's answer: 422 on the ``amount`` field, translated."""
    return ShopError(422, code, MESSAGES[code]).on_field("amount")
