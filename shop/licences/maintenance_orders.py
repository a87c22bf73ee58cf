"""Maintenance of perpetual licences (R23-R27): renewals from the previous end, at most three
years ahead, tier upgrades with a fresh 12 months, co-terming flagged for review."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlmodel import Session

from shop.catalog.adjustments import PurchaseKind
from shop.catalog.pricing import NotSold, unit_price
from shop.catalog.products import N_, Kind, Product
from shop.catalog.rates import current_rates
from shop.errors import ShopError
from shop.licences.models import Licence, LicenceStatus
from shop.money import Money
from shop.orders.follow_up import (
    UNPAID_LIFETIME,
    billing_party,
    followed_order,
    licence_basis,
    open_follow_up,
)
from shop.orders.models import Order, OrderKind, OrderStatus
from shop.orders.pipeline import adjust_rows, context_for, with_rows
from shop.plugins.context import Customer
from shop.plugins.manager import EnabledPlugins
from shop.subscriptions.maintenance import (
    MaintenanceTooFarAhead,
    renew_maintenance,
)

# A year of maintenance costs half of the licence's current list price.
MAINTENANCE_SHARE = Decimal("0.5")
MAINTENANCE_LINE = N_("Maintenance renewal (support and updates)")
TIER_UPGRADE_LINE = N_("Tier upgrade with 12 months of maintenance")


def _perpetual(enabled: EnabledPlugins, licence: Licence) -> Product:
    product = enabled.products.get(licence.product)
    if product is None or product.kind != Kind.PERPETUAL:
        raise ShopError(
            422, "not_perpetual", N_("Only perpetual server licences have maintenance.")
        )
    if (
        licence.status not in (LicenceStatus.ACTIVE, LicenceStatus.EXPIRED)
        or not licence.paid_until
    ):
        raise ShopError(409, "licence_not_paid", N_("This licence has not been paid yet."))
    return product


def _followed(session: Session, licence: Licence) -> Order:
    order = followed_order(session, licence_id=licence.id)
    if order is None:  # a licence an operator made by hand, without an order
        raise ShopError(409, "licence_not_paid", N_("This licence has not been paid yet."))
    return order


def _price(enabled: EnabledPlugins, session: Session, product: Product, first: Order) -> Money:
    currency = enabled.currencies.get(first.currency)
    price = (
        unit_price(product, currency, first.country, current_rates(session)) if currency else None
    )
    if price is None or isinstance(price, NotSold):
        raise ShopError(
            422, "unknown_product", N_("There is no product “%(sku)s” for sale."), sku=product.sku
        )
    return price.unit


def _order(
    session: Session,
    enabled: EnabledPlugins,
    of: str,
    followed: Order,
    licence: Licence,
    kind: OrderKind,
    total: Money,
    name: str,
    sku: str,
    quantity: int,
    now: datetime,
    basis: dict[str, Any],
    status: OrderStatus = OrderStatus.PENDING,
    **fields: Any,
) -> Order:
    rows = [
        {
            "sku": sku,
            "name": name,
            "kind": "maintenance",
            "quantity": quantity,
            "unit_price": total.amount / quantity,
            "total": total.amount,
            "of": of,
        }
    ]
    # Through the pricing pipeline like every priced purchase (R28, R29).
    adjusted = adjust_rows(
        context_for(enabled, session, now, None),
        enabled,
        PurchaseKind.MAINTENANCE,
        Customer(licence.email, followed.country, followed.name),
        total.currency,
        rows,
    )
    return open_follow_up(
        session,
        party={**billing_party(followed), "currency": total.currency},
        basis=basis,
        lines=with_rows(rows, adjusted),
        status=status,
        kind=kind,
        email=licence.email,
        total=adjusted.total.amount,
        licence_id=licence.id,
        created_at=now,
        expires_at=now + UNPAID_LIFETIME,  # released like any unpaid order (R1)
        **fields,
    )


def order_maintenance(
    session: Session,
    enabled: EnabledPlugins,
    licence: Licence,
    years: int,
    coterm_with: int | None,
    today: date,
    now: datetime,
) -> Order:
    """A renewal from the previous end, whenever bought (R24), at most 3 years ahead (R25).

    Asking to align with another licence's date makes the order a quote for review (R27)."""
    product = _perpetual(enabled, licence)
    if isinstance(years, bool) or not isinstance(years, int) or not 1 <= years <= 3:
        raise ShopError(
            422, "validation_error", N_("Maintenance is renewed for 1 to 3 years.")
        ).on_field("years")
    if licence.paid_until is None:  # _perpetual refuses it; narrowed for the type checker
        raise ShopError(409, "licence_not_paid", N_("This licence has not been paid yet."))
    try:
        new_end = renew_maintenance(licence.paid_until, today, years)
    except MaintenanceTooFarAhead as too_far:
        raise ShopError(
            422,
            "maintenance_too_far_ahead",
            N_("Maintenance can be paid at most 3 years ahead, until %(date)s."),
            date=too_far.latest_end.isoformat(),
        ).on_field("years") from None
    first = _followed(session, licence)
    yearly = _price(enabled, session, product, first).times(1)
    total = Money.of(yearly.amount * MAINTENANCE_SHARE * years, yearly.currency)
    review = None
    if coterm_with is not None:
        review = f"co-terming requested with licence {coterm_with}"
    order = _order(
        session,
        enabled,
        product.sku,
        first,
        licence,
        OrderKind.RENEWAL,
        total,
        MAINTENANCE_LINE,
        f"maintenance-{product.sku}",
        years,
        now,
        licence_basis(licence, years=years),
        # Priced after the operator's review (R27): a quote, with its quote number (R8).
        status=OrderStatus.QUOTE if review else OrderStatus.PENDING,
        maintenance_until=new_end,
        review_reason=review,
        coterm_with=coterm_with,
    )
    if review:
        # A quote is valid like any other (R7); it is not released as an unpaid order.
        order.valid_until, order.expires_at = now + UNPAID_LIFETIME, None
        session.add(order)
    return order


def order_tier_upgrade(
    session: Session,
    enabled: EnabledPlugins,
    licence: Licence,
    sku: str,
    now: datetime,
) -> Order:
    """Move to a higher tier of the same line for the price difference (R26)."""
    current = _perpetual(enabled, licence)
    target = enabled.products.get(sku)
    line = enabled.line_of(current.sku)
    if (
        target is None
        or line is None
        or target not in line.products
        or target.kind != Kind.PERPETUAL
        or (target.tier or 0) <= (current.tier or 0)
    ):
        raise ShopError(
            422, "validation_error", N_("Choose a higher tier of the same product line.")
        ).on_field("sku")
    first = _followed(session, licence)
    difference = _price(enabled, session, target, first) - _price(enabled, session, current, first)
    return _order(
        session,
        enabled,
        target.sku,
        first,
        licence,
        OrderKind.SWITCH,
        difference,
        TIER_UPGRADE_LINE,
        f"upgrade-{target.sku}",
        1,
        now,
        licence_basis(licence, to=target.sku),
        switch_items=[{"sku": target.sku, "quantity": 1}],
    )


def yearly_maintenance_price(session: Session, enabled: EnabledPlugins, licence: Licence) -> Money:
    """A year of the licence's maintenance at today's list price, in the currency of the
    order it follows, not yet rounded: a prorated price is rounded once, at its end (R15)."""
    product = _perpetual(enabled, licence)
    first = _followed(session, licence)
    price = _price(enabled, session, product, first)
    return Money(price.amount * MAINTENANCE_SHARE, price.currency)
