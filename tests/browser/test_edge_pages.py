"""The order page in a real browser with the shop's headers on: the order token in its
address never reaches another origin in ``Referer`` (the card provider's script and API,
the PayPal redirect), and the Content-Security-Policy refuses nothing the page needs."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import ConsoleMessage, Page, Request, expect
from test_online_payment_pages import DemoShop, check_out, test_mode_shop  # noqa: F401

pytestmark = pytest.mark.browser


def watch(page: Page) -> tuple[list[Request], list[str]]:
    """Every request the page makes, and every CSP violation Chromium reports."""
    requests: list[Request] = []
    violations: list[str] = []

    def on_console(message: ConsoleMessage) -> None:
        if "Content Security Policy" in message.text:
            violations.append(message.text)

    page.on("request", lambda request: requests.append(request))
    page.on("console", on_console)
    return requests, violations


def referers_to(requests: list[Request], origin: str) -> set[str | None]:
    return {r.all_headers().get("referer") for r in requests if r.url.startswith(origin)}


def test_the_card_page_tells_stripe_only_the_shops_origin(
    page: Page,
    test_mode_shop: DemoShop,  # noqa: F811
) -> None:
    requests, violations = watch(page)
    check_out(page, test_mode_shop, "en", "referer@example.com", "card")
    token_path = re.sub(r"^https?://[^/]+", "", page.url)
    page.fill("#cardnumber", "4242 4242 4242 4242")
    page.fill("#exp-date", "12 / 34")
    page.fill("#cvc", "123")
    page.click("#pay-button")
    expect(page.locator("#order-status")).to_have_text("Paid", timeout=15_000)

    stripe = test_mode_shop.settings.plugin("card")["api_base"]
    assert referers_to(requests, stripe) == {f"{test_mode_shop.url}/"}  # script and API calls
    assert not any(
        token_path in (r.all_headers().get("referer") or "")
        for r in requests
        if r.url.startswith(stripe)
    )
    assert violations == []


def test_the_paypal_redirect_does_not_carry_the_order_address(
    page: Page,
    test_mode_shop: DemoShop,  # noqa: F811
) -> None:
    requests, violations = watch(page)
    check_out(page, test_mode_shop, "en", "referer-pp@example.com", "paypal")
    page.click("#paypal-button")
    expect(page.locator("body")).to_contain_text("TEST MODE")

    paypal = test_mode_shop.settings.plugin("paypal")["base_url"]
    assert referers_to(requests, paypal) == {f"{test_mode_shop.url}/"}
    assert violations == []
