"""Upgrade or Downgrade in every state a subscriber can reach (R17-R20, R10): the term-end
day before `shop jobs run`, a disabled line, an unpaid switch superseded by a new one, the
setup fee explained on its order, the page's next renewal, and cancelling with confirmation.
Driven through the API and the pages with the shop's clock (tests/test_subscriptions.py)."""

from __future__ import annotations

import re
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from datetime import date, timedelta
from decimal import Decimal
from io import BytesIO
from typing import Any

import httpx
import pytest
from click.testing import CliRunner
from hypothesis import given
from hypothesis import strategies as st
from live import bound_socket, serve
from pypdf import PdfReader
from sqlmodel import Session, select
from test_subscriptions import ITEMS_20, START, SWITCH_DAY, Shop

from shop.cli import main
from shop.db import make_engine
from shop.mail import OutboxMessage
from shop.settings import Settings


@pytest.fixture
def shop(seeded: Settings, admin: dict[str, str]) -> Shop:
    return Shop(seeded, admin)


def _buy(shop: Shop, locale: str = "en", email: str = "sub@example.com") -> dict[str, Any]:
    with shop.at(START) as client:
        body = {
            "email": email,
            "name": "Sub",
            "country": "DE",
            "currency": "EUR",
            "payment_method": "bank_transfer",
            "items": ITEMS_20,
        }
        headers = {"Accept-Language": locale}
        order = client.post("/api/v1/orders", json=body, headers=headers).json()["order"]
        return shop.pay(client, order)


@pytest.fixture
def subscribed(shop: Shop) -> int:
    """20 additional persons, paid on 2025-01-01: term 2025-01-01 → 2026-01-01."""
    return int(_buy(shop)["subscription_id"])


def _page_token(shop: Shop, client: Any, subscription_id: int) -> str:
    return str(shop.subscription(client, subscription_id)["page_url"].rsplit("/", 1)[1])


def _csrf(html: str) -> str:
    found = re.search(r'name="_csrf_token" value="([^"]+)"', html)
    assert found is not None
    return found.group(1)


def _mails(settings: Settings) -> list[OutboxMessage]:
    engine = make_engine(settings.database_url)
    try:
        with Session(engine) as session:
            return list(session.exec(select(OutboxMessage).order_by(OutboxMessage.id)))
    finally:
        engine.dispose()


# -- case 6: the term end before the renewal job has run --------------------------------


def test_r17_switch_preview_on_term_end_day_before_job(shop: Shop, subscribed: int) -> None:
    """On 2026-01-01, before `shop jobs run`: the preview answers for the renewing term."""
    with shop.at("2026-01-01T09:00:00+01:00") as client:
        state = shop.subscription(client, subscribed)
        assert state["can_switch"] is True
        preview = shop.switch(client, subscribed, 30, preview=True)
        assert preview.status_code == 200, preview.text
        body = preview.json()
        # The renewal the job is about to create charges the new total for the whole new
        # term: nothing is prorated, the change comes with the renewal.
        assert body["setup_fee"] == {"amount": "0.00", "currency": "EUR"}
        assert body["effective_at"] == "2026-01-01"
        assert body["next_renewal_total"] == {"amount": "670.00", "currency": "EUR"}
        assert (body["term_start"], body["term_end"]) == ("2026-01-01", "2027-01-01")
        token = _page_token(shop, client, subscribed)
        page = client.get(f"/en/subscriptions/{token}/switch", params={"qty-persons-yearly": 30})
        assert page.status_code == 200, page.text
        live = client.get(
            f"/en/subscriptions/{token}/switch/preview", params={"qty-persons-yearly": 30}
        )
        assert live.status_code == 200 and "error" not in live.json(), live.text

        ordered = shop.switch(client, subscribed, 30)
        assert ordered.status_code == 200, ordered.text
        assert ordered.json()["order"] is None  # no fee order for a term already renewing
        assert shop.subscription(client, subscribed)["scheduled_change"]["items"][1] == {
            "sku": "persons-yearly",
            "quantity": 30,
        }
    # The job then renews at the new items: the added seats are charged once, by the renewal.
    env = {
        "SHOP_DATABASE_URL": shop.settings.database_url,
        "SHOP_CLOCK": "2026-01-01T10:00:00+01:00",
        "SHOP_LICENCE_SIGNING_KEY": shop.settings.licence_signing_key or "",
    }
    result = CliRunner().invoke(main, ["jobs", "run"], env=env, catch_exceptions=False)
    assert "Renewed 1 subscription(s)" in result.output
    with shop.at("2026-01-01T11:00:00+01:00") as client:
        orders = client.get(
            "/api/v1/admin/orders", params={"subscription_id": subscribed}, headers=shop.admin
        ).json()["orders"]
        assert [o["kind"] for o in orders] == ["renewal", "new"]
        assert orders[0]["total"] == {"amount": "670.00", "currency": "EUR"}


def test_r20_downgrade_after_term_end_answers(shop: Shop, subscribed: int) -> None:
    """Two days after the term end, the job still not run: the downgrade is scheduled for
    the renewal that is due."""
    with shop.at("2026-01-03T09:00:00+01:00") as client:
        down = shop.switch(client, subscribed, 10)
        assert down.status_code == 200, down.text
        assert down.json()["kind"] == "downgrade"
        assert down.json()["effective_at"] == "2026-01-01"
        state = shop.subscription(client, subscribed)
        assert state["scheduled_change"]["effective_at"] == "2026-01-01"
        token = _page_token(shop, client, subscribed)
        assert client.get(f"/de/subscriptions/{token}").status_code == 200


def test_r17_disabled_line_gives_translated_reason(shop: Shop, subscribed: int) -> None:
    with shop.at(SWITCH_DAY) as client:
        token = _page_token(shop, client, subscribed)
        off = client.patch(
            "/api/v1/admin/plugins/base_package", json={"enabled": False}, headers=shop.admin
        )
        assert off.status_code == 200, off.text
        state = client.get(
            f"/api/v1/subscriptions/{subscribed}", headers={**shop.admin, "Accept-Language": "de"}
        ).json()
        assert (state["can_switch"], state["reason"]) == (False, "line_unavailable")
        assert "nicht" in state["reason_text"]
        for path in (f"/de/subscriptions/{token}", f"/de/subscriptions/{token}/switch"):
            page = client.get(path)
            assert page.status_code == 200, page.text
            assert 'id="switch-refusal"' in page.text
            assert "Zusätzliche Personen" in page.text or path.endswith("switch")
        assert "Zusätzliche Personen" in client.get(f"/de/subscriptions/{token}").text
        preview = client.get(f"/de/subscriptions/{token}/switch/preview")
        assert preview.status_code == 200 and preview.json()["error"]
        refused = shop.switch(client, subscribed, 30)
        assert refused.status_code == 409
        assert refused.json()["reason"] == "line_unavailable"


# -- R19: one open switch order, priced from what was paid -------------------------------


def test_r19_new_switch_supersedes_unpaid_one(shop: Shop, subscribed: int) -> None:
    with shop.at(SWITCH_DAY) as client:
        first = shop.switch(client, subscribed, 30).json()["order"]
        state = shop.subscription(client, subscribed)
        assert state["open_switch_order"]["number"] == first["number"]
        second = shop.switch(client, subscribed, 25).json()
        # priced from the paid 20, not from the unpaid 30
        assert second["setup_fee"] == {"amount": "22.60", "currency": "EUR"}  # 30 x 275/365
        assert second["kind"] == "upgrade"
        old = client.get(f"/api/v1/orders/{first['token']}").json()["order"]
        assert old["status"] == "cancelled"
        state = shop.subscription(client, subscribed)
        assert state["open_switch_order"]["number"] == second["order"]["number"]
        assert any("superseded" in e["reason"] for e in state["events"])

        token = _page_token(shop, client, subscribed)
        page = client.get(f"/en/subscriptions/{token}").text
        assert 'id="open-switch-order"' in page
        assert f"/en/orders/{second['order']['token']}" in page
        switch_page = client.get(f"/en/subscriptions/{token}/switch").text
        assert 'id="open-switch-order"' in switch_page

        # withdrawing asks first, then cancels the order
        confirm = client.get(f"/en/subscriptions/{token}/switch-order/confirm-withdraw")
        assert confirm.status_code == 200 and 'id="confirm-withdraw"' in confirm.text
        done = client.post(
            f"/en/subscriptions/{token}/switch-order/withdraw",
            data={"_csrf_token": _csrf(confirm.text)},
        )
        assert done.status_code in (200, 201)
        assert shop.subscription(client, subscribed)["open_switch_order"] is None
        again = client.get(f"/api/v1/orders/{second['order']['token']}").json()["order"]
        assert again["status"] == "cancelled"


def test_r19_a_downgrade_also_withdraws_the_unpaid_upgrade(shop: Shop, subscribed: int) -> None:
    with shop.at(SWITCH_DAY) as client:
        first = shop.switch(client, subscribed, 30).json()["order"]
        shop.switch(client, subscribed, 10)
        old = client.get(f"/api/v1/orders/{first['token']}").json()["order"]
        assert old["status"] == "cancelled"
        assert shop.subscription(client, subscribed)["open_switch_order"] is None


def test_r19_concurrent_switches_leave_one_open_switch_order(shop: Shop, subscribed: int) -> None:
    """Eight upgrades at once, each on its own connection to a real server: each one
    supersedes what came before it, so exactly one switch order stays open."""
    with serve(replace(shop.settings, clock=SWITCH_DAY), bound_socket()) as url:

        def switch(n: int) -> httpx.Response:
            items = [
                {"sku": "base-yearly", "quantity": 1},
                {"sku": "persons-yearly", "quantity": 25 + n},
            ]
            return httpx.post(
                f"{url}/api/v1/subscriptions/{subscribed}/switch",
                json={"items": items},
                headers=shop.admin,
                timeout=30,
            )

        with ThreadPoolExecutor(8) as pool:
            answers = list(pool.map(switch, range(8)))
        assert [a.status_code for a in answers] == [200] * 8, [a.text for a in answers]
        orders = httpx.get(
            f"{url}/api/v1/admin/orders",
            params={"subscription_id": subscribed},
            headers=shop.admin,
        ).json()["orders"]
    switches = [o for o in orders if o["kind"] == "switch"]
    assert len(switches) == 8
    assert [o["status"] for o in switches].count("pending") == 1
    assert [o["status"] for o in switches].count("cancelled") == 7


# -- R19: an explainable setup fee --------------------------------------------------------

EXPLAINED = {
    "en": ("+10 × Additional persons", "Apr 1, 2025", "Jan 1, 2026", "275/365", "€60.00"),
    "de": ("+10 × Zusätzliche Personen", "01.04.2025", "01.01.2026", "275/365", "60,00\xa0€"),
    "nl": ("+10 × Extra personen", "1 apr 2025", "1 jan 2026", "275/365", "€\xa060,00"),
}


@pytest.mark.parametrize("locale", sorted(EXPLAINED))
def test_r19_setup_fee_line_explains_period_and_fraction(shop: Shop, locale: str) -> None:
    subscription_id = _buy(shop, locale, email=f"{locale}@example.com")["subscription_id"]
    with shop.at(SWITCH_DAY) as client:
        preview = shop.switch(client, subscription_id, 30, preview=True).json()
        assert preview["current_recurring_total"] == {"amount": "610.00", "currency": "EUR"}
        assert preview["new_recurring_total"] == {"amount": "670.00", "currency": "EUR"}
        assert (preview["days_left"], preview["days_in_term"]) == (275, 365)
        assert preview["formula"] == "(670.00 − 610.00) × 275 / 365 = 45.21"
        order = shop.switch(client, subscription_id, 30).json()["order"]
        token = _page_token(shop, client, subscription_id)
        live = client.get(
            f"/{locale}/subscriptions/{token}/switch/preview", params={"qty-persons-yearly": 30}
        ).json()
        assert "275" in live["explanation"] and "45" in live["explanation"]

        page = client.get(f"/{locale}/orders/{order['token']}").text
        pdf = client.get(order["document_url"]).content
    text = " ".join(" ".join(p.extract_text().split()) for p in PdfReader(BytesIO(pdf)).pages)
    mail = next(m for m in _mails(shop.settings) if m.order_number == str(order["number"]))
    for expected in EXPLAINED[locale]:
        assert expected in page, (expected, locale)
        assert expected in mail.text_body, (expected, locale)
        assert " ".join(expected.split()) in text, (expected, locale)  # lines wrap in the PDF


def test_payments_are_shown_by_method_not_reference(shop: Shop, subscribed: int) -> None:
    with shop.at(SWITCH_DAY) as client:
        orders = client.get(
            "/api/v1/admin/orders", params={"subscription_id": subscribed}, headers=shop.admin
        ).json()["orders"]
        page = client.get(f"/de/orders/{orders[0]['token']}").text
    assert "Überweisung" in page
    assert "· bank" not in page  # the operator's reference stays the operator's
    paid = next(m for m in _mails(shop.settings) if m.kind == "payment_received")
    assert "Bank transfer" in paid.text_body  # the subscriber's own language: English
    assert "· bank" not in paid.text_body


def test_payment_label_names_the_card() -> None:
    from types import SimpleNamespace

    from shop.i18n import Translator
    from shop.orders.line_text import payment_label
    from shop.settings import Settings

    t = Translator.for_locale(Settings().locales_dir, "de")
    card = SimpleNamespace(method="card", detail={"brand": "visa", "last4": "4242"})
    assert payment_label(card, t) == "Visa •••• 4242"
    assert payment_label(SimpleNamespace(method="card"), t) == "Karte"
    assert payment_label(SimpleNamespace(method="paypal", detail=None), t) == "PayPal"
    assert payment_label(SimpleNamespace(method="bank_transfer"), t) == "Überweisung"


# -- R20, R10: the subscription page tells the truth ---------------------------------------


def test_r20_next_renewal_includes_scheduled_downgrade(shop: Shop, subscribed: int) -> None:
    with shop.at(SWITCH_DAY) as client:
        shop.switch(client, subscribed, 10)
        token = _page_token(shop, client, subscribed)
        page = client.get(f"/en/subscriptions/{token}").text
        assert "€550.00" in page  # 490 + 10 x 6, not the 610.00 in force now
        assert "€610.00" not in page
        state = shop.subscription(client, subscribed)
        assert state["next_renewal_total"] == {"amount": "550.00", "currency": "EUR"}


def test_r10_cancel_asks_confirmation_and_mails(shop: Shop) -> None:
    subscribed = int(_buy(shop, "de")["subscription_id"])  # a German subscriber
    with shop.at(SWITCH_DAY) as client:
        token = _page_token(shop, client, subscribed)
        page = client.get(f"/de/subscriptions/{token}").text
        link = re.search(r'id="cancel-subscription" href="([^"]+)"', page)
        assert link is not None
        confirm = client.get(link.group(1))
        assert confirm.status_code == 200
        assert 'id="confirm-cancel"' in confirm.text
        assert shop.subscription(client, subscribed)["status"] == "active"  # not yet
        client.post(f"/de/subscriptions/{token}/cancel", data={"_csrf_token": _csrf(confirm.text)})
        assert shop.subscription(client, subscribed)["status"] == "pending-cancel"
        after = client.get(f"/de/subscriptions/{token}").text
        assert "Nächste Verlängerung" not in after
        assert "Keine Verlängerung" in after
        assert shop.subscription(client, subscribed)["next_renewal_total"] is None
    mail = [m for m in _mails(shop.settings) if m.kind == "subscription_cancelled"]
    assert len(mail) == 1
    assert mail[0].to_address == "sub@example.com"
    assert "gekündigt" in mail[0].subject or "gekündigt" in mail[0].text_body
    assert "1. Januar 2026" in mail[0].text_body


def test_r10_cancelled_page_shows_no_renewal_in_every_language(shop: Shop, subscribed: int) -> None:
    with shop.at(SWITCH_DAY) as client:
        client.post(f"/api/v1/subscriptions/{subscribed}/cancel", headers=shop.admin)
        token = _page_token(shop, client, subscribed)
        for locale in ("de", "nl", "en"):
            page = client.get(f"/{locale}/subscriptions/{token}").text
            assert "610" not in page, locale
    assert Decimal("610.00")  # the recurring total stays stored for the record


# -- the pure rules behind it ---------------------------------------------------------------


def test_r19_the_formula_shows_the_fee_before_waiving() -> None:
    from shop.money import Money
    from shop.subscriptions.proration import fee_formula, quote_switch

    worked = quote_switch(
        Money.of("610.00", "EUR"),
        Money.of("670.00", "EUR"),
        date(2025, 1, 1),
        date(2026, 1, 1),
        date(2025, 4, 1),
        Decimal("0.50"),
    )
    assert fee_formula(worked) == "(670.00 − 610.00) × 275 / 365 = 45.21"
    tiny = quote_switch(
        Money.of("610.00", "EUR"),
        Money.of("616.00", "EUR"),
        date(2025, 1, 1),
        date(2026, 1, 1),
        date(2025, 12, 30),
        Decimal("0.50"),
    )
    assert tiny.fee_waived and tiny.setup_fee.amount == 0
    assert fee_formula(tiny) == "(616.00 − 610.00) × 2 / 365 = 0.03"


@given(
    current=st.integers(1, 100_000),
    new=st.integers(1, 100_000),
    start=st.dates(min_value=date(2020, 1, 1), max_value=date(2030, 1, 1)),
    months=st.sampled_from([1, 3, 12]),
    day=st.integers(0, 400),
)
def test_r20_a_change_during_the_renewal_costs_nothing_and_comes_with_it(
    current: int, new: int, start: date, months: int, day: int
) -> None:
    from shop.money import Money
    from shop.subscriptions.proration import fee_formula, quote_renewing_switch
    from shop.subscriptions.terms import add_months

    end = add_months(start, months)
    today = min(start + timedelta(days=day), end - timedelta(days=1))
    quote = quote_renewing_switch(
        Money.of(current, "EUR"), Money.of(new, "EUR"), start, end, today, Decimal("0.50")
    )
    assert quote.setup_fee.amount == 0 and fee_formula(quote) is None
    assert quote.effective_at == start
    assert quote.next_renewal_total == Money.of(new, "EUR")
    assert quote.kind == (
        "upgrade" if new > current else "downgrade" if new < current else "unchanged"
    )
