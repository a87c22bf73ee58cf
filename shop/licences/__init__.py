"""Licences: signed, offline-verifiable licence keys (R6)."""

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
