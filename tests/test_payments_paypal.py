"""PayPal through the real SDK against the fake PayPal: approve, capture on return, the
webhook applied once (R13), signatures checked through PayPal's verification call."""

from __future__ import annotations

import json
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from decimal import Decimal
from urllib.parse import parse_qs, urlsplit

import pytest
from payments import Shop, count_events, ledger, paypal_keys, shop_with
from shop_fakes.paypal import FakePayPal

from shop.settings import Settings


@pytest.fixture
def fake_paypal() -> Iterator[FakePayPal]:
    fake = FakePayPal().start()
    yield fake
    fake.stop()


@pytest.fixture
def shop(seeded: Settings, fake_paypal: FakePayPal) -> Iterator[Shop]:
    with shop_with(seeded, fake_paypal, "paypal", **paypal_keys(fake_paypal)) as served:
        yield served


def paypal_order_id(order: dict[str, object]) -> str:
    payment = order["payment"]
    assert isinstance(payment, dict) and payment["redirect_url"], order
    return parse_qs(urlsplit(payment["redirect_url"]).query)["token"][0]


def come_back(shop: Shop, order: dict[str, object], paypal_id: str) -> str:
    """The buyer's browser returning from PayPal; where the shop sends it next."""
    answer = shop.http.get(
        f"/en/orders/{order['token']}/return", params={"token": paypal_id, "PayerID": "X1"}
    )
    assert answer.status_code in (302, 303), answer.text
    return answer.headers["location"]


def test_r12_paypal_approved_and_captured_on_return_pays_once(
    shop: Shop, fake_paypal: FakePayPal
) -> None:
    order = shop.place("paypal")
    paypal_id = paypal_order_id(order)
    assert fake_paypal.orders[paypal_id]["purchase_units"][0]["amount"] == {
        "currency_code": "EUR",
        "value": order["total"]["amount"],
    }
    # Reloading the order page opens no second PayPal order (the same request id).
    assert paypal_order_id(shop.order(order["token"])) == paypal_id
    assert len(fake_paypal.orders) == 1

    # Not approved yet (the buyer cancelled at PayPal): nothing captured, still due.
    assert come_back(shop, order, paypal_id) == f"/en/orders/{order['token']}"
    assert shop.order(order["token"])["status"] == "pending"

    fake_paypal.approve(paypal_id)
    with fake_paypal.webhooks_held():  # the capture's webhook comes after the buyer
        come_back(shop, order, paypal_id)
        paid = shop.order(order["token"])
    assert paid["status"] == "paid"
    assert fake_paypal.orders[paypal_id]["status"] == "COMPLETED"

    # PayPal's own webhooks (approved, capture completed) arrive too and change nothing.
    deliveries = fake_paypal.wait_for_deliveries(2)
    assert [d.status for d in deliveries] == [200, 200]
    record = ledger(shop.settings, order["number"])
    assert len(record.payments) == 1
    assert record.payments[0].amount == Decimal(paid["total"]["amount"])
    assert record.payments[0].recorded_by == "return"  # captured when the buyer came back
    assert record.licence_status == "active"
    # Coming back again (a reload of PayPal's return address) captures nothing more.
    come_back(shop, order, paypal_id)
    assert len(ledger(shop.settings, order["number"]).payments) == 1


def test_r13_paypal_webhook_alone_pays_and_replays_change_nothing(
    shop: Shop, fake_paypal: FakePayPal
) -> None:
    order = shop.place("paypal")
    paypal_id = paypal_order_id(order)
    capture = {
        "id": "3C679366HH908993F",
        "status": "COMPLETED",
        "amount": {"currency_code": "EUR", "value": order["total"]["amount"]},
        "custom_id": str(order["number"]),
        "supplementary_data": {"related_ids": {"order_id": paypal_id}},
    }
    body, headers = fake_paypal.signed_event("PAYMENT.CAPTURE.COMPLETED", capture)

    def deliver(_: int) -> dict[str, object]:
        answer = shop.http.post("/webhooks/paypal", content=body, headers=headers)
        assert answer.status_code == 200, answer.text
        return answer.json()  # type: ignore[no-any-return]

    with ThreadPoolExecutor(max_workers=5) as pool:
        outcomes = [answer["outcome"] for answer in pool.map(deliver, range(10))]
    assert sorted(outcomes) == ["applied"] + ["duplicate"] * 9
    record = ledger(shop.settings, order["number"])
    assert record.status == "paid" and record.licence_status == "active"
    assert len(record.payments) == 1 and len(record.events) == 1


def test_r13_paypal_webhook_with_a_bad_signature_is_400_and_changes_nothing(
    shop: Shop, fake_paypal: FakePayPal
) -> None:
    order = shop.place("paypal")
    capture = {
        "id": "5O190127TN364715T",
        "status": "COMPLETED",
        "amount": {"currency_code": "EUR", "value": order["total"]["amount"]},
        "custom_id": str(order["number"]),
    }
    body, headers = fake_paypal.signed_event("PAYMENT.CAPTURE.COMPLETED", capture)
    forged = json.loads(body)
    forged["resource"]["amount"]["value"] = "9999.00"
    answer = shop.http.post(
        "/webhooks/paypal",
        content=json.dumps(forged).encode(),
        headers={**headers, "Accept-Language": "nl"},
    )
    assert answer.status_code == 400
    assert answer.headers["content-type"].startswith("application/problem+json")
    assert answer.json()["code"] == "invalid_signature"
    unsigned = shop.http.post("/webhooks/paypal", content=body)
    assert unsigned.status_code == 400
    assert count_events(shop.settings) == 0
    assert shop.order(order["token"])["status"] == "pending"


def test_r12_paypal_takes_no_dzd(shop: Shop) -> None:
    answer = shop.http.post(
        "/api/v1/orders",
        json={
            "email": "amine@example.dz",
            "name": "Amine",
            "country": "DZ",
            "currency": "DZD",
            "payment_method": "paypal",
            "items": [{"sku": "base-yearly", "quantity": 1}],
        },
    )
    assert answer.status_code == 422
    assert answer.json()["code"] == "method_not_available"


def test_r13_webhook_for_an_unknown_order_is_acknowledged(
    shop: Shop, fake_paypal: FakePayPal
) -> None:
    capture = {
        "id": "9XX00000000000000",
        "status": "COMPLETED",
        "amount": {"currency_code": "EUR", "value": "10.00"},
        "custom_id": "987654",
    }
    body, headers = fake_paypal.signed_event("PAYMENT.CAPTURE.COMPLETED", capture)
    answer = shop.http.post("/webhooks/paypal", content=body, headers=headers)
    assert answer.status_code == 200
    assert answer.json()["outcome"] == "unknown_order"
