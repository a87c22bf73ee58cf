"""US dollar, sold everywhere, with its own list prices."""

from decimal import Decimal

from shop import hookimpl
from shop.catalog.currencies import Currency


@hookimpl
def shop_currencies() -> list[Currency]:
    return [Currency("USD", minimum_charge=Decimal("0.50"))]
