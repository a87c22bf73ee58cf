"""The fake PayPal, driven through the real ``paypalserversdk`` (no browser).

What the SDK does here is what the shop's PayPal plugin does: create an order, send the
buyer to the payer-action link, capture on return, verify the webhooks with PayPal.
"""

from __future__ import annotations

import http.client
import json
import threading
import uuid
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

import pytest
from apimatic_core.exceptions.auth_validation_exception import AuthValidationException
from paypalserversdk.exceptions.error_exception import ErrorException
from paypalserversdk.models.amount_with_breakdown import AmountWithBreakdown
from paypalserversdk.models.checkout_payment_intent import CheckoutPaymentIntent
from paypalserversdk.models.order_application_context import OrderApplicationContext
from paypalserversdk.models.order_request import OrderRequest
from paypalserversdk.models.payment_source import PaymentSource
from paypalserversdk.models.paypal_wallet import PaypalWallet
from paypalserversdk.models.paypal_wallet_experience_context import (
    PaypalWalletExperienceContext,
)
from paypalserversdk.models.purchase_unit_request import PurchaseUnitRequest
from shop_fakes.paypal import FakePayPal

from shop.plugins.payments.paypal_sdk import paypal_client, verify_webhook

RETURN_URL = "http://shop.test/checkout/paypal/return?order=12"
CANCEL_URL = "http://shop.test/checkout/paypal/cancel"


class Receiver:
    """The shop's webhook endpoint: records what arrives and answers 200."""

    def __init__(self) -> None:
        self.received: list[tuple[dict[str, str], bytes]] = []
        received = self.received

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                received.append((dict(self.headers.items()), body))
                self.send_response(200)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/webhooks/paypal"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()


@pytest.fixture(scope="module")
def fake() -> Iterator[FakePayPal]:
    # One fake for the module: stopping a server waits out its 0.5 s poll interval.
    fake = FakePayPal()
    fake.start()
    yield fake
    fake.stop()


@pytest.fixture(scope="module")
def client(fake: FakePayPal) -> Any:
    return paypal_client(fake.base_url, fake.client_id, fake.client_secret)


@pytest.fixture
def receiver(fake: FakePayPal) -> Iterator[Receiver]:
    """Webhooks go to a fresh receiver during the test (and nowhere outside it)."""
    receiver = Receiver()
    fake.webhook_url = receiver.url
    yield receiver
    fake.webhook_url = None
    receiver.server.shutdown()
    receiver.server.server_close()


def order_request(currency: str = "EUR", value: str = "120.00") -> OrderRequest:
    """The order the shop's plugin creates: one unit, the shop's order id, PayPal wallet."""
    return OrderRequest(
        intent=CheckoutPaymentIntent.CAPTURE,
        purchase_units=[
            PurchaseUnitRequest(
                amount=AmountWithBreakdown(currency_code=currency, value=value),
                reference_id="12",
                custom_id="12",
                invoice_id="12",
                description="Licence shop order 12",
            )
        ],
        payment_source=PaymentSource(
            paypal=PaypalWallet(
                experience_context=PaypalWalletExperienceContext(
                    brand_name="Licence Shop",
                    locale="nl-NL",
                    shipping_preference="NO_SHIPPING",
                    user_action="PAY_NOW",
                    return_url=RETURN_URL,
                    cancel_url=CANCEL_URL,
                )
            )
        ),
    )


def create(client: Any, request_id: str = "", **kwargs: str) -> Any:
    """Create an order through the SDK; a fresh PayPal-Request-Id unless one is given."""
    return client.orders.create_order(
        {
            "body": order_request(**kwargs),
            "paypal_request_id": request_id or str(uuid.uuid4()),
            "prefer": "return=representation",
        }
    ).body


def link(order: Any, rel: str) -> str:
    return next(str(item.href) for item in order.links if item.rel == rel)


def raw(
    fake: FakePayPal, method: str, path: str, body: bytes = b"", **headers: str
) -> http.client.HTTPResponse:
    """A plain HTTP call (no redirects followed), as a browser or a forger would send."""
    connection = http.client.HTTPConnection(urlsplit(fake.base_url).netloc, timeout=5)
    connection.request(method, path, body=body, headers=headers)
    response = connection.getresponse()
    response.read()  # cached on the response: .read() again gives b""
    return response


def post_form(fake: FakePayPal, path: str, **fields: str) -> tuple[int, dict[str, str], str]:
    connection = http.client.HTTPConnection(urlsplit(fake.base_url).netloc, timeout=5)
    connection.request(
        "POST",
        path,
        body=urlencode(fields),
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    response = connection.getresponse()
    return response.status, dict(response.getheaders()), response.read().decode()


def get_page(fake: FakePayPal, path: str) -> tuple[int, str]:
    connection = http.client.HTTPConnection(urlsplit(fake.base_url).netloc, timeout=5)
    connection.request("GET", path)
    response = connection.getresponse()
    return response.status, response.read().decode()


# OAuth ------------------------------------------------------------------------------------


def test_token_needs_the_client_credentials(fake: FakePayPal) -> None:
    wrong = paypal_client(fake.base_url, fake.client_id, "wrong-secret")
    # The SDK swallows the token endpoint's 401 and reports a missing token instead.
    before = len(fake.orders)
    with pytest.raises(AuthValidationException):
        wrong.orders.create_order({"body": order_request()})
    assert len(fake.orders) == before

    connection = http.client.HTTPConnection(urlsplit(fake.base_url).netloc, timeout=5)
    connection.request(
        "POST",
        "/v1/oauth2/token",
        body="grant_type=client_credentials",
        headers={"Authorization": "Basic Zm9vOmJhcg==", "Content-Type": "text/plain"},
    )
    response = connection.getresponse()
    assert response.status == 401
    assert json.loads(response.read())["error"] == "invalid_client"


def test_api_calls_need_an_issued_bearer_token(fake: FakePayPal) -> None:
    for headers in ({}, {"Authorization": "Bearer A21AAmadeup"}):
        connection = http.client.HTTPConnection(urlsplit(fake.base_url).netloc, timeout=5)
        connection.request("POST", "/v2/checkout/orders", body=b"{}", headers=headers)
        response = connection.getresponse()
        assert response.status == 401
        assert json.loads(response.read())["name"] == "AUTHENTICATION_FAILURE"


# Orders -----------------------------------------------------------------------------------


def test_create_order_asks_for_the_buyer_and_honours_the_request_id(
    fake: FakePayPal, client: Any
) -> None:
    order = create(client, request_id="order-12-attempt-1")
    assert len(order.id) == 17 and order.id.isalnum() and order.id.isupper()
    assert order.status == "PAYER_ACTION_REQUIRED"
    assert link(order, "payer-action") == f"{fake.base_url}/checkoutnow?token={order.id}"
    unit = order.purchase_units[0]
    assert (unit.custom_id, unit.invoice_id, unit.reference_id) == ("12", "12", "12")
    assert (unit.amount.currency_code, unit.amount.value) == ("EUR", "120.00")

    retry = create(client, request_id="order-12-attempt-1")
    assert retry.id == order.id  # a retry with the same PayPal-Request-Id
    assert create(client, request_id="order-12-attempt-2").id != order.id

    fetched = client.orders.get_order({"id": order.id}).body
    assert fetched.status == "PAYER_ACTION_REQUIRED"
    assert fetched.purchase_units[0].description == "Licence shop order 12"


def test_minimal_create_and_the_older_application_context(fake: FakePayPal, client: Any) -> None:
    response = client.orders.create_order(
        {
            "body": OrderRequest(
                intent=CheckoutPaymentIntent.CAPTURE,
                purchase_units=[
                    PurchaseUnitRequest(
                        amount=AmountWithBreakdown(currency_code="JPY", value="1500")
                    )
                ],
                application_context=OrderApplicationContext(
                    return_url=RETURN_URL, cancel_url=CANCEL_URL
                ),
            )
        }
    )
    order = response.body
    assert response.status_code == 201
    assert order.status == "CREATED"
    assert not hasattr(order, "purchase_units")  # Prefer: return=minimal, PayPal's default
    assert link(order, "approve") == f"{fake.base_url}/checkoutnow?token={order.id}"

    approved = fake.approve(order.id, "someone@example.com")
    assert approved["payer"]["email_address"] == "someone@example.com"
    assert client.orders.get_order({"id": order.id}).body.status == "APPROVED"


def test_approve_and_capture(fake: FakePayPal, client: Any) -> None:
    order = create(client)
    with pytest.raises(ErrorException) as not_approved:
        client.orders.capture_order({"id": order.id, "paypal_request_id": "capture-12"})
    assert not_approved.value.response_code == 422
    assert not_approved.value.details[0].issue == "ORDER_NOT_APPROVED"

    fake.approve(order.id)
    captured = client.orders.capture_order(
        {"id": order.id, "paypal_request_id": "capture-12", "prefer": "return=representation"}
    )
    assert captured.status_code == 201
    assert captured.body.status == "COMPLETED"
    capture = captured.body.purchase_units[0].payments.captures[0]
    assert capture.status == "COMPLETED"
    assert (capture.amount.currency_code, capture.amount.value) == ("EUR", "120.00")
    assert (capture.custom_id, capture.invoice_id, capture.final_capture) == ("12", "12", True)
    breakdown = capture.seller_receivable_breakdown
    assert breakdown.gross_amount.value == "120.00"
    assert breakdown.paypal_fee.value == "4.54"  # 3.49% + 0.35
    assert breakdown.net_amount.value == "115.46"
    assert captured.body.payer.email_address == "buyer@example.com"
    assert fake.orders[order.id]["status"] == "COMPLETED"

    # A retry with the same request id gets the same capture, not an error...
    retried = client.orders.capture_order({"id": order.id, "paypal_request_id": "capture-12"})
    assert retried.status_code == 200
    assert retried.body.purchase_units[0].payments.captures[0].id == capture.id
    # ...a second capture is refused.
    with pytest.raises(ErrorException) as twice:
        client.orders.capture_order({"id": order.id, "paypal_request_id": "capture-12-again"})
    assert twice.value.response_code == 422
    assert twice.value.name == "UNPROCESSABLE_ENTITY"
    assert twice.value.details[0].issue == "ORDER_ALREADY_CAPTURED"

    fetched = client.orders.get_order({"id": order.id}).body
    assert fetched.purchase_units[0].payments.captures[0].id == capture.id


def test_unknown_order_is_404(client: Any) -> None:
    with pytest.raises(ErrorException) as missing:
        client.orders.get_order({"id": "NOSUCHORDER000000"})
    assert missing.value.response_code == 404
    assert missing.value.details[0].issue == "INVALID_RESOURCE_ID"


@pytest.mark.parametrize(
    ("currency", "value", "issue"),
    [
        ("DZD", "120.00", "CURRENCY_NOT_SUPPORTED"),
        ("JPY", "1500.50", "DECIMAL_PRECISION"),
        ("EUR", "0.00", "CANNOT_BE_ZERO_OR_NEGATIVE"),
    ],
)
def test_create_order_refuses(
    fake: FakePayPal, client: Any, currency: str, value: str, issue: str
) -> None:
    before = len(fake.orders)
    with pytest.raises(ErrorException) as refused:
        create(client, currency=currency, value=value)
    assert refused.value.response_code == 422
    assert refused.value.name == "UNPROCESSABLE_ENTITY"
    assert refused.value.details[0].issue == issue
    assert refused.value.debug_id
    assert len(fake.orders) == before


# The buyer's page -------------------------------------------------------------------------


def test_checkout_page_approves_and_returns_to_the_shop(fake: FakePayPal, client: Any) -> None:
    order = create(client)
    status, page = get_page(fake, f"/checkoutnow?token={order.id}")
    assert status == 200
    assert "PayPal — TEST MODE (fake PayPal on 127.0.0.1)" in page
    assert "120.00 EUR" in page and "Licence Shop" in page
    assert 'name="login_email"' in page and 'value="buyer@example.com"' in page
    assert 'name="login_password"' in page and "test password: any" in page
    assert 'id="payment-submit-btn"' in page and "Pay now" in page

    status, _, page = post_form(
        fake, "/checkoutnow", token=order.id, login_email="buyer@example.com", login_password=""
    )
    assert status == 200 and 'role="alert"' in page
    assert fake.orders[order.id]["status"] == "PAYER_ACTION_REQUIRED"

    status, headers, _ = post_form(
        fake, "/checkoutnow", token=order.id, login_email="b@example.com", login_password="x"
    )
    assert status == 303
    location = urlsplit(headers["Location"])
    query = parse_qs(location.query)
    assert location._replace(query="").geturl() == RETURN_URL.split("?")[0]
    assert query["order"] == ["12"] and query["token"] == [order.id]
    payer = fake.orders[order.id]["payer"]
    assert query["PayerID"] == [payer["payer_id"]]
    assert payer["email_address"] == "b@example.com" and payer["name"]["surname"]
    assert fake.orders[order.id]["status"] == "APPROVED"


def test_cancel_returns_to_the_shop(fake: FakePayPal, client: Any) -> None:
    order = create(client)
    connection = http.client.HTTPConnection(urlsplit(fake.base_url).netloc, timeout=5)
    connection.request("GET", f"/checkoutnow/cancel?token={order.id}")
    response = connection.getresponse()
    assert response.status == 303
    assert response.headers["Location"] == f"{CANCEL_URL}?token={order.id}"
    assert fake.orders[order.id]["status"] == "PAYER_ACTION_REQUIRED"


# Webhooks ---------------------------------------------------------------------------------


def test_webhooks_arrive_signed_and_verify(
    fake: FakePayPal, client: Any, receiver: Receiver
) -> None:
    before = len(fake.deliveries)
    order = create(client)
    fake.approve(order.id)
    capture = client.orders.capture_order({"id": order.id}).body
    capture_id = capture.purchase_units[0].payments.captures[0].id
    deliveries = fake.wait_for_deliveries(before + 2, timeout=5)[before:]
    assert [d.status for d in deliveries] == [200, 200]

    events = [json.loads(body) for _, body in receiver.received]
    assert [e["event_type"] for e in events] == [
        "CHECKOUT.ORDER.APPROVED",
        "PAYMENT.CAPTURE.COMPLETED",
    ]
    completed = events[1]
    assert completed["resource_type"] == "capture"
    assert completed["resource"]["id"] == capture_id
    assert completed["resource"]["custom_id"] == "12"
    assert completed["resource"]["supplementary_data"]["related_ids"]["order_id"] == order.id

    headers, body = receiver.received[1]
    headers = {name.lower(): value for name, value in headers.items()}  # urllib: "Paypal-auth-algo"
    assert headers["paypal-auth-algo"] == "SHA256withRSA"
    assert verify_webhook(client, headers, body, fake.webhook_id)
    tampered = body.replace(b'"120.00"', b'"1.00"')
    assert tampered != body
    assert not verify_webhook(client, headers, tampered, fake.webhook_id)
    assert not verify_webhook(client, headers, body, "WH-SOMEONE-ELSE")
    forged = {**headers, "paypal-transmission-time": "2020-01-01T00:00:00Z"}
    assert not verify_webhook(client, forged, body, fake.webhook_id)
    assert not verify_webhook(client, {"Content-Type": "application/json"}, body, "WH-FAKE-1")


def test_signed_event_for_replay_and_tampering(
    fake: FakePayPal, client: Any, receiver: Receiver
) -> None:
    body, headers = fake.signed_event("PAYMENT.CAPTURE.COMPLETED", {"id": "CAPTURE1"})
    lower = {name.lower(): value for name, value in headers.items()}  # as a framework gives
    assert verify_webhook(client, lower, body, fake.webhook_id)
    # Re-serialised differently but the same event: PayPal compares the event, still fine.
    spaced = json.dumps(json.loads(body), indent=2).encode()
    assert verify_webhook(client, headers, spaced, fake.webhook_id)
    other_sig = {**headers, "PAYPAL-TRANSMISSION-SIG": headers["PAYPAL-TRANSMISSION-SIG"][::-1]}
    assert not verify_webhook(client, other_sig, body, fake.webhook_id)

    before = len(fake.deliveries)
    delivery = fake.send_event("CHECKOUT.ORDER.APPROVED", {"id": "ORDER1"})
    assert delivery is not None
    fake.wait_for_deliveries(before + 1, timeout=5)
    assert delivery.status == 200
    assert json.loads(receiver.received[0][1])["resource"] == {"id": "ORDER1"}
