"""Cart, checkout, trial and order pages: the buyer's path from product to licence key."""

from __future__ import annotations

from typing import Any

from litestar import Request, get, post
from litestar.exceptions import NotFoundException
from litestar.params import FromPath, URLEncodedBody
from litestar.response import Redirect, Template
from sqlmodel import Session

from shop.accounts.login import CUSTOMER
from shop.accounts.visibility import sees_order
from shop.catalog.products import N_, Kind
from shop.catalog.rates import current_rates
from shop.errors import ShopError
from shop.i18n import Translator
from shop.licences.address import send_trial_link
from shop.licences.models import EMAIL, Licence, normalise_email
from shop.licences.service import start_trial
from shop.money import Money
from shop.orders.attention import REASONS
from shop.orders.cart import CartItem, PricedCart
from shop.orders.checkout import CheckoutInvalid, parse_checkout, place_order
from shop.orders.consents import BUSINESS_NOTE, STATEMENTS
from shop.orders.credit_notes import credit_note_reference, credit_notes_of
from shop.orders.documents import has_xrechnung
from shop.orders.lifecycle import cancel_order
from shop.orders.models import OrderStatus
from shop.orders.notifications import notify
from shop.orders.numbers import invoice_reference, quote_reference
from shop.orders.order_links import link_expired, order_link_expired
from shop.orders.payment_choice import change_payment_method
from shop.orders.payments import expired_refusal, order_lines, outstanding, payments_of
from shop.orders.pipeline import price_cart
from shop.orders.review import awaiting_review
from shop.payments.closing import close_after_cancel
from shop.payments.methods import failure_reason
from shop.payments.opening import open_payment
from shop.plugins.context import Customer
from shop.plugins.manager import EnabledPlugins
from shop.subscriptions.models import Subscription
from shop.web.api.orders import applied, order_by_token
from shop.web.deps import Db, Enabled, Shop, ShopDep, T, base_url, mail_queued
from shop.web.pages import buyer_choice, render_page
from shop.web.transaction import transaction

CART = "cart"
METHOD_PROBLEM = N_("This payment method cannot be chosen for this order.")
STATUS_LABELS = {
    OrderStatus.QUOTE: N_("Quote"),
    OrderStatus.PENDING: N_("Awaiting payment"),
    OrderStatus.PAID: N_("Paid"),
    OrderStatus.EXPIRED: N_("Expired"),
    OrderStatus.CANCELLED: N_("Cancelled"),
}


def session_cart(request: Request[Any, Any, Any]) -> dict[str, int]:
    raw = request.session.get(CART) if request.session else None
    return {str(k): int(v) for k, v in raw.items()} if isinstance(raw, dict) else {}


def cart_items(cart: dict[str, int]) -> list[CartItem]:
    return [CartItem(sku, quantity) for sku, quantity in cart.items() if quantity > 0]


def _quantity(raw: str | None) -> int:
    try:
        return int(raw or 0)
    except ValueError:
        return -1  # refused by the cart check, with a message


def _price_cart(
    request: Request[Any, Any, Any],
    db: Session,
    shop: Shop,
    enabled: EnabledPlugins,
    t: Translator,
    email: str | None = None,
) -> tuple[Any, PricedCart | None, str | None]:
    """The cart through the pricing pipeline; its discounts for anyone (a promotion) until
    the buyer's ``email`` is known, then theirs too (an academic discount, R29)."""
    choice = buyer_choice(request, shop, enabled, t)
    items = cart_items(session_cart(request))
    if not items:
        return choice, None, None
    customer = Customer(normalise_email(email), choice.country) if email else None
    try:
        priced = price_cart(
            db,
            enabled,
            items,
            choice.currency,
            choice.country,
            current_rates(db),
            shop.clock.now(),
            customer,
        )
    except ShopError as error:
        return choice, None, t.gettext(error.detail, **error.params)
    return choice, priced, None


@post("/{lang:str}/cart/add", sync_to_thread=True)
@transaction
def add_to_cart(
    request: Request[Any, Any, Any],
    enabled: Enabled,
    lang: FromPath[str],
    data: URLEncodedBody[dict[str, str]],
) -> Redirect:
    """Put a base product and its add-ons in the cart; a new base product replaces the cart."""
    product = enabled.products.get(data.get("sku", ""))
    if product is None or product.kind == Kind.ADDON:
        raise NotFoundException()
    cart = {product.sku: 1}
    for addon in product.addons:
        quantity = _quantity(data.get(f"qty-{addon}"))
        if quantity:
            cart[addon] = quantity
    request.set_session({**(request.session or {}), CART: cart})
    return Redirect(f"/{lang}/cart")


@post("/{lang:str}/cart/update", sync_to_thread=True)
def update_cart(
    request: Request[Any, Any, Any], lang: FromPath[str], data: URLEncodedBody[dict[str, str]]
) -> Redirect:
    """Change quantities (totals, R18); 0 removes an add-on, "remove" empties the cart."""
    cart = session_cart(request)
    if "remove" in data:
        cart = {}
    else:
        for sku in list(cart):
            if f"qty-{sku}" in data:
                cart[sku] = _quantity(data[f"qty-{sku}"])
        cart = {sku: q for sku, q in cart.items() if q != 0}
    request.set_session({**(request.session or {}), CART: cart})
    return Redirect(f"/{lang}/cart")


@get("/{lang:str}/cart", sync_to_thread=True)
@transaction
def cart_page(
    request: Request[Any, Any, Any],
    db: Db,
    shop: ShopDep,
    enabled: Enabled,
    t: T,
    lang: FromPath[str],
) -> Template:
    choice, priced, problem = _price_cart(request, db, shop, enabled, t)
    addons = []
    if priced is not None:
        line_products = {p.sku: p for p in priced.line.products}
        addons = [line_products[sku] for sku in priced.main.addons if sku in line_products]
    return render_page(
        "pages/cart.html",
        request,
        shop,
        t,
        choice,
        priced=priced,
        problem=problem,
        cart=session_cart(request),
        addons=addons,
    )


def _checkout_page(
    request: Request[Any, Any, Any],
    db: Session,
    shop: Shop,
    enabled: EnabledPlugins,
    t: Translator,
    form: dict[str, str],
    errors: dict[str, str],
    status_code: int = 200,
) -> Template:
    email = form.get("email", "").strip()
    known = email if email and "email" not in errors and EMAIL.match(email) else None
    choice, priced, problem = _price_cart(request, db, shop, enabled, t, known)
    methods = [m for m in enabled.payment_methods.values() if m.accepts(choice.currency.code)]
    page = render_page(
        "pages/checkout.html",
        request,
        shop,
        t,
        choice,
        priced=priced,
        problem=problem,
        form=form,
        errors=errors,
        methods=methods,
        statements=STATEMENTS,
        business_note=BUSINESS_NOTE,
    )
    page.status_code = status_code
    return page


@get("/{lang:str}/checkout", sync_to_thread=True)
@transaction
def checkout_page(
    request: Request[Any, Any, Any],
    db: Db,
    shop: ShopDep,
    enabled: Enabled,
    t: T,
    lang: FromPath[str],
) -> Template | Redirect:
    if not cart_items(session_cart(request)):
        return Redirect(f"/{lang}/cart")
    choice = buyer_choice(request, shop, enabled, t)
    form = {"country": choice.country or "", "currency": choice.currency.code}
    return _checkout_page(request, db, shop, enabled, t, form, {})


@post("/{lang:str}/checkout/place", sync_to_thread=True)
@transaction
def checkout_submit(
    request: Request[Any, Any, Any],
    db: Db,
    shop: ShopDep,
    enabled: Enabled,
    t: T,
    lang: FromPath[str],
    data: URLEncodedBody[dict[str, str]],
) -> Template | Redirect:
    """Place the order with server-side prices only; errors are shown beside their fields."""
    cart = session_cart(request)
    raw: dict[str, Any] = {
        **{k: v for k, v in data.items() if k not in {"items", "total", "price"}},
        "items": [{"sku": sku, "quantity": q} for sku, q in cart.items()],
        "quote": data.get("mode") == "quote",
        "reseller": (
            {
                "customer_name": data.get("reseller_name", ""),
                "customer_email": data.get("reseller_email", ""),
            }
            if data.get("reseller")
            else None
        ),
    }
    errors: dict[str, str] = {}
    try:
        checkout = parse_checkout(raw, t, page=True)
        now = shop.clock.now()
        with db.begin_nested():  # a refusal leaves nothing behind, not even a number
            order = place_order(db, shop.plugins, enabled, checkout, now)
            notify(db, shop.templates, enabled, shop.settings, order, now)
    except CheckoutInvalid as invalid:
        errors = {e.field or "": t.gettext(e.detail, **e.params) for e in invalid.errors}
    except ShopError as error:
        errors = {error.field or "": t.gettext(error.detail, **error.params)}
        if error.code == "licence_exists":  # R1: the owner may release their address
            errors["release"] = raw.get("email") or ""
    if errors:
        return _checkout_page(request, db, shop, enabled, t, dict(data), errors, 422)
    mail_queued(request)
    request.set_session({**(request.session or {}), CART: {}})
    return Redirect(f"/{lang}/orders/{order.token}")


@get("/{lang:str}/orders/{token:str}", sync_to_thread=True)
@transaction
def order_page(
    request: Request[Any, Any, Any],
    db: Db,
    shop: ShopDep,
    enabled: Enabled,
    t: T,
    lang: FromPath[str],
    token: FromPath[str],
) -> Template:
    """The buyer's order: what to pay and how, what was received, and the licence key."""
    order = order_by_token(db, token)
    # An old mail's link has expired; the buyer still sees it logged in (R35).
    expired = order_link_expired(order, shop.clock.now(), shop.settings.order_link_days)
    if expired and not sees_order(db, request.session.get(CUSTOMER), order):
        raise link_expired()
    licence = db.get(Licence, order.licence_id) if order.licence_id else None
    subscription = db.get(Subscription, order.subscription_id or 0)
    failed = request.query_params.get("payment_failed")
    choice = buyer_choice(request, shop, enabled, t)
    context = {
        "order": order,
        "lines": order_lines(db, order),
        "payments": payments_of(db, order),
        "due": outstanding(order),
        "return_url": f"{base_url(request)}/{lang}/orders/{order.token}/return",
        "payment_problem": failure_reason(failed)
        if failed and order.status in (OrderStatus.PENDING, OrderStatus.QUOTE)
        else None,
        "status_label": STATUS_LABELS[OrderStatus(order.status)],
        "quote_number": quote_reference(order),
        "invoice_number": invoice_reference(order),
        "under_review": awaiting_review(order),
        "money": lambda amount: Money.of(amount, order.currency),
        "licence": licence if applied(order) else None,
        "document_url": f"/api/v1/orders/{order.token}/document.pdf",
        # A business buyer's invoice also downloads as XRechnung (CII XML).
        "xrechnung_url": f"/api/v1/orders/{order.token}/xrechnung.xml"
        if has_xrechnung(order)
        else None,
        # The credit notes that cancelled the invoice (GoBD), by the order's token.
        "credit_notes": [
            (
                credit_note_reference(note),
                f"/api/v1/orders/{order.token}/credit-notes/{note.number}/document.pdf",
            )
            for note in credit_notes_of(db, order)
        ],
        "subscription_token": subscription.token
        if subscription and subscription.status != "pending"
        else None,
        "attention": REASONS.get(order.needs_action or ""),
        # Another method can be chosen while the order is unpaid (R7, R12).
        "methods": [m for m in enabled.payment_methods.values() if m.accepts(order.currency)]
        if order.status in (OrderStatus.PENDING, OrderStatus.QUOTE)
        else [],
        "method_problem": METHOD_PROBLEM if request.query_params.get("method_problem") else None,
    }
    # Everything is read: end the transaction before a card or PayPal method asks its
    # provider, so a slow provider never holds the database (SQLite's one write lock).
    db.commit()
    start = None
    if expired_refusal(order, shop.clock.now()) is None:  # no payment opened once expired
        start = open_payment(
            shop.engine, order, enabled, shop.settings, t, base_url=base_url(request)
        )
    else:
        context["methods"] = []
    return render_page("pages/order.html", request, shop, t, choice, start=start, **context)


def close_cancelled_payment(answer: Redirect, kwargs: dict[str, Any]) -> Redirect:
    """After the cancel's commit: its card or PayPal payment cancelled at the provider."""
    shop: Shop = kwargs["shop"]
    methods = shop.plugins.everything.payment_methods
    close_after_cancel(shop.engine, methods, shop.settings, shop.clock.now(), kwargs["token"])
    return answer


@post("/{lang:str}/orders/{token:str}/payment-method", sync_to_thread=True)
@transaction
def order_method(
    db: Db,
    shop: ShopDep,
    enabled: Enabled,
    lang: FromPath[str],
    token: FromPath[str],
    data: URLEncodedBody[dict[str, str]],
) -> Redirect:
    """The buyer picks another payment method on the order page."""
    try:
        with db.begin_nested():
            order = order_by_token(db, token)
            change_payment_method(
                db, enabled, shop.plugins, order, data.get("payment_method"), shop.clock.now()
            )
    except ShopError as error:
        if error.status == 404:
            raise
        return Redirect(f"/{lang}/orders/{token}?method_problem={error.code}")
    return Redirect(f"/{lang}/orders/{token}")


@post("/{lang:str}/orders/{token:str}/cancel", sync_to_thread=True)
@transaction(after_commit=close_cancelled_payment)
def order_cancel(db: Db, shop: ShopDep, lang: FromPath[str], token: FromPath[str]) -> Redirect:
    cancel_order(db, order_by_token(db, token), shop.clock.now())
    return Redirect(f"/{lang}/orders/{token}")


@post("/{lang:str}/trial", sync_to_thread=True)
@transaction
def trial_submit(
    request: Request[Any, Any, Any],
    db: Db,
    shop: ShopDep,
    enabled: Enabled,
    t: T,
    lang: FromPath[str],
    data: URLEncodedBody[dict[str, str]],
) -> Template:
    """Start a trial from the product page; its key goes to the address (a link)."""
    sku = data.get("sku", "")
    licence, error = None, None
    try:
        with db.begin_nested():
            now = shop.clock.now()
            licence = start_trial(db, enabled, shop.settings, data.get("email"), sku, now)
            send_trial_link(db, shop.templates, shop.settings, licence, t.locale, now)
    except ShopError as problem:
        error = t.gettext(problem.detail, **problem.params)
    if licence is not None:
        mail_queued(request)
    page = render_page(
        "pages/trial.html",
        request,
        shop,
        t,
        buyer_choice(request, shop, enabled, t),
        licence=licence,
        sent=licence is not None,
        error=error,
        product=enabled.products.get(sku),
    )
    page.status_code = 201 if licence else 422
    return page
