"""The catalog as a buyer sees it: enabled lines, priced in the chosen currency."""

from __future__ import annotations

from dataclasses import dataclass

from shop.catalog.currencies import Currency
from shop.catalog.pricing import ExchangeRate, NotSold, Price, unit_price
from shop.catalog.products import N_, Product, ProductLine
from shop.errors import ShopError
from shop.i18n import CountryName, is_country
from shop.plugins.manager import EnabledPlugins


@dataclass(frozen=True)
class PricedProduct:
    product: Product
    line: ProductLine
    price: Price


@dataclass(frozen=True)
class PricedLine:
    line: ProductLine
    products: tuple[PricedProduct, ...]


def parse_country(raw: str | None) -> str | None:
    """An ISO 3166 alpha-2 code, upper-cased, or None when not given."""
    if raw is None or raw.strip() == "":
        return None
    code = raw.strip().upper()
    if not is_country(code):
        raise ShopError(
            422, "validation_error", N_("“%(country)s” is not a country code."), country=raw
        ).on_field("country")
    return code


def resolve_currency(
    enabled: EnabledPlugins, installed: set[str], raw: str | None, country: str | None
) -> Currency:
    """The currency a buyer asked for, if it is on and allowed for their country (R14)."""
    code = (raw or "EUR").strip().upper()
    currency = enabled.currencies.get(code)
    if currency is None and code in installed:
        raise ShopError(
            422, "plugin_disabled", N_("Payment in %(currency)s is not available."), currency=code
        ).on_field("currency")
    if currency is None:
        raise ShopError(
            422, "currency_unknown", N_("The shop does not sell in “%(currency)s”."), currency=code
        ).on_field("currency")
    if not currency.allowed_for(country):
        raise ShopError(
            422,
            "currency_not_allowed",
            N_("%(currency)s is only offered to customers billed in %(country)s."),
            currency=code,
            country=CountryName(sorted(currency.countries)[0]),
        ).on_field("currency")
    return currency


def priced_catalog(
    enabled: EnabledPlugins,
    currency: Currency,
    country: str | None,
    rates: dict[str, ExchangeRate],
) -> list[PricedLine]:
    """Every enabled line with the products that have a price in ``currency``."""
    result = []
    missing_rate = False
    for line in enabled.lines:
        priced = []
        for product in line.products:
            price = unit_price(product, currency, country, rates)
            if isinstance(price, NotSold):
                missing_rate = missing_rate or price.code == "exchange_rate_missing"
                continue
            priced.append(PricedProduct(product, line, price))
        if priced:
            result.append(PricedLine(line, tuple(priced)))
    if missing_rate and not result:
        raise ShopError(
            422,
            "exchange_rate_missing",
            N_("Prices in %(currency)s are not available yet: the shop has no exchange rate."),
            currency=currency.code,
        ).on_field("currency")
    return result
