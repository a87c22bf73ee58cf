"""The Dutch rule (Wet verlenging en opzegging, 2011) as a pure function, checked over many
dates with hypothesis: in the first term a cancellation ends with that term; after it, a
Dutch consumer's ends within one month, never later than everyone else's (R10, R22)."""

from __future__ import annotations

from datetime import date, timedelta

from hypothesis import given
from hypothesis import strategies as st

from shop.subscriptions.dutch_rule import earliest_end, running_term_end
from shop.subscriptions.terms import add_months, term

starts = st.dates(min_value=date(2020, 1, 1), max_value=date(2030, 12, 31))
months = st.sampled_from([1, 3, 12])
days_later = st.integers(min_value=0, max_value=365 * 4)


@given(starts, months, days_later)
def test_the_running_term_end_is_a_term_boundary_after_today(
    start: date, n: int, later: int
) -> None:
    today = start + timedelta(days=later)
    end = running_term_end(start, n, today)
    assert end > today
    boundaries = [term(start, n, k)[1] for k in range(0, 60)]
    assert end in boundaries
    assert all(b <= today for b in boundaries if b < end)  # the first boundary after today


@given(starts, months, days_later, st.booleans())
def test_in_the_first_term_everyone_ends_with_the_first_term(
    start: date, n: int, later: int, dutch: bool
) -> None:
    today = start + timedelta(days=later)
    first_end = add_months(start, n)
    if today < first_end:
        assert earliest_end(start, n, today, dutch_consumer=dutch) == first_end


@given(starts, months, days_later)
def test_after_the_first_term_a_dutch_consumer_ends_within_a_month(
    start: date, n: int, later: int
) -> None:
    today = start + timedelta(days=later)
    dutch = earliest_end(start, n, today, dutch_consumer=True)
    others = earliest_end(start, n, today, dutch_consumer=False)
    assert today < dutch <= others  # never later than the term end, always in the future
    if today >= add_months(start, n):
        assert dutch <= add_months(today, 1)
        assert dutch == min(others, add_months(today, 1))
    else:
        assert dutch == others


def test_the_worked_examples() -> None:
    # A yearly subscription from 2025-01-01, cancelled on 2026-03-10 (second term).
    assert earliest_end(date(2025, 1, 1), 12, date(2026, 3, 10), dutch_consumer=True) == date(
        2026, 4, 10
    )
    assert earliest_end(date(2025, 1, 1), 12, date(2026, 3, 10), dutch_consumer=False) == date(
        2027, 1, 1
    )
    # In the first term: the first term's end, Dutch or not.
    assert earliest_end(date(2025, 1, 1), 12, date(2025, 4, 1), dutch_consumer=True) == date(
        2026, 1, 1
    )
    # Jan 31 + one month is clamped to the end of February (R22).
    assert earliest_end(date(2024, 1, 31), 12, date(2026, 1, 31), dutch_consumer=True) == date(
        2026, 2, 28
    )
