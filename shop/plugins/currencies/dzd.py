"""Algerian dinar: for billing country Algeria only, priced from EUR at the operator's rate."""

from decimal import Decimal

from shop import hookimpl
from shop.catalog.currencies import Currency


@hookimpl
def shop_currencies() -> list[Currency]:
    return [
        Currency("DZD", minimum_charge=Decimal(50), countries=frozenset({"DZ"}), priced_from="EUR")
    ]
