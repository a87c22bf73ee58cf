"""What the back office's dashboard counts: revenue and orders per month and currency,
open quotes, subscriptions by status, renewals due this month. Queries return plain
values; ``bars`` lays the chart out (the template only draws it)."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

from sqlalchemy import func
from sqlmodel import Session, col, select

from shop.orders.models import Order, OrderStatus
from shop.subscriptions.models import Subscription, SubscriptionStatus
from shop.subscriptions.terms import add_months


@dataclass(frozen=True)
class Month:
    """One month's paid orders in one currency."""

    month: date  # its first day
    currency: str
    revenue: Decimal
    orders: int


@dataclass(frozen=True)
class Bar:
    month: date
    currency: str
    revenue: Decimal
    orders: int
    x: int
    y: int
    width: int
    height: int


def months_back(today: date, count: int) -> list[date]:
    """The first days of the ``count`` months up to and including today's."""
    first = today.replace(day=1)
    return [add_months(first, -n) for n in reversed(range(count))]


def monthly_revenue(session: Session, months: list[date], tz: ZoneInfo) -> list[Month]:
    """Paid orders per month (of ``paid_at``, in the shop's time zone) and currency."""
    start = datetime.combine(months[0], datetime.min.time(), tzinfo=tz)
    rows = session.exec(
        select(col(Order.paid_at), col(Order.currency), col(Order.total)).where(
            col(Order.paid_at).is_not(None), col(Order.paid_at) >= start
        )
    )
    sums: dict[tuple[date, str], list[Decimal]] = defaultdict(list)
    for paid_at, currency, total in rows:
        if paid_at is not None:
            sums[(paid_at.astimezone(tz).date().replace(day=1), currency)].append(total)
    return [
        Month(month, currency, sum(totals, Decimal(0)), len(totals))
        for (month, currency), totals in sorted(sums.items())
        if month in months
    ]


def bars(rows: list[Month], months: list[date], *, width: int, height: int) -> list[Bar]:
    """Bars per month, side by side per currency; each currency scaled to its own largest
    month (amounts in EUR and DZD share no scale)."""
    currencies = sorted({row.currency for row in rows})
    if not currencies:
        return []
    slot = width // len(months)
    bar_width = max(1, (slot - 8) // len(currencies))
    top = {c: max(r.revenue for r in rows if r.currency == c) for c in currencies}
    laid = []
    for row in rows:
        scale = row.revenue / top[row.currency] if top[row.currency] else Decimal(0)
        bar_height = int(scale * height)
        x = months.index(row.month) * slot + 4 + currencies.index(row.currency) * bar_width
        laid.append(
            Bar(
                row.month,
                row.currency,
                row.revenue,
                row.orders,
                x,
                height - bar_height,
                bar_width,
                bar_height,
            )
        )
    return laid


def open_quotes(session: Session) -> int:
    statement = select(func.count()).select_from(Order).where(Order.status == OrderStatus.QUOTE)
    return int(session.exec(statement).one())


def subscriptions_by_status(session: Session) -> dict[str, int]:
    statement = select(Subscription.status, func.count()).group_by(col(Subscription.status))
    return {status: int(count) for status, count in session.exec(statement)}


def renewals_due(session: Session, today: date) -> int:
    """Subscriptions that renew this month (the shop's clock)."""
    first = today.replace(day=1)
    statement = (
        select(func.count())
        .select_from(Subscription)
        .where(
            col(Subscription.status).in_([SubscriptionStatus.ACTIVE, SubscriptionStatus.ON_HOLD]),
            col(Subscription.term_end) >= first,
            col(Subscription.term_end) < add_months(first, 1),
        )
    )
    return int(session.exec(statement).one())
