"""Order links in e-mails expire some time after the order closed (issue 12): the page
then says so in the buyer's language and offers the login, which shows it for good."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from litestar.testing import TestClient

from shop.app import create_app
from shop.settings import Settings

ORDER = {
    "email": "kept@example.com",
    "name": "Kept",
    "country": "DE",
    "currency": "EUR",
    "payment_method": "bank_transfer",
    "items": [{"sku": "base-monthly", "quantity": 1}],
}


def _paid_order(client: TestClient[Any], admin: dict[str, str]) -> dict[str, Any]:
    order: dict[str, Any] = client.post("/api/v1/orders", json=ORDER).json()["order"]
    paid = client.post(
        f"/api/v1/admin/orders/{order['number']}/payments",
        json={**order["total"], "method": "bank_transfer", "reference": "SEPA 1"},
        headers=admin,
    )
    assert paid.status_code in (200, 201), paid.text
    return order


def test_order_link_works_while_open_and_for_the_set_days_after_payment(
    seeded: Settings, admin: dict[str, str]
) -> None:
    settings = replace(seeded, order_link_days=30)
    with TestClient(app=create_app(settings)) as client:
        order = _paid_order(client, admin)
        assert client.get(f"/de/orders/{order['token']}").status_code == 200
    # 29 days later (the shop's clock): still the order; 30 days later: expired.
    with TestClient(app=create_app(replace(settings, clock="2025-04-30T08:59:00+00:00"))) as c:
        assert c.get(f"/de/orders/{order['token']}").status_code == 200
    with TestClient(app=create_app(replace(settings, clock="2025-05-01T09:00:00+00:00"))) as c:
        expired = c.get(f"/de/orders/{order['token']}")
        open_one = c.post("/api/v1/orders", json={**ORDER, "email": "open@example.com"}).json()
    assert expired.status_code == 410
    assert "Dieser Link ist abgelaufen" in expired.text
    assert 'id="log-in" href="/de/login"' in expired.text
    # An open order's link keeps working however old the mail is: it is how one pays.
    later = replace(settings, clock="2025-06-01T09:00:00+00:00")
    with TestClient(app=create_app(later)) as c:
        assert c.get(f"/de/orders/{open_one['order']['token']}").status_code == 200


def test_r35_logged_in_the_buyer_still_sees_an_order_whose_link_expired(
    seeded: Settings, admin: dict[str, str]
) -> None:
    from test_accounts import log_in

    with TestClient(app=create_app(seeded)) as client:
        order = _paid_order(client, admin)
        client.post("/api/v1/orders", json={**ORDER, "email": "other@example.com"})
    later = replace(seeded, clock="2025-08-01T09:00:00+00:00")  # 120 days on
    with TestClient(app=create_app(later)) as client:
        assert client.get(f"/de/orders/{order['token']}").status_code == 410
        log_in(client, admin, "other@example.com", "de")
        assert client.get(f"/de/orders/{order['token']}").status_code == 410  # not theirs
    with TestClient(app=create_app(later)) as client:
        log_in(client, admin, "kept@example.com", "de")
        shown = client.get(f"/de/orders/{order['token']}")
        assert shown.status_code == 200 and 'id="licence-key"' in shown.text
