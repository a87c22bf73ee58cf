"""The operator's back office (issue 12): its own login with argon2 passwords and TOTP,
no page without a session, payments received, plugins, the import (R33), the dashboard."""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any

import pyotp
import pytest
from click.testing import CliRunner
from litestar.testing import TestClient
from sqlmodel import select

from shop.app import create_app
from shop.backoffice import dashboard
from shop.backoffice.operators import OperatorAccount, create_operator
from shop.cli import main
from shop.clock import Clock
from shop.db import make_engine, session_scope
from shop.settings import Settings

PASSWORD = "correct horse battery"
HEADER = (
    "email,name,organisation,country,currency,payment_method,items,"
    "term_start,term_end,status,licence_key\n"
)
LEGACY = "jan@example.nl,Jan Smit,,NL,EUR,bank_transfer,package-3:1,2024-06-15,2025-06-15,active,"


def csrf(html: str) -> str:
    match = re.search(r'name="_csrf_token" value="([^"]+)"', html)
    assert match, html[:500]
    return match.group(1)


def make_operator(
    settings: Settings, email: str, *, totp: bool = False, locale: str = "en"
) -> str | None:
    engine = make_engine(settings.database_url)
    now = Clock.from_setting(settings.clock, settings.timezone).now()
    with session_scope(engine) as session:
        operator = create_operator(session, email, PASSWORD, now, locale=locale, with_totp=totp)
        secret = operator.totp_secret
    engine.dispose()
    return secret


def log_in(client: TestClient[Any], email: str, password: str = PASSWORD, code: str = "") -> Any:
    token = csrf(client.get("/admin/login").text)
    form = {"email": email, "password": password, "code": code, "_csrf_token": token}
    return client.post("/admin/login", data=form, follow_redirects=False)


@pytest.fixture
def back_office(seeded: Settings) -> Any:
    make_operator(seeded, "ops@example.com", locale="de")
    with TestClient(app=create_app(seeded)) as client:
        assert log_in(client, "ops@example.com").status_code == 303
        yield client


def test_backoffice_every_page_sends_a_stranger_to_the_login(client: TestClient[Any]) -> None:
    token = csrf(client.get("/admin/login").text)
    routes = [
        (method, re.sub(r"\{\w+:int\}", "1", route.path).replace("{name:str}", "paypal"))
        for route in client.app.routes
        if route.path.startswith("/admin")
        for method in getattr(route, "methods", ())
        if method in ("GET", "POST") and route.path != "/admin/login"
    ]
    assert len(routes) >= 10
    for method, path in routes:
        answer = client.request(method, path, data={"_csrf_token": token}, follow_redirects=False)
        assert (answer.status_code, answer.headers.get("location")) == (303, "/admin/login"), path


def test_backoffice_login_says_the_same_for_every_wrong_part(seeded: Settings) -> None:
    make_operator(seeded, "ops@example.com")
    with TestClient(app=create_app(seeded)) as client:
        answers = [
            log_in(client, "nobody@example.com"),
            log_in(client, "ops@example.com", password="wrong password!"),
        ]
        for answer in answers:
            assert answer.status_code == 200
            assert "E-mail, password or code is wrong." in answer.text
        assert client.get("/admin", follow_redirects=False).status_code == 303
        assert log_in(client, "OPS@example.com").headers["location"] == "/admin"
        assert client.get("/admin").status_code == 200


def test_backoffice_totp_is_asked_once_set_up(seeded: Settings) -> None:
    secret = make_operator(seeded, "totp@example.com", totp=True)
    assert secret is not None
    now = datetime.fromisoformat(seeded.clock or "")
    with TestClient(app=create_app(seeded)) as client:
        assert "is wrong" in log_in(client, "totp@example.com").text
        assert "is wrong" in log_in(client, "totp@example.com", code="000000").text
        right = pyotp.TOTP(secret).at(now)
        assert log_in(client, "totp@example.com", code=right).status_code == 303


def test_backoffice_thirty_wrong_logins_get_429_before_the_thirtieth(seeded: Settings) -> None:
    make_operator(seeded, "ops@example.com")
    with TestClient(app=create_app(seeded)) as client:
        codes = [log_in(client, "ops@example.com", password="guess").status_code for _ in range(30)]
    assert 429 in codes[:29]
    assert codes[codes.index(429) :] == [429] * (30 - codes.index(429))


def test_backoffice_shop_admin_create_asks_the_password_twice(seeded: Settings) -> None:
    env = {"SHOP_DATABASE_URL": seeded.database_url, "SHOP_CLOCK": seeded.clock or ""}
    made = CliRunner().invoke(
        main,
        ["admin", "create", "cli@example.com", "--totp"],
        input=f"{PASSWORD}\n{PASSWORD}\n",
        env=env,
    )
    assert made.exit_code == 0, made.output
    assert "otpauth://totp/" in made.output
    again = CliRunner().invoke(
        main, ["admin", "create", "cli@example.com"], input=f"{PASSWORD}\n{PASSWORD}\n", env=env
    )
    assert again.exit_code == 1 and "already an operator" in again.output
    short = CliRunner().invoke(
        main, ["admin", "create", "b@example.com"], input="short\nshort\n", env=env
    )
    assert short.exit_code == 1 and "12 characters" in short.output
    engine = make_engine(seeded.database_url)
    with session_scope(engine) as session:
        stored = session.exec(
            select(OperatorAccount).where(OperatorAccount.email == "cli@example.com")
        ).one()
        assert stored.password_hash.startswith("$argon2") and PASSWORD not in stored.password_hash
    engine.dispose()


def _order(client: TestClient[Any], **changes: Any) -> dict[str, Any]:
    body = {
        "email": "buyer@example.com",
        "name": "Buyer",
        "country": "DE",
        "currency": "EUR",
        "payment_method": "bank_transfer",
        "items": [{"sku": "base-yearly", "quantity": 1}],
        **changes,
    }
    answer = client.post("/api/v1/orders", json=body)
    assert answer.status_code == 201, answer.text
    order: dict[str, Any] = answer.json()["order"]
    return order


def test_r5_r12_a_partial_then_the_full_bank_transfer_pays_and_issues_the_licence(
    back_office: TestClient[Any],
) -> None:
    order = _order(back_office)
    page = back_office.get(f"/admin/orders/{order['number']}")
    assert page.status_code == 200 and "Zahlung erfassen" in page.text  # the operator's German
    form = {"amount": "100,00", "method": "bank_transfer", "reference": "SEPA 1"}
    back_office.post(
        f"/admin/orders/{order['number']}/payments", data={**form, "_csrf_token": csrf(page.text)}
    )
    partial = back_office.get(f"/admin/orders/{order['number']}").text
    assert 'id="licence-key"' not in partial and "SEPA 1" in partial
    rest = back_office.get(f"/api/v1/orders/{order['token']}").json()["order"]["due"]["amount"]
    back_office.post(
        f"/admin/orders/{order['number']}/payments",
        data={"amount": rest, "method": "bank_transfer", "_csrf_token": csrf(partial)},
    )
    paid = back_office.get(f"/admin/orders/{order['number']}").text
    assert 'id="licence-key"' in paid and "Bezahlt" in paid
    assert back_office.get(f"/api/v1/orders/{order['token']}").json()["order"]["status"] == "paid"
    # Too much is refused on the form, in German, and nothing is recorded.
    other = _order(back_office, email="second@example.com")
    page = back_office.get(f"/admin/orders/{other['number']}").text
    refused = back_office.post(
        f"/admin/orders/{other['number']}/payments",
        data={"amount": "99999", "method": "cheque", "_csrf_token": csrf(page)},
    )
    assert refused.status_code == 422 and 'id="payment-error"' in refused.text
    assert (
        back_office.get(f"/api/v1/orders/{other['token']}").json()["order"]["paid"]["amount"]
        == "0.00"
    )


def test_backoffice_toggling_paypal_takes_it_out_of_checkout(back_office: TestClient[Any]) -> None:
    page = back_office.get("/admin/plugins")
    assert 'id="plugin-paypal" data-enabled="yes"' in page.text
    back_office.post("/admin/plugins/paypal", data={"enabled": "0", "_csrf_token": csrf(page.text)})
    assert 'id="plugin-paypal" data-enabled="no"' in back_office.get("/admin/plugins").text
    refused = back_office.post(
        "/api/v1/orders",
        json={
            "email": "pp@example.com",
            "name": "P",
            "country": "DE",
            "currency": "EUR",
            "payment_method": "paypal",
            "items": [{"sku": "base-yearly", "quantity": 1}],
        },
    )
    assert refused.status_code == 422 and refused.json()["code"] in (
        "plugin_disabled",
        "method_not_available",
    )


def test_r33_import_page_imports_a_legacy_subscription_that_refuses_switching(
    back_office: TestClient[Any],
) -> None:
    page = back_office.get("/admin/import").text
    bad = back_office.post(
        "/admin/import",
        files={
            "file": (
                "bad.csv",
                HEADER
                + LEGACY
                + "\nx@example.de,X,,DE,XYZ,bank_transfer,"
                + "package-2:1,2024-06-15,2025-06-15,active,\n",
            )
        },
        data={"_csrf_token": csrf(page)},
    )
    assert (
        bad.status_code == 422
        and 'data-line="3"' in bad.text
        and "Nichts wurde importiert" in bad.text
    )
    good = back_office.post(
        "/admin/import",
        files={"file": ("legacy.csv", HEADER + LEGACY + "\n")},
        data={"_csrf_token": csrf(page)},
    )
    assert good.status_code == 200, good.text
    link = re.search(r'href="(/de/subscriptions/[^"]+)"', good.text)
    assert link, good.text
    subscription = back_office.get(link.group(1)).text
    assert 'id="switch-refusal"' in subscription and 'id="upgrade-or-downgrade"' not in subscription


def test_backoffice_dashboard_counts_this_months_revenue_and_open_quotes(
    back_office: TestClient[Any], admin: dict[str, str]
) -> None:
    order = _order(back_office)
    back_office.post(
        f"/api/v1/admin/orders/{order['number']}/payments",
        json={**order["total"], "method": "bank_transfer", "reference": "r"},
        headers=admin,
    )
    _order(back_office, email="quote@example.com", quote=True)
    page = back_office.get("/admin").text
    assert 'id="revenue-chart"' in page and 'data-currency="EUR"' in page
    assert "Offene Angebote: 1" in page
    amount = order["total"]["amount"].replace(".", ",")
    assert amount in page


def test_backoffice_bars_scale_each_currency_to_its_own_best_month() -> None:
    from datetime import date
    from decimal import Decimal

    months = dashboard.months_back(date(2025, 4, 1), 3)
    assert months == [date(2025, 2, 1), date(2025, 3, 1), date(2025, 4, 1)]
    rows = [
        dashboard.Month(date(2025, 2, 1), "EUR", Decimal("50"), 1),
        dashboard.Month(date(2025, 3, 1), "EUR", Decimal("100"), 2),
        dashboard.Month(date(2025, 3, 1), "DZD", Decimal("90000"), 1),
    ]
    laid = {(b.month, b.currency): b for b in dashboard.bars(rows, months, width=300, height=100)}
    assert laid[(date(2025, 3, 1), "EUR")].height == 100
    assert laid[(date(2025, 2, 1), "EUR")].height == 50
    assert laid[(date(2025, 3, 1), "DZD")].height == 100
    assert laid[(date(2025, 3, 1), "DZD")].x != laid[(date(2025, 3, 1), "EUR")].x
    assert dashboard.bars([], months, width=300, height=100) == []


def test_r2_the_operator_moves_a_licence_to_another_address(back_office: TestClient[Any]) -> None:
    first = _order(back_office, email="old@example.com")
    _order(back_office, email="taken@example.com")
    page = back_office.get("/admin/licences", params={"q": "old@"}).text
    licence = re.search(r'id="licence-(\d+)"', page)
    assert licence, page
    path = f"/admin/licences/{licence.group(1)}/email"
    refused = back_office.post(path, data={"email": "Taken@example.com", "_csrf_token": csrf(page)})
    assert refused.status_code == 409 and "taken@example.com" in refused.text
    assert 'aria-invalid="true"' in refused.text
    moved = back_office.post(path, data={"email": "new@example.com", "_csrf_token": csrf(page)})
    assert moved.status_code == 200 and "new@example.com" in moved.text
    order = back_office.get(f"/api/v1/orders/{first['token']}").json()["order"]
    assert order["licence_id"] == int(licence.group(1))


def test_r16_a_subscription_page_shows_its_history(back_office: TestClient[Any]) -> None:
    order = _order(back_office)
    page = back_office.get(f"/admin/orders/{order['number']}").text
    back_office.post(
        f"/admin/orders/{order['number']}/payments",
        data={"amount": order["total"]["amount"], "_csrf_token": csrf(page)},
    )
    listed = back_office.get("/admin/subscriptions", params={"status": "active"}).text
    found = re.search(r'href="/admin/subscriptions/(\d+)"', listed)
    assert found, listed
    detail = back_office.get(f"/admin/subscriptions/{found.group(1)}").text
    assert 'id="events"' in detail and "→ active" in detail
    assert back_office.get("/admin/subscriptions/999999").status_code == 404


def test_r14_the_operator_sets_the_dzd_rate_and_margin_in_their_notation(
    back_office: TestClient[Any],
) -> None:
    page = back_office.get("/admin/rates").text
    assert 'id="rate-DZD"' in page
    bad = back_office.post(
        "/admin/rates/DZD", data={"rate": "-3", "margin": "5", "_csrf_token": csrf(page)}
    )
    assert bad.status_code == 422 and 'id="rate-error"' in bad.text
    back_office.post(
        "/admin/rates/DZD", data={"rate": "150,25", "margin": "5", "_csrf_token": csrf(page)}
    )
    now = back_office.get("/admin/rates").text
    assert "1 EUR = 150,25 DZD" in now and "Marge 5 %" in now
    products = back_office.get("/api/v1/products", params={"currency": "DZD", "country": "DZ"})
    assert products.status_code == 200 and products.json()["products"]


def test_r27_reviews_page_and_a_decision_on_a_quote_not_under_review(
    back_office: TestClient[Any],
) -> None:
    page = back_office.get("/admin/reviews").text
    assert 'id="no-reviews"' in page
    quote = _order(back_office, email="q@example.com", quote=True)
    refused = back_office.post(
        f"/admin/reviews/{quote['number']}", data={"decision": "accept", "_csrf_token": csrf(page)}
    )
    assert refused.status_code == 409
    assert back_office.get(f"/api/v1/orders/{quote['token']}").json()["order"]["status"] == "quote"


def test_r13_an_overpaid_order_is_resolved_with_a_note(back_office: TestClient[Any]) -> None:
    order = _order(back_office)
    page = back_office.get(f"/admin/orders/{order['number']}").text
    back_office.post(
        f"/admin/orders/{order['number']}/payments",
        data={"amount": "700", "accept_overpayment": "1", "_csrf_token": csrf(page)},
    )
    flagged = back_office.get(f"/admin/orders/{order['number']}").text
    assert 'id="attention"' in flagged
    listed = back_office.get("/admin/orders", params={"needs_action": "1"}).text
    assert f'data-number="{order["number"]}"' in listed
    empty = back_office.post(
        f"/admin/orders/{order['number']}/resolve", data={"note": " ", "_csrf_token": csrf(flagged)}
    )
    assert empty.status_code == 422 and 'id="resolve-error"' in empty.text
    back_office.post(
        f"/admin/orders/{order['number']}/resolve",
        data={"note": "90,00 zurücküberwiesen", "_csrf_token": csrf(flagged)},
    )
    done = back_office.get(f"/admin/orders/{order['number']}").text
    assert 'id="attention"' not in done and "90,00 zurücküberwiesen" in done


def test_r28_r29_the_discounts_plugin_brings_its_back_office_page(
    back_office: TestClient[Any], admin: dict[str, str]
) -> None:
    page = back_office.get("/admin/promotions")
    assert page.status_code == 200 and 'href="/admin/promotions"' in page.text
    token = csrf(page.text)
    bad = back_office.post(
        "/admin/promotions",
        data={
            "percent": "150",
            "starts_at": "2025-03-01",
            "ends_at": "2025-05-01",
            "_csrf_token": token,
        },
    )
    assert bad.status_code == 422 and 'id="promotion-error"' in bad.text
    back_office.post(
        "/admin/promotions",
        data={
            "percent": "20",
            "starts_at": "2025-03-01",
            "ends_at": "2025-05-01",
            "first_term_only": "1",
            "_csrf_token": token,
        },
    )
    back_office.post(
        "/admin/promotions/academic",
        data={"email": "Uni@example.edu", "academic": "1", "_csrf_token": token},
    )
    shown = back_office.get("/admin/promotions").text
    assert "20 % · läuft" in shown and "uni@example.edu" in shown
    promotions = back_office.get("/api/v1/admin/promotions", headers=admin).json()["promotions"]
    assert [p["percent"] for p in promotions] == ["20"] and promotions[0]["running"]
    # Switched off, the plugin's page and its link are gone.
    plugins = back_office.get("/admin/plugins").text
    back_office.post(
        "/admin/plugins/discounts", data={"enabled": "0", "_csrf_token": csrf(plugins)}
    )
    assert back_office.get("/admin/promotions").status_code == 404
    assert 'href="/admin/promotions"' not in back_office.get("/admin").text
