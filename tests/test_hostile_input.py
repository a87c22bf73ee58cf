"""Input a client can send to cause harm is answered, never a 500: bodies too large or too
deep, text no database stores, ids no column holds, provider events the shop cannot use.
Every answer is problem+json with a ``code``, translated (issue 10)."""

from __future__ import annotations

import hashlib
import hmac
import json
import re
import time
from collections.abc import Iterator
from dataclasses import replace
from typing import Any

import pytest
from litestar.testing import TestClient
from payments import paypal_keys, with_keys
from shop_fakes.paypal import FakePayPal
from sqlalchemy import func
from sqlmodel import Session, select

from shop.app import create_app
from shop.db import make_engine
from shop.licences.models import Licence
from shop.orders.models import Order, ProviderEvent
from shop.settings import Settings

ORDER = {
    "email": "anna@example.nl",
    "name": "Anna de Vries",
    "country": "NL",
    "currency": "EUR",
    "payment_method": "bank_transfer",
    "items": [{"sku": "base-yearly", "quantity": 1}],
}


def problem(answer: Any, status: int, code: str) -> dict[str, Any]:
    assert answer.status_code == status, answer.text
    assert answer.headers["content-type"].startswith("application/problem+json"), answer.text
    body: dict[str, Any] = answer.json()
    assert body["code"] == code, body
    assert body["status"] == status and body["title"] and body["detail"]
    return body


def rows(settings: Settings, model: Any) -> int:
    engine = make_engine(settings.database_url)
    try:
        with Session(engine) as session:
            return int(session.exec(select(func.count()).select_from(model)).one())
    finally:
        engine.dispose()


def test_a_body_over_shop_max_body_bytes_is_413_in_the_buyers_language(
    seeded: Settings,
) -> None:
    small = replace(seeded, max_body_bytes=2_000)
    with TestClient(app=create_app(small)) as client:
        body = {**ORDER, "name": "A" * 5_000}
        answer = client.post("/api/v1/orders", json=body, headers={"Accept-Language": "de"})
        german = problem(answer, 413, "body_too_large")
        assert answer.headers["content-language"] == "de"
        english = problem(client.post("/api/v1/orders", json=body), 413, "body_too_large")
        assert german["detail"] != english["detail"]
        assert client.post("/api/v1/orders", json=ORDER).status_code == 201
    assert Settings.from_env({"SHOP_MAX_BODY_BYTES": "5000"}).max_body_bytes == 5_000


@pytest.mark.parametrize("depth", [10_000, 100_000])
def test_json_nested_thousands_deep_is_400_invalid_json(client: TestClient, depth: int) -> None:
    for body in ("[" * depth + "]" * depth, '{"a":' * depth + "1" + "}" * depth):
        answer = client.post(
            "/api/v1/orders", content=body, headers={"Content-Type": "application/json"}
        )
        problem(answer, 400, "invalid_json")
    # Nested less deep than the parsers' limit, still deeper than any body of the shop's.
    nested = {**ORDER, "reseller": json.loads("[" * 200 + "]" * 200)}
    problem(client.post("/api/v1/orders", json=nested), 400, "invalid_json")


def test_a_static_path_with_a_nul_is_404(client: TestClient) -> None:
    problem_page = client.get("/static/shop.css%00.png")
    assert problem_page.status_code == 404
    assert client.get("/static/shop.css").status_code == 200


@pytest.mark.parametrize("bad", ["\x00", "\ud800"], ids=["nul", "lone_surrogate"])
@pytest.mark.parametrize("field", ["name", "po_number", "email"])
def test_unstorable_text_in_an_order_is_422_naming_the_field(
    client: TestClient, seeded: Settings, bad: str, field: str
) -> None:
    body = {**ORDER, field: f"Anna{bad}Vries" if field != "email" else f"anna{bad}@example.nl"}
    raw = json.dumps(body)  # escapes both as \\u0000 / \\ud800, as a client would send
    answer = client.post(
        "/api/v1/orders",
        content=raw,
        headers={"Content-Type": "application/json", "Accept-Language": "nl"},
    )
    dutch = problem(answer, 422, "validation_error")
    assert dutch["field"] == field
    english = client.post(
        "/api/v1/orders", content=raw, headers={"Content-Type": "application/json"}
    ).json()
    assert dutch["detail"] != english["detail"]
    assert rows(seeded, Order) == 0


@pytest.mark.parametrize("bad", ["\x00", "\ud800"], ids=["nul", "lone_surrogate"])
def test_unstorable_text_in_a_trial_email_is_422_and_stores_nothing(
    client: TestClient, seeded: Settings, bad: str
) -> None:
    raw = json.dumps({"email": f"anna{bad}@example.nl", "sku": "base-yearly"})
    answer = client.post(
        "/api/v1/trials", content=raw, headers={"Content-Type": "application/json"}
    )
    assert problem(answer, 422, "validation_error")["field"] == "email"
    assert rows(seeded, Licence) == 0


def test_a_nul_in_an_order_token_or_a_query_is_422(
    client: TestClient, admin: dict[str, str]
) -> None:
    assert problem(client.get("/api/v1/orders/abc%00def"), 422, "validation_error")["field"] == (
        "token"
    )
    answer = client.get("/api/v1/admin/orders?email=a%00b@example.nl", headers=admin)
    assert problem(answer, 422, "validation_error")["field"] == "email"


HUGE = [2**63, 2**64, 10**30]
OPERATOR_CALLS = [
    ("post", "/api/v1/admin/orders/{n}/payments", {"amount": "1", "currency": "EUR"}),
    ("post", "/api/v1/admin/orders/{n}/cancel", None),
    ("post", "/api/v1/licences/{n}/maintenance", {"years": 1}),
    ("post", "/api/v1/licences/{n}/upgrade", {"sku": "base-yearly"}),
    ("get", "/api/v1/subscriptions/{n}", None),
    ("post", "/api/v1/subscriptions/{n}/switch", {"items": [{"sku": "base-yearly"}]}),
    ("delete", "/api/v1/subscriptions/{n}/scheduled-change", None),
    ("post", "/api/v1/subscriptions/{n}/cancel", None),
]


@pytest.mark.parametrize(("method", "path", "body"), OPERATOR_CALLS)
def test_ids_beyond_what_a_column_holds_are_404(
    client: TestClient, admin: dict[str, str], method: str, path: str, body: Any
) -> None:
    for n in HUGE:
        kwargs: dict[str, Any] = {"headers": admin}
        if body is not None:
            kwargs["json"] = body
        answer = client.request(method.upper(), path.format(n=n), **kwargs)
        problem(answer, 404, "not_found")


def test_a_subscription_id_query_beyond_a_column_is_422(
    client: TestClient, admin: dict[str, str]
) -> None:
    answer = client.get(f"/api/v1/admin/orders?subscription_id={2**63}", headers=admin)
    assert problem(answer, 422, "validation_error")["field"] == "subscription_id"


def test_a_payment_amount_of_1e400_is_422(client: TestClient, admin: dict[str, str]) -> None:
    order = client.post("/api/v1/orders", json=ORDER).json()["order"]
    for amount in ("1e400", "-1e400", "NaN", "Infinity", 1e300):
        answer = client.post(
            f"/api/v1/admin/orders/{order['number']}/payments",
            json={"amount": amount, "currency": "EUR", "method": "bank_transfer"},
            headers=admin,
        )
        assert problem(answer, 422, "validation_error")["field"] == "amount", amount


# Stripe: the signature is checked locally, so no fake server is needed.
WEBHOOK_SECRET = "whsec_hostile"


@pytest.fixture
def stripe_client(seeded: Settings) -> Iterator[TestClient]:
    keyed = with_keys(
        seeded,
        card={
            "secret_key": "sk_test_hostile",
            "publishable_key": "pk_test_hostile",
            "webhook_secret": WEBHOOK_SECRET,
        },
    )
    with TestClient(app=create_app(keyed)) as client:
        yield client


def stripe_post(client: TestClient, body: bytes) -> Any:
    stamp = int(time.time())
    digest = hmac.new(WEBHOOK_SECRET.encode(), f"{stamp}.".encode() + body, hashlib.sha256)
    headers = {"Stripe-Signature": f"t={stamp},v1={digest.hexdigest()}"}
    return client.post("/webhooks/stripe", content=body, headers=headers)


def stripe_event(kind: str, obj: Any, event_id: str = "evt_hostile") -> bytes:
    return json.dumps({"id": event_id, "type": kind, "data": {"object": obj}}).encode()


INTENT = {
    "id": "pi_hostile",
    "object": "payment_intent",
    "status": "succeeded",
    "amount": 11900,
    "currency": "eur",
    "metadata": {"order_number": "1"},
}
UNUSABLE_INTENTS = {
    "amount_as_text": {**INTENT, "amount": "11900"},
    "amount_missing": {k: v for k, v in INTENT.items() if k != "amount"},
    "currency_missing": {k: v for k, v in INTENT.items() if k != "currency"},
    "object_a_list": [INTENT],
    "metadata_text": {**INTENT, "metadata": "order 1"},
    "huge_amount": {**INTENT, "amount": 10**40},
    "id_a_number": {**INTENT, "id": 12},
    "order_number_huge": {**INTENT, "metadata": {"order_number": str(2**70)}},
}


@pytest.mark.parametrize("name", list(UNUSABLE_INTENTS))
def test_r13_a_signed_stripe_event_the_shop_cannot_use_is_acknowledged_and_logged(
    stripe_client: TestClient, seeded: Settings, name: str
) -> None:
    stripe_client.post("/api/v1/orders", json=ORDER)
    intent = UNUSABLE_INTENTS[name]
    charge = {**intent, "payment_intent": intent["id"]} if isinstance(intent, dict) else intent
    # Without a readable order number the event is about no order of the shop's.
    unknown = name in ("order_number_huge", "metadata_text")
    expected = "unknown_order" if unknown else "malformed"
    for kind, obj in (("payment_intent.succeeded", intent), ("charge.succeeded", charge)):
        answer = stripe_post(stripe_client, stripe_event(kind, obj, f"evt_{name}_{kind}"))
        assert answer.status_code == 200, answer.text
        assert answer.json()["outcome"] == expected, answer.text
    engine = make_engine(seeded.database_url)
    with Session(engine) as session:
        stored = session.exec(select(ProviderEvent.outcome)).all()
        order = session.exec(select(Order)).one()
    engine.dispose()
    assert stored == [expected, expected]
    assert order.status == "pending", "nothing was paid"


@pytest.mark.parametrize(
    "body",
    [
        b"[1, 2]",
        b'"event"',
        b'{"type": "payment_intent.succeeded", "data": {"object": {}}}',
        b'{"id": "evt_1", "type": 5, "data": {"object": {}}}',
        b'{"id": "evt_1", "type": "payment_intent.succeeded", "data": []}',
        json.dumps({"id": "evt_" + "x" * 500, "type": "x", "data": {}}).encode(),
        b'{"id": "evt_1", "type": "x", "data": ' + b"[" * 50_000 + b"]" * 50_000 + b"}",
        b'{"id": "evt_\\u0000", "type": "x", "data": {}}',
        b"not json",
    ],
)
def test_r13_a_signed_stripe_body_that_is_no_event_is_400(
    stripe_client: TestClient, seeded: Settings, body: bytes
) -> None:
    problem(stripe_post(stripe_client, body), 400, "invalid_event")
    assert rows(seeded, ProviderEvent) == 0


@pytest.fixture
def paypal_client(seeded: Settings) -> Iterator[tuple[TestClient, FakePayPal]]:
    fake = FakePayPal().start()
    keyed = with_keys(seeded, **paypal_keys(fake))
    try:
        with TestClient(app=create_app(keyed)) as client:
            yield client, fake
    finally:
        fake.stop()


CAPTURE = {
    "id": "3C679366HH908993F",
    "status": "COMPLETED",
    "amount": {"currency_code": "EUR", "value": "119.00"},
    "custom_id": "1",
}
UNUSABLE_CAPTURES = {
    "value_a_number": {**CAPTURE, "amount": {"currency_code": "EUR", "value": 119}},
    "value_1e400": {**CAPTURE, "amount": {"currency_code": "EUR", "value": "1e400"}},
    "amount_missing": {k: v for k, v in CAPTURE.items() if k != "amount"},
    "currency_missing": {**CAPTURE, "amount": {"value": "119.00"}},
    "value_text": {**CAPTURE, "amount": {"currency_code": "EUR", "value": "much"}},
}


def test_r13_a_signed_paypal_event_the_shop_cannot_use_is_acknowledged_and_logged(
    paypal_client: tuple[TestClient, FakePayPal], seeded: Settings
) -> None:
    client, fake = paypal_client
    client.post("/api/v1/orders", json=ORDER)
    for name, resource in UNUSABLE_CAPTURES.items():
        body, headers = fake.signed_event("PAYMENT.CAPTURE.COMPLETED", resource)
        answer = client.post("/webhooks/paypal", content=body, headers=headers)
        assert answer.status_code == 200, (name, answer.text)
        assert answer.json()["outcome"] == "malformed", (name, answer.text)
    assert rows(seeded, ProviderEvent) == len(UNUSABLE_CAPTURES)


def test_r13_a_paypal_body_that_is_no_event_is_400(
    paypal_client: tuple[TestClient, FakePayPal], seeded: Settings
) -> None:
    client, fake = paypal_client
    _, headers = fake.signed_event("PAYMENT.CAPTURE.COMPLETED", CAPTURE)
    deep = b'{"id": "WH-1", "resource": ' + b"[" * 50_000 + b"]" * 50_000 + b"}"
    for bad in (deep, b"[1]"):
        answer = client.post("/webhooks/paypal", content=bad, headers=headers)
        assert answer.status_code == 400, answer.text
    assert rows(seeded, ProviderEvent) == 0


def test_a_nul_in_a_page_form_is_refused_and_stores_nothing(
    client: TestClient, seeded: Settings
) -> None:
    page = client.get("/de/products/base-yearly").text
    token = re.search(r'name="_csrf_token" value="([^"]+)"', page)
    assert token is not None
    answer = client.post(
        "/de/trial",
        data={"email": "anna\x00@example.nl", "sku": "base-yearly", "_csrf_token": token[1]},
    )
    assert answer.status_code == 422
    assert "Zeichen" in answer.text  # the translated message, on the shop's error page
    assert rows(seeded, Licence) == 0
