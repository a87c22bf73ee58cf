"""The subscriber's pages: the subscription, and "Upgrade or Downgrade" with a live preview
of the setup fee (R17-R20). Reached through the private link in the order and its e-mails."""

from __future__ import annotations

from typing import Any

from litestar import Request, get, post
from litestar.params import FromPath, URLEncodedBody
from litestar.response import Redirect, Template
from sqlmodel import Session, select

from shop.catalog.products import N_
from shop.catalog.rates import current_rates
from shop.errors import ShopError
from shop.i18n import Translator
from shop.money import Money
from shop.orders.line_text import line_text
from shop.orders.models import Order
from shop.orders.notifications import notify
from shop.orders.payments import order_lines
from shop.plugins.manager import EnabledPlugins
from shop.subscriptions.dutch_rule import DUTCH_RULE_TEXT, cancellation_end, is_dutch_consumer
from shop.subscriptions.models import Subscription
from shop.subscriptions.proration import fee_formula
from shop.subscriptions.service import (
    SWITCH_REASONS,
    SwitchOutcome,
    items_dict,
    main_product,
    next_renewal_total,
    open_switch_order,
    request_switch,
    resume,
    switch_refusal,
    withdraw_downgrade,
    withdraw_open_switch,
)
from shop.subscriptions.switch_text import explanation
from shop.web.api.subscriptions import cancel_and_confirm
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
    session: Session,
    shop: Shop,
    enabled: EnabledPlugins,
    subscription: Subscription,
    t: Translator,
) -> dict[str, Any]:
    installed = shop.plugins.everything
    refusal = switch_refusal(session, enabled, subscription, shop.clock.today(), installed)
    main = main_product(enabled, subscription)
    current = items_dict(subscription.items)
    addons = [
        enabled.products[sku] for sku in (main.addons if main else ()) if sku in enabled.products
    ]
    renewal = next_renewal_total(enabled, subscription, current_rates(session))
    return {
        "subscription": subscription,
        "main": main or main_product(installed, subscription),
        "addons": addons,
        "current": current,
        "scheduled": items_dict(subscription.scheduled_items)
        if subscription.scheduled_items is not None
        else None,
        # Names of everything installed: a line the operator disabled is still named.
        "products": installed.products,
        "status_label": STATUS_LABELS.get(subscription.status, subscription.status),
        "refusal": t.gettext(SWITCH_REASONS[refusal]) if refusal else None,
        "next_renewal": t.money(renewal) if renewal is not None else None,
        "open_switch": _open_switch(session, subscription, t),
        "money": lambda amount: Money.of(amount, subscription.currency),
        # The Dutch rule: a consumer's cancellation after the first term ends within a month.
        "dutch_consumer": is_dutch_consumer(session, subscription),
        "dutch_rule": t.gettext(DUTCH_RULE_TEXT),
        "cancel_ends": cancellation_end(session, subscription, shop.clock.today()),
    }


def _open_switch(
    session: Session, subscription: Subscription, t: Translator
) -> dict[str, Any] | None:
    """The unpaid upgrade, as the subscription and switch pages show it (R19)."""
    order: Order | None = open_switch_order(session, subscription)
    if order is None:
        return None
    lines = order_lines(session, order)
    return {
        "order": order,
        "what": [line_text(line, order.currency, t) for line in lines],
        "fee": t.money(Money.of(order.total, order.currency)),
        "expires": t.day(order.expires_at, "long") if order.expires_at else None,
        "url": f"/{t.locale}/orders/{order.token}",
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
        **_context(db, shop, enabled, subscription, t),
    )


def _wanted(subscription: Subscription, enabled: EnabledPlugins, form: Any) -> list[dict[str, Any]]:
    """The totals the subscriber typed (R18); the base product stays."""
    main = main_product(enabled, subscription)
    if main is None:  # a line not on offer: request_switch refuses it with the reason
        return list(subscription.items)
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
        "current_recurring_total": t.money(quote.current_recurring),
        "new_recurring_total": t.money(quote.new_recurring),
        "days_left": quote.days_left,
        "days_in_term": quote.days_in_term,
        "days": t.gettext(
            N_("%(left)s of %(total)s"), left=quote.days_left, total=quote.days_in_term
        ),
        "formula": fee_formula(quote),
        "explanation": explanation(outcome, t),
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
            installed=shop.plugins.everything,
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
    context = _context(db, shop, enabled, subscription, t)
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
                installed=shop.plugins.everything,
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
            **_context(db, shop, enabled, subscription, t),
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


def _confirm_page(
    request: Request[Any, Any, Any],
    db: Session,
    shop: Shop,
    enabled: EnabledPlugins,
    t: Translator,
    subscription: Subscription,
    what: str,
) -> Template:
    """The step between the button and the change: say what happens, ask to confirm."""
    return render_page(
        "pages/subscription_confirm.html",
        request,
        shop,
        t,
        buyer_choice(request, shop, enabled, t),
        what=what,
        **_context(db, shop, enabled, subscription, t),
    )


@get("/{lang:str}/subscriptions/{token:str}/switch-order/confirm-withdraw", sync_to_thread=True)
@transaction
def switch_order_withdraw_confirm(
    request: Request[Any, Any, Any],
    db: Db,
    shop: ShopDep,
    enabled: Enabled,
    t: T,
    lang: FromPath[str],
    token: FromPath[str],
) -> Template:
    """Asks before withdrawing the upgrade that waits for payment."""
    return _confirm_page(request, db, shop, enabled, t, by_token(db, token), "withdraw")


@post("/{lang:str}/subscriptions/{token:str}/switch-order/withdraw", sync_to_thread=True)
@transaction
def switch_order_withdraw(
    db: Db, shop: ShopDep, lang: FromPath[str], token: FromPath[str]
) -> Redirect:
    """Withdraw the unpaid upgrade: its order is cancelled (and its payment voided)."""
    withdraw_open_switch(db, by_token(db, token), "customer", shop.clock.now())
    return Redirect(f"/{lang}/subscriptions/{token}")


@get("/{lang:str}/subscriptions/{token:str}/confirm-cancel", sync_to_thread=True)
@transaction
def subscription_cancel_confirm(
    request: Request[Any, Any, Any],
    db: Db,
    shop: ShopDep,
    enabled: Enabled,
    t: T,
    lang: FromPath[str],
    token: FromPath[str],
) -> Template:
    """Asks before cancelling (R10): until when the paid term runs, that nothing is refunded."""
    return _confirm_page(request, db, shop, enabled, t, by_token(db, token), "cancel")


@post("/{lang:str}/subscriptions/{token:str}/cancel", sync_to_thread=True)
@transaction
def subscription_cancel(
    request: Request[Any, Any, Any],
    db: Db,
    shop: ShopDep,
    lang: FromPath[str],
    token: FromPath[str],
) -> Redirect:
    """The confirmed cancellation, with its confirmation mail."""
    subscription = by_token(db, token)
    cancel_and_confirm(db, shop, subscription, "customer")
    mail_queued(request)
    return Redirect(f"/{lang}/subscriptions/{token}")


@post("/{lang:str}/subscriptions/{token:str}/resume", sync_to_thread=True)
@transaction
def subscription_resume(
    db: Db, shop: ShopDep, lang: FromPath[str], token: FromPath[str]
) -> Redirect:
    """The subscriber takes their cancellation back before the paid term ends."""
    resume(db, by_token(db, token), "customer", shop.clock.now())
    return Redirect(f"/{lang}/subscriptions/{token}")
