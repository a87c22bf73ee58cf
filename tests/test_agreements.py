"""R31-R32: support agreements invoiced per 3 months, cancellation, the catch-up price."""

from __future__ import annotations

import itertools
from datetime import date, timedelta
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from shop.money import Money
from shop.subscriptions.agreements import (
    amount_per_invoice,
    cancellation_due,
    catch_up_price,
    invoice_period,
    invoice_periods,
    months_between,
    period_index,
)
from shop.subscriptions.terms import add_months

FEE = Money.of("35.00", "EUR")  # the single-workstation agreement
days = st.dates(min_value=date(2000, 1, 1), max_value=date(2090, 12, 31))
fees = st.builds(
    Money.of,
    st.decimals(min_value=0, max_value=100_000, places=2),
    st.sampled_from(["EUR", "USD", "DZD"]),
)


def eur(amount: str) -> Money:
    return Money.of(amount, "EUR")


def test_r31_invoiced_per_three_calendar_months() -> None:
    periods = list(itertools.islice(invoice_periods(date(2025, 1, 31)), 4))
    assert periods == [
        (date(2025, 1, 31), date(2025, 4, 30)),
        (date(2025, 4, 30), date(2025, 7, 31)),
        (date(2025, 7, 31), date(2025, 10, 31)),
        (date(2025, 10, 31), date(2026, 1, 31)),
    ]
    assert invoice_period(date(2025, 1, 31), 1) == periods[1]
    assert invoice_period(date(2025, 1, 1), 0, months_per_invoice=1) == (
        date(2025, 1, 1),
        date(2025, 2, 1),
    )


def test_r31_one_invoice_is_three_monthly_fees() -> None:
    assert amount_per_invoice(FEE) == eur("105.00")
    assert amount_per_invoice(eur("65.00"), months=1) == eur("65.00")
    # Rounded once on the invoice, half-up: 3 × 10.005 = 30.015 → 30.02.
    assert amount_per_invoice(Money(Decimal("10.005"), "EUR")) == eur("30.02")


def test_r31_cancelling_mid_period_owes_the_whole_running_period() -> None:
    start = date(2025, 1, 1)
    # Periods: Jan 1 – Apr 1, Apr 1 – Jul 1, Jul 1 – Oct 1. Cancelled on May 20: two invoiced.
    assert cancellation_due(start, date(2025, 5, 20), FEE) == eur("210.00")
    # On the first day: the first period was invoiced that day and stays due.
    assert cancellation_due(start, start, FEE) == eur("105.00")
    # On the last day of the first period it is still the first period.
    assert cancellation_due(start, date(2025, 3, 31), FEE) == eur("105.00")
    # The day a period ends belongs to the next one, which is invoiced that day.
    assert cancellation_due(start, date(2025, 4, 1), FEE) == eur("210.00")
    # A year and a day: five periods.
    assert cancellation_due(start, date(2026, 1, 2), FEE) == eur("525.00")


def test_r31_cancelling_before_the_start_owes_nothing() -> None:
    assert cancellation_due(date(2025, 6, 1), date(2025, 5, 1), FEE) == eur("0")


def test_r31_month_end_anchored_periods() -> None:
    start = date(2025, 1, 31)
    assert period_index(start, date(2025, 4, 29)) == 0
    assert period_index(start, date(2025, 4, 30)) == 1
    assert cancellation_due(start, date(2025, 4, 30), FEE) == eur("210.00")


def test_r31_invalid_periods_are_refused() -> None:
    with pytest.raises(ValueError):
        invoice_period(date(2025, 1, 1), -1)
    with pytest.raises(ValueError):
        invoice_periods(date(2025, 1, 1), months_per_invoice=0)
    with pytest.raises(ValueError):
        amount_per_invoice(FEE, months=0)
    with pytest.raises(ValueError):
        period_index(date(2025, 1, 1), date(2024, 12, 31))


def test_r32_catch_up_price_examples() -> None:
    assert catch_up_price(eur("3000.00"), 14) == eur("700.00")
    assert catch_up_price(eur("3000.00"), 0) == eur("0.00")
    assert catch_up_price(eur("3000.00"), 60) == eur("3000.00")
    # 1,000.00 / 60 × 1 = 16.666… → 16.67 (rounded once, not 16.67 × months).
    assert catch_up_price(eur("1000.00"), 1) == eur("16.67")
    assert catch_up_price(eur("1000.00"), 7) == eur("116.67")  # 116.666…, not 7 × 16.67
    assert catch_up_price(eur("1000.00"), 5) == eur("83.33")
    assert catch_up_price(Money.of("490.00", "USD"), 3) == Money.of("24.50", "USD")


def test_r32_negative_months_are_refused() -> None:
    with pytest.raises(ValueError, match="negative"):
        catch_up_price(eur("3000.00"), -1)


def test_r32_months_without_an_agreement() -> None:
    assert months_between(date(2024, 3, 1), date(2025, 5, 1)) == 14
    assert months_between(date(2024, 3, 1), date(2025, 4, 30)) == 13
    assert months_between(date(2025, 1, 15), date(2025, 2, 14)) == 0
    assert months_between(date(2025, 1, 31), date(2025, 2, 28)) == 1  # clamped, R22
    assert months_between(date(2024, 2, 29), date(2025, 2, 28)) == 12
    assert months_between(date(2025, 5, 5), date(2025, 5, 5)) == 0
    with pytest.raises(ValueError):
        months_between(date(2025, 5, 5), date(2025, 5, 4))
    # The seed's use: licence 3,000.00, agreement ended 2024-03-01, back on 2025-05-10.
    assert catch_up_price(
        eur("3000.00"), months_between(date(2024, 3, 1), date(2025, 5, 10))
    ) == eur("700.00")


@given(since=days, until=days)
def test_r32_months_between_counts_whole_calendar_months(since: date, until: date) -> None:
    since, until = sorted((since, until))
    months = months_between(since, until)
    assert months >= 0
    assert add_months(since, months) <= until < add_months(since, months + 1)


@given(price=fees, months=st.integers(0, 240))
def test_r32_catch_up_is_one_sixtieth_per_month_rounded_once(price: Money, months: int) -> None:
    result = catch_up_price(price, months)
    assert result.currency == price.currency
    assert abs(result.amount - price.amount * months / 60) <= Decimal("0.005")
    assert result.amount == Money.of(result.amount, price.currency).amount
    if months <= 60:
        assert result.amount <= price.amount
    assert catch_up_price(price, months + 1).amount >= result.amount


@given(start=days, offset=st.integers(0, 3000), fee=fees)
def test_r31_cancellation_owes_every_period_begun(start: date, offset: int, fee: Money) -> None:
    cancelled_on = start + timedelta(days=offset)
    index = period_index(start, cancelled_on)
    period_start, period_end = invoice_period(start, index)
    assert period_start <= cancelled_on < period_end
    due = cancellation_due(start, cancelled_on, fee)
    assert due == Money(amount_per_invoice(fee).amount * (index + 1), fee.currency)
    # Owed for at least the months up to the cancellation, at most 3 months more.
    elapsed = months_between(start, cancelled_on)
    assert Money.of(fee.amount * (elapsed + 1), fee.currency) <= due
    assert due <= Money.of(fee.amount * (elapsed + 3), fee.currency)


@given(start=days, count=st.integers(1, 40))
def test_r31_invoice_periods_tile_time(start: date, count: int) -> None:
    periods = list(itertools.islice(invoice_periods(start), count))
    assert periods[0][0] == start
    for (_, end), (next_start, next_end) in itertools.pairwise(periods):
        assert end == next_start < next_end
    for k, period in enumerate(periods):
        assert period == invoice_period(start, k)
