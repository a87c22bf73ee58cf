"""Support agreements (R31) and the catch-up price without one (R32), from the Dutch seed.

An agreement costs a fixed monthly fee, invoiced per 3 months. It can be cancelled any
time in writing, but periods already invoiced stay due: nothing is refunded or credited
(R10). Invoice periods are calendar-month terms anchored on the agreement's start (R22),
so an agreement from Jan 31 is invoiced Jan 31 → Apr 30 → Jul 31.

A customer without a running agreement who wants the current version pays 1/60 of the
current licence price per month without an agreement (R32): five years without one cost
as much as the licence.

Pure functions on dates and Money.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from itertools import count

from shop.money import Money
from shop.subscriptions.terms import add_months, term

MONTHS_PER_INVOICE = 3
CATCH_UP_DIVISOR = 60


def invoice_period(
    start: date, index: int, months_per_invoice: int = MONTHS_PER_INVOICE
) -> tuple[date, date]:
    """The ``index``-th invoiced period (0 is the first) of an agreement from ``start``."""
    if months_per_invoice < 1:
        raise ValueError(f"an invoice covers at least one month, not {months_per_invoice}")
    if index < 0:
        raise ValueError(f"invoice period index {index} is negative")
    return term(start, months_per_invoice, index)


def invoice_periods(
    start: date, months_per_invoice: int = MONTHS_PER_INVOICE
) -> Iterator[tuple[date, date]]:
    """The invoiced periods ``(start, end)`` of an agreement from ``start``, without end.

    The k-th item is ``invoice_period(start, k)``; each period ends where the next begins.
    An agreement runs until cancelled, so the caller takes as many as it needs.
    """
    if months_per_invoice < 1:
        raise ValueError(f"an invoice covers at least one month, not {months_per_invoice}")
    return (term(start, months_per_invoice, index) for index in count())


def amount_per_invoice(monthly_fee: Money, months: int = MONTHS_PER_INVOICE) -> Money:
    """What one invoice charges: the monthly fee times its months, rounded once (R15)."""
    if months < 1:
        raise ValueError(f"an invoice covers at least one month, not {months}")
    return Money.of(monthly_fee.amount * months, monthly_fee.currency)


def period_index(start: date, day: date, months_per_invoice: int = MONTHS_PER_INVOICE) -> int:
    """The index of the invoiced period ``[start, end)`` that contains ``day``.

    Periods are half-open: the day a period ends belongs to the next one.
    """
    if day < start:
        raise ValueError(f"{day} is before the agreement starts on {start}")
    if months_per_invoice < 1:
        raise ValueError(f"an invoice covers at least one month, not {months_per_invoice}")
    return months_between(start, day) // months_per_invoice


def cancellation_due(start: date, cancelled_on: date, monthly_fee: Money) -> Money:
    """The total owed for an agreement from ``start`` cancelled on ``cancelled_on`` (R31).

    Every period invoiced up to and including the one in which the cancellation falls
    stays due, in full: the 3-month period that is running is not shortened, and a
    cancellation on the day a period begins still owes that period, which was invoiced
    that day. An agreement cancelled before it starts has nothing invoiced and owes
    nothing. What was already paid is the caller's to subtract.
    """
    if cancelled_on < start:
        return Money.of(0, monthly_fee.currency)
    periods = period_index(start, cancelled_on) + 1
    per_invoice = amount_per_invoice(monthly_fee)
    return Money(per_invoice.amount * periods, per_invoice.currency)


def months_between(since: date, until: date) -> int:
    """Whole calendar months from ``since`` to ``until``, counted like terms (R22).

    The largest ``n`` with ``add_months(since, n) <= until``: Jan 31 → Feb 28 is one month,
    Jan 15 → Feb 14 none.
    """
    if until < since:
        raise ValueError(f"{until} is before {since}")
    months = (until.year - since.year) * 12 + (until.month - since.month)
    # The estimate is exact or one too many (the day of month not reached yet).
    if add_months(since, months) > until:
        months -= 1
    return months


def catch_up_price(licence_price: Money, months_without_agreement: int) -> Money:
    """1/60 of the current licence price per month without an agreement, rounded once (R32).

    Multiplied before dividing, so 3,000.00 × 14 / 60 is exactly 700.00. Not capped: the
    rule sets no limit, and past 60 months the price exceeds the licence price.
    """
    if months_without_agreement < 0:
        raise ValueError(f"months without an agreement is negative: {months_without_agreement}")
    return Money.of(
        licence_price.amount * months_without_agreement / CATCH_UP_DIVISOR,
        licence_price.currency,
    )
