"""The one clock: every "now" in the shop comes from here.

``SHOP_CLOCK=2025-04-01T09:00:00+00:00`` freezes it, like Stripe's test clocks, so renewals
and proration can be demonstrated and tested without waiting.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo


class InvalidClock(ValueError):
    """SHOP_CLOCK is not an ISO 8601 date or datetime."""


def parse_frozen(value: str, tz: ZoneInfo) -> datetime:
    """Read a SHOP_CLOCK value; a naive value is taken in the shop's time zone."""
    try:
        moment = datetime.fromisoformat(value)
    except ValueError as exc:
        raise InvalidClock(f"SHOP_CLOCK={value!r} is not an ISO 8601 date or datetime") from exc
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=tz)
    return moment.astimezone(UTC)


@dataclass(frozen=True)
class Clock:
    timezone: ZoneInfo
    frozen_at: datetime | None = None

    @classmethod
    def from_setting(cls, frozen: str | None, timezone: str) -> Clock:
        tz = ZoneInfo(timezone)
        return cls(tz, parse_frozen(frozen, tz) if frozen else None)

    def now(self) -> datetime:
        """The current moment, timezone-aware, in UTC."""
        return self.frozen_at if self.frozen_at is not None else datetime.now(UTC)

    def today(self) -> date:
        """Today's date in the shop's time zone (days are counted there, R22)."""
        return self.now().astimezone(self.timezone).date()
