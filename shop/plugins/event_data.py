"""The ``data`` of lifecycle events: small, stable JSON built from the shop's records.

Ids, the order number, the e-mail, skus and quantities, amounts as ``{"amount",
"currency"}`` and dates; never a licence key, a token or a payment secret, since an event
leaves the shop (``webhooks_out``).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import date
from decimal import Decimal
from typing import Any

from sqlmodel import Session

from shop.licences.models import Licence
from shop.money import Money
from shop.orders.models import Order, OrderLine
from shop.plugins.events import Event, emit
from shop.subscriptions.models import Subscription


def _day(value: date | None) -> str | None:
    return value.isoformat() if value is not None else None


def money(amount: Decimal, currency: str) -> dict[str, Any]:
    return Money.of(amount, currency).to_json()


def order_data(order: Order, lines: Iterable[OrderLine]) -> dict[str, Any]:
    return {
        "number": order.number,
        "kind": str(order.kind),
        "status": str(order.status),
        "email": order.email,
        "currency": order.currency,
        "total": money(order.total, order.currency),
        "items": [{"sku": line.sku, "quantity": line.quantity} for line in lines],
        "licence_id": order.licence_id,
        "subscription_id": order.subscription_id,
    }


def licence_data(licence: Licence) -> dict[str, Any]:
    return {
        "id": licence.id,
        "email": licence.email,
        "status": str(licence.status),
        "product": licence.product,
        "quantities": {sku: int(n) for sku, n in licence.quantities.items()},
        "paid_until": _day(licence.paid_until),
    }


def subscription_data(subscription: Subscription, **changed: Any) -> dict[str, Any]:
    """``changed`` overrides what a bulk update wrote beside the loaded object."""
    data = {
        "id": subscription.id,
        "licence_id": subscription.licence_id,
        "email": subscription.email,
        "status": str(subscription.status),
        "items": [dict(item) for item in subscription.items],
        "term_start": _day(subscription.term_start),
        "term_end": _day(subscription.term_end),
        "recurring_total": money(subscription.recurring_total, subscription.currency),
    }
    data.update(changed)
    return data


def with_order(data: Mapping[str, Any], order: Order | None) -> dict[str, Any]:
    return {**data, "order": {"number": order.number}} if order is not None else dict(data)


def emit_order(
    session: Session, type: str, order: Order, lines: Iterable[OrderLine], now: Any
) -> Event:
    return emit(session, type, {"order": order_data(order, lines)}, now)


def emit_licence(
    session: Session, type: str, licence: Licence, order: Order | None, now: Any
) -> Event:
    return emit(session, type, with_order({"licence": licence_data(licence)}, order), now)


def emit_subscription(
    session: Session, type: str, subscription: Subscription, order: Order | None, now: Any
) -> Event:
    data = {"subscription": subscription_data(subscription)}
    return emit(session, type, with_order(data, order), now)
