"""Checkout: from what the buyer typed to a stored quote or order (R1, R5, R7, R11, R14)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlmodel import Session

from shop.catalog.products import N_
from shop.catalog.rates import current_rates
from shop.catalog.service import parse_country, resolve_currency
from shop.errors import ShopError
from shop.i18n import Translator
from shop.licences.models import check_email, normalise_email
from shop.licences.service import reserve_for_order
from shop.orders.adjustment_lines import adjustment_line
from shop.orders.billing import BillingAddress, check_address, check_tax_number
from shop.orders.cart import CartItem, PricedCart
from shop.orders.consents import (
    STATEMENTS,
    given_statements,
    is_consumer,
    missing_statements,
    record_statements,
)
from shop.orders.fulfilment import ensure_subscription
from shop.orders.models import Order, OrderKind, OrderLine, OrderStatus
from shop.orders.numbers import open_order
from shop.orders.payments import order_lines
from shop.orders.pipeline import price_cart
from shop.payments.methods import PaymentMethod
from shop.plugins.context import Customer
from shop.plugins.event_data import emit_order
from shop.plugins.manager import EnabledPlugins, Plugins

QUOTE_VALIDITY = timedelta(days=30)  # R7
UNPAID_ORDER_LIFETIME = timedelta(days=30)  # R1: an unpaid order releases its e-mail


@dataclass(frozen=True)
class Reseller:
    customer_name: str
    customer_email: str


@dataclass(frozen=True)
class CheckoutRequest:
    email: str
    name: str
    country: str
    currency: str
    payment_method: str | None
    items: list[CartItem]
    quote: bool = False
    organisation: str | None = None
    tax_number: str | None = None
    po_number: str | None = None
    reseller: Reseller | None = None
    locale: str = "en"
    address: BillingAddress | None = None  # required on the page; the API may leave it out
    # §356(5) BGB: each statement the buyer made, in the words they were shown.
    statements: Mapping[str, str] = field(default_factory=dict)


class CheckoutInvalid(ValueError):
    """Everything wrong with a checkout form, each error naming its field."""

    def __init__(self, errors: list[ShopError]) -> None:
        super().__init__(", ".join(e.code for e in errors))
        self.errors = errors


def _text(raw: Mapping[str, Any], field: str, limit: int, required: bool) -> str | None:
    value = raw.get(field)
    if value is None or (isinstance(value, str) and not value.strip()):
        if required:
            raise ShopError(422, "validation_error", N_("Please fill in this field.")).on_field(
                field
            )
        return None
    if not isinstance(value, str) or len(value.strip()) > limit:
        raise ShopError(
            422, "validation_error", N_("Use at most %(limit)s characters."), limit=limit
        ).on_field(field)
    return value.strip()


def _email(raw: Mapping[str, Any], field: str) -> str:
    return check_email(_text(raw, field, 320, required=True), field)


def _items(raw: Any) -> list[CartItem]:
    if not isinstance(raw, list):
        raise ShopError(422, "validation_error", N_("Choose at least one product.")).on_field(
            "items"
        )
    items = []
    for entry in raw:
        sku = entry.get("sku") if isinstance(entry, dict) else None
        quantity = entry.get("quantity", 1) if isinstance(entry, dict) else None
        if not isinstance(sku, str) or not sku:
            raise ShopError(
                422, "validation_error", N_("Each item needs a sku and a quantity.")
            ).on_field("items")
        items.append(CartItem(sku, quantity))  # type: ignore[arg-type]  # checked when priced
    return items


ADDRESS_FIELDS = ("street", "postcode", "city", "region")


def parse_checkout(raw: Mapping[str, Any], t: Translator, page: bool = False) -> CheckoutRequest:
    """Read a checkout from JSON or a form; raises ``CheckoutInvalid`` with every error.

    The page (``page``) asks for the full billing address and, from a consumer, the two
    statements of §356(5) BGB; the API takes them when sent (an address: all of it), as
    ``address: {street, postcode, city}`` (API.md) or as fields of the order itself."""
    nested = raw.get("address")
    if isinstance(nested, Mapping):
        raw = {**raw, **{k: nested[k] for k in ADDRESS_FIELDS if nested.get(k) is not None}}
    errors: list[ShopError] = []
    values: dict[str, Any] = {"locale": t.locale}

    def take(field: str, read: Any) -> None:
        try:
            values[field] = read()
        except ShopError as error:
            errors.append(error)

    take("email", lambda: _email(raw, "email"))
    take("name", lambda: _text(raw, "name", 200, required=True))
    take("organisation", lambda: _text(raw, "organisation", 200, required=False))
    take("country", lambda: parse_country(_text(raw, "country", 2, required=True)))
    take("tax_number", lambda: _text(raw, "tax_number", 50, required=False))
    country, tax_number = values.get("country"), values.get("tax_number")
    if country and tax_number:
        take("tax_number", lambda: check_tax_number(tax_number, country))
    if page or any(raw.get(name) for name in ADDRESS_FIELDS):
        address = _address(raw, country, errors)
        if address is not None:
            values["address"] = address
    given = given_statements(raw if page else raw.get("statements"))
    if page and is_consumer(values.get("organisation"), values.get("tax_number")):
        errors.extend(missing_statements(given))
    values["statements"] = {kind: t.gettext(STATEMENTS[kind]) for kind in given}
    take("po_number", lambda: _text(raw, "po_number", 100, required=False))
    take("currency", lambda: (_text(raw, "currency", 3, required=True) or "").upper())
    quote = raw.get("quote") in (True, "true", "on", "1", "quote")
    values["quote"] = quote
    take("payment_method", lambda: _text(raw, "payment_method", 32, required=not quote))
    take("items", lambda: _items(raw.get("items")))
    reseller = raw.get("reseller")
    if isinstance(reseller, dict) and any(reseller.values()):
        try:
            values["reseller"] = Reseller(
                _text(reseller, "customer_name", 200, required=True) or "",
                _email(reseller, "customer_email"),
            )
        except ShopError as error:
            error.field = f"reseller.{error.field}"
            errors.append(error)
    if errors:
        raise CheckoutInvalid(errors)
    return CheckoutRequest(**values)


def _address(
    raw: Mapping[str, Any], country: str | None, errors: list[ShopError]
) -> BillingAddress | None:
    """The billing address, checked for ``country`` when it is known (§14 UStG)."""
    texts: dict[str, str | None] = {}
    limits = {"street": 200, "postcode": 20, "city": 100, "region": 100}
    for name in ADDRESS_FIELDS:
        try:
            texts[name] = _text(raw, name, limits[name], required=False)
        except ShopError as error:
            errors.append(error)
            return None
    if country is None:  # its rules unknown: at least the street and the city
        errors.extend(
            ShopError(422, "validation_error", N_("Please fill in this field.")).on_field(name)
            for name in ("street", "city")
            if not texts[name]
        )
        return None
    address = BillingAddress(
        street=texts["street"] or "",
        postcode=texts["postcode"],
        city=texts["city"] or "",
        country=country,
        region=texts["region"],
    )
    problems = check_address(address)
    errors.extend(problems)
    return None if problems else address


def choose_method(
    enabled: EnabledPlugins, plugins: Plugins, code: str | None, currency: str
) -> PaymentMethod | None:
    """The enabled payment method ``code`` if it takes ``currency`` (R12)."""
    if code is None:
        return None
    method = enabled.payment_methods.get(code)
    if method is None:
        known = code in plugins.payment_method_codes
        raise ShopError(
            422,
            "plugin_disabled" if known else "validation_error",
            N_("Payment by “%(method)s” is not available."),
            method=code,
        ).on_field("payment_method")
    if not method.accepts(currency):
        raise ShopError(
            422,
            "method_not_available",
            N_("This payment method does not take %(currency)s."),
            currency=currency,
        ).on_field("payment_method")
    return method


def place_order(
    session: Session,
    plugins: Plugins,
    enabled: EnabledPlugins,
    request: CheckoutRequest,
    now: datetime,
) -> Order:
    """Store a quote or a pay-now order; a pay-now order reserves the e-mail's licence."""
    currency = resolve_currency(enabled, plugins.currency_codes, request.currency, request.country)
    method = choose_method(enabled, plugins, request.payment_method, currency.code)
    email = normalise_email(request.email)
    cart = price_cart(
        session,
        enabled,
        request.items,
        currency,
        request.country,
        current_rates(session),
        now,
        Customer(email, request.country, request.name),
    )
    order = open_order(
        session,
        status=OrderStatus.QUOTE if request.quote else OrderStatus.PENDING,
        kind=OrderKind.NEW,
        email=email,
        name=request.name,
        organisation=request.organisation,
        country=request.country,
        tax_number=request.tax_number,
        street=request.address.street if request.address else None,
        postcode=request.address.postcode if request.address else None,
        city=request.address.city if request.address else None,
        region=request.address.region if request.address else None,
        po_number=request.po_number,
        reseller_customer_name=request.reseller.customer_name if request.reseller else None,
        reseller_customer_email=request.reseller.customer_email if request.reseller else None,
        locale=request.locale,
        currency=currency.code,
        total=cart.total.amount,
        payment_method=method.code if method else "",
        exchange_rate=cart.rate.rate if cart.rate else None,
        exchange_margin=cart.rate.margin if cart.rate else None,
        created_at=now,
        valid_until=now + QUOTE_VALIDITY if request.quote else None,
        expires_at=None if request.quote else now + UNPAID_ORDER_LIFETIME,
    )
    add_lines(session, order, cart)
    record_statements(session, order, request.statements, now)
    if not request.quote:
        reserve_for_order(session, order, cart.main.sku, cart.quantities, now)
        if cart.main.months_per_charge:
            ensure_subscription(session, order, order_lines(session, order), now)
    emit_order(session, "order.placed", order, order_lines(session, order), now)
    return order


def add_lines(session: Session, order: Order, cart: PricedCart) -> None:
    assert order.id is not None
    for position, item in enumerate(cart.items):
        session.add(
            OrderLine(
                order_id=order.id,
                position=position,
                sku=item.product.sku,
                name=item.product.name,
                kind=item.product.kind.value,
                quantity=item.quantity,
                unit_price=item.unit.amount,
                total=item.total.amount,
                billing_period_months=item.product.months_per_charge,
            )
        )
    # The pricing pipeline's discounts, each its own line after the products (R28, R29).
    for position, adjustment in enumerate(cart.adjustments, start=len(cart.items)):
        session.add(OrderLine(order_id=order.id, position=position, **adjustment_line(adjustment)))
    session.flush()
