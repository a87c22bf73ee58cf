# ruff: noqa: F811  (the provider fixtures are imported from test_payments_card)
"""Money arriving is checked and never silently absorbed (R5, R13, R15).

Given an order, an operator recording a payment, or a correctly signed provider event,
when the amount is negative, zero, not finite, absurd for the order or beyond what the
database holds, then nothing is recorded and the answer says why (422 on ``amount``; a
webhook is acknowledged with the outcome). When it is more than is due, or arrives for an
order already paid or closed, the money is kept on record and the order is flagged for
the operator, who lists the flagged orders and clears each with a note.
"""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest
from click.testing import CliRunner
from hypothesis import given
from hypothesis import strategies as st
from litestar.testing import TestClient
from payments import Shop, ledger
from shop_fakes.stripe import FakeStripe
from sqlmodel import select
from test_checkout import checkout, order_of, pay
from test_payments_card import (  # noqa: F401  (fixtures)
    fake_stripe,
    intent_of,
    pay_in_browser,
    shop,
    signed,
)

from shop.cli import main
from shop.db import make_engine, session_scope
from shop.orders.amounts import ABSURD, INVALID, LIMIT, amount_problem
from shop.orders.models import Order
from shop.settings import Settings

# The rule itself ---------------------------------------------------------------------


@given(
    amount=st.decimals(allow_nan=True, allow_infinity=True),
    total=st.decimals(min_value=Decimal("0.01"), max_value=Decimal("1e9"), places=2),
)
def test_r13_an_amount_is_accepted_only_if_positive_finite_exact_and_plausible(
    amount: Decimal, total: Decimal
) -> None:
    problem = amount_problem(amount, "EUR", total)
    plausible = (
        amount.is_finite()
        and Decimal(0) < amount < LIMIT
        and amount <= total * 100
        and amount == amount.quantize(Decimal("0.01"))
    )
    assert (problem is None) == plausible
    assert problem in (None, INVALID, ABSURD)


def test_r13_examples_of_refused_amounts() -> None:
    total = Decimal("490.00")
    assert amount_problem(Decimal("-50.00"), "EUR", total) == INVALID
    assert amount_problem(Decimal(0), "EUR", total) == INVALID
    assert amount_problem(Decimal("NaN"), "EUR", total) == INVALID
    assert amount_problem(Decimal("1.005"), "EUR", total) == INVALID
    assert amount_problem(Decimal("1e20"), "EUR", total) == ABSURD
    assert amount_problem(Decimal("49000.01"), "EUR", total) == ABSURD
    assert amount_problem(Decimal("49000.00"), "EUR", total) is None  # 100 x: overpaid


# The operator --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("amount", "code"),
    [
        ("-50.00", "invalid_amount"),
        ("0", "invalid_amount"),
        # Not a decimal string at all: refused by the documented body shape.
        ("NaN", "validation_error"),
        ("Infinity", "validation_error"),
        ("1e20", "validation_error"),
        ("99999999999999999.00", "absurd_amount"),  # beyond what the column holds
        ("61000.01", "absurd_amount"),
        ("10.001", "invalid_amount"),
    ],
)
def test_r13_operator_payment_with_an_impossible_amount_is_refused(
    client: TestClient, admin: dict[str, str], amount: str, code: str
) -> None:
    order = order_of(client.post("/api/v1/orders", json=checkout()))  # 610.00
    refused = client.post(
        f"/api/v1/admin/orders/{order['number']}/payments",
        json={"amount": amount, "currency": "EUR", "method": "bank_transfer"},
        headers={**admin, "Accept-Language": "de"},
    )
    assert refused.status_code == 422, refused.text
    problem = refused.json()
    assert problem["code"] == code
    assert problem["field"] == "amount"
    assert problem["title"] not in ("Invalid amount", "Implausible amount")  # German
    after = order_of(client.get(f"/api/v1/orders/{order['token']}"))
    assert after["paid"]["amount"] == "0.00" and after["payments"] == []


def test_r5_operator_overpayment_is_refused_unless_confirmed_then_flagged(
    client: TestClient, admin: dict[str, str]
) -> None:
    order = order_of(client.post("/api/v1/orders", json=checkout()))  # 610.00
    refused = pay(client, admin, order["number"], "6100.00")
    assert refused.status_code == 422
    assert refused.json()["code"] == "overpayment"
    assert "610.00" in refused.json()["detail"]
    assert order_of(client.get(f"/api/v1/orders/{order['token']}"))["payments"] == []

    accepted = client.post(
        f"/api/v1/admin/orders/{order['number']}/payments",
        json={"amount": "6100.00", "currency": "EUR", "accept_overpayment": True},
        headers=admin,
    )
    paid = order_of(accepted)
    assert paid["status"] == "paid" and paid["licence_key"]
    assert paid["paid"]["amount"] == "6100.00"
    assert paid["needs_action"] == "overpaid"
    assert paid["needs_action_text"].startswith("More than the order's total was paid")
    assert paid["needs_action_since"].startswith("2025-04-01")


def test_r5_overpayment_flagged_for_operator_listed_oldest_first_and_resolved(
    client: TestClient, admin: dict[str, str], seeded: Settings
) -> None:
    first = order_of(client.post("/api/v1/orders", json=checkout(email="a@example.com")))
    second = order_of(client.post("/api/v1/orders", json=checkout(email="b@example.com")))
    untouched = order_of(client.post("/api/v1/orders", json=checkout(email="c@example.com")))
    for order in (first, second):
        pay(client, admin, order["number"], "700.00", accept_overpayment=True)  # type: ignore[arg-type]
    engine = make_engine(seeded.database_url)
    with session_scope(engine) as session:  # the second has waited a day longer
        flagged = session.exec(select(Order).where(Order.number == second["number"])).one()
        assert flagged.needs_action_since is not None
        flagged.needs_action_since -= timedelta(days=1)
        session.add(flagged)
    engine.dispose()
    pay(client, admin, untouched["number"], "610.00")
    # A payment to a paid order is more than is due too: refused unless confirmed.
    again = pay(client, admin, untouched["number"], "610.00")
    assert again.status_code == 409 and again.json()["code"] == "order_paid"

    listed = client.get(
        "/api/v1/admin/orders", params={"needs_action": "true"}, headers=admin
    ).json()["orders"]
    assert [o["number"] for o in listed] == [second["number"], first["number"]]
    assert {o["needs_action"] for o in listed} == {"overpaid"}

    shown = CliRunner().invoke(
        main, ["orders", "attention"], env={"SHOP_DATABASE_URL": seeded.database_url}
    )
    assert shown.exit_code == 0, shown.output
    lines = shown.output.splitlines()
    assert [line.split("\t")[:2] for line in lines[:2]] == [
        [str(second["number"]), "overpaid"],
        [str(first["number"]), "overpaid"],
    ]
    assert lines[-1] == "2 order(s) need action."

    no_note = client.post(
        f"/api/v1/admin/orders/{second['number']}/resolve", json={}, headers=admin
    )
    assert no_note.status_code == 422
    resolved = client.post(
        f"/api/v1/admin/orders/{second['number']}/resolve",
        json={"note": "Refunded 90.00 by bank transfer"},
        headers=admin,
    )
    assert order_of(resolved)["needs_action"] is None
    listed = client.get(
        "/api/v1/admin/orders", params={"needs_action": "true"}, headers=admin
    ).json()["orders"]
    assert [o["number"] for o in listed] == [first["number"]]
    twice = client.post(
        f"/api/v1/admin/orders/{second['number']}/resolve", json={"note": "x"}, headers=admin
    )
    assert twice.status_code == 409 and twice.json()["code"] == "nothing_to_resolve"


# Provider events -----------------------------------------------------------------------


def deliver(shop: Shop, fake: FakeStripe, intent: dict[str, Any]) -> Any:
    body, headers = signed(fake, "payment_intent.succeeded", intent)
    answer = shop.http.post("/webhooks/stripe", content=body, headers=headers)
    assert answer.status_code == 200, answer.text
    return answer.json()["outcome"]


def succeeded_intent(order: dict[str, Any], minor_units: int, pi: str = "pi_forged") -> Any:
    return {
        "id": pi,
        "object": "payment_intent",
        "status": "succeeded",
        "amount": minor_units,
        "amount_received": minor_units,
        "currency": "eur",
        "metadata": {"order_number": str(order["number"]), "order_token": order["token"]},
    }


def test_r13_negative_signed_event_refused(shop: Shop, fake_stripe: FakeStripe) -> None:
    order = shop.place("card")
    assert deliver(shop, fake_stripe, succeeded_intent(order, -5000)) == "invalid_amount"
    assert deliver(shop, fake_stripe, succeeded_intent(order, 0, "pi_zero")) == "invalid_amount"
    absurd = succeeded_intent(order, 10**16, "pi_absurd")
    assert deliver(shop, fake_stripe, absurd) == "absurd_amount"
    record = ledger(shop.settings, order["number"])
    assert record.status == "pending" and record.payments == []
    assert shop.order(order["token"])["paid"]["amount"] == "0.00"
    assert sorted(e.outcome for e in record.events) == [
        "absurd_amount",
        "invalid_amount",
        "invalid_amount",
    ]


def test_r5_a_provider_overpayment_pays_the_order_and_flags_it(
    shop: Shop,
    fake_stripe: FakeStripe,
) -> None:
    order = shop.place("card")  # 490.00
    assert deliver(shop, fake_stripe, succeeded_intent(order, 490000)) == "applied"
    paid = shop.order(order["token"])
    assert paid["status"] == "paid" and paid["paid"]["amount"] == "4900.00"
    assert paid["needs_action"] == "overpaid"


def test_r5_a_second_card_payment_of_a_paid_order_is_kept_and_flagged(
    shop: Shop,
    fake_stripe: FakeStripe,
) -> None:
    order = shop.place("card")
    pay_in_browser(fake_stripe, order)
    key = shop.order(order["token"])["licence_key"]
    assert deliver(shop, fake_stripe, succeeded_intent(order, 49000, "pi_second")) == "paid_twice"
    record = ledger(shop.settings, order["number"])
    assert record.status == "paid" and len(record.payments) == 2
    again = shop.order(order["token"])
    assert again["needs_action"] == "paid_twice"
    assert again["licence_key"] == key  # nothing applied a second time


def test_r5_a_card_payment_after_the_order_was_cancelled_is_kept_and_flagged(
    shop: Shop,
    fake_stripe: FakeStripe,
) -> None:
    order = shop.place("card")
    intent = intent_of(order)
    cancelled = shop.http.post(f"/api/v1/orders/{order['token']}/cancel")
    assert cancelled.json()["order"]["status"] == "cancelled"
    # Its PaymentIntent was cancelled at Stripe after the commit: it takes no money now.
    assert fake_stripe.payment_intents[intent]["status"] == "canceled"
    late = succeeded_intent(order, 49000, intent)
    assert deliver(shop, fake_stripe, late) == "paid_after_close"
    record = ledger(shop.settings, order["number"])
    assert record.status == "cancelled" and len(record.payments) == 1
    assert record.licence_status is None  # nothing activated
    assert shop.order(order["token"])["needs_action"] == "paid_after_close"
