"""Orders that follow another: the one place that builds them (R11, R19, R21, R24, R26, R31).

A setup fee, a renewal (a support agreement's invoice is one), a maintenance renewal and a
tier upgrade each follow an order the buyer placed before. They carry that order's billing
party, so every invoice names the same customer (name, organisation, tax and PO number,
the reseller's end customer), and they record their *basis*: what they price and the state
they were priced from (the subscription or licence, the term, the items, the maintenance
end). Fulfilment (``shop.orders.fulfilment``) applies a paid order only while its basis is
still current.

The billing party comes from the latest paid order of the subscription or licence, else
its first. Renewals are written in bulk, so ``billing_parties`` reads the parties of a
whole batch of subscriptions in three queries.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import func
from sqlmodel import Session, col, select

from shop.licences.models import Licence
from shop.orders.billing import INVOICE_PARTY
from shop.orders.models import Order, OrderLine, OrderStatus
from shop.orders.numbers import open_order
from shop.plugins.event_data import emit_order
from shop.subscriptions.models import Subscription

# The fields of the order followed that a follow-up copies: its party, and how it paid.
BILLING_PARTY = (*INVOICE_PARTY, "payment_method")
UNPAID_LIFETIME = timedelta(days=30)  # R1/R7: unpaid orders are released after 30 days


def followed_order(
    session: Session, *, subscription_id: int | None = None, licence_id: int | None = None
) -> Order | None:
    """The order a new one follows: the subscription's (or licence's) latest paid order,
    else its first."""
    column = Order.subscription_id if subscription_id is not None else Order.licence_id
    key = subscription_id if subscription_id is not None else licence_id
    mine = select(Order).where(column == key)
    paid = session.exec(
        mine.where(Order.status == OrderStatus.PAID).order_by(col(Order.id).desc())
    ).first()
    return paid or session.exec(mine.order_by(col(Order.id))).first()


def billing_party(order: Order | Mapping[str, Any]) -> dict[str, Any]:
    """The billing party of ``order`` (an order or a row of its columns), as the fields of a
    new order."""
    get = order.get if isinstance(order, Mapping) else lambda name: getattr(order, name)
    return {name: get(name) for name in BILLING_PARTY}


def subscription_party(
    subscription: Subscription, followed: Order | Mapping[str, Any] | None
) -> dict[str, Any]:
    """The billing party of a subscription's next order. The currency and the method are
    the subscription's: renewals are priced in its currency and charged by its method,
    which a kept card replaces (R21)."""
    party = (
        billing_party(followed)
        if followed is not None
        else {
            **dict.fromkeys(BILLING_PARTY),
            "name": subscription.name or subscription.email,
            "organisation": subscription.organisation,
            "country": subscription.country,
            "locale": subscription.locale,
        }
    )
    party.update(currency=subscription.currency, payment_method=subscription.payment_method)
    return party


def billing_parties(
    session: Session, subscriptions: Iterable[Subscription]
) -> dict[int, dict[str, Any]]:
    """``subscription_party`` of each subscription, read once for a batch: by subscription id."""
    batch = {s.id: s for s in subscriptions if s.id is not None}
    if not batch:
        return {}
    ids = list(batch)
    mine = col(Order.subscription_id).in_(ids)
    latest_paid = dict(
        session.execute(
            select(Order.subscription_id, func.max(Order.id))
            .where(mine, Order.status == OrderStatus.PAID)
            .group_by(col(Order.subscription_id))
        ).all()
    )
    first = dict(
        session.execute(
            select(Order.subscription_id, func.min(Order.id))
            .where(mine)
            .group_by(col(Order.subscription_id))
        ).all()
    )
    wanted = {sid: latest_paid.get(sid) or first.get(sid) for sid in ids}
    columns = [col(getattr(Order, name)) for name in BILLING_PARTY]
    rows = session.execute(
        select(col(Order.id), *columns).where(
            col(Order.id).in_([i for i in wanted.values() if i is not None])
        )
    ).all()
    parties = {row[0]: dict(zip(BILLING_PARTY, row[1:], strict=True)) for row in rows}
    return {
        sid: subscription_party(batch[sid], parties.get(order_id) if order_id else None)
        for sid, order_id in wanted.items()
    }


def _day(value: date | None) -> str | None:
    return value.isoformat() if value is not None else None


def subscription_basis(
    subscription: Subscription,
    *,
    term_start: date | None,
    term_end: date | None,
    items: list[dict[str, Any]],
) -> dict[str, Any]:
    """What an order of ``subscription`` prices: the term, and the items it was computed
    from (a switch: the items before it; a renewal: the items renewed)."""
    return {
        "subscription_id": subscription.id,
        "term_start": _day(term_start),
        "term_end": _day(term_end),
        "items": [{"sku": i["sku"], "quantity": int(i["quantity"])} for i in items],
    }


def licence_basis(licence: Licence, **priced: Any) -> dict[str, Any]:
    """What an order of a perpetual ``licence`` prices: its product and maintenance end as
    they were (R24, R26), and what was ordered (``years``, ``to``)."""
    return {
        "licence_id": licence.id,
        "product": licence.product,
        "paid_until": _day(licence.paid_until),
        **priced,
    }


def basis_day(basis: Mapping[str, Any], name: str) -> date | None:
    value = basis.get(name)
    return date.fromisoformat(value) if isinstance(value, str) else None


def term_end_expiry(term_end: date, now: datetime, timezone: str) -> datetime:
    """When an order that prices the term ending ``term_end`` stops being payable: at the
    term end (in the shop's time zone), never later than an unpaid order's 30 days."""
    end = datetime.combine(term_end, time(0), tzinfo=ZoneInfo(timezone))
    return min(end, now + UNPAID_LIFETIME)


def open_follow_up(
    session: Session,
    *,
    party: Mapping[str, Any],
    basis: dict[str, Any],
    lines: Iterable[Mapping[str, Any]],
    **fields: Any,
) -> Order:
    """A new order with the billing party ``party``, its ``basis`` and ``lines`` (the
    ``order_line`` columns but the order's and the position)."""
    order = open_order(session, **{**party, **fields}, basis=basis)
    added = [
        OrderLine(order_id=order.id, position=position, **line)  # type: ignore[arg-type]
        for position, line in enumerate(lines)
    ]
    session.add_all(added)
    session.flush()
    emit_order(session, "order.placed", order, added, order.created_at)
    return order
