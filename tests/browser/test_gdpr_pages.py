"""Issue 13 (GDPR) in a real browser: the German customer, logged in by a mailed link,
downloads their data from the account (Art. 15/20 GDPR) and gets a JSON file of their own
order, licence and statements; the operator then erases them in the back office, in two
steps, and the report says the invoice is kept until its retention date (Art. 17(3)(b))."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass, replace
from pathlib import Path

import httpx
import pytest
from aiosmtpd.controller import Controller
from english import english_texts_untranslated_in, occurs, visible_text
from fake_smtp import Collector
from live import bound_socket, free_port, serve
from playwright.sync_api import Browser, Page, expect

from shop.accounts.tokens import create_token
from shop.backoffice.operators import create_operator
from shop.clock import Clock
from shop.db import make_engine, session_scope
from shop.settings import Settings

pytestmark = pytest.mark.browser
PASSWORD = "correct horse battery"
EMAIL = "kundin@example.com"


@dataclass
class Scene:
    url: str
    mails: Collector
    admin: dict[str, str]


@pytest.fixture
def scene(seeded: Settings) -> Iterator[Scene]:
    collector = Collector()
    controller = Controller(collector, hostname="127.0.0.1", port=free_port())
    controller.start()
    engine = make_engine(seeded.database_url)
    with session_scope(engine) as session:
        now = Clock.from_setting(seeded.clock, seeded.timezone).now()
        create_operator(session, "ops@example.com", PASSWORD, now, locale="de")
        token = create_token(session, "gdpr", now)
    engine.dispose()
    settings = replace(seeded, smtp_url=f"smtp://127.0.0.1:{controller.port}")
    try:
        with serve(settings, bound_socket()) as url:
            yield Scene(url, collector, {"Authorization": f"Bearer {token}"})
    finally:
        controller.stop()


@pytest.fixture
def german(browser: Browser) -> Iterator[Page]:
    context = browser.new_context(
        locale="de-DE", viewport={"width": 1280, "height": 900}, accept_downloads=True
    )
    context.set_default_timeout(15_000)
    yield context.new_page()
    context.close()


def paid_order(scene: Scene) -> dict[str, object]:
    body = {
        "email": EMAIL,
        "name": "Karla Kundin",
        "country": "DE",
        "street": "Lindenweg 3",
        "postcode": "10115",
        "city": "Berlin",
        "currency": "EUR",
        "payment_method": "bank_transfer",
        "items": [{"sku": "server-starter", "quantity": 1}],
        "statements": ["immediate_performance", "withdrawal_loss"],
    }
    placed = httpx.post(f"{scene.url}/api/v1/orders?lang=de", json=body)
    assert placed.status_code == 201, placed.text
    order = placed.json()["order"]
    paid = httpx.post(
        f"{scene.url}/api/v1/admin/orders/{order['number']}/payments",
        json={**order["total"], "method": "bank_transfer"},
        headers=scene.admin,
    )
    assert paid.status_code == 201, paid.text
    return paid.json()["order"]  # type: ignore[no-any-return]


def login_link(scene: Scene) -> str:
    for count in range(1, 8):
        for mail in scene.mails.wait_for(count):
            text = mail.get_body(preferencelist=("plain",)).get_content()
            if link := re.search(r"https?://\S+?(/de/account/login/\S+)", text):
                return link.group(1)
    raise AssertionError("no login link arrived")


def test_issue13_the_customer_downloads_their_data_and_the_operator_erases_them(
    german: Page, scene: Scene, tmp_path: Path
) -> None:
    page = german
    order = paid_order(scene)
    page.goto(f"{scene.url}/de/login")
    page.fill("#login-email", EMAIL)
    page.click("#send-link")
    expect(page.locator("#login-sent")).to_be_visible()
    page.goto(f"{scene.url}{login_link(scene)}")
    page.click("#log-in-now")
    expect(page).to_have_url(re.compile(r"/de/account$"))
    link = page.locator("#download-my-data")
    expect(link).to_have_text("Meine Daten herunterladen")
    leaked = [t for t in english_texts_untranslated_in("de") if occurs(t, visible_text(page))]
    assert leaked == []

    with page.expect_download() as download:
        link.click()
    saved = tmp_path / download.value.suggested_filename
    download.value.save_as(saved)
    assert saved.suffix == ".json"
    data = json.loads(saved.read_text("utf-8"))
    assert data["email"] == EMAIL
    [exported] = data["orders"]
    assert exported["number"] == order["number"] and exported["city"] == "Berlin"
    assert {s["kind"] for s in exported["statements"]} == {
        "immediate_performance",
        "withdrawal_loss",
    }
    assert len(data["licences"]) == 1

    # The operator erases the customer: search, confirm by typing the address, report.
    operator = page.context.browser.new_page(locale="de-DE")  # type: ignore[union-attr]
    operator.goto(f"{scene.url}/admin/login")
    operator.fill("#email", "ops@example.com")
    operator.fill("#password", PASSWORD)
    operator.click("#log-in")
    operator.goto(f"{scene.url}/admin/customers")
    operator.fill("#q", EMAIL)
    operator.press("#q", "Enter")
    expect(operator.locator("#kept-invoices")).to_contain_text("31. Dezember 2033")
    operator.click("#erase-start")
    operator.fill("#confirm-email", EMAIL)
    operator.click("#erase-now")
    report = operator.locator("#erase-report")
    expect(report).to_contain_text("Kunde gelöscht")
    expect(report).to_contain_text("erased-")
    expect(report.locator("#kept-invoices")).to_contain_text("31. Dezember 2033")
    english = english_texts_untranslated_in("de")
    assert [t for t in english if occurs(t, visible_text(operator))] == []
    operator.close()

    # The old address has nothing left: the export is empty.
    page.reload()
    with page.expect_download() as again:
        page.click("#download-my-data")
    after = tmp_path / "after.json"
    again.value.save_as(after)
    empty = json.loads(after.read_text("utf-8"))
    assert empty["orders"] == [] and empty["licences"] == []
