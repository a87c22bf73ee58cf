"""The early-bird discount: a pure rule on plain values, so it is tested without a shop."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from shop.catalog.adjustments import Adjustment, Purchase, PurchaseKind
from shop.catalog.products import N_
from shop.money import Money

COURSE_SKUS = frozenset({"training-online-half-day"})


def _plain(number: Decimal) -> str:
    """10 -> "10", 12.50 -> "12.5": a percentage as people write it."""
    text = format(number, "f")
    return text.rstrip("0").rstrip(".") if "." in text else text


def early_bird(
    purchase: Purchase,
    today: date,
    next_session: date | None,
    percent: Decimal,
    days_ahead: int,
) -> list[Adjustment]:
    """``percent`` off each course line of a new order placed at least ``days_ahead`` days
    before the next session starts; nothing when no session is scheduled."""
    if purchase.kind is not PurchaseKind.NEW or next_session is None or percent <= 0:
        return []
    if (next_session - today).days < days_ahead:
        return []
    return [
        Adjustment(
            sku=line.sku,
            code="early_bird",
            label=N_("Early-bird discount %(percent)s %%"),
            # Rounded once, half-up, on the line (R15); a discount is negative.
            amount=Money.of(-line.total.amount * percent / 100, line.total.currency),
            params={"percent": _plain(percent)},
        )
        for line in purchase.lines
        if line.sku in COURSE_SKUS
    ]
