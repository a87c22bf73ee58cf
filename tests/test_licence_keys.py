"""R6: licence keys are Ed25519-signed and verifiable offline with the shop's public key."""

from __future__ import annotations

import base64
import json
import stat
from datetime import UTC, date, datetime, timedelta, timezone
from pathlib import Path

import pytest
from click.testing import CliRunner
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from hypothesis import given
from hypothesis import strategies as st

from shop.cli import main
from shop.licences.keys import (
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
from shop.settings import Settings

SIGNING_KEY = generate_signing_key_b64()
PRIVATE = load_signing_key(Settings(licence_signing_key=SIGNING_KEY, secret_key="x"))
PUBLIC = PRIVATE.public_key()

GRANT = Grant(
    licence_id=42,
    email="Anna.Muster@example.com",
    product="base",
    quantities={"base": 1, "base-persons": 30, "amweb": 1},
    status="active",
    paid_until=date(2026, 1, 1),
    issued_at=datetime(2025, 4, 1, 9, 0, tzinfo=UTC),
    support="Professional",
)


def b64url(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def unb64url(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def other_char(c: str) -> str:
    return "A" if c != "A" else "B"


def test_r6_round_trip_carries_id_email_product_quantities_and_paid_until() -> None:
    key = sign_grant(GRANT, PRIVATE)
    assert key.startswith("LS1.") and key.count(".") == 2 and "=" not in key
    assert verify_key(key, PUBLIC) == GRANT


def test_r6_payload_is_canonical_json_and_signature_covers_the_literal_text() -> None:
    """An independent verifier needs only base64url, JSON and Ed25519."""
    key = sign_grant(GRANT, PRIVATE)
    version, payload, signature = key.split(".")
    raw = unb64url(payload)
    assert raw == json.dumps(GRANT.to_json(), sort_keys=True, separators=(",", ":")).encode()
    assert json.loads(raw) == {
        "licence_id": 42,
        "email": "Anna.Muster@example.com",
        "product": "base",
        "quantities": {"base": 1, "base-persons": 30, "amweb": 1},
        "status": "active",
        "paid_until": "2026-01-01",
        "issued_at": "2025-04-01T09:00:00Z",
        "support": "Professional",
    }
    PUBLIC.verify(unb64url(signature), f"{version}.{payload}".encode())


def test_r6_trial_grant_without_support_or_paid_until_round_trips() -> None:
    trial = Grant(7, "t@example.org", "pro", {"pro": 1}, "trial", None, GRANT.issued_at)
    assert verify_key(sign_grant(trial, PRIVATE), PUBLIC) == trial


def test_r6_tampering_with_any_payload_character_is_rejected() -> None:
    key = sign_grant(GRANT, PRIVATE)
    start = len("LS1.")
    end = key.rindex(".")
    for i in range(start, end):
        tampered = key[:i] + other_char(key[i]) + key[i + 1 :]
        with pytest.raises(InvalidLicenceKey):
            verify_key(tampered, PUBLIC)


def test_r6_tampering_with_any_signature_character_is_rejected() -> None:
    """The last character has spare bits; strict base64 catches changes there too."""
    key = sign_grant(GRANT, PRIVATE)
    for i in range(key.rindex(".") + 1, len(key)):
        for replacement in {other_char(key[i]), chr(ord(key[i]) ^ 1)}:
            tampered = key[:i] + replacement + key[i + 1 :]
            with pytest.raises(InvalidLicenceKey):
                verify_key(tampered, PUBLIC)


def test_r6_a_re_signed_edited_payload_is_rejected_as_a_signature_mismatch() -> None:
    """A buyer raising their own seat count: valid JSON, old signature."""
    version, _, signature = sign_grant(GRANT, PRIVATE).split(".")
    more = dict(GRANT.to_json(), quantities={"base": 1, "base-persons": 300, "amweb": 1})
    payload = b64url(json.dumps(more, sort_keys=True, separators=(",", ":")).encode())
    with pytest.raises(InvalidLicenceKey, match="signature does not match"):
        verify_key(f"{version}.{payload}.{signature}", PUBLIC)


def test_r6_a_key_signed_by_another_private_key_is_rejected() -> None:
    forged = sign_grant(GRANT, Ed25519PrivateKey.generate())
    with pytest.raises(InvalidLicenceKey, match="signature does not match"):
        verify_key(forged, PUBLIC)


@pytest.mark.parametrize(
    ("key", "reason"),
    [
        ("", "malformed key"),
        ("hello", "malformed key"),
        ("LS1.abc", "malformed key"),
        ("LS1..abc", "malformed key"),
        ("LS1.a.b.c", "malformed key"),
        ("LS1.ab+c.def", "malformed key"),
        ("LS1.abcde.fgh", "malformed key"),
        ("LS2.abc.def", "unknown key version 'LS2'"),
        ("ls1.abc.def", "malformed key"),
    ],
)
def test_r6_malformed_keys_and_unknown_versions_are_rejected(key: str, reason: str) -> None:
    with pytest.raises(InvalidLicenceKey, match=reason):
        verify_key(key, PUBLIC)


def test_r6_an_unknown_version_prefix_is_rejected_even_with_a_valid_signature() -> None:
    _, payload, _ = sign_grant(GRANT, PRIVATE).split(".")
    signature = b64url(PRIVATE.sign(f"LS2.{payload}".encode()))
    with pytest.raises(InvalidLicenceKey, match="unknown key version"):
        verify_key(f"LS2.{payload}.{signature}", PUBLIC)


def test_r6_invalid_licence_key_is_a_value_error() -> None:
    assert issubclass(InvalidLicenceKey, ValueError)


def test_r6_a_pasted_key_with_whitespace_and_line_breaks_verifies() -> None:
    key = sign_grant(GRANT, PRIVATE)
    wrapped = "\n  " + "\r\n    ".join(key[i : i + 40] for i in range(0, len(key), 40)) + " \n\t"
    assert verify_key(wrapped, PUBLIC) == GRANT


def test_r6_key_file_is_created_0600_and_reused(tmp_path: Path) -> None:
    path = tmp_path / "keys" / "licence-signing-key.pem"
    settings = Settings(licence_key_file=path, secret_key="x")
    first = load_signing_key(settings)
    assert path.read_text().startswith("-----BEGIN PRIVATE KEY-----")
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    second = load_signing_key(settings)
    assert public_key_pem(second) == public_key_pem(first)
    key = sign_grant(GRANT, first)
    assert verify_key(key, second.public_key()) == GRANT
    assert [p.name for p in path.parent.iterdir()] == [path.name]  # no temporary left


def test_r6_a_missing_key_file_is_not_created_when_creation_is_off(tmp_path: Path) -> None:
    settings = Settings(licence_key_file=tmp_path / "none.pem", secret_key="x")
    with pytest.raises(InvalidSigningKey, match="does not exist"):
        load_signing_key(settings, create=False)
    assert not (tmp_path / "none.pem").exists()


def test_r6_env_style_base64_key_works_and_takes_precedence(tmp_path: Path) -> None:
    settings = Settings.from_env(
        {
            "SHOP_LICENCE_SIGNING_KEY": f"  {SIGNING_KEY}\n",
            "SHOP_LICENCE_KEY_FILE": str(tmp_path / "unused.pem"),
        }
    )
    private = load_signing_key(settings)
    assert public_key_pem(private) == public_key_pem(PRIVATE)
    assert not (tmp_path / "unused.pem").exists()
    raw = base64.b64decode(SIGNING_KEY)
    assert len(raw) == 32
    # The URL-safe alphabet without padding names the same key.
    urlsafe = Settings(licence_signing_key=b64url(raw), secret_key="x")
    assert public_key_pem(load_signing_key(urlsafe)) == public_key_pem(PRIVATE)


@pytest.mark.parametrize("value", ["not base64!", base64.b64encode(b"short").decode()])
def test_r6_a_bad_env_key_is_refused(value: str) -> None:
    with pytest.raises(InvalidSigningKey, match="32 raw bytes"):
        load_signing_key(Settings(licence_signing_key=value, secret_key="x"))


def test_r6_public_key_document_serves_the_pem_that_verifies_keys() -> None:
    media_type, pem = public_key_document(Settings(licence_signing_key=SIGNING_KEY, secret_key="x"))
    assert media_type == "application/x-pem-file"
    assert pem.startswith("-----BEGIN PUBLIC KEY-----")
    assert "PRIVATE" not in pem
    assert verify_key(sign_grant(GRANT, PRIVATE), load_public_key(pem)) == GRANT


def test_r6_load_public_key_refuses_other_key_types() -> None:
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ec

    pem = (
        ec.generate_private_key(ec.SECP256R1())
        .public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )
    with pytest.raises(InvalidSigningKey, match="not an Ed25519"):
        load_public_key(pem)
    with pytest.raises(InvalidSigningKey):
        load_public_key("garbage")


@pytest.mark.parametrize(
    "change",
    [
        {"status": "expired"},
        {"issued_at": datetime(2025, 4, 1, 9, 0)},
        {"quantities": {"base": -1}},
        {"quantities": {"base": True}},
        {"licence_id": "42"},
        {"paid_until": datetime(2026, 1, 1, tzinfo=UTC)},
    ],
)
def test_r6_a_grant_that_could_not_round_trip_is_refused(change: dict[str, object]) -> None:
    fields = {**GRANT.__dict__, **change}
    with pytest.raises(ValueError):
        Grant(**fields)


def test_r6_grant_normalises_issued_at_to_utc() -> None:
    berlin = timezone(timedelta(hours=2))
    grant = Grant(1, "a@b.c", "x", {}, "active", None, datetime(2025, 4, 1, 11, tzinfo=berlin))
    assert grant.issued_at.tzinfo is UTC
    assert grant.issued_at == datetime(2025, 4, 1, 9, tzinfo=UTC)


# The CLI: an operator (or a support agent) checks a customer's key offline.


def cli_env(tmp_path: Path) -> dict[str, str]:
    return {
        "SHOP_LICENCE_SIGNING_KEY": SIGNING_KEY,
        "SHOP_LICENCE_KEY_FILE": str(tmp_path / "never-created.pem"),
    }


def test_r6_cli_verify_prints_the_grant_and_exits_0(tmp_path: Path) -> None:
    key = sign_grant(GRANT, PRIVATE)
    result = CliRunner().invoke(main, ["licence", "verify", key], env=cli_env(tmp_path))
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert lines == [
        "licence id:  42",
        "e-mail:      Anna.Muster@example.com",
        "product:     base",
        "quantity:    amweb = 1",
        "quantity:    base = 1",
        "quantity:    base-persons = 30",
        "status:      active",
        "paid until:  2026-01-01 (exclusive)",
        "issued at:   2025-04-01T09:00:00+00:00",
        "support:     Professional",
    ]
    assert not (tmp_path / "never-created.pem").exists()


def test_r6_cli_verify_exits_1_with_the_reason_for_a_tampered_key(tmp_path: Path) -> None:
    key = sign_grant(GRANT, PRIVATE)
    i = len("LS1.") + 5
    tampered = key[:i] + other_char(key[i]) + key[i + 1 :]
    result = CliRunner().invoke(main, ["licence", "verify", tampered], env=cli_env(tmp_path))
    assert result.exit_code == 1
    assert result.stderr.strip() == "invalid licence key: signature does not match"
    assert result.stdout == ""


def test_r6_cli_verify_with_a_public_key_file_and_a_key_from_stdin(tmp_path: Path) -> None:
    """No signing key configured at all: the public PEM alone verifies."""
    pem = tmp_path / "shop.pem"
    pem.write_text(public_key_pem(PRIVATE))
    key = sign_grant(GRANT, PRIVATE)
    env = {"SHOP_LICENCE_KEY_FILE": str(tmp_path / "absent.pem")}
    args = ["licence", "verify", "--public-key", str(pem), "-"]
    result = CliRunner().invoke(main, args, input=f"\n{key[:50]}\n{key[50:]}\n", env=env)
    assert result.exit_code == 0, result.output
    assert "licence id:  42" in result.stdout

    other = tmp_path / "other.pem"
    other.write_text(public_key_pem(Ed25519PrivateKey.generate()))
    args = ["licence", "verify", "--public-key", str(other), key]
    result = CliRunner().invoke(main, args, env=env)
    assert result.exit_code == 1
    assert "invalid licence key: signature does not match" in result.stderr


def test_r6_cli_verify_without_any_key_says_what_is_missing(tmp_path: Path) -> None:
    env = {"SHOP_LICENCE_KEY_FILE": str(tmp_path / "absent.pem")}
    result = CliRunner().invoke(main, ["licence", "verify", sign_grant(GRANT, PRIVATE)], env=env)
    assert result.exit_code == 1
    assert "no signing key" in result.stderr
    assert not (tmp_path / "absent.pem").exists()


def test_r6_cli_keygen_prints_a_usable_secret(tmp_path: Path) -> None:
    result = CliRunner().invoke(main, ["licence", "keygen"])
    assert result.exit_code == 0
    value = result.stdout.strip()
    assert len(base64.b64decode(value, validate=True)) == 32
    assert "secret" in result.stderr.lower()
    private = load_signing_key(Settings(licence_signing_key=value, secret_key="x"))
    assert verify_key(sign_grant(GRANT, private), private.public_key()) == GRANT


# Property: whatever the e-mail and quantities, verify(sign(g)) == g.

grants = st.builds(
    Grant,
    licence_id=st.integers(min_value=1, max_value=2**53),
    email=st.emails(),
    product=st.text(min_size=1, max_size=30),
    quantities=st.dictionaries(
        st.text(min_size=1, max_size=20), st.integers(min_value=0, max_value=10**9), max_size=6
    ),
    status=st.sampled_from(["trial", "active"]),
    paid_until=st.none() | st.dates(min_value=date(2000, 1, 1), max_value=date(2100, 1, 1)),
    issued_at=st.datetimes(
        min_value=datetime(2000, 1, 1),
        max_value=datetime(2100, 1, 1),
        timezones=st.sampled_from(
            [UTC, timezone(timedelta(hours=1)), timezone(-timedelta(hours=5))]
        ),
    ),
    support=st.none() | st.text(max_size=30),
)


@given(grants)
def test_r6_property_verify_of_sign_is_the_grant(grant: Grant) -> None:
    assert verify_key(sign_grant(grant, PRIVATE), PUBLIC) == grant
