"""Selling lawfully in Germany and the Netherlands, in a real browser: the order button
(§312j BGB) with the summary right above it, the full billing address (§14 UStG) with ISO
countries only, and a consumer's two statements for digital content (§356(5) BGB) on the
invoice and in the order mail."""

from __future__ import annotations

import re
from dataclasses import replace
from io import BytesIO

import httpx
import pypdf
import pytest
from billing import fill_billing
from fake_smtp import Collector
from playwright.sync_api import Page, expect

from shop.settings import Settings

pytestmark = pytest.mark.browser

WORDS = {
    "de": {
        "button": "Zahlungspflichtig bestellen",
        "quote": "Angebot anfordern",
        "review": "Was Sie bestellen",
        "statement": "Ich stimme ausdrücklich zu",
        "on_invoice": "Ihre Erklärung vom",
        "business": "Sie bestellen als Unternehmer",
    },
    "nl": {
        "button": "Bestellen met betalingsverplichting",
        "quote": "Offerte aanvragen",
        "review": "Wat u bestelt",
        "statement": "Ik ga er uitdrukkelijk mee akkoord",
        "on_invoice": "Uw verklaring van",
        "business": "U bestelt als onderneming",
    },
}


@pytest.fixture
def live_settings(seeded: Settings, smtp: tuple[str, Collector]) -> Settings:
    return replace(seeded, smtp_url=smtp[0])


def _text(pdf: bytes) -> str:
    pages = pypdf.PdfReader(BytesIO(pdf)).pages
    return " ".join(" ".join(page.extract_text() for page in pages).split())


@pytest.mark.parametrize("lang", ["de", "nl"])
def test_a_consumer_orders_with_the_button_the_address_and_both_statements(
    page: Page, live_server: str, smtp: tuple[str, Collector], lang: str
) -> None:
    words = WORDS[lang]
    page.goto(f"{live_server}/{lang}/products/base-yearly")
    page.click("#add-to-cart")
    page.click("#to-checkout")

    expect(page.locator("#pay-now")).to_have_text(words["button"])
    expect(page.locator("#save-quote")).to_have_text(words["quote"])
    # The summary of what is bought, its price, term and renewal, right above the button.
    review = page.locator(".order-review")
    expect(review).to_contain_text(words["review"])
    expect(review.locator("#review-total")).to_have_text(page.inner_text("#total"))
    expect(review.locator("#review-term")).to_contain_text("12")
    above = page.evaluate(
        """() => document.querySelector('.order-review').getBoundingClientRect().bottom
                 <= document.querySelector('#pay-now').getBoundingClientRect().top"""
    )
    assert above
    # Real countries only: no "EU", no pseudo-locale "XA", no "QO" (Outlying Oceania).
    codes = page.eval_on_selector_all("#billing-country option", "os => os.map(o => o.value)")
    assert {"EU", "EZ", "UN", "XA", "XB", "QO"}.isdisjoint(codes) and "DE" in codes
    # A business buyer sees the business note instead of the consumer's statements.
    page.fill("#organisation", "Feuerwehr Musterstadt")
    expect(page.locator(".business-statement")).to_contain_text(words["business"])
    expect(page.locator(".consumer-statements")).to_be_hidden()
    page.fill("#organisation", "")
    expect(page.locator(".consumer-statements")).to_be_visible()
    expect(page.locator(".consumer-statements")).to_contain_text(words["statement"])

    # Without the address and the statements, the order is refused field by field.
    page.fill("#email", f"verbraucher-{lang}@example.com")
    page.fill("#name", "Jana Schmidt")
    page.click("#pay-now")
    expect(page.locator("#street")).to_have_attribute("aria-invalid", "true")
    expect(page.locator("#consent_withdrawal_loss")).to_have_attribute("aria-invalid", "true")

    fill_billing(page, "DE" if lang == "de" else "NL")
    page.check("input[name=payment_method][value=bank_transfer]")
    page.click("#pay-now")
    expect(page).to_have_url(re.compile(rf"/{lang}/orders/"))

    pdf = httpx.get(live_server + (page.get_attribute("#document", "href") or ""))
    text = _text(pdf.content)
    street = "Musterstraße 1" if lang == "de" else "Damrak 1"
    assert street in text and ("10115 Berlin" in text or "1012 LG Amsterdam" in text)
    assert text.count(words["on_invoice"]) == 2  # two separate statements, each with its time
    assert ("Deutschland" if lang == "de" else "Duitsland") in text  # the seller's country

    mail = smtp[1].wait_for(1)[0]
    body = mail.get_body(preferencelist=("plain",)).get_content()
    assert words["statement"] in body and street not in (mail["Subject"] or "")
