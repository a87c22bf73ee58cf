"""Training courses: an example third-party package line."""

from decimal import Decimal

from shop import hookimpl
from shop.catalog.products import Kind, Product, ProductLine


@hookimpl
def shop_product_lines() -> list[ProductLine]:
    return [
        ProductLine(
            code="training",
            name="Training courses",
            description="Learn the software with our trainers, online or on site.",
            position=50,
            products=(
                Product(
                    sku="training-online-half-day",
                    name="Online training, half day",
                    description="Four hours with a trainer, for up to six people.",
                    kind=Kind.PERPETUAL,
                    prices={"EUR": Decimal("390.00"), "USD": Decimal("430.00")},
                ),
            ),
        )
    ]
