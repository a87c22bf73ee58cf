"""What a set of items costs: pure, free of web and database.

Prices always come from the catalog, never from what a form posts. Quantities are totals
(R18); each line is rounded once, half-up (R15).
"""

from __future__ import annotations

from dataclasses import dataclass

from shop.catalog.adjustments import Adjustment
from shop.catalog.currencies import Currency
from shop.catalog.pricing import ExchangeRate, NotSold, unit_price
from shop.catalog.products import N_, Kind, Product, ProductLine
from shop.errors import ShopError
from shop.money import Money
from shop.plugins.manager import EnabledPlugins

MAX_QUANTITY = 10_000


@dataclass(frozen=True)
class CartItem:
    sku: str
    quantity: int


@dataclass(frozen=True)
class PricedItem:
    product: Product
    quantity: int
    unit: Money
    total: Money


@dataclass(frozen=True)
class PricedCart:
    line: ProductLine
    main: Product
    items: tuple[PricedItem, ...]
    total: Money  # what the buyer pays: the items plus the adjustments
    rate: ExchangeRate | None
    adjustments: tuple[Adjustment, ...] = ()  # from the pricing pipeline (R28, R29)

    @property
    def subtotal(self) -> Money:
        """The items at list price, before adjustments."""
        total = Money.of(0, self.total.currency)
        for item in self.items:
            total = total + item.total
        return total

    @property
    def quantities(self) -> dict[str, int]:
        return {item.product.sku: item.quantity for item in self.items}


def _items_error(detail: str, **params: object) -> ShopError:
    return ShopError(422, "validation_error", detail, **params).on_field("items")


def check_items(items: list[CartItem]) -> None:
    """Refuse empty carts, odd quantities and repeated skus before anything is priced."""
    if not items:
        raise _items_error(N_("Choose at least one product."))
    seen: set[str] = set()
    for item in items:
        if isinstance(item.quantity, bool) or not isinstance(item.quantity, int):
            raise _items_error(N_("Quantities must be whole numbers."))
        if not 1 <= item.quantity <= MAX_QUANTITY:
            raise _items_error(
                N_("Quantities must be between 1 and %(max)s."), max=f"{MAX_QUANTITY:,}"
            )
        if item.sku in seen:
            raise _items_error(N_("“%(sku)s” appears twice; give its total once."), sku=item.sku)
        seen.add(item.sku)


def price_items(
    items: list[CartItem],
    enabled: EnabledPlugins,
    currency: Currency,
    country: str | None,
    rates: dict[str, ExchangeRate],
) -> PricedCart:
    """Price one base product and its add-ons for a new purchase."""
    check_items(items)
    products = []
    for item in items:
        product = enabled.products.get(item.sku)
        if product is None:
            raise ShopError(
                422, "unknown_product", N_("There is no product “%(sku)s” for sale."), sku=item.sku
            ).on_field("items")
        if not product.sold_to_new_customers:
            raise ShopError(
                422,
                "not_for_sale",
                N_("“%(sku)s” is no longer sold to new customers: please open a ticket."),
                sku=item.sku,
            ).on_field("items")
        products.append(product)
    mains = [p for p in products if p.kind != Kind.ADDON]
    if len(mains) != 1:
        raise _items_error(N_("Order exactly one base product, with its add-ons if you like."))
    main = mains[0]
    for product in products:
        if product.kind == Kind.ADDON and product.sku not in main.addons:
            raise _items_error(
                N_("“%(addon)s” cannot be added to “%(sku)s”."), addon=product.sku, sku=main.sku
            )
    priced = []
    rate = None
    for item, product in zip(items, products, strict=True):
        price = unit_price(product, currency, country, rates)
        if isinstance(price, NotSold):
            raise ShopError(
                422,
                price.code if price.code != "price_missing" else "currency_not_allowed",
                N_("“%(sku)s” cannot be bought in %(currency)s."),
                sku=product.sku,
                currency=currency.code,
            ).on_field("currency")
        rate = rate or price.rate
        charged = price.unit.times(product.periods_per_charge)  # per invoice (R31)
        priced.append(PricedItem(product, item.quantity, charged, charged.times(item.quantity)))
    total = Money.of(0, currency.code)
    for line_item in priced:
        total = total + line_item.total
    line = enabled.line_of(main.sku)
    assert line is not None  # main came from an enabled line
    # Base product first, then add-ons in the order the product lists them.
    order = {main.sku: -1, **{sku: i for i, sku in enumerate(main.addons)}}
    ordered = tuple(sorted(priced, key=lambda p: order.get(p.product.sku, 99)))
    return PricedCart(line, main, ordered, total, rate)
