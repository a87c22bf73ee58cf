"""Subscriptions: Upgrade or Downgrade, renewals, cancellation (R16-R22), through the API with
the shop's clock set to the dates of the worked example."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

import pytest
from click.testing import CliRunner
from litestar.testing import TestClient

from shop.app import create_app
from shop.cli import main
from shop.db import make_engine, session_scope
from shop.licences.models import Licence
from shop.settings import Settings
from shop.subscriptions.models import Subscription

START, SWITCH_DAY = "2025-01-01T10:00:00+01:00", "2025-04-01T10:00:00+02:00"
ITEMS_20 = [{"sku": "base-yearly", "quantity": 1}, {"sku": "persons-yearly", "quantity": 20}]


class Shop:
    """The shop at chosen moments: one app per date, all on the same database."""

    def __init__(self, settings: Settings, admin: dict[str, str]) -> None:
        self.settings, self.admin = settings, admin

    def at(self, moment: str) -> TestClient:
        return TestClient(app=create_app(replace(self.settings, clock=moment)))

    def pay(self, client: TestClient, order: dict[str, Any]) -> dict[str, Any]:
        response = client.post(
            f"/api/v1/admin/orders/{order['number']}/payments",
            json={
                "amount": order["total"]["amount"],
                "currency": order["currency"],
                "method": "bank_transfer",
                "reference": "bank",
            },
            headers=self.admin,
        )
        assert response.status_code == 201, response.text
        return response.json()["order"]  # type: ignore[no-any-return]

    def subscription(self, client: TestClient, subscription_id: int) -> dict[str, Any]:
        response = client.get(f"/api/v1/subscriptions/{subscription_id}", headers=self.admin)
        assert response.status_code == 200, response.text
        return response.json()  # type: ignore[no-any-return]

    def switch(self, client: TestClient, subscription_id: int, persons: int, **extra: Any) -> Any:
        items = [
            {"sku": "base-yearly", "quantity": 1},
            {"sku": "persons-yearly", "quantity": persons},
        ]
        return client.post(
            f"/api/v1/subscriptions/{subscription_id}/switch",
            json={"items": items, **extra},
            headers=self.admin,
        )


@pytest.fixture
def shop(seeded: Settings, admin: dict[str, str]) -> Shop:
    return Shop(seeded, admin)


@pytest.fixture
def subscribed(shop: Shop) -> Iterator[int]:
    """20 additional persons, bought and paid on 2025-01-01: term 2025-01-01 → 2026-01-01."""
    with shop.at(START) as client:
        body = {
            "email": "sub@example.com",
            "name": "Sub",
            "country": "DE",
            "currency": "EUR",
            "payment_method": "bank_transfer",
            "items": ITEMS_20,
        }
        order = client.post("/api/v1/orders", json=body).json()["order"]
        paid = shop.pay(client, order)
    yield paid["subscription_id"]


def test_r19_worked_example_through_the_api(shop: Shop, subscribed: int) -> None:
    with shop.at(SWITCH_DAY) as client:
        before = shop.subscription(client, subscribed)
        assert (before["term_start"], before["term_end"]) == ("2025-01-01", "2026-01-01")
        assert before["can_switch"] is True
        preview = shop.switch(client, subscribed, 30, preview=True).json()
        assert preview["kind"] == "upgrade"
        assert preview["setup_fee"] == {"amount": "45.21", "currency": "EUR"}  # 60 x 275/365
        assert preview["days_left"] == 275
        persons = next(line for line in preview["lines"] if line["sku"] == "persons-yearly")
        assert persons["recurring_total"] == {"amount": "180.00", "currency": "EUR"}
        assert preview["next_renewal_total"] == {"amount": "670.00", "currency": "EUR"}
        assert preview["order"] is None
        assert (
            shop.subscription(client, subscribed)["items"] == ITEMS_20
        )  # a preview changes nothing

        ordered = shop.switch(client, subscribed, 30).json()
        order = ordered["order"]
        assert order["kind"] == "switch"
        assert order["total"] == {"amount": "45.21", "currency": "EUR"}
        assert shop.subscription(client, subscribed)["items"] == ITEMS_20  # R5: not yet paid

        paid = shop.pay(client, order)
        assert paid["licence_key"].startswith("LS1.")
        after = shop.subscription(client, subscribed)
        assert {i["sku"]: i["quantity"] for i in after["items"]}["persons-yearly"] == 30
        assert after["term_end"] == "2026-01-01"  # R19: the term end does not move
        assert after["recurring_total"] == {"amount": "670.00", "currency": "EUR"}
        licences = client.get("/api/v1/admin/licences", headers=shop.admin).json()["licences"]
        assert licences[0]["quantities"]["persons-yearly"] == 30


def test_r19_two_upgrades_cost_what_one_would_within_a_cent_per_step(
    shop: Shop, subscribed: int
) -> None:
    """20→30 on April 1, then 30→40 on July 1: each step prorates from the then-current
    price; together they cost the exact value of what was added, within a cent per step."""
    with shop.at("2025-04-01T10:00:00+02:00") as client:
        first = shop.switch(client, subscribed, 30).json()["order"]
        shop.pay(client, first)
    with shop.at("2025-07-01T10:00:00+02:00") as client:
        second = shop.switch(client, subscribed, 40).json()["order"]
    fees = Decimal(first["total"]["amount"]) + Decimal(second["total"]["amount"])
    exact = Decimal(60) * 275 / 365 + Decimal(60) * 184 / 365  # 10 seats each, 6.00 a year
    assert abs(fees - exact) <= Decimal("0.02")
    assert Decimal(second["total"]["amount"]) < Decimal(first["total"]["amount"])


def test_r20_downgrade_is_scheduled_withdrawable_and_applies_at_renewal(
    shop: Shop, subscribed: int
) -> None:
    with shop.at(SWITCH_DAY) as client:
        down = shop.switch(client, subscribed, 10).json()
        assert down["kind"] == "downgrade"
        assert down["setup_fee"]["amount"] == "0.00"
        assert down["effective_at"] == "2026-01-01"
        state = shop.subscription(client, subscribed)
        assert state["scheduled_change"]["effective_at"] == "2026-01-01"
        assert {i["sku"]: i["quantity"] for i in state["items"]}["persons-yearly"] == 20
        withdrawn = client.delete(
            f"/api/v1/subscriptions/{subscribed}/scheduled-change", headers=shop.admin
        )
        assert withdrawn.json()["scheduled_change"] is None
        shop.switch(client, subscribed, 10)

    env = {
        "SHOP_DATABASE_URL": shop.settings.database_url,
        "SHOP_CLOCK": "2026-01-01T06:00:00+01:00",
        "SHOP_LICENCE_SIGNING_KEY": shop.settings.licence_signing_key or "",
    }
    result = CliRunner().invoke(main, ["jobs", "run"], env=env, catch_exceptions=False)
    assert result.exit_code == 0, result.output
    assert "Renewed 1 subscription(s)" in result.output

    with shop.at("2026-01-01T08:00:00+01:00") as client:
        state = shop.subscription(client, subscribed)
        assert state["status"] == "on-hold"
        assert state["scheduled_change"] is None
        assert {i["sku"]: i["quantity"] for i in state["items"]}["persons-yearly"] == 10
        orders = client.get(
            "/api/v1/admin/orders", params={"subscription_id": subscribed}, headers=shop.admin
        ).json()["orders"]
        renewal = orders[0]
        assert renewal["kind"] == "renewal"
        assert renewal["total"] == {"amount": "550.00", "currency": "EUR"}  # 490 + 10 x 6
        shop.pay(client, renewal)
        state = shop.subscription(client, subscribed)
        assert state["status"] == "active"
        assert (state["term_start"], state["term_end"]) == ("2026-01-01", "2027-01-01")
        reasons = [e["reason"] for e in state["events"]]
        assert any("renewal order" in r for r in reasons)

    again = CliRunner().invoke(main, ["jobs", "run"], env=env, catch_exceptions=False)
    assert "Renewed 0 subscription(s)" in again.output  # never two renewals for one term


def test_r21_an_unpaid_renewal_expires_after_the_grace_period(shop: Shop, subscribed: int) -> None:
    env = {
        "SHOP_DATABASE_URL": shop.settings.database_url,
        "SHOP_LICENCE_SIGNING_KEY": shop.settings.licence_signing_key or "",
    }
    CliRunner().invoke(main, ["jobs", "run"], env={**env, "SHOP_CLOCK": "2026-01-01T06:00"})
    CliRunner().invoke(main, ["jobs", "run"], env={**env, "SHOP_CLOCK": "2026-01-10T06:00"})
    with shop.at("2026-01-10T08:00:00+01:00") as client:
        assert shop.subscription(client, subscribed)["status"] == "on-hold"
    result = CliRunner().invoke(
        main, ["jobs", "run"], env={**env, "SHOP_CLOCK": "2026-01-16T06:00"}
    )
    assert "expired 1 unpaid" in result.output
    with shop.at("2026-01-16T08:00:00+01:00") as client:
        state = shop.subscription(client, subscribed)
        assert state["status"] == "expired"
        assert state["can_switch"] is False
        assert state["reason"] == "inactive"
        licences = client.get("/api/v1/admin/licences", headers=shop.admin).json()["licences"]
        assert licences[0]["status"] == "expired"


def test_r17_switching_needs_an_active_paid_subscription(shop: Shop) -> None:
    with shop.at(START) as client:
        body = {
            "email": "unpaid@example.com",
            "name": "U",
            "country": "DE",
            "currency": "EUR",
            "payment_method": "bank_transfer",
            "items": ITEMS_20,
        }
        order = client.post("/api/v1/orders", json=body, headers={"Accept-Language": "de"})
        subscription_id = order.json()["order"]["subscription_id"]
        state = shop.subscription(client, subscription_id)
        assert state["status"] == "pending"
        assert state["can_switch"] is False
        assert state["reason"] == "payment_outstanding"
        refused = shop.switch(client, subscription_id, 30)
        assert refused.status_code == 409
        assert refused.json()["code"] == "switch_not_allowed"
        assert refused.json()["reason"] == "payment_outstanding"


def test_r10_cancelling_runs_to_term_end_then_ends(shop: Shop, subscribed: int) -> None:
    with shop.at(SWITCH_DAY) as client:
        cancelled = client.post(f"/api/v1/subscriptions/{subscribed}/cancel", headers=shop.admin)
        assert cancelled.json()["status"] == "pending-cancel"
        assert cancelled.json()["can_switch"] is False
    env = {
        "SHOP_DATABASE_URL": shop.settings.database_url,
        "SHOP_CLOCK": "2026-01-01T06:00",
        "SHOP_LICENCE_SIGNING_KEY": shop.settings.licence_signing_key or "",
    }
    result = CliRunner().invoke(main, ["jobs", "run"], env=env, catch_exceptions=False)
    assert "ended 1 cancelled" in result.output
    with shop.at("2026-01-01T08:00:00+01:00") as client:
        assert shop.subscription(client, subscribed)["status"] == "cancelled"
        orders = client.get(
            "/api/v1/admin/orders", params={"subscription_id": subscribed}, headers=shop.admin
        ).json()["orders"]
        assert [o["kind"] for o in orders] == ["new"]  # no renewal order, no refund


def test_bad_switch_input_is_refused(shop: Shop, subscribed: int) -> None:
    with shop.at(SWITCH_DAY) as client:
        for items in (
            [],
            [{"sku": "amweb-monthly", "quantity": 1}],
            [{"sku": "persons-yearly", "quantity": -1}],
            "x",
        ):
            response = client.post(
                f"/api/v1/subscriptions/{subscribed}/switch",
                json={"items": items},
                headers=shop.admin,
            )
            assert response.status_code == 422, items
        assert client.get("/api/v1/subscriptions/999999", headers=shop.admin).status_code == 404
        assert client.get(f"/api/v1/subscriptions/{subscribed}").status_code == 401


def test_r17_a_legacy_package_shows_the_reason_instead_of_the_button(shop: Shop) -> None:
    """Packages 1-5, sold before 2023: the page says to open a ticket; the API refuses."""
    engine = make_engine(shop.settings.database_url)
    now = datetime(2025, 2, 1, tzinfo=UTC)
    with session_scope(engine) as session:
        licence = Licence(
            email="old@example.com",
            status="active",
            product="package-3",
            quantities={"package-3": 1},
            paid_until=date(2026, 1, 1),
            created_at=now,
            updated_at=now,
        )
        session.add(licence)
        session.flush()
        legacy = Subscription(
            token="legacy-token",
            licence_id=licence.id or 0,
            email="old@example.com",
            country="DE",
            locale="de",
            payment_method="bank_transfer",
            status="active",
            items=[{"sku": "package-3", "quantity": 1}],
            currency="EUR",
            recurring_total=Decimal("540.00"),
            billing_period_months=12,
            anchor=date(2025, 1, 1),
            term_start=date(2025, 1, 1),
            term_end=date(2026, 1, 1),
            created_at=now,
            updated_at=now,
        )
        session.add(legacy)
        session.flush()
        legacy_id = legacy.id or 0
    engine.dispose()
    with shop.at(SWITCH_DAY) as client:
        state = shop.subscription(client, legacy_id)
        assert (state["can_switch"], state["reason"]) == (False, "legacy_package")
        page = client.get("/de/subscriptions/legacy-token")
        assert 'id="upgrade-or-downgrade"' not in page.text
        assert "Ticket" in page.text
        refused = client.post(
            f"/api/v1/subscriptions/{legacy_id}/switch",
            json={"items": [{"sku": "package-3", "quantity": 1}]},
            headers={**shop.admin, "Accept-Language": "nl"},
        )
        assert refused.status_code == 409
        assert refused.json()["reason"] == "legacy_package"
        assert "ticket" in refused.json()["detail"]


def test_r31_support_agreement_is_invoiced_per_three_months(shop: Shop) -> None:
    with shop.at(START) as client:
        body = {
            "email": "juwelier@example.com",
            "name": "Juwelier",
            "country": "BE",
            "currency": "EUR",
            "payment_method": "bank_transfer",
            "items": [{"sku": "agreement-single", "quantity": 1}],
        }
        order = client.post("/api/v1/orders", json=body).json()["order"]
        assert order["total"] == {"amount": "105.00", "currency": "EUR"}  # 3 x 35.00
        assert order["lines"][0]["billing_period_months"] == 3
        paid = shop.pay(client, order)
        state = shop.subscription(client, paid["subscription_id"])
        assert (state["term_start"], state["term_end"]) == ("2025-01-01", "2025-04-01")
    env = {
        "SHOP_DATABASE_URL": shop.settings.database_url,
        "SHOP_CLOCK": "2025-04-01T06:00",
        "SHOP_LICENCE_SIGNING_KEY": shop.settings.licence_signing_key or "",
    }
    CliRunner().invoke(main, ["jobs", "run"], env=env, catch_exceptions=False)
    with shop.at("2025-04-02T10:00:00+02:00") as client:
        orders = client.get(
            "/api/v1/admin/orders", params={"email": "juwelier@example.com"}, headers=shop.admin
        ).json()["orders"]
        assert orders[0]["kind"] == "renewal"
        assert orders[0]["total"] == {"amount": "105.00", "currency": "EUR"}
        # R31: cancelled in writing while the invoice is open: the invoiced period stays due
        cancelled = client.post(
            f"/api/v1/subscriptions/{paid['subscription_id']}/cancel", headers=shop.admin
        )
        assert cancelled.status_code == 200, cancelled.text
        assert cancelled.json()["status"] == "cancelled"
        again = client.get(f"/api/v1/orders/{orders[0]['token']}").json()["order"]
        assert again["status"] == "pending"
        assert again["due"] == {"amount": "105.00", "currency": "EUR"}


def test_r10_the_subscriber_cancels_on_the_page(shop: Shop, subscribed: int) -> None:
    with shop.at(SWITCH_DAY) as client:
        token = shop.subscription(client, subscribed)["page_url"].rsplit("/", 1)[1]
        page = client.get(f"/nl/subscriptions/{token}")
        assert 'id="cancel-subscription"' in page.text
        confirm = client.get(f"/nl/subscriptions/{token}/confirm-cancel")  # asks first
        csrf = re.search(r'name="_csrf_token" value="([^"]+)"', confirm.text)
        assert csrf is not None
        client.post(f"/nl/subscriptions/{token}/cancel", data={"_csrf_token": csrf.group(1)})
        after = client.get(f"/nl/subscriptions/{token}").text
        assert "Opgezegd, loopt tot het einde van de termijn" in after
        assert 'id="upgrade-or-downgrade"' not in after
        assert shop.subscription(client, subscribed)["status"] == "pending-cancel"


def test_r10_a_cancellation_is_taken_back_while_the_term_runs(shop: Shop, subscribed: int) -> None:
    with shop.at(SWITCH_DAY) as client:
        token = shop.subscription(client, subscribed)["page_url"].rsplit("/", 1)[1]
        assert 'id="resume-subscription"' not in client.get(f"/de/subscriptions/{token}").text
        confirm = client.get(f"/de/subscriptions/{token}/confirm-cancel")
        csrf = re.search(r'name="_csrf_token" value="([^"]+)"', confirm.text)
        assert csrf is not None
        client.post(f"/de/subscriptions/{token}/cancel", data={"_csrf_token": csrf.group(1)})
        cancelled = client.get(f"/de/subscriptions/{token}").text
        assert "Abonnement fortsetzen" in cancelled
        csrf = re.search(r'name="_csrf_token" value="([^"]+)"', cancelled)
        assert csrf is not None
        client.post(f"/de/subscriptions/{token}/resume", data={"_csrf_token": csrf.group(1)})
        assert shop.subscription(client, subscribed)["status"] == "active"
        page = client.get(f"/de/subscriptions/{token}").text
        assert 'id="next-renewal"' in page and 'id="cancel-subscription"' in page
        # Once active, there is nothing to take back.
        again = client.post(
            f"/de/subscriptions/{token}/resume", data={"_csrf_token": csrf.group(1)}
        )
        assert again.status_code == 409 and "fortgesetzt" in again.text
