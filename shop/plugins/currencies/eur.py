"""Euro: the shop's base currency, sold everywhere."""

from decimal import Decimal

from shop import hookimpl
from shop.catalog.currencies import Currency


@hookimpl
def shop_currencies() -> list[Currency]:
    return [Currency("EUR", minimum_charge=Decimal("0.50"))]
