"""Promotions and academic discounts (R28, R29), as discount lines on every priced purchase.

A built-in plugin like any other: its tables (``models``) with their own migrations
(``migrations/``), its rules as pure functions (``rules``), the operator's API
(``api``: ``/api/v1/admin/promotions``, ``/api/v1/admin/customers/{email}``) and the one
pricing hook. Disabled, no discount applies anywhere.
"""

from __future__ import annotations

from typing import Any

from sqlmodel import Session

from shop.catalog.adjustments import Adjustment, Purchase
from shop.plugins.context import HookContext
from shop.plugins.discounts.models import AcademicCustomer, Promotion
from shop.plugins.discounts.rules import discounts, running_promotion
from shop.plugins.discounts.service import pricing_view
from shop.plugins.hookspecs import hookimpl

__all__ = ["AcademicCustomer", "Promotion"]


@hookimpl
def shop_price_adjustments(context: HookContext, purchase: Purchase) -> list[Adjustment]:
    """The running promotion's and the academic discount of ``purchase`` (R28, R29)."""
    if context.session is None:
        return []  # nothing to read the promotions from
    now = context.moment()
    promotions, academic = pricing_view(context.session, now)
    return discounts(
        purchase,
        running_promotion(promotions, now),
        bool(purchase.email) and purchase.email in academic,
    )


@hookimpl
def shop_customer_data(session: Session, email: str) -> dict[str, Any]:
    """The customer's academic flag (R29), for their export."""
    flag = session.get(AcademicCustomer, email)
    if flag is None:
        return {}
    return {"academic": flag.academic, "set_at": flag.set_at.isoformat()}


@hookimpl
def shop_customer_erase(session: Session, email: str) -> int:
    """The flag goes with the customer: it only ever served their prices (a plugin names
    only the arguments it uses; the pseudonym is not needed here)."""
    flag = session.get(AcademicCustomer, email)
    if flag is None:
        return 0
    session.delete(flag)
    return 1


@hookimpl
def shop_routes() -> list[Any]:
    from shop.plugins.discounts.api import discounts_router
    from shop.plugins.discounts.pages import academic_flag, promotion_add, promotions_page

    return [discounts_router, promotions_page, promotion_add, academic_flag]
