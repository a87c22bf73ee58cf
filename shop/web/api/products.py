"""GET /api/v1/products: the enabled products, priced in one currency."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from litestar import get
from litestar.params import FromQuery

from shop.catalog.products import SupportPlan
from shop.catalog.rates import current_rates, rates_key
from shop.catalog.service import PricedProduct, parse_country, priced_catalog, resolve_currency
from shop.i18n import Translator
from shop.web.api.schemas import ProductList, answers
from shop.web.deps import Db, Enabled, ShopDep, T
from shop.web.security_headers import REVALIDATE
from shop.web.transaction import transaction


def plain(number: Decimal | int) -> str:
    """A rate without the database's trailing zeros: "150", "0.05"."""
    return f"{Decimal(number).normalize():f}"


def support_json(plan: SupportPlan | None, t: Translator) -> dict[str, Any] | None:
    if plan is None:
        return None
    return {
        "name": t.gettext(plan.name),
        "channels": [t.gettext(c) for c in plan.channels],
        "availability": t.gettext(plan.availability) if plan.availability else None,
        "response_times": [
            {"level": t.gettext(r.level), "time": t.gettext(r.time)} for r in plan.response_times
        ],
    }


def product_json(item: PricedProduct, t: Translator) -> dict[str, Any]:
    product, rate = item.product, item.price.rate
    return {
        "sku": product.sku,
        "name": t.gettext(product.name),
        "description": t.gettext(product.description),
        "line": item.line.code,
        "line_name": t.gettext(item.line.name),
        "kind": product.kind.value,
        "billing_period_months": product.billing_period_months,
        "invoice_every_months": product.invoice_every_months,
        "trial_days": product.trial_days,
        "self_service_switch": product.self_service_switch and not item.line.legacy,
        "sold_to_new_customers": product.sold_to_new_customers,
        "tier": product.tier,
        "addons": list(product.addons),
        "price": item.price.unit.to_json(),
        "exchange_rate": (
            {"base": rate.base, "rate": plain(rate.rate), "margin": plain(rate.margin)}
            if rate
            else None
        ),
        "support": support_json(product.support, t),
    }


@get(
    "/api/v1/products",
    sync_to_thread=True,
    cache_control=REVALIDATE,
    tags=["products"],
    responses=answers(200, ProductList, e422=("currency_not_allowed", "currency_unknown")),
)
@transaction
def list_products(
    db: Db,
    shop: ShopDep,
    enabled: Enabled,
    t: T,
    currency: FromQuery[str | None] = None,
    country: FromQuery[str | None] = None,
) -> dict[str, Any]:
    """The enabled products with their unit price in ``currency`` for a buyer in ``country``."""
    billing_country = parse_country(country)
    chosen = resolve_currency(enabled, shop.plugins.currency_codes, currency, billing_country)
    rates = current_rates(db)

    def body() -> dict[str, Any]:
        lines = priced_catalog(enabled, chosen, billing_country, rates)
        return {
            "currency": chosen.code,
            "country": billing_country,
            "locale": t.locale,
            "products": [product_json(item, t) for line in lines for item in line.products],
        }

    key = ("products", chosen.code, billing_country, t.locale, enabled, rates_key(rates))
    return shop.pages.get(key, body)
