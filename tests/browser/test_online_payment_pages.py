"""Card and PayPal in a real browser, in the demo's test mode (R12, R13, R34): the shop
runs against the fake Stripe and the fake PayPal exactly as `make run` starts them."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, replace

import pytest
from billing import fill_billing
from english import english_texts_untranslated_in, occurs, visible_text
from live import bound_socket, serve, url_of
from payments import ledger
from playwright.sync_api import Page, expect
from shop_fakes.base import FakeServer
from shop_fakes.demo import start_fake_providers

from shop.settings import Settings

pytestmark = pytest.mark.browser


@dataclass
class DemoShop:
    url: str
    settings: Settings
    fakes: list[FakeServer]


@pytest.fixture
def test_mode_shop(seeded: Settings) -> Iterator[DemoShop]:
    sock = bound_socket()
    fakes = start_fake_providers(url_of(sock))
    settings = replace(seeded.with_plugin_values(fakes.plugin_values), payments_test_mode=True)
    try:
        with serve(settings, sock) as url:
            yield DemoShop(url, settings, fakes.servers)
    finally:
        fakes.stop()


def check_out(page: Page, shop: DemoShop, lang: str, email: str, method: str) -> int:
    page.goto(f"{shop.url}/{lang}/products/base-yearly")
    page.click("#add-to-cart")
    expect(page).to_have_url(re.compile(rf"/{lang}/cart$"))
    page.click("#to-checkout")
    page.fill("#email", email)
    page.fill("#name", "Test Buyer")
    fill_billing(page, "NL" if lang == "nl" else "GB")
    page.check(f"input[name=payment_method][value={method}]")
    page.click("#pay-now")
    expect(page).to_have_url(re.compile(rf"/{lang}/orders/[\w-]+$"))
    number = re.search(r"(\d+)", page.inner_text("h1"))
    assert number is not None
    return int(number.group(1))


def test_dutch_buyer_pays_by_card_and_the_webhook_unlocks_the_key(
    page: Page, test_mode_shop: DemoShop
) -> None:
    number = check_out(page, test_mode_shop, "nl", "sanne@example.nl", "card")
    expect(page.locator("#test-mode")).to_be_visible()
    expect(page.locator("#order-status")).to_have_text("Wacht op betaling")
    card = page.locator("#card-payment")
    expect(card).to_contain_text("Betalen met kaart")
    expect(card.locator("label[for=cardnumber]")).to_have_text("Kaartnummer")
    text = visible_text(page)
    leaked = [t for t in english_texts_untranslated_in("nl") if occurs(t, text)]
    assert leaked == []

    # A declined card: the error in Dutch, the order still open.
    page.fill("#cardnumber", "4000 0000 0000 0002")
    page.fill("#exp-date", "12 / 34")
    page.fill("#cvc", "123")
    page.click("#pay-button")
    expect(page.locator("#card-error")).to_have_text("Uw kaart is geweigerd.")
    assert ledger(test_mode_shop.settings, number).status == "pending"

    page.fill("#cardnumber", "4242 4242 4242 4242")
    page.click("#pay-button")
    expect(page.locator("#order-status")).to_have_text("Betaald", timeout=15_000)
    expect(page).to_have_url(re.compile(r"/nl/orders/[\w-]+$"))
    assert page.inner_text("#licence-key").strip().startswith("LS1.")
    record = ledger(test_mode_shop.settings, number)
    assert len(record.payments) == 1
    assert record.payments[0].recorded_by.startswith("webhook evt_")  # not the browser's word


def test_english_buyer_pays_with_paypal_and_gets_the_key(
    page: Page, test_mode_shop: DemoShop
) -> None:
    number = check_out(page, test_mode_shop, "en", "oliver@example.co.uk", "paypal")
    expect(page.locator("#order-status")).to_have_text("Awaiting payment")
    page.click("#paypal-button")

    expect(page.locator("body")).to_contain_text("TEST MODE")
    page.fill("#login_password", "any")
    page.click("#payment-submit-btn")

    expect(page).to_have_url(re.compile(r"/en/orders/[\w-]+$"), timeout=15_000)
    expect(page.locator("#order-status")).to_have_text("Paid")
    assert page.inner_text("#licence-key").strip().startswith("LS1.")
    record = ledger(test_mode_shop.settings, number)
    assert len(record.payments) == 1 and record.payments[0].method == "paypal"
