"""Training courses, Swiss francs and invoice on account: an example third-party plugin.

Everything a plugin can bring, from its own distribution (``shop-training``), with no
change to the shop: a currency (CHF), a package line, a payment method with instructions,
settings (``SHOP_TRAINING_*``), a page (``/{lang}/training``), a template override, its
own German and Dutch texts (``locales/``), a table with its migration (``migrations/``), a
price adjustment (early bird) and a command (``shop training``).
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import click

from shop import hookimpl
from shop.catalog.adjustments import Adjustment, Purchase
from shop.catalog.currencies import Currency
from shop.catalog.products import N_, Kind, Product, ProductLine
from shop.payments.methods import PaymentMethod
from shop.plugins.context import HookContext
from shop.plugins.settings import Setting
from shop_training import models
from shop_training.config import PLUGIN, SETTINGS, value
from shop_training.payment import InvoiceOnAccount
from shop_training.pricing import COURSE_SKUS, early_bird


@hookimpl
def shop_currencies() -> list[Currency]:
    # Priced from EUR at the operator's rate (PUT /api/v1/admin/exchange-rates/CHF), unless
    # a product has its own CHF list price, as the course below has.
    return [Currency("CHF", minimum_charge=Decimal("0.50"), priced_from="EUR")]


@hookimpl
def shop_product_lines() -> list[ProductLine]:
    return [
        ProductLine(
            code="training",
            name=N_("Training courses"),
            description=N_("Learn the software with our trainers, online or on site."),
            position=50,
            products=(
                Product(
                    sku="training-online-half-day",
                    name=N_("Online training, half day"),
                    description=N_("Four hours with a trainer, for up to six people."),
                    kind=Kind.PERPETUAL,
                    prices={
                        "EUR": Decimal("390.00"),
                        "USD": Decimal("430.00"),
                        "CHF": Decimal("370.00"),
                    },
                ),
            ),
        )
    ]


@hookimpl
def shop_payment_methods() -> list[PaymentMethod]:
    return [InvoiceOnAccount()]


@hookimpl
def shop_settings() -> list[Setting]:
    return list(SETTINGS)


@hookimpl
def shop_routes() -> list[Any]:
    from shop_training.pages import training_page

    return [training_page]


@hookimpl
def shop_commands(cli: click.Group) -> None:
    from shop_training.commands import training

    cli.add_command(training)


@hookimpl
def shop_price_adjustments(context: HookContext, purchase: Purchase) -> list[Adjustment]:
    if context.session is None or not any(line.sku in COURSE_SKUS for line in purchase.lines):
        return []
    today = context.moment().astimezone(context.clock.timezone).date()
    sessions = models.upcoming(context.session, today)
    own = context.plugin_settings(PLUGIN)
    return early_bird(
        purchase,
        today,
        sessions[0].starts_on if sessions else None,
        value(own, "early_bird_percent"),
        value(own, "early_bird_days"),
    )
