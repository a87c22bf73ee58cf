"""The retention period of invoices and credit notes (§147 AO, art. 52 AWR)."""

from __future__ import annotations

from datetime import date, datetime, timedelta

from hypothesis import given
from hypothesis import strategies as st

from shop.orders.retention import may_erase, retained_until


def test_r8_an_invoice_of_march_2026_is_kept_until_the_end_of_2034() -> None:
    assert retained_until(datetime(2026, 3, 1, 12)) == date(2034, 12, 31)


def test_a_dutch_seller_keeps_seven_years() -> None:
    assert retained_until(date(2026, 12, 31), "nl") == date(2033, 12, 31)


@given(st.dates(min_value=date(2000, 1, 1), max_value=date(2900, 1, 1)))
def test_a_document_is_kept_at_least_eight_full_years(issued: date) -> None:
    until = retained_until(issued)
    assert until.month == 12 and until.day == 31
    assert until >= issued + timedelta(days=8 * 365)
    assert not may_erase(issued, until)
    assert may_erase(issued, until + timedelta(days=1))
