"""Card payments (Visa, MasterCard, American Express) through Stripe's PaymentIntents.

The order page mounts Stripe.js's Payment Element with the intent's client secret; the
order is paid only by what Stripe says server-side: a signed ``payment_intent.succeeded``
(or ``charge.succeeded``) webhook, or the intent retrieved when the buyer returns. Every
create carries an idempotency key, so a reload or a retried job never opens a second
charge. A subscription's card is kept (``setup_future_usage``) and renewals are charged
off-session with it (R21).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import stripe

from shop import hookimpl
from shop.catalog.products import N_
from shop.i18n import Translator
from shop.money import Money
from shop.payments.methods import (
    ChargeFailure,
    ChargeResult,
    ContentSources,
    InvalidWebhook,
    MalformedEvent,
    PaymentMethod,
    PaymentRequest,
    PaymentStart,
    ProviderPayment,
    ProviderUnavailable,
    WebhookEvent,
    order_number,
    provider_id,
)
from shop.plugins.settings import Setting, missing
from shop.settings import Settings

# PaymentIntent statuses in which Stripe lets the amount change.
UPDATABLE = ("requires_payment_method", "requires_confirmation", "requires_action")

# Stripe's keys and addresses, under their documented variables (the base URLs point the SDK
# and Stripe.js at the fake Stripe in test mode and the tests).
SETTINGS = [
    Setting(
        "secret_key",
        secret=True,
        required=True,
        env="SHOP_STRIPE_SECRET_KEY",
        help="Stripe's secret API key (sk_live_… or sk_test_…)",
    ),
    Setting(
        "publishable_key",
        required=True,
        env="SHOP_STRIPE_PUBLISHABLE_KEY",
        help="Stripe's publishable key, for Stripe.js on the order page",
    ),
    Setting(
        "webhook_secret",
        secret=True,
        required=True,
        env="SHOP_STRIPE_WEBHOOK_SECRET",
        help="the signing secret of the shop's webhook endpoint at Stripe (whsec_…)",
    ),
    Setting(
        "api_base",
        default="https://api.stripe.com",
        env="SHOP_STRIPE_API_BASE",
        help="Stripe's API",
    ),
    Setting(
        "js_url",
        default="https://js.stripe.com/v3/",
        env="SHOP_STRIPE_JS_URL",
        help="where Stripe.js is loaded from",
    ),
]

# The presentment currencies Stripe charges cards in (stripe.com/docs/currencies), so a
# currency plugin's currency reaches card checkout without a change here.
_STRIPE_CODES = """
AED AFN ALL AMD ANG AOA ARS AUD AWG AZN BAM BBD BDT BGN BIF BMD BND BOB BRL BSD BWP
BYN BZD CAD CDF CHF CLP CNY COP CRC CVE CZK DJF DKK DOP DZD EGP ETB EUR FJD FKP GBP
GEL GIP GMD GNF GTQ GYD HKD HNL HTG HUF IDR ILS INR ISK JMD JPY KES KGS KHR KMF KRW
KYD KZT LAK LBP LKR LRD LSL MAD MDL MGA MKD MMK MNT MOP MUR MVR MWK MXN MYR MZN NAD
NGN NIO NOK NPR NZD PAB PEN PGK PHP PKR PLN PYG QAR RON RSD RUB RWF SAR SBD SCR SEK
SGD SHP SLE SOS SRD SZL THB TJS TOP TRY TTD TWD TZS UAH UGX USD UYU UZS VND VUV WST
XAF XCD XOF XPF YER ZAR ZMW
"""
CURRENCIES = frozenset(_STRIPE_CODES.split())


def config(settings: Settings) -> dict[str, Any]:
    """The card plugin's settings, defaults filled in (settings built without the plugins'
    values, as some tests do, get the defaults)."""
    return {s.name: s.default for s in SETTINGS} | dict(settings.plugin("card"))


def stripe_client(settings: Settings) -> stripe.StripeClient:
    own = config(settings)
    assert own["secret_key"]
    return stripe.StripeClient(
        own["secret_key"],
        base_addresses={"api": str(own["api_base"]).rstrip("/")},
        max_network_retries=2,  # safe: every create carries an idempotency key
    )


def _origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"


def order_number_of(metadata: Mapping[str, Any] | None) -> int | None:
    if not isinstance(metadata, Mapping):
        return None
    return order_number(metadata.get("order_number", ""))


def minor_units(value: object) -> int:
    """An amount as Stripe sends it, a whole number of cents; ``ValueError`` otherwise.
    Whether the number is plausible (not negative, not absurd) is the shop's amount rule,
    applied with the order at hand (``shop.orders.amounts``)."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValueError(f"not an amount: {value!r}")
    return value


USED = frozenset({"payment_intent.succeeded", "charge.succeeded", "payment_intent.payment_failed"})


def payment_of_intent(intent: Mapping[str, Any]) -> ProviderPayment | None:
    """A succeeded PaymentIntent as money received; the card is kept if the buyer agreed."""
    if intent.get("status") != "succeeded":
        return None
    kept = intent.get("setup_future_usage") == "off_session"
    customer, method = intent.get("customer"), intent.get("payment_method")
    return ProviderPayment(
        reference=provider_id(intent["id"]),
        order_number=order_number_of(intent.get("metadata")),
        amount=Money.from_minor_units(
            minor_units(intent.get("amount_received") or intent["amount"]),
            str(intent["currency"]).upper(),
        ),
        saved_customer=str(customer) if kept and customer and method else None,
        saved_method=str(method) if kept and customer and method else None,
        detail=card_detail(intent.get("latest_charge")),
    )


def card_detail(charge: object) -> dict[str, str] | None:
    """What the buyer is shown about the card of a charge (brand, last 4 digits), when the
    charge is at hand as an object (an expanded ``latest_charge``, a charge event)."""
    if not isinstance(charge, Mapping):
        return None
    card = (charge.get("payment_method_details") or {}).get("card") or {}
    if not card.get("brand") or not card.get("last4"):
        return None
    return {"brand": str(card["brand"]), "last4": str(card["last4"])}


def payment_of_charge(charge: Mapping[str, Any]) -> ProviderPayment | None:
    """A succeeded charge, counted under its PaymentIntent's id: the same money."""
    if charge.get("status") != "succeeded" or not charge.get("payment_intent"):
        return None
    return ProviderPayment(
        reference=provider_id(charge["payment_intent"]),
        order_number=order_number_of(charge.get("metadata")),
        amount=Money.from_minor_units(
            minor_units(charge["amount"]), str(charge["currency"]).upper()
        ),
        detail=card_detail(charge),
    )


def failure_of_intent(intent: Mapping[str, Any], fallback: str = "card_declined") -> ChargeFailure:
    error = intent.get("last_payment_error") or {}
    return ChargeFailure(
        order_number=order_number_of(intent.get("metadata")),
        code=str(error.get("decline_code") or error.get("code") or fallback),
        message=str(error.get("message") or ""),
    )


@dataclass(frozen=True)
class Card:
    code: str = "card"
    name: str = N_("Card (Visa, MasterCard, American Express)")
    offline: bool = False
    can_charge_renewals: bool = True
    provider: str = "stripe"

    def accepts(self, currency: str) -> bool:
        return currency in CURRENCIES

    def missing_settings(self, settings: Settings) -> tuple[str, ...]:
        return missing("card", SETTINGS, config(settings))

    def content_sources(self, settings: Settings) -> ContentSources:
        """Stripe.js from ``SHOP_STRIPE_JS_URL`` talking to ``SHOP_STRIPE_API_BASE`` (the
        fake's one origin in test mode). Stripe's own Stripe.js also frames its subdomains
        and 3D Secure on hooks.stripe.com, as Stripe's CSP guide lists."""
        own = config(settings)
        script, api = _origin(own["js_url"]), _origin(own["api_base"])
        if urlsplit(own["js_url"]).hostname != "js.stripe.com":
            return ContentSources(scripts=(script,), frames=(script,), connections=(api,))
        return ContentSources(
            scripts=(script, "https://*.js.stripe.com"),
            frames=(script, "https://*.js.stripe.com", "https://hooks.stripe.com"),
            connections=(api,),
        )

    def start(self, request: PaymentRequest, settings: Settings, t: Translator) -> PaymentStart:
        """The order's PaymentIntent: the one kept on the order, retrieved (its amount set
        to what is due now), or else a new one (by idempotency key, so concurrent first
        visits share it). Never a second one while the first can still take the money."""
        try:
            client = stripe_client(settings)
            intent = self._kept_intent(client, request)
            if intent is not None and intent.status in ("succeeded", "processing"):
                return PaymentStart(
                    instructions=(
                        t.gettext(
                            "Your card payment was received and is being confirmed; this "
                            "page shows the order as paid in a moment."
                        ),
                    ),
                    provider_payment=intent.id,
                )
            if intent is None:
                intent = self._new_intent(client, request)
        except stripe.StripeError:
            return PaymentStart(
                instructions=(
                    t.gettext(
                        "Card payment cannot be reached right now. Please reload this page "
                        "in a few minutes, or choose another payment method."
                    ),
                )
            )
        return PaymentStart(
            client_secret=intent.client_secret,
            publishable_key=config(settings)["publishable_key"],
            script_url=config(settings)["js_url"],
            provider_payment=intent.id,
        )

    def _kept_intent(
        self, client: stripe.StripeClient, request: PaymentRequest
    ) -> stripe.PaymentIntent | None:
        """The order's PaymentIntent if it can still be paid (or was), amount updated."""
        if not request.provider_payment or not request.provider_payment.startswith("pi_"):
            return None
        try:
            intent = client.v1.payment_intents.retrieve(request.provider_payment)
        except stripe.InvalidRequestError:
            return None  # no such intent (another account or test mode): open a new one
        if intent.status == "canceled":
            return None
        if intent.status in UPDATABLE and intent.amount != request.amount.minor_units:
            intent = client.v1.payment_intents.update(
                intent.id, params={"amount": request.amount.minor_units}
            )
        return intent

    def _new_intent(
        self, client: stripe.StripeClient, request: PaymentRequest
    ) -> stripe.PaymentIntent:
        params: dict[str, Any] = {
            "amount": request.amount.minor_units,
            "currency": request.amount.currency.lower(),
            "description": f"Order {request.order_number}",
            "receipt_email": request.email,
            "metadata": {
                "order_number": str(request.order_number),
                "order_token": request.order_token,
            },
            "automatic_payment_methods": {"enabled": True},
        }
        key = f"order-{request.order_token}-{request.amount.minor_units}"
        if request.provider_payment:  # the kept one was cancelled: a new one, a new key
            key += f"-after-{request.provider_payment}"
        if request.save_for_renewals:
            customer = client.v1.customers.create(
                params={"email": request.email, "metadata": params["metadata"]},
                options={"idempotency_key": f"customer-{request.order_token}"},
            )
            params.update(customer=customer.id, setup_future_usage="off_session")
        return client.v1.payment_intents.create(
            params=params,  # type: ignore[arg-type]
            options={"idempotency_key": key},
        )

    def parse_webhook(
        self, body: bytes, headers: Mapping[str, str], settings: Settings
    ) -> WebhookEvent:
        try:
            stripe.WebhookSignature.verify_header(
                body, headers.get("stripe-signature"), config(settings)["webhook_secret"] or ""
            )
            event = json.loads(body)
        except (ValueError, stripe.SignatureVerificationError):
            raise InvalidWebhook from None
        try:
            event_id, kind = provider_id(event["id"]), event["type"]
            if not isinstance(kind, str) or not isinstance(event["data"], Mapping):
                raise TypeError
        except (KeyError, TypeError, ValueError):
            raise MalformedEvent from None
        data = event["data"].get("object")
        if not isinstance(data, Mapping):  # e.g. data.object a list
            return WebhookEvent(event_id, kind, malformed=kind in USED)
        try:
            if kind == "payment_intent.succeeded":
                return WebhookEvent(event_id, kind, payment=payment_of_intent(data))
            if kind == "charge.succeeded":
                return WebhookEvent(event_id, kind, payment=payment_of_charge(data))
            if kind == "payment_intent.payment_failed":
                return WebhookEvent(event_id, kind, failure=failure_of_intent(data))
        except (KeyError, TypeError, ValueError, AttributeError, ArithmeticError):
            return WebhookEvent(event_id, kind, malformed=True)
        return WebhookEvent(event_id, kind)

    def confirm_return(
        self, query: Mapping[str, str], settings: Settings
    ) -> ProviderPayment | ChargeFailure | None:
        """Stripe.js sends the buyer back with ``?payment_intent=pi_…``: ask Stripe."""
        intent_id = query.get("payment_intent", "")
        if not intent_id.startswith("pi_"):
            return None
        try:
            intent = (
                stripe_client(settings)
                .v1.payment_intents.retrieve(intent_id, params={"expand": ["latest_charge"]})
                .to_dict()
            )
        except stripe.StripeError:
            return None  # the webhook will tell
        if intent.get("status") == "requires_payment_method" and intent.get("last_payment_error"):
            return failure_of_intent(intent)
        return payment_of_intent(intent)

    def charge_renewal(
        self, request: PaymentRequest, customer: str, method: str, settings: Settings
    ) -> ChargeResult:
        """Charge the kept card without the buyer, under the attempt's idempotency key and
        with the order number in its metadata, so a lost answer can be found (R21). An
        answer that does not say whether money moved (no connection, a 5xx) is undecided."""
        key = request.idempotency_key or f"renewal-{request.order_token}"
        params: dict[str, Any] = {
            "amount": request.amount.minor_units,
            "currency": request.amount.currency.lower(),
            "customer": customer,
            "payment_method": method,
            "off_session": True,
            "confirm": True,
            "description": f"Renewal order {request.order_number}",
            "metadata": {
                "order_number": str(request.order_number),
                "order_token": request.order_token,
                "attempt": key,
            },
            "expand": ["latest_charge"],
        }
        try:
            intent = (
                stripe_client(settings)
                .v1.payment_intents.create(
                    params=params,  # type: ignore[arg-type]
                    options={"idempotency_key": key},
                )
                .to_dict()
            )
        except stripe.CardError as error:
            body: dict[str, Any] = error.json_body if isinstance(error.json_body, dict) else {}
            details = body.get("error") or {}
            code = details.get("decline_code") or details.get("code") or "card_declined"
            message = str(details.get("message") or "")
            return ChargeResult(failure=ChargeFailure(request.order_number, str(code), message))
        except stripe.InvalidRequestError as error:
            if isinstance(error, stripe.IdempotencyError):
                return ChargeResult()  # the key's first request may still be running
            return ChargeResult(  # refused before charging: nothing moved
                failure=ChargeFailure(request.order_number, "provider_error", str(error))
            )
        except stripe.StripeError:
            return ChargeResult()  # it may or may not have charged: reconciled later
        return result_of_intent(intent)

    def find_renewal_charge(
        self, request: PaymentRequest, customer: str, settings: Settings
    ) -> ChargeResult | None:
        """The customer's PaymentIntents for this order (Stripe's list by customer is
        consistent, unlike search): paid, declined, still deciding, or None (none)."""
        try:
            listed = stripe_client(settings).v1.payment_intents.list(
                params={"customer": customer, "limit": 100, "expand": ["data.latest_charge"]}
            )
            everything = [intent.to_dict() for intent in listed.auto_paging_iter()]
            intents = [
                intent
                for intent in everything
                if order_number_of(intent.get("metadata")) == request.order_number
            ]
        except stripe.StripeError as error:
            raise ProviderUnavailable(str(error)) from error
        if not intents:
            return None
        results = [result_of_intent(intent) for intent in intents]
        paid = [r for r in results if r.payment is not None]
        if paid:
            return paid[0]
        if any(not r.decided for r in results):
            return ChargeResult()
        return results[0]

    def cancel_payment(self, provider_payment: str, settings: Settings) -> bool:
        """Cancel the PaymentIntent of a closed order; one that already succeeded (or was
        cancelled) cannot take money again, and a payment that arrives anyway is kept on
        record and flagged (``paid_after_close``)."""
        try:
            stripe_client(settings).v1.payment_intents.cancel(provider_payment)
        except stripe.InvalidRequestError:
            return True  # succeeded, already cancelled, or unknown: nothing left to cancel
        except stripe.StripeError:
            return False
        return True


def result_of_intent(intent: Mapping[str, Any]) -> ChargeResult:
    """An off-session PaymentIntent as the charge's outcome."""
    payment = payment_of_intent(intent)
    if payment is not None:
        return ChargeResult(payment=payment)
    if intent.get("status") in ("processing", "requires_confirmation"):
        return ChargeResult()
    if intent.get("status") == "requires_action":  # the bank wants the buyer present
        return ChargeResult(failure=failure_of_intent(intent, "authentication_required"))
    return ChargeResult(failure=failure_of_intent(intent))


@hookimpl
def shop_payment_methods() -> list[PaymentMethod]:
    return [Card()]


@hookimpl
def shop_settings() -> list[Setting]:
    return SETTINGS
