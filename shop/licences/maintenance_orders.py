"""Maintenance of perpetual licences (R23-R27): renewals from the previous end, at most three
years ahead, tier upgrades with a fresh 12 months, co-terming flagged for review."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlmodel import Session, col, select

from shop.catalog.pricing import NotSold, unit_price
from shop.catalog.products import N_, Kind, Product
from shop.catalog.rates import current_rates
from shop.errors import ShopError
from shop.licences.models import Licence, LicenceStatus
from shop.licences.service import activate
from shop.money import Money
from shop.orders.models import Order, OrderKind, OrderLine, OrderStatus
from shop.orders.numbers import open_order
from shop.plugins.manager import EnabledPlugins
from shop.settings import Settings
from shop.subscriptions.maintenance import (
    MaintenanceTooFarAhead,
    renew_maintenance,
    tier_upgrade_maintenance,
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


def _first_order(session: Session, licence: Licence) -> Order:
    order = session.exec(
        select(Order).where(Order.licence_id == licence.id).order_by(col(Order.id))
    ).first()
    assert order is not None, "a paid licence came from an order"
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
    first: Order,
    licence: Licence,
    kind: OrderKind,
    total: Money,
    name: str,
    sku: str,
    quantity: int,
    now: datetime,
    status: OrderStatus = OrderStatus.PENDING,
    **fields: Any,
) -> Order:
    order = open_order(
        session,
        status=status,
        kind=kind,
        email=licence.email,
        name=first.name,
        organisation=first.organisation,
        country=first.country,
        tax_number=first.tax_number,
        locale=first.locale,
        currency=total.currency,
        total=total.amount,
        payment_method=first.payment_method,
        licence_id=licence.id,
        created_at=now,
        **fields,
    )
    session.add(
        OrderLine(
            order_id=order.id,  # type: ignore[arg-type]
            position=0,
            sku=sku,
            name=name,
            kind="maintenance",
            quantity=quantity,
            unit_price=(total.amount / quantity),
            total=total.amount,
        )
    )
    session.flush()
    return order


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
    assert licence.paid_until is not None
    try:
        new_end = renew_maintenance(licence.paid_until, today, years)
    except MaintenanceTooFarAhead as too_far:
        raise ShopError(
            422,
            "maintenance_too_far_ahead",
            N_("Maintenance can be paid at most 3 years ahead, until %(date)s."),
            date=too_far.latest_end.isoformat(),
        ).on_field("years") from None
    first = _first_order(session, licence)
    yearly = _price(enabled, session, product, first).times(1)
    total = Money.of(yearly.amount * MAINTENANCE_SHARE * years, yearly.currency)
    review = None
    if coterm_with is not None:
        review = f"co-terming requested with licence {coterm_with}"
    order = _order(
        session,
        first,
        licence,
        OrderKind.RENEWAL,
        total,
        MAINTENANCE_LINE,
        f"maintenance-{product.sku}",
        years,
        now,
        # Priced after the operator's review (R27): a quote, with its quote number (R8).
        status=OrderStatus.QUOTE if review else OrderStatus.PENDING,
        maintenance_until=new_end,
        review_reason=review,
        coterm_with=coterm_with,
    )
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
    first = _first_order(session, licence)
    difference = _price(enabled, session, target, first) - _price(enabled, session, current, first)
    return _order(
        session,
        first,
        licence,
        OrderKind.SWITCH,
        difference,
        TIER_UPGRADE_LINE,
        f"upgrade-{target.sku}",
        1,
        now,
        switch_items=[{"sku": target.sku, "quantity": 1}],
    )


def apply_paid_maintenance(
    session: Session,
    enabled: EnabledPlugins,
    settings: Settings,
    order: Order,
    today: date,
    now: datetime,
) -> None:
    """Paid: a renewal extends to its new end; a tier upgrade starts fresh 12 months (R26)."""
    licence = session.get(Licence, order.licence_id)
    assert licence is not None
    if order.maintenance_until is not None:
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
        return
    assert order.switch_items
    sku = order.switch_items[0]["sku"]
    product = enabled.products.get(sku)
    support = product.support.name if product and product.support else licence.support
    activate(
        session, licence, settings, sku, {sku: 1}, tier_upgrade_maintenance(today), support, now
    )


def yearly_maintenance_price(session: Session, enabled: EnabledPlugins, licence: Licence) -> Money:
    """A year of the licence's maintenance at today's list price, in its first order's
    currency, not yet rounded: a prorated price is rounded once, at its end (R15)."""
    product = _perpetual(enabled, licence)
    first = _first_order(session, licence)
    price = _price(enabled, session, product, first)
    return Money(price.amount * MAINTENANCE_SHARE, price.currency)
