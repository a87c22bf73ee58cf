"""Maintenance of perpetual (server) licences (R23-R26): when support and updates end.

The software keeps working after maintenance ends; only updates and support stop (R23).
Maintenance is counted in calendar months like terms (R22), so a purchase on Jan 31 is
maintained to Jan 31 of the next year and one on Feb 29 to Feb 28.

Pure functions on dates; the caller supplies the clock's today and the stored end.
"""

from __future__ import annotations

from datetime import date

from shop.subscriptions.terms import add_months

MAINTENANCE_MONTHS = 12
MAX_MONTHS_AHEAD = 36  # R25: at most 3 years of maintenance paid ahead


class MaintenanceTooFarAhead(ValueError):
    """A renewal would pay maintenance more than 3 years ahead of today (R25).

    Carries the latest end allowed today, so the page can say how much may still be
    bought instead of only refusing.
    """

    def __init__(self, requested_end: date, latest_end: date) -> None:
        super().__init__(
            f"maintenance to {requested_end} is more than 3 years ahead; "
            f"the latest end allowed is {latest_end}"
        )
        self.requested_end = requested_end
        self.latest_end = latest_end


def maintenance_end_after_purchase(paid_on: date) -> date:
    """A perpetual licence is maintained 12 months from the day it is paid (R23)."""
    return add_months(paid_on, MAINTENANCE_MONTHS)


def latest_maintenance_end(today: date) -> date:
    """The furthest maintenance end that may be paid for on ``today`` (R25)."""
    return add_months(today, MAX_MONTHS_AHEAD)


def renew_maintenance(current_end: date, today: date, years: int = 1) -> date:
    """The new maintenance end after buying ``years`` more years on ``today``.

    The renewal starts at the previous end whenever it is bought (R24): renewing early
    loses nothing, and renewing a lapsed maintenance late pays for the gap too, so a
    lapse is never a way to skip paying for updates. The result may therefore still lie
    in the past. An end more than 3 years after ``today`` is refused (R25), exactly 3
    years is allowed.
    """
    if years < 1:
        raise ValueError(f"a maintenance renewal is for at least one year, not {years}")
    new_end = add_months(current_end, MAINTENANCE_MONTHS * years)
    latest = latest_maintenance_end(today)
    if new_end > latest:
        raise MaintenanceTooFarAhead(new_end, latest)
    return new_end


def tier_upgrade_maintenance(paid_on: date) -> date:
    """A tier upgrade starts a fresh 12 months from its payment, replacing the old end (R26).

    The old end is dropped even when it was later: the upgrade is a new licence of the
    higher tier, not an extension of the old one.
    """
    return add_months(paid_on, MAINTENANCE_MONTHS)
