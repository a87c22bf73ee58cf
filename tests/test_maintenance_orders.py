"""Maintenance of perpetual licences through the API (R23-R27) and the catch-up price (R32)."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from litestar.testing import TestClient

from shop.app import create_app
from shop.settings import Settings

BOUGHT = "2025-03-10T10:00:00+01:00"


def at(settings: Settings, moment: str) -> TestClient:
    return TestClient(app=create_app(replace(settings, clock=moment)))


def pay(client: TestClient, admin: dict[str, str], order: dict[str, Any]) -> dict[str, Any]:
    response = client.post(
        f"/api/v1/admin/orders/{order['number']}/payments",
        json={
            "amount": order["total"]["amount"],
            "currency": order["currency"],
            "method": "bank_transfer",
        },
        headers=admin,
    )
    assert response.status_code == 201, response.text
    return response.json()["order"]  # type: ignore[no-any-return]


def licence(client: TestClient, admin: dict[str, str]) -> dict[str, Any]:
    [only] = client.get("/api/v1/admin/licences", headers=admin).json()["licences"]
    return only  # type: ignore[no-any-return]


def buy_server_starter(seeded: Settings, admin: dict[str, str]) -> int:
    with at(seeded, BOUGHT) as client:
        body = {
            "email": "it@example.com",
            "name": "IT",
            "country": "DE",
            "currency": "EUR",
            "payment_method": "bank_transfer",
            "items": [{"sku": "server-starter", "quantity": 1}],
        }
        order = client.post("/api/v1/orders", json=body).json()["order"]
        pay(client, admin, order)
        bought = licence(client, admin)
        assert bought["paid_until"] == "2026-03-10"  # R23: 12 months from payment
        return int(bought["id"])


def test_r24_a_late_renewal_starts_at_the_previous_end(
    seeded: Settings, admin: dict[str, str]
) -> None:
    licence_id = buy_server_starter(seeded, admin)
    with at(seeded, "2026-07-01T10:00:00+02:00") as client:  # lapsed since March
        response = client.post(
            f"/api/v1/licences/{licence_id}/maintenance", json={"years": 1}, headers=admin
        )
        assert response.status_code == 201, response.text
        assert response.json()["maintenance_until"] == "2027-03-10"
        order = response.json()["order"]
        assert order["total"] == {"amount": "495.00", "currency": "EUR"}  # half of 990.00
        before = licence(client, admin)
        assert before["paid_until"] == "2026-03-10"  # R5: nothing before it is paid
        pay(client, admin, order)
        renewed = licence(client, admin)
        assert renewed["paid_until"] == "2027-03-10"
        assert renewed["key"] != before["key"]  # R6: a renewed licence gets a new key


def test_r25_at_most_three_years_ahead(seeded: Settings, admin: dict[str, str]) -> None:
    licence_id = buy_server_starter(seeded, admin)
    with at(seeded, "2025-04-01T10:00:00+02:00") as client:
        ok = client.post(
            f"/api/v1/licences/{licence_id}/maintenance", json={"years": 2}, headers=admin
        )
        assert ok.json()["maintenance_until"] == "2028-03-10"  # within 3 years of today
        pay(client, admin, ok.json()["order"])
        refused = client.post(
            f"/api/v1/licences/{licence_id}/maintenance",
            json={"years": 1},
            headers={**admin, "Accept-Language": "de"},
        )
        assert refused.status_code == 422
        assert refused.json()["code"] == "maintenance_too_far_ahead"
        assert "2028-04-01" in refused.json()["detail"]
        assert licence(client, admin)["paid_until"] == "2028-03-10"


def test_r26_a_tier_upgrade_starts_fresh_12_months(seeded: Settings, admin: dict[str, str]) -> None:
    licence_id = buy_server_starter(seeded, admin)
    with at(seeded, "2025-09-15T10:00:00+02:00") as client:
        response = client.post(
            f"/api/v1/licences/{licence_id}/upgrade",
            json={"sku": "server-professional"},
            headers=admin,
        )
        assert response.status_code == 201, response.text
        order = response.json()["order"]
        assert order["total"] == {"amount": "3000.00", "currency": "EUR"}  # 3990 - 990
        pay(client, admin, order)
        upgraded = licence(client, admin)
        assert upgraded["product"] == "server-professional"
        assert upgraded["paid_until"] == "2026-09-15"
        assert upgraded["support"] == "Professional"
        lower = client.post(
            f"/api/v1/licences/{licence_id}/upgrade", json={"sku": "server-starter"}, headers=admin
        )
        assert lower.status_code == 422


def test_r27_co_terming_is_flagged_for_review(seeded: Settings, admin: dict[str, str]) -> None:
    licence_id = buy_server_starter(seeded, admin)
    with at(seeded, "2025-12-01T10:00:00+01:00") as client:
        response = client.post(
            f"/api/v1/licences/{licence_id}/maintenance",
            json={"years": 1, "coterm_with": 77},
            headers=admin,
        )
        assert response.status_code == 201
        assert response.json()["review"] == "co-terming requested with licence 77"
        assert response.json()["order"]["status"] == "quote"


def test_r32_catch_up_price_is_a_sixtieth_per_month(
    seeded: Settings, admin: dict[str, str]
) -> None:
    with at(seeded, "2025-06-15T10:00:00+02:00") as client:
        response = client.get(
            "/api/v1/licences/catch-up-price",
            params={"sku": "server-professional", "since": "2024-04-15"},
            headers=admin,
        )
        assert response.status_code == 200, response.text
        body = response.json()
        assert body["months_without_agreement"] == 14
        assert body["price"] == {"amount": "931.00", "currency": "EUR"}  # 3990 x 14 / 60
        assert (
            client.get(
                "/api/v1/licences/catch-up-price",
                params={"sku": "nope", "since": "2024-04-15"},
                headers=admin,
            ).status_code
            == 422
        )
