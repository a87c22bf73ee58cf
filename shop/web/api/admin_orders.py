"""Operator endpoints for orders, payments received, licences and the outbox (R12, R35)."""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated, Any

from litestar import Request, get, post
from litestar.openapi.spec import Example
from litestar.params import Body, FromPath, FromQuery, Parameter
from sqlalchemy import text
from sqlmodel import Session, col, select

from shop.catalog.products import N_
from shop.errors import ShopError
from shop.licences.models import Licence, normalise_email
from shop.mail import list_outbox
from shop.orders.attention import resolve_flag
from shop.orders.lifecycle import cancel_order
from shop.orders.models import NEEDS_ACTION, Order
from shop.orders.notifications import notify
from shop.orders.payments import parse_amount, record_payment
from shop.plugins.manager import EnabledPlugins
from shop.web.api.orders import NO_ORDER, close_cancelled_payment, licence_json, order_json
from shop.web.api.schemas import (
    OPERATOR,
    PAYMENT_EXAMPLE,
    LicenceList,
    OrderAnswer,
    OrderList,
    Outbox,
    PaymentReceived,
    ResolveRequest,
    answers,
)
from shop.web.deps import Db, Enabled, Operator, Shop, ShopDep, T, mail_queued
from shop.web.hostile_input import MAX_ID
from shop.web.transaction import transaction


def order_by_number(db: Db, number: int) -> Order:
    order = db.exec(select(Order).where(Order.number == number)).first()
    if order is None:
        raise ShopError(404, "not_found", N_("There is no order %(number)s."), number=number)
    return order


@get("/orders", sync_to_thread=True, responses=answers(200, OrderList, **OPERATOR))
@transaction
def list_orders(
    db: Db,
    shop: ShopDep,
    enabled: Enabled,
    t: T,
    operator: Operator,
    email: FromQuery[str | None] = None,
    subscription_id: Annotated[int | None, Parameter(ge=1, le=MAX_ID)] = None,
    needs_action: FromQuery[bool | None] = None,
) -> dict[str, Any]:
    """Orders and quotes, newest first, optionally for one e-mail or subscription; with
    ``needs_action=true`` the orders flagged for the operator, the longest waiting first."""
    statement = select(Order).order_by(col(Order.number).desc()).limit(500)
    if needs_action:
        statement = (
            select(Order)
            .where(text(NEEDS_ACTION))
            .order_by(col(Order.needs_action_since), col(Order.id))
            .limit(500)
        )
    if email:
        statement = statement.where(Order.email == normalise_email(email))
    if subscription_id is not None:
        statement = statement.where(Order.subscription_id == subscription_id)
    orders = db.exec(statement).all()
    return {"orders": [order_json(db, o, enabled, shop.settings, t) for o in orders]}


@post(
    "/orders/{number:int}/payments",
    sync_to_thread=True,
    status_code=201,
    responses=answers(
        201,
        OrderAnswer,
        e409=("order_closed", "order_paid"),
        e422=("currency_mismatch", "idempotency_key_reused"),
        **OPERATOR,
        **NO_ORDER,
    ),
)
@transaction
def add_payment(
    request: Request[Any, Any, Any],
    db: Db,
    shop: ShopDep,
    enabled: Enabled,
    t: T,
    operator: Operator,
    number: FromPath[int],
    data: Annotated[
        PaymentReceived,
        Body(examples=[Example(summary="a bank transfer", value=PAYMENT_EXAMPLE)]),
    ],
) -> dict[str, Any]:
    """Record a bank transfer or cheque received; the order is paid when the total is covered."""
    order = order_by_number(db, number)
    changed = receive_payment(
        db,
        shop,
        enabled,
        order,
        amount=parse_amount(data.amount.strip(), order.currency),
        currency=data.currency.strip().upper(),
        method=data.method or order.payment_method or "bank_transfer",
        reference=data.reference,
        operator=operator,
        accept_overpayment=data.accept_overpayment,
    )
    if changed:
        mail_queued(request)
    return {"order": order_json(db, order, enabled, shop.settings, t)}


def receive_payment(
    db: Session,
    shop: Shop,
    enabled: EnabledPlugins,
    order: Order,
    *,
    amount: Decimal,
    currency: str,
    method: str,
    reference: str | None,
    operator: str,
    accept_overpayment: bool,
) -> bool:
    """Record money received (the API and the back office); paid in full, the buyer is
    mailed. True when the order's status changed (a mail is queued)."""
    now = shop.clock.now()
    was = order.status
    record_payment(
        db,
        enabled,
        shop.settings,
        order,
        amount=amount,
        currency=currency,
        method=method,
        reference=reference,
        recorded_by=operator,
        now=now,
        today=shop.clock.today(),
        accept_overpayment=accept_overpayment,
    )
    if order.status == was:
        return False
    notify(db, shop.templates, enabled, shop.settings, order, now)
    return True


@post(
    "/orders/{number:int}/resolve",
    sync_to_thread=True,
    status_code=200,
    responses=answers(200, OrderAnswer, e409=("nothing_to_resolve",), **OPERATOR, **NO_ORDER),
)
@transaction
def resolve(
    db: Db,
    shop: ShopDep,
    enabled: Enabled,
    t: T,
    operator: Operator,
    number: FromPath[int],
    data: Annotated[
        ResolveRequest,
        Body(examples=[Example(value={"note": "Refunded 4,455.00 by bank transfer."})]),
    ],
) -> dict[str, Any]:
    """Clear an order's flag once handled, with a note of what was done (kept)."""
    order = order_by_number(db, number)
    if not data.note.strip():
        raise ShopError(422, "validation_error", N_("Please fill in this field.")).on_field("note")
    resolve_flag(db, order, data.note.strip(), operator, shop.clock.now())
    return {"order": order_json(db, order, enabled, shop.settings, t)}


@post(
    "/orders/{number:int}/cancel",
    sync_to_thread=True,
    status_code=200,
    responses=answers(
        200, OrderAnswer, e409=("order_paid", "order_not_cancellable"), **OPERATOR, **NO_ORDER
    ),
)
@transaction(after_commit=close_cancelled_payment)
def cancel_by_operator(
    db: Db, shop: ShopDep, enabled: Enabled, t: T, operator: Operator, number: FromPath[int]
) -> dict[str, Any]:
    """Cancel an unpaid order or quote; its e-mail is free again (R1)."""
    order = cancel_order(db, order_by_number(db, number), shop.clock.now())
    return {"order": order_json(db, order, enabled, shop.settings, t)}


@get("/licences", sync_to_thread=True, responses=answers(200, LicenceList, **OPERATOR))
@transaction
def list_licences(
    db: Db, operator: Operator, email: FromQuery[str | None] = None
) -> dict[str, Any]:
    """Licences, optionally the one of an e-mail."""
    statement = select(Licence).order_by(col(Licence.id).desc()).limit(500)
    if email:
        statement = statement.where(Licence.email == normalise_email(email))
    return {"licences": [licence_json(licence) for licence in db.exec(statement).all()]}


@get("/outbox", sync_to_thread=True, responses=answers(200, Outbox, **OPERATOR))
@transaction
def outbox(
    db: Db, shop: ShopDep, operator: Operator, to: FromQuery[str | None] = None
) -> dict[str, Any]:
    """The e-mails the shop wrote, newest first: whether they were sent (``status``
    pending, sending, sent or failed after too many attempts), and when they are retried."""
    now = shop.clock.now()
    return {
        "messages": [
            {
                "id": m.id,
                "to": m.to_address,
                "subject": m.subject,
                "kind": m.kind,
                "order_number": m.order_number,
                "locale": m.locale,
                "text": m.text_body,
                "attachment": m.attachment_name,
                "created_at": m.created_at.isoformat(),
                "sent_at": m.sent_at.isoformat() if m.sent_at else None,
                "status": m.status_at(now),
                "attempts": m.attempts,
                "next_attempt_at": m.next_attempt_at.isoformat() if m.next_attempt_at else None,
                "last_error": m.last_error,
            }
            for m in list_outbox(db, to=normalise_email(to) if to else None)
        ]
    }
