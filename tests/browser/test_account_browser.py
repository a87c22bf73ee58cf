"""R35 in a real browser: a German customer asks for a login link on /de/login, follows
it from the mail the SMTP server received, sees the licence and its key, and downloads
the invoice of the paid bank-transfer order as a PDF holding its number and total."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import replace
from io import BytesIO

import httpx
import pypdf
import pytest
from aiosmtpd.controller import Controller
from fake_smtp import Collector
from live import free_port
from playwright.sync_api import Page, expect

from shop.settings import Settings

ORDER = {
    "email": "konto@example.com",
    "name": "Karla Konto",
    "country": "DE",
    "currency": "EUR",
    "payment_method": "bank_transfer",
    "items": [{"sku": "base-yearly", "quantity": 1}, {"sku": "persons-yearly", "quantity": 20}],
}


@pytest.fixture
def smtp() -> Iterator[tuple[str, Collector]]:
    """The SMTP test server on a port of the range the machine gives (SHOP_TEST_PORTS)."""
    collector = Collector()
    port = free_port()
    controller = Controller(collector, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield f"smtp://127.0.0.1:{port}", collector
    finally:
        controller.stop()


@pytest.fixture
def live_settings(seeded: Settings, smtp: tuple[str, Collector]) -> Settings:
    return replace(seeded, smtp_url=smtp[0])


def test_r35_a_customer_logs_in_by_mail_sees_the_key_and_downloads_the_invoice(
    page: Page, live_server: str, admin: dict[str, str], smtp: tuple[str, Collector]
) -> None:
    _url, collector = smtp
    placed = httpx.post(f"{live_server}/api/v1/orders?lang=de", json=ORDER)
    assert placed.status_code == 201, placed.text
    order = placed.json()["order"]
    paid = httpx.post(
        f"{live_server}/api/v1/admin/orders/{order['number']}/payments",
        json={"amount": "610.00", "currency": "EUR", "method": "bank_transfer", "reference": "x"},
        headers=admin,
    )
    assert paid.status_code == 201, paid.text
    before = len(collector.wait_for(2))  # the order's and the payment's mails

    page.goto(f"{live_server}/de/")
    page.click("#my-account")
    expect(page).to_have_url(re.compile(r"/de/login$"))
    page.fill("#login-email", "Konto@Example.com")
    page.click("#send-link")
    expect(page.locator("#login-sent")).to_contain_text("Link")

    mail = collector.wait_for(before + 1)[before]
    assert mail["To"] == "konto@example.com"
    text = mail.get_body(preferencelist=("plain",)).get_content()
    link = re.search(r"https?://\S+?(/de/account/login/\S+)", text)
    assert link, text
    page.goto(f"{live_server}{link.group(1)}")
    page.click("#log-in-now")
    expect(page).to_have_url(re.compile(r"/de/account$"))
    expect(page.locator("h1")).to_have_text("Mein Konto")
    key = page.locator(".licence-key").first.input_value()
    assert key.startswith("LS1.")
    row = page.locator(f"#order-{order['number']}")
    expect(row).to_contain_text("Bezahlt")
    expect(row).to_contain_text("610,00")

    href = row.locator("a[href$='document.pdf']").get_attribute("href")
    assert href
    pdf = page.request.get(f"{live_server}{href}")
    assert pdf.status == 200 and pdf.headers["content-type"].startswith("application/pdf")
    reader = pypdf.PdfReader(BytesIO(pdf.body()))
    content = "\n".join(p.extract_text() for p in reader.pages)
    assert str(order["number"]) in content
    assert "610,00" in content
