"""Offline check of a licence file (an activation of one instance), for the vendor's software.

This module stands alone: it needs only the Python standard library and ``cryptography``
and imports nothing else of the shop, so the vendor's software can copy it as it is. The
shop signs (``shop.licences.licence_files``); anyone with the shop's public key verifies.

A licence file is JSON::

    {"format": "licence-shop-file/1", "payload": {...}, "signature": "<base64url>"}

The signature is Ed25519 over ``SIGNED_PREFIX`` followed by the payload as canonical JSON
(sorted keys, no spaces, UTF-8): change one character of the payload and it fails.

What the payload grants: the licence (id, licensee e-mail, product, quantities), the
instance (``fingerprint``, ``name``), ``paid_until`` (a subscription's or trial's paid
period, exclusive; null for a perpetual licence), ``maintenance_until`` (updates and
support, exclusive), ``issued_at`` and ``check_in_by`` (when the software should check in
for a fresh file) and ``grace_days``.

Expiry is warn-only for ``grace_days``: past ``check_in_by`` or a subscription's
``paid_until`` the file still verifies, with a warning, until the grace period is over.
A perpetual licence never expires with its maintenance (R23): after ``maintenance_until``
the software keeps working and gets a warning that updates and support have stopped; only
a version released after that day is not covered (``release_date``).
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

FORMAT = "licence-shop-file/1"
SIGNED_PREFIX = b"licence-shop-file/1\n"
MAX_FILE_BYTES = 64_000


class LicenceFileError(ValueError):
    """The file is not one the shop signed (or not a licence file at all)."""


def canonical(payload: Mapping[str, Any]) -> bytes:
    """The payload as the signature covers it: sorted keys, no spaces, UTF-8."""
    text = json.dumps(payload, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return text.encode("utf-8")


def signed_bytes(payload: Mapping[str, Any]) -> bytes:
    return SIGNED_PREFIX + canonical(payload)


def b64encode(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")


def _b64decode(text: str) -> bytes:
    try:
        raw = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    except (binascii.Error, ValueError):
        raise LicenceFileError("the signature is not base64url") from None
    if b64encode(raw) != text:
        raise LicenceFileError("the signature is not base64url")
    return raw


def load_public_key_pem(pem: str | bytes) -> Ed25519PublicKey:
    """The shop's public key from its PEM (served at /.well-known/licence-public-key.pem)."""
    data = pem.encode("utf-8") if isinstance(pem, str) else pem
    try:
        key = serialization.load_pem_public_key(data)
    except (ValueError, TypeError) as exc:
        raise LicenceFileError("not a PEM public key") from exc
    if not isinstance(key, Ed25519PublicKey):
        raise LicenceFileError("not an Ed25519 public key")
    return key


@dataclass(frozen=True)
class Grants:
    """What a verified licence file grants."""

    activation_id: int
    licence_id: int
    email: str
    product: str
    quantities: dict[str, int]
    status: str  # "trial" or "active"
    perpetual: bool
    fingerprint: str
    name: str | None
    paid_until: date | None
    maintenance_until: date | None
    issued_at: datetime
    check_in_by: datetime
    grace_days: int
    support: str | None = None
    test: bool = False  # issued in test mode: not valid for production


@dataclass(frozen=True)
class Verification:
    """The outcome: ``valid`` with what it ``grants`` and any ``warnings``, or the
    ``problem`` that refuses it. ``updates`` says whether updates and support are covered."""

    valid: bool
    grants: Grants | None = None
    warnings: tuple[str, ...] = ()
    problem: str | None = None
    updates: bool = False
    signature_ok: bool = field(default=False, repr=False)


def _day(value: Any, name: str) -> date | None:
    if value is None:
        return None
    if not isinstance(value, str):
        raise LicenceFileError(f"{name} is not a date")
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise LicenceFileError(f"{name} is not a date") from None


def _moment(value: Any, name: str) -> datetime:
    if not isinstance(value, str):
        raise LicenceFileError(f"{name} is not a date and time")
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise LicenceFileError(f"{name} is not a date and time") from None
    if moment.tzinfo is None:
        raise LicenceFileError(f"{name} has no time zone")
    return moment.astimezone(UTC)


def _int(value: Any, name: str) -> int:
    if not isinstance(value, int) or isinstance(value, bool):
        raise LicenceFileError(f"{name} is not an integer")
    return value


def _str(value: Any, name: str, optional: bool = False) -> Any:
    if value is None and optional:
        return None
    if not isinstance(value, str):
        raise LicenceFileError(f"{name} is not text")
    return value


def grants_of(payload: Mapping[str, Any]) -> Grants:
    """The payload's grants; :class:`LicenceFileError` when a field is missing or wrong."""
    try:
        quantities = payload["quantities"]
        if not isinstance(quantities, dict) or not all(
            isinstance(k, str) and _int(v, "quantity") >= 0 for k, v in quantities.items()
        ):
            raise LicenceFileError("quantities are not SKUs with counts")
        return Grants(
            activation_id=_int(payload["activation_id"], "activation_id"),
            licence_id=_int(payload["licence_id"], "licence_id"),
            email=_str(payload["email"], "email"),
            product=_str(payload["product"], "product"),
            quantities=dict(quantities),
            status=_str(payload["status"], "status"),
            perpetual=payload["perpetual"] is True,
            fingerprint=_str(payload["fingerprint"], "fingerprint"),
            name=_str(payload.get("name"), "name", optional=True),
            paid_until=_day(payload["paid_until"], "paid_until"),
            maintenance_until=_day(payload["maintenance_until"], "maintenance_until"),
            issued_at=_moment(payload["issued_at"], "issued_at"),
            check_in_by=_moment(payload["check_in_by"], "check_in_by"),
            grace_days=_int(payload["grace_days"], "grace_days"),
            support=_str(payload.get("support"), "support", optional=True),
            test=payload.get("test", False) is True,
        )
    except KeyError as exc:
        raise LicenceFileError(f"missing field {exc.args[0]!r}") from None


def read_file(text: str | bytes) -> tuple[dict[str, Any], bytes]:
    """The payload and signature of a licence file, unchecked."""
    if len(text) > MAX_FILE_BYTES:
        raise LicenceFileError("too large for a licence file")
    try:
        document = json.loads(text)
    except (ValueError, UnicodeDecodeError):
        raise LicenceFileError("not JSON") from None
    if not isinstance(document, dict) or document.get("format") != FORMAT:
        raise LicenceFileError(f"not a licence file (format {FORMAT!r} expected)")
    payload, signature = document.get("payload"), document.get("signature")
    if not isinstance(payload, dict) or not isinstance(signature, str):
        raise LicenceFileError("no payload and signature")
    return payload, _b64decode(signature)


def check_signature(text: str | bytes, public_key: Ed25519PublicKey) -> Grants:
    """The grants of ``text`` if the key's owner signed it; else :class:`LicenceFileError`."""
    payload, signature = read_file(text)
    try:
        public_key.verify(signature, signed_bytes(payload))
    except InvalidSignature:
        raise LicenceFileError("the signature does not match: the file was changed") from None
    return grants_of(payload)


def is_test_file(text: str | bytes) -> bool:
    """Whether the file says it was issued in test mode (unverified: to explain a failure)."""
    try:
        payload, _ = read_file(text)
    except LicenceFileError:
        return False
    return payload.get("test") is True


def verify_file(
    text: str | bytes,
    public_key: Ed25519PublicKey,
    *,
    fingerprint: str | None = None,
    now: datetime | None = None,
    release_date: date | None = None,
) -> Verification:
    """Check a licence file offline: signature, this instance's ``fingerprint``, expiry.

    ``now`` defaults to the system clock (UTC). ``release_date`` is the day the running
    version was released: a perpetual licence covers versions released before its
    maintenance ended.
    """
    try:
        grants = check_signature(text, public_key)
    except LicenceFileError as exc:
        return Verification(valid=False, problem=str(exc))
    now = (now or datetime.now(UTC)).astimezone(UTC)
    today = now.date()
    grace = timedelta(days=max(grants.grace_days, 0))
    warnings: list[str] = []

    def refuse(problem: str) -> Verification:
        return Verification(
            valid=False, grants=grants, warnings=tuple(warnings), problem=problem, signature_ok=True
        )

    if grants.test:
        warnings.append("a test file, issued in test mode: not valid for production")
    if fingerprint is not None and fingerprint != grants.fingerprint:
        return refuse(
            f"the file is for the instance {grants.fingerprint!r}, not for {fingerprint!r}"
        )
    if grants.issued_at - now > timedelta(days=1):
        return refuse("the file was issued in the future: check the system clock")
    if grants.paid_until is not None and today >= grants.paid_until:
        ends = grants.paid_until + grace
        if today >= ends:
            return refuse(f"the licence ran out on {grants.paid_until.isoformat()}")
        warnings.append(
            f"the paid period ended on {grants.paid_until.isoformat()}; the software works "
            f"until {ends.isoformat()} (grace period): renew the licence"
        )
    if now >= grants.check_in_by:
        overdue = grants.check_in_by + grace
        if now >= overdue:
            return refuse(
                f"no check-in since {grants.issued_at.date().isoformat()}: the file was due for "
                f"renewal on {grants.check_in_by.date().isoformat()}"
            )
        warnings.append(
            f"check in for a fresh licence file: it was due on "
            f"{grants.check_in_by.date().isoformat()}, the grace period ends on "
            f"{overdue.date().isoformat()}"
        )
    updates = grants.maintenance_until is None or today < grants.maintenance_until
    if not updates and grants.maintenance_until is not None:
        ended = grants.maintenance_until.isoformat()
        if release_date is not None and release_date >= grants.maintenance_until:
            return refuse(
                f"this version was released on {release_date.isoformat()}, after maintenance "
                f"ended on {ended}: the licence covers earlier versions"
            )
        if grants.perpetual:
            warnings.append(
                f"maintenance ended on {ended}: the software keeps working, updates and "
                "support have stopped (renew maintenance to get them again)"
            )
    return Verification(
        valid=not grants.test,
        grants=grants,
        warnings=tuple(warnings),
        problem="a test file is not valid for production" if grants.test else None,
        updates=updates,
        signature_ok=True,
    )


def describe(result: Verification) -> list[str]:
    """What a verification grants, one "label: value" line each, then warnings and problem."""
    lines: list[str] = []
    grants = result.grants
    if grants is not None:
        rows = [
            ("licence id", str(grants.licence_id)),
            ("activation", str(grants.activation_id)),
            ("e-mail", grants.email),
            ("product", grants.product),
            *(("quantity", f"{sku} = {n}") for sku, n in sorted(grants.quantities.items())),
            ("status", grants.status + (" (perpetual)" if grants.perpetual else "")),
            ("instance", grants.fingerprint + (f" ({grants.name})" if grants.name else "")),
            ("paid until", f"{grants.paid_until} (exclusive)" if grants.paid_until else "-"),
            (
                "maintenance",
                f"until {grants.maintenance_until} (exclusive)"
                if grants.maintenance_until
                else "-",
            ),
            ("updates", "yes" if result.updates else "no"),
            ("issued at", grants.issued_at.isoformat()),
            ("check in by", grants.check_in_by.isoformat()),
        ]
        if grants.support:
            rows.append(("support", grants.support))
        lines += [f"{label + ':':<13} {value}" for label, value in rows]
    lines += [f"warning: {warning}" for warning in result.warnings]
    if result.problem:
        lines.append(f"invalid licence file: {result.problem}")
    return lines
