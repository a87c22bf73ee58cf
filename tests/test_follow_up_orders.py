"""Orders that follow another (R7, R11, R19, R21, R24-R26, R31): one builder gives them the
billing party of the order they follow and the basis they price; a payment applies them
only while that basis is current, and otherwise keeps the money, flags the order and tells
the buyer. Through the API with the shop's clock at chosen moments, on both databases."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
from litestar.testing import TestClient
from payments import ledger, paypal_keys, shop_with, stripe_keys
from shop_fakes.paypal import FakePayPal
from shop_fakes.stripe import FakeStripe
from sqlmodel import Session, select
from test_payments_card import pay_in_browser
from test_payments_paypal import come_back, paypal_order_id

from shop.app import create_app, template_environment
from shop.db import make_engine, session_scope
from shop.licences.models import Licence
from shop.mail.outbox import OutboxMessage
from shop.money import Money
from shop.orders.fulfilment import STALE, stale_reason
from shop.orders.models import Order
from shop.payments.methods import ProviderPayment
from shop.payments.received import Context, apply_provider_payment
from shop.plugins.manager import Plugins, get_plugin_manager
from shop.plugins.state import enabled_view
from shop.settings import Settings
from shop.subscriptions.models import Subscription
from shop.subscriptions.renewals import run_renewals

START = "2025-01-01T10:00:00+01:00"
ITEMS_20 = [{"sku": "base-yearly", "quantity": 1}, {"sku": "persons-yearly", "quantity": 20}]
BUYER = {
    "email": "buyer@example.com",
    "name": "Anna de Vries",
    "organisation": "Juwelier de Vries B.V.",
    "country": "NL",
    "tax_number": "NL123456782B01",
    "po_number": "PO-4711",
    "currency": "EUR",
    "payment_method": "bank_transfer",
    "reseller": {"customer_name": "End Customer", "customer_email": "end@example.com"},
}
PARTY = ("name", "organisation", "country", "tax_number", "po_number", "reseller", "currency")


class Shop:
    """The shop at chosen moments, all on one database."""

    def __init__(self, settings: Settings, admin: dict[str, str]) -> None:
        self.settings, self.admin = settings, admin

    def at(self, moment: str) -> TestClient:
        return TestClient(app=create_app(replace(self.settings, clock=moment)))

    def place(self, client: TestClient, items: list[dict[str, Any]], **extra: Any) -> Any:
        answer = client.post("/api/v1/orders", json={**BUYER, "items": items, **extra})
        assert answer.status_code == 201, answer.text
        return answer.json()["order"]

    def pay(self, client: TestClient, order: dict[str, Any], **headers: str) -> Any:
        return client.post(
            f"/api/v1/admin/orders/{order['number']}/payments",
            json={
                "amount": order["total"]["amount"],
                "currency": order["currency"],
                "method": "bank_transfer",
                "reference": "bank",
            },
            headers={**self.admin, **headers},
        )

    def paid(self, client: TestClient, order: dict[str, Any]) -> Any:
        answer = self.pay(client, order)
        assert answer.status_code == 201, answer.text
        return answer.json()["order"]

    def subscription(self, client: TestClient, subscription_id: int) -> Any:
        answer = client.get(f"/api/v1/subscriptions/{subscription_id}", headers=self.admin)
        assert answer.status_code == 200, answer.text
        return answer.json()

    def switch(self, client: TestClient, subscription_id: int, persons: int) -> Any:
        items = [
            {"sku": "base-yearly", "quantity": 1},
            {"sku": "persons-yearly", "quantity": persons},
        ]
        answer = client.post(
            f"/api/v1/subscriptions/{subscription_id}/switch",
            json={"items": items},
            headers=self.admin,
        )
        assert answer.status_code in (200, 201), answer.text
        return answer.json()["order"]

    def orders(self, client: TestClient, **params: Any) -> Any:
        answer = client.get("/api/v1/admin/orders", params=params, headers=self.admin)
        return answer.json()["orders"]

    def order(self, client: TestClient, token: str) -> Any:
        return client.get(f"/api/v1/orders/{token}").json()["order"]

    def renew(self, today: date) -> None:
        """The renewal step of ``shop jobs run`` on ``today`` (without closing expired orders)."""
        engine = make_engine(self.settings.database_url)
        plugins = Plugins(get_plugin_manager())
        now = datetime.combine(today, datetime.min.time(), tzinfo=UTC).replace(hour=6)
        run_renewals(
            engine,
            lambda session: enabled_view(session, plugins, self.settings),
            today,
            now,
            timedelta(days=self.settings.grace_days),
        )
        engine.dispose()

    def jobs(self, at: str) -> None:
        from click.testing import CliRunner

        from shop.cli import main

        env = {
            "SHOP_DATABASE_URL": self.settings.database_url,
            "SHOP_CLOCK": at,
            "SHOP_LICENCE_SIGNING_KEY": self.settings.licence_signing_key or "",
        }
        result = CliRunner().invoke(main, ["jobs", "run"], env=env, catch_exceptions=False)
        assert result.exit_code == 0, result.output

    def row(self, number: int) -> Order:
        engine = make_engine(self.settings.database_url)
        with Session(engine) as session:
            order = session.exec(select(Order).where(Order.number == number)).one()
        engine.dispose()
        return order

    def mails(self, number: int) -> list[OutboxMessage]:
        engine = make_engine(self.settings.database_url)
        with Session(engine) as session:
            found = session.exec(
                select(OutboxMessage).where(OutboxMessage.order_number == str(number))
            ).all()
        engine.dispose()
        return list(found)

    def provider_pays(self, order: dict[str, Any], moment: datetime, reference: str) -> str:
        """A verified card payment of ``order`` arrives (as a webhook would report it)."""
        engine = make_engine(self.settings.database_url)
        plugins = Plugins(get_plugin_manager())
        with session_scope(engine) as session:
            context = Context(
                enabled_view(session, plugins, self.settings),
                self.settings,
                template_environment(self.settings),
                moment,
                moment.date(),
            )
            payment = ProviderPayment(
                order_number=order["number"],
                reference=reference,
                amount=Money.of(order["total"]["amount"], order["currency"]),
            )
            outcome = apply_provider_payment(session, context, "card", payment, "webhook test")
        engine.dispose()
        return outcome


@pytest.fixture
def shop(seeded: Settings, admin: dict[str, str]) -> Shop:
    return Shop(seeded, admin)


@pytest.fixture
def subscribed(shop: Shop) -> Iterator[int]:
    """20 additional persons, paid on 2025-01-01: term 2025-01-01 → 2026-01-01."""
    with shop.at(START) as client:
        order = shop.place(client, ITEMS_20)
        yield shop.paid(client, order)["subscription_id"]


def persons(state: dict[str, Any]) -> int:
    return {i["sku"]: i["quantity"] for i in state["items"]}["persons-yearly"]


def party(order: dict[str, Any]) -> dict[str, Any]:
    return {name: order[name] for name in PARTY}


# R11: follow-up invoices carry the buyer


def test_r11_renewal_order_carries_billing_party(shop: Shop, subscribed: int) -> None:
    with shop.at(START) as client:
        [first] = shop.orders(client, subscription_id=subscribed)
    shop.renew(date(2026, 1, 1))
    with shop.at("2026-01-01T10:00:00+01:00") as client:
        [renewal, _] = shop.orders(client, subscription_id=subscribed)
    assert renewal["kind"] == "renewal"
    assert party(renewal) == party(first)
    assert renewal["name"] == "Anna de Vries" and renewal["tax_number"] == "NL123456782B01"
    assert renewal["po_number"] == "PO-4711" and renewal["organisation"]
    assert shop.row(renewal["number"]).basis == {
        "subscription_id": subscribed,
        "term_start": "2026-01-01",
        "term_end": "2027-01-01",
        "items": ITEMS_20,
    }


def test_r11_setup_fee_order_carries_billing_party(shop: Shop, subscribed: int) -> None:
    with shop.at("2025-04-01T10:00:00+02:00") as client:
        [first] = shop.orders(client, subscription_id=subscribed)
        order = shop.switch(client, subscribed, 30)
    assert party(order) == party(first)
    assert order["tax_number"] == "NL123456782B01"
    assert shop.row(order["number"]).basis == {
        "subscription_id": subscribed,
        "term_start": "2025-01-01",
        "term_end": "2026-01-01",
        "items": ITEMS_20,
    }


# R19: switch orders expire with their term and never cut a paid upgrade


def test_switch_order_expires_at_term_end(shop: Shop, subscribed: int) -> None:
    with shop.at("2025-12-20T10:00:00+01:00") as client:
        order = shop.switch(client, subscribed, 30)
    expires = shop.row(order["number"]).expires_at
    assert expires is not None and expires.astimezone(UTC) == datetime(2025, 12, 31, 23, tzinfo=UTC)
    with shop.at("2026-01-01T00:30:00+01:00") as client:  # the term has ended, no job yet
        refused = shop.pay(client, order, **{"Accept-Language": "de"})
        assert refused.status_code == 409
        assert refused.json()["code"] == "order_expired"
        assert "abgelaufen" in refused.json()["detail"]
        page = client.get(f"/de/orders/{order['token']}")  # nothing to pay it with
        assert 'id="instructions"' not in page.text
        assert 'id="payment-method-form"' not in page.text
    shop.jobs("2026-01-01T06:00:00+01:00")
    with shop.at("2026-01-02T10:00:00+01:00") as client:
        assert shop.order(client, order["token"])["status"] == "expired"
        assert shop.pay(client, order).json()["code"] == "order_closed"
        assert persons(shop.subscription(client, subscribed)) == 20


def test_switch_order_far_from_term_end_expires_after_30_days(shop: Shop, subscribed: int) -> None:
    with shop.at("2025-04-01T10:00:00+02:00") as client:
        order = shop.switch(client, subscribed, 30)
    expires = shop.row(order["number"]).expires_at
    assert expires is not None and expires.astimezone(UTC) == datetime(2025, 5, 1, 8, tzinfo=UTC)


def test_r19_switch_order_paid_after_renewal_is_stale(shop: Shop, subscribed: int) -> None:
    """Case 2: a fee prorated in 2025 and paid in 2026 does not give 2026's seats."""
    with shop.at("2025-12-20T10:00:00+01:00") as client:
        order = shop.switch(client, subscribed, 120)
    shop.renew(date(2026, 1, 1))
    with shop.at("2026-01-02T10:00:00+01:00") as client:
        renewal = shop.orders(client, subscription_id=subscribed)[0]
        shop.paid(client, renewal)
    # The card money for the old fee arrives anyway: kept, flagged, nothing applied.
    outcome = shop.provider_pays(order, datetime(2026, 1, 3, 9, tzinfo=UTC), "pi_late")
    assert outcome == "applied"
    stale = shop.row(order["number"])
    assert (stale.status, stale.needs_action, stale.paid_amount) == (
        "paid",
        STALE,
        Decimal(order["total"]["amount"]),
    )
    with shop.at("2026-01-03T10:00:00+01:00") as client:
        state = shop.subscription(client, subscribed)
        assert persons(state) == 20
        assert state["term_end"] == "2027-01-01"
        page = client.get(f"/nl/orders/{order['token']}")
        assert 'id="needs-action"' in page.text
        assert 'id="licence-key"' not in page.text
    [mail] = [m for m in shop.mails(order["number"]) if m.kind == "payment_kept"]
    assert mail.locale == "en" and "nothing was applied" in mail.text_body


def test_r19_switch_order_paid_for_an_expired_subscription_is_stale(
    shop: Shop, subscribed: int
) -> None:
    with shop.at("2025-04-01T10:00:00+02:00") as client:
        order = shop.switch(client, subscribed, 30)
    engine = make_engine(shop.settings.database_url)
    with session_scope(engine) as session:  # the operator ended it meanwhile
        subscription = session.get(Subscription, subscribed)
        assert subscription is not None
        subscription.status = "expired"
        licence = session.get(Licence, subscription.licence_id)
        assert licence is not None
        licence.status = "expired"
    with shop.at("2025-04-02T10:00:00+02:00") as client:
        paid = shop.paid(client, order)
        assert paid["status"] == "paid" and paid["licence_key"] is None
    with session_scope(engine) as session:
        licence = session.exec(select(Licence)).one()
        assert (licence.status, licence.quantities["persons-yearly"]) == ("expired", 20)
    engine.dispose()
    assert shop.row(order["number"]).needs_action == STALE


def pay_or_refuse(shop: Shop, client: TestClient, order: dict[str, Any]) -> bool:
    """Pay ``order`` by bank; False if the shop refuses it (closed, superseded)."""
    answer = shop.pay(client, order)
    assert answer.status_code in (201, 409), answer.text
    return answer.status_code == 201


@pytest.mark.parametrize("first_paid", ["older", "newer"])
def test_r19_overlapping_switch_orders_do_not_cut_paid_upgrade(
    shop: Shop, subscribed: int, first_paid: str
) -> None:
    """Case 1: two unpaid switch orders from 20 persons (to 30, then to 25), both paid in
    either order: the subscription holds what the first applied payment bought, and the
    other's money is flagged, never silently cutting a paid upgrade."""
    with shop.at("2025-04-01T10:00:00+02:00") as client:
        older = shop.switch(client, subscribed, 30)
        newer = shop.switch(client, subscribed, 25)
        sequence = [older, newer] if first_paid == "older" else [newer, older]
        accepted = [o for o in sequence if pay_or_refuse(shop, client, o)]
        assert accepted, "one of them must be payable"
        state = shop.subscription(client, subscribed)
    applied = {older["number"]: 30, newer["number"]: 25}[accepted[0]["number"]]
    assert persons(state) == applied
    for later in accepted[1:]:
        assert shop.row(later["number"]).needs_action == STALE


def test_stale_reason_of_a_switch_looks_at_term_items_and_status() -> None:
    """The pure check: current only for the same term and items, while active."""
    subscription = Subscription(
        id=1,
        token="t",
        licence_id=1,
        email="a@example.com",
        country="DE",
        locale="de",
        payment_method="bank_transfer",
        status="active",
        items=ITEMS_20,
        currency="EUR",
        recurring_total=Decimal("1"),
        billing_period_months=12,
        term_start=date(2025, 1, 1),
        term_end=date(2026, 1, 1),
        created_at=datetime(2025, 1, 1, tzinfo=UTC),
        updated_at=datetime(2025, 1, 1, tzinfo=UTC),
    )
    basis = {
        "subscription_id": 1,
        "term_start": "2025-01-01",
        "term_end": "2026-01-01",
        "items": ITEMS_20,
    }
    order = Order(kind="switch", subscription_id=1, basis=basis)

    class OneRow:
        def get(self, _model: Any, _id: Any) -> Subscription:
            return subscription

    session: Any = OneRow()
    assert stale_reason(session, order, date(2025, 6, 1)) is None
    assert stale_reason(session, order, date(2026, 1, 1)) == STALE  # the term is over
    subscription.items = [ITEMS_20[0], {"sku": "persons-yearly", "quantity": 30}]
    assert stale_reason(session, order, date(2025, 6, 1)) == STALE
    subscription.items, subscription.status = ITEMS_20, "pending-cancel"
    assert stale_reason(session, order, date(2025, 6, 1)) is None
    subscription.status = "cancelled"
    assert stale_reason(session, order, date(2025, 6, 1)) == STALE
    order.basis = None  # an order from before bases were recorded applies as it did
    assert stale_reason(session, order, date(2025, 6, 1)) is None


# R24/R25: maintenance renewals stack, within 3 years


SERVER = [{"sku": "server-starter", "quantity": 1}]
BOUGHT = "2025-03-10T10:00:00+01:00"


@pytest.fixture
def server_licence(shop: Shop) -> int:
    with shop.at(BOUGHT) as client:
        order = shop.place(client, SERVER)
        paid = shop.paid(client, order)
        return int(paid["licence_id"])


def order_maintenance(client: TestClient, shop: Shop, licence_id: int, years: int) -> Any:
    answer = client.post(
        f"/api/v1/licences/{licence_id}/maintenance", json={"years": years}, headers=shop.admin
    )
    assert answer.status_code == 201, answer.text
    return answer.json()["order"]


def paid_until(client: TestClient, shop: Shop) -> str:
    [licence] = client.get("/api/v1/admin/licences", headers=shop.admin).json()["licences"]
    return str(licence["paid_until"])


def test_r24_two_paid_maintenance_renewals_give_two_years(shop: Shop, server_licence: int) -> None:
    with shop.at("2025-04-01T10:00:00+02:00") as client:
        first = order_maintenance(client, shop, server_licence, 1)
        second = order_maintenance(client, shop, server_licence, 1)
        assert party(first) == party(second)
        assert first["tax_number"] == "NL123456782B01" and first["po_number"] == "PO-4711"
        shop.paid(client, first)
        shop.paid(client, second)
        assert paid_until(client, shop) == "2028-03-10"  # 2026-03-10 + 1 year + 1 year
    assert shop.row(second["number"]).maintenance_until == date(2028, 3, 10)
    assert shop.row(first["number"]).basis == {
        "licence_id": server_licence,
        "product": "server-starter",
        "paid_until": "2026-03-10",
        "years": 1,
    }


def test_r25_a_payment_beyond_three_years_is_kept_and_flagged(
    shop: Shop, server_licence: int
) -> None:
    with shop.at("2025-04-01T10:00:00+02:00") as client:
        first = order_maintenance(client, shop, server_licence, 2)
        second = order_maintenance(client, shop, server_licence, 2)
        shop.paid(client, first)
        assert shop.paid(client, second)["status"] == "paid"
        assert paid_until(client, shop) == "2028-03-10"  # not 2030: R25
        page = client.get(f"/de/orders/{second['token']}")
        assert 'id="needs-action"' in page.text and "3 Jahre" in page.text
    assert shop.row(second["number"]).needs_action == "maintenance_too_far_ahead"
    [mail] = [m for m in shop.mails(second["number"]) if m.kind == "payment_kept"]
    assert "3 years" in mail.text_body


def test_r24_unpaid_maintenance_orders_expire_like_other_orders(
    shop: Shop, server_licence: int
) -> None:
    with shop.at("2025-04-01T10:00:00+02:00") as client:
        order = order_maintenance(client, shop, server_licence, 1)
    expires = shop.row(order["number"]).expires_at
    assert expires is not None and expires.astimezone(UTC) == datetime(2025, 5, 1, 8, tzinfo=UTC)
    shop.jobs("2025-05-02T06:00:00+02:00")
    with shop.at("2025-05-02T10:00:00+02:00") as client:
        assert shop.order(client, order["token"])["status"] == "expired"


# R31: a cancelled agreement stays cancelled


def test_r31_cancelled_agreement_stays_cancelled_when_last_invoice_paid(shop: Shop) -> None:
    with shop.at(START) as client:
        order = shop.place(client, [{"sku": "agreement-single", "quantity": 1}])
        subscription_id = shop.paid(client, order)["subscription_id"]
    shop.jobs("2025-04-01T06:00:00+02:00")
    with shop.at("2025-04-02T10:00:00+02:00") as client:
        invoice = shop.orders(client, subscription_id=subscription_id)[0]
        assert invoice["kind"] == "renewal" and invoice["organisation"] == BUYER["organisation"]
        cancelled = client.post(
            f"/api/v1/subscriptions/{subscription_id}/cancel", headers=shop.admin
        )
        assert cancelled.json()["status"] == "cancelled"
        assert shop.paid(client, invoice)["status"] == "paid"  # R31: it stayed due
        state = shop.subscription(client, subscription_id)
        assert state["status"] == "cancelled"
        assert state["term_end"] == "2025-07-01"  # the invoiced period is honoured
    shop.jobs("2025-07-01T06:00:00+02:00")
    shop.jobs("2025-10-01T06:00:00+02:00")
    with shop.at("2025-10-02T10:00:00+02:00") as client:
        assert shop.subscription(client, subscription_id)["status"] == "cancelled"
        orders = shop.orders(client, subscription_id=subscription_id)
        assert [o["kind"] for o in orders] == ["renewal", "new"]  # nothing invoiced since


# R7: quotes of every kind are payable later, by every enabled method


def test_r7_perpetual_quote_paid_by_bank_transfer(shop: Shop) -> None:
    with shop.at(BOUGHT) as client:
        quote = shop.place(client, SERVER, quote=True, payment_method=None)
        assert quote["status"] == "quote"
    with shop.at("2025-03-20T10:00:00+01:00") as client:
        paid = shop.paid(client, quote)
        assert paid["status"] == "paid" and paid["licence_key"].startswith("LS1.")
        assert paid["subscription_id"] is None
        assert paid_until(client, shop) == "2026-03-20"  # R23: 12 months from payment
        page = client.get(f"/en/orders/{quote['token']}")
        assert 'id="licence-key"' in page.text


# The buyer changes the payment method


def csrf_of(page: str) -> str:
    found = re.search(r'name="_csrf_token" value="([^"]+)"', page)
    assert found is not None
    return found.group(1)


def test_buyer_changes_payment_method_of_quote(shop: Shop) -> None:
    with shop.at(BOUGHT) as client:
        quote = shop.place(client, SERVER, quote=True, payment_method=None)
        url = f"/api/v1/orders/{quote['token']}/payment-method"
        changed = client.put(url, json={"payment_method": "cheque"})
        assert changed.status_code == 200, changed.text
        assert changed.json()["order"]["payment"]["method"] == "cheque"
        unknown = client.put(
            url, json={"payment_method": "gold"}, headers={"Accept-Language": "nl"}
        )
        assert (unknown.status_code, unknown.json()["code"]) == (422, "validation_error")
        assert "niet mogelijk" in unknown.json()["detail"]
        card = client.put(url, json={"payment_method": "card"})  # no Stripe keys: not enabled
        assert card.status_code == 422
        assert client.put(url, json={}).status_code == 422

        page = client.get(f"/de/orders/{quote['token']}")
        assert 'id="payment-method-form"' in page.text
        form = client.post(
            f"/de/orders/{quote['token']}/payment-method",
            data={"payment_method": "bank_transfer", "_csrf_token": csrf_of(page.text)},
        )
        assert form.status_code == 200 and 'id="instructions"' in form.text
        assert shop.order(client, quote["token"])["payment"]["method"] == "bank_transfer"

        shop.paid(client, shop.order(client, quote["token"]))
        paid = client.put(url, json={"payment_method": "cheque"})
        assert (paid.status_code, paid.json()["code"]) == (409, "order_paid")
        assert 'id="payment-method-form"' not in client.get(f"/de/orders/{quote['token']}").text


# R7 by card: a perpetual-licence quote paid through the fake Stripe (case 5)


@pytest.fixture
def fake_stripe() -> Iterator[FakeStripe]:
    fake = FakeStripe().start()
    yield fake
    fake.stop()


def test_r7_perpetual_quote_paid_by_card(seeded: Settings, fake_stripe: FakeStripe) -> None:
    with shop_with(seeded, fake_stripe, "stripe", **stripe_keys(fake_stripe)) as served:
        quote = served.place("", quote=True, items=SERVER)
        assert quote["status"] == "quote" and quote["payment"]["client_secret"] is None
        changed = served.http.put(
            f"/api/v1/orders/{quote['token']}/payment-method", json={"payment_method": "card"}
        )
        assert changed.status_code == 200, changed.text
        order = changed.json()["order"]
        assert order["payment"]["client_secret"], order  # the card form opens at once
        assert pay_in_browser(fake_stripe, order)["status"] == "succeeded"
        deliveries = fake_stripe.wait_for_deliveries(2)
        assert [d.status for d in deliveries] == [200, 200]
        record = ledger(served.settings, quote["number"])
        assert (record.status, record.licence_status) == ("paid", "active")
        assert ("payment_intent.succeeded", "applied") in [
            (e.type, e.outcome) for e in record.events
        ]
        page = served.http.get(f"/en/orders/{quote['token']}")
        assert 'id="licence-key"' in page.text
        assert served.order(quote["token"])["licence_key"].startswith("LS1.")


@pytest.fixture
def fake_paypal() -> Iterator[FakePayPal]:
    fake = FakePayPal().start()
    yield fake
    fake.stop()


def test_r7_perpetual_quote_paid_by_paypal_on_return(
    seeded: Settings, fake_paypal: FakePayPal
) -> None:
    with shop_with(seeded, fake_paypal, "paypal", **paypal_keys(fake_paypal)) as served:
        quote = served.place("", quote=True, items=SERVER)
        changed = served.http.put(
            f"/api/v1/orders/{quote['token']}/payment-method", json={"payment_method": "paypal"}
        )
        assert changed.status_code == 200, changed.text
        paypal_id = paypal_order_id(changed.json()["order"])
        fake_paypal.approve(paypal_id)
        with fake_paypal.webhooks_held():  # captured on the buyer's return to the quote
            come_back(served, quote, paypal_id)
            paid = served.order(quote["token"])
        assert paid["status"] == "paid" and paid["licence_key"].startswith("LS1.")
        assert ledger(served.settings, quote["number"]).licence_status == "active"
