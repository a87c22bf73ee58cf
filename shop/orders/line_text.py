"""What an order line and a payment say to the buyer, the same on the order page, the PDF and
the e-mail (R19, R34): one function each, so the three never drift apart.

A setup-fee line carries its explanation as data (``OrderLine.detail``): what was added,
for which period and which fraction of which difference. It is written when the order is
placed and rendered in the reader's language when shown, with Babel's dates and money.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from babel.numbers import format_decimal

from shop.catalog.products import N_
from shop.i18n import Translator
from shop.money import Money
from shop.orders.adjustment_lines import ADJUSTMENT_DETAIL

if TYPE_CHECKING:
    from shop.payments.methods import PaymentMethod

SETUP_FEE_DETAIL = "setup_fee"  # ``detail["kind"]`` of an upgrade's one-time line

# How a payment's method is named to the buyer when the provider said nothing more.
METHOD_LABELS = {
    "card": N_("Card"),
    "paypal": N_("PayPal"),
    "bank_transfer": N_("Bank transfer"),
    "cheque": N_("Cheque"),
}
CARD_BRANDS = {
    "visa": "Visa",
    "mastercard": "Mastercard",
    "amex": "American Express",
    "american_express": "American Express",
}


def setup_fee_detail(
    changes: Mapping[str, tuple[str, int, int]],
    period_start: date,
    period_end: date,
    days_left: int,
    days_in_term: int,
    current: Decimal,
    new: Decimal,
) -> dict[str, Any]:
    """The explanation of a setup fee, as stored on its line. ``changes`` maps a sku to its
    name (a message id), the quantity before and the quantity after."""
    return {
        "kind": SETUP_FEE_DETAIL,
        "changes": [
            {"sku": sku, "name": name, "from": before, "to": after}
            for sku, (name, before, after) in changes.items()
            if before != after
        ],
        "period_start": period_start.isoformat(),
        "period_end": period_end.isoformat(),
        "days_left": days_left,
        "days_in_term": days_in_term,
        "current": str(current),
        "new": str(new),
    }


def _change(change: Mapping[str, Any], t: Translator) -> str:
    difference = int(change["to"]) - int(change["from"])
    sign = "+" if difference > 0 else "−"
    return f"{sign}{abs(difference)} × {t.gettext(str(change['name']))}"


def explain_setup_fee(detail: Mapping[str, Any], currency: str, t: Translator) -> str:
    """``+10 × Additional persons, Apr 1, 2025 – Jan 1, 2026, 275/365 of €60.00``."""
    difference = Decimal(str(detail["new"])) - Decimal(str(detail["current"]))
    changes = ", ".join(_change(c, t) for c in detail.get("changes", ()))
    start = t.date(date.fromisoformat(str(detail["period_start"])))
    end = t.date(date.fromisoformat(str(detail["period_end"])))
    return t.gettext(
        N_("%(changes)s, %(start)s – %(end)s, %(fraction)s of %(difference)s"),
        changes=changes,
        start=start,
        end=end,
        fraction=f"{detail['days_left']}/{detail['days_in_term']}",
        difference=t.money(Money.of(difference, currency)),
    )


def _shown(value: Any, t: Translator) -> Any:
    """A number among a label's parameters in the reader's locale ("12,5" in de)."""
    try:
        number = Decimal(str(value))
    except ArithmeticError:
        return value
    return format_decimal(number, locale=t.locale) if number.is_finite() else value


def adjustment_text(label: str, params: Mapping[str, Any], t: Translator) -> str:
    """A price adjustment's label translated with its parameters: "Aktion −20 %"."""
    return t.gettext(label, **{key: _shown(value, t) for key, value in params.items()})


def line_text(line: Any, currency: str, t: Translator) -> str:
    """An order line's description: its translated name, and what it stands for when the
    line says so (a setup fee's period and fraction, a discount's percentage)."""
    detail = getattr(line, "detail", None)
    if isinstance(detail, Mapping) and detail.get("kind") == ADJUSTMENT_DETAIL:
        return adjustment_text(line.name, detail.get("params") or {}, t)
    name = t.gettext(line.name)
    if isinstance(detail, Mapping) and detail.get("kind") == SETUP_FEE_DETAIL:
        return f"{name}: {explain_setup_fee(detail, currency, t)}"
    return name


def payment_label(
    payment: Any, t: Translator, methods: Mapping[str, PaymentMethod] | None = None
) -> str:
    """How the buyer knows a payment: "Visa •••• 4242", "PayPal", "Bank transfer". Never
    the provider's id or the operator's reference. ``payment.detail`` (when the provider
    told the card's brand and last four digits) is optional; ``methods`` (the installed
    ones) name a plugin's method ("Kauf auf Rechnung") by its own name."""
    detail = getattr(payment, "detail", None)
    if isinstance(detail, Mapping) and detail.get("last4"):
        brand_code = str(detail.get("brand") or "").lower()
        brand = CARD_BRANDS.get(brand_code) or brand_code.title() or t.gettext(N_("Card"))
        return f"{brand} •••• {detail['last4']}"
    method = str(getattr(payment, "method", ""))
    if method in METHOD_LABELS:
        return t.gettext(METHOD_LABELS[method])
    if methods is not None and method in methods:
        return t.gettext(methods[method].name)
    return method
