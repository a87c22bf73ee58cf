"""Checkout, licences and trials through the API (R1, R3-R5, R7, R8, R12, R13-R15)."""

from __future__ import annotations

import threading
from dataclasses import replace
from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest
from litestar.testing import TestClient
from sqlmodel import select

from shop.app import create_app
from shop.clock import Clock
from shop.db import make_engine, session_scope
from shop.errors import ShopError
from shop.licences.keys import load_public_key, verify_key
from shop.licences.models import Licence
from shop.orders.cart import CartItem
from shop.orders.checkout import CheckoutRequest, place_order
from shop.orders.lifecycle import expire_due
from shop.orders.models import Order
from shop.plugins.manager import Plugins, get_plugin_manager
from shop.plugins.state import enabled_view
from shop.settings import Settings

BASE = [{"sku": "base-yearly", "quantity": 1}, {"sku": "persons-yearly", "quantity": 20}]


def checkout(**changes: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "email": "anna@example.com",
        "name": "Anna Berg",
        "country": "DE",
        "currency": "EUR",
        "payment_method": "bank_transfer",
        "items": BASE,
    }
    body.update(changes)
    return body


def order_of(response: Any) -> dict[str, Any]:
    assert response.status_code in (200, 201), response.text
    return response.json()["order"]  # type: ignore[no-any-return]


def pay(client: TestClient, admin: dict[str, str], number: int, amount: str, **extra: str) -> Any:
    body = {"amount": amount, "currency": "EUR", "method": "bank_transfer", "reference": "ref"}
    return client.post(
        f"/api/v1/admin/orders/{number}/payments", json={**body, **extra}, headers=admin
    )


def counts(settings: Settings) -> tuple[int, int]:
    engine = make_engine(settings.database_url)
    with session_scope(engine) as session:
        orders = len(session.exec(select(Order)).all())
        licences = len(session.exec(select(Licence)).all())
    engine.dispose()
    return orders, licences


def test_r12_bank_transfer_order_shows_instructions_with_the_order_number(
    client: TestClient,
) -> None:
    order = order_of(
        client.post("/api/v1/orders", json=checkout(), headers={"Accept-Language": "de"})
    )
    assert order["status"] == "pending"
    assert order["kind"] == "new"
    assert order["total"] == {"amount": "610.00", "currency": "EUR"}  # 490 + 20 x 6
    assert [line["sku"] for line in order["lines"]] == ["base-yearly", "persons-yearly"]
    assert order["lines"][1]["total"] == {"amount": "120.00", "currency": "EUR"}
    instructions = order["payment"]["instructions"]
    assert instructions[0] == (
        f"Bitte überweisen Sie 610,00\xa0€ mit dem Verwendungszweck {order['number']} "
        "auf das folgende Konto."
    )
    assert any("IBAN" in line for line in instructions)
    assert order["licence_key"] is None
    assert order["document_url"].endswith(f"/api/v1/orders/{order['token']}/document.pdf")


def test_r5_partial_payment_is_shown_and_activates_nothing(
    client: TestClient, admin: dict[str, str]
) -> None:
    order = order_of(client.post("/api/v1/orders", json=checkout()))
    partial = order_of(pay(client, admin, order["number"], "100.00"))
    assert partial["status"] == "pending"
    assert partial["paid"] == {"amount": "100.00", "currency": "EUR"}
    assert partial["due"] == {"amount": "510.00", "currency": "EUR"}
    assert partial["licence_key"] is None
    licence = client.get(
        "/api/v1/admin/licences", params={"email": "anna@example.com"}, headers=admin
    )
    assert licence.json()["licences"][0]["status"] == "pending"

    paid = order_of(pay(client, admin, order["number"], "510.00"))
    assert paid["status"] == "paid"
    assert paid["licence_key"].startswith("LS1.")
    subscription_id = paid["subscription_id"]
    assert subscription_id is not None
    licences = client.get("/api/v1/admin/licences", headers=admin).json()["licences"]
    assert licences[0]["status"] == "active"
    assert licences[0]["quantities"] == {"base-yearly": 1, "persons-yearly": 20}
    assert licences[0]["paid_until"] == "2026-04-01"  # R22: a year from the day it was paid


def test_r6_the_issued_key_verifies_with_the_published_public_key(
    client: TestClient, admin: dict[str, str]
) -> None:
    order = order_of(client.post("/api/v1/orders", json=checkout()))
    key = order_of(pay(client, admin, order["number"], "610.00"))["licence_key"]
    public = client.get("/.well-known/licence-public-key.pem")
    assert public.status_code == 200
    grant = verify_key(key, load_public_key(public.text))
    assert grant.email == "anna@example.com"
    assert grant.quantities == {"base-yearly": 1, "persons-yearly": 20}
    assert grant.status == "active"


def test_r13_payment_in_another_currency_is_refused(
    client: TestClient, admin: dict[str, str]
) -> None:
    order = order_of(client.post("/api/v1/orders", json=checkout()))
    response = pay(client, admin, order["number"], "610.00", currency="USD")
    assert response.status_code == 422
    assert response.json()["code"] == "currency_mismatch"
    after = order_of(client.get(f"/api/v1/orders/{order['token']}"))
    assert after["paid"]["amount"] == "0.00"
    assert after["status"] == "pending"


def test_r1_a_second_checkout_for_the_email_is_refused_in_the_buyers_language(
    client: TestClient,
) -> None:
    order_of(client.post("/api/v1/orders", json=checkout()))
    again = client.post(
        "/api/v1/orders",
        json=checkout(email="  ANNA@Example.com "),
        headers={"Accept-Language": "nl"},
    )
    assert again.status_code == 409
    problem = again.json()
    assert problem["code"] == "licence_exists"
    assert "Upgrade" in problem["detail"]
    assert problem["detail"].startswith("anna@example.com")
    assert problem["title"] != "This e-mail address already has a licence"  # Dutch


def test_r1_cancelling_an_unpaid_order_releases_the_email(client: TestClient) -> None:
    first = order_of(client.post("/api/v1/orders", json=checkout()))
    cancelled = order_of(client.post(f"/api/v1/orders/{first['token']}/cancel"))
    assert cancelled["status"] == "cancelled"
    assert cancelled["licence_id"] is None
    order_of(client.post("/api/v1/orders", json=checkout()))


def test_r1_r7_an_unpaid_order_expires_after_30_days_and_frees_the_email(
    seeded: Settings,
) -> None:
    app = create_app(seeded)
    with TestClient(app=app) as client:
        order_of(client.post("/api/v1/orders", json=checkout()))
        quote = order_of(
            client.post("/api/v1/orders", json=checkout(email="q@example.com", quote=True))
        )
    engine = make_engine(seeded.database_url)
    later = Clock.from_setting(seeded.clock, seeded.timezone).now() + timedelta(days=31)
    with session_scope(engine) as session:
        report = expire_due(session, later)
    assert (report.quotes, report.orders) == (1, 1)
    with session_scope(engine) as session:
        statuses = {o.number: o.status for o in session.exec(select(Order))}
        assert statuses[quote["number"]] == "expired"
        assert session.exec(select(Licence)).all() == []
    engine.dispose()


def test_r7_quotes_reserve_nothing_and_paying_one_passes_the_licence_check(
    client: TestClient, admin: dict[str, str]
) -> None:
    first = order_of(client.post("/api/v1/orders", json=checkout(quote=True, payment_method=None)))
    second = order_of(client.post("/api/v1/orders", json=checkout(quote=True, po_number="PO-1")))
    assert first["status"] == second["status"] == "quote"
    assert first["licence_id"] is None
    assert first["valid_until"].startswith("2025-05-01")
    assert second["po_number"] == "PO-1"

    paid = order_of(pay(client, admin, first["number"], "610.00"))
    assert paid["status"] == "paid"
    refused = pay(client, admin, second["number"], "610.00")
    assert refused.status_code == 409
    assert refused.json()["code"] == "licence_exists"


def test_r4_trial_then_purchase_keeps_one_licence_with_a_new_key(
    client: TestClient, admin: dict[str, str]
) -> None:
    trial = client.post(
        "/api/v1/trials",
        json={"email": "Tom@example.com", "sku": "cloud-starter"},
        headers=admin,  # an operator's call gets the key; a buyer's goes to the address
    )
    assert trial.status_code == 201
    licence = trial.json()["licence"]
    assert licence["key"]
    assert licence["status"] == "trial"
    assert licence["product"] == "cloud-enterprise"  # R3: the line's highest tier
    assert licence["trial_ends_at"].startswith("2025-04-11")
    again = client.post("/api/v1/trials", json={"email": "tom@example.com", "sku": "base-yearly"})
    assert again.status_code == 409

    order = order_of(
        client.post(
            "/api/v1/orders",
            json=checkout(
                email="tom@example.com", items=[{"sku": "cloud-professional", "quantity": 1}]
            ),
        )
    )
    assert order["licence_id"] == licence["id"]
    paid = order_of(pay(client, admin, order["number"], "119.00"))
    assert paid["licence_key"] != licence["key"]
    licences = client.get(
        "/api/v1/admin/licences", params={"email": "tom@example.com"}, headers=admin
    )
    [only] = licences.json()["licences"]
    assert only["id"] == licence["id"]
    assert only["status"] == "active"
    assert only["product"] == "cloud-professional"


def test_r8_numbers_have_no_gaps_even_after_refusals(client: TestClient) -> None:
    first = order_of(client.post("/api/v1/orders", json=checkout()))
    assert client.post("/api/v1/orders", json=checkout()).status_code == 409
    second = order_of(client.post("/api/v1/orders", json=checkout(email="b@example.com")))
    assert second["number"] == first["number"] + 1


def test_r14_dzd_order_freezes_the_rate(client: TestClient, admin: dict[str, str]) -> None:
    order = order_of(client.post("/api/v1/orders", json=checkout(country="DZ", currency="DZD")))
    assert order["total"] == {"amount": "96075.00", "currency": "DZD"}  # 610 x 150 x 1.05
    assert order["exchange_rate"] == {"rate": "150", "margin": "0.05"}
    client.put(
        "/api/v1/admin/exchange-rates/DZD", json={"rate": "200", "margin": "0"}, headers=admin
    )
    again = order_of(client.get(f"/api/v1/orders/{order['token']}"))
    assert again["total"] == order["total"]


@pytest.mark.parametrize(
    ("change", "status", "code"),
    [
        ({"items": [{"sku": "nope", "quantity": 1}]}, 422, "unknown_product"),
        ({"items": [{"sku": "base-yearly", "quantity": 0}]}, 422, "validation_error"),
        ({"items": [{"sku": "base-yearly", "quantity": 10**9}]}, 422, "validation_error"),
        ({"items": [{"sku": "base-yearly", "quantity": "2"}]}, 422, "validation_error"),
        ({"items": [{"sku": "persons-yearly", "quantity": 5}]}, 422, "validation_error"),
        ({"items": [{"sku": "package-3", "quantity": 1}]}, 422, "not_for_sale"),
        ({"items": "base-yearly"}, 422, "validation_error"),
        ({"email": "not-an-email"}, 422, "validation_error"),
        ({"email": None}, 422, "validation_error"),
        ({"country": "DE", "currency": "DZD"}, 422, "currency_not_allowed"),
        ({"payment_method": "bitcoin"}, 422, "validation_error"),
        ({"country": "XX"}, 422, "validation_error"),
        ({"name": "x" * 500}, 422, "validation_error"),
    ],
)
def test_bad_checkout_input_is_refused_in_german_and_changes_nothing(
    client: TestClient, seeded: Settings, change: dict[str, Any], status: int, code: str
) -> None:
    response = client.post(
        "/api/v1/orders", json=checkout(**change), headers={"Accept-Language": "de"}
    )
    assert response.status_code == status, response.text
    problem = response.json()
    assert problem["code"] == code
    assert response.headers["content-type"].startswith("application/problem+json")
    assert problem["detail"] and problem["title"] != "The request is not valid"  # German
    assert counts(seeded) == (0, 0)


def test_a_tampered_price_field_is_ignored(client: TestClient) -> None:
    items = [{"sku": "base-yearly", "quantity": 1, "price": "0.01", "total": "0.01"}]
    order = order_of(client.post("/api/v1/orders", json=checkout(items=items, total="0.01")))
    assert order["total"] == {"amount": "490.00", "currency": "EUR"}


def test_shop_payment_methods_hook_a_disabled_method_is_refused(
    client: TestClient, admin: dict[str, str], seeded: Settings
) -> None:
    client.patch("/api/v1/admin/plugins/cheque", json={"enabled": False}, headers=admin)
    response = client.post("/api/v1/orders", json=checkout(payment_method="cheque"))
    assert response.status_code == 422
    assert response.json()["code"] == "plugin_disabled"
    assert counts(seeded) == (0, 0)
    client.patch("/api/v1/admin/plugins/cheque", json={"enabled": True}, headers=admin)
    order = order_of(client.post("/api/v1/orders", json=checkout(payment_method="cheque")))
    assert any(
        "reference" in line or str(order["number"]) in line
        for line in order["payment"]["instructions"]
    )


def test_r9_document_is_a_pdf_in_the_orders_language(client: TestClient) -> None:
    order = order_of(
        client.post("/api/v1/orders", json=checkout(), headers={"Accept-Language": "nl"})
    )
    document = client.get(f"/api/v1/orders/{order['token']}/document.pdf")
    assert document.status_code == 200
    assert document.headers["content-type"] == "application/pdf"
    assert document.content.startswith(b"%PDF")
    assert "Factuur" in document.headers["content-disposition"]
    assert client.get("/api/v1/orders/not-a-token/document.pdf").status_code == 404


def test_r35_an_order_is_reached_only_by_its_token(client: TestClient) -> None:
    order_of(client.post("/api/v1/orders", json=checkout()))
    assert client.get("/api/v1/orders/guess").status_code == 404
    assert client.get("/api/v1/admin/orders").status_code == 401


def test_r1_twenty_concurrent_checkouts_give_one_licence(seeded: Settings) -> None:
    """20 checkouts for one e-mail at once: exactly one licence, 19 clear refusals."""
    plugins = Plugins(get_plugin_manager())
    engine = make_engine(seeded.database_url)
    now = Clock.from_setting(seeded.clock, seeded.timezone).now()
    request = CheckoutRequest(
        email="race@example.com",
        name="Race",
        country="DE",
        currency="EUR",
        payment_method="bank_transfer",
        items=[CartItem("base-monthly", 1)],
    )
    barrier = threading.Barrier(20)
    outcomes: list[str] = []
    lock = threading.Lock()

    def buy(n: int) -> None:
        barrier.wait()
        try:
            with session_scope(engine) as session:
                enabled = enabled_view(session, plugins)
                place_order(session, plugins, enabled, replace(request, name=f"Race {n}"), now)
            outcome = "ok"
        except ShopError as error:
            outcome = error.code
        with lock:
            outcomes.append(outcome)

    threads = [threading.Thread(target=buy, args=(n,)) for n in range(20)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert sorted(outcomes) == ["licence_exists"] * 19 + ["ok"]
    with session_scope(engine) as session:
        licences = session.exec(select(Licence)).all()
        orders = session.exec(select(Order)).all()
    engine.dispose()
    assert len(licences) == 1
    assert [o.number for o in orders] == [1]  # the refused ones gave their numbers back
    assert Decimal(orders[0].total) == Decimal("45.00")


def test_r7_a_quote_without_method_shows_how_to_pay_offline(client: TestClient) -> None:
    quote = order_of(client.post("/api/v1/orders", json=checkout(quote=True, payment_method=None)))
    instructions = quote["payment"]["instructions"]
    assert "Bank transfer:" in instructions
    assert "Cheque:" in instructions
    assert any(str(quote["number"]) in line and "reference" in line for line in instructions)


def test_r3_a_trial_needs_a_real_email_and_a_product_with_a_trial(
    client: TestClient, seeded: Settings
) -> None:
    for body, code in (
        ({"email": "nope", "sku": "base-yearly"}, "validation_error"),
        ({"email": None, "sku": "base-yearly"}, "validation_error"),
        ({"email": "t@example.com", "sku": "persons-yearly"}, "no_trial"),
        ({"email": "t@example.com"}, "validation_error"),
    ):
        response = client.post("/api/v1/trials", json=body, headers={"Accept-Language": "nl"})
        assert response.status_code == 422, body
        assert response.json()["code"] == code
    assert counts(seeded) == (0, 0)
