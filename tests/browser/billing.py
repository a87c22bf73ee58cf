"""The checkout's billing address and, for a consumer, the two statements (§356(5) BGB),
filled the way a buyer fills them."""

from __future__ import annotations

from playwright.sync_api import Page

# A real-looking address per billing country: street, postcode, city.
ADDRESSES = {
    "DE": ("Musterstraße 1", "10115", "Berlin"),
    "AT": ("Ring 1", "1010", "Wien"),
    "NL": ("Damrak 1", "1012 LG", "Amsterdam"),
    "BE": ("Rue Neuve 1", "1000", "Bruxelles"),
    "GB": ("1 High Street", "SW1A 1AA", "London"),
    "CH": ("Bahnhofstrasse 1", "8001", "Zürich"),
    "DZ": ("1 Rue Didouche Mourad", "16000", "Alger"),
}


def fill_billing(page: Page, country: str, statements: bool = True) -> None:
    """Choose ``country``, type its address and, if the page asks a consumer for them,
    tick both statements."""
    page.select_option("#billing-country", country)
    street, postcode, city = ADDRESSES[country]
    page.fill("#street", street)
    page.fill("#postcode", postcode)
    page.fill("#city", city)
    if statements and page.locator(".consumer-statements").is_visible():
        page.check("#consent_immediate_performance")
        page.check("#consent_withdrawal_loss")
