"""Test mode (issue 11): one setting of the database, not of one process, and its licence
keys are test keys that never verify as the shop's.

The end-to-end tests run the real commands as an operator would in two terminals:
``shop serve --test-payments`` in one process, ``shop jobs run`` in another.
"""

from __future__ import annotations

import base64
import json
import subprocess
import time
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
from click.testing import CliRunner
from litestar.testing import TestClient
from live import SHOP, ShopProcess, environment_of, running_shop
from sqlmodel import select

from shop.app import create_app
from shop.cli import main
from shop.db import make_engine, session_scope
from shop.licences.keys import (
    Grant,
    InvalidLicenceKey,
    derived_test_key,
    generate_signing_key_b64,
    is_test_key,
    load_signing_key,
    public_key_pem,
    sign_licence_grant,
    verify_key,
)
from shop.orders.models import Order
from shop.payments import testmode
from shop.settings import Settings
from shop.subscriptions.models import Subscription

GRANT = Grant(
    licence_id=7,
    email="anna@example.nl",
    product="base-yearly",
    quantities={"base-yearly": 1},
    status="active",
    paid_until=None,
    issued_at=datetime(2025, 4, 1, 9, tzinfo=UTC),
)
# A year after the conftest's NOW: the subscriptions bought at NOW are due.
RENEWAL_DAY = "2026-04-02T06:00:00+00:00"


def payload_of(key: str) -> dict[str, Any]:
    part = key.split(".")[1]
    data: dict[str, Any] = json.loads(base64.urlsafe_b64decode(part + "=" * (-len(part) % 4)))
    return data


# Test keys ---------------------------------------------------------------------------------


def test_a_key_signed_in_test_mode_is_marked_and_fails_against_the_shops_public_key(
    settings: Settings,
) -> None:
    production = load_signing_key(settings)
    key = sign_licence_grant(GRANT, replace(settings, payments_test_mode=True))

    assert payload_of(key)["test"] is True and is_test_key(key)
    with pytest.raises(InvalidLicenceKey, match="signature does not match"):
        verify_key(key, production.public_key())
    assert verify_key(key, derived_test_key(production).public_key()).test
    # The test key is another key, not the signing key in disguise.
    assert public_key_pem(derived_test_key(production)) != public_key_pem(production)


def test_a_key_signed_outside_test_mode_is_unchanged_and_not_a_test_key(
    settings: Settings,
) -> None:
    key = sign_licence_grant(GRANT, settings)
    assert "test" not in payload_of(key) and not is_test_key(key)
    assert verify_key(key, load_signing_key(settings).public_key()) == GRANT


def test_a_trial_started_in_test_mode_gets_a_test_key(
    seeded: Settings, admin: dict[str, str]
) -> None:
    with TestClient(app=create_app(replace(seeded, payments_test_mode=True))) as client:
        answer = client.post(  # an operator's call: the key is in the answer
            "/api/v1/trials",
            json={"email": "tess@example.com", "sku": "base-yearly"},
            headers=admin,
        )
    assert answer.status_code == 201, answer.text
    key = answer.json()["licence"]["key"]
    assert is_test_key(key)
    with pytest.raises(InvalidLicenceKey):
        verify_key(key, load_signing_key(seeded).public_key())


def test_cli_verify_calls_a_test_key_a_test_key_and_exits_1(tmp_path: Path) -> None:
    signing_key = generate_signing_key_b64()
    settings = Settings(licence_signing_key=signing_key, payments_test_mode=True)
    key = sign_licence_grant(GRANT, settings)
    runner = CliRunner()
    env = {"SHOP_LICENCE_SIGNING_KEY": signing_key}

    result = runner.invoke(main, ["licence", "verify", key], env=env)
    assert result.exit_code == 1
    assert result.output.startswith("TEST KEY — not valid for production")
    assert "anna@example.nl" in result.output

    pem = tmp_path / "shop.pem"
    pem.write_text(public_key_pem(load_signing_key(settings)))
    against_public = runner.invoke(main, ["licence", "verify", "--public-key", str(pem), key])
    assert against_public.exit_code == 1
    assert "signature does not match" in against_public.output
    assert (
        "TEST KEY" in against_public.output and "not valid for production" in against_public.output
    )


# Test mode kept in the database ------------------------------------------------------------


def test_test_mode_is_stored_applied_and_switched_off(settings: Settings) -> None:
    from shop.db import migrate

    migrate(settings.database_url)
    assert testmode.stored(settings.database_url) is None
    engine = make_engine(settings.database_url)
    with session_scope(engine) as session:
        testmode.switch_on(
            session,
            {"card": {"api_base": "http://127.0.0.1:19404"}},
            {"Stripe": "http://127.0.0.1:19404"},
            datetime(2025, 4, 1, 9, tzinfo=UTC),
        )
    mode = testmode.stored(settings.database_url)
    assert mode is not None
    applied = testmode.apply(settings, mode)
    assert applied.payments_test_mode
    assert applied.plugin("card")["api_base"] == "http://127.0.0.1:19404"
    assert mode.not_listening() == {"Stripe": "http://127.0.0.1:19404"}
    with session_scope(engine) as session:
        assert testmode.switch_off(session) is not None
    engine.dispose()
    assert testmode.stored(settings.database_url) is None


def test_a_database_not_created_yet_is_not_in_test_mode(tmp_path: Path) -> None:
    missing = tmp_path / "none.db"
    assert testmode.stored(f"sqlite:///{missing}") is None
    assert not missing.exists()


@pytest.fixture
def test_mode_server(seeded: Settings) -> Iterator[ShopProcess]:
    """``shop serve --test-payments`` as its own process."""
    with running_shop(seeded, "--test-payments", "--workers", "1") as shop:
        yield shop


def buy_by_card(shop_url: str, mode: testmode.ActiveTestMode, email: str) -> dict[str, Any]:
    """A yearly subscription paid by card at the server's fake Stripe, as the browser does
    (Stripe.js's confirm call; the fake then sends its webhook to the shop)."""
    with httpx.Client(base_url=shop_url, timeout=30) as http:
        placed = http.post(
            "/api/v1/orders",
            json={
                "email": email,
                "name": "Anna de Vries",
                "country": "NL",
                "currency": "EUR",
                "payment_method": "card",
                "items": [{"sku": "base-yearly", "quantity": 1}],
            },
        )
        assert placed.status_code == 201, placed.text
        order = placed.json()["order"]
        secret = order["payment"]["client_secret"]
        card = mode.plugin_values["card"]
        confirmed = httpx.post(
            f"{card['api_base']}/v1/payment_intents/{secret.split('_secret_')[0]}/confirm",
            data={
                "key": card["publishable_key"],
                "client_secret": secret,
                "payment_method_data[type]": "card",
                "payment_method_data[card][number]": "4242424242424242",
                "payment_method_data[card][exp_month]": "12",
                "payment_method_data[card][exp_year]": "34",
                "payment_method_data[card][cvc]": "123",
                "return_url": f"{shop_url}/",
            },
            timeout=30,
        )
        assert confirmed.status_code == 200, confirmed.text
        deadline = time.monotonic() + 30
        while order["status"] != "paid":  # the fake's webhook arrives in the background
            assert time.monotonic() < deadline, order
            time.sleep(0.05)  # polling another process, not timing logic
            order = http.get(f"/api/v1/orders/{order['token']}").json()["order"]
        return order  # type: ignore[no-any-return]


def jobs_run(settings: Settings, at: str) -> subprocess.CompletedProcess[str]:
    """``shop jobs run`` in a second terminal: the same database, nothing else shared."""
    env = {**environment_of(settings), "SHOP_CLOCK": at}
    return subprocess.run(
        [str(SHOP), "jobs", "run"],
        env=env,
        capture_output=True,
        text=True,
        timeout=180,
        stdin=subprocess.DEVNULL,
    )


def subscription_and_renewal(settings: Settings, subscription_id: int) -> tuple[str, str | None]:
    engine = make_engine(settings.database_url)
    try:
        with session_scope(engine) as session:
            subscription = session.get(Subscription, subscription_id)
            assert subscription is not None
            renewal = session.exec(
                select(Order).where(
                    Order.subscription_id == subscription_id, Order.kind == "renewal"
                )
            ).first()
            return subscription.status, None if renewal is None else renewal.status
    finally:
        engine.dispose()


def test_jobs_run_in_another_process_charges_the_fake_stripe_of_the_test_mode_server(
    seeded: Settings, test_mode_server: ShopProcess, admin: dict[str, str]
) -> None:
    mode = testmode.stored(seeded.database_url)
    assert mode is not None, "serve --test-payments did not record test mode"
    order = buy_by_card(test_mode_server.url, mode, "renew-me@example.nl")
    assert order["subscription_id"]

    run = jobs_run(seeded, RENEWAL_DAY)
    assert run.returncode == 0, run.stdout + run.stderr
    assert "TEST MODE" in run.stderr
    assert "Charged 1 renewal(s) to a saved card; 0 declined" in run.stdout
    assert subscription_and_renewal(seeded, order["subscription_id"]) == ("active", "paid")
    # The renewed key, signed by the jobs process, is a test key too.
    (licence,) = httpx.get(
        f"{test_mode_server.url}/api/v1/admin/licences?email=renew-me@example.nl", headers=admin
    ).json()["licences"]
    assert is_test_key(licence["key"])
    assert licence["paid_until"].startswith("2027-")


def test_jobs_run_after_the_test_mode_server_stopped_says_so_and_charges_nothing(
    seeded: Settings, test_mode_server: ShopProcess
) -> None:
    mode = testmode.stored(seeded.database_url)
    assert mode is not None
    order = buy_by_card(test_mode_server.url, mode, "server-gone@example.nl")
    test_mode_server.process.terminate()
    test_mode_server.process.wait(timeout=30)

    run = jobs_run(seeded, RENEWAL_DAY)
    assert run.returncode == 0, run.stdout + run.stderr
    assert "nothing listens at the fake Stripe" in run.stderr
    assert "Charged 0 renewal(s)" in run.stdout and "1 still unsettled" in run.stdout
    # The renewal waits unpaid (on hold, as any unpaid renewal), and its charge attempt is
    # kept to be asked again on the next run, not declined and not charged twice.
    assert subscription_and_renewal(seeded, order["subscription_id"]) == ("on-hold", "pending")


def test_a_plain_serve_leaves_test_mode(seeded: Settings, test_mode_server: ShopProcess) -> None:
    assert testmode.stored(seeded.database_url) is not None
    test_mode_server.process.terminate()
    test_mode_server.process.wait(timeout=30)
    with running_shop(seeded, "--workers", "1"):
        assert testmode.stored(seeded.database_url) is None
