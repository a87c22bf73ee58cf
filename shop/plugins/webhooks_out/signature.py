"""The signature on every outgoing webhook, the scheme Stripe uses.

Header ``Shop-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256(secret, "<t>.<body>")>``,
where ``body`` is the raw request body (bytes, as received, before any JSON parsing) and
``secret`` the endpoint's secret shown once when it was registered (``whsec_…``). A
receiver checks it like this (the shop's own code, copy it or import it)::

    from shop.plugins.webhooks_out.signature import verify
    verify(secret, request.headers["Shop-Signature"], raw_body, now=time.time())

``verify`` recomputes the HMAC for ``t`` and compares in constant time, and refuses a
``t`` more than ``tolerance`` seconds (default 5 minutes) from ``now``, so a recorded
request cannot be replayed later. ``Shop-Event-Id`` carries the event's id: the same on
every attempt, so a receiver that gets an event twice (delivery is at least once) knows.
"""

from __future__ import annotations

import hashlib
import hmac

HEADER = "Shop-Signature"
EVENT_ID_HEADER = "Shop-Event-Id"
TOLERANCE = 300  # seconds


class InvalidSignature(ValueError):
    """The header is missing, malformed, too old, or was not made with the secret."""


def sign(secret: str, t: int, body: bytes) -> str:
    """The hex HMAC-SHA256 of ``"<t>.<body>"`` under ``secret``."""
    message = str(t).encode() + b"." + body
    return hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()


def header(secret: str, t: int, body: bytes) -> str:
    """The ``Shop-Signature`` value for ``body`` sent at unix time ``t``."""
    return f"t={t},v1={sign(secret, t, body)}"


def verify(
    secret: str, signature_header: str, body: bytes, now: float, tolerance: int = TOLERANCE
) -> int:
    """Check a ``Shop-Signature`` header for ``body``; return its ``t``, or raise
    ``InvalidSignature``. Any of several ``v1=`` values may match (a rotated secret)."""
    t: int | None = None
    candidates = []
    for part in signature_header.split(","):
        key, _, value = part.strip().partition("=")
        if key == "t" and value.isdigit():
            t = int(value)
        elif key == "v1":
            candidates.append(value)
    if t is None or not candidates:
        raise InvalidSignature("no t= and v1= in the header")
    if abs(now - t) > tolerance:
        raise InvalidSignature("the timestamp is outside the tolerance")
    expected = sign(secret, t, body)
    if not any(hmac.compare_digest(expected, candidate) for candidate in candidates):
        raise InvalidSignature("no v1= signature matches")
    return t
