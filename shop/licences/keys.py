"""Signed licence keys (R6): what a licence grants, signed with Ed25519, checkable offline.

A key is ``LS1.<payload>.<signature>``: the payload is base64url of the grant as canonical
JSON (sorted keys, no spaces, UTF-8), the signature is base64url of the Ed25519 signature
over the literal ASCII bytes ``LS1.<payload>``; both without padding. Signing the text as
written (not re-serialised JSON) means a verifier in any language needs no canonical JSON
of its own: split, check the signature, then read the JSON.

Keys issued in test mode (``Settings.payments_test_mode``: fake providers, no money) carry
``"test": true`` in the grant and are signed with a separate test key derived from the
signing key (``derived_test_key``), so they never verify against the shop's public key:
a fake payment cannot yield a production-valid key.

Nothing here touches the web or the database; the shop signs, anyone with the public key
verifies. Verifying only proves the shop issued the grant: whether ``paid_until`` has
passed is the verifier's call, with its own clock.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
import secrets
from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any, Literal, get_args

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from shop.private_files import create_once
from shop.settings import Settings

VERSION = "LS1"
PUBLIC_KEY_PATH = "/.well-known/licence-public-key.pem"
PUBLIC_KEY_MEDIA_TYPE = "application/x-pem-file"

Status = Literal["trial", "active"]
STATUSES: tuple[str, ...] = get_args(Status)

TEST_KEY_INFO = b"licence-shop LS1 test-mode signing key"

_B64URL = re.compile(r"[A-Za-z0-9_-]*")
_VERSION_LIKE = re.compile(r"LS[0-9]{1,4}")


class InvalidLicenceKey(ValueError):
    """A key that is not one the shop signed; ``str(exc)`` is a short English reason."""


class InvalidSigningKey(ValueError):
    """The configured signing key or a given public key cannot be used."""


@dataclass(frozen=True)
class Grant:
    """What a licence key grants (R6), as signed into the key.

    ``paid_until`` is the end of the paid period (for a trial: the trial end), exclusive;
    ``quantities`` maps each SKU, add-ons included, to its total quantity.
    """

    licence_id: int
    email: str
    product: str
    quantities: dict[str, int]
    status: Status
    paid_until: date | None
    issued_at: datetime
    support: str | None = None
    test: bool = False  # issued in test mode: signed with the test key, never for production

    def __post_init__(self) -> None:
        # Checked here so a grant that could not round-trip through a key never gets signed.
        if not _is_int(self.licence_id):
            raise ValueError("licence_id must be an integer")
        for name in ("email", "product"):
            if not isinstance(getattr(self, name), str):
                raise ValueError(f"{name} must be a string")
        if not isinstance(self.quantities, Mapping) or not all(
            isinstance(sku, str) and _is_int(n) and n >= 0 for sku, n in self.quantities.items()
        ):
            raise ValueError("quantities must map SKUs to non-negative integers")
        if self.status not in STATUSES:
            raise ValueError(f"status must be one of {', '.join(STATUSES)}")
        if self.paid_until is not None and (
            not isinstance(self.paid_until, date) or isinstance(self.paid_until, datetime)
        ):
            raise ValueError("paid_until must be a date or None")
        if not isinstance(self.issued_at, datetime) or self.issued_at.utcoffset() is None:
            raise ValueError("issued_at must be a timezone-aware datetime")
        if self.support is not None and not isinstance(self.support, str):
            raise ValueError("support must be a string or None")
        if not isinstance(self.test, bool):
            raise ValueError("test must be a boolean")
        # A private copy (the caller's dict cannot change a signed grant) and UTC throughout.
        object.__setattr__(self, "quantities", dict(self.quantities))
        object.__setattr__(self, "issued_at", self.issued_at.astimezone(UTC))

    def to_json(self) -> dict[str, Any]:
        marker = {"test": True} if self.test else {}  # production keys read as before
        return marker | {
            "licence_id": self.licence_id,
            "email": self.email,
            "product": self.product,
            "quantities": dict(self.quantities),
            "status": self.status,
            "paid_until": None if self.paid_until is None else self.paid_until.isoformat(),
            "issued_at": self.issued_at.isoformat().replace("+00:00", "Z"),
            "support": self.support,
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Grant:
        """The grant in ``data``; unknown fields are ignored so LS1 can grow compatibly."""
        try:
            paid_until = data["paid_until"]
            issued_at = data["issued_at"]
            if not isinstance(issued_at, str) or not (
                paid_until is None or isinstance(paid_until, str)
            ):
                raise ValueError("dates must be ISO 8601 strings")
            return cls(
                licence_id=data["licence_id"],
                email=data["email"],
                product=data["product"],
                quantities=data["quantities"],
                status=data["status"],
                paid_until=None if paid_until is None else date.fromisoformat(paid_until),
                issued_at=datetime.fromisoformat(issued_at),
                support=data.get("support"),
                test=data.get("test", False),
            )
        except KeyError as exc:
            raise ValueError(f"missing field {exc.args[0]!r}") from None


def _is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _b64encode(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")


def _b64decode(text: str) -> bytes:
    """Strict base64url without padding: one text per byte string, so none can be altered."""
    if not _B64URL.fullmatch(text) or len(text) % 4 == 1:
        raise InvalidLicenceKey("malformed key")
    try:
        raw = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    except binascii.Error:
        raise InvalidLicenceKey("malformed key") from None
    # Unused low bits in the last character would otherwise let two texts decode alike.
    if _b64encode(raw) != text:
        raise InvalidLicenceKey("malformed key")
    return raw


def canonical_payload(grant: Grant) -> bytes:
    """The grant as canonical JSON: sorted keys, no spaces, UTF-8."""
    text = json.dumps(grant.to_json(), sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return text.encode("utf-8")


def sign_grant(grant: Grant, private_key: Ed25519PrivateKey) -> str:
    """The licence key for ``grant``: ``LS1.<payload>.<signature>``."""
    signed = f"{VERSION}.{_b64encode(canonical_payload(grant))}"
    return f"{signed}.{_b64encode(private_key.sign(signed.encode('ascii')))}"


def verify_key(key: str, public_key: Ed25519PublicKey) -> Grant:
    """The grant in ``key`` if the shop's key signed it; else :class:`InvalidLicenceKey`.

    Whitespace anywhere is dropped first: keys are pasted from e-mails, wrapped or indented.
    """
    parts = "".join(key.split()).split(".")
    if parts[0] != VERSION and _VERSION_LIKE.fullmatch(parts[0]):
        raise InvalidLicenceKey(f"unknown key version {parts[0]!r}")
    if len(parts) != 3 or parts[0] != VERSION or not all(parts):
        raise InvalidLicenceKey("malformed key")
    version, payload_part, signature_part = parts
    payload, signature = _b64decode(payload_part), _b64decode(signature_part)
    try:
        public_key.verify(signature, f"{version}.{payload_part}".encode("ascii"))
    except InvalidSignature:
        raise InvalidLicenceKey("signature does not match") from None
    try:
        data = json.loads(payload.decode("utf-8"))
        if not isinstance(data, dict):
            raise ValueError("not a JSON object")
        return Grant.from_json(data)
    except (ValueError, TypeError) as exc:
        # Only a signing bug gets here: the signature held, so the shop wrote this payload.
        raise InvalidLicenceKey(f"payload is not a licence grant: {exc}") from None


def is_test_key(key: str) -> bool:
    """Whether ``key`` says it is a test key (unverified: only to explain a failure)."""
    parts = "".join(key.split()).split(".")
    if len(parts) != 3 or parts[0] != VERSION:
        return False
    try:
        data = json.loads(_b64decode(parts[1]).decode("utf-8"))
    except (InvalidLicenceKey, ValueError):
        return False
    return isinstance(data, dict) and data.get("test") is True


def derived_test_key(signing_key: Ed25519PrivateKey) -> Ed25519PrivateKey:
    """The test-mode key of a shop: derived from its signing key (HKDF-SHA256), so every
    process of the shop has the same one without storing another secret, and no one
    without the signing key can sign test keys either. Its public half is not the shop's."""
    raw = signing_key.private_bytes(
        serialization.Encoding.Raw, serialization.PrivateFormat.Raw, serialization.NoEncryption()
    )
    derived = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=TEST_KEY_INFO).derive(raw)
    return Ed25519PrivateKey.from_private_bytes(derived)


def sign_licence_grant(grant: Grant, settings: Settings) -> str:
    """``grant`` signed as ``settings`` say: in test mode marked and signed with the test key."""
    key = load_signing_key(settings)
    if settings.payments_test_mode:
        return sign_grant(replace(grant, test=True), derived_test_key(key))
    return sign_grant(grant, key)


def generate_signing_key_b64() -> str:
    """A fresh private key as base64 of its 32 raw bytes, for SHOP_LICENCE_SIGNING_KEY."""
    return base64.b64encode(secrets.token_bytes(32)).decode("ascii")


def _private_from_b64(value: str) -> Ed25519PrivateKey:
    text = "".join(value.split()).rstrip("=")
    standard = text.replace("-", "+").replace("_", "/") + "=" * (-len(text) % 4)
    try:
        raw = base64.b64decode(standard, validate=True)
    except binascii.Error:
        raw = b""
    if len(raw) != 32:
        raise InvalidSigningKey("SHOP_LICENCE_SIGNING_KEY must be base64 of 32 raw bytes")
    return Ed25519PrivateKey.from_private_bytes(raw)


def _read_key_file(path: Path) -> Ed25519PrivateKey:
    try:
        key = serialization.load_pem_private_key(path.read_bytes(), password=None)
    except (ValueError, TypeError) as exc:
        raise InvalidSigningKey(f"{path} is not an unencrypted PEM private key") from exc
    if not isinstance(key, Ed25519PrivateKey):
        raise InvalidSigningKey(f"{path} does not hold an Ed25519 private key")
    return key


def _create_key_file(path: Path) -> Ed25519PrivateKey:
    """A new key in a file readable by the owner only; a concurrent creator's key wins."""
    key = Ed25519PrivateKey.generate()
    pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    if create_once(path, pem) != pem:
        return _read_key_file(path)
    return key


def load_signing_key(settings: Settings, *, create: bool = True) -> Ed25519PrivateKey:
    """The shop's private key: SHOP_LICENCE_SIGNING_KEY if set, else the key file.

    The key file is created on first use unless ``create`` is false; then a missing file
    raises :class:`InvalidSigningKey` (verifying against a brand-new key is pointless).
    """
    if settings.licence_signing_key:
        return _private_from_b64(settings.licence_signing_key)
    path = settings.licence_key_file
    if path.exists():
        return _read_key_file(path)
    if not create:
        raise InvalidSigningKey(
            f"no signing key: SHOP_LICENCE_SIGNING_KEY is unset and {path} does not exist"
        )
    return _create_key_file(path)


def public_key_pem(private_key: Ed25519PrivateKey) -> str:
    """The public half as a SubjectPublicKeyInfo PEM, the form verifiers load."""
    return (
        private_key.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode("ascii")
    )


def load_public_key(pem: str) -> Ed25519PublicKey:
    """An Ed25519 public key from PEM; anything else raises :class:`InvalidSigningKey`."""
    try:
        key = serialization.load_pem_public_key(pem.encode("utf-8"))
    except (ValueError, TypeError) as exc:
        raise InvalidSigningKey("not a PEM public key") from exc
    if not isinstance(key, Ed25519PublicKey):
        raise InvalidSigningKey("not an Ed25519 public key")
    return key


def public_key_document(settings: Settings) -> tuple[str, str]:
    """(media type, PEM) of the shop's public key, served at :data:`PUBLIC_KEY_PATH`."""
    return PUBLIC_KEY_MEDIA_TYPE, public_key_pem(load_signing_key(settings))
