"""PayPal through PayPal's Orders v2 API and its maintained server SDK (``paypal-server-sdk``).

Checkout creates a PayPal order and sends the buyer to approve it; on the buyer's return
the shop captures it server-side, and the capture (or PayPal's signed
``PAYMENT.CAPTURE.COMPLETED`` webhook, checked through PayPal's verification call) pays
the order, once (R13). PayPal does not take DZD. Renewals are invoiced, not charged: that
would need PayPal's vault (billing agreements), which this plugin does not use yet.
"""

from __future__ import annotations

import functools
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import requests
from paypalserversdk.exceptions.error_exception import ErrorException
from paypalserversdk.models.amount_with_breakdown import AmountWithBreakdown
from paypalserversdk.models.checkout_payment_intent import CheckoutPaymentIntent
from paypalserversdk.models.order_request import OrderRequest
from paypalserversdk.models.payment_source import PaymentSource
from paypalserversdk.models.paypal_wallet import PaypalWallet
from paypalserversdk.models.paypal_wallet_experience_context import (
    PaypalWalletExperienceContext,
)
from paypalserversdk.models.purchase_unit_request import PurchaseUnitRequest

from shop import hookimpl
from shop.catalog.products import N_
from shop.i18n import Translator
from shop.money import Money
from shop.payments.methods import (
    ChargeFailure,
    ChargeResult,
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
from shop.plugins.payments.paypal_sdk import LIVE_API, SANDBOX_API, paypal_client, verify_webhook
from shop.plugins.settings import Setting, missing
from shop.settings import Settings

# PayPal's keys and address, under their documented variables.
SETTINGS = [
    Setting(
        "client_id",
        required=True,
        env="SHOP_PAYPAL_CLIENT_ID",
        help="the REST app's client id",
    ),
    Setting(
        "client_secret",
        secret=True,
        required=True,
        env="SHOP_PAYPAL_CLIENT_SECRET",
        help="the REST app's secret",
    ),
    Setting(
        "webhook_id",
        required=True,
        env="SHOP_PAYPAL_WEBHOOK_ID",
        help="the id of the shop's webhook at PayPal, for verifying its events",
    ),
    Setting(
        "base_url",
        default=SANDBOX_API,
        env="SHOP_PAYPAL_BASE_URL",
        help=f"PayPal's REST API (live: {LIVE_API})",
    ),
]

# The currencies PayPal's REST API takes (developer.paypal.com/api/rest/reference/
# currency-codes); a currency plugin's currency in this list reaches PayPal checkout
# without a change here. No DZD.
_PAYPAL_CODES = """
AUD BRL CAD CNY CZK DKK EUR HKD HUF ILS JPY MYR MXN TWD NZD NOK PHP PLN GBP SGD SEK
CHF THB USD
"""
CURRENCIES = frozenset(_PAYPAL_CODES.split())
PAYPAL_LOCALES = {"de": "de-DE", "nl": "nl-NL", "en": "en-GB"}


@functools.lru_cache(maxsize=4)
def client_for(base_url: str, client_id: str, client_secret: str) -> Any:
    """One SDK client per account: it keeps its OAuth token until it expires."""
    return paypal_client(base_url, client_id, client_secret)


def config(settings: Settings) -> dict[str, Any]:
    """The PayPal plugin's settings, defaults filled in."""
    return {s.name: s.default for s in SETTINGS} | dict(settings.plugin("paypal"))


def client(settings: Settings) -> Any:
    own = config(settings)
    assert own["client_id"] and own["client_secret"]
    return client_for(str(own["base_url"]).rstrip("/"), own["client_id"], own["client_secret"])


def order_number_of(value: object) -> int | None:
    return order_number(value)


def amount_value(value: object) -> str:
    """A capture's amount as PayPal sends it, a decimal string ("120.00")."""
    if not isinstance(value, str) or not AMOUNT.fullmatch(value):
        raise ValueError(f"not an amount: {value!r}")
    return value


def payment_of_capture(capture: Mapping[str, Any]) -> ProviderPayment | None:
    """A completed capture (as PayPal's JSON) as money received."""
    if capture.get("status") != "COMPLETED":
        return None
    amount = capture.get("amount") or {}
    return ProviderPayment(
        reference=provider_id(capture["id"]),
        order_number=order_number_of(capture.get("custom_id")),
        amount=Money.of(amount_value(amount["value"]), str(amount["currency_code"])),
    )


AMOUNT = re.compile(r"[0-9]{1,15}(\.[0-9]{1,3})?")


def first_capture(order: Any) -> Mapping[str, Any] | None:
    """The capture of a captured SDK order, as PayPal's JSON shape."""
    # The SDK's models lack (rather than null) the fields a response leaves out.
    for unit in getattr(order, "purchase_units", None) or []:
        payments = getattr(unit, "payments", None)
        for capture in getattr(payments, "captures", None) or []:
            return {
                "id": capture.id,
                "status": capture.status,
                "custom_id": capture.custom_id,
                "amount": {
                    "value": capture.amount.value,
                    "currency_code": capture.amount.currency_code,
                },
            }
    return None


@dataclass(frozen=True)
class PayPal:
    code: str = "paypal"
    name: str = N_("PayPal")
    offline: bool = False
    can_charge_renewals: bool = False
    provider: str = "paypal"

    def accepts(self, currency: str) -> bool:
        return currency in CURRENCIES

    def missing_settings(self, settings: Settings) -> tuple[str, ...]:
        return missing("paypal", SETTINGS, config(settings))

    def start(self, request: PaymentRequest, settings: Settings, t: Translator) -> PaymentStart:
        """The PayPal order to approve: the one kept on the order while it can still be
        approved for the amount due, else a new one (by request id, so concurrent first
        visits share it). Approved but not captured yet: back to the shop, which captures."""
        try:
            orders = client(settings).orders
            kept = self._kept_order(orders, request)
            if kept is not None:
                return kept
            order = orders.create_order(
                {
                    "body": self._order_request(request, settings),
                    "paypal_request_id": f"order-{request.order_token}-"
                    f"{request.amount.minor_units}",
                }
            ).body
            approve = next(link.href for link in order.links if link.rel == "payer-action")
        except Exception:  # the SDK raises its own, requests' and auth errors alike
            return PaymentStart(
                instructions=(
                    t.gettext(
                        "PayPal cannot be reached right now. Please reload this page in a few "
                        "minutes, or choose another payment method."
                    ),
                )
            )
        return PaymentStart(redirect_url=str(approve), provider_payment=str(order.id))

    def _kept_order(self, orders: Any, request: PaymentRequest) -> PaymentStart | None:
        if not request.provider_payment or not request.provider_payment.isalnum():
            return None
        try:
            order = orders.get_order({"id": request.provider_payment}).body
        except ErrorException:
            return None  # unknown at PayPal (another account): open a new one
        units = getattr(order, "purchase_units", None) or []
        amount = getattr(units[0], "amount", None) if units else None
        if (
            amount is None
            or amount.currency_code != request.amount.currency
            or Money.of(str(amount.value), request.amount.currency) != request.amount
        ):
            return None  # another amount is due now: a new PayPal order for it
        if order.status == "APPROVED":
            return PaymentStart(
                redirect_url=f"{request.return_url}?token={order.id}",
                provider_payment=str(order.id),
            )
        links = getattr(order, "links", None) or []
        approve = next((link.href for link in links if link.rel == "payer-action"), None)
        if order.status not in ("CREATED", "PAYER_ACTION_REQUIRED") or approve is None:
            return None
        return PaymentStart(redirect_url=str(approve), provider_payment=str(order.id))

    def _order_request(self, request: PaymentRequest, settings: Settings) -> OrderRequest:
        number = str(request.order_number)
        return OrderRequest(
            intent=CheckoutPaymentIntent.CAPTURE,
            purchase_units=[
                PurchaseUnitRequest(
                    amount=AmountWithBreakdown(
                        currency_code=request.amount.currency, value=str(request.amount.amount)
                    ),
                    reference_id=number,
                    custom_id=number,
                    invoice_id=number,
                    description=f"{settings.shop_name} {number}"[:127],
                )
            ],
            payment_source=PaymentSource(
                paypal=PaypalWallet(
                    experience_context=PaypalWalletExperienceContext(
                        brand_name=settings.shop_name[:127],
                        locale=PAYPAL_LOCALES.get(request.locale, "en-GB"),
                        shipping_preference="NO_SHIPPING",
                        user_action="PAY_NOW",
                        return_url=request.return_url,
                        cancel_url=request.return_url.removesuffix("/return"),
                    )
                )
            ),
        )

    def parse_webhook(
        self, body: bytes, headers: Mapping[str, str], settings: Settings
    ) -> WebhookEvent:
        try:
            genuine = verify_webhook(
                client(settings), headers, body, config(settings)["webhook_id"] or ""
            )
        except requests.RequestException as error:
            raise ProviderUnavailable(str(error)) from error
        if not genuine:
            raise InvalidWebhook
        try:
            event = json.loads(body)
            event_id, kind = provider_id(event["id"]), event["event_type"]
            if not isinstance(kind, str):
                raise TypeError
        except (ValueError, KeyError, TypeError):
            raise MalformedEvent from None
        resource = event.get("resource") or {}
        try:
            if kind == "PAYMENT.CAPTURE.COMPLETED":
                return WebhookEvent(event_id, kind, payment=payment_of_capture(resource))
            if kind in ("PAYMENT.CAPTURE.DENIED", "PAYMENT.CAPTURE.DECLINED"):
                number = order_number_of(resource.get("custom_id"))
                return WebhookEvent(event_id, kind, failure=ChargeFailure(number, "declined", kind))
        except (KeyError, TypeError, ValueError, AttributeError, ArithmeticError):
            return WebhookEvent(event_id, kind, malformed=True)
        return WebhookEvent(event_id, kind)

    def confirm_return(
        self, query: Mapping[str, str], settings: Settings
    ) -> ProviderPayment | ChargeFailure | None:
        """Back from PayPal with ``?token=<order id>``: capture it (once, by request id)."""
        order_id = query.get("token", "")
        if not order_id or not order_id.isalnum():
            return None
        orders = client(settings).orders
        try:
            order = orders.capture_order(
                {
                    "id": order_id,
                    "paypal_request_id": f"capture-{order_id}",
                    "prefer": "return=representation",  # minimal leaves out the capture
                }
            ).body
        except ErrorException as error:
            issues = {detail.issue for detail in (error.details or [])}
            if "ORDER_ALREADY_CAPTURED" not in issues:
                return None  # not approved (cancelled at PayPal): the order stays open
            order = orders.get_order({"id": order_id}).body
        except Exception:
            return None  # PayPal unreachable: its webhook will tell
        capture = first_capture(order)
        if capture is None:
            return None
        if capture.get("status") in ("DECLINED", "FAILED"):
            return ChargeFailure(order_number_of(capture.get("custom_id")), "declined", "")
        return payment_of_capture(capture)

    def charge_renewal(
        self, request: PaymentRequest, customer: str, method: str, settings: Settings
    ) -> ChargeResult:
        return ChargeResult(
            failure=ChargeFailure(request.order_number, "not_supported", "PayPal vault unused")
        )


@hookimpl
def shop_payment_methods() -> list[PaymentMethod]:
    return [PayPal()]


@hookimpl
def shop_settings() -> list[Setting]:
    return SETTINGS
