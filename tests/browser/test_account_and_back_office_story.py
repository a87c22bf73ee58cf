"""Issue 12's story in a real browser, in the demo's test mode (fake Stripe and PayPal) with
the SMTP test server: a German customer logs in by a mailed link, pays an open quote by
card, sees the key, downloads the invoice, schedules a downgrade and cancels; a German
operator logs in, switches PayPal off (gone from checkout), records a bank transfer (the
order paid, the licence issued) and imports a legacy subscription (no self-service switch)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, replace
from io import BytesIO
from pathlib import Path

import httpx
import pypdf
import pytest
from aiosmtpd.controller import Controller
from english import english_texts_untranslated_in, occurs, visible_text
from fake_smtp import Collector
from live import bound_socket, free_port, serve, url_of
from playwright.sync_api import Browser, Page, expect
from shop_fakes.demo import start_fake_providers

from shop.backoffice.operators import create_operator
from shop.clock import Clock
from shop.db import make_engine, session_scope
from shop.settings import Settings

pytestmark = pytest.mark.browser
PASSWORD = "correct horse battery"
QUOTE = {
    "email": "kunde@example.com",
    "name": "Kundin Konto",
    "country": "DE",
    "currency": "EUR",
    "payment_method": "bank_transfer",
    "quote": True,
    "items": [{"sku": "base-yearly", "quantity": 1}, {"sku": "persons-yearly", "quantity": 20}],
}
LEGACY_CSV = (
    "email,name,organisation,country,currency,payment_method,items,"
    "term_start,term_end,status,licence_key\n"
    "alt@example.de,Altkunde,,DE,EUR,bank_transfer,package-3:1,2024-06-15,2025-06-15,active,\n"
)


@dataclass
class Story:
    url: str
    mails: Collector


@pytest.fixture
def story(seeded: Settings) -> Iterator[Story]:
    collector = Collector()
    controller = Controller(collector, hostname="127.0.0.1", port=free_port())
    controller.start()
    engine = make_engine(seeded.database_url)
    with session_scope(engine) as session:
        now = Clock.from_setting(seeded.clock, seeded.timezone).now()
        create_operator(session, "ops@example.com", PASSWORD, now, locale="de")
    engine.dispose()
    sock = bound_socket()
    fakes = start_fake_providers(url_of(sock))
    settings = replace(
        seeded.with_plugin_values(fakes.plugin_values),
        payments_test_mode=True,
        smtp_url=f"smtp://127.0.0.1:{controller.port}",
    )
    try:
        with serve(settings, sock) as url:
            yield Story(url, collector)
    finally:
        fakes.stop()
        controller.stop()


@pytest.fixture
def german(browser: Browser) -> Iterator[Page]:
    context = browser.new_context(locale="de-DE", viewport={"width": 1280, "height": 900})
    context.set_default_timeout(15_000)
    yield context.new_page()
    context.close()


def login_link(story: Story) -> str:
    """The login link from the mails received (others, e.g. the quote's, may come first)."""
    for count in range(1, 6):
        for mail in story.mails.wait_for(count):
            text = mail.get_body(preferencelist=("plain",)).get_content()
            if link := re.search(r"https?://\S+?(/de/account/login/\S+)", text):
                return link.group(1)
    raise AssertionError("no login link arrived")


def log_in_by_mail(page: Page, story: Story, email: str) -> None:
    page.goto(f"{story.url}/de/login")
    page.fill("#login-email", email)
    page.click("#send-link")
    expect(page.locator("#login-sent")).to_be_visible()
    page.goto(f"{story.url}{login_link(story)}")
    page.click("#log-in-now")
    expect(page).to_have_url(re.compile(r"/de/account$"))


def test_issue12_the_customer_pays_a_quote_by_card_downgrades_and_cancels(
    german: Page, story: Story
) -> None:
    page = german
    quote = httpx.post(f"{story.url}/api/v1/orders?lang=de", json=QUOTE).json()["order"]
    log_in_by_mail(page, story, "Kunde@example.com")

    page.click(f"#order-{quote['number']} >> text=Jetzt bezahlen")
    expect(page).to_have_url(re.compile(r"/de/orders/[\w-]+$"))
    page.select_option("#payment-method", "card")
    page.click("#payment-method-form button[type=submit]")
    page.fill("#cardnumber", "4242 4242 4242 4242")
    page.fill("#exp-date", "12 / 34")
    page.fill("#cvc", "123")
    page.click("#pay-button")
    expect(page.locator("#order-status")).to_have_text("Bezahlt")

    page.goto(f"{story.url}/de/account")
    expect(page.locator("textarea.licence-key")).to_have_value(re.compile(r"^LS1\."))
    leaked = [t for t in english_texts_untranslated_in("de") if occurs(t, visible_text(page))]
    assert leaked == []
    pdf_link = page.locator(f"#order-{quote['number']} a[href$='document.pdf']")
    invoice_number = pdf_link.inner_text().strip()
    pdf = page.request.get(f"{story.url}{pdf_link.get_attribute('href')}")
    assert pdf.status == 200
    text = "".join(p.extract_text() for p in pypdf.PdfReader(BytesIO(pdf.body())).pages)
    assert invoice_number in text and "610,00" in text

    page.click("text=Upgrade, Downgrade oder Kündigung")
    page.click("#upgrade-or-downgrade")
    page.fill("#qty-persons-yearly", "10")
    expect(page.locator("#setup-fee")).to_have_text("0,00\xa0€")
    page.click("#confirm-switch")
    expect(page.locator("#scheduled")).to_contain_text("10 × Zusätzliche Personen")
    page.click("#cancel-subscription")
    page.click("#confirm-cancel")
    expect(page.locator("#no-renewal")).to_be_visible()
    expect(page.locator("#resume-subscription")).to_be_visible()


def test_issue12_the_operator_switches_paypal_off_records_money_and_imports(
    german: Page, story: Story, browser: Browser, tmp_path: Path
) -> None:
    page = german
    page.goto(f"{story.url}/admin/orders")
    expect(page).to_have_url(re.compile(r"/admin/login$"))
    page.fill("#email", "ops@example.com")
    page.fill("#password", PASSWORD)
    page.click("#log-in")
    expect(page.locator("h1")).to_have_text("Übersicht")

    buyer = browser.new_page(locale="de-DE")
    buyer.goto(f"{story.url}/de/products/base-yearly")
    buyer.click("#add-to-cart")
    buyer.click("#to-checkout")
    expect(buyer.locator("input[name=payment_method][value=paypal]")).to_have_count(1)
    page.goto(f"{story.url}/admin/plugins")
    page.click("#toggle-paypal")
    expect(page.locator("#plugin-paypal")).to_have_attribute("data-enabled", "no")
    buyer.reload()
    expect(buyer.locator("input[name=payment_method][value=card]")).to_have_count(1)
    expect(buyer.locator("input[name=payment_method][value=paypal]")).to_have_count(0)
    buyer.close()

    body = {**QUOTE, "email": "ueberweisung@example.com", "quote": False}
    order = httpx.post(f"{story.url}/api/v1/orders?lang=de", json=body).json()["order"]
    page.goto(f"{story.url}/admin/orders")
    page.fill("#q", "ueberweisung@example.com")
    page.click("button[type=submit] >> text=Anzeigen")
    page.click(f"#orders a[href='/admin/orders/{order['number']}']")
    page.fill("#amount", "610,00")
    page.fill("#reference", "SEPA 2025-04-01")
    page.click("#record-payment")
    expect(page.locator("#order-status")).to_have_text("Bezahlt")
    expect(page.locator("#licence-key")).to_contain_text("LS1.")
    # The buyer's e-mails, as they read them: the HTML in a sandboxed frame.
    page.goto(f"{story.url}/admin/outbox?to=ueberweisung@example.com")
    page.click("#outbox tbody a >> nth=0")
    frame = page.frame_locator("#mail-html").locator("body")
    expect(frame).to_contain_text(str(order["number"]))

    csv = tmp_path / "bestand.csv"
    csv.write_text(LEGACY_CSV)
    page.goto(f"{story.url}/admin/import")
    page.set_input_files("#file", str(csv))
    page.click("#import")
    expect(page.locator("#import-report")).to_contain_text("1 Abonnement importiert")
    page.click("#import-report a")
    expect(page.locator("#switch-refusal")).to_be_visible()
    expect(page.locator("#upgrade-or-downgrade")).to_have_count(0)

    # The back office speaks the operator's German throughout (R34).
    english = english_texts_untranslated_in("de")
    for path in (
        "",
        "/orders",
        f"/orders/{order['number']}",
        "/subscriptions",
        "/licences",
        "/reviews",
        "/rates",
        "/promotions",
        "/outbox",
        "/plugins",
        "/import",
    ):
        page.goto(f"{story.url}/admin{path}")
        # Plugins describe themselves in their author's English, marked lang="en".
        page.evaluate("document.querySelectorAll('[lang=en]').forEach(e => e.remove())")
        leaked = [text for text in english if occurs(text, visible_text(page))]
        assert leaked == [], (path, leaked)
