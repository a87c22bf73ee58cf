"""The support agreement: a fixed monthly fee, invoiced per 3 months (R31)."""

from decimal import Decimal as D

from shop import hookimpl
from shop.catalog.products import N_, Kind, Product, ProductLine, SupportPlan

INCLUDED = (
    N_("All upgrades, free of charge"),
    N_("All further training after the first training package"),
    N_("Keeping your application online"),
    N_("Remote assistance over the internet"),
    N_("Telephone assistance (except during holidays)"),
)


@hookimpl
def shop_product_lines() -> list[ProductLine]:
    return [
        ProductLine(
            code="agreement",
            name=N_("Support agreement"),
            description=N_(
                "A fixed monthly fee, invoiced per 3 months, that keeps your software up to "
                "date. Cancel any time in writing; periods already invoiced remain due."
            ),
            position=40,
            products=(
                Product(
                    sku="agreement-single",
                    name=N_("Support agreement, single workstation"),
                    description=N_("For one workstation of the jeweller software."),
                    kind=Kind.AGREEMENT,
                    prices={"EUR": D("35.00"), "USD": D("38.50")},
                    billing_period_months=1,
                    invoice_every_months=3,
                    support=SupportPlan(name=N_("Support agreement"), channels=INCLUDED),
                ),
                Product(
                    sku="agreement-network",
                    name=N_("Support agreement, network"),
                    description=N_("For a network of up to five workstations."),
                    kind=Kind.AGREEMENT,
                    prices={"EUR": D("65.00"), "USD": D("71.50")},
                    billing_period_months=1,
                    invoice_every_months=3,
                    support=SupportPlan(name=N_("Support agreement"), channels=INCLUDED),
                ),
            ),
        )
    ]
