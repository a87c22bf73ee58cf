"""The one place that says what a unit of a product costs in a currency.

Pure functions on plain values. "Not sold here" is a value (``NotSold``), not ``None``.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from shop.catalog.currencies import Currency
from shop.catalog.products import Product
from shop.money import Money


@dataclass(frozen=True)
class ExchangeRate:
    """Units of ``currency`` per one unit of ``base``, plus the fluctuation margin (R14)."""

    base: str
    currency: str
    rate: Decimal
    margin: Decimal

    @property
    def effective(self) -> Decimal:
        return self.rate * (1 + self.margin)


@dataclass(frozen=True)
class Price:
    unit: Money
    rate: ExchangeRate | None = None  # the rate used, frozen on quotes and orders


@dataclass(frozen=True)
class NotSold:
    code: str  # a stable problem code, e.g. "currency_not_allowed"


def unit_price(
    product: Product,
    currency: Currency,
    country: str | None,
    rates: dict[str, ExchangeRate],
) -> Price | NotSold:
    """The price of one unit of ``product`` in ``currency`` for a buyer in ``country``."""
    if not currency.allowed_for(country):
        return NotSold("currency_not_allowed")
    if currency.code in product.prices:
        return Price(Money.of(product.prices[currency.code], currency.code))
    if currency.priced_from and currency.priced_from in product.prices:
        rate = rates.get(currency.code)
        if rate is None or rate.base != currency.priced_from:
            return NotSold("exchange_rate_missing")
        # Rounded once, half-up, on the converted unit price (R15).
        amount = product.prices[currency.priced_from] * rate.effective
        return Price(Money.of(amount, currency.code), rate)
    return NotSold("price_missing")
