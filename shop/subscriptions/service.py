"""Subscriptions over time: status changes with their reasons (R16), Upgrade or Downgrade
(R17-R20) and what a paid switch or renewal does (R5, R21)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from functools import partial
from typing import Any

from sqlmodel import Session, col, select

from shop.catalog.adjustments import PurchaseKind
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
from shop.orders.lifecycle import cancel_order
from shop.orders.line_text import setup_fee_detail
from shop.orders.models import Order, OrderKind, OrderStatus
from shop.orders.pipeline import adjust_rows, context_for, recurring_price, with_rows
from shop.plugins.context import Customer
from shop.plugins.manager import EnabledPlugins
from shop.settings import Settings
from shop.subscriptions.dutch_rule import running_term_end
from shop.subscriptions.models import Subscription, SubscriptionEvent, SubscriptionStatus
from shop.subscriptions.proration import (
    SwitchQuote,
    quote_renewing_switch,
    quote_switch,
    recurring_total,
)
from shop.subscriptions.terms import add_months, term

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
    "line_unavailable": N_(
        "This product is not on offer at the moment, so it cannot be changed in "
        "self-service. Please open a ticket and our support team will help you."
    ),
    "renewal_due": N_(
        "Your renewal is being prepared. Upgrade or Downgrade is available again as soon "
        "as it is ready."
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


def resume(session: Session, subscription: Subscription, actor: str, now: datetime) -> None:
    """Take back a cancellation while the paid term still runs: the subscription renews
    again at its term end, as if never cancelled. After the term it has ended (R10)."""
    if subscription.status != SubscriptionStatus.PENDING_CANCEL:
        raise ShopError(
            409,
            "not_resumable",
            N_("Only a cancelled subscription whose paid term still runs can be resumed."),
        )
    set_status(
        session, subscription, SubscriptionStatus.ACTIVE, actor, "cancellation taken back", now
    )
    # A cancellation under the Dutch rule may have moved the term end sooner: back to the
    # running term's own end, as if never cancelled.
    anchor = subscription.anchor or subscription.term_start
    if anchor is not None and subscription.term_start is not None and subscription.term_end:
        own_end = running_term_end(
            anchor, subscription.billing_period_months, subscription.term_start
        )
        if subscription.term_end < own_end:
            subscription.term_end = own_end
            session.add(subscription)


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


def switch_term(subscription: Subscription, today: date) -> tuple[date, date, bool] | None:
    """The term a switch on ``today`` is priced on, and whether it is the renewing one.

    Until ``term_end`` that is the running term. From ``term_end`` on, before `shop jobs
    run` has renewed the subscription, it is the term that starts at the old term end (R22,
    anchored on the first term): the renewal being prepared. None when there is no term,
    or when even that term has passed (the jobs have not run for a whole term)."""
    start, end = subscription.term_start, subscription.term_end
    if start is None or end is None:
        return None
    if today < end:
        return start, end, False
    months = subscription.billing_period_months
    if subscription.anchor is None:
        renewing = (end, add_months(end, months))
    else:
        index = 0
        while term(subscription.anchor, months, index)[0] < end:
            index += 1
        renewing = term(subscription.anchor, months, index)
    if not renewing[0] <= today < renewing[1]:
        return None
    return renewing[0], renewing[1], True


def switch_refusal(
    session: Session,
    enabled: EnabledPlugins,
    subscription: Subscription,
    today: date | None = None,
    installed: EnabledPlugins | None = None,
) -> str | None:
    """Why Upgrade or Downgrade is not offered, or None when it is (R17).

    ``installed`` (every installed plugin, enabled or not) tells a line the operator has
    disabled (``line_unavailable``) from a legacy one (``legacy_package``)."""
    product = main_product(enabled, subscription)
    line = enabled.line_of(product.sku) if product else None
    if product is None or line is None:
        return _unavailable(installed, subscription)
    if line.legacy or not product.self_service_switch:
        return "legacy_package"
    paid = session.exec(
        select(Order.id).where(
            Order.subscription_id == subscription.id, Order.status == OrderStatus.PAID
        )
    ).first()
    if paid is None:
        # An imported subscription was paid before it came here (shop.subscriptions.imports).
        paid = session.exec(
            select(SubscriptionEvent.id).where(
                SubscriptionEvent.subscription_id == subscription.id,
                SubscriptionEvent.reason == "imported",
            )
        ).first()
    if paid is None or subscription.term_start is None or subscription.term_end is None:
        return "payment_outstanding"
    if subscription.status != SubscriptionStatus.ACTIVE:
        return "inactive"
    if today is not None and switch_term(subscription, today) is None:
        return "renewal_due"
    return None


def _unavailable(installed: EnabledPlugins | None, subscription: Subscription) -> str:
    """A subscription whose product is not on offer: a line the operator disabled, or a
    legacy one (R33), told apart by what is installed."""
    known = main_product(installed, subscription) if installed is not None else None
    line = installed.line_of(known.sku) if installed is not None and known is not None else None
    if known is not None and line is not None and not line.legacy and known.self_service_switch:
        return "line_unavailable"
    return "legacy_package"


def refuse_switch(reason: str) -> ShopError:
    return ShopError(409, "switch_not_allowed", SWITCH_REASONS[reason]).with_reason(reason)


def open_switch_order(session: Session, subscription: Subscription) -> Order | None:
    """The unpaid setup-fee order of an upgrade, if one is waiting (at most one, R19)."""
    return session.exec(
        select(Order)
        .where(
            Order.subscription_id == subscription.id,
            Order.kind == OrderKind.SWITCH,
            col(Order.status).in_((OrderStatus.PENDING, OrderStatus.QUOTE)),
        )
        .order_by(col(Order.id).desc())
    ).first()


def lock(session: Session, subscription: Subscription) -> None:
    """Hold the subscription's row until the transaction ends, so that two switches at once
    are one after the other: the second sees (and supersedes) the first one's order. SQLite
    writers are serialised already (BEGIN IMMEDIATE); this is for PostgreSQL."""
    session.exec(
        select(Subscription.id).where(Subscription.id == subscription.id).with_for_update()
    ).first()


def withdraw_switch_orders(
    session: Session, subscription: Subscription, actor: str, now: datetime, why: str
) -> list[Order]:
    """Cancel every unpaid switch order of ``subscription`` (cancelling voids its open
    payment), each with an event saying ``why``: a newer switch supersedes the older one,
    so two upgrades can never both be paid and applied in payment order (R19)."""
    withdrawn = []
    while (order := open_switch_order(session, subscription)) is not None:
        cancel_order(session, order, now)
        record_event(
            session,
            subscription,
            actor,
            subscription.status,
            f"switch order {order.number} {why}",
            now,
        )
        withdrawn.append(order)
    return withdrawn


def withdraw_open_switch(
    session: Session, subscription: Subscription, actor: str, now: datetime
) -> Order:
    """The subscriber withdraws the upgrade they have not paid for."""
    lock(session, subscription)
    withdrawn = withdraw_switch_orders(session, subscription, actor, now, "withdrawn")
    if not withdrawn:
        raise ShopError(404, "not_found", N_("No upgrade is waiting for payment."))
    return withdrawn[0]


def subscriber_name(session: Session, subscription: Subscription) -> str:
    """The name the subscriber gave on their first order (the e-mail if none)."""
    first = session.exec(
        select(Order.name).where(Order.subscription_id == subscription.id).order_by(col(Order.id))
    ).first()
    return first or subscription.email


def next_renewal_total(
    enabled: EnabledPlugins, subscription: Subscription, rates: dict[str, ExchangeRate]
) -> Money | None:
    """What the next renewal will charge: the scheduled items when a change waits for it
    (R20, R21), nothing when the subscription will not renew (R10)."""
    if subscription.status not in (SubscriptionStatus.ACTIVE, SubscriptionStatus.ON_HOLD):
        return None
    if subscription.scheduled_items is not None:
        try:
            return price_of(enabled, subscription, items_dict(subscription.scheduled_items), rates)
        except ShopError:
            pass  # a product no longer on sale: the renewal job will say; show what we know
    return Money.of(subscription.recurring_total, subscription.currency)


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
        if product is None or price is None or isinstance(price, NotSold):
            raise ShopError(
                422, "unknown_product", N_("There is no product “%(sku)s” for sale."), sku=sku
            ).on_field("items")
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
    if main is None:
        raise refuse_switch("line_unavailable")
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
    term_start: date  # the term the switch is priced on (the renewing one after term end)
    term_end: date
    order: Order | None = None  # the setup-fee order of an upgrade
    applied: bool = False  # applied at once (fee waived or nothing to pay)
    scheduled: bool = False  # a downgrade (or a change during the renewal) waiting for it
    superseded: tuple[Order, ...] = ()  # unpaid switch orders this one withdrew


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
    installed: EnabledPlugins | None = None,
) -> SwitchOutcome:
    """Quote, and unless previewing carry out, an Upgrade or Downgrade (R17-R20).

    A switch is priced from the subscription's items, what was paid for, never from an
    unpaid switch order; carried out, it supersedes that order (at most one open, R19).
    From the term end until `shop jobs run` renews, the subscription is renewing: the
    change is scheduled for that renewal, which charges the new total for the new term."""
    refusal = switch_refusal(session, enabled, subscription, today, installed)
    if refusal is not None:
        raise refuse_switch(refusal)
    wanted = parse_switch_items(enabled, subscription, raw_items)
    priced = switch_term(subscription, today)
    if priced is None:  # switch_refusal said renewal_due; kept for the type checker
        raise refuse_switch("renewal_due")
    term_start, term_end, renewing = priced
    rates = current_rates(session)
    currency = enabled.currencies[subscription.currency]
    current = items_dict(subscription.items)
    quote = (quote_renewing_switch if renewing else quote_switch)(
        price_of(enabled, subscription, current, rates),
        price_of(enabled, subscription, wanted, rates),
        term_start,
        term_end,
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
    outcome = partial(SwitchOutcome, quote, lines, term_start, term_end)
    if preview:
        return outcome()
    lock(session, subscription)
    superseded = tuple(
        withdraw_switch_orders(session, subscription, actor, now, "superseded by a new switch")
    )
    if renewing:
        subscription.scheduled_items = items_list(wanted) if wanted != current else None
        record_event(
            session,
            subscription,
            actor,
            subscription.status,
            f"change for the renewal on {term_start.isoformat()}: {wanted}",
            now,
        )
        session.add(subscription)
        return outcome(scheduled=True, superseded=superseded)
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
        return outcome(scheduled=True, superseded=superseded)
    withdrawn = subscription.scheduled_items is not None
    subscription.scheduled_items = None  # an upgrade withdraws a scheduled downgrade (R19)
    if withdrawn:
        record_event(
            session, subscription, actor, subscription.status, "scheduled downgrade withdrawn", now
        )
    if quote.kind == "unchanged" or quote.setup_fee.amount == 0:
        if wanted != current:
            apply_items(
                session, settings, subscription, wanted, quote.new_recurring.amount, actor, now
            )
        session.add(subscription)
        return outcome(applied=True, superseded=superseded)
    fee = [
        {
            "sku": "setup-fee",
            "name": SETUP_FEE,
            "kind": "fee",
            "quantity": 1,
            "unit_price": quote.setup_fee.amount,
            "total": quote.setup_fee.amount,
            "detail": _fee_detail(enabled, current, wanted, quote, term_end),
            "of": next(iter(wanted)),  # the fee is for the subscription's product
        }
    ]
    # Through the pricing pipeline like every priced purchase (an academic discount, R29).
    adjusted = adjust_rows(
        context_for(enabled, session, now, None),
        enabled,
        PurchaseKind.SWITCH,
        Customer(subscription.email, subscription.country),
        subscription.currency,
        fee,
    )
    order = open_follow_up(
        session,
        party=subscription_party(
            subscription, followed_order(session, subscription_id=subscription.id)
        ),
        basis=subscription_basis(
            subscription,
            term_start=term_start,
            term_end=term_end,
            items=subscription.items,
        ),
        lines=with_rows(fee, adjusted),
        status=OrderStatus.PENDING,
        kind=OrderKind.SWITCH,
        email=subscription.email,
        total=adjusted.total.amount,
        licence_id=subscription.licence_id,
        subscription_id=subscription.id,
        created_at=now,
        # Never payable once the term it prices is over (R19).
        expires_at=term_end_expiry(term_end, now, settings.timezone),
        switch_items=items_list(wanted),
        # What the next renewal will charge for the new items (R29's discount lasts).
        switch_recurring_total=recurring_price(
            session,
            enabled,
            Customer(subscription.email, subscription.country),
            subscription.currency,
            [
                {"sku": ln.sku, "quantity": ln.quantity, "total": ln.recurring.amount}
                for ln in lines
            ],
            now,
        ).amount,
    )
    record_event(
        session,
        subscription,
        actor,
        subscription.status,
        f"upgrade ordered: order {order.number}, setup fee {adjusted.total.amount}",
        now,
    )
    session.flush()
    return outcome(order=order, superseded=superseded)


def _fee_detail(
    enabled: EnabledPlugins,
    current: dict[str, int],
    wanted: dict[str, int],
    quote: SwitchQuote,
    term_end: date,
) -> dict[str, Any]:
    """What the setup-fee line stands for (R19), stored with it: rendered by line_text."""
    skus = dict.fromkeys([*current, *wanted])
    return setup_fee_detail(
        {
            sku: (enabled.products[sku].name, current.get(sku, 0), wanted.get(sku, 0))
            for sku in skus
            if sku in enabled.products
        },
        quote.effective_at,
        term_end,
        quote.days_left,
        quote.days_in_term,
        quote.current_recurring.amount,
        quote.new_recurring.amount,
    )


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
    if licence is None or subscription.term_end is None:
        raise refuse_switch("inactive")  # a subscription without licence or term: support
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
