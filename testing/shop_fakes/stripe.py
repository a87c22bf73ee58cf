"""A fake Stripe: the slice of the v1 API, Stripe.js and webhooks that the shop uses.

The real ``stripe`` SDK talks to it unchanged::

    client = stripe.StripeClient("sk_test_fake", base_addresses={"api": fake.base_url})

Scope (everything else answers 404 like an unknown Stripe URL):

* ``/v1/customers`` (create, retrieve, update, list payment methods),
  ``/v1/payment_intents`` (create, optionally with ``confirm=true``; retrieve; update;
  list, by customer; ``/confirm``; ``/cancel``), ``/v1/payment_methods/{id}``,
  ``/v1/charges/{id}``; form-encoded bodies in Stripe's bracket notation, JSON answers,
  Stripe's error shapes and status codes (402 for card errors, so the SDK raises
  ``stripe.CardError``), ``Idempotency-Key`` replay (kept 24 hours on the fake's own
  clock, which ``advance_clock`` moves on) and ``Request-Id`` headers, top-level
  ``expand[]`` (and ``data.…`` on lists).
* Test cards by number, as in Stripe's test mode (see ``_TEST_CARDS``), and the test
  PaymentMethod ids such as ``pm_card_visa``.
* A fake Stripe.js at ``/v3/`` (the Payment Element and ``confirmPayment``) and a fake
  3D Secure page at ``/3ds/{payment_intent}``.
* Signed webhooks (``Stripe-Signature`` exactly as Stripe computes it).

Webhooks caused by the shop's own API calls are delivered in the background, as Stripe does,
so a shop holding a lock while it calls the fake never waits for its own webhook. Webhooks
caused by the customer's browser (the Stripe.js confirm and the 3D Secure page) are
delivered *before* the browser gets its answer: the browser is then redirected to a shop
that already knows it was paid, which keeps browser tests deterministic. Real Stripe gives
no such ordering guarantee; the shop must still cope with the webhook arriving late.
"""

from __future__ import annotations

import base64
import contextlib
import copy
import hashlib
import hmac
import html
import json
import re
import secrets
import threading
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import stripe

from shop_fakes.base import FakeServer, Request, Response

JSONObject = dict[str, Any]

# Test card numbers and what charging them does, after Stripe's test-mode cards.
#   succeed       every charge succeeds
#   decline       every charge is declined (card_declined / generic_decline)
#   insufficient  every charge is declined (card_declined / insufficient_funds)
#   authenticate  every charge needs 3D Secure: on-session it redirects to the 3DS page,
#                 off-session it fails with authentication_required
#   authenticate_once  on-session needs 3D Secure; saved off-session charges succeed
_TEST_CARDS: dict[str, str] = {
    "4242424242424242": "succeed",
    "5555555555554444": "succeed",
    "4000000000000002": "decline",
    "4000000000009995": "insufficient",
    "4000002760003184": "authenticate",
    "4000002500003155": "authenticate_once",
}
# Stripe's test PaymentMethod ids; each use makes a fresh PaymentMethod with that card.
_TEST_PAYMENT_METHODS: dict[str, str] = {
    "pm_card_visa": "4242424242424242",
    "pm_card_mastercard": "5555555555554444",
    "pm_card_chargeDeclined": "4000000000000002",
    "pm_card_chargeDeclinedInsufficientFunds": "4000000000009995",
    "pm_card_authenticationRequired": "4000002760003184",
    "pm_card_authenticationRequiredOnSetup": "4000002500003155",
}
_DECLINES: dict[str, tuple[str, str | None, str]] = {  # behaviour -> code, decline_code, message
    "decline": ("card_declined", "generic_decline", "Your card was declined."),
    "insufficient": ("card_declined", "insufficient_funds", "Your card has insufficient funds."),
    "expired": ("expired_card", "expired_card", "Your card has expired."),
    "authenticate": (
        "authentication_required",
        "authentication_required",
        "Your card was declined. This transaction requires authentication.",
    ),
    "authentication_failed": (  # the customer pressed "Fail" on the 3D Secure page
        "payment_intent_authentication_failure",
        None,
        "We are unable to authenticate your payment method. Please choose a different "
        "payment method and try again.",
    ),
}
_UPDATABLE_STATUSES = ("requires_payment_method", "requires_confirmation", "requires_action")
_CANCELABLE_STATUSES = (*_UPDATABLE_STATUSES, "requires_capture", "processing")
# Stripe keeps an idempotency key's result for 24 hours; a key used again later is a new
# request (docs.stripe.com/api/idempotent_requests).
IDEMPOTENCY_KEY_TTL = 24 * 3600.0


class _ApiError(Exception):
    """An API error, answered as ``{"error": {...}}`` with its HTTP status."""

    def __init__(
        self, status: int, message: str, type_: str = "invalid_request_error", **extra: Any
    ):
        super().__init__(message)
        self.status = status
        self.body: JSONObject = {"type": type_, "message": message, **extra}


@dataclass
class _Call:
    """One API call, routed: decoded params, ids from the path, who made it."""

    params: JSONObject
    ids: tuple[str, ...] = ()
    publishable: bool = False  # made with the publishable key: Stripe.js in the customer's browser
    positions: list[int] = field(default_factory=list)  # webhooks queued by this call


def _now() -> int:
    return int(time.time())


def _new_id(prefix: str) -> str:
    return f"{prefix}_{secrets.token_hex(12)}"


def _truthy(value: Any) -> bool:
    return str(value).lower() == "true"


def parse_params(pairs: list[tuple[str, str]]) -> JSONObject:
    """Decode Stripe's bracket notation: ``metadata[a]=1&expand[]=x`` → nested dicts/lists."""
    params: JSONObject = {}
    for key, value in pairs:
        path = [key.split("[", 1)[0], *re.findall(r"\[([^\]]*)\]", key)]
        node = params
        for part in path[:-1]:
            child = node.get(part)
            if not isinstance(child, dict):
                node[part] = child = {}
            node = child
        last = path[-1]
        if last == "":  # ``expand[]=a&expand[]=b``: append in order
            node[str(len(node))] = value
        else:
            node[last] = value
    return _listify(params)


def _listify(node: JSONObject) -> JSONObject:
    """Dicts keyed "0", "1", … (how the SDK encodes lists) become lists."""
    for key, value in node.items():
        if isinstance(value, dict):
            value = _listify(value)
            if value and all(k.isdigit() for k in value):
                value = [value[k] for k in sorted(value, key=int)]
            node[key] = value
    return node


class FakeStripe(FakeServer):
    """Stripe's API, Stripe.js and webhooks on 127.0.0.1 (see the module docstring)."""

    def __init__(
        self,
        port: int = 0,
        webhook_url: str | None = None,
        webhook_secret: str = "whsec_test_fake",
        secret_key: str = "sk_test_fake",
        publishable_key: str = "pk_test_fake",
        idempotency_key_ttl: float = IDEMPOTENCY_KEY_TTL,
    ) -> None:
        super().__init__(port, webhook_url)
        self.idempotency_key_ttl = idempotency_key_ttl
        self._clock_offset = 0.0  # seconds the fake's clock is ahead (``advance_clock``)
        self.webhook_secret = webhook_secret
        self.secret_key = secret_key
        self.publishable_key = publishable_key
        # The account's objects by id. Read them in tests; change them only through the API.
        self.customers: dict[str, JSONObject] = {}
        self.payment_intents: dict[str, JSONObject] = {}
        self.payment_methods: dict[str, JSONObject] = {}
        self.charges: dict[str, JSONObject] = {}
        self._card_numbers: dict[str, str] = {}  # pm id -> number (not part of the object)
        # Idempotency-Key -> (fingerprint, stored response, when stored on the fake's
        # clock); None while the first request runs.
        self._idempotent: dict[str, tuple[str, Response, float] | None] = {}
        # One lock for all objects; never held while waiting for webhook deliveries, since
        # the shop's webhook handler may call this fake back.
        self._state = threading.RLock()
        self._queue_lock = threading.RLock()
        self._queued = 0  # webhooks queued so far, to wait for a given one

    # Test helpers (plain Python) --------------------------------------------------------

    def now(self) -> float:
        """The fake's clock (Unix seconds): real time, moved on by ``advance_clock``."""
        return time.time() + self._clock_offset

    def advance_clock(self, seconds: float) -> None:
        """Move the fake's clock on, e.g. past the 24 hours idempotency keys are kept
        (also ``POST /_fake/clock`` with ``advance_seconds=…``)."""
        with self._state:
            self._clock_offset += seconds

    def saved_payment_method(self, customer_id: str) -> str | None:
        """The PaymentMethod most recently attached to the customer, if any."""
        with self._state:
            attached = [pm for pm in self.payment_methods.values() if pm["customer"] == customer_id]
        return max(attached, key=lambda pm: pm["created"])["id"] if attached else None

    def attach_card(
        self,
        customer_id: str,
        number: str = "4242424242424242",
        exp_month: int = 12,
        exp_year: int | None = None,
    ) -> str:
        """Save a card on a customer directly, e.g. one that declines its next charges."""
        number = number.replace(" ", "")
        if number not in _TEST_CARDS:
            raise ValueError(f"not a test card number: {number}")
        with self._state:
            if customer_id not in self.customers:
                raise KeyError(customer_id)
            pm = self._new_payment_method(number, exp_month, exp_year or datetime.now(UTC).year + 5)
            pm["customer"] = customer_id
            return str(pm["id"])

    def decline_off_session(self, payment_method_id: str, number: str = "4000000000000002") -> None:
        """Make a saved card decline from now on, as when the bank blocks it after it was
        kept (``number`` picks how: see ``_TEST_CARDS``)."""
        with self._state:
            if payment_method_id not in self.payment_methods:
                raise KeyError(payment_method_id)
            self._card_numbers[payment_method_id] = number.replace(" ", "")

    def event(self, type_: str, obj: JSONObject) -> bytes:
        """The body of a webhook event carrying a snapshot of ``obj``."""
        return json.dumps(
            {
                "id": _new_id("evt"),
                "object": "event",
                "api_version": stripe.api_version,
                "created": _now(),
                "livemode": False,
                "type": type_,
                "data": {"object": copy.deepcopy(obj)},
                "pending_webhooks": 1,
                "request": {"id": None, "idempotency_key": None},
            }
        ).encode()

    def sign(self, payload: bytes, timestamp: int | None = None, secret: str | None = None) -> str:
        """A ``Stripe-Signature`` header value for ``payload``, computed as Stripe does."""
        timestamp = _now() if timestamp is None else timestamp
        key = (secret or self.webhook_secret).encode()
        digest = hmac.new(key, f"{timestamp}.".encode() + payload, hashlib.sha256).hexdigest()
        return f"t={timestamp},v1={digest}"

    def send_event(self, type_: str, obj: JSONObject) -> str:
        """Queue a signed webhook event for the shop; return the event id."""
        body = self.event(type_, obj)
        self._send(body)
        return str(json.loads(body)["id"])

    def confirm_in_browser(
        self,
        client_secret: str,
        number: str = "4242 4242 4242 4242",
        expiry: str = "12 / 34",
        cvc: str = "123",
        return_url: str = "http://127.0.0.1/return",
    ) -> tuple[int, JSONObject]:
        """Make the confirm call the fake Stripe.js makes; return (HTTP status, JSON).

        Blocks until the shop answered the webhooks, like the browser would. Call it from a
        test thread, never from inside the shop's request handling.
        """
        month, _, year = expiry.replace(" ", "").partition("/")
        body = urlencode(
            {
                "key": self.publishable_key,
                "client_secret": client_secret,
                "payment_method_data[type]": "card",
                "payment_method_data[card][number]": number,
                "payment_method_data[card][exp_month]": month,
                "payment_method_data[card][exp_year]": year,
                "payment_method_data[card][cvc]": cvc,
                "return_url": return_url,
            }
        ).encode()
        pi_id = client_secret.split("_secret_")[0]
        request = urllib.request.Request(
            f"{self.base_url}/v1/payment_intents/{pi_id}/confirm", data=body, method="POST"
        )
        try:
            with urllib.request.urlopen(request, timeout=30) as answer:
                return answer.status, json.loads(answer.read())
        except urllib.error.HTTPError as error:
            return error.code, json.loads(error.read())

    # Webhooks ---------------------------------------------------------------------------

    def _send(self, body: bytes) -> int | None:
        """Queue a signed delivery; return its place in the delivery order (None: no URL)."""
        if not self.webhook_url:
            return None
        headers = {
            "Content-Type": "application/json",
            "Stripe-Signature": self.sign(body),
            "User-Agent": "Stripe/1.0 (+https://stripe.com/docs/webhooks)",
        }
        with self._queue_lock:
            self.send_webhook(body, headers)
            return self._queued

    def send_webhook(self, body: bytes, headers: dict[str, str]) -> None:
        # Queueing and counting together: the base delivers in queue order from one thread,
        # so a webhook was answered once the count of answered ones reaches its place.
        with self._queue_lock:
            if self.webhook_url:
                self._queued += 1
            super().send_webhook(body, headers)

    def _emit(self, call: _Call, type_: str, obj: JSONObject) -> None:
        position = self._send(self.event(type_, obj))
        if position is not None:
            call.positions.append(position)

    def _deliver_now(self, call: _Call) -> None:
        """For browser calls: wait until the shop answered this call's webhooks."""
        if call.publishable and call.positions:
            self.wait_for_deliveries(max(call.positions), timeout=30)

    # HTTP -------------------------------------------------------------------------------

    def handle(self, request: Request) -> Response:
        path = request.path.rstrip("/")
        if request.method == "GET" and path in ("/v3", "/v3/stripe.js"):
            return self._stripe_js()
        if path.startswith("/3ds/"):
            return self._three_d_secure(request, path.split("/")[2:])
        if path.startswith("/v1/"):
            return self._api(request, path)
        if request.method == "POST" and path == "/_fake/clock":
            seconds = parse_params(parse_qsl(request.body.decode())).get("advance_seconds", "0")
            self.advance_clock(float(seconds))
            return Response.json({"now": self.now()})
        return Response.html("<h1>Not found</h1>", 404)

    def _api(self, request: Request, path: str) -> Response:
        headers = {"Request-Id": "req_" + secrets.token_hex(7)}
        key = request.headers.get("idempotency-key") if request.method == "POST" else None
        if key:
            headers["Idempotency-Key"] = key
        if request.method == "POST":
            params = parse_params(parse_qsl(request.body.decode(), keep_blank_values=True))
        else:
            params = parse_params([(k, v) for k, vs in request.query.items() for v in vs])
        fingerprint = f"{request.method} {path} {request.body!r}"

        if key:
            replay = self._claim_idempotency_key(key, fingerprint)
            if replay is not None:
                for name, value in headers.items():
                    replay.headers.setdefault(name, value)
                return replay
        call = _Call(params)
        stored: tuple[str, Response] | None = None
        try:
            try:
                response = self._route(request, path, call)
            except _ApiError as error:
                response = Response.json({"error": error.body}, error.status)
            response.headers.update(headers)
            # Stripe stores the result once the endpoint ran: successes and card errors, not
            # authentication or validation failures, which a retry may well get past.
            if 200 <= response.status < 300 or response.status == 402:
                stored = (fingerprint, response)
        finally:
            if key:  # release the key even if the fake itself failed (a 500)
                with self._state:
                    if stored:
                        self._idempotent[key] = (*stored, self.now())
                    else:
                        del self._idempotent[key]
        self._deliver_now(call)
        return response

    def _claim_idempotency_key(self, key: str, fingerprint: str) -> Response | None:
        """None: go ahead (the key is now ours); else the answer to give instead."""
        with self._state:
            known = self._idempotent.get(key)
            expired = known is not None and self.now() - known[2] >= self.idempotency_key_ttl
            if key not in self._idempotent or expired:
                self._idempotent[key] = None
                return None
            stored = self._idempotent[key]
        if stored is None:  # Stripe answers 409 and the SDK retries it
            message = (
                "There is currently another in-progress request using this Idempotent Key "
                "(that probably means you submitted twice, and the other request is still "
                f"going through): {key}. Please try again later."
            )
            return Response.json({"error": {"type": "idempotency_error", "message": message}}, 409)
        first_fingerprint, first, _ = stored
        if first_fingerprint != fingerprint:
            message = (
                "Keys for idempotent requests can only be used with the same parameters they "
                f"were first used with. Try using a key other than '{key}' if you meant to "
                "execute a different request."
            )
            return Response.json({"error": {"type": "idempotency_error", "message": message}}, 400)
        return Response(first.status, first.body, {**first.headers, "Idempotent-Replayed": "true"})

    def _route(self, request: Request, path: str, call: _Call) -> Response:
        routes = [
            ("POST", r"/v1/customers", self._create_customer, False),
            ("GET", r"/v1/customers/(cus_\w+)", self._get_customer, False),
            ("POST", r"/v1/customers/(cus_\w+)", self._update_customer, False),
            ("GET", r"/v1/customers/(cus_\w+)/payment_methods", self._customer_pms, False),
            ("GET", r"/v1/payment_methods", self._list_pms, False),
            ("GET", r"/v1/payment_methods/(\w+)", self._get_payment_method, False),
            ("GET", r"/v1/charges/(ch_\w+)", self._get_charge, False),
            ("POST", r"/v1/payment_intents", self._create_payment_intent, False),
            ("GET", r"/v1/payment_intents", self._list_payment_intents, False),
            ("POST", r"/v1/payment_intents/(pi_\w+)/cancel", self._cancel, False),
            ("GET", r"/v1/payment_intents/(pi_\w+)", self._get_payment_intent, True),
            ("POST", r"/v1/payment_intents/(pi_\w+)", self._update_payment_intent, False),
            ("POST", r"/v1/payment_intents/(pi_\w+)/confirm", self._confirm, True),
        ]
        for method, pattern, handler, publishable_ok in routes:
            match = re.fullmatch(pattern, path)
            if match and request.method == method:
                call.ids = match.groups()
                call.publishable = self._authenticate(request, call.params, publishable_ok)
                with self._state:
                    obj = handler(call)
                    return Response.json(self._expand(obj, call.params.get("expand")))
        raise _ApiError(404, f"Unrecognized request URL ({request.method}: {path}).")

    def _authenticate(self, request: Request, params: JSONObject, publishable_ok: bool) -> bool:
        """Check the API key; True when it is the publishable one (Stripe.js)."""
        scheme, _, credentials = request.headers.get("authorization", "").partition(" ")
        if scheme.lower() == "bearer":
            key = credentials.strip()
        elif scheme.lower() == "basic":  # ``curl -u sk_test_…:``
            key = base64.b64decode(credentials).decode().partition(":")[0]
        else:
            # Stripe.js sends its key in the form body: a form POST without custom headers
            # is a "simple" CORS request, so the browser sends no preflight.
            key = str(params.pop("key", ""))
        if key == self.secret_key:
            return False
        if key == self.publishable_key:
            if publishable_ok:
                return True
            message = (
                "This API call cannot be made with a publishable API key. "
                "Please use a secret API key."
            )
            raise _ApiError(401, message)
        if not key:
            message = (
                "You did not provide an API key. You need to provide your API key in the "
                "Authorization header, using Bearer auth (e.g. 'Authorization: Bearer "
                "YOUR_SECRET_KEY')."
            )
            raise _ApiError(401, message)
        masked = key[:8] + "*" * max(len(key) - 12, 0) + key[-4:] if len(key) > 12 else key
        raise _ApiError(401, f"Invalid API Key provided: {masked}")

    def _expand(self, obj: JSONObject, expand: Any) -> JSONObject:
        """Replace top-level ids named in ``expand[]`` by their objects, as Stripe does."""
        obj = copy.deepcopy(obj)
        stores = {
            "cus": self.customers,
            "pi": self.payment_intents,
            "pm": self.payment_methods,
            "ch": self.charges,
        }
        for name in expand if isinstance(expand, list) else []:
            attribute = str(name).split(".")[0]
            value = obj.get(attribute)
            if isinstance(value, str) and value.split("_")[0] in stores:
                obj[attribute] = copy.deepcopy(stores[value.split("_")[0]].get(value, value))
        return obj

    # Lookups and validation -------------------------------------------------------------

    def _get(self, store: dict[str, JSONObject], kind: str, id_: str, param: str) -> JSONObject:
        if id_ not in store:
            raise _ApiError(
                400 if param != "id" else 404,
                f"No such {kind}: '{id_}'",
                code="resource_missing",
                param=param,
            )
        return store[id_]

    @staticmethod
    def _metadata(params: JSONObject, current: dict[str, str] | None = None) -> dict[str, str]:
        """Merge ``metadata[...]``: an empty value removes a key, ``metadata=`` clears all."""
        metadata = dict(current or {})
        given = params.get("metadata")
        if given == "":
            return {}
        if isinstance(given, dict):
            for key, value in given.items():
                if value == "":
                    metadata.pop(key, None)
                else:
                    metadata[key] = str(value)
        return metadata

    @staticmethod
    def _amount(params: JSONObject) -> int:
        value = str(params["amount"])
        if not value.isdigit() or int(value) < 1:
            raise _ApiError(
                400,
                "Invalid integer: " + value,
                code="parameter_invalid_integer",
                param="amount",
            )
        return int(value)

    @staticmethod
    def _require(params: JSONObject, *names: str) -> None:
        for name in names:
            if not params.get(name):
                raise _ApiError(
                    400,
                    f"Missing required param: {name}.",
                    code="parameter_missing",
                    param=name,
                )

    # Customers and payment methods ------------------------------------------------------

    def _create_customer(self, call: _Call) -> JSONObject:
        customer: JSONObject = {
            "id": _new_id("cus"),
            "object": "customer",
            "created": _now(),
            "livemode": False,
            "email": call.params.get("email"),
            "name": call.params.get("name"),
            "description": call.params.get("description"),
            "metadata": self._metadata(call.params),
            "invoice_settings": {"default_payment_method": None},
        }
        self.customers[customer["id"]] = customer
        return customer

    def _get_customer(self, call: _Call) -> JSONObject:
        return self._get(self.customers, "customer", call.ids[0], "id")

    def _update_customer(self, call: _Call) -> JSONObject:
        customer = self._get(self.customers, "customer", call.ids[0], "id")
        for name in ("email", "name", "description"):
            if name in call.params:
                customer[name] = call.params[name] or None
        customer["metadata"] = self._metadata(call.params, customer["metadata"])
        return customer

    def _pm_list(self, customer_id: str, url: str) -> JSONObject:
        self._get(self.customers, "customer", customer_id, "customer")
        data = [pm for pm in self.payment_methods.values() if pm["customer"] == customer_id]
        data.sort(key=lambda pm: pm["created"], reverse=True)  # newest first, like Stripe
        return {"object": "list", "data": data, "has_more": False, "url": url}

    def _customer_pms(self, call: _Call) -> JSONObject:
        return self._pm_list(call.ids[0], f"/v1/customers/{call.ids[0]}/payment_methods")

    def _list_pms(self, call: _Call) -> JSONObject:
        self._require(call.params, "customer")
        return self._pm_list(str(call.params["customer"]), "/v1/payment_methods")

    def _get_payment_method(self, call: _Call) -> JSONObject:
        return self._get(self.payment_methods, "PaymentMethod", call.ids[0], "id")

    def _get_charge(self, call: _Call) -> JSONObject:
        return self._get(self.charges, "charge", call.ids[0], "id")

    def _new_payment_method(self, number: str, exp_month: int, exp_year: int) -> JSONObject:
        pm: JSONObject = {
            "id": _new_id("pm"),
            "object": "payment_method",
            "created": _now(),
            "livemode": False,
            "type": "card",
            "card": {
                "brand": "mastercard" if number.startswith("5") else "visa",
                "last4": number[-4:],
                "exp_month": exp_month,
                "exp_year": exp_year,
                "funding": "credit",
                "country": "US",
            },
            "billing_details": {"address": None, "email": None, "name": None, "phone": None},
            "customer": None,
            "metadata": {},
        }
        self.payment_methods[pm["id"]] = pm
        self._card_numbers[pm["id"]] = number
        return pm

    def _card_from_form(self, data: Any) -> JSONObject:
        """A PaymentMethod from ``payment_method_data`` (raw card fields, as Stripe.js sends)."""
        card = data.get("card") if isinstance(data, dict) else None
        if not isinstance(data, dict) or data.get("type") != "card" or not isinstance(card, dict):
            raise _ApiError(
                400,
                "payment_method_data[type] must be card.",
                code="parameter_invalid_empty",
                param="payment_method_data[type]",
            )
        number = re.sub(r"[\s-]", "", str(card.get("number", "")))
        month, year = str(card.get("exp_month", "")), str(card.get("exp_year", ""))
        if number not in _TEST_CARDS:
            raise _card_error("incorrect_number", "Your card number is incorrect.", "number")
        if not month.isdigit() or not 1 <= int(month) <= 12:
            message = "Your card's expiration month is invalid."
            raise _card_error("invalid_expiry_month", message, "exp_month")
        if not year.isdigit() or len(year) not in (2, 4):
            message = "Your card's expiration year is invalid."
            raise _card_error("invalid_expiry_year", message, "exp_year")
        if not re.fullmatch(r"\d{3,4}", str(card.get("cvc", ""))):
            raise _card_error("invalid_cvc", "Your card's security code is invalid.", "cvc")
        full_year = int(year) + 2000 if len(year) == 2 else int(year)
        return self._new_payment_method(number, int(month), full_year)

    def _payment_method_for(self, pi: JSONObject, id_: str) -> JSONObject:
        """The PaymentMethod named by ``payment_method=…`` (or a fresh test one)."""
        if id_ in _TEST_PAYMENT_METHODS:
            return self._new_payment_method(
                _TEST_PAYMENT_METHODS[id_], 12, datetime.now(UTC).year + 5
            )
        pm = self._get(self.payment_methods, "PaymentMethod", id_, "payment_method")
        if pm["customer"] and pm["customer"] != pi["customer"]:
            raise _ApiError(
                400,
                f"The provided PaymentMethod {id_} belongs to a different Customer than the "
                "one on this PaymentIntent.",
                param="payment_method",
            )
        return pm

    # Payment intents --------------------------------------------------------------------

    def _create_payment_intent(self, call: _Call) -> JSONObject:
        params = call.params
        self._require(params, "amount", "currency")
        customer = params.get("customer") or None
        if customer:
            self._get(self.customers, "customer", str(customer), "customer")
        self._check_setup_future_usage(params)
        if _truthy(params.get("off_session")) and not _truthy(params.get("confirm")):
            raise _ApiError(
                400, "off_session can only be set when confirm is true.", param="off_session"
            )
        automatic = params.get("automatic_payment_methods")
        pi_id = _new_id("pi")
        pi: JSONObject = {
            "id": pi_id,
            "object": "payment_intent",
            "created": _now(),
            "livemode": False,
            "amount": self._amount(params),
            "amount_received": 0,
            "currency": str(params["currency"]).lower(),
            "status": "requires_payment_method",
            "client_secret": f"{pi_id}_secret_{secrets.token_hex(12)}",
            "customer": customer,
            "description": params.get("description") or None,
            "receipt_email": params.get("receipt_email") or None,
            "metadata": self._metadata(params),
            "setup_future_usage": params.get("setup_future_usage") or None,
            "payment_method": None,
            "payment_method_types": ["card"],
            "automatic_payment_methods": (
                {"enabled": True, "allow_redirects": "always"}
                if isinstance(automatic, dict) and _truthy(automatic.get("enabled"))
                else None
            ),
            "capture_method": "automatic",
            "confirmation_method": "automatic",
            "latest_charge": None,
            "last_payment_error": None,
            "next_action": None,
            "canceled_at": None,
            "cancellation_reason": None,
        }
        pm = None
        if params.get("payment_method"):
            pm = self._payment_method_for(pi, str(params["payment_method"]))
            pi["payment_method"] = pm["id"]
            pi["status"] = "requires_confirmation"
        self.payment_intents[pi_id] = pi
        if _truthy(params.get("confirm")):
            if pm is None:
                raise _ApiError(
                    400,
                    "You cannot confirm this PaymentIntent because it's missing a payment "
                    "method. To confirm the PaymentIntent with "
                    f"{customer or 'a customer'}, specify a payment method attached to this "
                    "customer along with the customer ID.",
                    code="payment_intent_unexpected_state",
                    payment_intent=copy.deepcopy(pi),
                )
            self._attempt(call, pi, pm, params)
        return pi

    @staticmethod
    def _check_setup_future_usage(params: JSONObject) -> None:
        if params.get("setup_future_usage") not in (None, "", "off_session", "on_session"):
            raise _ApiError(
                400,
                "Invalid setup_future_usage: must be one of on_session or off_session",
                param="setup_future_usage",
            )

    def _list_payment_intents(self, call: _Call) -> JSONObject:
        """Newest first, optionally one customer's; ``limit``, ``starting_after`` and
        ``expand[]=data.…`` as Stripe's list endpoints."""
        params = call.params
        intents = list(reversed(self.payment_intents.values()))
        if params.get("customer"):
            intents = [pi for pi in intents if pi["customer"] == params["customer"]]
        if params.get("starting_after"):
            ids = [pi["id"] for pi in intents]
            after = str(params["starting_after"])
            intents = intents[ids.index(after) + 1 :] if after in ids else []
        limit = int(str(params.get("limit") or 10))
        expand = params.get("expand")
        names = expand if isinstance(expand, list) else []
        nested = [str(n).removeprefix("data.") for n in names if str(n).startswith("data.")]
        return {
            "object": "list",
            "data": [self._expand(pi, nested) for pi in intents[:limit]],
            "has_more": len(intents) > limit,
            "url": "/v1/payment_intents",
        }

    def _cancel(self, call: _Call) -> JSONObject:
        pi = self._get(self.payment_intents, "payment_intent", call.ids[0], "id")
        if pi["status"] not in _CANCELABLE_STATUSES:
            raise _ApiError(
                400,
                "You cannot cancel this PaymentIntent because it has a status of "
                f"{pi['status']}. Only a PaymentIntent with one of the following statuses "
                "may be canceled: " + ", ".join(_CANCELABLE_STATUSES) + ".",
                code="payment_intent_unexpected_state",
                payment_intent=copy.deepcopy(pi),
            )
        pi.update(
            status="canceled",
            canceled_at=_now(),
            cancellation_reason=call.params.get("cancellation_reason") or None,
            next_action=None,
        )
        self._emit(call, "payment_intent.canceled", pi)
        return pi

    def _get_payment_intent(self, call: _Call) -> JSONObject:
        pi = self._get(self.payment_intents, "payment_intent", call.ids[0], "id")
        self._check_client_secret(call, pi)
        return pi

    def _check_client_secret(self, call: _Call, pi: JSONObject) -> None:
        given = call.params.get("client_secret")
        if (call.publishable or given) and given != pi["client_secret"]:
            raise _ApiError(
                400,
                "The client_secret provided does not match any associated PaymentIntent on "
                "this account. Ensure the publishable key used belongs to the same account "
                "that created the PaymentIntent.",
                code="payment_intent_invalid_parameter",
                param="client_secret",
            )

    def _check_updatable(self, pi: JSONObject, action: str) -> None:
        if pi["status"] not in _UPDATABLE_STATUSES:
            message = (
                f"You cannot {action} this PaymentIntent because it has a status of {pi['status']}."
            )
            if pi["status"] == "succeeded" and action == "confirm":
                message = (
                    "You cannot confirm this PaymentIntent because it has already succeeded "
                    "after being previously confirmed."
                )
            raise _ApiError(
                400,
                message,
                code="payment_intent_unexpected_state",
                payment_intent=copy.deepcopy(pi),
            )

    def _update_payment_intent(self, call: _Call) -> JSONObject:
        pi = self._get(self.payment_intents, "payment_intent", call.ids[0], "id")
        params = call.params
        if set(params) - {"metadata", "expand"}:  # Stripe allows metadata at any status
            self._check_updatable(pi, "update")
        if "amount" in params:
            pi["amount"] = self._amount(params)
        if params.get("currency"):
            pi["currency"] = str(params["currency"]).lower()
        if params.get("customer"):
            pi["customer"] = self._get(
                self.customers, "customer", str(params["customer"]), "customer"
            )["id"]
        self._check_setup_future_usage(params)
        for name in ("description", "receipt_email", "setup_future_usage"):
            if name in params:
                pi[name] = params[name] or None
        if params.get("payment_method"):
            pi["payment_method"] = self._payment_method_for(pi, str(params["payment_method"]))["id"]
            pi["status"] = "requires_confirmation"
        pi["metadata"] = self._metadata(params, pi["metadata"])
        return pi

    def _confirm(self, call: _Call) -> JSONObject:
        pi = self._get(self.payment_intents, "payment_intent", call.ids[0], "id")
        params = call.params
        self._check_client_secret(call, pi)
        self._check_updatable(pi, "confirm")
        self._check_setup_future_usage(params)
        if params.get("setup_future_usage"):
            pi["setup_future_usage"] = params["setup_future_usage"]
        if params.get("receipt_email"):
            pi["receipt_email"] = params["receipt_email"]
        if "payment_method_data" in params:
            try:
                pm = self._card_from_form(params["payment_method_data"])
            except _ApiError as error:
                if error.status == 402:  # Stripe.js shows these next to the PaymentIntent
                    error.body["payment_intent"] = copy.deepcopy(pi)
                raise
        elif params.get("payment_method"):
            pm = self._payment_method_for(pi, str(params["payment_method"]))
        elif pi["payment_method"]:
            pm = self.payment_methods[pi["payment_method"]]
        else:
            raise _ApiError(
                400,
                "You cannot confirm this PaymentIntent because it's missing a payment method.",
                code="payment_intent_unexpected_state",
                payment_intent=copy.deepcopy(pi),
            )
        self._attempt(call, pi, pm, params)
        return pi

    # Charging ---------------------------------------------------------------------------

    def _attempt(self, call: _Call, pi: JSONObject, pm: JSONObject, params: JSONObject) -> None:
        """Charge ``pm`` for ``pi``: succeed, ask for 3D Secure, or raise a card error."""
        off_session = _truthy(params.get("off_session"))
        behaviour = _TEST_CARDS[self._card_numbers[pm["id"]]]
        card = pm["card"]
        today = datetime.now(UTC)
        if (card["exp_year"], card["exp_month"]) < (today.year, today.month):
            behaviour = "expired"
        if behaviour == "authenticate_once" and off_session:
            behaviour = "succeed"
        if behaviour == "succeed":
            self._succeed(call, pi, pm)
        elif behaviour in ("authenticate", "authenticate_once"):
            return_url = str(params.get("return_url") or "") or None
            pi.update(
                status="requires_action",
                payment_method=pm["id"],
                next_action=self._three_d_secure_action(pi, return_url),
            )
            if off_session:  # nobody is there to authenticate: a 402 (see _fail)
                self._fail(call, pi, pm, "authenticate", status="requires_action", charge=False)
        else:
            self._fail(call, pi, pm, behaviour)

    def _three_d_secure_action(self, pi: JSONObject, return_url: str | None) -> JSONObject:
        url = f"{self.base_url}/3ds/{pi['id']}"
        if return_url:
            url += "?" + urlencode({"return_url": return_url})
        return {
            "type": "redirect_to_url",
            "redirect_to_url": {"url": url, "return_url": return_url},
        }

    def _new_charge(self, pi: JSONObject, pm: JSONObject, failure: JSONObject | None) -> JSONObject:
        charge: JSONObject = {
            "id": _new_id("ch"),
            "object": "charge",
            "created": _now(),
            "livemode": False,
            "amount": pi["amount"],
            "amount_captured": 0 if failure else pi["amount"],
            "amount_refunded": 0,
            "currency": pi["currency"],
            "customer": pi["customer"],
            "description": pi["description"],
            "receipt_email": pi["receipt_email"],
            "payment_intent": pi["id"],
            "payment_method": pm["id"],
            "payment_method_details": {
                "type": "card",
                "card": {k: pm["card"][k] for k in ("brand", "last4", "exp_month", "exp_year")},
            },
            "status": "failed" if failure else "succeeded",
            "paid": not failure,
            "captured": not failure,
            "refunded": False,
            "failure_code": failure["code"] if failure else None,
            "failure_message": failure["message"] if failure else None,
            "metadata": dict(pi["metadata"]),
        }
        self.charges[charge["id"]] = charge
        return charge

    def _succeed(self, call: _Call, pi: JSONObject, pm: JSONObject) -> None:
        charge = self._new_charge(pi, pm, None)
        pi.update(
            status="succeeded",
            amount_received=pi["amount"],
            payment_method=pm["id"],
            latest_charge=charge["id"],
            last_payment_error=None,
            next_action=None,
        )
        if pi["setup_future_usage"] and pi["customer"]:
            pm["customer"] = pi["customer"]  # saved: reusable for off-session renewals
        self._emit(call, "payment_intent.succeeded", pi)
        self._emit(call, "charge.succeeded", charge)

    def _fail(
        self,
        call: _Call,
        pi: JSONObject,
        pm: JSONObject,
        behaviour: str,
        status: str = "requires_payment_method",
        charge: bool = True,
    ) -> None:
        code, decline_code, message = _DECLINES[behaviour]
        error: JSONObject = {
            "type": "card_error",
            "code": code,
            "decline_code": decline_code,
            "message": message,
            "doc_url": f"https://stripe.com/docs/error-codes/{code.replace('_', '-')}",
            "payment_method": copy.deepcopy(pm),
        }
        if charge:
            error["charge"] = pi["latest_charge"] = self._new_charge(pi, pm, error)["id"]
        pi["status"] = status
        pi["last_payment_error"] = error
        if status == "requires_payment_method":
            pi["payment_method"] = None
            pi["next_action"] = None
        self._emit(call, "payment_intent.payment_failed", pi)
        extra = {k: v for k, v in error.items() if k not in ("type", "message")}
        raise _ApiError(402, message, "card_error", **extra, payment_intent=copy.deepcopy(pi))

    # The fake 3D Secure page ------------------------------------------------------------

    def _three_d_secure(self, request: Request, parts: list[str]) -> Response:
        """``GET /3ds/{pi}`` shows Complete/Fail; ``POST /3ds/{pi}/complete|fail`` acts."""
        with self._state:
            pi = self.payment_intents.get(parts[0]) if parts else None
        if pi is None:
            return Response.html("<h1>No such payment</h1>", 404)
        if request.method == "GET" and len(parts) == 1:
            return_url = (request.query.get("return_url") or [""])[0]
            return Response.html(self._three_d_secure_page(pi, return_url))
        if request.method != "POST" or len(parts) != 2 or parts[1] not in ("complete", "fail"):
            return Response.html("<h1>Not found</h1>", 404)
        return_url = (request.form().get("return_url") or [""])[0]
        call = _Call({}, (pi["id"],), publishable=True)
        with self._state:
            if pi["status"] == "requires_action":
                pm = self.payment_methods[pi["payment_method"]]
                if parts[1] == "complete":
                    self._succeed(call, pi, pm)
                else:
                    # No error to answer: the browser goes back with redirect_status=failed.
                    with contextlib.suppress(_ApiError):
                        self._fail(call, pi, pm, "authentication_failed", charge=False)
            status = pi["status"]
            client_secret = pi["client_secret"]
        self._deliver_now(call)
        if not return_url:
            return Response.html(f"<p>Payment {html.escape(status)}. You can close this page.</p>")
        redirect_status = "succeeded" if status == "succeeded" else "failed"
        return Response.redirect(
            _with_query(
                return_url,
                payment_intent=pi["id"],
                payment_intent_client_secret=client_secret,
                redirect_status=redirect_status,
            )
        )

    @staticmethod
    def _three_d_secure_page(pi: JSONObject, return_url: str) -> str:
        amount = f"{pi['amount'] / 100:.2f} {pi['currency'].upper()}"
        hidden = f'<input type="hidden" name="return_url" value="{html.escape(return_url)}">'
        return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>3D Secure test payment</title></head>
<body style="font-family: sans-serif; max-width: 30rem; margin: 3rem auto">
<h1>3D Secure test payment</h1>
<p>TEST MODE — fake Stripe on 127.0.0.1. Authenticate the payment of
<strong>{html.escape(amount)}</strong> ({html.escape(pi["id"])})?</p>
<form method="post" action="/3ds/{pi["id"]}/complete">{hidden}
<button type="submit">Complete</button></form>
<form method="post" action="/3ds/{pi["id"]}/fail">{hidden}
<button type="submit">Fail</button></form>
</body></html>"""

    # The fake Stripe.js -----------------------------------------------------------------

    def _stripe_js(self) -> Response:
        config = json.dumps({"base": self.base_url})
        script = _STRIPE_JS.replace("__CONFIG__", config)
        return Response(
            200,
            script.encode(),
            {"Content-Type": "application/javascript; charset=utf-8", "Cache-Control": "no-store"},
        )


def _card_error(code: str, message: str, param: str) -> _ApiError:
    """A card refused before any charge (Stripe.js shows it at the field)."""
    return _ApiError(402, message, "card_error", code=code, param=param)


def _with_query(url: str, **params: str) -> str:
    parts = urlsplit(url)
    query = "&".join(filter(None, [parts.query, urlencode(params)]))
    return urlunsplit(parts._replace(query=query))


# The subset of Stripe.js the shop uses. Plain ES2017, no external resources; __CONFIG__
# becomes {"base": "<this fake's base URL>"} when served.
_STRIPE_JS = r"""/* Fake Stripe.js (TEST MODE): the Payment Element and confirmPayment. */
(function () {
  "use strict";
  var CONFIG = __CONFIG__;
  var TEXTS = {
    en: {
      number: "Card number", expiry: "Expiry date", cvc: "CVC",
      card_declined: "Your card was declined.",
      insufficient_funds: "Your card has insufficient funds.",
      incorrect_number: "Your card number is incorrect.",
      expired_card: "Your card has expired.",
      invalid_expiry_month: "Your card's expiration month is invalid.",
      invalid_expiry_year: "Your card's expiration year is invalid.",
      invalid_cvc: "Your card's security code is invalid.",
      incomplete_number: "Your card number is incomplete.",
      incomplete_expiry: "Your card's expiration date is incomplete.",
      incomplete_cvc: "Your card's security code is incomplete.",
      unexpected: "An unexpected error occurred."
    },
    nl: {
      number: "Kaartnummer", expiry: "Vervaldatum", cvc: "CVC",
      card_declined: "Uw kaart is geweigerd.",
      insufficient_funds: "Uw kaart heeft onvoldoende saldo.",
      incorrect_number: "Uw kaartnummer is onjuist.",
      expired_card: "Uw kaart is verlopen.",
      invalid_expiry_month: "De vervalmaand van uw kaart is ongeldig.",
      invalid_expiry_year: "Het vervaljaar van uw kaart is ongeldig.",
      invalid_cvc: "De beveiligingscode van uw kaart is ongeldig.",
      incomplete_number: "Uw kaartnummer is onvolledig.",
      incomplete_expiry: "De vervaldatum van uw kaart is onvolledig.",
      incomplete_cvc: "De beveiligingscode van uw kaart is onvolledig.",
      unexpected: "Er is een onverwachte fout opgetreden."
    },
    de: {
      number: "Kartennummer", expiry: "Ablaufdatum", cvc: "Prüfziffer",
      card_declined: "Ihre Karte wurde abgelehnt.",
      insufficient_funds: "Ihre Karte ist nicht ausreichend gedeckt.",
      incorrect_number: "Ihre Kartennummer ist ungültig.",
      expired_card: "Ihre Karte ist abgelaufen.",
      invalid_expiry_month: "Der Ablaufmonat Ihrer Karte ist ungültig.",
      invalid_expiry_year: "Das Ablaufjahr Ihrer Karte ist ungültig.",
      invalid_cvc: "Die Prüfziffer Ihrer Karte ist ungültig.",
      incomplete_number: "Ihre Kartennummer ist unvollständig.",
      incomplete_expiry: "Das Ablaufdatum Ihrer Karte ist unvollständig.",
      incomplete_cvc: "Die Prüfziffer Ihrer Karte ist unvollständig.",
      unexpected: "Ein unerwarteter Fehler ist aufgetreten."
    }
  };

  function pickLocale(locale) {
    var wanted = !locale || locale === "auto" ? (navigator.language || "en") : locale;
    var short = String(wanted).slice(0, 2).toLowerCase();
    return TEXTS[short] ? short : "en";
  }

  function errorResult(type, code, locale, serverError) {
    var texts = TEXTS[locale];
    var declineCode = serverError && serverError.decline_code;
    var key = declineCode === "insufficient_funds" ? declineCode : code;
    var error = {
      type: type,
      code: code,
      message: texts[key] || (serverError && serverError.message) || texts.unexpected
    };
    if (serverError) {
      if (serverError.decline_code) { error.decline_code = serverError.decline_code; }
      if (serverError.param) { error.param = serverError.param; }
      if (serverError.payment_intent) { error.payment_intent = serverError.payment_intent; }
    }
    return { error: error };
  }

  function withQuery(url, params) {
    var target = new URL(url, window.location.href);
    Object.keys(params).forEach(function (name) { target.searchParams.set(name, params[name]); });
    return target.toString();
  }

  function PaymentElement(elements, options) {
    this._elements = elements;
    this._options = options || {};
    this._handlers = {};
    this._root = null;
    this._inputs = null;
  }

  PaymentElement.prototype.on = function (event, handler) {
    (this._handlers[event] = this._handlers[event] || []).push(handler);
    return this;
  };

  PaymentElement.prototype._fire = function (event, payload) {
    (this._handlers[event] || []).forEach(function (handler) { handler(payload); });
  };

  PaymentElement.prototype.mount = function (target) {
    var host = typeof target === "string" ? document.querySelector(target) : target;
    if (!host) {
      throw new Error("IntegrationError: the selector " + target + " matched no element.");
    }
    var texts = TEXTS[this._elements._locale];
    var root = document.createElement("div");
    root.className = "FakeStripeElement";
    root.style.cssText = "display:grid;gap:.25rem;font:inherit";
    var self = this;
    function field(id, label, placeholder, autocomplete) {
      var labelEl = document.createElement("label");
      labelEl.htmlFor = id;
      labelEl.textContent = label;
      var input = document.createElement("input");
      input.id = id;
      input.name = id;
      input.type = "text";
      input.inputMode = "numeric";
      input.autocomplete = autocomplete;
      input.placeholder = placeholder;
      input.addEventListener("input", function () {
        self._fire("change", {
          elementType: "payment",
          empty: self._empty(),
          complete: self._complete(),
          value: { type: "card" }
        });
      });
      root.appendChild(labelEl);
      root.appendChild(input);
      return input;
    }
    this._inputs = {
      number: field("cardnumber", texts.number, "1234 1234 1234 1234", "cc-number"),
      expiry: field("exp-date", texts.expiry, "MM / YY", "cc-exp"),
      cvc: field("cvc", texts.cvc, "CVC", "cc-csc")
    };
    var note = document.createElement("p");
    note.className = "FakeStripeElement-note";
    note.style.cssText = "font-size:.8em;opacity:.7;margin:.25rem 0 0";
    note.textContent = "TEST MODE — fake Stripe on 127.0.0.1";
    root.appendChild(note);
    host.innerHTML = "";
    host.appendChild(root);
    this._root = root;
    setTimeout(function () { self._fire("ready", { elementType: "payment" }); }, 0);
  };

  PaymentElement.prototype.unmount = function () {
    if (this._root && this._root.parentNode) { this._root.parentNode.removeChild(this._root); }
    this._root = null;
  };
  PaymentElement.prototype.destroy = PaymentElement.prototype.unmount;
  PaymentElement.prototype.update = function () {};
  PaymentElement.prototype.focus = function () {
    if (this._inputs) { this._inputs.number.focus(); }
  };
  PaymentElement.prototype.blur = function () {};
  PaymentElement.prototype.clear = function () {
    if (!this._inputs) { return; }
    var inputs = this._inputs;
    Object.keys(inputs).forEach(function (name) { inputs[name].value = ""; });
  };

  PaymentElement.prototype._empty = function () {
    var inputs = this._inputs;
    return !inputs || Object.keys(inputs).every(function (name) { return !inputs[name].value; });
  };

  PaymentElement.prototype._complete = function () {
    return !this._validate();
  };

  // Client-side checks Stripe.js does before calling the API: incomplete fields.
  PaymentElement.prototype._validate = function () {
    if (!this._inputs) { return "incomplete_number"; }
    var number = this._inputs.number.value.replace(/\D/g, "");
    var expiry = this._inputs.expiry.value.replace(/\D/g, "");
    var cvc = this._inputs.cvc.value.replace(/\D/g, "");
    if (number.length < 12) { return "incomplete_number"; }
    if (expiry.length !== 4 && expiry.length !== 6) { return "incomplete_expiry"; }
    if (cvc.length < 3) { return "incomplete_cvc"; }
    return null;
  };

  PaymentElement.prototype._card = function () {
    var expiry = this._inputs.expiry.value.replace(/\D/g, "");
    return {
      number: this._inputs.number.value.replace(/\s/g, ""),
      exp_month: expiry.slice(0, 2),
      exp_year: expiry.slice(2),
      cvc: this._inputs.cvc.value.trim()
    };
  };

  function Elements(stripe, options) {
    options = options || {};
    this._stripe = stripe;
    this._clientSecret = options.clientSecret || null;
    this._locale = pickLocale(options.locale || stripe._locale);
    this._element = null;
  }

  Elements.prototype.create = function (type, options) {
    if (type !== "payment") {
      throw new Error("IntegrationError: the fake Stripe.js has no " + type + " element.");
    }
    this._element = new PaymentElement(this, options);
    return this._element;
  };
  Elements.prototype.getElement = function (type) {
    return type === "payment" ? this._element : null;
  };
  Elements.prototype.update = function (options) {
    if (options && options.locale) { this._locale = pickLocale(options.locale); }
  };
  Elements.prototype.fetchUpdates = function () { return Promise.resolve({}); };
  Elements.prototype.submit = function () {
    var code = this._element ? this._element._validate() : "incomplete_number";
    return Promise.resolve(code ? errorResult("validation_error", code, this._locale) : {});
  };

  function FakeStripe(publishableKey, options) {
    if (!(this instanceof FakeStripe)) { return new FakeStripe(publishableKey, options); }
    if (!publishableKey) {
      throw new Error("IntegrationError: please call Stripe() with your publishable key.");
    }
    this._key = publishableKey;
    this._locale = (options && options.locale) || "auto";
  }

  FakeStripe.prototype.elements = function (options) { return new Elements(this, options); };

  FakeStripe.prototype._api = function (method, path, params) {
    var body = new URLSearchParams(params);
    body.set("key", this._key);  // in the body, as Stripe.js does: no CORS preflight
    var url = CONFIG.base + path;
    var init = { method: method };
    if (method === "GET") { url += "?" + body.toString(); } else { init.body = body; }
    return fetch(url, init).then(function (response) {
      return response.json().then(function (data) { return { ok: response.ok, data: data }; });
    });
  };

  FakeStripe.prototype.retrievePaymentIntent = function (clientSecret) {
    var id = String(clientSecret).split("_secret_")[0];
    var path = "/v1/payment_intents/" + id;
    return this._api("GET", path, { client_secret: clientSecret }).then(function (answer) {
      return answer.ok ? { paymentIntent: answer.data } : { error: answer.data.error };
    });
  };

  FakeStripe.prototype.confirmPayment = function (options) {
    options = options || {};
    var elements = options.elements;
    var locale = elements ? elements._locale : pickLocale(this._locale);
    var clientSecret = options.clientSecret || (elements && elements._clientSecret);
    var element = elements && elements._element;
    if (!clientSecret || !element) {
      return Promise.resolve(errorResult("invalid_request_error", "unexpected", locale));
    }
    var invalid = element._validate();
    if (invalid) { return Promise.resolve(errorResult("validation_error", invalid, locale)); }
    var confirmParams = options.confirmParams || {};
    var returnUrl = confirmParams.return_url;
    var card = element._card();
    var params = {
      client_secret: clientSecret,
      "payment_method_data[type]": "card",
      "payment_method_data[card][number]": card.number,
      "payment_method_data[card][exp_month]": card.exp_month,
      "payment_method_data[card][exp_year]": card.exp_year,
      "payment_method_data[card][cvc]": card.cvc
    };
    if (returnUrl) { params.return_url = returnUrl; }
    var id = String(clientSecret).split("_secret_")[0];
    var path = "/v1/payment_intents/" + id + "/confirm";
    return this._api("POST", path, params).then(function (answer) {
      if (!answer.ok) {
        var error = answer.data.error || {};
        return errorResult(error.type || "api_error", error.code || "unexpected", locale, error);
      }
      var intent = answer.data;
      var action = intent.next_action;
      if (intent.status === "requires_action" && action && action.redirect_to_url) {
        window.location.assign(action.redirect_to_url.url);
        return new Promise(function () {});  // the page is going away, as with Stripe.js
      }
      if (options.redirect === "if_required" || !returnUrl) { return { paymentIntent: intent }; }
      window.location.assign(withQuery(returnUrl, {
        payment_intent: intent.id,
        payment_intent_client_secret: intent.client_secret,
        redirect_status: intent.status === "succeeded" || intent.status === "processing"
          ? "succeeded" : "failed"
      }));
      return new Promise(function () {});
    }, function (failure) {
      var message = TEXTS[locale].unexpected + " (" + failure + ")";
      return { error: { type: "api_connection_error", message: message } };
    });
  };

  window.Stripe = FakeStripe;
})();
"""
