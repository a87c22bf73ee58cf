"""Upgrade or Downgrade (R18-R20): what a switch costs now and what renews later.

The buyer states the new total (R18), so a switch is two recurring totals per term: the one
in force and the one wanted. Comparing those two prices, not seat counts, tells an upgrade
from a downgrade (R19): swapping an add-on for a dearer one is an upgrade even if no count
rises.

An upgrade applies at once and keeps the term end; the one-time setup fee is the remaining
value of what is added, computed on the whole line total and rounded half-up once, so
twenty seats never cost twenty roundings. A downgrade is only scheduled for the term end:
it costs nothing and refunds nothing (R20).

Pure functions on plain values: the caller finds the totals, the term and the clock's
today, and turns a quote into a cart line or a scheduled change.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Literal

from shop.money import CurrencyMismatch, Money, quantize

SwitchKind = Literal["upgrade", "downgrade", "unchanged"]


class MissingPrice(LookupError):
    """An item of the subscription has no unit price: it cannot be totalled, only refused."""

    def __init__(self, sku: str) -> None:
        super().__init__(f"no unit price for {sku!r}")
        self.sku = sku


@dataclass(frozen=True)
class SwitchQuote:
    """What a switch from ``current_recurring`` to ``new_recurring`` means for the buyer.

    ``setup_fee`` is what the cart charges now: zero for a downgrade or an unchanged price,
    and zero with ``fee_waived`` when the prorated fee is below the currency's minimum
    charge (R19), so it is never attempted as a card payment that would fail.
    ``next_renewal_total`` is the full new recurring total, due at the next renewal.
    """

    kind: SwitchKind
    setup_fee: Money
    fee_waived: bool
    current_recurring: Money
    new_recurring: Money
    days_left: int
    days_in_term: int
    effective_at: date
    next_renewal_total: Money
    renewing: bool = False  # quoted during the renewal: the change comes with it, no fee
    # An upgrade's remaining value before any waiving (what the formula shows), else None.
    prorated: Money | None = None


def quote_switch(
    current_recurring: Money,
    new_recurring: Money,
    term_start: date,
    term_end: date,
    today: date,
    minimum_charge: Decimal,
) -> SwitchQuote:
    """Quote switching a subscription's recurring total on ``today`` (R19, R20).

    ``today`` must lie in the running term ``[term_start, term_end)``: on ``term_end`` the
    next term has begun and the caller must pass that term. A second upgrade in the same
    term is quoted from the then-current total (the first upgrade's new total), so each
    step pays only for what it adds.
    """
    if current_recurring.currency != new_recurring.currency:
        raise CurrencyMismatch(
            f"cannot switch from {current_recurring.currency} to {new_recurring.currency}"
        )
    if term_end <= term_start:
        raise ValueError(f"term end {term_end} is not after term start {term_start}")
    if not term_start <= today < term_end:
        raise ValueError(f"{today} is not within the term {term_start} → {term_end}")
    if minimum_charge < 0:
        raise ValueError(f"minimum charge {minimum_charge} is negative")

    currency = new_recurring.currency
    zero = Money.of(0, currency)
    days_left = (term_end - today).days
    days_in_term = (term_end - term_start).days
    difference = new_recurring.amount - current_recurring.amount

    if difference > 0:
        # Multiply before dividing and round once, on the whole line (R19): 45.21, not
        # twenty per-seat fees rounded separately.
        fee = quantize(difference * days_left / days_in_term, currency)
        waived = Decimal(0) < fee < minimum_charge
        return SwitchQuote(
            kind="upgrade",
            setup_fee=zero if waived else Money(fee, currency),
            fee_waived=waived,
            current_recurring=current_recurring,
            new_recurring=new_recurring,
            days_left=days_left,
            days_in_term=days_in_term,
            effective_at=today,
            next_renewal_total=new_recurring,
            prorated=Money(fee, currency),
        )
    return SwitchQuote(
        kind="downgrade" if difference < 0 else "unchanged",
        setup_fee=zero,
        fee_waived=False,
        current_recurring=current_recurring,
        new_recurring=new_recurring,
        days_left=days_left,
        days_in_term=days_in_term,
        # A downgrade waits for the renewal (R20); an equal price costs nothing either way,
        # so there is nothing to wait for.
        effective_at=term_end if difference < 0 else today,
        next_renewal_total=new_recurring,
    )


def quote_renewing_switch(
    current_recurring: Money,
    new_recurring: Money,
    term_start: date,
    term_end: date,
    today: date,
    minimum_charge: Decimal,
) -> SwitchQuote:
    """Quote a switch during the renewal of ``[term_start, term_end)``: the old term has
    ended, the renewal order for this term is not made yet (`shop jobs run` has not run).

    The renewal will charge the whole term at the items then in force, so whatever the
    direction the change comes with it: no setup fee (that would charge the added value
    twice), effective at ``term_start``. ``minimum_charge`` is unused but keeps the
    signature of ``quote_switch``.
    """
    if current_recurring.currency != new_recurring.currency:
        raise CurrencyMismatch(
            f"cannot switch from {current_recurring.currency} to {new_recurring.currency}"
        )
    if not term_start <= today < term_end:
        raise ValueError(f"{today} is not within the term {term_start} → {term_end}")
    difference = new_recurring.amount - current_recurring.amount
    kind: SwitchKind = (
        "upgrade" if difference > 0 else "downgrade" if difference < 0 else "unchanged"
    )
    return SwitchQuote(
        kind=kind,
        setup_fee=Money.of(0, new_recurring.currency),
        fee_waived=False,
        current_recurring=current_recurring,
        new_recurring=new_recurring,
        days_left=(term_end - today).days,
        days_in_term=(term_end - term_start).days,
        effective_at=term_start,
        next_renewal_total=new_recurring,
        renewing=True,
    )


def fee_formula(quote: SwitchQuote) -> str | None:
    """The setup fee's computation as written on the cart (R19), e.g.
    ``(670.00 − 610.00) × 275 / 365 = 45.21``; None when no fee is prorated."""
    if quote.prorated is None:
        return None
    return (
        f"({quote.new_recurring.amount} − {quote.current_recurring.amount}) × "
        f"{quote.days_left} / {quote.days_in_term} = {quote.prorated.amount}"
    )


def recurring_total(items: Mapping[str, int], unit_prices: Mapping[str, Money]) -> Money:
    """The recurring total per term of ``items`` (sku → quantity), one rounding per line (R15).

    Every line must have a price and all prices one currency; a subscription cannot be
    totalled in a mix, and a silent zero for a missing price would make a switch look free.
    """
    if not items:
        raise ValueError("no items: a recurring total needs at least one line for its currency")
    lines: list[Money] = []
    for sku, quantity in items.items():
        if quantity < 0:
            raise ValueError(f"negative quantity {quantity} for {sku!r}")
        if sku not in unit_prices:
            raise MissingPrice(sku)
        unit = unit_prices[sku]
        if lines and unit.currency != lines[0].currency:
            raise CurrencyMismatch(
                f"{sku!r} is priced in {unit.currency}, the other items in {lines[0].currency}"
            )
        lines.append(Money.of(unit.amount * quantity, unit.currency))
    total = lines[0]
    for line in lines[1:]:
        total += line
    return total
