"""Terms (R22): calendar months anchored on the start day, clamped to month end.

A subscription's k-th term runs from ``add_months(anchor, k × n)`` to
``add_months(anchor, (k + 1) × n)``: computed from the anchor, never from the previous
end, so a clamped February does not pull every later term to the 28th.
"""

from __future__ import annotations

import calendar
from datetime import date


def add_months(anchor: date, months: int) -> date:
    """``anchor`` moved by whole calendar months, its day clamped to the month's end."""
    index = anchor.year * 12 + (anchor.month - 1) + months
    year, month = divmod(index, 12)
    last_day = calendar.monthrange(year, month + 1)[1]
    return date(year, month + 1, min(anchor.day, last_day))


def term(anchor: date, months: int, index: int) -> tuple[date, date]:
    """The ``index``-th term (0 is the first) of ``months`` months anchored on ``anchor``."""
    return add_months(anchor, index * months), add_months(anchor, (index + 1) * months)


def first_term(paid_on: date, months: int) -> tuple[date, date]:
    """A paid term starts on the day the order is paid in full (R22)."""
    return term(paid_on, months, 0)


def term_after(anchor: date, months: int, end: date) -> tuple[date, date]:
    """The term of those anchored on ``anchor`` that starts at ``end``, where the one
    before ended (or the first that starts after it): what a renewal pays for (R21)."""
    index = 0
    while term(anchor, months, index)[0] < end:
        index += 1
    return term(anchor, months, index)
