"""Operator endpoints: plugins and exchange rates. Every call needs a bearer token."""

from __future__ import annotations

from typing import Annotated, Any

from litestar import Router, get, patch, put
from litestar.di import Provide
from litestar.openapi.spec import Example
from litestar.params import Body, FromPath
from sqlmodel import Session

from shop.catalog.pricing import ExchangeRate
from shop.catalog.products import N_
from shop.catalog.rates import InvalidRate, parse_rate, set_rate
from shop.errors import ShopError
from shop.plugins.manager import PluginInfo
from shop.plugins.state import EssentialPlugin, UnknownPlugin, enabled_names, set_enabled
from shop.web.api.admin_imports import import_subscription_route
from shop.web.api.admin_orders import (
    add_payment,
    cancel_by_operator,
    list_licences,
    list_orders,
    outbox,
    resolve,
)
from shop.web.api.products import plain
from shop.web.api.schemas import (
    OPERATOR,
    ExchangeRateAnswer,
    ExchangeRateRequest,
    PluginAnswer,
    PluginList,
    PluginToggle,
    answers,
)
from shop.web.deps import Db, Operator, Shop, ShopDep, provide_operator
from shop.web.transaction import transaction


def plugin_json(info: PluginInfo, enabled: bool, missing: tuple[str, ...]) -> dict[str, Any]:
    """A plugin as the back office shows it; ``missing_settings`` names what keeps a
    payment plugin out of checkout (its keys are not set)."""
    return {
        "name": info.name,
        "enabled": enabled,
        "description": info.description,
        "version": info.version,
        "distribution": info.distribution,
        "builtin": info.builtin,
        "essential": info.essential,
        "hooks": list(info.hooks),
        "configured": not missing,
        "missing_settings": list(missing),
    }


@get("/plugins", sync_to_thread=True, responses=answers(200, PluginList, **OPERATOR))
@transaction
def list_plugins(db: Db, shop: ShopDep, operator: Operator) -> dict[str, Any]:
    """Every installed plugin and whether it is enabled."""
    on = enabled_names(db, shop.plugins)
    return {
        "plugins": [
            plugin_json(i, i.name in on, shop.plugins.missing_settings(i.name, shop.settings))
            for i in shop.plugins.infos.values()
        ]
    }


@patch(
    "/plugins/{name:str}",
    sync_to_thread=True,
    responses=answers(
        200, PluginAnswer, e404=("not_found",), e409=("plugin_essential",), **OPERATOR
    ),
)
@transaction
def toggle_plugin(
    db: Db,
    shop: ShopDep,
    operator: Operator,
    name: FromPath[str],
    data: Annotated[PluginToggle, Body(examples=[Example(value={"enabled": False})])],
) -> dict[str, Any]:
    """Enable or disable a plugin: ``{"enabled": true|false}``; takes effect at once."""
    enabled = data.enabled
    try:
        info = set_enabled(db, shop.plugins, name, enabled, shop.clock.now())
    except UnknownPlugin:
        raise ShopError(
            404, "not_found", N_("No plugin is called “%(name)s”."), name=name
        ) from None
    except EssentialPlugin:
        raise ShopError(
            409, "plugin_essential", N_("The plugin “%(name)s” cannot be disabled."), name=name
        ) from None
    missing = shop.plugins.missing_settings(info.name, shop.settings)
    return {"plugin": plugin_json(info, enabled, missing)}


@put(
    "/exchange-rates/{currency:str}",
    sync_to_thread=True,
    responses=answers(200, ExchangeRateAnswer, e404=("not_found",), **OPERATOR),
)
@transaction
def put_exchange_rate(
    db: Db,
    shop: ShopDep,
    operator: Operator,
    currency: FromPath[str],
    data: Annotated[
        ExchangeRateRequest,
        Body(examples=[Example(value={"rate": "150.25", "margin": "0.05"})]),
    ],
) -> dict[str, Any]:
    """Set the rate and margin used for new quotes and orders in ``currency`` (R14)."""
    saved = save_rate(db, shop, currency, data.rate, data.margin)
    return {
        "exchange_rate": {
            "currency": saved.currency,
            "base": saved.base,
            "rate": plain(saved.rate),
            "margin": plain(saved.margin),
            "effective_rate": plain(saved.effective),
        }
    }


def save_rate(db: Session, shop: Shop, currency: str, rate: object, margin: object) -> ExchangeRate:
    """Set a rate-priced currency's rate and margin (the API and the back office)."""
    code = currency.upper()
    target = shop.plugins.everything.currencies.get(code)
    if target is None or target.priced_from is None:
        raise ShopError(
            404, "not_found", N_("%(currency)s is not priced by exchange rate."), currency=code
        )
    try:
        parsed_rate, parsed_margin = parse_rate(rate, margin)
    except InvalidRate as exc:
        raise ShopError(
            422,
            "validation_error",
            N_("“%(field)s” must be a positive number (margin: from 0 up to 1)."),
            field=exc.field,
        ).on_field(exc.field) from None
    return set_rate(db, code, target.priced_from, parsed_rate, parsed_margin, shop.clock.now())


admin_router = Router(
    path="/api/v1/admin",
    route_handlers=[
        list_plugins,
        toggle_plugin,
        put_exchange_rate,
        list_orders,
        add_payment,
        cancel_by_operator,
        resolve,
        list_licences,
        outbox,
        import_subscription_route,
    ],
    dependencies={"operator": Provide(provide_operator, sync_to_thread=False)},
    tags=["admin"],
    security=[{"operatorToken": []}],
)
