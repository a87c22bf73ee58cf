"""Where providers report payments: signed webhooks, and the buyer's return from paying.

Neither trusts the browser: a webhook counts only when its signature checks out, and a
return is checked server-side with the provider. No database transaction is open while
the provider is asked, so a provider that calls back at once never waits on the shop.
"""

from __future__ import annotations

from typing import Any

from litestar import Request, get, post
from litestar.concurrency import sync_to_thread
from litestar.params import FromPath
from litestar.response import Redirect
from sqlmodel import select

from shop.catalog.products import N_
from shop.db import session_scope
from shop.errors import ShopError
from shop.orders.models import Order, OrderStatus
from shop.payments.methods import (
    ChargeFailure,
    InvalidWebhook,
    MalformedEvent,
    OnlineMethod,
    ProviderPayment,
    ProviderUnavailable,
)
from shop.payments.received import Context, apply_once, receive_event
from shop.web.api.schemas import WebhookAck, answers
from shop.web.deps import Shop, ShopDep, mail_queued


def online_methods(shop: Shop) -> dict[str, OnlineMethod]:
    """Every installed online method by provider, enabled or not: money already taken
    through a method the operator has since disabled must still be recorded."""
    methods = shop.plugins.everything.payment_methods.values()
    return {m.provider: m for m in methods if isinstance(m, OnlineMethod)}


def context(shop: Shop) -> Context:
    return Context(
        shop.enabled_now(), shop.settings, shop.templates, shop.clock.now(), shop.clock.today()
    )


@post(
    "/webhooks/{provider:str}",
    status_code=200,
    tags=["webhooks"],
    responses=answers(
        200,
        WebhookAck,
        e400=("invalid_signature", "invalid_event"),
        e404=("not_found",),
        e503=("provider_unavailable",),
    ),
)
async def receive_webhook(
    request: Request[Any, Any, Any], shop: ShopDep, provider: FromPath[str]
) -> dict[str, Any]:
    """A provider event: 400 if its signature is wrong; otherwise stored and applied once
    (R13) and acknowledged, even for an unknown or already-paid order."""
    body = await request.body()
    headers = {name.lower(): value for name, value in request.headers.items()}
    return await sync_to_thread(_receive, shop, provider, body, headers)


def _receive(shop: Shop, provider: str, body: bytes, headers: dict[str, str]) -> dict[str, Any]:
    method = online_methods(shop).get(provider)
    if method is None or method.missing_settings(shop.settings):
        raise ShopError(404, "not_found", N_("Not found"))  # no such provider configured
    try:
        event = method.parse_webhook(body, headers, shop.settings)
    except MalformedEvent:
        raise ShopError(
            400, "invalid_event", N_("The body is not an event the shop can read.")
        ) from None
    except InvalidWebhook:
        raise ShopError(
            400, "invalid_signature", N_("The webhook signature does not check out.")
        ) from None
    except ProviderUnavailable:
        raise ShopError(
            503, "provider_unavailable", N_("The payment provider cannot be reached right now.")
        ) from None
    outcome = receive_event(shop.engine, context(shop), provider, method.code, event)
    return {"received": True, "event": event.event_id, "outcome": outcome}


@get("/{lang:str}/orders/{token:str}/return", sync_to_thread=True)
def payment_return(
    request: Request[Any, Any, Any], shop: ShopDep, lang: FromPath[str], token: FromPath[str]
) -> Redirect:
    """The buyer is back from the card form or PayPal: ask the provider what happened,
    apply a confirmed payment, then show the order page."""
    with session_scope(shop.reader) as session:
        order = session.exec(select(Order).where(Order.token == token)).first()
    if order is None:
        raise ShopError(404, "not_found", N_("There is no order with this address."))
    page = f"/{lang}/orders/{token}"
    method = shop.plugins.everything.payment_methods.get(order.payment_method)
    if order.status not in (OrderStatus.PENDING, OrderStatus.QUOTE) or not isinstance(
        method, OnlineMethod
    ):
        return Redirect(page)
    query = {name: value for name, value in request.query_params.items()}
    result = method.confirm_return(query, shop.settings)
    if isinstance(result, ProviderPayment) and result.order_number == order.number:
        apply_once(shop.engine, context(shop), order.payment_method, result, "return")
        mail_queued(request)
        return Redirect(page)
    if isinstance(result, ChargeFailure):
        return Redirect(f"{page}?payment_failed={result.code}")
    return Redirect(page)
