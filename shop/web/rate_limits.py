"""Rate limits on the calls a stranger can repeat to guess, spam or lock out (issue 12):
links by e-mail, the operator login, trials, checkout and activations. Litestar's middleware
counts per client address; each limit has its own bucket, so trials never use up checkouts.

``SHOP_RATE_LIMITS`` sets them (``name=N/unit`` by commas, ``name=off`` to switch one off),
e.g. a load test from one address sets ``checkout=off``. The counts live in each process's
memory: with ``shop serve --workers N`` a client may reach N times a limit."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

from litestar import Request
from litestar.middleware import DefineMiddleware
from litestar.middleware.rate_limit import (
    RateLimitConfig,
    RateLimitMiddleware,
    get_remote_address,
)
from litestar.types import Receive, Scope, Send

Unit = Literal["second", "minute", "hour", "day"]


@dataclass(frozen=True)
class Limit:
    """A bucket: the POSTs to these paths, at most ``count`` per ``unit`` per address."""

    name: str
    paths: tuple[str, ...]  # regular expressions, matched against the whole path
    count: int
    unit: Unit = "minute"


# The defaults: generous for a person, tight for a script (30 wrong operator logins get
# 429 long before the 30th).
LIMITS = (
    # Calls that mail a link to an address (login, address release, a new account e-mail):
    # no mail bombs.
    Limit(
        "mail_link",
        (
            r"/api/v1/account/login-link",
            r"/[a-z]{2}/login",
            r"/api/v1/address-release",
            r"/[a-z]{2}/address/release",
            r"/[a-z]{2}/account/email",
        ),
        5,
    ),
    Limit("operator_login", (r"/admin/login",), 10),
    Limit("trial", (r"/api/v1/trials", r"/[a-z]{2}/trial"), 10),
    Limit("checkout", (r"/api/v1/orders", r"/[a-z]{2}/checkout/place"), 30),
    # The vendor's software activating and checking in (issue 14): guessing keys or
    # fingerprints from one address stops here.
    Limit("activation", (r"/api/v1/activations/?", r"/api/v1/activations/[0-9]+/check-in"), 30),
    # The cancel and withdrawal buttons mail a receipt to the address given (§312k, §356a).
    Limit("declaration", (r"/[a-z]{2}/cancel/submit", r"/[a-z]{2}/withdraw/submit"), 10),
)
UNITS: tuple[Unit, ...] = ("second", "minute", "hour", "day")


class RateLimitSettingError(ValueError):
    pass


def parse_limits(text: str) -> dict[str, tuple[int, Unit] | None]:
    """``"checkout=off, trial=3/hour"`` as ``{"checkout": None, "trial": (3, "hour")}``."""
    known = {limit.name for limit in LIMITS}
    parsed: dict[str, tuple[int, Unit] | None] = {}
    for part in filter(None, (p.strip() for p in text.split(","))):
        name, _, value = (s.strip() for s in part.partition("="))
        if name not in known:
            raise RateLimitSettingError(f"unknown rate limit {name!r}: one of {sorted(known)}")
        if value in {"off", "0"}:
            parsed[name] = None
            continue
        count, _, unit = value.partition("/")
        if not count.isdigit() or unit not in UNITS:
            raise RateLimitSettingError(f"rate limit {part!r}: write it as N/minute (or off)")
        parsed[name] = (int(count), unit)
    return parsed


def limits_for(overrides: Mapping[str, tuple[int, Unit] | None]) -> list[Limit]:
    """The limits in force: the defaults with the operator's overrides."""
    chosen = []
    for limit in LIMITS:
        if limit.name not in overrides:
            chosen.append(limit)
        elif (override := overrides[limit.name]) is not None:
            chosen.append(Limit(limit.name, limit.paths, *override))
    return chosen


def _middleware(limit: Limit) -> DefineMiddleware:
    pattern = re.compile("|".join(f"(?:{p})" for p in limit.paths))

    class Counted(RateLimitMiddleware):
        """Only the limit's POSTs: every other request passes without being looked at."""

        async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
            if scope.get("method") == "POST" and pattern.fullmatch(scope["path"]):
                await super().__call__(scope, receive, send)
            else:
                await self.app(scope, receive, send)

    def bucket(request: Request[Any, Any, Any]) -> str:
        return f"{limit.name}:{get_remote_address(request)}"

    return RateLimitConfig(
        rate_limit=(limit.unit, limit.count),
        identifier_for_request=bucket,
        store=f"rate_limit_{limit.name}",
        middleware_class=Counted,
    ).middleware


def rate_limit_middleware(setting: str) -> list[DefineMiddleware]:
    return [_middleware(limit) for limit in limits_for(parse_limits(setting))]
