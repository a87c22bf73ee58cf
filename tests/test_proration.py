"""R18-R20: Upgrade or Downgrade, the setup fee, scheduled downgrades, recurring totals."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from shop.money import CurrencyMismatch, Money, minor_unit
from shop.subscriptions.proration import MissingPrice, quote_switch, recurring_total
from shop.subscriptions.terms import add_months

MINIMUM = {"EUR": Decimal("0.50"), "USD": Decimal("0.50"), "DZD": Decimal(50)}
CENT = Decimal("0.01")
YEAR_2025 = (date(2025, 1, 1), date(2026, 1, 1))
SEAT = Money.of("6.00", "EUR")  # per seat per year


def eur(amount: str) -> Money:
    return Money.of(amount, "EUR")


def seats(count: int) -> Money:
    return recurring_total({"persons": count}, {"persons": SEAT})


currencies = st.sampled_from(sorted(MINIMUM))
amounts = st.decimals(min_value=0, max_value=1_000_000, places=2)


@st.composite
def running_terms(draw: st.DrawFn) -> tuple[date, date, date]:
    """A term of 1, 3 or 12 months (R22) and a day within it."""
    start = draw(st.dates(min_value=date(2000, 1, 1), max_value=date(2099, 12, 31)))
    end = add_months(start, draw(st.sampled_from([1, 3, 12])))
    today = start + timedelta(days=draw(st.integers(0, (end - start).days - 1)))
    return start, end, today


@st.composite
def upgrades(draw: st.DrawFn) -> tuple[Money, Money]:
    currency = draw(currencies)
    low, high = sorted(draw(st.lists(amounts, min_size=2, max_size=2, unique=True)))
    return Money.of(low, currency), Money.of(high, currency)


def exact_fee(difference: Decimal, start: date, end: date, today: date) -> Decimal:
    return difference * (end - today).days / (end - start).days


# --- worked examples -----------------------------------------------------------------------


def test_r19_worked_example_20_to_30_seats_on_april_1() -> None:
    quote = quote_switch(eur("120.00"), eur("180.00"), *YEAR_2025, date(2025, 4, 1), CENT * 50)
    assert quote.kind == "upgrade"
    assert (quote.days_left, quote.days_in_term) == (275, 365)
    assert quote.setup_fee == eur("45.21")
    assert not quote.fee_waived
    assert quote.effective_at == date(2025, 4, 1)
    assert quote.next_renewal_total == eur("180.00")
    assert (quote.current_recurring, quote.new_recurring) == (eur("120.00"), eur("180.00"))


def test_r18_the_buyer_states_the_new_total_of_seats() -> None:
    # 20 extra persons, wants 30: the new recurring total is that of 30, not of 10 more.
    unit = {"persons": eur("6.00")}
    current = recurring_total({"persons": 20}, unit)
    new = recurring_total({"persons": 30}, unit)
    assert (current, new) == (eur("120.00"), eur("180.00"))
    quote = quote_switch(current, new, *YEAR_2025, date(2025, 4, 1), Decimal("0.50"))
    assert quote.setup_fee == eur("45.21")


def test_r19_fee_is_rounded_once_on_the_line_not_per_seat() -> None:
    # Per seat: 6 × 275/365 = 4.5205… → 4.52, × 10 = 45.20. On the line: 45.21.
    quote = quote_switch(seats(20), seats(30), *YEAR_2025, date(2025, 4, 1), Decimal("0.50"))
    assert quote.setup_fee == eur("45.21")


def test_r19_two_upgrades_in_one_term_prorate_from_the_then_current_price() -> None:
    start, end = YEAR_2025
    first_day, second_day = date(2025, 3, 1), date(2025, 9, 10)
    first = quote_switch(seats(30), seats(40), start, end, first_day, Decimal("0.50"))
    # The second upgrade starts from the price in force after the first: 40 seats.
    second = quote_switch(
        first.next_renewal_total, seats(50), start, end, second_day, Decimal("0.50")
    )
    assert first.setup_fee == eur("50.30")  # 60 × 306/365 = 50.301…
    assert second.setup_fee == eur("18.58")  # 60 × 113/365 = 18.575…
    assert second.next_renewal_total == seats(50) == eur("300.00")
    # What 30→50 is worth at those dates: ten seats from March 1, ten from September 10.
    exact = exact_fee(Decimal(60), start, end, first_day) + exact_fee(
        Decimal(60), start, end, second_day
    )
    assert abs(first.setup_fee.amount + second.setup_fee.amount - exact) <= 2 * CENT
    # Two small fees, not a big one: less than all twenty seats from March 1 …
    at_once = quote_switch(seats(30), seats(50), start, end, first_day, Decimal("0.50"))
    assert first.setup_fee.amount + second.setup_fee.amount < at_once.setup_fee.amount
    # … and not prorated from the original 30 seats a second time.
    from_30 = quote_switch(seats(30), seats(50), start, end, second_day, Decimal("0.50"))
    assert second.setup_fee.amount < from_30.setup_fee.amount


def test_r19_upgrade_on_the_first_day_costs_the_full_difference() -> None:
    quote = quote_switch(eur("120.00"), eur("180.00"), *YEAR_2025, date(2025, 1, 1), CENT)
    assert quote.setup_fee == eur("60.00")


def test_r19_upgrade_on_the_last_day_costs_one_day() -> None:
    quote = quote_switch(eur("120.00"), eur("180.00"), *YEAR_2025, date(2025, 12, 31), CENT)
    assert quote.days_left == 1
    assert quote.setup_fee == eur("0.16")  # 60/365 = 0.164…


def test_r19_a_fee_below_the_minimum_charge_is_waived() -> None:
    quote = quote_switch(
        eur("120.00"), eur("180.00"), *YEAR_2025, date(2025, 12, 31), Decimal("0.50")
    )
    assert quote.kind == "upgrade"
    assert quote.fee_waived
    assert quote.setup_fee == eur("0")
    assert quote.effective_at == date(2025, 12, 31)
    assert quote.next_renewal_total == eur("180.00")


def test_r19_a_fee_of_exactly_the_minimum_charge_is_charged() -> None:
    # 1.00 × 1/2 = 0.50 on a two-day term with one day left.
    start, end = date(2025, 1, 1), date(2025, 1, 3)
    quote = quote_switch(eur("1.00"), eur("2.00"), start, end, date(2025, 1, 2), Decimal("0.50"))
    assert quote.setup_fee == eur("0.50")
    assert not quote.fee_waived


def test_r19_dzd_minimum_charge_is_50() -> None:
    dzd = [Money.of(a, "DZD") for a in ("18000.00", "18060.00", "36000.00")]
    small = quote_switch(dzd[0], dzd[1], *YEAR_2025, date(2025, 4, 1), Decimal(50))
    assert small.fee_waived  # 60 × 275/365 = 45.21 DZD
    assert small.setup_fee == Money.of(0, "DZD")
    large = quote_switch(dzd[0], dzd[2], *YEAR_2025, date(2025, 4, 1), Decimal(50))
    assert large.setup_fee == Money.of("13561.64", "DZD")  # 18000 × 275/365 = 13561.643…


def test_r20_a_downgrade_is_free_and_waits_for_the_renewal() -> None:
    quote = quote_switch(seats(20), seats(10), *YEAR_2025, date(2025, 10, 1), Decimal("0.50"))
    assert quote.kind == "downgrade"
    assert quote.setup_fee == eur("0")
    assert not quote.fee_waived
    assert quote.effective_at == date(2026, 1, 1)
    assert quote.next_renewal_total == eur("60.00")


def test_r19_an_equal_price_is_unchanged_and_free() -> None:
    quote = quote_switch(eur("120.00"), eur("120.00"), *YEAR_2025, date(2025, 6, 1), CENT)
    assert quote.kind == "unchanged"
    assert quote.setup_fee == eur("0")
    assert quote.next_renewal_total == eur("120.00")


def test_r19_upgrade_and_downgrade_are_told_apart_by_price_not_counts() -> None:
    prices = {"amweb": eur("50.00"), "amobile-pro": eur("80.00")}
    current = recurring_total({"amweb": 2}, prices)
    dearer = recurring_total({"amobile-pro": 2}, prices)
    cheaper = recurring_total({"amweb": 1, "amobile-pro": 0}, prices)
    day = date(2025, 7, 1)
    assert quote_switch(current, dearer, *YEAR_2025, day, CENT).kind == "upgrade"
    assert quote_switch(current, cheaper, *YEAR_2025, day, CENT).kind == "downgrade"


def test_r22_leap_year_term_from_feb_29() -> None:
    start, end = date(2024, 2, 29), add_months(date(2024, 2, 29), 12)
    assert end == date(2025, 2, 28)
    quote = quote_switch(eur("120.00"), eur("180.00"), start, end, date(2024, 8, 29), CENT)
    assert (quote.days_left, quote.days_in_term) == (183, 365)
    assert quote.setup_fee == eur("30.08")  # 60 × 183/365 = 30.082…
    leap_year = quote_switch(
        eur("120.00"), eur("180.00"), date(2024, 1, 1), date(2025, 1, 1), date(2024, 2, 29), CENT
    )
    assert (leap_year.days_left, leap_year.days_in_term) == (307, 366)
    assert leap_year.setup_fee == eur("50.33")  # 60 × 307/366 = 50.327…


@pytest.mark.parametrize("today", [date(2024, 12, 31), date(2026, 1, 1), date(2026, 3, 1)])
def test_r19_today_outside_the_term_is_refused(today: date) -> None:
    with pytest.raises(ValueError, match="not within the term"):
        quote_switch(eur("120.00"), eur("180.00"), *YEAR_2025, today, CENT)


def test_r19_an_empty_or_reversed_term_is_refused() -> None:
    with pytest.raises(ValueError, match="not after term start"):
        quote_switch(eur("1"), eur("2"), date(2025, 1, 1), date(2025, 1, 1), date(2025, 1, 1), CENT)


def test_r15_switching_currency_is_refused() -> None:
    with pytest.raises(CurrencyMismatch):
        quote_switch(eur("1"), Money.of(2, "USD"), *YEAR_2025, date(2025, 2, 1), CENT)


# --- recurring totals ----------------------------------------------------------------------


def test_r15_recurring_total_rounds_each_line_once() -> None:
    prices = {"a": Money(Decimal("0.333"), "EUR"), "b": Money(Decimal("0.125"), "EUR")}
    # a: 3 × 0.333 = 0.999 → 1.00 (not 3 × 0.33); b: 1 × 0.125 → 0.13 (half-up).
    assert recurring_total({"a": 3, "b": 1}, prices) == eur("1.13")


def test_r15_recurring_total_refuses_mixed_currencies() -> None:
    prices = {"a": eur("1.00"), "b": Money.of("1.00", "USD")}
    with pytest.raises(CurrencyMismatch, match="'b' is priced in USD"):
        recurring_total({"a": 1, "b": 1}, prices)


def test_r15_recurring_total_refuses_a_missing_price() -> None:
    with pytest.raises(MissingPrice, match="no unit price for 'amweb'") as raised:
        recurring_total({"persons": 3, "amweb": 1}, {"persons": eur("6.00")})
    assert raised.value.sku == "amweb"


def test_r15_recurring_total_refuses_nothing_and_negative_quantities() -> None:
    with pytest.raises(ValueError, match="no items"):
        recurring_total({}, {"persons": eur("6.00")})
    with pytest.raises(ValueError, match="negative quantity"):
        recurring_total({"persons": -1}, {"persons": eur("6.00")})


# --- properties ----------------------------------------------------------------------------


@given(prices=upgrades(), when=running_terms())
def test_r19_fee_is_never_negative_nor_more_than_the_difference(
    prices: tuple[Money, Money], when: tuple[date, date, date]
) -> None:
    current, new = prices
    quote = quote_switch(current, new, *when, MINIMUM[new.currency])
    assert quote.kind == "upgrade"
    assert Decimal(0) <= quote.setup_fee.amount <= new.amount - current.amount
    assert quote.setup_fee.currency == new.currency
    assert quote.setup_fee.amount == quote.setup_fee.amount.quantize(minor_unit(new.currency))
    assert quote.effective_at == when[2]
    assert quote.next_renewal_total == new


@given(prices=upgrades(), when=running_terms())
def test_r19_fee_is_the_exact_prorated_value_rounded_once(
    prices: tuple[Money, Money], when: tuple[date, date, date]
) -> None:
    current, new = prices
    quote = quote_switch(current, new, *when, Decimal(0))
    exact = exact_fee(new.amount - current.amount, *when)
    assert abs(quote.setup_fee.amount - exact) <= minor_unit(new.currency) / 2


@given(prices=upgrades(), when=running_terms())
def test_r19_a_fee_below_the_minimum_charge_is_waived_never_charged(
    prices: tuple[Money, Money], when: tuple[date, date, date]
) -> None:
    current, new = prices
    minimum = MINIMUM[new.currency]
    quote = quote_switch(current, new, *when, minimum)
    unwaived = quote_switch(current, new, *when, Decimal(0)).setup_fee.amount
    if Decimal(0) < unwaived < minimum:
        assert quote.fee_waived
        assert quote.setup_fee == Money.of(0, new.currency)
    else:
        assert not quote.fee_waived
        assert quote.setup_fee.amount == unwaived
    assert quote.setup_fee.amount == 0 or quote.setup_fee.amount >= minimum


@given(prices=upgrades(), when=running_terms())
def test_r20_a_downgrade_costs_nothing_and_takes_effect_at_term_end(
    prices: tuple[Money, Money], when: tuple[date, date, date]
) -> None:
    lower, higher = prices
    quote = quote_switch(higher, lower, *when, MINIMUM[lower.currency])
    assert quote.kind == "downgrade"
    assert quote.setup_fee == Money.of(0, lower.currency)
    assert not quote.fee_waived
    assert quote.effective_at == when[1]
    assert quote.next_renewal_total == lower


@given(
    currency=currencies,
    totals=st.lists(amounts, min_size=3, max_size=3, unique=True),
    when=running_terms(),
)
def test_r19_two_steps_on_one_day_cost_one_step_within_a_cent_per_step(
    currency: str, totals: list[Decimal], when: tuple[date, date, date]
) -> None:
    low, middle, high = (Money.of(amount, currency) for amount in sorted(totals))
    # Without the waiver: it drops small fees on purpose, which is not a rounding error.
    one = quote_switch(low, high, *when, Decimal(0)).setup_fee
    first = quote_switch(low, middle, *when, Decimal(0))
    second = quote_switch(first.next_renewal_total, high, *when, Decimal(0))
    assert abs((first.setup_fee + second.setup_fee - one).amount) <= 2 * minor_unit(currency)


@given(
    prices=upgrades(),
    start=st.dates(min_value=date(2000, 1, 1), max_value=date(2099, 12, 31)),
    months=st.sampled_from([1, 3, 12]),
    offsets=st.lists(st.integers(0, 400), min_size=2, max_size=2),
    waive=st.booleans(),
)
def test_r19_fee_is_monotonic_in_days_left(
    prices: tuple[Money, Money],
    start: date,
    months: int,
    offsets: list[int],
    waive: bool,
) -> None:
    current, new = prices
    end = add_months(start, months)
    days = (end - start).days
    earlier, later = sorted(start + timedelta(days=offset % days) for offset in offsets)
    minimum = MINIMUM[new.currency] if waive else Decimal(0)
    more_left = quote_switch(current, new, start, end, earlier, minimum)
    less_left = quote_switch(current, new, start, end, later, minimum)
    assert more_left.days_left >= less_left.days_left
    assert more_left.setup_fee.amount >= less_left.setup_fee.amount


@given(
    prices=upgrades(),
    months=st.sampled_from([1, 3, 12]),
    offset=st.integers(0, 400),
)
def test_r22_leap_day_terms_prorate_over_their_real_length(
    prices: tuple[Money, Money], months: int, offset: int
) -> None:
    start = date(2024, 2, 29)
    end = add_months(start, months)
    today = start + timedelta(days=offset % (end - start).days)
    quote = quote_switch(*prices, start, end, today, Decimal(0))
    assert quote.days_in_term == {1: 29, 3: 90, 12: 365}[months]
    assert 1 <= quote.days_left <= quote.days_in_term
    assert quote.setup_fee.amount <= prices[1].amount - prices[0].amount
