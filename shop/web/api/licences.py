"""Operator calls on perpetual licences: maintenance renewals and tier upgrades (R23-R27),
and the catch-up price for customers without a support agreement (R32)."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any

from litestar import Request, Router, get, post
from litestar.di import Provide
from litestar.openapi.spec import Example
from litestar.params import Body, FromPath, FromQuery

from shop.catalog.pricing import NotSold, unit_price
from shop.catalog.products import N_
from shop.catalog.rates import current_rates
from shop.catalog.service import parse_country, resolve_currency
from shop.errors import ShopError
from shop.licences.maintenance_orders import order_maintenance, order_tier_upgrade
from shop.licences.models import Licence
from shop.orders.notifications import notify
from shop.subscriptions.agreements import catch_up_price, months_between
from shop.web.api.orders import order_json
from shop.web.api.schemas import (
    OPERATOR,
    CatchUpPrice,
    MaintenanceAnswer,
    MaintenanceRequest,
    OrderAnswer,
    TierUpgradeRequest,
    answers,
)
from shop.web.deps import Db, Enabled, Operator, ShopDep, T, mail_queued, provide_operator
from shop.web.transaction import transaction


def licence_by_id(db: Db, licence_id: int) -> Licence:
    licence = db.get(Licence, licence_id)
    if licence is None:
        raise ShopError(404, "not_found", N_("There is nothing at this address."))
    return licence


NO_LICENCE = {"e404": ("not_found",), **OPERATOR}
LICENCE_REFUSALS = {"e409": ("licence_not_paid",)}


@post(
    "/{licence_id:int}/maintenance",
    sync_to_thread=True,
    status_code=201,
    responses=answers(
        201,
        MaintenanceAnswer,
        e422=("maintenance_too_far_ahead", "not_perpetual", "not_for_sale", "unknown_product"),
        **LICENCE_REFUSALS,
        **NO_LICENCE,
    ),
)
@transaction
def renew_maintenance_order(
    request: Request[Any, Any, Any],
    db: Db,
    shop: ShopDep,
    enabled: Enabled,
    t: T,
    operator: Operator,
    licence_id: FromPath[int],
    data: Annotated[MaintenanceRequest, Body(examples=[Example(value={"years": 2})])],
) -> dict[str, Any]:
    """Order 1-3 years of maintenance from the previous end (R24, R25); ``coterm_with``
    (another licence id) makes it a quote flagged for review (R27)."""
    coterm = data.coterm_with
    now = shop.clock.now()
    order = order_maintenance(
        db,
        enabled,
        licence_by_id(db, licence_id),
        data.years,
        coterm,
        shop.clock.today(),
        now,
    )
    notify(db, shop.templates, enabled, shop.settings, order, now)
    mail_queued(request)
    return {
        "order": order_json(db, order, enabled, shop.settings, t),
        "maintenance_until": order.maintenance_until.isoformat()
        if order.maintenance_until
        else None,
        "review": order.review_reason,
    }


@post(
    "/{licence_id:int}/upgrade",
    sync_to_thread=True,
    status_code=201,
    responses=answers(
        201,
        OrderAnswer,
        e422=("not_perpetual", "not_for_sale", "unknown_product"),
        **LICENCE_REFUSALS,
        **NO_LICENCE,
    ),
)
@transaction
def upgrade_tier(
    request: Request[Any, Any, Any],
    db: Db,
    shop: ShopDep,
    enabled: Enabled,
    t: T,
    operator: Operator,
    licence_id: FromPath[int],
    data: Annotated[TierUpgradeRequest, Body(examples=[Example(value={"sku": "base-pro"})])],
) -> dict[str, Any]:
    """A higher tier for the price difference, with 12 fresh months of maintenance (R26)."""
    now = shop.clock.now()
    order = order_tier_upgrade(db, enabled, licence_by_id(db, licence_id), data.sku, now)
    notify(db, shop.templates, enabled, shop.settings, order, now)
    mail_queued(request)
    return {"order": order_json(db, order, enabled, shop.settings, t)}


@get(
    "/catch-up-price",
    sync_to_thread=True,
    responses=answers(
        200, CatchUpPrice, e422=("unknown_product", "currency_not_allowed"), **OPERATOR
    ),
)
@transaction
def catch_up(
    db: Db,
    shop: ShopDep,
    enabled: Enabled,
    operator: Operator,
    sku: FromQuery[str],
    since: FromQuery[date],
    currency: FromQuery[str | None] = None,
    country: FromQuery[str | None] = None,
) -> dict[str, Any]:
    """What a customer without an agreement since ``since`` pays for the current version:
    1/60 of the licence price per month without an agreement (R32)."""
    product = enabled.products.get(sku)
    billing_country = parse_country(country)
    chosen = resolve_currency(enabled, shop.plugins.currency_codes, currency, billing_country)
    price = unit_price(product, chosen, billing_country, current_rates(db)) if product else None
    if price is None or isinstance(price, NotSold):
        raise ShopError(
            422, "unknown_product", N_("There is no product “%(sku)s” for sale."), sku=sku
        ).on_field("sku")
    today = shop.clock.today()
    if since > today:
        raise ShopError(422, "validation_error", N_("The request is not valid")).on_field("since")
    months = months_between(since, today)
    return {
        "sku": sku,
        "months_without_agreement": months,
        "licence_price": price.unit.to_json(),
        "price": catch_up_price(price.unit, months).to_json(),
    }


licences_router = Router(
    path="/api/v1/licences",
    route_handlers=[renew_maintenance_order, upgrade_tier, catch_up],
    dependencies={"operator": Provide(provide_operator, sync_to_thread=False)},
    tags=["licences"],
    security=[{"operatorToken": []}],
)
