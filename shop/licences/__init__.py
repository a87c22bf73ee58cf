"""Licences: signed, offline-verifiable licence keys (R6) and licence files (issue 14).

The names below come from ``shop.licences.keys`` on first use, so that importing
``shop.licences.verify`` alone loads nothing but it and ``cryptography``."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from shop.licences.keys import (
        PUBLIC_KEY_MEDIA_TYPE,
        PUBLIC_KEY_PATH,
        Grant,
        InvalidLicenceKey,
        InvalidSigningKey,
        generate_signing_key_b64,
        load_public_key,
        load_signing_key,
        public_key_document,
        public_key_pem,
        sign_grant,
        verify_key,
    )

__all__ = [
    "PUBLIC_KEY_MEDIA_TYPE",
    "PUBLIC_KEY_PATH",
    "Grant",
    "InvalidLicenceKey",
    "InvalidSigningKey",
    "generate_signing_key_b64",
    "load_public_key",
    "load_signing_key",
    "public_key_document",
    "public_key_pem",
    "sign_grant",
    "verify_key",
]


def __getattr__(name: str) -> Any:
    if name in __all__:
        from shop.licences import keys

        return getattr(keys, name)
    raise AttributeError(f"module 'shop.licences' has no attribute {name!r}")
