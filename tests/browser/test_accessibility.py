"""WCAG 2.1 AA (European Accessibility Act): the buyer's pages pass axe-core with zero
violations in German, Dutch and English; a skip link; errors tied to their fields; order
pages fit a 390 px phone.

A page is one line of ``PAGES``: a name, its path (``{lang}``, ``{pending}``, ``{paid}``,
``{number}`` and ``{subscription}`` are filled in) and, if needed, what the buyer does there
before axe looks (e.g. submit an empty form)."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace

import httpx
import pytest
from axe import axe_violations, describe
from fake_smtp import Collector
from playwright.sync_api import Browser, Page, expect

from shop.settings import Settings

pytestmark = pytest.mark.browser
ORDER = {
    "email": "barrierefrei@example.com",
    "name": "Feuerwehr Musterstadt",
    "country": "DE",
    "currency": "EUR",
    "payment_method": "bank_transfer",
    "items": [{"sku": "base-yearly", "quantity": 1}, {"sku": "persons-yearly", "quantity": 20}],
}


def submit_empty_checkout(page: Page) -> None:
    page.click("#pay-now")
    expect(page.locator("#email-error")).to_be_visible()


def submit_empty_declaration(page: Page) -> None:
    page.click("#to-confirmation")
    expect(page.locator("#email-error")).to_be_visible()


@dataclass(frozen=True)
class Visit:
    name: str
    path: str
    then: Callable[[Page], None] | None = None


# In the order the buyer goes: the cart holds a line from the product page on.
PAGES = [
    Visit("catalog", "/{lang}/"),
    Visit("product", "/{lang}/products/base-yearly"),
    Visit("cart (empty)", "/{lang}/cart"),
    Visit("order pending, with payment instructions", "/{lang}/orders/{pending}"),
    Visit("order paid", "/{lang}/orders/{paid}"),
    Visit("subscription", "/{lang}/subscriptions/{subscription}"),
    Visit("login", "/{lang}/login"),
    Visit("account", "/{lang}/account"),
    Visit("account order", "/{lang}/account/orders/{number}"),
    Visit("not found", "/{lang}/no-such-page"),
    Visit("cart", "/{lang}/products/base-yearly", lambda page: page.click("#add-to-cart")),
    Visit("checkout", "/{lang}/checkout"),
    Visit("checkout with errors", "/{lang}/checkout", submit_empty_checkout),
    Visit("cancel contracts", "/{lang}/cancel"),
    Visit("cancel contracts with errors", "/{lang}/cancel", submit_empty_declaration),
    Visit("withdraw", "/{lang}/withdraw"),
    Visit("withdraw with errors", "/{lang}/withdraw", submit_empty_declaration),
]


@pytest.fixture
def live_settings(seeded: Settings, smtp: tuple[str, Collector]) -> Settings:
    return replace(seeded, smtp_url=smtp[0])


@pytest.fixture
def browser_page(browser: Browser, request: pytest.FixtureRequest) -> Iterator[Page]:
    lang = request.node.callspec.params["lang"]
    context = browser.new_context(locale=lang, viewport={"width": 1280, "height": 900})
    context.set_default_timeout(15_000)
    yield context.new_page()
    context.close()


def place(
    live_server: str,
    lang: str,
    email: str,
    admin: dict[str, str] | None = None,
    quote: bool = False,
) -> dict[str, str]:
    """An order (or a quote) placed in ``lang``, paid by bank transfer when the operator's
    headers are given: its token and number."""
    body = {**ORDER, "email": email, "quote": quote}
    order = httpx.post(f"{live_server}/api/v1/orders?lang={lang}", json=body).json()["order"]
    if admin is not None:
        paid = httpx.post(
            f"{live_server}/api/v1/admin/orders/{order['number']}/payments",
            json={"amount": "610.00", "currency": "EUR", "method": "bank_transfer"},
            headers=admin,
        )
        assert paid.status_code == 201, paid.text
    return {"token": str(order["token"]), "number": str(order["number"])}


def log_in(page: Page, live_server: str, lang: str, mails: Collector) -> None:
    page.goto(f"{live_server}/{lang}/login")
    page.fill("#login-email", ORDER["email"])  # type: ignore[arg-type]
    page.click("#send-link")
    expect(page.locator("#login-sent")).to_be_visible()
    for count in range(1, 8):
        for mail in mails.wait_for(count):
            text = mail.get_body(preferencelist=("plain",)).get_content()
            if link := re.search(rf"https?://\S+?(/{lang}/account/login/\S+)", text):
                page.goto(f"{live_server}{link.group(1)}")
                page.click("#log-in-now")
                expect(page).to_have_url(re.compile(rf"/{lang}/account$"))
                return
    raise AssertionError("no login link arrived")


@pytest.mark.parametrize("lang", ["de", "nl", "en"])
def test_the_buyers_pages_pass_axe_wcag_21_aa(
    browser_page: Page,
    live_server: str,
    admin: dict[str, str],
    smtp: tuple[str, Collector],
    lang: str,
) -> None:
    page = browser_page
    pending = place(live_server, lang, "offen@example.com")
    paid = place(live_server, lang, str(ORDER["email"]), admin)
    page.goto(f"{live_server}/{lang}/orders/{paid['token']}")
    subscription = page.get_attribute("#manage-subscription", "href") or ""
    values = {
        "lang": lang,
        "pending": pending["token"],
        "paid": paid["token"],
        "number": paid["number"],
        "subscription": subscription.rstrip("/").rsplit("/", 1)[-1],
    }
    found = []
    for visit in PAGES:
        if visit.name == "account":
            log_in(page, live_server, lang, smtp[1])
        page.goto(live_server + visit.path.format(**values))
        if visit.then:
            visit.then(page)
        if violations := axe_violations(page):
            found.append(f"{visit.name} ({page.url}):\n{describe(violations)}")
    assert not found, "\n".join(found)


def fits_the_screen(page: Page, cell: str) -> None:
    width = page.evaluate("() => document.documentElement.scrollWidth")
    assert width <= 390, f"{page.url} is {width} px wide on a 390 px screen"
    box = page.locator(cell).bounding_box()
    assert box is not None and box["x"] >= 0 and box["x"] + box["width"] <= 390, box


def test_on_a_390_px_phone_the_order_and_cart_fit_with_their_totals_in_german(
    browser: Browser, live_server: str
) -> None:
    context = browser.new_context(locale="de-DE", viewport={"width": 390, "height": 844})
    page = context.new_page()
    try:
        order = place(live_server, "de", "telefon@example.com")
        page.goto(f"{live_server}/de/orders/{order['token']}")
        expect(page.locator("tr[data-sku]")).to_have_count(2)
        expect(page.locator("#total")).to_have_text("610,00\xa0€")
        fits_the_screen(page, "#total")
        quote = place(live_server, "de", "angebot@example.com", quote=True)
        page.goto(f"{live_server}/de/orders/{quote['token']}")
        expect(page.locator("h1")).to_contain_text("Angebot")
        fits_the_screen(page, "#total")
        page.goto(f"{live_server}/de/products/base-yearly")
        page.fill("#qty-persons-yearly", "20")
        page.click("#add-to-cart")
        fits_the_screen(page, "#total")
        page.click("#to-checkout")
        fits_the_screen(page, "#total")
    finally:
        context.close()


@pytest.mark.parametrize(
    ("lang", "skip"), [("de", "Zum Inhalt springen"), ("nl", "Naar de inhoud")]
)
def test_the_first_tab_offers_the_skip_link_and_a_field_names_its_error(
    browser: Browser, live_server: str, lang: str, skip: str
) -> None:
    context = browser.new_context(locale=lang)
    page = context.new_page()
    try:
        page.goto(f"{live_server}/{lang}/products/base-yearly")
        page.keyboard.press("Tab")
        focused = page.locator(":focus")
        expect(focused).to_have_text(skip)
        assert (
            page.evaluate("() => getComputedStyle(document.activeElement).outlineStyle") != "none"
        )
        page.keyboard.press("Enter")
        expect(page).to_have_url(re.compile("#content$"))

        page.click("#add-to-cart")
        page.click("#to-checkout")
        page.click("#pay-now")  # nothing filled in
        email = page.locator("#email")
        expect(email).to_have_attribute("aria-invalid", "true")
        described = email.get_attribute("aria-describedby")
        error = page.locator(f"#{described}")
        expect(error).to_be_visible()
        expect(error).to_have_text(re.compile(r"\w{4,}"))
        name_error = page.locator("#name-error")
        expect(page.locator("#name")).to_have_attribute("aria-describedby", "name-error")
        expect(name_error).to_be_visible()
        expect(page.locator("#organisation")).not_to_have_attribute("aria-invalid", "true")
    finally:
        context.close()
