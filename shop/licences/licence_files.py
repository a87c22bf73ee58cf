"""Signed licence files for activations (issue 14): what a licence grants one instance,
signed with the shop's licence key pair (R6), in the format ``shop.licences.verify`` reads.

A file is issued with the licence's entitlements at that moment: after a renewal, upgrade
or maintenance extension the next check-in's file carries the new ``paid_until``,
``maintenance_until`` and quantities; the licence id (SEN) stays.
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from shop.catalog.products import Kind, Product
from shop.licences.keys import derived_test_key, load_signing_key
from shop.licences.models import Activation, Licence, LicenceStatus
from shop.licences.verify import FORMAT, b64encode, signed_bytes
from shop.settings import Settings


def _stamp(moment: datetime) -> str:
    return moment.astimezone(ZoneInfo("UTC")).isoformat().replace("+00:00", "Z")


def file_payload(
    licence: Licence,
    activation: Activation,
    product: Product | None,
    settings: Settings,
    now: datetime,
) -> dict[str, Any]:
    """The grants of ``activation``'s licence file, as of ``now``."""
    assert licence.id is not None and activation.id is not None
    trial = licence.status == LicenceStatus.TRIAL
    perpetual = not trial and product is not None and product.kind == Kind.PERPETUAL
    paid_until = licence.paid_until
    if trial and licence.trial_ends_at is not None:
        paid_until = licence.trial_ends_at.astimezone(ZoneInfo(settings.timezone)).date()
    payload: dict[str, Any] = {
        "activation_id": activation.id,
        "licence_id": licence.id,
        "email": licence.email,
        "product": licence.product,
        "quantities": {sku: int(n) for sku, n in licence.quantities.items()},
        "status": "trial" if trial else "active",
        "perpetual": perpetual,
        "fingerprint": activation.fingerprint,
        "name": activation.name,
        # A perpetual licence is paid once: only its maintenance ends (R23).
        "paid_until": None if perpetual or paid_until is None else paid_until.isoformat(),
        "maintenance_until": paid_until.isoformat() if paid_until is not None else None,
        "issued_at": _stamp(now),
        "check_in_by": _stamp(now + timedelta(days=settings.activation_check_in_days)),
        "grace_days": settings.activation_grace_days,
        "support": licence.support,
    }
    if settings.payments_test_mode:
        payload["test"] = True
    return payload


def sign_payload(payload: dict[str, Any], key: Ed25519PrivateKey) -> str:
    """The licence file's text: the payload and its Ed25519 signature, as JSON."""
    signature = b64encode(key.sign(signed_bytes(payload)))
    document = {"format": FORMAT, "payload": payload, "signature": signature}
    return json.dumps(document, indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def issue_file(
    licence: Licence,
    activation: Activation,
    product: Product | None,
    settings: Settings,
    now: datetime,
) -> str:
    """A fresh licence file; in test mode marked and signed with the test key, so it never
    verifies against the shop's public key."""
    key = load_signing_key(settings)
    if settings.payments_test_mode:
        key = derived_test_key(key)
    return sign_payload(file_payload(licence, activation, product, settings, now), key)
