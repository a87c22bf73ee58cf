"""The cancel button (§312k BGB) and the withdrawal button (§356a BGB) in a real browser, in
German and Dutch, without logging in: from the footer of any page through the form and the
confirmation page to the receipt e-mail read from the SMTP test server, with the date and
time of receipt in the shop's time zone and the date the contract ends."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, replace
from email.message import EmailMessage
from typing import Any

import httpx
import pytest
from aiosmtpd.controller import Controller
from english import english_texts_untranslated_in, occurs, visible_text
from fake_smtp import Collector
from live import bound_socket, free_port, serve
from playwright.sync_api import Browser, Page, expect

from shop.settings import Settings

pytestmark = pytest.mark.browser
TODAY = "2025-04-01T10:00:00+02:00"  # orders placed and declarations made at this moment


@dataclass
class Live:
    url: str
    mails: Collector
    admin: dict[str, str]

    def bought(self, **extra: Any) -> dict[str, Any]:
        """A paid yearly subscription (term 2025-04-01 → 2026-04-01)."""
        body = {
            "email": "kunde@example.com",
            "name": "Kunde",
            "country": "DE",
            "currency": "EUR",
            "payment_method": "bank_transfer",
            "items": [{"sku": "base-yearly", "quantity": 1}],
            **extra,
        }
        placed = httpx.post(f"{self.url}/api/v1/orders", json=body)
        assert placed.status_code == 201, placed.text
        order = placed.json()["order"]
        paid = httpx.post(
            f"{self.url}/api/v1/admin/orders/{order['number']}/payments",
            json={"amount": order["total"]["amount"], "currency": "EUR", "method": "bank_transfer"},
            headers=self.admin,
        )
        assert paid.status_code == 201, paid.text
        return paid.json()["order"]  # type: ignore[no-any-return]

    def receipt(self, to: str) -> EmailMessage:
        """The receipt mailed to ``to`` (the order's own mails may arrive first)."""
        for count in range(1, 8):
            for mail in self.mails.wait_for(count):
                subject = str(mail["Subject"])
                if mail["To"] == to and subject.startswith(("Eingangsbestätigung", "Ontvangst")):
                    return mail
        raise AssertionError(f"no receipt arrived for {to}")


@pytest.fixture
def live(seeded: Settings, admin: dict[str, str]) -> Iterator[Live]:
    collector = Collector()
    controller = Controller(collector, hostname="127.0.0.1", port=free_port())
    controller.start()
    settings = replace(seeded, clock=TODAY, smtp_url=f"smtp://127.0.0.1:{controller.port}")
    try:
        with serve(settings, bound_socket()) as url:
            yield Live(url, collector, admin)
    finally:
        controller.stop()


def visitor(browser: Browser, locale: str) -> Iterator[Page]:
    context = browser.new_context(locale=locale, viewport={"width": 1280, "height": 900})
    context.set_default_timeout(15_000)
    yield context.new_page()
    context.close()


@pytest.fixture
def german(browser: Browser) -> Iterator[Page]:
    yield from visitor(browser, "de-DE")


@pytest.fixture
def dutch(browser: Browser) -> Iterator[Page]:
    yield from visitor(browser, "nl-NL")


def body_of(mail: EmailMessage) -> str:
    part = mail.get_body(preferencelist=("plain",))
    assert part is not None
    return str(part.get_content())


def no_english(page: Page, lang: str) -> None:
    leaked = [t for t in english_texts_untranslated_in(lang) if occurs(t, visible_text(page))]
    assert leaked == []


def test_312k_a_german_customer_cancels_from_the_footer_without_logging_in(
    german: Page, live: Live
) -> None:
    order = live.bought()
    page = german
    page.goto(f"{live.url}/de/")
    page.click("footer >> text=Verträge hier kündigen")
    expect(page.locator("h1")).to_have_text("Verträge hier kündigen")
    no_english(page, "de")
    page.get_by_label("Name", exact=True).fill("Kunde")
    page.get_by_label("E-Mail-Adresse des Vertrags").fill("kunde@example.com")
    page.get_by_label("Abonnement", exact=True).check()
    page.get_by_label("Lizenzschlüssel, Bestellnummer oder Vertragsnummer (optional)").fill(
        str(order["number"])
    )
    page.get_by_label("Ordentliche Kündigung", exact=True).check()
    page.get_by_label("Zum nächstmöglichen Zeitpunkt", exact=True).check()
    page.get_by_label("E-Mail-Adresse für die Eingangsbestätigung").fill("kunde@example.com")
    page.click("text=Weiter zur Bestätigung")

    summary = page.locator("#declaration-summary")
    expect(summary).to_contain_text("kunde@example.com")
    expect(summary).to_contain_text("Ordentliche Kündigung")
    expect(summary).to_contain_text("Zum nächstmöglichen Zeitpunkt")
    no_english(page, "de")
    page.get_by_role("button", name="jetzt kündigen").click()
    expect(page.locator("#declaration-received")).to_contain_text(
        "Ihre Kündigung ist am 1. April 2025, 10:00:00 MESZ eingegangen"
    )

    mail = live.receipt("kunde@example.com")
    assert mail["Subject"] == "Eingangsbestätigung Ihrer Kündigung"
    text = body_of(mail)
    assert "1. April 2025, 10:00:00 MESZ" in text  # date and time of receipt
    assert "Art der Kündigung: Ordentliche Kündigung" in text  # the declaration's content
    assert "Es endet am 1. April 2026 und wird nicht verlängert." in text  # the end date

    # The subscriber's own page now says so.
    subscription = httpx.get(
        f"{live.url}/api/v1/subscriptions/{order['subscription_id']}", headers=live.admin
    ).json()
    assert subscription["status"] == "pending-cancel"


def test_312k_a_dutch_consumer_is_told_what_is_wrong_then_cancels(dutch: Page, live: Live) -> None:
    order = live.bought(email="klant@example.nl", name="Klant", country="NL")
    page = dutch
    page.goto(f"{live.url}/nl/")
    page.click("footer >> text=Overeenkomsten hier opzeggen")
    page.get_by_label("Naam", exact=True).fill("Klant")
    page.get_by_label("E-mailadres van de overeenkomst").fill("klant-at-example.nl")
    page.get_by_label("Buitengewone opzegging", exact=True).check()
    page.click("text=Verder naar de bevestiging")

    email = page.get_by_label("E-mailadres van de overeenkomst")
    expect(email).to_have_attribute("aria-invalid", "true")
    expect(page.locator("#email-error")).to_have_text("Dit is geen e-mailadres.")
    expect(email).to_have_attribute("aria-describedby", "email-error")
    expect(page.locator("#reason-error")).to_have_text(
        "Een buitengewone opzegging heeft een reden nodig."
    )
    expect(page.get_by_label("E-mailadres voor de ontvangstbevestiging")).to_have_attribute(
        "aria-invalid", "true"
    )
    no_english(page, "nl")

    email.fill("klant@example.nl")
    page.get_by_label("Gewone opzegging", exact=True).check()
    page.get_by_label("Licentiesleutel, bestelnummer of contractnummer (optioneel)").fill(
        str(order["number"])
    )
    page.get_by_label("E-mailadres voor de ontvangstbevestiging").fill("klant@example.nl")
    page.click("text=Verder naar de bevestiging")
    page.get_by_role("button", name="nu opzeggen").click()
    expect(page.locator("#declaration-received")).to_contain_text(
        "Uw opzegging is ontvangen op 1 april 2025, 10:00:00 CEST"
    )

    text = body_of(live.receipt("klant@example.nl"))
    assert "1 april 2025, 10:00:00 CEST" in text
    # In the first term the Dutch rule ends with that term.
    assert "Het eindigt op 1 april 2026 en wordt niet verlengd." in text


def test_356a_a_dutch_consumer_withdraws_within_the_period(dutch: Page, live: Live) -> None:
    order = live.bought(email="klant@example.nl", name="Klant", country="NL")
    page = dutch
    page.goto(f"{live.url}/nl/")
    page.click("footer >> text=Overeenkomst herroepen")
    expect(page.locator("h1")).to_have_text("Overeenkomst herroepen")
    page.get_by_label("Naam", exact=True).fill("Klant")
    page.get_by_label("E-mailadres van de bestelling").fill("klant@example.nl")
    page.get_by_label("Bestelnummer").fill(str(order["number"]))
    page.get_by_label("E-mailadres voor de ontvangstbevestiging").fill("klant@example.nl")
    page.click("text=Verder naar de bevestiging")
    no_english(page, "nl")
    page.get_by_role("button", name="Herroeping bevestigen").click()
    expect(page.locator("#declaration-received")).to_contain_text(
        "Uw herroeping is ontvangen op 1 april 2025, 10:00:00 CEST"
    )

    mail = live.receipt("klant@example.nl")
    assert mail["Subject"] == "Ontvangstbevestiging van uw herroeping"
    text = body_of(mail)
    assert "1 april 2025, 10:00:00 CEST" in text
    assert f"bestelling {order['number']} binnen de herroepingstermijn" in text
    assert "15 april 2025" in text  # the period's last day


def test_356a_a_german_withdrawal_of_an_unknown_order_still_gets_its_receipt(
    german: Page, live: Live
) -> None:
    page = german
    page.goto(f"{live.url}/de/cart")
    page.click("footer >> text=Vertrag widerrufen")
    page.get_by_label("Name", exact=True).fill("Jemand")
    page.get_by_label("E-Mail-Adresse der Bestellung").fill("jemand@example.de")
    page.get_by_label("Bestellnummer").fill("4711")
    page.get_by_label("E-Mail-Adresse für die Eingangsbestätigung").fill("jemand@example.de")
    page.click("text=Weiter zur Bestätigung")
    page.get_by_role("button", name="Widerruf bestätigen").click()
    expect(page.locator("#declaration-received")).to_contain_text("Ihr Widerruf ist am")
    text = body_of(live.receipt("jemand@example.de"))
    assert "Ihr Widerruf ist eingegangen und wird bearbeitet." in text
    assert re.search(r"1\. April 2025, 10:00:00 MESZ", text)
