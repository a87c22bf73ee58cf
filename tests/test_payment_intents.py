# ruff: noqa: F811  (the provider fixtures are imported from test_payments_card)
"""One card payment per order (R13): the PaymentIntent is kept on the order and reused on
every visit, also after Stripe forgot the idempotency key (24 hours, on the fake's own
clock); its amount follows what is due; once the order closes it is cancelled at Stripe.
Buyers see what Stripe reports about the card ("visa", "4242")."""

from __future__ import annotations

from datetime import timedelta

import stripe
from payments import Shop, ledger, paypal_keys, shop_with
from shop_fakes.paypal import FakePayPal
from shop_fakes.stripe import FakeStripe
from sqlalchemy import update
from sqlmodel import Session, col, select
from test_payments_card import (  # noqa: F401  (fixtures)
    fake_stripe,
    intent_of,
    pay_in_browser,
    shop,
)
from test_payments_paypal import paypal_order_id

from shop.clock import Clock
from shop.db import make_engine, session_scope
from shop.orders.models import Order
from shop.payments.closing import close_provider_payments
from shop.plugins.manager import Plugins, get_plugin_manager
from shop.settings import Settings

DAY = timedelta(days=1).total_seconds()


def kept_on_order(shop: Shop, number: int) -> str | None:
    engine = make_engine(shop.settings.database_url)
    try:
        with Session(engine) as session:
            order = session.exec(select(Order).where(Order.number == number)).one()
            return order.provider_payment
    finally:
        engine.dispose()


def test_r13_payment_intent_reused_after_24_hours(shop: Shop, fake_stripe: FakeStripe) -> None:
    order = shop.place("card")  # the first visit opens the PaymentIntent
    first = intent_of(order)
    assert kept_on_order(shop, order["number"]) == f"card:{first}"

    fake_stripe.advance_clock(DAY + 3600)  # 25 hours: Stripe has forgotten the key
    again = shop.order(order["token"])  # the buyer comes back
    assert intent_of(again) == first
    page = shop.http.get(f"/en/orders/{order['token']}")
    assert page.status_code == 200 and first in page.text  # its client secret, mounted
    assert len(fake_stripe.payment_intents) == 1
    assert len(fake_stripe.customers) == 1

    pay_in_browser(fake_stripe, again)
    assert ledger(shop.settings, order["number"]).status == "paid"


def test_r13_the_fake_forgets_idempotency_keys_after_24_hours(fake_stripe: FakeStripe) -> None:
    client = stripe.StripeClient(
        fake_stripe.secret_key, base_addresses={"api": fake_stripe.base_url}
    )

    def create() -> str:
        return client.v1.payment_intents.create(
            params={"amount": 100, "currency": "eur"}, options={"idempotency_key": "k"}
        ).id

    first = create()
    fake_stripe.advance_clock(DAY - 60)
    assert create() == first  # replayed within the day
    fake_stripe.advance_clock(120)
    assert create() != first  # a new request after 24 hours


def test_r13_the_kept_intent_follows_the_amount_due(
    shop: Shop,
    fake_stripe: FakeStripe,
    admin: dict[str, str],
) -> None:
    order = shop.place("card")
    intent = intent_of(order)
    assert fake_stripe.payment_intents[intent]["amount"] == 49000
    part = shop.http.post(
        f"/api/v1/admin/orders/{order['number']}/payments",
        json={"amount": "100.00", "currency": "EUR", "method": "bank_transfer"},
        headers=admin,
    )
    assert part.status_code == 201, part.text
    assert intent_of(shop.order(order["token"])) == intent
    assert fake_stripe.payment_intents[intent]["amount"] == 39000
    assert len(fake_stripe.payment_intents) == 1


def test_r13_buyers_see_the_card_that_paid(shop: Shop, fake_stripe: FakeStripe) -> None:
    order = shop.place("card")
    pay_in_browser(fake_stripe, order)
    payments = shop.order(order["token"])["payments"]
    assert [p["detail"] for p in payments] == [{"brand": "visa", "last4": "4242"}]


def test_r13_closed_orders_intents_are_cancelled_by_the_job(
    shop: Shop,
    fake_stripe: FakeStripe,
) -> None:
    kept = shop.place("card")
    closed = shop.place("card", email="bob@example.com")
    engine = make_engine(shop.settings.database_url)
    try:
        # Closed without the cancel route (superseded or expired): the job finds it.
        with session_scope(engine) as session:
            session.execute(
                update(Order).where(col(Order.number) == closed["number"]).values(status="expired")
            )
        now = Clock.from_setting(shop.settings.clock, shop.settings.timezone).now()
        methods = Plugins(get_plugin_manager()).everything.payment_methods
        assert close_provider_payments(engine, methods, shop.settings, now) == 1
        assert close_provider_payments(engine, methods, shop.settings, now) == 0  # once
    finally:
        engine.dispose()
    assert fake_stripe.payment_intents[intent_of(closed)]["status"] == "canceled"
    assert fake_stripe.payment_intents[intent_of(kept)]["status"] == "requires_payment_method"


def test_r13_a_paypal_order_is_reused_once_paypal_forgot_the_request_id(
    seeded: Settings,
) -> None:
    fake = FakePayPal().start()
    try:
        with shop_with(seeded, fake, "paypal", **paypal_keys(fake)) as paypal_shop:
            order = paypal_shop.place("paypal")
            first = paypal_order_id(order)
            assert kept_on_order(paypal_shop, order["number"]) == f"paypal:{first}"
            fake._idempotency.clear()  # PayPal keeps request ids for a limited time only
            assert paypal_order_id(paypal_shop.order(order["token"])) == first
            assert len(fake.orders) == 1
    finally:
        fake.stop()
