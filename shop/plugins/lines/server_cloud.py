"""The tiered server and cloud line: Starter, Express, Professional, Enterprise (R30)."""

from decimal import Decimal as D

from shop import hookimpl
from shop.catalog.products import N_, Kind, Product, ProductLine, ResponseTime, SupportPlan

EMAIL, KB, TICKETS, CHAT = N_("E-mail"), N_("Knowledge base"), N_("Tickets"), N_("Live chat")
TEAMVIEWER, PHONE = N_("TeamViewer"), N_("Phone support")

TIERS = (
    # rank, code, name, channels, server EUR/USD (perpetual), cloud EUR/USD (per month)
    (1, "starter", N_("Starter"), (EMAIL, KB), D("990.00"), D("1090.00"), D("29.00"), D("32.00")),
    (2, "express", N_("Express"), (EMAIL, KB), D("1990.00"), D("2190.00"), D("59.00"), D("65.00")),
    (
        3,
        "professional",
        N_("Professional"),
        (EMAIL, KB, TICKETS, CHAT),
        D("3990.00"),
        D("4390.00"),
        D("119.00"),
        D("131.00"),
    ),
    (
        4,
        "enterprise",
        N_("Enterprise"),
        (EMAIL, KB, TICKETS, CHAT, TEAMVIEWER, PHONE),
        D("7990.00"),
        D("8790.00"),
        D("239.00"),
        D("263.00"),
    ),
)

L1, L2, L3, L4 = (
    N_("Initial response (L1)"),
    N_("Initial response (L2)"),
    N_("Initial response (L3)"),
    N_("Initial response (L4)"),
)
PRIORITY_TIMES = (
    ResponseTime(L1, N_("1 hour")),
    ResponseTime(L2, N_("2 hours")),
    ResponseTime(L3, N_("1 business day")),
    ResponseTime(L4, N_("2 business days")),
)
SUPPORT_PLANS = (
    SupportPlan(
        name=N_("Select support (included with active maintenance)"),
        channels=(N_("Select team"),),
        availability=N_("Business hours (9/5)"),
        response_times=(ResponseTime(N_("Initial response"), N_("2 hours")),),
    ),
    SupportPlan(
        name=N_("Priority support for Cloud"),
        channels=(N_("Advanced team (L1, L2)"), N_("Select team (L3, L4)")),
        availability=N_("L1: 24/7, L2: 24/5, L3 and L4: 9/5"),
        response_times=PRIORITY_TIMES,
    ),
    SupportPlan(
        name=N_("Priority support for Server"),
        channels=(N_("Advanced team (L1, L2)"), N_("Select team (L3, L4)")),
        availability=N_("L1: 24/7, L2: 24/5, L3 and L4: 9/5"),
        response_times=PRIORITY_TIMES,
    ),
    SupportPlan(
        name=N_("Premier support"),
        channels=(N_("Dedicated senior support team"),),
        availability=N_("Around the clock (24/7)"),
        response_times=(
            ResponseTime(L1, N_("30 minutes")),
            ResponseTime(L2, N_("2 hours")),
            ResponseTime(L3, N_("8 hours")),
            ResponseTime(L4, N_("24 hours")),
        ),
    ),
)


def _plan(name: str, channels: tuple[str, ...]) -> SupportPlan:
    return SupportPlan(name=name, channels=channels)


@hookimpl
def shop_product_lines() -> list[ProductLine]:
    server = tuple(
        Product(
            sku=f"server-{code}",
            name=name,
            description=N_(
                "Perpetual server licence with 12 months of maintenance (support and "
                "updates) from the day of payment."
            ),
            kind=Kind.PERPETUAL,
            prices={"EUR": s_eur, "USD": s_usd},
            trial_days=10,
            tier=rank,
            support=_plan(name, channels),
            counts_instances=True,  # one server per licence bought (seed 000)
        )
        for rank, code, name, channels, s_eur, s_usd, _c_eur, _c_usd in TIERS
    )
    cloud = tuple(
        Product(
            sku=f"cloud-{code}",
            name=name,
            description=N_("Cloud subscription, billed monthly, hosted and updated by us."),
            kind=Kind.SUBSCRIPTION,
            prices={"EUR": c_eur, "USD": c_usd},
            billing_period_months=1,
            trial_days=10,
            tier=rank,
            support=_plan(name, channels),
        )
        for rank, code, name, channels, _s_eur, _s_usd, c_eur, c_usd in TIERS
    )
    return [
        ProductLine(
            code="server",
            name=N_("Server licences"),
            description=N_(
                "Buy once, run on your own server. Tiers cannot be combined into custom "
                "tiers; a tier upgrade starts a fresh 12 months of maintenance."
            ),
            products=server,
            support_plans=SUPPORT_PLANS,
            position=20,
        ),
        ProductLine(
            code="cloud",
            name=N_("Cloud plans"),
            description=N_("The same tiers as a monthly cloud subscription."),
            products=cloud,
            support_plans=SUPPORT_PLANS,
            position=30,
        ),
    ]
