"""A fake PayPal: OAuth, Orders v2, the buyer's approval page and signed webhooks.

It speaks PayPal's REST shapes for the calls the shop makes, so the real ``paypalserversdk``
runs against it (``shop.plugins.payments.paypal_sdk.paypal_client(fake.base_url, ...)``):

- ``POST /v1/oauth2/token``: client credentials (HTTP Basic) for a Bearer token, which every
  other API call needs;
- ``POST /v2/checkout/orders``, ``GET /v2/checkout/orders/{id}``,
  ``POST /v2/checkout/orders/{id}/capture``, honouring ``PayPal-Request-Id`` and ``Prefer``;
- ``GET/POST /checkoutnow?token=ID``: the page the buyer approves the order on (any
  non-empty password), which sends them back to the shop's ``return_url``;
- ``POST /v1/notifications/verify-webhook-signature``: SUCCESS only for transmissions this
  fake really signed, with exactly that signature, time, webhook id and event.

Webhooks (``CHECKOUT.ORDER.APPROVED``, ``PAYMENT.CAPTURE.COMPLETED``) carry PayPal's headers
and are signed with an HMAC over PayPal's real string to sign,
``transmission_id|transmission_time|webhook_id|crc32(body)``, so a changed body or header no
longer verifies. (PayPal signs with an RSA certificate instead; the shop never checks that
itself but asks the verify endpoint, as PayPal recommends.)
"""

from __future__ import annotations

import base64
import binascii
import copy
import hashlib
import hmac
import html
import json
import re
import secrets
import string
import threading
import time
import uuid
import zlib
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import ROUND_HALF_UP, Decimal
from typing import Any
from urllib.parse import urlencode, urlsplit, urlunsplit

from shop_fakes.base import Delivery, FakeServer, Request, Response

# PayPal's REST currencies (developer.paypal.com/api/rest/reference/currency-codes); the
# last three take no decimals.
CURRENCIES = frozenset(
    {"AUD", "BRL", "CAD", "CNY", "CZK", "DKK", "EUR", "HKD", "ILS", "MYR", "MXN", "NZD"}
    | {"NOK", "PHP", "PLN", "GBP", "SGD", "SEK", "CHF", "THB", "USD", "HUF", "JPY", "TWD"}
)
ZERO_DECIMAL_CURRENCIES = frozenset({"HUF", "JPY", "TWD"})

TOKEN_LIFETIME = 32400  # seconds, as PayPal's tokens
MERCHANT_ID = "FAKEMERCHANT1"
MERCHANT_EMAIL = "merchant@example.com"
ERRORS_DOC = "https://developer.paypal.com/api/rest/reference/orders/v2/errors/"
UNPROCESSABLE = (
    "The requested action could not be performed, semantically incorrect, "
    "or failed business validation."
)
INVALID_REQUEST = "Request is not well-formed, syntactically incorrect, or violates schema."

_ALNUM = string.ascii_uppercase + string.digits
_ORDER_PATH = re.compile(r"/v2/checkout/orders/([A-Za-z0-9-]+)(/capture)?")
_VERIFY_FIELDS = (
    "auth_algo",
    "cert_url",
    "transmission_id",
    "transmission_sig",
    "transmission_time",
    "webhook_id",
    "webhook_event",
)
_AMOUNT = re.compile(r"\d{1,10}(\.\d+)?")
# The fields of a purchase unit the fake keeps and echoes back, besides reference_id and
# amount (payee and payments are PayPal's own).
_UNIT_FIELDS = ("description", "custom_id", "invoice_id", "soft_descriptor")


def _paypal_id(length: int = 17) -> str:
    """An id in PayPal's style: 17 upper-case letters and digits (orders, captures)."""
    return "".join(secrets.choice(_ALNUM) for _ in range(length))


def _now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _with_query(url: str, **params: str) -> str:
    """``url`` with ``params`` added to whatever query it already has."""
    parts = urlsplit(url)
    query = "&".join(filter(None, [parts.query, urlencode(params)]))
    return urlunsplit(parts._replace(query=query))


@dataclass(frozen=True)
class _Transmission:
    """A webhook as this fake signed it: what verify-webhook-signature checks against."""

    time: str
    signature: str
    webhook_id: str
    event: Any  # the body as parsed JSON: a re-serialised event still matches


@dataclass
class _Experience:
    """What the shop asked of the buyer's page (``experience_context``/``application_context``)."""

    return_url: str = ""
    cancel_url: str = ""
    brand_name: str = ""
    locale: str = ""
    user_action: str = "CONTINUE"


class _Fail(Exception):
    """Raised inside a handler to answer with a PayPal error response."""

    def __init__(self, response: Response) -> None:
        super().__init__(response.status)
        self.response = response


def _error(
    status: int,
    name: str,
    message: str,
    issue: str | None = None,
    description: str = "",
    field: str | None = None,
    value: str | None = None,
    location: str = "body",
) -> _Fail:
    """PayPal's error shape: name, message, debug_id, details[{issue, ...}], links."""
    debug_id = secrets.token_hex(7)[:13]
    data: dict[str, Any] = {"name": name, "message": message, "debug_id": debug_id}
    if issue:
        detail: dict[str, Any] = {"issue": issue, "description": description or issue}
        if field is not None:
            detail.update(field=field, value=value or "", location=location)
        data["details"] = [detail]
        data["links"] = [
            {"href": f"{ERRORS_DOC}#{issue}", "rel": "information_link", "method": "GET"}
        ]
    else:
        data["links"] = []
    return _Fail(Response.json(data, status, **{"Paypal-Debug-Id": debug_id}))


class FakePayPal(FakeServer):
    """PayPal's REST API and checkout page on 127.0.0.1 (see the module docstring)."""

    def __init__(
        self,
        port: int = 0,
        webhook_url: str | None = None,
        client_id: str = "fake-client-id",
        client_secret: str = "fake-client-secret",
        webhook_id: str = "WH-FAKE-1",
    ) -> None:
        super().__init__(port, webhook_url)
        self.client_id = client_id
        self.client_secret = client_secret
        self.webhook_id = webhook_id
        # Orders as GET /v2/checkout/orders/{id} shows them, without the links (they follow
        # from the status). Read freely in tests; the server changes them under _state.
        self.orders: dict[str, dict[str, Any]] = {}
        self._state = threading.RLock()
        self._experiences: dict[str, _Experience] = {}
        self._tokens: dict[str, float] = {}  # access token -> expiry (time.monotonic)
        self._idempotency: dict[tuple[str, str], str] = {}  # (path, request id) -> order id
        self._transmissions: dict[str, _Transmission] = {}
        self._signing_key = secrets.token_bytes(32)

    @property
    def cert_url(self) -> str:
        return f"{self.base_url}/v1/notifications/certs/CERT-FAKE"

    # Test helpers ---------------------------------------------------------------------

    def approve(self, order_id: str, email: str = "buyer@example.com") -> dict[str, Any]:
        """Approve an order as the buyer's click on the checkout page does; return it.

        Raises KeyError for an unknown order, ValueError for one already captured.
        """
        with self._state:
            order = self.orders[order_id]
            if order["status"] == "COMPLETED":
                raise ValueError(f"order {order_id} is already captured")
            payer_id = self._payer_id(email)
            region = self._experiences[order_id].locale.partition("-")[2].upper()
            name = {"given_name": "John", "surname": "Doe"}  # PayPal's sandbox buyers' name
            address = {"country_code": region or "US"}
            order["payer"] = {
                "name": name,
                "email_address": email,
                "payer_id": payer_id,
                "address": address,
            }
            order["payment_source"] = {
                "paypal": {
                    "email_address": email,
                    "account_id": payer_id,
                    "account_status": "VERIFIED",
                    "name": name,
                    "address": address,
                }
            }
            order["status"] = "APPROVED"
            order["update_time"] = _now()
            rendered = self._render(order)
        self.send_event("CHECKOUT.ORDER.APPROVED", rendered)
        return rendered

    def signed_event(
        self, event_type: str, resource: dict[str, Any]
    ) -> tuple[bytes, dict[str, str]]:
        """A webhook as PayPal would send it: the JSON body and its signed headers.

        The transmission is remembered, so verify-webhook-signature accepts it (unchanged).
        """
        event = {
            "id": f"WH-{_paypal_id()}-{_paypal_id()}",
            "create_time": _now(),
            "resource_type": _resource_type(event_type),
            "event_type": event_type,
            "summary": _summary(event_type, resource),
            "resource": resource,
            "event_version": "1.0",
            "resource_version": "2.0",
            "links": [],
        }
        body = json.dumps(event).encode()
        transmission_id = str(uuid.uuid1())  # PayPal's transmission ids are time-based UUIDs
        transmission_time = _now()
        signature = self._sign(transmission_id, transmission_time, self.webhook_id, body)
        with self._state:
            self._transmissions[transmission_id] = _Transmission(
                transmission_time, signature, self.webhook_id, event
            )
        headers = {
            "Content-Type": "application/json",
            "PAYPAL-TRANSMISSION-ID": transmission_id,
            "PAYPAL-TRANSMISSION-TIME": transmission_time,
            "PAYPAL-TRANSMISSION-SIG": signature,
            "PAYPAL-CERT-URL": self.cert_url,
            "PAYPAL-AUTH-ALGO": "SHA256withRSA",
        }
        return body, headers

    def send_event(self, event_type: str, resource: dict[str, Any]) -> Delivery | None:
        """Sign an event and queue it for the shop; None when no webhook_url is set.

        The returned delivery gets its ``status`` once the shop answered (see
        ``wait_for_deliveries``).
        """
        body, headers = self.signed_event(event_type, resource)
        if not self.webhook_url:
            return None
        # What base.send_webhook does, keeping hold of the Delivery for the caller.
        delivery = Delivery(self.webhook_url, body, headers)
        self._outbox.put(delivery)
        return delivery

    # Routing --------------------------------------------------------------------------

    def handle(self, request: Request) -> Response:
        path = request.path.rstrip("/") or "/"
        try:
            if path == "/checkoutnow":
                if request.method == "POST":
                    return self._checkout_submit(request)
                return self._checkout_page(_first(request.query, "token"))
            if path == "/checkoutnow/cancel":
                return self._checkout_cancel(_first(request.query, "token"))
            if path == "/v1/oauth2/token" and request.method == "POST":
                return self._token(request)
            if path.startswith("/v1/notifications/certs/"):
                # Named in PAYPAL-CERT-URL; this fake signs with an HMAC, not a certificate.
                text = b"fake PayPal: verify through the API instead\n"
                return Response(200, text, {"Content-Type": "text/plain"})
            if path.startswith(("/v1/", "/v2/")):
                self._authenticate(request)
                return self._api(request, path)
            raise _error(404, "RESOURCE_NOT_FOUND", f"No route for {request.method} {path}.")
        except _Fail as failure:
            return failure.response

    def _api(self, request: Request, path: str) -> Response:
        if path == "/v2/checkout/orders" and request.method == "POST":
            return self._create_order(request)
        if path == "/v1/notifications/verify-webhook-signature" and request.method == "POST":
            return self._verify_signature(request)
        match = _ORDER_PATH.fullmatch(path)
        if match and request.method == "GET" and not match[2]:
            with self._state:
                return Response.json(self._render(self._order(match[1])))
        if match and request.method == "POST" and match[2]:
            return self._capture(request, match[1])
        raise _error(404, "RESOURCE_NOT_FOUND", f"No route for {request.method} {path}.")

    # OAuth ----------------------------------------------------------------------------

    def _token(self, request: Request) -> Response:
        scheme, _, encoded = request.headers.get("authorization", "").partition(" ")
        try:
            credentials = base64.b64decode(encoded, validate=True).decode()
        except (binascii.Error, UnicodeDecodeError):
            credentials = ""
        if scheme.lower() != "basic" or not hmac.compare_digest(
            credentials, f"{self.client_id}:{self.client_secret}"
        ):
            return Response.json(
                {"error": "invalid_client", "error_description": "Client Authentication failed"},
                401,
            )
        if _first(request.form(), "grant_type") != "client_credentials":
            return Response.json(
                {"error": "unsupported_grant_type", "error_description": "Grant Type is NULL"},
                400,
            )
        token = "A21AA" + secrets.token_urlsafe(72)
        with self._state:
            self._tokens[token] = time.monotonic() + TOKEN_LIFETIME
        return Response.json(
            {
                "scope": "https://uri.paypal.com/services/payments/payment "
                "https://uri.paypal.com/services/applications/webhooks openid",
                "access_token": token,
                "token_type": "Bearer",
                "app_id": "APP-FAKE",
                "expires_in": TOKEN_LIFETIME,
                "nonce": f"{_now()}{secrets.token_urlsafe(32)}",
            }
        )

    def _authenticate(self, request: Request) -> None:
        scheme, _, token = request.headers.get("authorization", "").partition(" ")
        with self._state:
            expiry = self._tokens.get(token) if scheme.lower() == "bearer" else None
        if expiry is None or expiry < time.monotonic():
            raise _error(
                401,
                "AUTHENTICATION_FAILURE",
                "Authentication failed due to invalid authentication credentials or a "
                "missing Authorization header.",
            )

    # Orders ---------------------------------------------------------------------------

    def _create_order(self, request: Request) -> Response:
        representation = "return=representation" in request.headers.get("prefer", "")
        request_id = request.headers.get("paypal-request-id")
        with self._state:
            # PayPal-Request-Id makes a retry safe: the same id answers with the same order.
            replayed = request_id and self._idempotency.get((request.path, request_id))
            if replayed:
                return self._order_response(self.orders[replayed], representation, 200)
            order, experience = self._new_order(request)
            self.orders[order["id"]] = order
            self._experiences[order["id"]] = experience
            if request_id:
                self._idempotency[(request.path, request_id)] = order["id"]
            return self._order_response(order, representation, 201)

    def _new_order(self, request: Request) -> tuple[dict[str, Any], _Experience]:
        try:
            data = request.json()
        except ValueError:
            data = None
        if not isinstance(data, dict):
            raise _error(400, "INVALID_REQUEST", INVALID_REQUEST, "MALFORMED_REQUEST_JSON")
        intent = data.get("intent")
        if intent not in ("CAPTURE", "AUTHORIZE"):
            issue = "MISSING_REQUIRED_PARAMETER" if intent is None else "INVALID_PARAMETER_VALUE"
            raise _error(400, "INVALID_REQUEST", INVALID_REQUEST, issue, field="/intent")
        units = data.get("purchase_units")
        if not isinstance(units, list) or not 1 <= len(units) <= 10:
            raise _error(
                400,
                "INVALID_REQUEST",
                INVALID_REQUEST,
                "MISSING_REQUIRED_PARAMETER",
                field="/purchase_units",
            )
        purchase_units = [_purchase_unit(unit, len(units)) for unit in units]
        paypal = (data.get("payment_source") or {}).get("paypal")
        context = (paypal or {}).get("experience_context") or data.get("application_context")
        context = context or {}
        experience = _Experience(
            return_url=str(context.get("return_url", "")),
            cancel_url=str(context.get("cancel_url", "")),
            brand_name=str(context.get("brand_name", "")),
            locale=str(context.get("locale", "")),
            user_action=str(context.get("user_action", "CONTINUE")),
        )
        order: dict[str, Any] = {"id": _paypal_id(), "intent": intent}
        if paypal is not None:
            # With a PayPal payment source PayPal asks for the buyer at once ("payer-action");
            # the older application_context flow leaves the order CREATED ("approve").
            order["payment_source"] = {"paypal": {}}
            order["status"] = "PAYER_ACTION_REQUIRED"
        else:
            order["status"] = "CREATED"
        order["purchase_units"] = purchase_units
        order["create_time"] = _now()
        return order, experience

    def _order_response(self, order: dict[str, Any], full: bool, status: int) -> Response:
        """``Prefer: return=minimal`` (PayPal's default) is id, status and links only."""
        rendered = self._render(order)
        if not full:
            keep = ("id", "status", "payment_source", "links")
            rendered = {key: rendered[key] for key in keep if key in rendered}
        return Response.json(rendered, status)

    def _capture(self, request: Request, order_id: str) -> Response:
        request_id = request.headers.get("paypal-request-id")
        with self._state:
            order = self._order(order_id)
            if request_id and self._idempotency.get((request.path, request_id)) == order_id:
                return Response.json(self._render(order), 200)  # a retry of a capture
            if order["status"] == "COMPLETED":
                raise _error(
                    422,
                    "UNPROCESSABLE_ENTITY",
                    UNPROCESSABLE,
                    "ORDER_ALREADY_CAPTURED",
                    "Order already captured.If 'intent=CAPTURE' only one capture per order "
                    "is allowed.",
                )
            if order["status"] != "APPROVED":
                raise _error(
                    422,
                    "UNPROCESSABLE_ENTITY",
                    UNPROCESSABLE,
                    "ORDER_NOT_APPROVED",
                    "Payer has not yet approved the Order for payment. Please redirect the "
                    "payer to the 'rel':'approve' url returned as part of the HATEOAS links "
                    "within the Create Order call or provide a valid payment_source in the "
                    "request.",
                )
            if order["intent"] != "CAPTURE":
                raise _error(
                    422,
                    "UNPROCESSABLE_ENTITY",
                    UNPROCESSABLE,
                    "ACTION_DOES_NOT_MATCH_INTENT",
                    "Order was created with an intent to 'AUTHORIZE'. Please use "
                    "v2/checkout/orders/order_id/authorize to complete the transaction.",
                )
            captures = [self._capture_unit(unit, order_id) for unit in order["purchase_units"]]
            order["status"] = "COMPLETED"
            order["update_time"] = _now()
            if request_id:
                self._idempotency[(request.path, request_id)] = order_id
            response = Response.json(self._render(order), 201)
        for capture in captures:
            resource = copy.deepcopy(capture)
            resource["supplementary_data"] = {"related_ids": {"order_id": order_id}}
            resource["payee"] = {"email_address": MERCHANT_EMAIL, "merchant_id": MERCHANT_ID}
            self.send_event("PAYMENT.CAPTURE.COMPLETED", resource)
        return response

    def _capture_unit(self, unit: dict[str, Any], order_id: str) -> dict[str, Any]:
        amount = unit["amount"]
        currency = amount["currency_code"]
        gross = Decimal(amount["value"])
        step = Decimal(1) if currency in ZERO_DECIMAL_CURRENCIES else Decimal("0.01")
        # Roughly PayPal's European rate: 3.49% plus a fixed fee, never above the amount.
        fee = min(
            gross, (gross * Decimal("0.0349") + Decimal("0.35")).quantize(step, ROUND_HALF_UP)
        )
        capture_id = _paypal_id()
        now = _now()
        api = f"{self.base_url}/v2/payments/captures/{capture_id}"
        capture: dict[str, Any] = {
            "id": capture_id,
            "status": "COMPLETED",
            "amount": dict(amount),
            "final_capture": True,
            "seller_protection": {
                "status": "ELIGIBLE",
                "dispute_categories": ["ITEM_NOT_RECEIVED", "UNAUTHORIZED_TRANSACTION"],
            },
            "seller_receivable_breakdown": {
                "gross_amount": {"currency_code": currency, "value": str(gross.quantize(step))},
                "paypal_fee": {"currency_code": currency, "value": str(fee)},
                "net_amount": {"currency_code": currency, "value": str(gross - fee)},
            },
            "links": [
                {"href": api, "rel": "self", "method": "GET"},
                {"href": f"{api}/refund", "rel": "refund", "method": "POST"},
                {
                    "href": f"{self.base_url}/v2/checkout/orders/{order_id}",
                    "rel": "up",
                    "method": "GET",
                },
            ],
            "create_time": now,
            "update_time": now,
        }
        for field in ("custom_id", "invoice_id"):
            if field in unit:
                capture[field] = unit[field]
        unit["payments"] = {"captures": [capture]}
        return capture

    def _order(self, order_id: str) -> dict[str, Any]:
        order = self.orders.get(order_id)
        if order is None:
            raise _error(
                404,
                "RESOURCE_NOT_FOUND",
                "The specified resource does not exist.",
                "INVALID_RESOURCE_ID",
                "Specified resource ID does not exist. Please check the resource ID and try again.",
                field="order_id",
                value=order_id,
                location="path",
            )
        return order

    def _render(self, order: dict[str, Any]) -> dict[str, Any]:
        """A copy of the order with the HATEOAS links for its status."""
        rendered = copy.deepcopy(order)
        api = f"{self.base_url}/v2/checkout/orders/{order['id']}"
        links = [{"href": api, "rel": "self", "method": "GET"}]
        checkout = f"{self.base_url}/checkoutnow?token={order['id']}"
        if order["status"] == "PAYER_ACTION_REQUIRED":
            links.append({"href": checkout, "rel": "payer-action", "method": "GET"})
        elif order["status"] == "CREATED":
            links.append({"href": checkout, "rel": "approve", "method": "GET"})
        if order["status"] in ("CREATED", "APPROVED"):
            links.append({"href": f"{api}/capture", "rel": "capture", "method": "POST"})
        rendered["links"] = links
        return rendered

    # Webhook verification -------------------------------------------------------------

    def _sign(self, transmission_id: str, when: str, webhook_id: str, body: bytes) -> str:
        message = f"{transmission_id}|{when}|{webhook_id}|{zlib.crc32(body)}"
        digest = hmac.new(self._signing_key, message.encode(), hashlib.sha256).digest()
        return base64.b64encode(digest).decode()

    def _verify_signature(self, request: Request) -> Response:
        try:
            data = request.json()
        except ValueError:
            data = None
        missing = [f for f in _VERIFY_FIELDS if not isinstance(data, dict) or not data.get(f)]
        if missing or not isinstance(data, dict):
            raise _error(
                400,
                "VALIDATION_ERROR",
                "Invalid request - see details",
                "Required field cannot be blank",
                field=missing[0] if missing else "",
            )
        with self._state:
            sent = self._transmissions.get(str(data["transmission_id"]))
        genuine = (
            sent is not None
            and hmac.compare_digest(str(data["transmission_sig"]), sent.signature)
            and data["transmission_time"] == sent.time
            and data["webhook_id"] == sent.webhook_id == self.webhook_id
            and data["auth_algo"] == "SHA256withRSA"
            and data["cert_url"] == self.cert_url
            and data["webhook_event"] == sent.event
        )
        return Response.json({"verification_status": "SUCCESS" if genuine else "FAILURE"})

    # The buyer's checkout page --------------------------------------------------------

    def _checkout_page(self, token: str, error: str = "", email: str = "") -> Response:
        with self._state:
            order = self.orders.get(token)
            experience = self._experiences.get(token)
        if order is None or experience is None:
            return _page("Checkout not found", "<p>This checkout session does not exist.</p>", 404)
        unit = order["purchase_units"][0]
        merchant = html.escape(experience.brand_name or "the merchant")
        amount = _display_amount(order)
        description = html.escape(str(unit.get("description", "")))
        summary = f"""
<p class="merchant">Pay {merchant}</p>
<p class="amount">{html.escape(amount)}</p>
{f'<p class="description">{description}</p>' if description else ""}"""
        if order["status"] == "COMPLETED":
            return _page("Already paid", summary + "<p>This order has already been paid.</p>")
        button = "Pay now" if experience.user_action == "PAY_NOW" else "Continue"
        alert = f'<p class="error" role="alert">{html.escape(error)}</p>' if error else ""
        cancel = f"/checkoutnow/cancel?{urlencode({'token': token})}"
        body = f"""{summary}
{alert}
<form method="post" action="/checkoutnow">
  <input type="hidden" name="token" value="{html.escape(token)}">
  <label for="login_email">Email</label>
  <input id="login_email" name="login_email" type="email" autocomplete="username"
         value="{html.escape(email or "buyer@example.com")}">
  <label for="login_password">Password</label>
  <input id="login_password" name="login_password" type="password"
         autocomplete="current-password" aria-describedby="password-hint">
  <p id="password-hint" class="hint">Sandbox buyer — test password: any</p>
  <button id="payment-submit-btn" type="submit">{button}</button>
</form>
<p><a class="cancel" href="{html.escape(cancel)}">Cancel and return to {merchant}</a></p>"""
        return _page("Log in to pay", body)

    def _checkout_submit(self, request: Request) -> Response:
        form = request.form()
        token = _first(form, "token")
        email = _first(form, "login_email").strip()
        if not _first(form, "login_password") or not email:
            return self._checkout_page(token, "Enter your email and password.", email)
        with self._state:
            order = self.orders.get(token)
            if order is None or order["status"] == "COMPLETED":
                return self._checkout_page(token)
            payer_id = self._payer_id(email)
            return_url = self._experiences[token].return_url
        self.approve(token, email)
        if not return_url:
            return _page("Payment approved", "<p>Approved. You can close this window.</p>")
        return Response.redirect(_with_query(return_url, token=token, PayerID=payer_id))

    def _checkout_cancel(self, token: str) -> Response:
        with self._state:
            experience = self._experiences.get(token)
        if experience is None:
            return _page("Checkout not found", "<p>This checkout session does not exist.</p>", 404)
        if not experience.cancel_url:
            return _page("Cancelled", "<p>You cancelled. You can close this window.</p>")
        return Response.redirect(_with_query(experience.cancel_url, token=token))

    def _payer_id(self, email: str) -> str:
        """A stable 13-character payer id per buyer e-mail, as PayPal's ``PayerID``."""
        digest = hashlib.sha256(email.lower().encode()).digest()
        return "".join(_ALNUM[byte % len(_ALNUM)] for byte in digest[:13])


# Helpers ------------------------------------------------------------------------------


def _first(values: dict[str, list[str]], name: str) -> str:
    return (values.get(name) or [""])[0]


def _purchase_unit(unit: Any, count: int) -> dict[str, Any]:
    """Check a purchase unit of a create-order request; return it as PayPal stores it."""
    if not isinstance(unit, dict):
        raise _error(400, "INVALID_REQUEST", INVALID_REQUEST, "INVALID_PARAMETER_SYNTAX")
    if count > 1 and not unit.get("reference_id"):
        raise _error(
            422,
            "UNPROCESSABLE_ENTITY",
            UNPROCESSABLE,
            "REFERENCE_ID_REQUIRED",
            "'reference_id' is required for each 'purchase_unit' if multiple "
            "'purchase_unit' are provided.",
        )
    reference = str(unit.get("reference_id") or "default")
    field = f"/purchase_units/@reference_id=='{reference}'/amount"
    amount = unit.get("amount")
    if not isinstance(amount, dict) or not amount.get("currency_code") or not amount.get("value"):
        raise _error(
            400, "INVALID_REQUEST", INVALID_REQUEST, "MISSING_REQUIRED_PARAMETER", field=field
        )
    currency, value = str(amount["currency_code"]), str(amount["value"])
    if currency not in CURRENCIES:
        raise _error(
            422,
            "UNPROCESSABLE_ENTITY",
            UNPROCESSABLE,
            "CURRENCY_NOT_SUPPORTED",
            "Currency code is not currently supported. Please refer "
            "https://developer.paypal.com/api/rest/reference/currency-codes/ for list of "
            "supported currency codes.",
            field=f"{field}/currency_code",
            value=currency,
        )
    if not _AMOUNT.fullmatch(value):
        raise _error(
            400,
            "INVALID_REQUEST",
            INVALID_REQUEST,
            "INVALID_PARAMETER_SYNTAX",
            field=f"{field}/value",
            value=value,
        )
    decimals = len(value.partition(".")[2])
    if decimals > (0 if currency in ZERO_DECIMAL_CURRENCIES else 2):
        raise _error(
            422,
            "UNPROCESSABLE_ENTITY",
            UNPROCESSABLE,
            "DECIMAL_PRECISION",
            "If the currency supports decimals, only two decimal place precision is supported.",
            field=f"{field}/value",
            value=value,
        )
    if Decimal(value) <= 0:
        raise _error(
            422,
            "UNPROCESSABLE_ENTITY",
            UNPROCESSABLE,
            "CANNOT_BE_ZERO_OR_NEGATIVE",
            "Must be greater than zero.",
            field=f"{field}/value",
            value=value,
        )
    stored: dict[str, Any] = {"reference_id": reference}
    stored.update({key: unit[key] for key in _UNIT_FIELDS if key in unit})
    stored["amount"] = {"currency_code": currency, "value": value}
    stored["payee"] = {"email_address": MERCHANT_EMAIL, "merchant_id": MERCHANT_ID}
    return stored


def _resource_type(event_type: str) -> str:
    if event_type.startswith("CHECKOUT.ORDER."):
        return "checkout-order"
    if event_type.endswith(".REFUNDED"):
        return "refund"
    if event_type.startswith("PAYMENT.CAPTURE."):
        return "capture"
    return event_type.split(".")[1].lower() if "." in event_type else "unknown"


def _summary(event_type: str, resource: dict[str, Any]) -> str:
    amount = resource.get("amount") or {}
    if event_type == "PAYMENT.CAPTURE.COMPLETED":
        return f"Payment completed for {amount.get('value')} {amount.get('currency_code')}"
    if event_type == "CHECKOUT.ORDER.APPROVED":
        return "An order has been approved by buyer"
    return f"{event_type.replace('.', ' ').capitalize()}"


def _display_amount(order: dict[str, Any]) -> str:
    amounts = [unit["amount"] for unit in order["purchase_units"]]
    currency = amounts[0]["currency_code"]
    total = sum(Decimal(amount["value"]) for amount in amounts)
    return f"{total} {currency}"


_STYLE = """
body { margin: 0; font: 16px/1.5 system-ui, -apple-system, "Segoe UI", sans-serif;
       background: #f5f7fa; color: #2c2e2f; }
.banner { background: #ffd140; color: #1a1a1a; text-align: center; padding: .5rem;
          font-weight: 600; letter-spacing: .02em; }
main { max-width: 26rem; margin: 2.5rem auto; background: #fff; border-radius: 12px;
       padding: 2rem; box-shadow: 0 2px 12px rgba(0, 0, 0, .08); }
.logo { color: #003087; font-size: 1.75rem; font-weight: 800; font-style: italic; margin: 0; }
.logo span { color: #0070e0; }
h1 { font-size: 1.125rem; margin: .25rem 0 1.25rem; }
.merchant { margin: 0; color: #515354; }
.amount { font-size: 2rem; font-weight: 700; margin: 0 0 .25rem; }
.description { margin: 0 0 1rem; color: #515354; }
label { display: block; font-weight: 600; margin-top: 1rem; }
input[type=email], input[type=password] { box-sizing: border-box; width: 100%;
       font: inherit; padding: .65rem .75rem; margin-top: .25rem; border: 1px solid #929496;
       border-radius: 6px; }
input:focus-visible, button:focus-visible, a:focus-visible { outline: 3px solid #0070e0;
       outline-offset: 2px; }
.hint { font-size: .875rem; color: #515354; margin: .25rem 0 1.25rem; }
button { width: 100%; font: inherit; font-weight: 700; padding: .75rem; border: 0;
         border-radius: 999px; background: #0070e0; color: #fff; cursor: pointer; }
button:hover { background: #003087; }
.error { background: #fdecea; color: #8a1c12; border-radius: 6px; padding: .5rem .75rem; }
.cancel { display: block; text-align: center; color: #0070e0; margin-top: 1rem; }
"""


def _page(title: str, body: str, status: int = 200) -> Response:
    return Response.html(
        f"""<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{html.escape(title)} — PayPal (test mode)</title>
<style>{_STYLE}</style>
</head>
<body>
<div class="banner" role="note">PayPal — TEST MODE (fake PayPal on 127.0.0.1)</div>
<main>
<p class="logo" aria-label="PayPal">Pay<span>Pal</span></p>
<h1>{html.escape(title)}</h1>
{body}
</main>
</body>
</html>
""",
        status,
    )
