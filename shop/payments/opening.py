"""A card or PayPal payment is opened once per order and reused on every visit (R13).

Providers forget idempotency keys (Stripe after 24 hours), so a buyer returning after a
day would otherwise get a second PaymentIntent for the same order. The provider's id of
the payment is kept on the order (``Order.provider_payment``) and handed to the method,
which retrieves it (and updates its amount when what is due changed) instead of creating
another. Written in a short transaction of its own, after the provider answered.
"""

from __future__ import annotations

import logging

from sqlalchemy import update
from sqlalchemy.engine import Engine
from sqlalchemy.exc import SQLAlchemyError

from shop.db import session_scope
from shop.i18n import Translator
from shop.orders.models import Order
from shop.orders.payments import start_payment
from shop.payments.methods import PaymentStart
from shop.plugins.manager import EnabledPlugins
from shop.settings import Settings

log = logging.getLogger("shop.payments")
ORDERS = Order.__table__  # type: ignore[attr-defined]


def open_payment(
    engine: Engine,
    order: Order,
    enabled: EnabledPlugins,
    settings: Settings,
    t: Translator,
    *,
    base_url: str | None = None,
) -> PaymentStart | None:
    """``start_payment`` for the buyer (online methods asked), and the provider's payment
    kept on the order. Call it with no transaction open."""
    start = start_payment(order, enabled, settings, t, base_url=base_url)
    if start is not None and start.provider_payment:
        remember_provider_payment(engine, order, f"{order.payment_method}:{start.provider_payment}")
    return start


def remember_provider_payment(engine: Engine, order: Order, provider_payment: str) -> None:
    if order.provider_payment == provider_payment:
        return
    try:
        with session_scope(engine) as session:
            session.execute(
                update(ORDERS)
                .where(ORDERS.c.id == order.id)
                .values(provider_payment=provider_payment, provider_payment_closed_at=None)
            )
    except SQLAlchemyError:
        # The provider's idempotency key still covers the next visits for a day.
        log.warning("could not keep %s on order %s", provider_payment, order.number)
        return
