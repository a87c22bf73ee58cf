"""Price adjustments as order lines (R28, R29): one line per adjustment, kind ``discount``.

A plugin's adjustment (``shop.catalog.adjustments.Adjustment``) is stored as its own order
line, after the product lines, with a negative total; its label and parameters are kept
in ``OrderLine.detail`` and translated wherever the line shows (``shop.orders.line_text``).
Whatever reads an order's products (the main line, the licence's quantities, the
subscription's items) reads ``product_lines`` and never sees a discount.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from decimal import Decimal
from typing import Any, TypeVar

from shop.catalog.adjustments import Adjustment

DISCOUNT = "discount"  # ``OrderLine.kind`` of an adjustment's line
ADJUSTMENT_DETAIL = "adjustment"  # its ``detail["kind"]``

L = TypeVar("L")


def _get(line: Any, name: str) -> Any:
    return line.get(name) if isinstance(line, Mapping) else getattr(line, name, None)


def is_adjustment(line: Any) -> bool:
    """Whether ``line`` (an ``OrderLine`` or a row of its columns) is an adjustment."""
    return bool(_get(line, "kind") == DISCOUNT)


def product_lines(lines: Iterable[L]) -> list[L]:
    """The lines that are products (base product, add-ons, fees), without adjustments."""
    return [line for line in lines if not is_adjustment(line)]


def adjustment_line(adjustment: Adjustment) -> dict[str, Any]:
    """The ``order_line`` columns (but the order's and the position) of ``adjustment``."""
    amount = adjustment.amount.amount
    return {
        "sku": f"{adjustment.code}:{adjustment.sku}"[:100],
        "name": adjustment.label,
        "kind": DISCOUNT,
        "quantity": 1,
        "unit_price": amount,
        "total": amount,
        "billing_period_months": None,
        "detail": {
            "kind": ADJUSTMENT_DETAIL,
            "code": adjustment.code,
            "applies_to": adjustment.sku,
            "params": dict(adjustment.params),
            "once": adjustment.once,
        },
    }


def recurring_amount(total: Decimal, lines: Iterable[Any]) -> Decimal:
    """What a subscription bought with these lines keeps paying: ``total`` without the
    adjustments that were for this purchase only (R28: a promotion's first term)."""
    once = sum(
        (
            Decimal(_get(line, "total"))
            for line in lines
            if is_adjustment(line) and (_get(line, "detail") or {}).get("once")
        ),
        Decimal(0),
    )
    return total - once
