"""Issue 14 in a real browser: the vendor's software activates a licence on the old server;
the new server is refused (activation_limit); the German customer, logged in by a mailed
link, sees the instance on the account page and deactivates it; the new server activates
and its file verifies offline with only the public key; the operator sees the instance in
the back office, frees it, and the activation history says who did what."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, replace
from datetime import timedelta

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
from shop.licences.verify import load_public_key_pem, verify_file
from shop.settings import Settings

pytestmark = pytest.mark.browser
PASSWORD = "correct horse battery"
EMAIL = "kunde@example.com"


@dataclass
class Scene:
    url: str
    mails: Collector
    admin: dict[str, str]
    settings: Settings


@pytest.fixture
def scene(seeded: Settings) -> Iterator[Scene]:
    collector = Collector()
    controller = Controller(collector, hostname="127.0.0.1", port=free_port())
    controller.start()
    engine = make_engine(seeded.database_url)
    with session_scope(engine) as session:
        now = Clock.from_setting(seeded.clock, seeded.timezone).now()
        create_operator(session, "ops@example.com", PASSWORD, now, locale="de")
        token = create_token(session, "story", now)
    engine.dispose()
    settings = replace(seeded, smtp_url=f"smtp://127.0.0.1:{controller.port}")
    try:
        with serve(settings, bound_socket()) as url:
            yield Scene(url, collector, {"Authorization": f"Bearer {token}"}, settings)
    finally:
        controller.stop()


@pytest.fixture
def german(browser: Browser) -> Iterator[Page]:
    context = browser.new_context(locale="de-DE", viewport={"width": 1280, "height": 900})
    context.set_default_timeout(15_000)
    yield context.new_page()
    context.close()


def paid_licence(scene: Scene) -> dict[str, object]:
    body = {
        "email": EMAIL,
        "name": "Kundin Konto",
        "country": "DE",
        "currency": "EUR",
        "payment_method": "bank_transfer",
        "items": [{"sku": "base-yearly", "quantity": 1}],
    }
    order = httpx.post(f"{scene.url}/api/v1/orders?lang=de", json=body).json()["order"]
    paid = httpx.post(
        f"{scene.url}/api/v1/admin/orders/{order['number']}/payments",
        json={**order["total"], "method": "bank_transfer"},
        headers=scene.admin,
    )
    assert paid.status_code == 201, paid.text
    [licence] = httpx.get(
        f"{scene.url}/api/v1/admin/licences", params={"email": EMAIL}, headers=scene.admin
    ).json()["licences"]
    return licence  # type: ignore[no-any-return]


def login_link(scene: Scene) -> str:
    for count in range(1, 8):
        for mail in scene.mails.wait_for(count):
            text = mail.get_body(preferencelist=("plain",)).get_content()
            if link := re.search(r"https?://\S+?(/de/account/login/\S+)", text):
                return link.group(1)
    raise AssertionError("no login link arrived")


def activate(scene: Scene, key: str, fingerprint: str, name: str) -> httpx.Response:
    return httpx.post(
        f"{scene.url}/api/v1/activations?lang=de",
        json={"key": key, "fingerprint": fingerprint, "name": name},
    )


def test_issue14_the_customer_moves_the_licence_to_a_new_server_and_the_operator_frees_it(
    german: Page, scene: Scene
) -> None:
    page = german
    licence = paid_licence(scene)
    key = str(licence["key"])
    # The software on the old server activates; the new server is refused.
    old = activate(scene, key, "srv-alt-7f3a", "Alter Server")
    assert old.status_code == 201, old.text
    old_id = old.json()["activation"]["id"]
    refused = activate(scene, key, "srv-neu-91bc", "Neuer Server")
    assert refused.status_code == 409
    assert refused.json()["code"] == "activation_limit"
    assert "Alter Server (srv-alt-7f3a)" in refused.json()["detail"]

    # The customer logs in by the mailed link and sees the instance.
    page.goto(f"{scene.url}/de/login")
    page.fill("#login-email", EMAIL)
    page.click("#send-link")
    expect(page.locator("#login-sent")).to_be_visible()
    page.goto(f"{scene.url}{login_link(scene)}")
    page.click("#log-in-now")
    expect(page).to_have_url(re.compile(r"/de/account$"))
    row = page.locator(f"#instance-{old_id}")
    expect(row.locator(".instance-name")).to_have_text("Alter Server")
    expect(row.locator(".instance-fingerprint")).to_have_text("srv-alt-7f3a")
    expect(page.locator(".instance-limit")).to_have_text("In Gebrauch: 1 von 1")
    leaked = [t for t in english_texts_untranslated_in("de") if occurs(t, visible_text(page))]
    assert leaked == []
    page.click(f"#deactivate-{old_id}")
    expect(page).to_have_url(re.compile(r"/de/account$"))
    expect(page.locator(f"#instance-{old_id}")).to_have_count(0)
    expect(page.locator(".no-instances")).to_contain_text("Keine Instanz der Software")

    # The new server activates; its file verifies offline with only the public key.
    new = activate(scene, key, "srv-neu-91bc", "Neuer Server")
    assert new.status_code == 201, new.text
    new_id = new.json()["activation"]["id"]
    public = load_public_key_pem(httpx.get(f"{scene.url}/.well-known/licence-public-key.pem").text)
    now = Clock.from_setting(scene.settings.clock, "UTC").now() + timedelta(days=1)
    checked = verify_file(
        new.json()["activation"]["licence_file"], public, fingerprint="srv-neu-91bc", now=now
    )
    assert checked.valid, checked.problem
    page.reload()
    expect(page.locator(f"#instance-{new_id} .instance-name")).to_have_text("Neuer Server")

    # The operator sees it in the back office and frees it.
    operator = page.context.browser.new_page(locale="de-DE")  # type: ignore[union-attr]
    operator.goto(f"{scene.url}/admin/login")
    operator.fill("#email", "ops@example.com")
    operator.fill("#password", PASSWORD)
    operator.click("#log-in")
    operator.goto(f"{scene.url}/admin/licences?q={EMAIL}")
    expect(operator.locator(f"#instance-{new_id}")).to_contain_text("srv-neu-91bc")
    operator.click(f"#free-{new_id}")
    expect(operator.locator(f"#instance-{new_id}")).to_have_count(0)
    operator.click(".activation-events summary")
    history = operator.locator(".activation-events")
    expect(history).to_contain_text("deaktiviert · durch einen Betreiber (ops@example.com)")
    expect(history).to_contain_text(f"deaktiviert · durch den Kunden ({EMAIL})")
    expect(history).to_contain_text("aktiviert · durch die Software")
    english = english_texts_untranslated_in("de")
    assert [t for t in english if occurs(t, visible_text(operator))] == []
    operator.close()
    # The slot is free again: the software activates once more.
    assert activate(scene, key, "srv-neu-91bc", "Neuer Server").status_code == 201
