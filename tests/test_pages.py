"""Storefront pages without a browser: forms are CSRF-protected, errors are pages (R34)."""

from __future__ import annotations

import re
from dataclasses import replace
from pathlib import Path

from litestar.testing import TestClient

from shop.app import create_app
from shop.settings import Settings


def csrf_token(html: str) -> str:
    match = re.search(r'name="_csrf_token" value="([^"]+)"', html)
    assert match, "the page has no CSRF field"
    return match.group(1)


def test_a_form_post_without_its_csrf_token_is_refused_in_german(client: TestClient) -> None:
    client.get("/de/products/base-yearly")
    refused = client.post("/de/cart/add", data={"sku": "base-yearly"})
    assert refused.status_code == 403
    assert "Seite neu" in refused.text
    assert client.get("/de/cart").text.count('data-sku="base-yearly"') == 0


def test_the_cart_survives_navigation_and_keeps_totals_server_side(client: TestClient) -> None:
    token = csrf_token(client.get("/en/products/base-yearly").text)
    added = client.post(
        "/en/cart/add",
        data={"sku": "base-yearly", "qty-persons-yearly": "30", "_csrf_token": token},
        follow_redirects=False,
    )
    assert added.status_code in (302, 303)
    client.get("/en/")
    cart = client.get("/en/cart").text
    assert 'data-sku="persons-yearly"' in cart
    assert "€670.00" in cart  # 490 + 30 x 6

    token = csrf_token(cart)
    client.post("/en/cart/update", data={"qty-persons-yearly": "0", "_csrf_token": token})
    assert 'data-sku="persons-yearly"' not in client.get("/en/cart").text


def test_a_negative_quantity_is_explained_not_a_crash(client: TestClient) -> None:
    token = csrf_token(client.get("/nl/products/base-yearly").text)
    client.post(
        "/nl/cart/add",
        data={"sku": "base-yearly", "qty-persons-yearly": "-5", "_csrf_token": token},
    )
    page = client.get("/nl/cart")
    assert page.status_code == 200
    assert "Aantallen" in page.text or "aantal" in page.text.lower()


def test_unknown_pages_are_translated_error_pages(client: TestClient) -> None:
    missing = client.get("/nl/products/does-not-exist")
    assert missing.status_code == 404
    assert "Niet gevonden" in missing.text
    assert client.get("/xx/").status_code == 404
    assert client.get("/de/orders/no-such-token").status_code == 404


def test_r1_the_buyer_cancels_an_unpaid_order_on_its_page(client: TestClient) -> None:
    body = {
        "email": "undo@example.com",
        "name": "Undo",
        "country": "DE",
        "currency": "EUR",
        "payment_method": "cheque",
        "items": [{"sku": "base-monthly", "quantity": 1}],
    }
    order = client.post("/api/v1/orders", json=body).json()["order"]
    page = client.get(f"/de/orders/{order['token']}")
    assert "Scheck" in page.text  # the cheque instructions, in German
    client.post(f"/de/orders/{order['token']}/cancel", data={"_csrf_token": csrf_token(page.text)})
    after = client.get(f"/de/orders/{order['token']}").text
    assert "Storniert" in after
    again = client.post("/api/v1/orders", json=body)
    assert again.status_code == 201  # the e-mail is free again


def test_a_restart_without_shop_secret_key_keeps_the_buyers_cart(
    seeded: Settings, tmp_path: Path
) -> None:
    settings = replace(seeded, secret_key=None, secret_key_file=tmp_path / "shop-secret-key")
    with TestClient(app=create_app(settings)) as before:
        token = csrf_token(before.get("/en/products/base-yearly").text)
        before.post(
            "/en/cart/add",
            data={"sku": "base-yearly", "qty-persons-yearly": "7", "_csrf_token": token},
        )
        cookies = dict(before.cookies)

    with TestClient(app=create_app(settings), cookies=cookies) as after:  # a new process
        cart = after.get("/en/cart").text

    assert 'data-sku="persons-yearly"' in cart
    assert settings.secret_key_file.stat().st_mode & 0o777 == 0o600


def test_a_shared_product_page_carries_each_buyers_own_csrf_token(seeded: Settings) -> None:
    app = create_app(seeded)
    with TestClient(app=app) as first, TestClient(app=app) as second:
        token_one = csrf_token(first.get("/de/products/base-yearly").text)
        token_two = csrf_token(second.get("/de/products/base-yearly").text)
        added = second.post(
            "/de/cart/add",
            data={"sku": "base-yearly", "_csrf_token": token_two},
            follow_redirects=False,
        )
        foreign = first.post("/de/cart/add", data={"sku": "base-yearly", "_csrf_token": token_two})

    assert token_one != token_two
    assert added.status_code in (302, 303)
    assert foreign.status_code == 403  # another buyer's token is no good


def test_r14_a_new_exchange_rate_shows_on_the_catalog_and_in_the_api_at_once(
    client: TestClient, admin: dict[str, str]
) -> None:
    dzd = {"currency": "DZD", "country": "DZ"}

    def base_price() -> str:
        products = client.get("/api/v1/products", params=dzd).json()["products"]
        amount: str = next(p for p in products if p["sku"] == "base-yearly")["price"]["amount"]
        return amount

    page_before, api_before = client.get("/en/", params=dzd).text, base_price()
    client.put(
        "/api/v1/admin/exchange-rates/DZD", json={"rate": "200", "margin": "0"}, headers=admin
    )
    page_after, api_after = client.get("/en/", params=dzd).text, base_price()

    assert "98,000.00" in page_after and api_after == "98000.00"  # 490 x 200
    assert "98,000.00" not in page_before and api_before != "98000.00"
