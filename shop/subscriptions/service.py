"""Subscriptions over time: status changes with their reasons (R16), Upgrade or Downgrade
(R17-R20) and what a paid switch or renewal does (R5, R21)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlmodel import Session, col, select

from shop.catalog.pricing import ExchangeRate, NotSold, unit_price
from shop.catalog.products import N_, Kind, Product
from shop.catalog.rates import current_rates
from shop.errors import ShopError
from shop.licences.models import Licence
from shop.licences.service import activate
from shop.money import Money
from shop.orders.follow_up import (
    followed_order,
    open_follow_up,
    subscription_basis,
    subscription_party,
    term_end_expiry,
)
from shop.orders.models import Order, OrderKind, OrderStatus
from shop.plugins.manager import EnabledPlugins
from shop.settings import Settings
from shop.subscriptions.models import Subscription, SubscriptionEvent, SubscriptionStatus
from shop.subscriptions.proration import SwitchQuote, quote_switch, recurring_total

SETUP_FEE = N_("Setup fee")  # the one-time line of an upgrade (Einrichtungsgebühr, R19)
SWITCH_REASONS = {
    "inactive": N_(
        "Upgrade or Downgrade is only available for active subscriptions. If yours was "
        "cancelled or is waiting for a payment, please contact us through a ticket."
    ),
    "payment_outstanding": N_(
        "Upgrade or Downgrade becomes available once a payment for this subscription has arrived."
    ),
    "legacy_package": N_(
        "Packages 1-5 cannot be changed in self-service. Please open a ticket and our "
        "support team will make the change for you."
    ),
}


def items_dict(items: list[dict[str, Any]]) -> dict[str, int]:
    return {str(i["sku"]): int(i["quantity"]) for i in items}


def items_list(quantities: dict[str, int]) -> list[dict[str, Any]]:
    return [{"sku": sku, "quantity": q} for sku, q in quantities.items() if q > 0]


def record_event(
    session: Session,
    subscription: Subscription,
    actor: str,
    to_status: str,
    reason: str,
    now: datetime,
    from_status: str | None = None,
) -> None:
    session.add(
        SubscriptionEvent(
            subscription_id=subscription.id,  # type: ignore[arg-type]
            at=now,
            actor=actor,
            from_status=from_status,
            to_status=to_status,
            reason=reason[:500],
        )
    )


def set_status(
    session: Session,
    subscription: Subscription,
    status: SubscriptionStatus,
    actor: str,
    reason: str,
    now: datetime,
) -> None:
    """Change the status and keep the reason in the history (R16)."""
    before = subscription.status
    subscription.status = status
    subscription.updated_at = now
    session.add(subscription)
    record_event(session, subscription, actor, status, reason, now, from_status=before)


def events(session: Session, subscription: Subscription) -> list[SubscriptionEvent]:
    statement = (
        select(SubscriptionEvent)
        .where(SubscriptionEvent.subscription_id == subscription.id)
        .order_by(col(SubscriptionEvent.id))
    )
    return list(session.exec(statement))


def main_product(enabled: EnabledPlugins, subscription: Subscription) -> Product | None:
    for sku in items_dict(subscription.items):
        product = enabled.products.get(sku)
        if product is not None and product.kind != Kind.ADDON:
            return product
    return None


def switch_refusal(
    session: Session, enabled: EnabledPlugins, subscription: Subscription
) -> str | None:
    """Why Upgrade or Downgrade is not offered, or None when it is (R17)."""
    product = main_product(enabled, subscription)
    line = enabled.line_of(product.sku) if product else None
    if product is None or line is None or line.legacy or not product.self_service_switch:
        return "legacy_package"
    paid = session.exec(
        select(Order.id).where(
            Order.subscription_id == subscription.id, Order.status == OrderStatus.PAID
        )
    ).first()
    if paid is None:
        return "payment_outstanding"
    if subscription.status != SubscriptionStatus.ACTIVE:
        return "inactive"
    return None


def price_of(
    enabled: EnabledPlugins,
    subscription: Subscription,
    quantities: dict[str, int],
    rates: dict[str, ExchangeRate],
) -> Money:
    """The recurring total of ``quantities`` at today's prices (R21: current prices)."""
    currency = enabled.currencies.get(subscription.currency)
    if currency is None:
        raise ShopError(
            422,
            "plugin_disabled",
            N_("Payment in %(currency)s is not available."),
            currency=subscription.currency,
        )
    unit_prices = {}
    for sku in quantities:
        product = enabled.products.get(sku)
        price = unit_price(product, currency, subscription.country, rates) if product else None
        if price is None or isinstance(price, NotSold):
            raise ShopError(
                422, "unknown_product", N_("There is no product “%(sku)s” for sale."), sku=sku
            ).on_field("items")
        assert product is not None
        unit_prices[sku] = price.unit.times(product.periods_per_charge)  # per invoice (R31)
    return recurring_total(quantities, unit_prices)


def parse_switch_items(
    enabled: EnabledPlugins, subscription: Subscription, raw: Any
) -> dict[str, int]:
    """New totals per item (R18): the base product stays; add-ons from 0 up."""
    if not isinstance(raw, list) or not raw:
        raise ShopError(422, "validation_error", N_("Choose at least one product.")).on_field(
            "items"
        )
    main = main_product(enabled, subscription)
    assert main is not None
    wanted: dict[str, int] = {}
    for entry in raw:
        sku = entry.get("sku") if isinstance(entry, dict) else None
        quantity = entry.get("quantity") if isinstance(entry, dict) else None
        if not isinstance(sku, str) or isinstance(quantity, bool) or not isinstance(quantity, int):
            raise ShopError(
                422, "validation_error", N_("Each item needs a sku and a quantity.")
            ).on_field("items")
        if sku != main.sku and sku not in main.addons:
            raise ShopError(
                422,
                "validation_error",
                N_("“%(addon)s” cannot be added to “%(sku)s”."),
                addon=sku,
                sku=main.sku,
            ).on_field("items")
        if not 0 <= quantity <= 10_000 or (sku == main.sku and quantity != 1):
            raise ShopError(
                422,
                "validation_error",
                N_("Quantities must be between 1 and %(max)s."),
                max="10,000",
            ).on_field("items")
        wanted[sku] = quantity
    wanted.setdefault(main.sku, 1)
    return {main.sku: 1, **{sku: q for sku, q in wanted.items() if sku != main.sku and q > 0}}


@dataclass(frozen=True)
class SwitchLine:
    sku: str
    name: str
    quantity: int
    recurring: Money  # what this line costs per term at the new quantity


@dataclass(frozen=True)
class SwitchOutcome:
    quote: SwitchQuote
    lines: tuple[SwitchLine, ...]
    order: Order | None = None  # the setup-fee order of an upgrade
    applied: bool = False  # applied at once (fee waived or nothing to pay)
    scheduled: bool = False  # a downgrade waiting for the renewal


def request_switch(
    session: Session,
    enabled: EnabledPlugins,
    settings: Settings,
    subscription: Subscription,
    raw_items: Any,
    *,
    preview: bool,
    actor: str,
    today: date,
    now: datetime,
) -> SwitchOutcome:
    """Quote, and unless previewing carry out, an Upgrade or Downgrade (R17-R20)."""
    refusal = switch_refusal(session, enabled, subscription)
    if refusal is not None:
        raise ShopError(409, "switch_not_allowed", SWITCH_REASONS[refusal]).with_reason(refusal)
    wanted = parse_switch_items(enabled, subscription, raw_items)
    rates = current_rates(session)
    currency = enabled.currencies[subscription.currency]
    assert subscription.term_start is not None and subscription.term_end is not None
    quote = quote_switch(
        price_of(enabled, subscription, items_dict(subscription.items), rates),
        price_of(enabled, subscription, wanted, rates),
        subscription.term_start,
        subscription.term_end,
        today,
        currency.minimum_charge,
    )
    lines = tuple(
        SwitchLine(
            sku,
            enabled.products[sku].name,
            quantity,
            price_of(enabled, subscription, {sku: quantity}, rates),
        )
        for sku, quantity in wanted.items()
    )
    if preview:
        return SwitchOutcome(quote, lines)
    if quote.kind == "downgrade":
        subscription.scheduled_items = items_list(wanted)
        record_event(
            session,
            subscription,
            actor,
            subscription.status,
            f"downgrade scheduled for {quote.effective_at.isoformat()}: {wanted}",
            now,
        )
        session.add(subscription)
        return SwitchOutcome(quote, lines, scheduled=True)
    withdrawn = subscription.scheduled_items is not None
    subscription.scheduled_items = None  # an upgrade withdraws a scheduled downgrade (R19)
    if withdrawn:
        record_event(
            session, subscription, actor, subscription.status, "scheduled downgrade withdrawn", now
        )
    if quote.kind == "unchanged" or quote.setup_fee.amount == 0:
        if wanted != items_dict(subscription.items):
            apply_items(
                session, settings, subscription, wanted, quote.new_recurring.amount, actor, now
            )
        session.add(subscription)
        return SwitchOutcome(quote, lines, applied=True)
    order = open_follow_up(
        session,
        party=subscription_party(
            subscription, followed_order(session, subscription_id=subscription.id)
        ),
        basis=subscription_basis(
            subscription,
            term_start=subscription.term_start,
            term_end=subscription.term_end,
            items=subscription.items,
        ),
        lines=[
            {
                "sku": "setup-fee",
                "name": SETUP_FEE,
                "kind": "fee",
                "quantity": 1,
                "unit_price": quote.setup_fee.amount,
                "total": quote.setup_fee.amount,
            }
        ],
        status=OrderStatus.PENDING,
        kind=OrderKind.SWITCH,
        email=subscription.email,
        total=quote.setup_fee.amount,
        licence_id=subscription.licence_id,
        subscription_id=subscription.id,
        created_at=now,
        # Never payable once the term it prices is over (R19).
        expires_at=term_end_expiry(subscription.term_end, now, settings.timezone),
        switch_items=items_list(wanted),
        switch_recurring_total=quote.new_recurring.amount,
    )
    record_event(
        session,
        subscription,
        actor,
        subscription.status,
        f"upgrade ordered: order {order.number}, setup fee {quote.setup_fee.amount}",
        now,
    )
    session.flush()
    return SwitchOutcome(quote, lines, order=order)


def withdraw_downgrade(
    session: Session, subscription: Subscription, actor: str, now: datetime
) -> None:
    """R20: a scheduled downgrade can be withdrawn before the renewal."""
    if subscription.scheduled_items is None:
        raise ShopError(404, "not_found", N_("No change is scheduled."))
    subscription.scheduled_items = None
    record_event(
        session, subscription, actor, subscription.status, "scheduled downgrade withdrawn", now
    )
    session.add(subscription)


def apply_items(
    session: Session,
    settings: Settings,
    subscription: Subscription,
    quantities: dict[str, int],
    recurring: Decimal,
    actor: str,
    now: datetime,
) -> None:
    """New quantities in force now; the term end does not move (R19); a new key (R6)."""
    subscription.items = items_list(quantities)
    subscription.recurring_total = recurring
    subscription.updated_at = now
    session.add(subscription)
    licence = session.get(Licence, subscription.licence_id)
    assert licence is not None and subscription.term_end is not None
    activate(
        session,
        licence,
        settings,
        licence.product,
        quantities,
        subscription.term_end,
        licence.support,
        now,
    )
    record_event(session, subscription, actor, subscription.status, f"items now {quantities}", now)
