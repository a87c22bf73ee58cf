"""A buyer's whole path in a real browser: cart, checkout, instructions, licence key (R1, R5,
R12, R34), with the e-mails arriving over SMTP."""

from __future__ import annotations

import re
from dataclasses import replace

import httpx
import pytest
from billing import fill_billing
from english import english_texts_untranslated_in, occurs, visible_text
from fake_smtp import Collector
from playwright.sync_api import Page, expect

from shop.db import make_engine, session_scope
from shop.mail.outbox import list_outbox
from shop.settings import Settings

pytestmark = pytest.mark.browser


@pytest.fixture
def live_settings(seeded: Settings, smtp: tuple[str, Collector]) -> Settings:
    return replace(seeded, smtp_url=smtp[0])


def add_base_package_with_persons(page: Page, live_server: str, persons: int) -> None:
    page.goto(f"{live_server}/de/products/base-yearly")
    page.fill("#qty-persons-yearly", str(persons))
    page.click("#add-to-cart")
    expect(page).to_have_url(re.compile(r"/de/cart$"))


def test_german_buyer_pays_by_bank_transfer_and_gets_the_key(
    page: Page, live_server: str, admin: dict[str, str], smtp: tuple[str, Collector]
) -> None:
    """Given the German shop, when a buyer checks out 20 persons with bank transfer and the
    operator records the money, then the order page shows the key and both mails arrived."""
    _url, collector = smtp
    add_base_package_with_persons(page, live_server, 20)
    expect(page.locator("#total")).to_have_text("610,00\xa0€")
    page.click("#to-checkout")

    page.fill("#email", "Jana@Example.com")
    page.fill("#name", "Jana Schmidt")
    fill_billing(page, "DE")
    page.fill("#po_number", "PO-2025-17")
    page.check("input[name=payment_method][value=bank_transfer]")
    page.click("#pay-now")

    expect(page).to_have_url(re.compile(r"/de/orders/"))
    expect(page.locator("#order-status")).to_have_text("Zahlung ausstehend")
    instructions = page.locator("#instructions")
    expect(instructions).to_contain_text("IBAN")
    number = re.search(r"Bestellung (\d+)", page.inner_text("h1"))
    assert number is not None
    expect(instructions).to_contain_text(f"Verwendungszweck {number.group(1)}")
    expect(page.locator("#licence-key")).to_have_count(0)

    paid = httpx.post(
        f"{live_server}/api/v1/admin/orders/{number.group(1)}/payments",
        json={"amount": "610.00", "currency": "EUR", "method": "bank_transfer", "reference": "x"},
        headers=admin,
    )
    assert paid.status_code == 201, paid.text
    page.reload()
    expect(page.locator("#order-status")).to_have_text("Bezahlt")
    key = page.inner_text("#licence-key").strip()
    assert key.startswith("LS1.")

    mails = collector.wait_for(2)
    subjects = [m["Subject"] for m in mails]
    assert len(subjects) == 2
    assert number.group(1) in subjects[0]
    payment_mail = mails[1]
    assert payment_mail["To"] == "jana@example.com"
    assert key in payment_mail.get_body(preferencelist=("plain",)).get_content()


def test_checkout_errors_are_shown_beside_the_fields_in_dutch_and_nothing_is_saved(
    page: Page, live_server: str, admin: dict[str, str]
) -> None:
    page.goto(f"{live_server}/nl/products/base-monthly")
    page.click("#add-to-cart")
    page.click("#to-checkout")
    page.fill("#email", "not-an-address")
    page.click("#pay-now")
    expect(page.locator("#email-error")).to_contain_text("geen e-mailadres")
    expect(page.locator("#name-error")).to_be_visible()
    expect(page.locator("#country-error")).to_be_visible()
    expect(page.locator("#email")).to_have_value("not-an-address")  # what was typed stays
    orders = httpx.get(f"{live_server}/api/v1/admin/orders", headers=admin).json()["orders"]
    assert orders == []


def test_a_tampered_price_in_the_form_changes_nothing(page: Page, live_server: str) -> None:
    add_base_package_with_persons(page, live_server, 5)
    page.click("#to-checkout")
    page.fill("#email", "eve@example.com")
    page.fill("#name", "Eve")
    fill_billing(page, "AT")
    page.evaluate(
        """() => {
        const form = document.querySelector('form.checkout-form');
        for (const [name, value] of [['total', '0.01'], ['price', '0.01']]) {
          const input = document.createElement('input');
          input.type = 'hidden'; input.name = name; input.value = value;
          form.appendChild(input);
        }
      }"""
    )
    page.click("#pay-now")
    expect(page.locator("#total")).to_have_text("520,00\xa0€")  # 490 + 5 x 6


def test_a_second_purchase_with_the_same_email_points_to_upgrade_or_downgrade(
    page: Page, live_server: str
) -> None:
    for attempt in range(2):
        page.goto(f"{live_server}/en/products/base-monthly")
        page.click("#add-to-cart")
        page.click("#to-checkout")
        page.fill("#email", "same@example.com")
        page.fill("#name", "Sam")
        fill_billing(page, "NL")
        page.click("#pay-now")
        if attempt == 0:
            expect(page).to_have_url(re.compile(r"/en/orders/"))
    expect(page.locator("#email-error")).to_contain_text("Upgrade or Downgrade")


def test_trial_from_the_product_page_sends_its_key_to_the_address(
    page: Page, live_server: str, live_settings: Settings
) -> None:
    page.goto(f"{live_server}/de/products/cloud-starter")
    page.fill("#trial-email", "probe@example.com")
    page.click("#start-trial")
    expect(page.locator("h1")).to_have_text("Kostenlos testen")
    expect(page.locator("#trial-sent")).to_contain_text("probe@example.com")
    assert page.locator("#licence-key").count() == 0  # R1: only the address sees the key
    engine = make_engine(live_settings.database_url)
    with session_scope(engine) as session:
        [mail] = list_outbox(session, to="probe@example.com")
    engine.dispose()
    link = re.search(r"(/de/trial/\S+)", mail.text_body)
    assert link
    page.goto(f"{live_server}{link.group(1)}")
    page.click("#show-key")
    assert page.inner_text("#licence-key").startswith("LS1.")


@pytest.mark.parametrize("lang", ["de", "nl"])
def test_no_untranslated_english_on_the_buyers_path(
    page: Page, live_server: str, lang: str
) -> None:
    """Cart, checkout with its errors, order and trial pages in {lang}: no English left."""
    texts = english_texts_untranslated_in(lang)
    offenders: list[str] = []

    def check(where: str) -> None:
        body = visible_text(page)
        offenders.extend(f"{where}: {text!r}" for text in texts if occurs(text, body))

    page.goto(f"{live_server}/{lang}/products/base-yearly")
    page.fill("#qty-persons-yearly", "3")
    page.click("#add-to-cart")
    check("cart")
    page.click("#to-checkout")
    check("checkout")
    page.click("#pay-now")  # empty form: the field errors
    check("checkout errors")
    page.fill("#email", f"{lang}@example.com")
    page.fill("#name", "Test")
    fill_billing(page, "BE")
    page.click("#pay-now")
    expect(page).to_have_url(re.compile(rf"/{lang}/orders/"))
    check("order")
    page.goto(f"{live_server}/{lang}/products/cloud-starter")
    page.fill("#trial-email", f"trial-{lang}@example.com")
    page.click("#start-trial")
    check("trial")
    assert not offenders, "English text on {} pages:\n  {}".format(lang, "\n  ".join(offenders))


def test_r7_a_reseller_names_the_end_customer(
    page: Page, live_server: str, admin: dict[str, str]
) -> None:
    page.goto(f"{live_server}/en/products/server-starter")
    page.click("#add-to-cart")
    page.click("#to-checkout")
    expect(page.locator("#reseller_name")).to_be_hidden()
    page.fill("#email", "reseller@example.com")
    page.fill("#name", "Reseller Ltd")
    fill_billing(page, "GB")
    page.check("input[name=reseller]")
    expect(page.locator("#reseller_name")).to_be_visible()
    page.fill("#reseller_name", "End Customer GmbH")
    page.fill("#reseller_email", "it@endcustomer.example")
    page.click("#save-quote")
    expect(page.locator("#order-status")).to_have_text("Quote")
    [order] = httpx.get(f"{live_server}/api/v1/admin/orders", headers=admin).json()["orders"]
    assert order["status"] == "quote"
    assert order["reseller"] == {
        "customer_name": "End Customer GmbH",
        "customer_email": "it@endcustomer.example",
    }
    assert order["licence_id"] is None  # R7: a quote reserves nothing
