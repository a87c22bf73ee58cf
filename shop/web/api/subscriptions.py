"""Subscriptions over the API: state, Upgrade or Downgrade, cancellation (R16-R20, R10).

Operator tokens act on any subscription; subscribers use their page (shop.web.subscription_pages).
"""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any

from litestar import Request, Router, delete, get, post
from litestar.di import Provide
from litestar.openapi.spec import Example
from litestar.params import Body, FromPath
from sqlmodel import Session

from shop.catalog.products import N_
from shop.catalog.rates import current_rates
from shop.errors import ShopError
from shop.i18n import Translator
from shop.money import Money
from shop.orders.notifications import notify, notify_cancelled
from shop.plugins.event_data import emit_subscription
from shop.plugins.manager import EnabledPlugins
from shop.subscriptions.dutch_rule import cancellation_end
from shop.subscriptions.models import Subscription, SubscriptionStatus
from shop.subscriptions.proration import fee_formula
from shop.subscriptions.service import (
    SWITCH_REASONS,
    SwitchOutcome,
    events,
    next_renewal_total,
    open_switch_order,
    record_event,
    refuse_switch,
    request_switch,
    set_status,
    subscriber_name,
    switch_refusal,
    withdraw_downgrade,
)
from shop.subscriptions.switch_text import explanation
from shop.web.api.orders import order_json
from shop.web.api.schemas import (
    OPERATOR,
    SWITCH_EXAMPLE,
    SwitchAnswer,
    SwitchRequest,
    answers,
    as_dict,
)
from shop.web.api.schemas import (
    Subscription as SubscriptionAnswer,
)
from shop.web.deps import Db, Enabled, Operator, Shop, ShopDep, T, mail_queued, provide_operator
from shop.web.transaction import transaction


def subscription_json(
    session: Session, subscription: Subscription, enabled: EnabledPlugins, shop: Shop, t: Translator
) -> dict[str, Any]:
    refusal = switch_refusal(
        session, enabled, subscription, shop.clock.today(), shop.plugins.everything
    )
    renewal = next_renewal_total(enabled, subscription, current_rates(session))
    open_order = open_switch_order(session, subscription)
    return {
        "id": subscription.id,
        "status": subscription.status,
        "email": subscription.email,
        "items": subscription.items,
        "term_start": subscription.term_start.isoformat() if subscription.term_start else None,
        "term_end": subscription.term_end.isoformat() if subscription.term_end else None,
        "billing_period_months": subscription.billing_period_months,
        "scheduled_change": (
            {
                "items": subscription.scheduled_items,
                "effective_at": subscription.term_end.isoformat(),
            }
            if subscription.scheduled_items is not None and subscription.term_end
            else None
        ),
        "recurring_total": Money.of(subscription.recurring_total, subscription.currency).to_json(),
        # What the next renewal charges (a scheduled change included); None: no renewal.
        "next_renewal_total": renewal.to_json() if renewal is not None else None,
        # The unpaid upgrade (at most one, R19): pay it at its order page or withdraw it.
        "open_switch_order": order_json(session, open_order, enabled, shop.settings, t)
        if open_order is not None
        else None,
        "licence_id": subscription.licence_id,
        "can_switch": refusal is None,
        "reason": refusal,
        "reason_text": t.gettext(SWITCH_REASONS[refusal]) if refusal else None,
        "page_url": f"/{subscription.locale}/subscriptions/{subscription.token}",
    }


def switch_json(
    session: Session, outcome: SwitchOutcome, enabled: EnabledPlugins, shop: Shop, t: Translator
) -> dict[str, Any]:
    quote = outcome.quote
    return {
        "kind": quote.kind,
        "setup_fee": quote.setup_fee.to_json(),
        "fee_waived": quote.fee_waived,
        "days_left": quote.days_left,
        "days_in_term": quote.days_in_term,
        "term_start": outcome.term_start.isoformat(),
        "term_end": outcome.term_end.isoformat(),
        "formula": fee_formula(quote),
        "explanation": explanation(outcome, t),
        "effective_at": quote.effective_at.isoformat(),
        "current_recurring_total": quote.current_recurring.to_json(),
        "new_recurring_total": quote.new_recurring.to_json(),
        "next_renewal_total": quote.next_renewal_total.to_json(),
        "lines": [
            {
                "sku": line.sku,
                "name": t.gettext(line.name),
                "quantity": line.quantity,
                "recurring_total": line.recurring.to_json(),
            }
            for line in outcome.lines
        ],
        "applied": outcome.applied,
        "scheduled": outcome.scheduled,
        "order": order_json(session, outcome.order, enabled, shop.settings, t)
        if outcome.order
        else None,
    }


def subscription_by_id(session: Session, subscription_id: int) -> Subscription:
    subscription = session.get(Subscription, subscription_id)
    if subscription is None:
        raise ShopError(404, "not_found", N_("There is nothing at this address."))
    return subscription


NO_SUBSCRIPTION = {"e404": ("not_found",), **OPERATOR}
REFUSED = {"e409": ("switch_not_allowed",)}


@get(
    "/{subscription_id:int}",
    sync_to_thread=True,
    responses=answers(200, SubscriptionAnswer, **NO_SUBSCRIPTION),
)
@transaction
def get_subscription(
    db: Db,
    shop: ShopDep,
    enabled: Enabled,
    t: T,
    operator: Operator,
    subscription_id: FromPath[int],
) -> dict[str, Any]:
    """A subscription, whether it can switch and why not, and its history."""
    subscription = subscription_by_id(db, subscription_id)
    body = subscription_json(db, subscription, enabled, shop, t)
    body["events"] = [
        {
            "at": e.at.isoformat(),
            "actor": e.actor,
            "from_status": e.from_status,
            "to_status": e.to_status,
            "reason": e.reason,
        }
        for e in events(db, subscription)
    ]
    return body


@post(
    "/{subscription_id:int}/switch",
    sync_to_thread=True,
    status_code=200,
    responses=answers(
        200,
        SwitchAnswer,
        e422=("unknown_product", "not_for_sale", "idempotency_key_reused"),
        **REFUSED,
        **NO_SUBSCRIPTION,
    ),
)
@transaction
def switch_subscription(
    request: Request[Any, Any, Any],
    db: Db,
    shop: ShopDep,
    enabled: Enabled,
    t: T,
    operator: Operator,
    subscription_id: FromPath[int],
    data: Annotated[
        SwitchRequest,
        Body(examples=[Example(summary="preview 10 persons instead of 6", value=SWITCH_EXAMPLE)]),
    ],
) -> dict[str, Any]:
    """New totals per item (R18): preview, or order the upgrade / schedule the downgrade."""
    body = as_dict(data)
    subscription = subscription_by_id(db, subscription_id)
    now = shop.clock.now()
    outcome = request_switch(
        db,
        enabled,
        shop.settings,
        subscription,
        body["items"],
        preview=data.preview,
        actor="operator",
        today=shop.clock.today(),
        now=now,
        installed=shop.plugins.everything,
    )
    if outcome.order is not None:
        notify(db, shop.templates, enabled, shop.settings, outcome.order, now)
        mail_queued(request)
    return switch_json(db, outcome, enabled, shop, t)


@delete(
    "/{subscription_id:int}/scheduled-change",
    sync_to_thread=True,
    status_code=200,
    responses=answers(200, SubscriptionAnswer, **REFUSED, **NO_SUBSCRIPTION),
)
@transaction
def withdraw_scheduled_change(
    db: Db,
    shop: ShopDep,
    enabled: Enabled,
    t: T,
    operator: Operator,
    subscription_id: FromPath[int],
) -> dict[str, Any]:
    """Withdraw a scheduled downgrade before the renewal (R20)."""
    subscription = subscription_by_id(db, subscription_id)
    withdraw_downgrade(db, subscription, "operator", shop.clock.now())
    return subscription_json(db, subscription, enabled, shop, t)


def cancel_and_confirm(
    session: Session, shop: Shop, subscription: Subscription, actor: str
) -> None:
    """Cancel (R10) and queue the subscriber's confirmation mail in their language."""
    now = shop.clock.now()
    cancel_subscription(session, subscription, actor, now, shop.clock.today())
    notify_cancelled(
        shop.templates,
        session,
        shop.plugins.everything,
        shop.settings,
        subscription,
        subscriber_name(session, subscription),
        now,
    )


def cancel_subscription(
    session: Session, subscription: Subscription, actor: str, now: Any, today: date | None = None
) -> None:
    """R10: cancelling stops the next renewal; the paid term runs out, nothing is refunded.
    On hold (a renewal invoiced, unpaid), it ends now and the invoiced period stays due (R31).
    A Dutch consumer after the first term ends at most a month ahead (the Dutch rule,
    ``shop.subscriptions.dutch_rule``): the term end moves there.
    """
    if subscription.status == SubscriptionStatus.ON_HOLD:
        set_status(
            session,
            subscription,
            SubscriptionStatus.CANCELLED,
            actor,
            "cancelled; the invoiced period remains due",
            now,
        )
        emit_subscription(session, "subscription.cancelled", subscription, None, now)
        return
    if subscription.status != SubscriptionStatus.ACTIVE:
        raise refuse_switch("inactive")
    set_status(
        session,
        subscription,
        SubscriptionStatus.PENDING_CANCEL,
        actor,
        "cancelled; runs to the end of the paid term",
        now,
    )
    ends = cancellation_end(session, subscription, today or now.date())
    if ends is not None and subscription.term_end is not None and ends < subscription.term_end:
        record_event(
            session,
            subscription,
            actor,
            SubscriptionStatus.PENDING_CANCEL,
            f"Dutch rule: ends on {ends} instead of {subscription.term_end}",
            now,
            from_status=SubscriptionStatus.PENDING_CANCEL,
        )
        subscription.term_end = ends
        session.add(subscription)
    emit_subscription(session, "subscription.cancelled", subscription, None, now)


@post(
    "/{subscription_id:int}/cancel",
    sync_to_thread=True,
    status_code=200,
    responses=answers(200, SubscriptionAnswer, **REFUSED, **NO_SUBSCRIPTION),
)
@transaction
def cancel(
    request: Request[Any, Any, Any],
    db: Db,
    shop: ShopDep,
    enabled: Enabled,
    t: T,
    operator: Operator,
    subscription_id: FromPath[int],
) -> dict[str, Any]:
    """Cancel (R10); the subscriber gets the confirmation mail as from their page."""
    subscription = subscription_by_id(db, subscription_id)
    cancel_and_confirm(db, shop, subscription, "operator")
    mail_queued(request)
    return subscription_json(db, subscription, enabled, shop, t)


subscriptions_router = Router(
    path="/api/v1/subscriptions",
    route_handlers=[get_subscription, switch_subscription, withdraw_scheduled_change, cancel],
    dependencies={"operator": Provide(provide_operator, sync_to_thread=False)},
    tags=["subscriptions"],
    security=[{"operatorToken": []}],
)
