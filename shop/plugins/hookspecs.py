"""Every hook a shop plugin can implement, in one place.

A plugin is a module (or object) with functions decorated by ``shop.hookimpl`` whose names
match these specs; it is registered through the ``shop.plugins`` entry-point group.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import pluggy

if TYPE_CHECKING:
    from shop.catalog.currencies import Currency
    from shop.catalog.products import ProductLine
    from shop.payments.methods import PaymentMethod

hookspec = pluggy.HookspecMarker("shop")
hookimpl = pluggy.HookimplMarker("shop")


@hookspec
def shop_currencies() -> list[Currency]:
    """Return the currencies this plugin lets buyers pay in."""
    raise NotImplementedError


@hookspec
def shop_product_lines() -> list[ProductLine]:
    """Return the package lines, with their products, this plugin sells."""
    raise NotImplementedError


@hookspec
def shop_payment_methods() -> list[PaymentMethod]:
    """Return the payment methods this plugin offers at checkout."""
    raise NotImplementedError
