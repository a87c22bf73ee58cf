"""The buyer changes how an unpaid order or quote is to be paid (R7, R12).

A quote saved without a method, or an order whose method the buyer no longer wants, takes
any enabled method that takes its currency; the order page then opens that method's
payment (a card form, a PayPal link, bank details)."""

from __future__ import annotations

from datetime import datetime

from sqlmodel import Session

from shop.catalog.products import N_
from shop.errors import ShopError
from shop.orders.checkout import choose_method
from shop.orders.models import Order, OrderStatus
from shop.orders.payments import expired_refusal
from shop.plugins.manager import EnabledPlugins, Plugins


def change_payment_method(
    session: Session,
    enabled: EnabledPlugins,
    plugins: Plugins,
    order: Order,
    code: object,
    now: datetime,
) -> Order:
    """Pay ``order`` by the enabled method ``code`` from now on; a paid or closed order
    keeps the method it has."""
    if order.status == OrderStatus.PAID:
        raise ShopError(409, "order_paid", N_("This order is already paid in full."))
    if order.status not in (OrderStatus.PENDING, OrderStatus.QUOTE):
        raise ShopError(409, "order_closed", N_("This order is closed and takes no payment."))
    late = expired_refusal(order, now)
    if late is not None:
        raise late
    if not isinstance(code, str) or not code.strip():
        raise ShopError(422, "validation_error", N_("Please fill in this field.")).on_field(
            "payment_method"
        )
    method = choose_method(enabled, plugins, code.strip(), order.currency)
    if method is not None:
        order.payment_method = method.code
    session.add(order)
    session.flush()
    return order
