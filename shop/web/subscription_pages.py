"""The subscriber's pages: the subscription, and "Upgrade or Downgrade" with a live preview
of the setup fee (R17-R20). Reached through the private link in the order and its e-mails."""

from __future__ import annotations

from typing import Any

from litestar import Request, get, post
from litestar.params import FromPath, URLEncodedBody
from litestar.response import Redirect, Template
from sqlmodel import Session, select

from shop.catalog.products import N_
from shop.errors import ShopError
from shop.i18n import Translator
from shop.money import Money
from shop.orders.notifications import notify
from shop.plugins.manager import EnabledPlugins
from shop.subscriptions.models import Subscription
from shop.subscriptions.service import (
    SWITCH_REASONS,
    SwitchOutcome,
    items_dict,
    main_product,
    request_switch,
    switch_refusal,
    withdraw_downgrade,
)
from shop.web.api.subscriptions import cancel_subscription
from shop.web.deps import Db, Enabled, Shop, ShopDep, T, mail_queued
from shop.web.pages import buyer_choice, render_page
from shop.web.transaction import transaction

STATUS_LABELS = {
    "pending": N_("Awaiting payment"),
    "active": N_("Active"),
    "on-hold": N_("On hold: renewal unpaid"),
    "pending-cancel": N_("Cancelled, runs to the end of the term"),
    "cancelled": N_("Cancelled"),
    "expired": N_("Expired"),
}


def by_token(session: Session, token: str) -> Subscription:
    subscription = session.exec(select(Subscription).where(Subscription.token == token)).first()
    if subscription is None:
        raise ShopError(404, "not_found", N_("There is nothing at this address."))
    return subscription


def _context(
    session: Session, enabled: EnabledPlugins, subscription: Subscription, t: Translator
) -> dict[str, Any]:
    refusal = switch_refusal(session, enabled, subscription)
    main = main_product(enabled, subscription)
    current = items_dict(subscription.items)
    addons = [
        enabled.products[sku] for sku in (main.addons if main else ()) if sku in enabled.products
    ]
    return {
        "subscription": subscription,
        "main": main,
        "addons": addons,
        "current": current,
        "scheduled": items_dict(subscription.scheduled_items)
        if subscription.scheduled_items is not None
        else None,
        "products": enabled.products,
        "status_label": STATUS_LABELS.get(subscription.status, subscription.status),
        "refusal": t.gettext(SWITCH_REASONS[refusal]) if refusal else None,
        "money": lambda amount: Money.of(amount, subscription.currency),
    }


@get("/{lang:str}/subscriptions/{token:str}", sync_to_thread=True)
@transaction
def subscription_page(
    request: Request[Any, Any, Any],
    db: Db,
    shop: ShopDep,
    enabled: Enabled,
    t: T,
    lang: FromPath[str],
    token: FromPath[str],
) -> Template:
    subscription = by_token(db, token)
    return render_page(
        "pages/subscription.html",
        request,
        shop,
        t,
        buyer_choice(request, shop, enabled, t),
        **_context(db, enabled, subscription, t),
    )


def _wanted(subscription: Subscription, enabled: EnabledPlugins, form: Any) -> list[dict[str, Any]]:
    """The totals the subscriber typed (R18); the base product stays."""
    main = main_product(enabled, subscription)
    assert main is not None
    items: list[dict[str, Any]] = [{"sku": main.sku, "quantity": 1}]
    current = items_dict(subscription.items)
    for sku in main.addons:
        raw = form.get(f"qty-{sku}")
        try:
            quantity = int(raw) if raw not in (None, "") else current.get(sku, 0)
        except ValueError:
            quantity = -1  # refused with a message
        items.append({"sku": sku, "quantity": quantity})
    return items


def _preview_json(outcome: SwitchOutcome, t: Translator) -> dict[str, Any]:
    quote = outcome.quote
    return {
        "kind": quote.kind,
        "setup_fee": t.money(quote.setup_fee),
        "fee_waived": quote.fee_waived,
        "next_renewal_total": t.money(quote.next_renewal_total),
        "effective_at": t.date(quote.effective_at, "long"),
        "lines": {line.sku: t.money(line.recurring) for line in outcome.lines},
    }


def _preview(
    db: Session,
    shop: Shop,
    enabled: EnabledPlugins,
    t: Translator,
    subscription: Subscription,
    form: Any,
) -> tuple[dict[str, Any] | None, str | None]:
    """The quote for the typed totals, or the reason it cannot be given."""
    try:
        outcome = request_switch(
            db,
            enabled,
            shop.settings,
            subscription,
            _wanted(subscription, enabled, form),
            preview=True,
            actor="customer",
            today=shop.clock.today(),
            now=shop.clock.now(),
        )
    except ShopError as problem:
        return None, t.gettext(problem.detail, **problem.params)
    return _preview_json(outcome, t), None


@get("/{lang:str}/subscriptions/{token:str}/switch", sync_to_thread=True)
@transaction
def switch_page(
    request: Request[Any, Any, Any],
    db: Db,
    shop: ShopDep,
    enabled: Enabled,
    t: T,
    lang: FromPath[str],
    token: FromPath[str],
) -> Template:
    """New totals per item with the setup fee, the next renewal and when it applies."""
    subscription = by_token(db, token)
    context = _context(db, enabled, subscription, t)
    preview, error = None, None
    if context["refusal"] is None:
        preview, error = _preview(db, shop, enabled, t, subscription, request.query_params)
    wanted = {i["sku"]: i["quantity"] for i in _wanted(subscription, enabled, request.query_params)}
    return render_page(
        "pages/switch.html",
        request,
        shop,
        t,
        buyer_choice(request, shop, enabled, t),
        preview=preview,
        error=error,
        wanted=wanted,
        **context,
    )


@get("/{lang:str}/subscriptions/{token:str}/switch/preview", sync_to_thread=True)
@transaction
def switch_preview(
    request: Request[Any, Any, Any],
    db: Db,
    shop: ShopDep,
    enabled: Enabled,
    t: T,
    lang: FromPath[str],
    token: FromPath[str],
) -> dict[str, Any]:
    """The live preview the switch page asks for while the subscriber types."""
    preview, error = _preview(db, shop, enabled, t, by_token(db, token), request.query_params)
    return preview or {"error": error}


@post("/{lang:str}/subscriptions/{token:str}/switch/apply", sync_to_thread=True)
@transaction
def switch_apply(
    request: Request[Any, Any, Any],
    db: Db,
    shop: ShopDep,
    enabled: Enabled,
    t: T,
    lang: FromPath[str],
    token: FromPath[str],
    data: URLEncodedBody[dict[str, str]],
) -> Redirect | Template:
    """Order the upgrade (then pay the setup fee) or schedule the downgrade."""
    subscription = by_token(db, token)
    now = shop.clock.now()
    try:
        with db.begin_nested():
            outcome = request_switch(
                db,
                enabled,
                shop.settings,
                subscription,
                _wanted(subscription, enabled, data),
                preview=False,
                actor="customer",
                today=shop.clock.today(),
                now=now,
            )
            if outcome.order is not None:
                notify(db, shop.templates, enabled, shop.settings, outcome.order, now)
    except ShopError as problem:
        page = render_page(
            "pages/switch.html",
            request,
            shop,
            t,
            buyer_choice(request, shop, enabled, t),
            preview=None,
            error=t.gettext(problem.detail, **problem.params),
            wanted={k: v for k, v in data.items()},
            **_context(db, enabled, subscription, t),
        )
        page.status_code = 422
        return page
    if outcome.order is not None:
        mail_queued(request)
        return Redirect(f"/{lang}/orders/{outcome.order.token}")
    return Redirect(f"/{lang}/subscriptions/{token}")


@post("/{lang:str}/subscriptions/{token:str}/withdraw", sync_to_thread=True)
@transaction
def switch_withdraw(db: Db, shop: ShopDep, lang: FromPath[str], token: FromPath[str]) -> Redirect:
    withdraw_downgrade(db, by_token(db, token), "customer", shop.clock.now())
    return Redirect(f"/{lang}/subscriptions/{token}")


@post("/{lang:str}/subscriptions/{token:str}/cancel", sync_to_thread=True)
@transaction
def subscription_cancel(
    db: Db, shop: ShopDep, lang: FromPath[str], token: FromPath[str]
) -> Redirect:
    cancel_subscription(db, by_token(db, token), "customer", shop.clock.now())
    return Redirect(f"/{lang}/subscriptions/{token}")
