"""A subscriber's "Upgrade oder Downgrade" in a real browser (R17-R20), at the dates of the
worked example of R19 (the shop's clock, never sleeps)."""

from __future__ import annotations

import re
from dataclasses import replace

import httpx
import pytest
from click.testing import CliRunner
from litestar.testing import TestClient
from playwright.sync_api import Page, expect

from shop.app import create_app
from shop.cli import main
from shop.settings import Settings

pytestmark = pytest.mark.browser
SWITCH_DAY = "2025-04-01T10:00:00+02:00"


@pytest.fixture
def live_settings(seeded: Settings) -> Settings:
    return replace(seeded, clock=SWITCH_DAY)


@pytest.fixture
def order_token(seeded: Settings, admin: dict[str, str]) -> str:
    """20 additional persons bought and paid on 2025-01-01 (term to 2026-01-01)."""
    bought = replace(seeded, clock="2025-01-01T10:00:00+01:00")
    with TestClient(app=create_app(bought)) as client:
        body = {
            "email": "feuerwehr@example.com",
            "name": "Feuerwehr Musterstadt",
            "country": "DE",
            "currency": "EUR",
            "payment_method": "bank_transfer",
            "items": [
                {"sku": "base-yearly", "quantity": 1},
                {"sku": "persons-yearly", "quantity": 20},
            ],
        }
        order = client.post("/api/v1/orders", json=body, headers={"Accept-Language": "de"})
        order_json = order.json()["order"]
        client.post(
            f"/api/v1/admin/orders/{order_json['number']}/payments",
            json={"amount": "610.00", "currency": "EUR", "method": "bank_transfer"},
            headers=admin,
        )
    return str(order_json["token"])


def pay(live_server: str, admin: dict[str, str], page: Page) -> None:
    number = re.search(r"(\d+)", page.inner_text("h1"))
    assert number is not None
    total = page.inner_text("#total").replace("\xa0€", "").replace(",", ".")
    paid = httpx.post(
        f"{live_server}/api/v1/admin/orders/{number.group(1)}/payments",
        json={"amount": total, "currency": "EUR", "method": "bank_transfer"},
        headers=admin,
    )
    assert paid.status_code == 201, paid.text


def test_subscriber_raises_20_to_30_persons_and_later_downgrades(
    page: Page, live_server: str, order_token: str, admin: dict[str, str], seeded: Settings
) -> None:
    page.goto(f"{live_server}/de/orders/{order_token}")
    page.click("#manage-subscription")
    expect(page.locator("#qty-persons-yearly")).to_have_text("20")
    button = page.locator("#upgrade-or-downgrade")
    expect(button).to_have_text("Upgrade oder Downgrade")
    button.click()

    page.fill("#qty-persons-yearly", "30")
    expect(page.locator("#setup-fee")).to_have_text("45,21\xa0€")  # live preview (R19)
    expect(page.locator("#next-renewal")).to_have_text("670,00\xa0€")
    expect(page.locator("#renewal-persons-yearly")).to_have_text("180,00\xa0€")  # R19 example
    page.click("#confirm-switch")

    expect(page).to_have_url(re.compile(r"/de/orders/"))
    expect(page.locator("tr[data-sku=setup-fee]")).to_contain_text("Einrichtungsgebühr")
    expect(page.locator("#total")).to_have_text("45,21\xa0€")
    pay(live_server, admin, page)
    page.reload()
    page.click("#manage-subscription")
    expect(page.locator("#qty-persons-yearly")).to_have_text("30")  # at once, once paid

    page.click("#upgrade-or-downgrade")
    page.fill("#qty-persons-yearly", "10")
    expect(page.locator("#setup-fee")).to_have_text("0,00\xa0€")
    page.click("#confirm-switch")
    expect(page.locator("#scheduled")).to_contain_text("10 × Zusätzliche Personen")
    expect(page.locator("#qty-persons-yearly")).to_have_text("30")  # until the renewal

    env = {
        "SHOP_DATABASE_URL": seeded.database_url,
        "SHOP_CLOCK": "2026-01-01T06:00:00+01:00",
        "SHOP_LICENCE_SIGNING_KEY": seeded.licence_signing_key or "",
    }
    result = CliRunner().invoke(main, ["jobs", "run"], env=env, catch_exceptions=False)
    assert "Renewed 1 subscription(s)" in result.output
    page.reload()
    expect(page.locator("#qty-persons-yearly")).to_have_text("10")
    expect(page.locator("#scheduled")).to_have_count(0)


def test_r19_live_preview_explains_the_fee_and_the_open_switch_order_is_shown(
    page: Page, live_server: str, order_token: str
) -> None:
    """The fee's computation follows what the subscriber types; the ordered, unpaid upgrade
    then waits on the subscription page, to be paid or withdrawn after a confirmation."""
    page.goto(f"{live_server}/de/orders/{order_token}")
    page.click("#manage-subscription")
    page.click("#upgrade-or-downgrade")

    page.fill("#qty-persons-yearly", "30")
    explanation = page.locator("#fee-explanation")
    expect(explanation).to_contain_text("× 275 / 365")
    expect(explanation).to_contain_text("= 45,21\xa0€")
    expect(page.locator("#current-total")).to_have_text("610,00\xa0€")
    expect(page.locator("#new-total")).to_have_text("670,00\xa0€")
    expect(page.locator("#days")).to_have_text("275 von 365")
    page.fill("#qty-persons-yearly", "40")  # live: the numbers follow the typing
    expect(page.locator("#new-total")).to_have_text("730,00\xa0€")
    expect(explanation).to_contain_text("= 90,41\xa0€")
    page.fill("#qty-persons-yearly", "30")
    expect(page.locator("#setup-fee")).to_have_text("45,21\xa0€")
    page.click("#confirm-switch")

    expect(page).to_have_url(re.compile(r"/de/orders/"))
    expect(page.locator("tr[data-sku=setup-fee]")).to_contain_text(
        "+10 × Zusätzliche Personen, 01.04.2025 – 01.01.2026, 275/365 von 60,00\xa0€"
    )
    page.click("#manage-subscription")
    box = page.locator("#open-switch-order")
    expect(box).to_contain_text("45,21\xa0€")
    expect(box).to_contain_text("+10 × Zusätzliche Personen")
    page.click("#withdraw-switch-order")
    page.click("#confirm-withdraw")
    expect(page).to_have_url(re.compile(r"/de/subscriptions/[^/]+$"))
    expect(page.locator("#open-switch-order")).to_have_count(0)
    expect(page.locator("#qty-persons-yearly")).to_have_text("20")
