"""The fake Stripe, driven by the real ``stripe`` SDK and by HTTP calls as Stripe.js makes them.

No browser here: the fake Stripe.js is only checked for what it embeds; the browser tests
exercise it for real.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
import stripe
from shop_fakes.stripe import FakeStripe, parse_params
from stripe.params import PaymentIntentCreateParams

RETURN_URL = "http://127.0.0.1:9/checkout/return?order=12"


class Receiver:
    """A tiny webhook endpoint: records what it gets, answers 200 after ``delay`` seconds."""

    def __init__(self) -> None:
        self.events: list[tuple[dict[str, str], bytes]] = []
        self.delay = 0.0
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                time.sleep(receiver.delay)
                receiver.events.append((dict(self.headers.items()), body))
                self.send_response(200)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/webhooks/stripe"

    def types(self) -> list[str]:
        return [json.loads(body)["type"] for _, body in self.events]


# One fake and one endpoint for the module: stopping a server takes up to half a second
# (its poll interval), and every test makes its own customers and PaymentIntents anyway.
@pytest.fixture(scope="module")
def module_receiver() -> Iterator[Receiver]:
    receiver = Receiver()
    thread = threading.Thread(
        target=receiver.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
    )
    thread.start()
    yield receiver
    receiver.server.shutdown()
    receiver.server.server_close()


@pytest.fixture(scope="module")
def module_fake(module_receiver: Receiver) -> Iterator[FakeStripe]:
    fake = FakeStripe(webhook_url=module_receiver.url)
    fake.start()
    yield fake
    fake.stop()


@pytest.fixture
def receiver(module_receiver: Receiver, module_fake: FakeStripe) -> Receiver:
    """The endpoint, emptied: every test waits for the webhooks it causes."""
    module_fake.wait_for_deliveries(len(module_fake.deliveries), timeout=5)
    module_receiver.events.clear()
    module_receiver.delay = 0.0
    return module_receiver


@pytest.fixture
def fake(module_fake: FakeStripe, receiver: Receiver) -> FakeStripe:
    return module_fake


@pytest.fixture
def client(fake: FakeStripe) -> stripe.StripeClient:
    return stripe.StripeClient("sk_test_fake", base_addresses={"api": fake.base_url})


def checkout_intent(client: stripe.StripeClient, customer: str, key: str) -> stripe.PaymentIntent:
    return client.v1.payment_intents.create(
        params={
            "amount": 11900,
            "currency": "EUR",
            "customer": customer,
            "description": "Order 12",
            "metadata": {"order_number": "12"},
            "receipt_email": "ada@example.com",
            "setup_future_usage": "off_session",
            "automatic_payment_methods": {"enabled": True},
        },
        options={"idempotency_key": key},
    )


def browser_confirm(
    fake: FakeStripe, client_secret: str, number: str, **card: str
) -> httpx.Response:
    """The confirm call of the fake Stripe.js, byte for byte: a form POST with the pk."""
    pi_id = client_secret.split("_secret_")[0]
    return httpx.post(
        f"{fake.base_url}/v1/payment_intents/{pi_id}/confirm",
        data={
            "key": fake.publishable_key,
            "client_secret": client_secret,
            "payment_method_data[type]": "card",
            "payment_method_data[card][number]": number,
            "payment_method_data[card][exp_month]": card.get("exp_month", "12"),
            "payment_method_data[card][exp_year]": card.get("exp_year", "34"),
            "payment_method_data[card][cvc]": card.get("cvc", "123"),
            "return_url": RETURN_URL,
        },
    )


def off_session_charge(client: stripe.StripeClient, customer: str, pm: str) -> stripe.PaymentIntent:
    return client.v1.payment_intents.create(
        params={
            "amount": 11900,
            "currency": "eur",
            "customer": customer,
            "payment_method": pm,
            "off_session": True,
            "confirm": True,
            "metadata": {"renewal_of": "12"},
        }
    )


def test_checkout_then_off_session_renewal(
    fake: FakeStripe, client: stripe.StripeClient, receiver: Receiver
) -> None:
    customer = client.v1.customers.create(
        params={"email": "ada@example.com", "name": "Ada", "metadata": {"account": "7"}}
    )
    assert customer.id.startswith("cus_") and customer.metadata is not None
    assert customer.metadata.to_dict() == {"account": "7"}
    assert client.v1.customers.retrieve(customer.id).email == "ada@example.com"

    before = len(fake.payment_intents)
    intent = checkout_intent(client, customer.id, "order-12-attempt-1")
    again = checkout_intent(client, customer.id, "order-12-attempt-1")
    assert again.id == intent.id and len(fake.payment_intents) == before + 1
    assert again.last_response is not None
    assert again.last_response.headers["Idempotent-Replayed"] == "true"
    assert again.last_response.headers["Request-Id"].startswith("req_")
    assert intent.status == "requires_payment_method" and intent.amount_received == 0
    assert intent.currency == "eur" and intent.metadata["order_number"] == "12"
    assert intent.client_secret is not None
    assert intent.client_secret.startswith(f"{intent.id}_secret_")
    assert client.v1.payment_intents.retrieve(intent.id).setup_future_usage == "off_session"

    # The shop's webhook endpoint is slow, yet has both events when the browser's call returns.
    delivered = len(fake.deliveries)
    receiver.delay = 0.05
    answer = browser_confirm(fake, intent.client_secret, "4242 4242 4242 4242")
    assert answer.status_code == 200, answer.text
    assert answer.json()["status"] == "succeeded"
    assert receiver.types() == ["payment_intent.succeeded", "charge.succeeded"]
    receiver.delay = 0.0

    paid = client.v1.payment_intents.retrieve(intent.id, params={"expand": ["latest_charge"]})
    assert paid.status == "succeeded" and paid.amount_received == 11900
    assert isinstance(paid.latest_charge, stripe.Charge)
    assert paid.latest_charge.paid and paid.latest_charge.metadata["order_number"] == "12"
    saved = fake.saved_payment_method(customer.id)
    assert saved is not None and saved == paid.payment_method
    card = client.v1.payment_methods.retrieve(saved).card
    assert card is not None and (card.brand, card.last4) == ("visa", "4242")
    listed = client.v1.customers.payment_methods.list(customer.id)
    assert [pm.id for pm in listed.data] == [saved]

    renewal = off_session_charge(client, customer.id, saved)
    assert renewal.status == "succeeded" and renewal.latest_charge is not None
    # API calls by the shop deliver their webhooks in the background.
    deliveries = fake.wait_for_deliveries(delivered + 4, timeout=5)[delivered:]
    assert [d.status for d in deliveries] == [200] * 4
    assert receiver.types()[2:] == ["payment_intent.succeeded", "charge.succeeded"]
    headers, body = receiver.events[3]
    event = stripe.Webhook.construct_event(body, headers["Stripe-Signature"], fake.webhook_secret)
    assert event.type == "charge.succeeded"
    assert event.data.object["payment_intent"] == renewal.id
    assert event.data.object["metadata"].to_dict() == {"renewal_of": "12"}
    assert headers["User-Agent"] == "Stripe/1.0 (+https://stripe.com/docs/webhooks)"


def test_declined_saved_card_raises_card_error(
    fake: FakeStripe, client: stripe.StripeClient, receiver: Receiver
) -> None:
    customer = client.v1.customers.create(params={"email": "bob@example.com"})
    declining = fake.attach_card(customer.id, "4000 0000 0000 0002")
    before, delivered = len(fake.payment_intents), len(fake.deliveries)
    params: PaymentIntentCreateParams = {
        "amount": 500,
        "currency": "eur",
        "customer": customer.id,
        "payment_method": declining,
        "off_session": True,
        "confirm": True,
    }
    with pytest.raises(stripe.CardError) as raised:
        client.v1.payment_intents.create(params=params, options={"idempotency_key": "renew-1"})
    error = raised.value
    assert error.code == "card_declined" and error.http_status == 402
    assert error.error is not None and error.error.decline_code == "generic_decline"
    failed = error.error.payment_intent
    assert failed is not None and failed.status == "requires_payment_method"
    assert failed.last_payment_error is not None
    assert failed.last_payment_error.code == "card_declined"

    # Retried with the same key: the same 402, and no second PaymentIntent.
    with pytest.raises(stripe.CardError) as replayed:
        client.v1.payment_intents.create(params=params, options={"idempotency_key": "renew-1"})
    assert replayed.value.error is not None and replayed.value.error.payment_intent is not None
    assert replayed.value.error.payment_intent.id == failed.id
    assert len(fake.payment_intents) == before + 1
    fake.wait_for_deliveries(delivered + 1, timeout=5)
    assert receiver.types() == ["payment_intent.payment_failed"]


def test_three_d_secure_on_session_then_authentication_required_off_session(
    fake: FakeStripe, client: stripe.StripeClient, receiver: Receiver
) -> None:
    customer = client.v1.customers.create(params={"email": "eve@example.com"})
    intent = checkout_intent(client, customer.id, "order-13")
    assert intent.client_secret is not None
    answer = browser_confirm(fake, intent.client_secret, "4000002760003184")
    assert answer.status_code == 200
    pending = answer.json()
    assert pending["status"] == "requires_action" and receiver.events == []
    redirect = pending["next_action"]["redirect_to_url"]
    assert redirect["return_url"] == RETURN_URL
    page = httpx.get(redirect["url"])
    assert "Complete" in page.text and "Fail" in page.text

    done = httpx.post(f"{fake.base_url}/3ds/{intent.id}/complete", data={"return_url": RETURN_URL})
    assert done.status_code == 303
    location = urlsplit(done.headers["Location"])
    query = parse_qs(location.query)
    assert location.path == "/checkout/return" and query["order"] == ["12"]
    assert query["payment_intent"] == [intent.id]
    assert query["payment_intent_client_secret"] == [intent.client_secret]
    assert query["redirect_status"] == ["succeeded"]
    assert receiver.types() == ["payment_intent.succeeded", "charge.succeeded"]  # already

    saved = fake.saved_payment_method(customer.id)
    assert saved is not None
    with pytest.raises(stripe.CardError) as raised:
        off_session_charge(client, customer.id, saved)
    assert raised.value.code == "authentication_required"
    assert raised.value.error is not None and raised.value.error.payment_intent is not None
    assert raised.value.error.payment_intent.status == "requires_action"


def test_three_d_secure_failure(fake: FakeStripe, client: stripe.StripeClient) -> None:
    intent = client.v1.payment_intents.create(params={"amount": 100, "currency": "eur"})
    assert intent.client_secret is not None
    browser_confirm(fake, intent.client_secret, "4000002760003184")
    failed = httpx.post(f"{fake.base_url}/3ds/{intent.id}/fail", data={"return_url": RETURN_URL})
    assert parse_qs(urlsplit(failed.headers["Location"]).query)["redirect_status"] == ["failed"]
    retrieved = client.v1.payment_intents.retrieve(intent.id)
    assert retrieved.status == "requires_payment_method"
    assert retrieved.last_payment_error is not None
    assert retrieved.last_payment_error.code == "payment_intent_authentication_failure"


@pytest.mark.parametrize(
    ("number", "card", "code", "decline_code"),
    [
        ("4000000000000002", {}, "card_declined", "generic_decline"),
        ("4000000000009995", {}, "card_declined", "insufficient_funds"),
        ("4000000000000001", {}, "incorrect_number", None),
        ("4242424242424242", {"exp_month": "1", "exp_year": "20"}, "expired_card", "expired_card"),
    ],
)
def test_browser_confirm_card_errors(
    fake: FakeStripe,
    client: stripe.StripeClient,
    number: str,
    card: dict[str, str],
    code: str,
    decline_code: str | None,
) -> None:
    intent = client.v1.payment_intents.create(params={"amount": 100, "currency": "eur"})
    assert intent.client_secret is not None
    answer = browser_confirm(fake, intent.client_secret, number, **card)
    assert answer.status_code == 402
    error = answer.json()["error"]
    assert (error["type"], error["code"], error.get("decline_code")) == (
        "card_error",
        code,
        decline_code,
    )
    assert error["payment_intent"]["status"] == "requires_payment_method"
    # The customer may try again with another card.
    assert fake.confirm_in_browser(intent.client_secret)[1]["status"] == "succeeded"


def test_keys_and_client_secret(fake: FakeStripe, client: stripe.StripeClient) -> None:
    intent = client.v1.payment_intents.create(params={"amount": 100, "currency": "eur"})
    wrong = stripe.StripeClient("sk_test_wrong_key", base_addresses={"api": fake.base_url})
    with pytest.raises(stripe.AuthenticationError, match="Invalid API Key provided"):
        wrong.v1.payment_intents.retrieve(intent.id)
    answer = httpx.post(f"{fake.base_url}/v1/customers")
    assert answer.status_code == 401
    assert answer.json()["error"]["type"] == "invalid_request_error"
    # The publishable key only confirms (or reads) a PaymentIntent it has the secret of.
    pk = {"Authorization": f"Bearer {fake.publishable_key}"}
    assert httpx.post(f"{fake.base_url}/v1/customers", headers=pk).status_code == 401
    confirm = f"{fake.base_url}/v1/payment_intents/{intent.id}/confirm"
    assert httpx.post(confirm, headers=pk, data={"client_secret": "nope"}).status_code == 400
    read = httpx.get(
        f"{fake.base_url}/v1/payment_intents/{intent.id}",
        params={"client_secret": intent.client_secret},
        headers=pk,
    )
    assert read.json()["id"] == intent.id


def test_update_until_paid(fake: FakeStripe, client: stripe.StripeClient) -> None:
    intent = client.v1.payment_intents.create(
        params={"amount": 100, "currency": "eur", "metadata": {"a": "1", "b": "2"}}
    )
    updated = client.v1.payment_intents.update(
        intent.id, params={"amount": 250, "metadata": {"b": "", "c": "3"}}
    )
    assert updated.amount == 250 and updated.metadata.to_dict() == {"a": "1", "c": "3"}
    assert intent.client_secret is not None
    fake.confirm_in_browser(intent.client_secret)
    with pytest.raises(stripe.InvalidRequestError) as raised:
        client.v1.payment_intents.update(intent.id, params={"amount": 300})
    assert raised.value.code == "payment_intent_unexpected_state"
    with pytest.raises(stripe.InvalidRequestError) as missing:
        client.v1.payment_intents.retrieve("pi_missing")
    assert missing.value.http_status == 404 and missing.value.code == "resource_missing"


def test_signatures(fake: FakeStripe) -> None:
    payload = fake.event("payment_intent.succeeded", {"id": "pi_1", "object": "payment_intent"})
    header = fake.sign(payload)
    event = stripe.Webhook.construct_event(payload, header, "whsec_test_fake")
    assert event.id.startswith("evt_") and event.api_version == stripe.api_version
    assert event.livemode is False and event.data.object["id"] == "pi_1"
    with pytest.raises(stripe.SignatureVerificationError):
        stripe.Webhook.construct_event(payload, header, "whsec_other")
    with pytest.raises(stripe.SignatureVerificationError):  # outside Stripe's 5-minute window
        stripe.Webhook.construct_event(
            payload, fake.sign(payload, int(time.time()) - 600), "whsec_test_fake"
        )
    assert fake.sign(payload, 1, "whsec_x") == stripe.WebhookSignature.generate_signature_header(
        payload.decode(), "whsec_x", 1
    )


def test_send_event_reaches_the_shop(fake: FakeStripe, receiver: Receiver) -> None:
    delivered = len(fake.deliveries)
    event_id = fake.send_event("charge.refunded", {"id": "ch_1", "object": "charge"})
    fake.wait_for_deliveries(delivered + 1, timeout=5)
    headers, body = receiver.events[0]
    assert headers["Content-Type"] == "application/json"
    event = stripe.Webhook.construct_event(body, headers["Stripe-Signature"], fake.webhook_secret)
    assert event.id == event_id and event.type == "charge.refunded"


def test_stripe_js_is_served_with_its_base_url(fake: FakeStripe) -> None:
    for path in ("/v3/", "/v3/stripe.js"):
        answer = httpx.get(fake.base_url + path)
        assert answer.headers["Content-Type"].startswith("application/javascript")
        script = answer.text
        assert json.dumps({"base": fake.base_url}) in script and "window.Stripe" in script
        for text in ("Kaartnummer", "Kartennummer", "Prüfziffer", "Uw kaart is geweigerd."):
            assert text in script


def test_bracket_notation() -> None:
    pairs = [
        ("metadata[order_number]", "12"),
        ("expand[]", "latest_charge"),
        ("expand[]", "customer"),
        ("payment_method_types[0]", "card"),
        ("payment_method_data[card][number]", "4242"),
    ]
    assert parse_params(pairs) == {
        "metadata": {"order_number": "12"},
        "expand": ["latest_charge", "customer"],
        "payment_method_types": ["card"],
        "payment_method_data": {"card": {"number": "4242"}},
    }
