"""R22: terms tile time with no gap or overlap, the anchor day is restored, leap years hold."""

from __future__ import annotations

import calendar
import itertools
from datetime import date

from hypothesis import given
from hypothesis import strategies as st

from shop.subscriptions.terms import add_months, first_term, term

anchors = st.dates(min_value=date(2000, 1, 1), max_value=date(2100, 12, 31))
periods = st.sampled_from([1, 3, 12])


def test_r22_month_end_is_clamped_and_the_anchor_kept() -> None:
    jan31 = date(2025, 1, 31)
    assert [term(jan31, 1, k)[1] for k in range(3)] == [
        date(2025, 2, 28),
        date(2025, 3, 31),
        date(2025, 4, 30),
    ]
    jan30 = date(2025, 1, 30)
    assert [term(jan30, 1, k)[1] for k in range(2)] == [date(2025, 2, 28), date(2025, 3, 30)]


def test_r22_a_yearly_term_from_feb_29_renews_feb_28() -> None:
    assert first_term(date(2024, 2, 29), 12) == (date(2024, 2, 29), date(2025, 2, 28))
    assert term(date(2024, 2, 29), 12, 3)[1] == date(2028, 2, 29)


def test_r22_worked_example_term() -> None:
    assert first_term(date(2025, 1, 1), 12) == (date(2025, 1, 1), date(2026, 1, 1))


@given(anchor=anchors, months=periods, count=st.integers(min_value=1, max_value=40))
def test_r22_terms_tile_time_without_gap_or_overlap(anchor: date, months: int, count: int) -> None:
    terms = [term(anchor, months, k) for k in range(count)]
    assert terms[0][0] == anchor
    for (_start, end), (next_start, next_end) in itertools.pairwise(terms):
        assert end == next_start
        assert next_start < next_end


@given(anchor=anchors, months=st.integers(min_value=1, max_value=600))
def test_r22_the_anchor_day_comes_back_whenever_the_month_has_it(anchor: date, months: int) -> None:
    moved = add_months(anchor, months)
    assert (moved.year * 12 + moved.month) - (anchor.year * 12 + anchor.month) == months
    assert moved.day == min(anchor.day, calendar.monthrange(moved.year, moved.month)[1])
