"""The example third-party plugin in a real browser (issue 11): once the operator enabled
``training``, a Swiss buyer sees its banner on the German catalog, its page with the dates
from its table, buys the course in CHF with "Kauf auf Rechnung" and reads the payment term;
the Dutch page is Dutch. The plugin's own texts come from its own catalogs."""

from __future__ import annotations

import re
from datetime import date

import pytest
from billing import fill_billing
from english import normalise, visible_text
from playwright.sync_api import Page, expect
from shop_training.models import add_session

from shop.clock import Clock
from shop.db import make_engine, session_scope
from shop.plugins.manager import Plugins, get_plugin_manager
from shop.plugins.state import set_enabled
from shop.settings import Settings

pytestmark = [pytest.mark.browser, pytest.mark.plugins("training")]

# The plugin's English texts a German or Dutch buyer must not see.
ITS_ENGLISH = (
    "Training courses",
    "Upcoming dates",
    "Online training, half day",
    "Invoice on account",
    "Learn the software with our trainers",
    "New: training courses",
)


@pytest.fixture
def live_settings(seeded: Settings) -> Settings:
    """The demo shop with the plugin enabled and one course date in its table."""
    engine = make_engine(seeded.database_url)
    now = Clock.from_setting(seeded.clock, seeded.timezone).now()
    with session_scope(engine) as session:
        set_enabled(session, Plugins(get_plugin_manager()), "training", True, now)
        add_session(session, "training-online-half-day", date(2025, 6, 2), "Zürich", 8)
    engine.dispose()
    return seeded


def test_a_swiss_buyer_books_the_course_in_chf_on_invoice_in_german(
    page: Page, live_server: str
) -> None:
    page.goto(f"{live_server}/de/")
    banner = page.locator("#training-banner")
    expect(banner).to_have_text("Neu: Schulungen mit unseren Trainern. Zu den Terminen.")
    expect(page.locator("h1")).to_have_text("Lizenzen und Abonnements")  # the core page, kept
    banner.locator("a").click()

    expect(page).to_have_url(re.compile(r"/de/training$"))
    expect(page.locator("h1")).to_have_text("Schulungen")
    page.select_option("#country", "CH")
    page.select_option("#currency", "CHF")
    page.click(".choice-bar button[type=submit]")
    course = page.locator("[data-sku=training-online-half-day]")
    expect(course.locator(".amount")).to_have_text("370,00\xa0CHF")
    row = page.locator("#training-sessions tbody tr")
    expect(row).to_have_count(1)
    expect(row).to_contain_text("2. Juni 2025")
    expect(row).to_contain_text("Zürich")
    expect(row).to_contain_text("8 Plätze")
    text = visible_text(page)
    assert not [english for english in ITS_ENGLISH if english in text]

    course.locator("h3 a").click()
    page.click("#add-to-cart")
    expect(page).to_have_url(re.compile(r"/de/cart$"))
    page.click("#to-checkout")
    page.fill("#email", "urs@example.ch")
    page.fill("#name", "Urs Meier")
    fill_billing(page, "CH")
    page.select_option("#billing-currency", "CHF")
    invoice = page.locator("label", has=page.locator("input[value=invoice]"))
    expect(invoice).to_have_text("Kauf auf Rechnung")
    invoice.click()
    page.click("#pay-now")

    expect(page).to_have_url(re.compile(r"/de/orders/"))
    number = re.search(r"Bestellung (\d+)", page.inner_text("h1"))
    assert number is not None
    instructions = normalise(page.inner_text("#instructions"))
    assert (
        "Sie erhalten eine Rechnung über 333,00 CHF. Bitte zahlen Sie sie innerhalb von "
        f"30 Tagen mit dem Verwendungszweck {number.group(1)}."
    ) in instructions
    assert "Ihr Schulungsplatz ist bestätigt, sobald die Rechnung bezahlt ist." in instructions
    # The course is two months ahead: the plugin's early bird is its own German line.
    assert "Frühbucherrabatt" in page.inner_text("main")


def test_its_page_is_dutch_on_the_dutch_shop(page: Page, live_server: str) -> None:
    page.goto(f"{live_server}/nl/training")
    expect(page.locator("h1")).to_have_text("Trainingen")
    expect(page.locator("h2")).to_have_text("Komende data")
    expect(page.locator("#training-sessions tbody tr")).to_contain_text("2 juni 2025")
    expect(page.locator("#invoice-note")).to_have_text(
        "Bedrijven kunnen op factuur betalen, binnen 30 dagen."
    )
    text = visible_text(page)
    assert not [english for english in ITS_ENGLISH if english in text]
    page.click(".languages a[hreflang=en]")
    expect(page.locator("h1")).to_have_text("Training courses")
