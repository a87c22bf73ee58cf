"""The base package with its add-ons: additional persons, AMweb and aMobile PRO."""

from decimal import Decimal as D

from shop import hookimpl
from shop.catalog.products import N_, Kind, Product, ProductLine

TERMS = {
    # months: (suffix, base EUR, base USD, person EUR, person USD, AMweb EUR/USD, aMobile EUR/USD)
    12: (
        "yearly",
        D("490.00"),
        D("540.00"),
        D("6.00"),
        D("6.60"),
        D("240.00"),
        D("264.00"),
        D("36.00"),
        D("39.60"),
    ),
    1: (
        "monthly",
        D("45.00"),
        D("49.50"),
        D("0.55"),
        D("0.61"),
        D("22.00"),
        D("24.20"),
        D("3.30"),
        D("3.63"),
    ),
}


def _products(months: int) -> list[Product]:
    s, base_eur, base_usd, p_eur, p_usd, web_eur, web_usd, mob_eur, mob_usd = TERMS[months]
    addons = (f"persons-{s}", f"amweb-{s}", f"amobile-pro-{s}")
    return [
        Product(
            sku=f"base-{s}",
            name=N_("Base package (yearly)") if months == 12 else N_("Base package (monthly)"),
            description=N_(
                "The complete alarm and dispatch software for one organisation, with "
                "updates and support for as long as the subscription runs."
            ),
            kind=Kind.SUBSCRIPTION,
            prices={"EUR": base_eur, "USD": base_usd},
            billing_period_months=months,
            trial_days=10,
            addons=addons,
        ),
        Product(
            sku=addons[0],
            name=N_("Additional persons"),
            description=N_("One more person who receives alarms, per person."),
            kind=Kind.ADDON,
            prices={"EUR": p_eur, "USD": p_usd},
            billing_period_months=months,
            unit=N_("person"),
        ),
        Product(
            sku=addons[1],
            name=N_("AMweb"),
            description=N_("The web interface: alarms, availability and reports in a browser."),
            kind=Kind.ADDON,
            prices={"EUR": web_eur, "USD": web_usd},
            billing_period_months=months,
        ),
        Product(
            sku=addons[2],
            name=N_("aMobile PRO"),
            description=N_("The professional app: feedback, map, navigation, per device."),
            kind=Kind.ADDON,
            prices={"EUR": mob_eur, "USD": mob_usd},
            billing_period_months=months,
            unit=N_("device"),
        ),
    ]


@hookimpl
def shop_product_lines() -> list[ProductLine]:
    return [
        ProductLine(
            code="base",
            name=N_("Base package"),
            description=N_(
                "Our current package since January 2023: start with the base package and "
                "add exactly the persons, AMweb and aMobile PRO devices you need. Change "
                "them yourself at any time with Upgrade or Downgrade."
            ),
            products=(*_products(12), *_products(1)),
            position=10,
        )
    ]
