"""R33: existing customers' legacy subscriptions come over with their licence, over the API
and from a CSV file, all or nothing; R1 holds; they renew and cannot switch themselves."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from click.testing import CliRunner
from litestar.testing import TestClient

from shop.app import create_app
from shop.cli import main
from shop.clock import Clock
from shop.db import make_engine, session_scope
from shop.licences.keys import Grant, load_signing_key, sign_licence_grant, verify_key
from shop.plugins.manager import Plugins, get_plugin_manager
from shop.plugins.state import enabled_view
from shop.settings import Settings
from shop.subscriptions.imports import import_csv

LEGACY = {
    "email": "Jan.Smit@example.nl",
    "name": "Jan Smit",
    "organisation": "Smit Advies B.V.",
    "country": "NL",
    "currency": "EUR",
    "payment_method": "bank_transfer",
    "items": [{"sku": "package-3", "quantity": 1}],
    "term_start": "2025-03-01",
    "term_end": "2026-03-01",
    "status": "active",
}
HEADER = (
    "email,name,organisation,country,currency,payment_method,items,"
    "term_start,term_end,status,licence_key\n"
)


def imported(client: TestClient[Any], admin: dict[str, str], **changes: Any) -> Any:
    return client.post("/api/v1/admin/subscriptions", json={**LEGACY, **changes}, headers=admin)


def test_r33_a_legacy_package_is_imported_with_term_status_and_a_signed_key(
    client: TestClient[Any], admin: dict[str, str], seeded: Settings
) -> None:
    answer = imported(client, admin)
    assert answer.status_code == 201, answer.text
    subscription = answer.json()["subscription"]
    assert subscription["status"] == "active"
    assert subscription["items"] == [{"sku": "package-3", "quantity": 1}]
    assert (subscription["term_start"], subscription["term_end"]) == ("2025-03-01", "2026-03-01")
    assert subscription["recurring_total"] == {"amount": "540.00", "currency": "EUR"}
    assert subscription["can_switch"] is False
    assert subscription["reason"] == "legacy_package"
    assert [(e["actor"], e["reason"]) for e in subscription["events"]] == [("operator", "imported")]
    licence = answer.json()["licence"]
    assert licence["email"] == "jan.smit@example.nl" and licence["status"] == "active"
    grant = verify_key(licence["key"], load_signing_key(seeded).public_key())
    assert grant.email == "jan.smit@example.nl" and grant.product == "package-3"
    assert str(grant.paid_until) == "2026-03-01"
    # The same subscription as the contract's GET shows it, with the reason translated.
    shown = client.get(f"/api/v1/subscriptions/{subscription['id']}?lang=de", headers=admin).json()
    assert shown["can_switch"] is False and shown["licence_id"] == licence["id"]
    assert "Ticket" in shown["reason_text"]


def test_r33_quantities_and_a_pending_cancel_status_are_kept(
    client: TestClient[Any], admin: dict[str, str]
) -> None:
    answer = imported(
        client,
        admin,
        email="mia@example.de",
        country="DE",
        items=[{"sku": "base-yearly", "quantity": 1}, {"sku": "persons-yearly", "quantity": 5}],
        status="pending-cancel",
    )
    assert answer.status_code == 201, answer.text
    subscription = answer.json()["subscription"]
    assert subscription["status"] == "pending-cancel"
    assert {i["sku"]: i["quantity"] for i in subscription["items"]}["persons-yearly"] == 5
    assert answer.json()["licence"]["quantities"]["persons-yearly"] == 5


def test_r17_an_imported_current_package_may_switch_once_active(
    client: TestClient[Any], admin: dict[str, str]
) -> None:
    answer = imported(
        client,
        admin,
        email="lea@example.de",
        country="DE",
        items=[{"sku": "base-yearly", "quantity": 1}, {"sku": "persons-yearly", "quantity": 5}],
    )
    subscription = answer.json()["subscription"]
    assert subscription["can_switch"] is True, subscription["reason"]
    assert subscription["recurring_total"] == {"amount": "520.00", "currency": "EUR"}


def test_r33_bad_sku_currency_or_date_is_a_422_naming_the_field_and_saves_nothing(
    client: TestClient[Any], admin: dict[str, str]
) -> None:
    for changes, field, code in [
        ({"items": [{"sku": "package-9", "quantity": 1}]}, "items", "unknown_product"),
        ({"currency": "XYZ"}, "currency", "currency_unknown"),
        ({"currency": "DZD"}, "currency", "currency_not_allowed"),
        ({"term_end": "2026-02-30"}, "term_end", "validation_error"),
        ({"term_end": "2025-01-01"}, "term_end", "validation_error"),
        ({"status": "pending"}, "status", "validation_error"),
        ({"licence_key": "v1.not-a-key"}, "licence_key", "validation_error"),
    ]:
        answer = imported(client, admin, **changes)
        assert answer.status_code == 422, (changes, answer.text)
        problem = answer.json()
        assert answer.headers["content-type"].startswith("application/problem+json")
        assert (problem["field"], problem["code"]) == (field, code), changes
    listed = client.get("/api/v1/admin/licences", params={"email": LEGACY["email"]}, headers=admin)
    assert listed.json()["licences"] == []


def test_r33_r1_an_address_with_a_licence_is_refused(
    client: TestClient[Any], admin: dict[str, str]
) -> None:
    assert imported(client, admin).status_code == 201
    again = imported(client, admin, email=" JAN.SMIT@example.nl ")
    assert again.status_code == 409
    assert (again.json()["code"], again.json()["field"]) == ("licence_exists", "email")


def test_r33_a_key_brought_along_must_be_this_shops_and_for_this_address(
    client: TestClient[Any], admin: dict[str, str]
) -> None:
    first = imported(client, admin, email="old@example.nl").json()["licence"]["key"]
    refused = imported(client, admin, licence_key=first)  # signed, but for another address
    assert refused.status_code == 422 and refused.json()["field"] == "licence_key"
    trial = client.post(
        "/api/v1/trials", json={"email": "keep@example.nl", "sku": "base-yearly"}, headers=admin
    ).json()["licence"]
    assert trial["key"]
    # Moving a licence elsewhere is R2; here: a key for the same address is kept as it is.
    kept = imported(client, admin, email="kept@example.nl", licence_key=trial["key"])
    assert kept.status_code == 422  # the trial's key names keep@example.nl


def test_r33_r6_a_key_this_shop_signed_for_the_address_is_kept(
    client: TestClient[Any], admin: dict[str, str], seeded: Settings
) -> None:
    issued = datetime(2025, 3, 1, 9, tzinfo=UTC)
    grant = Grant(7, "jan.smit@example.nl", "package-3", {"package-3": 1}, "active", None, issued)
    key = sign_licence_grant(grant, seeded)
    answer = imported(client, admin, licence_key=key)
    assert answer.status_code == 201, answer.text
    assert answer.json()["licence"]["key"] == key
    test_key = sign_licence_grant(grant, replace(seeded, payments_test_mode=True))
    refused = imported(client, admin, email="jan@example.nl", licence_key=test_key)
    assert refused.status_code == 422 and refused.json()["field"] == "licence_key"


def csv_text(*rows: str) -> str:
    return HEADER + "".join(row + "\n" for row in rows)


def run_import(settings: Settings, text: str) -> Any:
    engine = make_engine(settings.database_url)
    plugins = Plugins(get_plugin_manager())
    try:
        with session_scope(engine) as session:
            return import_csv(
                session,
                text,
                enabled=enabled_view(session, plugins, settings),
                settings=settings,
                now=Clock.from_setting(settings.clock, settings.timezone).now(),
                actor="test operator",
            )
    finally:
        engine.dispose()


GOOD = "anna@example.de,Anna Berg,,DE,EUR,bank_transfer,package-1:1,2024-06-15,2025-06-15,active,"
GOOD_2 = (
    "bert@example.de,Bert Bauer,Bauer GmbH,DE,EUR,cheque,"
    "base-yearly:1;persons-yearly:12,2024-10-01,2025-10-01,on-hold,"
)


def test_r33_csv_imports_every_line(
    client: TestClient[Any], admin: dict[str, str], seeded: Settings
) -> None:
    report = run_import(seeded, csv_text(GOOD, GOOD_2))
    assert report.ok, report.problems
    assert [(i.line, i.email) for i in report.imported] == [
        (2, "anna@example.de"),
        (3, "bert@example.de"),
    ]
    bert = client.get(
        f"/api/v1/subscriptions/{report.imported[1].subscription_id}", headers=admin
    ).json()
    assert bert["status"] == "on-hold"
    assert {i["sku"]: i["quantity"] for i in bert["items"]} == {
        "base-yearly": 1,
        "persons-yearly": 12,
    }


def test_r33_csv_is_all_or_nothing_and_reports_every_wrong_line(
    client: TestClient[Any], admin: dict[str, str], seeded: Settings
) -> None:
    text = csv_text(
        GOOD,
        "carla@example.de,Carla,,DE,EUR,bank_transfer,package-7:1,2024-06-15,2025-06-15,active,",
        "dirk@example.de,Dirk,,DE,XYZ,bank_transfer,package-2:1,2024-06-15,2025-06-15,active,",
        GOOD_2,
        "ANNA@example.de,Anna again,,DE,EUR,bank_transfer,package-1:1,"
        "2024-06-15,2025-06-15,active,",
        "emma@example.de,Emma,,DE,EUR,bank_transfer,package-2:1,15.06.2024,2025-06-15,expired,",
    )
    report = run_import(seeded, text)
    assert not report.ok and report.imported == []
    assert [(p.line, p.field, p.code) for p in report.problems] == [
        (3, "items", "unknown_product"),
        (4, "currency", "currency_unknown"),
        (6, "email", "licence_exists"),
        (7, "term_start", "validation_error"),
    ]
    assert report.problems[2].params["line"] == 2
    for email in ("anna@example.de", "bert@example.de"):
        found = client.get("/api/v1/admin/licences", params={"email": email}, headers=admin)
        assert found.json()["licences"] == []


def test_r33_shop_admin_import_prints_the_report_translated(
    seeded: Settings, tmp_path: Path
) -> None:
    env = {
        "SHOP_DATABASE_URL": seeded.database_url,
        "SHOP_CLOCK": seeded.clock or "",
        "SHOP_LICENCE_SIGNING_KEY": seeded.licence_signing_key or "",
    }
    bad = tmp_path / "bad.csv"
    bad.write_text(
        csv_text("x@example.de,X,,DE,EUR,bank_transfer,package-2:1,2024-06-15,2024-01-01,active,")
    )
    refused = CliRunner().invoke(main, ["admin", "import", str(bad), "--lang", "de"], env=env)
    assert refused.exit_code == 1
    assert "line 2: term_end" in refused.output and "nothing was imported" in refused.output
    assert "Die Laufzeit muss nach ihrem Beginn enden." in refused.output
    good = tmp_path / "good.csv"
    good.write_text(csv_text(GOOD))
    done = CliRunner().invoke(main, ["admin", "import", str(good)], env=env)
    assert done.exit_code == 0, done.output
    assert "1 subscription(s) imported" in done.output


def test_r33_r21_an_imported_legacy_subscription_renews_when_due(
    seeded: Settings, admin: dict[str, str]
) -> None:
    report = run_import(seeded, csv_text(GOOD))
    assert report.ok, report.problems
    env = {
        "SHOP_DATABASE_URL": seeded.database_url,
        "SHOP_CLOCK": "2025-06-15T06:00:00+02:00",
        "SHOP_LICENCE_SIGNING_KEY": seeded.licence_signing_key or "",
    }
    result = CliRunner().invoke(main, ["jobs", "run"], env=env, catch_exceptions=False)
    assert result.exit_code == 0, result.output
    assert "Renewed 1 subscription(s)" in result.output
    later = replace(seeded, clock="2025-06-15T08:00:00+02:00")
    with TestClient(app=create_app(later)) as client:
        subscription_id = report.imported[0].subscription_id
        orders = client.get(
            "/api/v1/admin/orders", params={"subscription_id": subscription_id}, headers=admin
        ).json()["orders"]
        assert len(orders) == 1
        renewal = orders[0]
        assert renewal["kind"] == "renewal" and renewal["total"]["amount"] == "290.00"
        assert renewal["lines"][0]["sku"] == "package-1"
        paid = client.post(
            f"/api/v1/admin/orders/{renewal['number']}/payments",
            json={"amount": "290.00", "currency": "EUR", "method": "bank_transfer"},
            headers=admin,
        )
        assert paid.status_code == 201, paid.text
        state = client.get(f"/api/v1/subscriptions/{subscription_id}", headers=admin).json()
        assert state["status"] == "active"
        assert (state["term_start"], state["term_end"]) == ("2025-06-15", "2026-06-15")
        assert state["can_switch"] is False and state["reason"] == "legacy_package"
