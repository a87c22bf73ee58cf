"""What a price-adjusting plugin sees of a purchase, and what it answers (R28, R29).

Pure values: the pricing pipeline (``shop.orders.cart``) builds a ``Purchase`` from the
priced lines, asks every enabled plugin's ``shop_price_adjustments`` hook, and adds each
``Adjustment`` as its own line (a discount is a negative amount) under the line it adjusts.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum

from shop.catalog.products import Kind
from shop.money import Money


class PurchaseKind(StrEnum):
    NEW = "new"  # a first order (or a quote for one)
    RENEWAL = "renewal"  # a subscription's next term
    SWITCH = "switch"  # an upgrade's setup fee
    MAINTENANCE = "maintenance"  # a perpetual licence's maintenance renewal or tier upgrade


@dataclass(frozen=True)
class PurchaseLine:
    sku: str
    line: str  # the package line's code
    kind: Kind
    quantity: int
    total: Money  # the line's price before adjustments
    billing_period_months: int | None = None


@dataclass(frozen=True)
class Purchase:
    kind: PurchaseKind
    email: str
    country: str | None
    currency: str
    lines: tuple[PurchaseLine, ...]


@dataclass(frozen=True)
class Adjustment:
    """A change to one line's price: ``amount`` is negative for a discount.

    ``label`` is a message id (``N_``) with ``params``, translated wherever the line shows
    (page, PDF, e-mail); ``code`` says what it is to machines (``promotion``, ``academic``)."""

    sku: str
    code: str
    label: str
    amount: Money
    params: Mapping[str, str] = field(default_factory=dict)
    # For this purchase only: a subscription's recurring price does not keep it (R28's
    # promotion is for the first term); a lasting one (R29's academic discount) it keeps.
    once: bool = False
