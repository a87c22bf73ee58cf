"""An order's link in e-mails (``/{lang}/orders/{token}``) is a bearer of the order: it
works while the order is open, and for ``Settings.order_link_days`` after it was paid or
closed. Later the buyer sees it through their account (R35), not through an old mail."""

from __future__ import annotations

from datetime import datetime, timedelta

from shop.catalog.products import N_
from shop.errors import ShopError
from shop.orders.models import Order


def order_link_expired(order: Order, now: datetime, days: int) -> bool:
    ended = order.paid_at or order.closed_at
    return ended is not None and now >= ended + timedelta(days=days)


def link_expired() -> ShopError:
    return ShopError(
        410,
        "link_expired",
        N_(
            "This link has expired. Log in to your account to see this order: "
            "we send you a login link by e-mail."
        ),
    )
