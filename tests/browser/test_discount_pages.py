"""Discounts in a real browser (R28, R29, R34): the cart shows the running promotion as its
own line before anyone is known; the order of an academic customer shows both discounts,
in German."""

from __future__ import annotations

import re
import socket
from collections.abc import Iterator

import httpx
import pytest
from billing import fill_billing
from live import serve
from playwright.sync_api import Page, expect

from shop.settings import Settings

pytestmark = pytest.mark.browser

PORTS = range(19150, 19200)  # this suite's share of the helpers' port range


def bound_in_range() -> socket.socket:
    for port in PORTS:
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            sock.close()
            continue
        return sock
    raise RuntimeError(f"no free port in {PORTS}")


@pytest.fixture
def live_server(live_settings: Settings, admin: dict[str, str]) -> Iterator[str]:
    with serve(live_settings, bound_in_range()) as base_url:
        promotion = httpx.post(
            f"{base_url}/api/v1/admin/promotions",
            json={
                "percent": "20",
                "starts_at": "2025-03-01T00:00:00+01:00",
                "ends_at": "2025-05-01T00:00:00+02:00",
            },
            headers=admin,
        )
        assert promotion.status_code == 201, promotion.text
        flagged = httpx.patch(
            f"{base_url}/api/v1/admin/customers/lab@uni.example",
            json={"academic": True},
            headers=admin,
        )
        assert flagged.status_code == 200, flagged.text
        yield base_url


def test_r28_r29_cart_shows_the_promotion_and_the_order_both_discounts_in_german(
    page: Page, live_server: str
) -> None:
    page.goto(f"{live_server}/de/products/server-starter")
    page.click("#add-to-cart")
    expect(page).to_have_url(re.compile(r"/de/cart$"))
    expect(page.locator("tr.discount")).to_have_count(1)
    expect(page.locator("tr[data-discount=promotion]")).to_contain_text("Aktion −20 %")
    expect(page.locator("#total")).to_have_text("792,00\xa0€")
    page.click("#to-checkout")

    page.fill("#email", "Lab@Uni.example")
    page.fill("#name", "Dr. Lab")
    fill_billing(page, "DE")
    page.check("input[name=payment_method][value=bank_transfer]")
    page.click("#pay-now")

    expect(page).to_have_url(re.compile(r"/de/orders/"))
    discounts = page.locator("tr.discount")
    expect(discounts).to_have_count(2)
    expect(discounts.nth(0)).to_contain_text("Aktion −20 %")
    expect(discounts.nth(0)).to_contain_text("-198,00\xa0€")
    expect(discounts.nth(1)).to_contain_text("Akademischer Rabatt −7 %")
    expect(discounts.nth(1)).to_contain_text("-55,44\xa0€")
    expect(page.locator("#total")).to_have_text("736,56\xa0€")
