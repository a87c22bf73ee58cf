"""Products and package lines, as plugins declare them (R33).

Names and descriptions are English message ids: the storefront translates them through the
shop's Babel catalogs, so a plugin marks them with ``N_`` for extraction.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from enum import StrEnum


def N_(message: str) -> str:
    """Mark a message for extraction; it is translated where it is shown."""
    return message


class Kind(StrEnum):
    SUBSCRIPTION = "subscription"
    PERPETUAL = "perpetual"
    ADDON = "addon"
    AGREEMENT = "agreement"


@dataclass(frozen=True)
class ResponseTime:
    level: str  # message id, e.g. "Initial response"
    time: str  # message id, e.g. "2 hours"


@dataclass(frozen=True)
class SupportPlan:
    """Support channels and response times a product carries (R30)."""

    name: str
    channels: tuple[str, ...]
    availability: str = ""
    response_times: tuple[ResponseTime, ...] = ()


@dataclass(frozen=True)
class Product:
    sku: str
    name: str
    description: str
    kind: Kind
    prices: Mapping[str, Decimal] = field(hash=False)
    billing_period_months: int | None = None  # None: paid once (perpetual)
    trial_days: int = 0
    self_service_switch: bool = True
    sold_to_new_customers: bool = True
    addons: tuple[str, ...] = ()  # skus of the add-ons bought beside it
    support: SupportPlan | None = None
    tier: int | None = None  # rank within a tiered line; higher is more
    invoice_every_months: int | None = None  # agreements billed monthly, invoiced per N months
    unit: str = ""  # message id of what one unit is, e.g. "person"
    # Instances of the software one licence may activate at once (issue 14): one by
    # default (seed 000: one licence, one server); a line that allows more says so. With
    # ``counts_instances`` each unit of the licence's quantity of this sku is one more
    # licence, so the limit is ``instances`` times that quantity.
    instances: int = 1
    counts_instances: bool = False

    @property
    def months_per_charge(self) -> int | None:
        """The months one charge covers: an agreement's invoicing period (R31), else the
        billing period; None when paid once."""
        return self.invoice_every_months or self.billing_period_months

    @property
    def periods_per_charge(self) -> int:
        """How many billing periods one charge covers (3 monthly fees per agreement invoice)."""
        if self.invoice_every_months and self.billing_period_months:
            return self.invoice_every_months // self.billing_period_months
        return 1

    def __post_init__(self) -> None:
        if self.instances < 1:
            raise ValueError(f"{self.sku}: instances must be at least 1")
        for code, price in self.prices.items():
            if not isinstance(price, Decimal) or price < 0:
                raise ValueError(f"{self.sku}: price in {code} must be a non-negative Decimal")


@dataclass(frozen=True)
class ProductLine:
    code: str
    name: str
    description: str
    products: tuple[Product, ...]
    legacy: bool = False  # sold before, renewable, not self-service switchable
    support_plans: tuple[SupportPlan, ...] = ()  # plans offered across the line (R30)
    position: int = 100  # order on the catalog page
