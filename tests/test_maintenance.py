"""R23-R26: maintenance of perpetual licences, renewals from the old end, the 3-year limit."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from shop.subscriptions.maintenance import (
    MaintenanceTooFarAhead,
    latest_maintenance_end,
    maintenance_end_after_purchase,
    renew_maintenance,
    tier_upgrade_maintenance,
)
from shop.subscriptions.terms import add_months

days = st.dates(min_value=date(2000, 1, 1), max_value=date(2090, 12, 31))


def test_r23_maintenance_runs_12_months_from_payment() -> None:
    assert maintenance_end_after_purchase(date(2025, 4, 1)) == date(2026, 4, 1)
    assert maintenance_end_after_purchase(date(2025, 1, 31)) == date(2026, 1, 31)
    assert maintenance_end_after_purchase(date(2024, 2, 29)) == date(2025, 2, 28)


def test_r24_an_early_renewal_starts_at_the_previous_end() -> None:
    # Bought in June, the maintenance running to next April: nothing is lost.
    assert renew_maintenance(date(2026, 4, 1), today=date(2025, 6, 15)) == date(2027, 4, 1)


def test_r24_a_lapsed_maintenance_renewed_late_still_starts_at_the_old_end() -> None:
    # Lapsed on 2025-04-01, renewed on 2025-11-20: the gap is paid, it runs to 2026-04-01.
    assert renew_maintenance(date(2025, 4, 1), today=date(2025, 11, 20)) == date(2026, 4, 1)
    # Lapsed two years: one year of renewal still ends in the past, two reach today.
    assert renew_maintenance(date(2023, 4, 1), today=date(2025, 6, 1)) == date(2024, 4, 1)
    assert renew_maintenance(date(2023, 4, 1), today=date(2025, 6, 1), years=3) == date(2026, 4, 1)


def test_r24_several_years_at_once() -> None:
    assert renew_maintenance(date(2026, 4, 1), date(2025, 6, 1), years=2) == date(2028, 4, 1)


def test_r25_exactly_three_years_ahead_is_allowed() -> None:
    today = date(2025, 4, 1)
    assert latest_maintenance_end(today) == date(2028, 4, 1)
    assert renew_maintenance(date(2027, 4, 1), today) == date(2028, 4, 1)
    assert renew_maintenance(date(2025, 4, 1), today, years=3) == date(2028, 4, 1)


def test_r25_one_day_beyond_three_years_is_refused_with_the_latest_end() -> None:
    today = date(2025, 3, 31)
    with pytest.raises(MaintenanceTooFarAhead) as raised:
        renew_maintenance(date(2027, 4, 1), today)
    assert raised.value.latest_end == date(2028, 3, 31)
    assert raised.value.requested_end == date(2028, 4, 1)
    assert isinstance(raised.value, ValueError)
    assert "2028-03-31" in str(raised.value)


def test_r25_four_years_at_once_is_refused() -> None:
    with pytest.raises(MaintenanceTooFarAhead):
        renew_maintenance(date(2025, 4, 1), date(2025, 4, 1), years=4)


def test_r24_a_renewal_is_for_at_least_one_year() -> None:
    with pytest.raises(ValueError, match="at least one year"):
        renew_maintenance(date(2025, 4, 1), date(2025, 4, 1), years=0)


def test_r26_a_tier_upgrade_starts_a_fresh_12_months() -> None:
    # Starter maintained to 2025-09-01, upgraded to Professional on 2025-05-10.
    assert tier_upgrade_maintenance(date(2025, 5, 10)) == date(2026, 5, 10)
    assert tier_upgrade_maintenance(date(2024, 2, 29)) == date(2025, 2, 28)


@given(current_end=days, today=days, years=st.integers(1, 5))
def test_r24_r25_a_renewal_adds_whole_years_to_the_old_end_or_is_refused(
    current_end: date, today: date, years: int
) -> None:
    expected = add_months(current_end, 12 * years)
    latest = add_months(today, 36)
    try:
        new_end = renew_maintenance(current_end, today, years)
    except MaintenanceTooFarAhead as refused:
        assert expected > latest
        assert refused.latest_end == latest
        assert refused.requested_end == expected
    else:
        assert new_end == expected
        assert new_end <= latest
        assert new_end > current_end


@given(current_end=days, today=days, delay=st.integers(0, 3000))
def test_r24_the_day_of_purchase_never_moves_the_end(
    current_end: date, today: date, delay: int
) -> None:
    # Bought now or later (even after the lapse), the renewal ends at the same day.
    try:
        now = renew_maintenance(current_end, today)
    except MaintenanceTooFarAhead:
        return
    assert renew_maintenance(current_end, today + timedelta(days=delay)) == now


@given(paid_on=days)
def test_r23_r26_twelve_months_from_payment(paid_on: date) -> None:
    end = maintenance_end_after_purchase(paid_on)
    assert end == tier_upgrade_maintenance(paid_on)
    assert 365 <= (end - paid_on).days <= 366
    assert (end.year, end.month) == (paid_on.year + 1, paid_on.month)
