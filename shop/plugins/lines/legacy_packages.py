"""The legacy packages 1-5, sold before 2023: renewable, changed only through support."""

from decimal import Decimal as D

from shop import hookimpl
from shop.catalog.products import N_, Kind, Product, ProductLine

PACKAGES = (
    (1, N_("Package 1"), D("290.00"), D("320.00")),
    (2, N_("Package 2"), D("390.00"), D("430.00")),
    (3, N_("Package 3"), D("540.00"), D("595.00")),
    (4, N_("Package 4"), D("720.00"), D("790.00")),
    (5, N_("Package 5"), D("960.00"), D("1055.00")),
)


@hookimpl
def shop_product_lines() -> list[ProductLine]:
    return [
        ProductLine(
            code="legacy",
            name=N_("Packages 1-5 (legacy)"),
            description=N_(
                "The packages sold until January 2023. Existing subscriptions renew as "
                "before; changes are made by our support team: please open a ticket."
            ),
            legacy=True,
            position=90,
            products=tuple(
                Product(
                    sku=f"package-{n}",
                    name=name,
                    description=N_("Yearly subscription of a legacy package."),
                    kind=Kind.SUBSCRIPTION,
                    prices={"EUR": eur, "USD": usd},
                    billing_period_months=12,
                    self_service_switch=False,
                    sold_to_new_customers=False,
                    tier=n,
                )
                for n, name, eur, usd in PACKAGES
            ),
        )
    ]
