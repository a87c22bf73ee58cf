"""Licence files offline (issue 14): ``shop.licences.verify`` imports nothing of the shop,
checks the signature, the instance and expiry with a warn-only grace period (a perpetual
licence after maintenance: a warning, never a refusal, R23); ``shop licence verify-file``
prints what a file grants and exits 1 when it is not valid."""

from __future__ import annotations

import base64
import json
import subprocess
import sys
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from shop.cli import main
from shop.licences.keys import public_key_pem
from shop.licences.licence_files import sign_payload
from shop.licences.verify import describe, verify_file

PRIVATE = Ed25519PrivateKey.generate()
PUBLIC = PRIVATE.public_key()


def grants(**change: Any) -> dict[str, Any]:
    return {
        "activation_id": 7,
        "licence_id": 42,
        "email": "it@example.com",
        "product": "base-yearly",
        "quantities": {"base-yearly": 1, "persons-yearly": 30},
        "status": "active",
        "perpetual": False,
        "fingerprint": "srv-1",
        "name": "Main server",
        "paid_until": "2026-01-01",
        "maintenance_until": "2026-01-01",
        "issued_at": "2025-06-01T09:00:00Z",
        "check_in_by": "2025-07-01T09:00:00Z",
        "grace_days": 14,
        "support": None,
        **change,
    }


def at(day: str) -> datetime:
    return datetime.fromisoformat(day).replace(tzinfo=UTC)


def test_the_module_imports_on_its_own_with_only_cryptography() -> None:
    """The vendor's software imports it without the shop's dependencies."""
    code = (
        "import sys\n"
        "import shop.licences.verify\n"
        "ours = sorted(m for m in sys.modules if m == 'shop' or m.startswith('shop.'))\n"
        "assert ours == ['shop', 'shop.licences', 'shop.licences.verify'], ours\n"
        "heavy = [m for m in ('pluggy', 'sqlmodel', 'sqlalchemy', 'litestar', 'babel', "
        "'click', 'jinja2') if m in sys.modules]\n"
        "assert not heavy, heavy\n"
        "print('alone')\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "alone"


def test_a_fresh_file_verifies_and_says_what_it_grants() -> None:
    text = sign_payload(grants(), PRIVATE)
    result = verify_file(text, PUBLIC, fingerprint="srv-1", now=at("2025-06-02"))
    assert result.valid and result.warnings == () and result.updates
    assert result.grants is not None
    assert result.grants.quantities == {"base-yearly": 1, "persons-yearly": 30}
    assert result.grants.paid_until == date(2026, 1, 1)
    assert "quantity:     persons-yearly = 30" in describe(result)


def flipped(signature: str) -> str:
    """The signature with one bit of its first byte changed (a fixed replacement of its
    last characters would be no change at all when the signature already ends in them)."""
    raw = bytearray(base64.urlsafe_b64decode(signature + "=" * (-len(signature) % 4)))
    raw[0] ^= 1
    return base64.urlsafe_b64encode(bytes(raw)).rstrip(b"=").decode("ascii")


@pytest.mark.parametrize(
    "tamper",
    [
        lambda d: d["payload"]["quantities"].update({"persons-yearly": 300}),
        lambda d: d["payload"].update({"paid_until": "2036-01-01"}),
        lambda d: d["payload"].update({"fingerprint": "srv-2"}),
        lambda d: d.update({"signature": flipped(d["signature"])}),
    ],
)
def test_a_tampered_file_fails(tamper: Any) -> None:
    document = json.loads(sign_payload(grants(), PRIVATE))
    tamper(document)
    result = verify_file(json.dumps(document), PUBLIC, now=at("2025-06-02"))
    assert not result.valid
    assert result.grants is None  # nothing of a forged file is believed
    assert "signature" in (result.problem or "")


def test_another_shops_key_or_another_instance_fails() -> None:
    text = sign_payload(grants(), PRIVATE)
    other = Ed25519PrivateKey.generate().public_key()
    assert not verify_file(text, other, now=at("2025-06-02")).valid
    moved = verify_file(text, PUBLIC, fingerprint="srv-9", now=at("2025-06-02"))
    assert not moved.valid and "srv-1" in (moved.problem or "")
    for junk in ("", "{}", "[1]", '{"format": "licence-shop-file/1"}', "x" * 70_000):
        assert not verify_file(junk, PUBLIC).valid


def test_a_missed_check_in_warns_for_the_grace_days_then_fails() -> None:
    text = sign_payload(grants(), PRIVATE)
    late = verify_file(text, PUBLIC, now=at("2025-07-10"))
    assert late.valid
    assert any("check in" in w and "2025-07-15" in w for w in late.warnings)
    overdue = verify_file(text, PUBLIC, now=at("2025-07-16"))
    assert not overdue.valid and "2025-07-01" in (overdue.problem or "")


def test_a_subscription_past_its_paid_period_warns_then_fails() -> None:
    text = sign_payload(
        grants(issued_at="2025-12-20T09:00:00Z", check_in_by="2026-01-19T09:00:00Z"), PRIVATE
    )
    grace = verify_file(text, PUBLIC, now=at("2026-01-05"))
    assert grace.valid and any("paid period ended on 2026-01-01" in w for w in grace.warnings)
    ended = verify_file(text, PUBLIC, now=at("2026-01-15"))
    assert not ended.valid and "ran out on 2026-01-01" in (ended.problem or "")


def test_r23_a_perpetual_licence_after_maintenance_warns_and_never_refuses() -> None:
    perpetual = grants(
        product="server-starter",
        quantities={"server-starter": 1},
        perpetual=True,
        paid_until=None,
        maintenance_until="2026-03-10",
        issued_at="2026-04-01T09:00:00Z",
        check_in_by="2026-05-01T09:00:00Z",
    )
    text = sign_payload(perpetual, PRIVATE)
    result = verify_file(text, PUBLIC, fingerprint="srv-1", now=at("2026-04-02"))
    assert result.valid, result.problem
    assert result.updates is False
    assert any("maintenance ended on 2026-03-10" in w for w in result.warnings)
    assert "updates:      no" in describe(result)
    covered = verify_file(text, PUBLIC, now=at("2026-04-02"), release_date=date(2026, 2, 1))
    assert covered.valid
    newer = verify_file(text, PUBLIC, now=at("2026-04-02"), release_date=date(2026, 3, 10))
    assert not newer.valid


def test_cli_verify_file_prints_the_grants_warnings_and_exit_codes(tmp_path: Path) -> None:
    pem = tmp_path / "shop.pem"
    pem.write_text(public_key_pem(PRIVATE))
    perpetual = grants(
        perpetual=True,
        paid_until=None,
        maintenance_until="2026-03-10",
        issued_at="2026-04-01T09:00:00Z",
        check_in_by="2026-05-01T09:00:00Z",
    )
    licence = tmp_path / "licence.json"
    licence.write_text(sign_payload(perpetual, PRIVATE))
    env = {"SHOP_CLOCK": "2026-04-02T10:00:00+00:00"}
    args = ["licence", "verify-file", str(licence), "--public-key", str(pem)]
    ok = CliRunner().invoke(main, [*args, "--fingerprint", "srv-1"], env=env)
    assert ok.exit_code == 0, ok.output
    assert "licence id:   42" in ok.stdout
    assert "instance:     srv-1 (Main server)" in ok.stdout
    assert "warning: maintenance ended on 2026-03-10" in ok.stdout
    elsewhere = CliRunner().invoke(main, [*args, "--fingerprint", "srv-2"], env=env)
    assert elsewhere.exit_code == 1
    assert "invalid licence file" in elsewhere.stderr
    document = json.loads(licence.read_text())
    document["payload"]["quantities"]["base-yearly"] = 9
    licence.write_text(json.dumps(document))
    tampered = CliRunner().invoke(main, args, env=env)
    assert tampered.exit_code == 1
    assert "signature does not match" in tampered.stderr
