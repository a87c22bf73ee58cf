"""Orders, quotes and trials over the API (R1, R3-R5, R7-R9, R12)."""

from __future__ import annotations

from typing import Annotated, Any

from litestar import Request, Response, get, post, put
from litestar.openapi.datastructures import ResponseSpec
from litestar.openapi.spec import Example
from litestar.params import Body, FromPath
from sqlmodel import Session, select

from shop.accounts.tokens import bearer_token, valid_token
from shop.catalog.products import N_
from shop.db import session_scope
from shop.documents.einvoice import render_document
from shop.errors import ShopError
from shop.i18n import Translator
from shop.licences.address import send_trial_link
from shop.licences.keys import PUBLIC_KEY_PATH, public_key_document
from shop.licences.models import Licence
from shop.licences.service import start_trial
from shop.money import Money
from shop.orders.adjustment_lines import is_adjustment
from shop.orders.attention import NOTHING_APPLIED, needs_action_json
from shop.orders.checkout import CheckoutInvalid, parse_checkout, place_order
from shop.orders.credit_notes import credit_note_reference, credit_notes_of
from shop.orders.documents import (
    PDF,
    XML,
    credit_note_document,
    credit_note_filename,
    credit_note_of,
    document_filename,
    has_xrechnung,
    order_document,
    xrechnung_document,
    xrechnung_filename,
    xrechnung_xml,
)
from shop.orders.lifecycle import cancel_order
from shop.orders.line_text import line_text, payment_label
from shop.orders.models import Order, OrderStatus
from shop.orders.notifications import notify
from shop.orders.payment_choice import change_payment_method
from shop.orders.payments import order_lines, outstanding, payments_of, start_payment
from shop.orders.retention import retained_until
from shop.orders.review import awaiting_review
from shop.payments.closing import close_after_cancel
from shop.payments.methods import PaymentStart
from shop.payments.opening import open_payment as open_provider_payment
from shop.plugins.manager import EnabledPlugins
from shop.settings import Settings
from shop.web.api.products import plain
from shop.web.api.schemas import (
    ORDER_EXAMPLE,
    RATE_LIMITED,
    LicenceAnswer,
    OrderAnswer,
    OrderRequest,
    PaymentMethodChoice,
    TrialRequest,
    answers,
    as_dict,
)
from shop.web.deps import Db, Enabled, Shop, ShopDep, T, mail_queued
from shop.web.security_headers import PUBLIC
from shop.web.transaction import transaction


def money(amount: Any, currency: str) -> dict[str, str]:
    return Money.of(amount, currency).to_json()


def order_json(
    session: Session, order: Order, enabled: EnabledPlugins, settings: Settings, t: Translator
) -> dict[str, Any]:
    """The ``{order}`` of the API contract; its ``payment`` without asking a provider (an
    operator's listing opens no card or PayPal payments): see ``open_payment``."""
    start = start_payment(order, enabled, settings, t, online=False)
    licence = session.get(Licence, order.licence_id) if order.licence_id else None
    answer: dict[str, Any] = {
        "number": order.number,
        "quote_number": order.quote_number,  # R8: each document's own gapless series
        "invoice_number": order.invoice_number,
        "token": order.token,
        "status": order.status,
        "under_review": awaiting_review(order),  # R27: not payable until accepted
        "kind": order.kind,
        "email": order.email,
        "name": order.name,
        "organisation": order.organisation,
        "country": order.country,
        "billing_address": (
            {
                "street": order.street,
                "postcode": order.postcode,
                "city": order.city,
                "region": order.region,
            }
            if order.street
            else None
        ),
        "tax_number": order.tax_number,
        "po_number": order.po_number,
        "reseller": (
            {
                "customer_name": order.reseller_customer_name,
                "customer_email": order.reseller_customer_email,
            }
            if order.reseller_customer_name
            else None
        ),
        "locale": order.locale,
        "currency": order.currency,
        "total": money(order.total, order.currency),
        "paid": money(order.paid_amount, order.currency),
        "due": money(outstanding(order), order.currency),
        "lines": [
            {
                "sku": line.sku,
                # A discount's name is its label with its percentage (R28, R29).
                "name": line_text(line, order.currency, t)
                if is_adjustment(line)
                else t.gettext(line.name),
                "kind": line.kind,
                "quantity": line.quantity,
                "unit_price": money(line.unit_price, order.currency),
                "total": money(line.total, order.currency),
                "billing_period_months": line.billing_period_months,
            }
            for line in order_lines(session, order)
        ],
        "payments": [
            {
                "amount": money(p.amount, p.currency),
                "method": p.method,
                "reference": p.reference,
                "received_at": p.created_at.isoformat(),
                "label": payment_label(p, t, enabled.payment_methods),  # never a provider id
                "detail": p.detail,
            }
            for p in payments_of(session, order)
        ],
        "exchange_rate": (
            {"rate": plain(order.exchange_rate), "margin": plain(order.exchange_margin or 0)}
            if order.exchange_rate is not None
            else None
        ),
        "licence_id": order.licence_id,
        "subscription_id": order.subscription_id,
        "licence_key": licence.key if licence and applied(order) else None,
        "created_at": order.created_at.isoformat(),
        "valid_until": order.valid_until.isoformat() if order.valid_until else None,
        "paid_at": order.paid_at.isoformat() if order.paid_at else None,
        "document_url": f"{settings.public_url}/api/v1/orders/{order.token}/document.pdf",
        "payment": payment_json(order, start),
        **needs_action_json(order, t),
    }
    if has_xrechnung(order):  # an issued invoice to a business buyer
        answer["xrechnung_url"] = f"{settings.public_url}{xrechnung_path(order)}"
    if order.invoice_issued_at is not None:  # kept so long, never changed (GoBD)
        issued = order.invoice_issued_at
        answer["invoice_retained_until"] = retained_until(
            issued, settings.seller_country
        ).isoformat()
    answer["credit_notes"] = [
        {
            "number": credit_note_reference(note),
            "issued_at": note.issued_at.isoformat(),
            "amount": money(note.amount, note.currency),
            "currency": note.currency,
            "pdf_url": f"{settings.public_url}{credit_note_path(order, note.number)}",
        }
        for note in credit_notes_of(session, order)
    ]
    return answer


def credit_note_path(order: Order, number: int) -> str:
    return f"/api/v1/orders/{order.token}/credit-notes/{number}/document.pdf"


def xrechnung_path(order: Order) -> str:
    return f"/api/v1/orders/{order.token}/xrechnung.xml"


def applied(order: Order) -> bool:
    """Paid and applied: the licence key it gave may be shown (not for money kept unapplied)."""
    return order.status == OrderStatus.PAID and order.needs_action not in NOTHING_APPLIED


def payment_json(order: Order, start: PaymentStart | None) -> dict[str, Any]:
    return {
        "method": order.payment_method or None,
        "instructions": list(start.instructions) if start else [],
        "redirect_url": start.redirect_url if start else None,
        "client_secret": start.client_secret if start else None,
        "publishable_key": start.publishable_key if start else None,
    }


def open_payment(answer: dict[str, Any], kwargs: dict[str, Any]) -> dict[str, Any]:
    """The buyer's ``{order}`` with its card or PayPal payment opened (after the commit, so
    no provider call holds the database or the order counter, R8), for a first answer and
    for one replayed to a retry alike."""
    shop: Shop = kwargs["shop"]
    with session_scope(shop.reader) as session:
        order = order_by_token(session, answer["order"]["token"])
    start = open_provider_payment(shop.engine, order, kwargs["enabled"], shop.settings, kwargs["t"])
    answer["order"]["payment"] = payment_json(order, start)
    return answer


def order_by_token(session: Session, token: str) -> Order:
    order = session.exec(select(Order).where(Order.token == token)).first()
    if order is None:
        raise ShopError(404, "not_found", N_("There is no order with this address."))
    return order


ORDER_ERRORS = {
    **RATE_LIMITED,
    "e409": ("licence_exists",),
    "e422": (
        "currency_not_allowed",
        "currency_unknown",
        "exchange_rate_missing",
        "plugin_disabled",
        "method_not_available",
        "unknown_product",
        "not_for_sale",
        "idempotency_key_reused",
    ),
}


@post(
    "/api/v1/orders",
    sync_to_thread=True,
    status_code=201,
    tags=["orders"],
    responses=answers(201, OrderAnswer, **ORDER_ERRORS),
)
@transaction(after_commit=open_payment)
def create_order(
    request: Request[Any, Any, Any],
    db: Db,
    shop: ShopDep,
    enabled: Enabled,
    t: T,
    data: Annotated[
        OrderRequest,
        Body(examples=[Example(summary="a yearly licence for 6 persons", value=ORDER_EXAMPLE)]),
    ],
) -> dict[str, Any]:
    """Check out: pay now (reserves the e-mail's licence) or save a quote."""
    try:
        checkout = parse_checkout(as_dict(data), t)
    except CheckoutInvalid as invalid:
        raise invalid.errors[0] from None
    now = shop.clock.now()
    order = place_order(db, shop.plugins, enabled, checkout, now)
    notify(db, shop.templates, enabled, shop.settings, order, now)
    mail_queued(request)
    return {"order": order_json(db, order, enabled, shop.settings, t)}


NO_ORDER = {"e404": ("not_found",)}


@get(
    "/api/v1/orders/{token:str}",
    sync_to_thread=True,
    tags=["orders"],
    responses=answers(200, OrderAnswer, **NO_ORDER),
)
@transaction(after_commit=open_payment)
def get_order(
    db: Db, shop: ShopDep, enabled: Enabled, t: T, token: FromPath[str]
) -> dict[str, Any]:
    """An order or quote, for whoever holds its token."""
    return {"order": order_json(db, order_by_token(db, token), enabled, shop.settings, t)}


def close_cancelled_payment(answer: dict[str, Any], kwargs: dict[str, Any]) -> dict[str, Any]:
    """After a cancel's commit: its card or PayPal payment cancelled at the provider."""
    shop: Shop = kwargs["shop"]
    methods = shop.plugins.everything.payment_methods
    close_after_cancel(
        shop.engine, methods, shop.settings, shop.clock.now(), answer["order"]["token"]
    )
    return answer


@post(
    "/api/v1/orders/{token:str}/cancel",
    sync_to_thread=True,
    status_code=200,
    tags=["orders"],
    responses=answers(200, OrderAnswer, e409=("order_paid", "order_not_cancellable"), **NO_ORDER),
)
@transaction(after_commit=close_cancelled_payment)
def cancel_by_buyer(
    db: Db, shop: ShopDep, enabled: Enabled, t: T, token: FromPath[str]
) -> dict[str, Any]:
    """The buyer cancels an unpaid order or quote; the e-mail is free again (R1)."""
    order = cancel_order(db, order_by_token(db, token), shop.clock.now())
    return {"order": order_json(db, order, enabled, shop.settings, t)}


@put(
    "/api/v1/orders/{token:str}/payment-method",
    sync_to_thread=True,
    tags=["orders"],
    responses=answers(
        200,
        OrderAnswer,
        e409=("order_paid", "order_closed", "order_expired", "order_not_payable"),
        e422=("plugin_disabled", "currency_not_allowed"),
        **NO_ORDER,
    ),
)
@transaction(after_commit=open_payment)
def change_method(
    db: Db,
    shop: ShopDep,
    enabled: Enabled,
    t: T,
    token: FromPath[str],
    data: Annotated[
        PaymentMethodChoice, Body(examples=[Example(value={"payment_method": "card"})])
    ],
) -> dict[str, Any]:
    """The buyer picks another enabled method for an unpaid order or quote (R7, R12)."""
    order = order_by_token(db, token)
    change_payment_method(db, enabled, shop.plugins, order, data.payment_method, shop.clock.now())
    return {"order": order_json(db, order, enabled, shop.settings, t)}


@post(
    "/api/v1/trials",
    sync_to_thread=True,
    status_code=201,
    tags=["orders"],
    responses=answers(
        201, LicenceAnswer, e409=("licence_exists",), e422=("no_trial",), **RATE_LIMITED
    ),
)
@transaction
def create_trial(
    request: Request[Any, Any, Any],
    db: Db,
    shop: ShopDep,
    enabled: Enabled,
    t: T,
    data: Annotated[
        TrialRequest,
        Body(examples=[Example(value={"email": "anna@example.nl", "sku": "base-yearly"})]),
    ],
) -> dict[str, Any]:
    """A 10-day trial licence at the line's highest tier (R3). Its key goes to the address
    as a link (``key`` is null here); an operator token gets the key in the answer."""
    now = shop.clock.now()
    licence = start_trial(db, enabled, shop.settings, data.email, data.sku, now)
    token = bearer_token(request.headers.get("authorization", ""))
    if token is not None and valid_token(db, token, now) is not None:
        return {"licence": licence_json(licence)}
    send_trial_link(db, shop.templates, shop.settings, licence, t.locale, now)
    mail_queued(request)
    return {"licence": {**licence_json(licence), "key": None}}


def licence_json(licence: Licence) -> dict[str, Any]:
    return {
        "id": licence.id,
        "email": licence.email,
        "status": licence.status,
        "product": licence.product,
        "quantities": licence.quantities,
        "paid_until": licence.paid_until.isoformat() if licence.paid_until else None,
        "trial_ends_at": licence.trial_ends_at.isoformat() if licence.trial_ends_at else None,
        "support": licence.support,
        "key": licence.key,
    }


@get(
    "/api/v1/orders/{token:str}/document.pdf",
    sync_to_thread=True,
    tags=["orders"],
    media_type="application/pdf",
    responses={
        **answers(200, bytes, **NO_ORDER),
        200: ResponseSpec(
            data_container=bytes,
            media_type="application/pdf",
            description="the PDF",
            generate_examples=False,
        ),
    },
)
@transaction
def order_document_pdf(
    db: Db, shop: ShopDep, enabled: Enabled, t: T, token: FromPath[str]
) -> Response[bytes]:
    """The quote or invoice as PDF, in the order's language and currency (R9)."""
    order = order_by_token(db, token)
    order_t = Translator.for_settings(shop.settings, order.locale)
    document = order_document(db, order, enabled, shop.settings, order_t)
    filename = document_filename(order, order_t)
    db.commit()  # drawn once the read has ended: on SQLite a transaction holds the write lock
    return Response(
        render_document(document, order_t),  # an invoice is a Factur-X PDF
        media_type="application/pdf",
        headers={"Content-Disposition": f'inline; filename="{filename}"'},
    )


@get(
    "/api/v1/orders/{token:str}/xrechnung.xml",
    sync_to_thread=True,
    tags=["orders"],
    media_type=XML,
    responses={
        **answers(200, bytes, **NO_ORDER),
        200: ResponseSpec(
            data_container=bytes,
            media_type=XML,
            description="the invoice as XRechnung 3.0 (CII syntax)",
            generate_examples=False,
        ),
    },
)
@transaction
def order_xrechnung(
    db: Db, shop: ShopDep, enabled: Enabled, token: FromPath[str]
) -> Response[bytes]:
    """A business buyer's invoice as XRechnung (EN 16931, CII); 404 for a quote, an order
    without invoice, or a consumer's order."""
    order = order_by_token(db, token)
    if not has_xrechnung(order):
        raise ShopError(404, "not_found", N_("This order has no e-invoice."))
    document = xrechnung_document(db, order, enabled, shop.settings)
    filename = xrechnung_filename(order)
    db.commit()
    return Response(
        xrechnung_xml(document),
        media_type=XML,
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )


@get(
    "/api/v1/orders/{token:str}/credit-notes/{number:int}/document.pdf",
    sync_to_thread=True,
    tags=["orders"],
    media_type=PDF,
    responses={
        **answers(200, bytes, **NO_ORDER),
        200: ResponseSpec(
            data_container=bytes,
            media_type=PDF,
            description="the credit note (CN-<number>) as PDF, in the order's language",
            generate_examples=False,
        ),
    },
)
@transaction
def order_credit_note_pdf(
    db: Db, shop: ShopDep, enabled: Enabled, token: FromPath[str], number: FromPath[int]
) -> Response[bytes]:
    """A credit note of the order (GoBD: it cancels or corrects the invoice), reachable by
    whoever holds the order's token; 404 for a number the order has no credit note by."""
    order = order_by_token(db, token)
    note = credit_note_of(db, order, number)
    if note is None:
        raise ShopError(404, "not_found", N_("This order has no such credit note."))
    order_t = Translator.for_settings(shop.settings, order.locale)
    document = credit_note_document(db, note, order, enabled, shop.settings, order_t)
    filename = credit_note_filename(note, order_t)
    db.commit()  # drawn once the read has ended
    return Response(
        render_document(document, order_t),
        media_type=PDF,
        headers={"Content-Disposition": f'inline; filename="{filename}"'},
    )


@get(PUBLIC_KEY_PATH, sync_to_thread=True, cache_control=PUBLIC)
def licence_public_key(shop: ShopDep) -> Response[str]:
    """The shop's Ed25519 public key, to verify licence keys offline (R6)."""
    media_type, pem = public_key_document(shop.settings)
    return Response(pem, media_type=media_type)
