"""What a paid order does, in one idempotent step (R5, R19, R21-R26, R31).

A first order activates its licence and starts its subscription. An order that follows
another applies only while its basis (``shop.orders.follow_up``) is still current: a setup
fee while the subscription is active in the term and at the items it was priced from; a
renewal while its term has not been paid otherwise; a maintenance renewal from the then
current end, still at most 3 years ahead; a tier upgrade while the licence is at the tier
it was priced from. Otherwise nothing is applied: the money stays recorded (the order is
paid), the order is flagged for the operator and the buyer's mail says so
(``shop.orders.attention``).
"""

from __future__ import annotations

import secrets
from collections.abc import Mapping
from datetime import date, datetime
from typing import Any

from sqlmodel import Session

from shop.catalog.products import N_, Kind
from shop.errors import ShopError
from shop.licences.models import Licence, LicenceStatus
from shop.licences.service import activate
from shop.orders.adjustment_lines import product_lines, recurring_amount
from shop.orders.attention import flag
from shop.orders.follow_up import basis_day
from shop.orders.models import Order, OrderKind, OrderLine, OrderStatus
from shop.orders.pipeline import recurring_price
from shop.plugins.context import Customer
from shop.plugins.event_data import emit_licence, emit_order, emit_subscription
from shop.plugins.manager import EnabledPlugins
from shop.settings import Settings
from shop.subscriptions.maintenance import (
    MaintenanceTooFarAhead,
    maintenance_end_after_purchase,
    renew_maintenance,
    tier_upgrade_maintenance,
)
from shop.subscriptions.models import Subscription, SubscriptionStatus
from shop.subscriptions.service import apply_items, items_dict, set_status
from shop.subscriptions.terms import first_term, term_after

STALE = "stale_basis"
TOO_FAR_AHEAD = "maintenance_too_far_ahead"
# A setup fee applies to a subscription that runs (R17), including one that runs out.
SWITCHABLE = (SubscriptionStatus.ACTIVE, SubscriptionStatus.PENDING_CANCEL)
# A renewal's invoice stays due after cancelling (R31): paying it honours the invoiced
# term, but a cancelled or cancelling subscription is not made active again.
ENDING = (SubscriptionStatus.PENDING_CANCEL, SubscriptionStatus.CANCELLED)


def not_payable() -> ShopError:
    return ShopError(409, "order_not_payable", N_("This order cannot be paid; please contact us."))


def main_line(lines: list[OrderLine]) -> OrderLine:
    """The product line of a first order (the one that is not an add-on nor a discount)."""
    main = next((line for line in product_lines(lines) if line.kind != Kind.ADDON), None)
    if main is None:
        raise not_payable()
    return main


def ensure_subscription(
    session: Session, order: Order, lines: list[OrderLine], now: datetime
) -> Subscription:
    """The order's subscription, created pending until the order is paid (R5, R16)."""
    if order.subscription_id is not None:
        return _subscription(session, order)
    main = main_line(lines)
    if not main.billing_period_months or order.licence_id is None:
        raise not_payable()  # a perpetual licence, or an order that holds no licence
    subscription = Subscription(
        token=secrets.token_urlsafe(24),
        licence_id=order.licence_id,
        email=order.email,
        country=order.country,
        locale=order.locale,
        payment_method=order.payment_method,
        status=SubscriptionStatus.PENDING,
        items=[{"sku": line.sku, "quantity": line.quantity} for line in product_lines(lines)],
        currency=order.currency,
        # Without a first-term promotion: the renewal is at the full price (R28).
        recurring_total=recurring_amount(order.total, lines),
        billing_period_months=main.billing_period_months,
        created_at=now,
        updated_at=now,
    )
    session.add(subscription)
    session.flush()
    order.subscription_id = subscription.id
    session.add(order)
    return subscription


def fulfil(
    session: Session,
    enabled: EnabledPlugins,
    settings: Settings,
    order: Order,
    lines: list[OrderLine],
    now: datetime,
    today: date,
) -> None:
    """Paid in full: mark it paid and apply it, once, if its basis is still current.

    What follows from it elsewhere (mails aside, which the payment's caller queues) hears
    of it through the lifecycle events emitted here, after commit (``shop_event``)."""
    if order.status == OrderStatus.PAID:
        return  # applied already
    order.status = OrderStatus.PAID
    order.paid_at = now
    order.expires_at = None
    session.add(order)
    emit_order(session, "order.paid", order, lines, now)
    if order.kind == OrderKind.NEW:
        _apply_first_order(session, enabled, settings, order, lines, now, today)
        return
    reason = stale_reason(session, order, today)
    if reason is not None:
        flag(order, reason, now)  # the money is kept on record; nothing is applied
        session.add(order)
        session.flush()
        return
    if order.subscription_id is None:
        _apply_maintenance(session, enabled, settings, order, now, today)
    elif order.kind == OrderKind.SWITCH:
        _apply_switch(session, settings, order, now)
    else:
        _apply_renewal(session, settings, order, now)
    session.flush()


def stale_reason(session: Session, order: Order, today: date) -> str | None:
    """Why a paid follow-up order cannot be applied now, or None when its basis is current.

    Orders from before the basis was recorded apply as they always did."""
    basis = order.basis
    if basis is None:
        return None
    if order.subscription_id is not None:
        subscription = session.get(Subscription, order.subscription_id)
        if subscription is None:
            return STALE
        if order.kind == OrderKind.SWITCH:
            return _switch_stale(subscription, basis, today)
        return _renewal_stale(subscription, basis)
    licence = session.get(Licence, order.licence_id) if order.licence_id else None
    if licence is None or licence.product != basis.get("product") or licence.paid_until is None:
        return STALE  # another tier since it was priced (R26)
    if "aligned_to" in basis and licence.paid_until != basis_day(basis, "paid_until"):
        return STALE  # a co-termed price runs from the end it was reviewed at (R27)
    if "years" in basis:
        try:
            renew_maintenance(licence.paid_until, today, int(basis["years"]))
        except MaintenanceTooFarAhead:
            return TOO_FAR_AHEAD  # R25, counted from the end in force when paid
    return None


def _switch_stale(subscription: Subscription, basis: Mapping[str, Any], today: date) -> str | None:
    """A setup fee prices the rest of one term from the items then held (R19): it is stale
    once the term is over, or changed, or the items changed (another upgrade was paid)."""
    term_end = basis_day(basis, "term_end")
    if (
        subscription.status not in SWITCHABLE
        or subscription.term_start != basis_day(basis, "term_start")
        or subscription.term_end != term_end
        or term_end is None
        or today >= term_end
        or items_dict(subscription.items) != items_dict(basis.get("items") or [])
    ):
        return STALE
    return None


def _renewal_stale(subscription: Subscription, basis: Mapping[str, Any]) -> str | None:
    """A renewal pays for the term after the one that ended (R21): stale once that term is
    paid otherwise, or the subscription expired."""
    if (
        subscription.status == SubscriptionStatus.EXPIRED
        or subscription.term_end is None
        or subscription.term_end >= (basis_day(basis, "term_end") or subscription.term_end)
    ):
        return STALE
    return None


def _licence(session: Session, order: Order) -> Licence:
    licence = session.get(Licence, order.licence_id) if order.licence_id else None
    if licence is None:
        raise not_payable()
    return licence


def _subscription(session: Session, order: Order) -> Subscription:
    subscription = session.get(Subscription, order.subscription_id or 0)
    if subscription is None:
        raise not_payable()
    return subscription


def _apply_first_order(
    session: Session,
    enabled: EnabledPlugins,
    settings: Settings,
    order: Order,
    lines: list[OrderLine],
    now: datetime,
    today: date,
) -> None:
    """The licence goes active; a subscription starts its first term (R5, R22, R23)."""
    main = main_line(lines)
    quantities = {line.sku: line.quantity for line in product_lines(lines)}
    product = enabled.products.get(main.sku)
    support = product.support.name if product and product.support else None
    if main.billing_period_months:
        subscription = ensure_subscription(session, order, lines, now)
        # From the second term on: the renewal's price, without a first-term promotion.
        subscription.recurring_total = recurring_price(
            session,
            enabled,
            Customer(order.email, order.country, order.name),
            order.currency,
            product_lines(lines),
            now,
        ).amount
        start, end = first_term(today, main.billing_period_months)
        subscription.anchor, subscription.term_start, subscription.term_end = start, start, end
        set_status(
            session,
            subscription,
            SubscriptionStatus.ACTIVE,
            "payment",
            f"order {order.number} paid in full",
            now,
        )
        paid_until = end
    else:
        paid_until = maintenance_end_after_purchase(today)  # R23: 12 months from payment
    licence = _licence(session, order)
    issued = "licence.converted" if licence.was_trial else "licence.issued"
    activate(session, licence, settings, main.sku, quantities, paid_until, support, now)
    session.add(order)
    session.flush()
    emit_licence(session, issued, licence, order, now)
    if order.subscription_id is not None:
        emit_subscription(
            session, "subscription.created", _subscription(session, order), order, now
        )


def _apply_switch(session: Session, settings: Settings, order: Order, now: datetime) -> None:
    """A paid setup fee: the upgrade applies at once, prorated from the day it was quoted."""
    subscription = _subscription(session, order)
    if not order.switch_items:
        raise not_payable()
    apply_items(
        session,
        settings,
        subscription,
        items_dict(order.switch_items),
        order.switch_recurring_total or subscription.recurring_total,
        "payment",
        now,
    )
    emit_subscription(session, "subscription.switched", subscription, order, now)


def _apply_renewal(session: Session, settings: Settings, order: Order, now: datetime) -> None:
    """A paid renewal starts the next term, anchored on the first (R21, R22). A subscription
    cancelled meanwhile stays cancelled (R31): the invoiced term is honoured, nothing more
    is invoiced."""
    subscription = _subscription(session, order)
    if subscription.term_end is None:
        raise not_payable()
    subscription.term_start, subscription.term_end = term_after(
        subscription.anchor or subscription.term_end,
        subscription.billing_period_months,
        subscription.term_end,
    )
    subscription.on_hold_since = None
    status = SubscriptionStatus(subscription.status)
    set_status(
        session,
        subscription,
        status if status in ENDING else SubscriptionStatus.ACTIVE,
        "payment",
        f"renewal order {order.number} paid",
        now,
    )
    licence = _licence(session, order)
    licence.status = LicenceStatus.ACTIVE
    activate(
        session,
        licence,
        settings,
        licence.product,
        items_dict(subscription.items),
        subscription.term_end,
        licence.support,
        now,
    )
    emit_subscription(session, "subscription.renewed", subscription, order, now)
    emit_licence(session, "licence.renewed", licence, order, now)


def _apply_maintenance(
    session: Session,
    enabled: EnabledPlugins,
    settings: Settings,
    order: Order,
    now: datetime,
    today: date,
) -> None:
    """A renewal extends from the end in force when it is paid, so two paid renewals give
    two years (R24); a tier upgrade starts a fresh 12 months (R26)."""
    licence = _licence(session, order)
    basis = order.basis or {}
    if order.switch_items:
        sku = order.switch_items[0]["sku"]
        product = enabled.products.get(sku)
        support = product.support.name if product and product.support else licence.support
        end = tier_upgrade_maintenance(today)
        activate(session, licence, settings, sku, {sku: 1}, end, support, now)
        emit_licence(session, "maintenance.extended", licence, order, now)
        return
    if "years" in basis and licence.paid_until is not None:
        order.maintenance_until = renew_maintenance(licence.paid_until, today, int(basis["years"]))
        session.add(order)
    if order.maintenance_until is None:
        raise not_payable()
    activate(
        session,
        licence,
        settings,
        licence.product,
        licence.quantities,
        order.maintenance_until,
        licence.support,
        now,
    )
    emit_licence(session, "maintenance.extended", licence, order, now)
