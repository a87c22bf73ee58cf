"""Card payments through the real Stripe SDK against the fake Stripe: the order is paid
only by a verified webhook or a server-side check (R13), each payment applied once, the
card kept for off-session renewal charges (R21)."""

from __future__ import annotations

from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

import httpx
import pytest
from payments import Shop, count_events, ledger, shop_with, stripe_keys
from shop_fakes.stripe import FakeStripe
from sqlmodel import Session, select

from shop.app import template_environment
from shop.clock import Clock
from shop.db import make_engine, session_scope
from shop.mail.outbox import OutboxMessage
from shop.orders.models import Order
from shop.payments.received import Context
from shop.payments.renewal_charges import charge_renewals
from shop.plugins.manager import Plugins, get_plugin_manager
from shop.plugins.state import enabled_view
from shop.settings import Settings
from shop.subscriptions.models import Subscription
from shop.subscriptions.renewals import run_renewals

CARD_OK = "4242 4242 4242 4242"


@pytest.fixture
def fake_stripe() -> Iterator[FakeStripe]:
    fake = FakeStripe().start()
    yield fake
    fake.stop()


@pytest.fixture
def shop(seeded: Settings, fake_stripe: FakeStripe) -> Iterator[Shop]:
    with shop_with(seeded, fake_stripe, "stripe", **stripe_keys(fake_stripe)) as served:
        yield served


def intent_of(order: dict[str, Any]) -> str:
    secret = order["payment"]["client_secret"]
    assert secret, order
    return str(secret).split("_secret_")[0]


def pay_in_browser(fake: FakeStripe, order: dict[str, Any], number: str = CARD_OK) -> Any:
    """What Stripe.js does when the buyer submits the Payment Element."""
    secret = order["payment"]["client_secret"]
    answer = httpx.post(
        f"{fake.base_url}/v1/payment_intents/{intent_of(order)}/confirm",
        headers={"Authorization": f"Bearer {fake.publishable_key}"},
        data={
            "client_secret": secret,
            "payment_method_data[type]": "card",
            "payment_method_data[card][number]": number,
            "payment_method_data[card][exp_month]": "12",
            "payment_method_data[card][exp_year]": "2034",
            "payment_method_data[card][cvc]": "123",
            "return_url": "http://127.0.0.1/return",
        },
        timeout=30,
    )
    return answer.json()


def signed(fake: FakeStripe, kind: str, obj: dict[str, Any]) -> tuple[bytes, dict[str, str]]:
    body = fake.event(kind, obj)
    return body, {"Stripe-Signature": fake.sign(body), "Content-Type": "application/json"}


def test_r12_card_is_paid_by_the_signed_webhook_and_the_card_is_kept(
    shop: Shop, fake_stripe: FakeStripe
) -> None:
    order = shop.place("card")
    assert order["payment"]["publishable_key"] == fake_stripe.publishable_key
    intent = fake_stripe.payment_intents[intent_of(order)]
    assert intent["amount"] == 49000 and intent["currency"] == "eur"
    assert intent["setup_future_usage"] == "off_session"  # a subscription: kept for renewals
    # Reloading the order page opens no second PaymentIntent (idempotency key).
    assert intent_of(shop.order(order["token"])) == intent["id"]
    assert len(fake_stripe.payment_intents) == 1

    assert pay_in_browser(fake_stripe, order)["status"] == "succeeded"
    record = ledger(shop.settings, order["number"])
    assert record.status == "paid" and record.licence_status == "active"
    assert len(record.payments) == 1
    assert record.payments[0].recorded_by.startswith("webhook evt_")
    assert record.payments[0].amount == Decimal("490.00")
    assert sorted((e.type, e.outcome) for e in record.events) == [
        ("charge.succeeded", "duplicate"),
        ("payment_intent.succeeded", "applied"),
    ]
    subscription = subscription_of(shop.settings, order["number"])
    assert subscription.status == "active"
    assert subscription.saved_customer == intent["customer"]
    assert subscription.saved_method == fake_stripe.payment_intents[intent["id"]]["payment_method"]


def test_r13_the_return_is_checked_with_stripe_not_taken_from_the_browser(
    shop: Shop, fake_stripe: FakeStripe
) -> None:
    order = shop.place("card")
    page = f"/nl/orders/{order['token']}"
    # The browser claims success for an intent that was never paid: nothing happens.
    claimed = shop.http.get(
        f"{page}/return",
        params={"payment_intent": intent_of(order), "redirect_status": "succeeded"},
    )
    assert claimed.status_code in (302, 303) and claimed.headers["location"] == page
    assert shop.order(order["token"])["status"] == "pending"

    fake_stripe.webhook_url = None  # the webhook is late: the return alone must do
    pay_in_browser(fake_stripe, order)
    shop.http.get(f"{page}/return", params={"payment_intent": intent_of(order)})
    record = ledger(shop.settings, order["number"])
    assert record.status == "paid" and len(record.payments) == 1
    assert record.payments[0].recorded_by == "return"


def test_r13_card_declined_leaves_the_order_open(shop: Shop, fake_stripe: FakeStripe) -> None:
    order = shop.place("card")
    answer = pay_in_browser(fake_stripe, order, "4000 0000 0000 0002")
    assert answer["error"]["code"] == "card_declined"
    record = ledger(shop.settings, order["number"])
    assert record.status == "pending" and not record.payments


@pytest.fixture
def succeeded(shop: Shop, fake_stripe: FakeStripe) -> tuple[dict[str, Any], dict[str, Any]]:
    """An order whose intent Stripe charged, before any webhook reached the shop."""
    order = shop.place("card")
    fake_stripe.webhook_url = None
    pay_in_browser(fake_stripe, order)
    return order, dict(fake_stripe.payment_intents[intent_of(order)])


def test_r13_the_same_webhook_ten_times_at_once_pays_once(
    shop: Shop, fake_stripe: FakeStripe, succeeded: tuple[dict[str, Any], dict[str, Any]]
) -> None:
    order, intent = succeeded
    body, headers = signed(fake_stripe, "payment_intent.succeeded", intent)

    def deliver(_: int) -> str:
        answer = shop.http.post("/webhooks/stripe", content=body, headers=headers)
        assert answer.status_code == 200, answer.text
        return str(answer.json()["outcome"])

    with ThreadPoolExecutor(max_workers=10) as pool:
        outcomes = list(pool.map(deliver, range(10)))
    assert sorted(outcomes) == ["applied"] + ["duplicate"] * 9
    record = ledger(shop.settings, order["number"])
    assert record.status == "paid" and record.licence_status == "active"
    assert len(record.payments) == 1 and len(record.events) == 1


def test_r13_two_events_of_one_payment_in_reverse_order_pay_once(
    shop: Shop, fake_stripe: FakeStripe, succeeded: tuple[dict[str, Any], dict[str, Any]]
) -> None:
    order, intent = succeeded
    charge = {
        "id": intent["latest_charge"],
        "object": "charge",
        "amount": intent["amount"],
        "currency": intent["currency"],
        "payment_intent": intent["id"],
        "payment_method": intent["payment_method"],
        "status": "succeeded",
        "paid": True,
        "metadata": intent["metadata"],
    }
    for kind, obj in (("charge.succeeded", charge), ("payment_intent.succeeded", intent)):
        body, headers = signed(fake_stripe, kind, obj)
        assert shop.http.post("/webhooks/stripe", content=body, headers=headers).is_success
    record = ledger(shop.settings, order["number"])
    assert len(record.payments) == 1 and record.status == "paid"
    assert [(e.type, e.outcome) for e in sorted(record.events, key=lambda e: e.id or 0)] == [
        ("charge.succeeded", "applied"),
        ("payment_intent.succeeded", "duplicate"),
    ]
    # The later event still keeps the card the buyer agreed to keep.
    assert subscription_of(shop.settings, order["number"]).saved_method == intent["payment_method"]


def test_r13_a_bad_signature_is_400_and_changes_nothing(
    shop: Shop, fake_stripe: FakeStripe, succeeded: tuple[dict[str, Any], dict[str, Any]]
) -> None:
    order, intent = succeeded
    body = fake_stripe.event("payment_intent.succeeded", intent)
    forged = fake_stripe.sign(body, secret="whsec_not_the_shops")
    tampered = body.replace(b'"amount": 49000', b'"amount": 100')
    for content, signature in ((body, forged), (tampered, fake_stripe.sign(body)), (body, "")):
        answer = shop.http.post(
            "/webhooks/stripe",
            content=content,
            headers={"Stripe-Signature": signature, "Accept-Language": "de"},
        )
        assert answer.status_code == 400
        assert answer.json()["code"] == "invalid_signature"
        assert answer.headers["content-language"] == "de"
    assert count_events(shop.settings) == 0
    assert ledger(shop.settings, order["number"]).status == "pending"


def test_r13_an_event_in_another_currency_pays_nothing(
    shop: Shop, fake_stripe: FakeStripe, succeeded: tuple[dict[str, Any], dict[str, Any]]
) -> None:
    order, intent = succeeded
    body, headers = signed(fake_stripe, "payment_intent.succeeded", {**intent, "currency": "usd"})
    answer = shop.http.post("/webhooks/stripe", content=body, headers=headers)
    assert answer.status_code == 200 and answer.json()["outcome"] == "currency_mismatch"
    assert ledger(shop.settings, order["number"]).status == "pending"


def test_r12_without_keys_the_card_is_not_offered_and_the_back_office_says_why(
    client: Any, admin: dict[str, str]
) -> None:
    plugins = {
        p["name"]: p for p in client.get("/api/v1/admin/plugins", headers=admin).json()["plugins"]
    }
    assert plugins["card"]["enabled"] and not plugins["card"]["configured"]
    assert "SHOP_STRIPE_SECRET_KEY" in plugins["card"]["missing_settings"]
    assert plugins["bank_transfer"]["configured"]
    answer = client.post(
        "/api/v1/orders",
        json={
            "email": "jan@example.nl",
            "name": "Jan",
            "country": "NL",
            "currency": "EUR",
            "payment_method": "card",
            "items": [{"sku": "base-yearly", "quantity": 1}],
        },
    )
    assert answer.status_code == 422
    assert answer.json()["code"] == "plugin_disabled"
    # No keys, no webhook endpoint: nothing could be verified.
    for provider in ("stripe", "paypal", "nope"):
        hook = client.post(f"/webhooks/{provider}", content=b"{}")
        assert hook.status_code == 404 and hook.json()["code"] == "not_found"


# Renewals charged off-session (R21) ------------------------------------------------------


def subscription_of(settings: Settings, number: int) -> Subscription:
    engine = make_engine(settings.database_url)
    try:
        with Session(engine) as session:
            order = session.exec(select(Order).where(Order.number == number)).one()
            subscription = session.get(Subscription, order.subscription_id)
            assert subscription is not None
            return subscription
    finally:
        engine.dispose()


def run_job(settings: Settings, at: str) -> tuple[int, int]:
    """What `shop jobs run` does for renewals at ``at``: renew, then charge kept cards."""
    clock = Clock.from_setting(at, settings.timezone)
    plugins = Plugins(get_plugin_manager())
    templates = template_environment(settings)
    engine = make_engine(settings.database_url)
    try:
        run_renewals(
            engine,
            lambda session: enabled_view(session, plugins, settings),
            clock.today(),
            clock.now(),
            timedelta(days=settings.grace_days),
        )
        report = charge_renewals(
            engine,
            lambda session: Context(
                enabled_view(session, plugins, settings),
                settings,
                templates,
                clock.now(),
                clock.today(),
            ),
        )
        return report.charged, report.failed
    finally:
        engine.dispose()


def renewal_of(settings: Settings, subscription_id: int) -> tuple[Order, list[OutboxMessage]]:
    engine = make_engine(settings.database_url)
    try:
        with session_scope(engine) as session:
            order = session.exec(
                select(Order).where(
                    Order.subscription_id == subscription_id, Order.kind == "renewal"
                )
            ).one()
            mails = list(
                session.exec(
                    select(OutboxMessage).where(OutboxMessage.order_number == str(order.number))
                )
            )
            return order, mails
    finally:
        engine.dispose()


RENEWAL_DAY = "2026-04-01T06:00:00+02:00"


def test_r21_renewal_is_charged_off_session_to_the_kept_card_once(
    shop: Shop, fake_stripe: FakeStripe
) -> None:
    order = shop.place("card")
    pay_in_browser(fake_stripe, order)
    subscription = subscription_of(shop.settings, order["number"])
    assert subscription.term_end == date(2026, 4, 1)

    assert run_job(shop.settings, RENEWAL_DAY) == (1, 0)
    assert run_job(shop.settings, RENEWAL_DAY) == (0, 0)  # run twice: charged once
    renewal, mails = renewal_of(shop.settings, subscription.id or 0)
    assert renewal.status == "paid"
    renewed = subscription_of(shop.settings, order["number"])
    assert renewed.status == "active" and renewed.term_end == date(2027, 4, 1)
    off_session = [
        pi
        for pi in fake_stripe.payment_intents.values()
        if pi.get("description", "").startswith("Renewal")
    ]
    assert len(off_session) == 1 and off_session[0]["status"] == "succeeded"
    assert off_session[0]["payment_method"] == subscription.saved_method
    assert [mail.kind for mail in mails] == ["payment_received"]


@pytest.mark.parametrize(
    ("card", "reason"),
    [
        ("4000 0000 0000 0002", "Your card was declined."),
        ("4000 0000 0000 9995", "Your card has insufficient funds."),
        ("4000 0027 6000 3184", "Your bank wants you to confirm this payment yourself."),
    ],
    ids=["declined", "insufficient-funds", "requires-action"],
)
def test_r21_a_declined_renewal_charge_leaves_the_order_unpaid_and_mails_the_buyer(
    shop: Shop, fake_stripe: FakeStripe, card: str, reason: str
) -> None:
    order = shop.place("card")
    pay_in_browser(fake_stripe, order)
    subscription = subscription_of(shop.settings, order["number"])
    assert subscription.saved_method is not None
    fake_stripe.decline_off_session(subscription.saved_method, card)

    assert run_job(shop.settings, RENEWAL_DAY) == (0, 1)
    renewal, mails = renewal_of(shop.settings, subscription.id or 0)
    assert renewal.status == "pending" and renewal.paid_amount == 0
    assert subscription_of(shop.settings, order["number"]).status == "on-hold"
    assert len(mails) == 1
    assert mails[0].subject == f"Your card was not charged for renewal {renewal.number}"
    assert reason in mails[0].text_body
    assert mails[0].attachment_name  # the invoice goes with it
    assert run_job(shop.settings, RENEWAL_DAY) == (0, 0)  # never charged twice for a term
    assert len(renewal_of(shop.settings, subscription.id or 0)[1]) == 1


def test_r21_two_job_runners_at_once_charge_the_renewal_once(
    shop: Shop, fake_stripe: FakeStripe
) -> None:
    orders = [shop.place("card", email=f"buyer{n}@example.com") for n in range(3)]
    for order in orders:
        pay_in_browser(fake_stripe, order)
    with ThreadPoolExecutor(max_workers=2) as pool:
        reports = list(pool.map(lambda _: run_job(shop.settings, RENEWAL_DAY), range(2)))
    assert sum(charged for charged, _ in reports) == 3
    intents = fake_stripe.payment_intents.values()
    renewals = [pi for pi in intents if str(pi.get("description")).startswith("Renewal")]
    assert len(renewals) == 3  # one charge per subscription and term
    for order in orders:
        assert subscription_of(shop.settings, order["number"]).term_end == date(2027, 4, 1)


def test_an_operators_order_listing_opens_no_card_payments(
    shop: Shop, fake_stripe: FakeStripe, admin: dict[str, str]
) -> None:
    shop.place("card")
    listed = shop.http.get("/api/v1/admin/orders", headers=admin).json()["orders"]
    assert [order["payment"]["client_secret"] for order in listed] == [None]
    assert len(fake_stripe.payment_intents) == 1  # the buyer's, opened at checkout


def test_r13_a_failed_bank_check_brings_the_buyer_back_to_a_dutch_message(
    shop: Shop, fake_stripe: FakeStripe
) -> None:
    order = shop.place("card", email="pieter@example.nl")
    assert pay_in_browser(fake_stripe, order, "4000 0027 6000 3184")["status"] == "requires_action"
    page = f"{shop.url}/nl/orders/{order['token']}"
    failed = httpx.post(
        f"{fake_stripe.base_url}/3ds/{intent_of(order)}/fail",
        data={"return_url": f"{page}/return"},
        follow_redirects=True,
        timeout=30,
    )
    assert failed.status_code == 200
    assert str(failed.url).startswith(f"{page}?payment_failed=")
    assert "Uw bank heeft de betaling niet bevestigd." in failed.text
    assert "Betalen met kaart" in failed.text  # the card form again, to try once more
    assert ledger(shop.settings, order["number"]).status == "pending"
