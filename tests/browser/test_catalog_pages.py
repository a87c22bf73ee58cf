"""The storefront in a real browser: languages, money, currency choice, plugins, phones (R34)."""

from __future__ import annotations

import re
from decimal import Decimal
from pathlib import Path

import httpx
import pytest
from babel.numbers import format_currency
from english import (
    catalog_for,
    english_texts_untranslated_in,
    normalise,
    occurs,
    visible_text,
)
from playwright.sync_api import Page, expect

from shop.demo import DEMO_DZD_MARGIN, DEMO_DZD_RATE
from shop.plugins.manager import Plugins, get_plugin_manager
from shop.settings import ROOT

pytestmark = pytest.mark.browser

LOCALES_DIR: Path = ROOT / "locales"
BASE_YEARLY_EUR = Decimal("490.00")
BASE_YEARLY_USD = Decimal("540.00")
SELF_SERVICE_NOTICE = (
    "This package cannot be changed in self-service. Please open a ticket and our support "
    "team will make the change for you."
)
PHONE = {"width": 390, "height": 844}

# --- helpers ----------------------------------------------------------------------------


def translated(lang: str, msgid: str) -> str:
    """``msgid`` as the shop's catalog for ``lang`` translates it (English when untranslated)."""
    message = catalog_for(lang).get(msgid)
    if message is None or not message.string or message.fuzzy:
        return msgid
    assert isinstance(message.string, str)
    return message.string


def money(amount: Decimal, currency: str, lang: str) -> str:
    return normalise(format_currency(amount, currency, locale=lang))


def builtin_line_names() -> list[str]:
    """English names of the product lines the shop sells out of the box, in page order."""
    plugins = Plugins(get_plugin_manager())
    off = [name for name, info in plugins.infos.items() if not info.enabled_by_default]
    return [line.name for line in plugins.enabled(off).lines]


def amount(page: Page, sku: str) -> str:
    return normalise(page.locator(f'.card[data-sku="{sku}"] .amount').inner_text())


def show_prices(page: Page, *, country: str | None = None, currency: str | None = None) -> None:
    """Choose a billing country and/or currency in the choice bar and submit it."""
    if country is not None:
        page.select_option("#country", country)
    if currency is not None:
        page.select_option("#currency", currency)
    with page.expect_navigation():
        page.locator("form.choice-bar button[type=submit]").click()


def offered_currencies(page: Page) -> list[str]:
    return page.locator("#currency option").evaluate_all("options => options.map(o => o.value)")


# --- a. each language -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("lang", "base_heading"), [("de", "Basispaket"), ("nl", "Basispakket"), ("en", "Base package")]
)
def test_catalog_speaks_the_language_of_its_url(
    page: Page, live_server: str, lang: str, base_heading: str
) -> None:
    """Given the demo shop, when a buyer opens /{lang}/,
    then the page is declared in that language, prices are written the local way
    (e.g. "490,00 €" in German) and the product lines are headed in that language."""
    page.goto(f"{live_server}/{lang}/")

    expect(page.locator("html")).to_have_attribute("lang", lang)
    assert amount(page, "base-yearly") == money(BASE_YEARLY_EUR, "EUR", lang)

    headings = [normalise(h) for h in page.locator("section.line > header h2").all_inner_texts()]
    english = builtin_line_names()
    assert headings == [translated(lang, name) for name in english]
    assert base_heading in headings
    if lang != "en":
        assert not set(headings) & set(english), f"English line headings on /{lang}/: {headings}"


# --- b. no English left over ------------------------------------------------------------


@pytest.mark.parametrize("lang", ["de", "nl"])
def test_no_untranslated_english_on_german_and_dutch_pages(
    page: Page, live_server: str, lang: str
) -> None:
    """Given the texts the shop has translated into {lang}, when a buyer reads the catalog and
    two product pages in {lang}, then none of those texts appears there in English."""
    texts = english_texts_untranslated_in(lang)
    assert len(texts) > 20, "the English message catalog looks empty"
    paths = ("/", "/products/base-yearly", "/products/server-professional")

    page.goto(f"{live_server}/en/")
    seen_in_english = [text for text in texts if occurs(text, visible_text(page))]
    assert len(seen_in_english) > 10, "the check would not notice English text: fix the test"

    offenders = []
    for path in (f"/{lang}{p}" for p in paths):
        response = page.goto(live_server + path)
        assert response is not None and response.ok, f"{path} did not answer 200"
        body = visible_text(page)
        offenders += [f"{path}: {text!r}" for text in texts if occurs(text, body)]
    assert not offenders, "English text on {} pages:\n  {}".format(lang, "\n  ".join(offenders))


# --- c. language switcher ---------------------------------------------------------------


def test_language_switcher_is_remembered(page: Page, live_server: str) -> None:
    """Given an English-speaking browser on the German catalog, when the buyer clicks "NL",
    then the Dutch catalog opens; and when they later come back to the shop's home address,
    the shop remembers Dutch instead of following the browser's English."""
    page.goto(f"{live_server}/de/")
    expect(page.locator("html")).to_have_attribute("lang", "de")

    page.get_by_role("link", name="NL", exact=True).click()

    # /nl/ is the catalog's address; /nl is what the switcher links to today (see below).
    expect(page).to_have_url(re.compile(re.escape(live_server) + r"/nl/?$"))
    expect(page.locator("html")).to_have_attribute("lang", "nl")
    expect(page.get_by_role("heading", level=2, name="Basispakket", exact=True)).to_be_visible()

    page.goto(f"{live_server}/")

    expect(page).to_have_url(f"{live_server}/nl/")
    expect(page.locator("html")).to_have_attribute("lang", "nl")


def test_language_switcher_leads_to_the_catalog_address(page: Page, live_server: str) -> None:
    """Given the German catalog at /de/, when the buyer clicks "NL",
    then the address bar shows the Dutch catalog's address /nl/, the one the shop links to."""
    page.goto(f"{live_server}/de/")

    page.get_by_role("link", name="NL", exact=True).click()

    expect(page).to_have_url(f"{live_server}/nl/", timeout=2_000)


# --- d. currency and billing country ----------------------------------------------------


def test_algerian_buyer_can_pay_in_dinar(page: Page, live_server: str) -> None:
    """Given the English catalog in euros, when the buyer chooses Algeria as billing country,
    then DZD is offered; and when they choose DZD, prices are shown in Algerian dinars
    (EUR list price at the shop's rate plus margin)."""
    page.goto(f"{live_server}/en/")
    assert "DZD" not in offered_currencies(page)

    show_prices(page, country="DZ")

    expect(page.locator("#country")).to_have_value("DZ")
    assert "DZD" in offered_currencies(page)
    assert amount(page, "base-yearly") == money(BASE_YEARLY_EUR, "EUR", "en")

    show_prices(page, currency="DZD")

    expect(page.locator("#currency")).to_have_value("DZD")
    dinar = (BASE_YEARLY_EUR * DEMO_DZD_RATE * (1 + DEMO_DZD_MARGIN)).quantize(Decimal("0.01"))
    assert amount(page, "base-yearly") == money(dinar, "DZD", "en")
    expect(page.get_by_role("status")).to_have_count(0)


def test_dinar_for_a_german_billing_address_is_refused(page: Page, live_server: str) -> None:
    """Given a buyer paying in DZD from Algeria, when they change their billing country to
    Germany and keep DZD, then a notice says DZD is for Algeria only and prices stay in EUR."""
    page.goto(f"{live_server}/en/?country=DZ&currency=DZD")
    expect(page.locator("#currency")).to_have_value("DZD")

    show_prices(page, country="DE")

    notice = page.get_by_role("status")
    expect(notice).to_be_visible()
    expect(notice).to_contain_text("DZD")
    expect(notice).to_contain_text("Algeria")
    expect(page.locator("#country")).to_have_value("DE")
    expect(page.locator("#currency")).to_have_value("EUR")
    assert "DZD" not in offered_currencies(page)
    assert amount(page, "base-yearly") == money(BASE_YEARLY_EUR, "EUR", "en")


def test_currency_choice_follows_the_buyer_to_the_product_page(
    page: Page, live_server: str
) -> None:
    """Given a buyer in Algeria who chose DZD on the catalog, when they open a product's
    details, then its price is still shown in Algerian dinars."""
    page.goto(f"{live_server}/en/")
    show_prices(page, country="DZ")
    show_prices(page, currency="DZD")
    catalog_price = amount(page, "base-yearly")

    page.locator('.card[data-sku="base-yearly"] a.button').click()

    expect(page).to_have_url(f"{live_server}/en/products/base-yearly")
    price = page.locator(".buy-box .price .amount")
    expect(price).to_be_visible()
    assert normalise(price.inner_text()) == catalog_price


# --- e. plugins switched at run time ----------------------------------------------------


def test_disabling_the_usd_plugin_takes_effect_without_restart(
    page: Page, live_server: str, admin: dict[str, str]
) -> None:
    """Given a buyer who chose US dollars, when the operator disables the USD plugin on the
    running shop, then the next page no longer offers USD and shows euro prices; and when
    the operator enables it again, USD is back."""
    page.goto(f"{live_server}/en/")
    show_prices(page, currency="USD")
    assert amount(page, "base-yearly") == money(BASE_YEARLY_USD, "USD", "en")

    def set_usd(enabled: bool) -> None:
        response = httpx.patch(
            f"{live_server}/api/v1/admin/plugins/usd",
            json={"enabled": enabled},
            headers=admin,
            timeout=10,
        )
        assert response.status_code == 200, response.text
        assert response.json()["plugin"]["enabled"] is enabled

    set_usd(False)
    page.goto(f"{live_server}/en/")

    assert "USD" not in offered_currencies(page)
    assert "EUR" in offered_currencies(page)
    assert amount(page, "base-yearly") == money(BASE_YEARLY_EUR, "EUR", "en")

    set_usd(True)
    page.reload()

    assert "USD" in offered_currencies(page)


# --- f. phones --------------------------------------------------------------------------


@pytest.mark.parametrize("lang", ["de", "nl", "en"])
def test_catalog_and_product_page_fit_a_phone(page: Page, live_server: str, lang: str) -> None:
    """Given a phone 390 px wide, when the buyer opens the catalog, then nothing makes the page
    scroll sideways; and on a product page the price is visible within the screen's width."""
    page.set_viewport_size(PHONE)
    page.goto(f"{live_server}/{lang}/")

    widths = page.evaluate("() => [document.documentElement.scrollWidth, window.innerWidth]")
    assert widths[0] <= widths[1], f"/{lang}/ scrolls sideways: {widths[0]}px in {widths[1]}px"

    page.goto(f"{live_server}/{lang}/products/server-professional")

    price = page.locator(".buy-box .price .amount")
    expect(price).to_be_visible()
    box = price.bounding_box()
    assert box is not None
    assert box["x"] >= 0 and box["x"] + box["width"] <= PHONE["width"], box
    assert normalise(price.inner_text()) == money(Decimal("3990.00"), "EUR", lang)


# --- g. legacy packages -----------------------------------------------------------------


def test_legacy_package_tells_the_buyer_to_open_a_ticket(page: Page, live_server: str) -> None:
    """Given a legacy package, when a German buyer opens its product page, then a notice in
    German says it cannot be changed in self-service and to open a ticket;
    a current package shows no such notice."""
    page.goto(f"{live_server}/de/products/package-3")

    german = translated("de", SELF_SERVICE_NOTICE)
    assert german != SELF_SERVICE_NOTICE, "the notice has no German translation"
    notice = page.locator(".product .notice")
    expect(notice).to_have_text(german)
    expect(notice).to_contain_text("Ticket")

    page.goto(f"{live_server}/de/products/base-yearly")

    expect(page.locator(".product .notice")).to_have_count(0)
