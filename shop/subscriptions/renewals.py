"""Renewals at term end (R20, R21): scheduled downgrades applied, a renewal order at current
prices, on-hold until paid, expired after the grace period; pending cancellations end.

The work goes in batches, each one transaction. A batch of due subscriptions is claimed
with ``FOR UPDATE SKIP LOCKED`` (PostgreSQL; SQLite has a single writer), priced once per
distinct items, currency and country, and written in bulk: the subscriptions' new state,
then the orders with numbers from one increment of the gapless counter (R8), their lines
and the subscription events. A unique index allows one renewal order per term, whatever
the number of workers. A worker killed mid-batch loses only its open transaction; the next
run redoes it. The invoice mails are written afterwards by ``invoice_renewals``, so the
claim path renders nothing.

Each claim walks a partial index in its own order from where the runner's last claim
ended (keyset), so a batch costs the same whether it is the first or the last of 100,000:
a row behind the cursor is never read again. A row skipped as locked belongs to another
runner, which handles it, or to a request changing it right then; the next run has it.
"""

from __future__ import annotations

import json
import secrets
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal
from functools import partial
from typing import Any

from sqlalchemy import ColumnElement, func, insert, literal, text, tuple_, update
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from shop.catalog.adjustments import PurchaseKind
from shop.catalog.pricing import ExchangeRate
from shop.catalog.rates import current_rates
from shop.jobs.retry import BusyRetry
from shop.licences.models import Licence, LicenceStatus
from shop.mail.outbox import OutboxMessage
from shop.orders.credit_notes import EXPIRED, credit_in_full
from shop.orders.follow_up import billing_parties, subscription_basis
from shop.orders.models import (
    AWAITS_NO_CHARGE,
    TO_INVOICE,
    Order,
    OrderKind,
    OrderLine,
    OrderStatus,
)
from shop.orders.notifications import RENEWAL_INVOICE
from shop.orders.numbers import INVOICE_NUMBERS, next_numbers
from shop.orders.pipeline import adjust_rows, context_for
from shop.plugins.context import Customer
from shop.plugins.event_data import money, subscription_data
from shop.plugins.events import emit_many
from shop.plugins.manager import EnabledPlugins
from shop.subscriptions.models import (
    ON_HOLD,
    RENEWING,
    Subscription,
    SubscriptionEvent,
    SubscriptionStatus,
)
from shop.subscriptions.service import items_dict, items_list, price_of
from shop.subscriptions.terms import term_after

# Subscriptions per renewal batch. Measured, 10,000 renewals, one runner: batches of 50
# renew 5,400/s on SQLite and 1,800/s on PostgreSQL, 250-500 about 7,600/s and 2,300-2,600/s,
# 2,000 7,900/s and 3,400/s. At 500 a batch holds the order counter (which a checkout waits
# for) about 0.1 s, while it writes its orders, lines and events.
BATCH = 500
# Renewal orders per invoice batch: each mail is rendered inside the batch's transaction,
# which on SQLite holds the write lock.
INVOICE_BATCH = 100

ORDERS = Order.__table__  # type: ignore[attr-defined]
LINES = OrderLine.__table__  # type: ignore[attr-defined]
EVENTS = SubscriptionEvent.__table__  # type: ignore[attr-defined]
SUBSCRIPTIONS = Subscription.__table__  # type: ignore[attr-defined]
LICENCES = Licence.__table__  # type: ignore[attr-defined]


@dataclass
class RenewalReport:
    renewed: int = 0
    cancelled: int = 0
    expired: int = 0
    orders: list[int] = field(default_factory=list)  # numbers of the renewal orders created


Cursor = tuple[Any, ...] | None  # the sort key of the last row claimed; None: the start


@dataclass(frozen=True)
class Batch:
    """What one committed batch did; kept out of the report until it commits."""

    claimed: int
    after: Cursor  # where this runner's next claim starts
    renewed: int = 0
    cancelled: int = 0
    orders: Sequence[int] = ()


def _after(cursor: Cursor, *columns: Any) -> list[ColumnElement[bool]]:
    """Rows beyond ``cursor`` in the order of ``columns`` (a row-value comparison, which
    both databases answer from an index on those columns)."""
    if cursor is None:
        return []
    values = (literal(value, column.type) for column, value in zip(columns, cursor, strict=True))
    return [tuple_(*columns) > tuple_(*values)]


def _is_due(today: date) -> tuple[Any, ...]:
    return (text(RENEWING), col(Subscription.term_end) <= today)


def due(session: Session, today: date, limit: int, after: Cursor = None) -> list[Subscription]:
    """Claim up to ``limit`` subscriptions whose term has ended, oldest term end first, from
    the cursor ``after`` on, skipping ones another worker holds."""
    order = (col(Subscription.term_end), col(Subscription.id))
    statement = (
        select(Subscription)
        .where(*_is_due(today), *_after(after, *order))
        .order_by(*order)
        .limit(limit)
        .with_for_update(skip_locked=True)
    )
    return list(session.exec(statement))


def count_due(session: Session, today: date) -> int:
    statement = select(func.count()).select_from(Subscription).where(*_is_due(today))
    return int(session.exec(statement).one())


@dataclass(frozen=True)
class Priced:
    """A renewal's total and its order lines (the ``order_line`` columns but the order's);
    ``recurring``: the total without adjustments for this renewal only."""

    total: Decimal
    lines: tuple[dict[str, Any], ...]
    recurring: Decimal | None = None


class PriceList:
    """Current prices (R21) for one batch: each distinct set of items is priced once per
    currency and country, through the enabled plugins and today's exchange rates; then
    each subscriber's adjustments (the pricing pipeline: an academic discount, R29)."""

    def __init__(
        self,
        enabled: EnabledPlugins,
        rates: dict[str, ExchangeRate],
        session: Session | None = None,
        now: datetime | None = None,
    ) -> None:
        self.enabled, self.rates = enabled, rates
        self.context = context_for(enabled, session, now, None) if session and now else None
        self._known: dict[tuple[Any, ...], Priced] = {}

    def of(self, subscription: Subscription, quantities: dict[str, int]) -> Priced:
        key = (tuple(quantities.items()), subscription.currency, subscription.country)
        if (known := self._known.get(key)) is None:
            known = self._known[key] = self._price(subscription, quantities)
        if self.context is None or not self.enabled.adjusts_prices:
            return known
        adjusted = adjust_rows(
            self.context,
            self.enabled,
            PurchaseKind.RENEWAL,
            Customer(subscription.email, subscription.country),
            subscription.currency,
            known.lines,
        )
        if not adjusted.lines:
            return known
        extra = tuple(
            {**line, "position": len(known.lines) + i} for i, line in enumerate(adjusted.lines)
        )
        return Priced(adjusted.total.amount, known.lines + extra, adjusted.recurring.amount)

    def _price(self, subscription: Subscription, quantities: dict[str, int]) -> Priced:
        lines = []
        for position, (sku, quantity) in enumerate(quantities.items()):
            product = self.enabled.products[sku]
            unit = price_of(self.enabled, subscription, {sku: 1}, self.rates)
            line = price_of(self.enabled, subscription, {sku: quantity}, self.rates)
            lines.append(
                {
                    "position": position,
                    "sku": sku,
                    "name": product.name,
                    "kind": product.kind.value,
                    "quantity": quantity,
                    "unit_price": unit.amount,
                    "total": line.amount,
                    "billing_period_months": product.months_per_charge,
                }
            )
        total = price_of(self.enabled, subscription, quantities, self.rates).amount
        return Priced(total, tuple(lines))


def renew_batch(
    session: Session,
    enabled_for: Callable[[Session], EnabledPlugins],
    today: date,
    now: datetime,
    limit: int,
    after: Cursor,
) -> Batch:
    """Claim a batch of due subscriptions beyond ``after`` and end or renew each."""
    claimed = due(session, today, limit, after)
    if not claimed:
        return Batch(0, after)
    enabled = enabled_for(session)
    ending = [s for s in claimed if s.status == SubscriptionStatus.PENDING_CANCEL]
    renewing = [s for s in claimed if s.status != SubscriptionStatus.PENDING_CANCEL]
    _end_cancelled(session, ending, now)
    prices = PriceList(enabled, current_rates(session), session, now)
    numbers = _renew(session, prices, renewing, now)
    last = claimed[-1]
    return Batch(len(claimed), (last.term_end, last.id), len(renewing), len(ending), numbers)


def _end_cancelled(session: Session, ending: list[Subscription], now: datetime) -> None:
    """Pending cancellations whose paid term is over end now (R10)."""
    if not ending:
        return
    _update(
        session,
        SUBSCRIPTIONS,
        [(s.id, {"status": SubscriptionStatus.CANCELLED, "updated_at": now}) for s in ending],
    )
    _insert(
        session,
        EVENTS,
        [
            _event(
                s,
                "job",
                SubscriptionStatus.CANCELLED,
                "cancelled by the customer; the paid term has ended",
                now,
                from_status=s.status,
            )
            for s in ending
        ],
    )
    told = [subscription_data(s, status=SubscriptionStatus.CANCELLED) for s in ending]
    emit_many(session, (("subscription.cancelled", {"subscription": d}) for d in told), now)


@dataclass(frozen=True)
class Renewal:
    """One subscription's renewal as planned: the items then in force and their price."""

    subscription: Subscription
    downgrade: list[dict[str, Any]] | None  # the scheduled items that apply now (R20)
    quantities: dict[str, int]
    priced: Priced

    @classmethod
    def plan(cls, subscription: Subscription, prices: PriceList) -> Renewal:
        downgrade = subscription.scheduled_items
        quantities = items_dict(downgrade if downgrade is not None else subscription.items)
        return cls(subscription, downgrade, quantities, prices.of(subscription, quantities))

    def change(self, now: datetime) -> dict[str, Any]:
        """The subscription's new state: on hold until the renewal is paid."""
        change: dict[str, Any] = {
            "status": SubscriptionStatus.ON_HOLD,
            "recurring_total": self.priced.recurring
            if self.priced.recurring is not None
            else self.priced.total,
            "on_hold_since": now,
            "updated_at": now,
        }
        if self.downgrade is not None:
            change.update(items=self.downgrade, scheduled_items=None)
        return change

    def told(self, number: int) -> tuple[str, dict[str, Any]]:
        """The lifecycle event: on hold, its renewal order awaiting payment."""
        subscription = self.subscription
        data = subscription_data(
            subscription,
            status=SubscriptionStatus.ON_HOLD,
            items=items_list(self.quantities),
            recurring_total=money(self.priced.total, subscription.currency),
        )
        return "subscription.on_hold", {"subscription": data, "order": {"number": number}}

    def events(self, number: int, now: datetime) -> list[dict[str, Any]]:
        subscription, events = self.subscription, []
        if self.downgrade is not None:
            applied = f"scheduled downgrade applied: {self.quantities}"
            events.append(_event(subscription, "renewal", subscription.status, applied, now))
        events.append(
            _event(
                subscription,
                "renewal",
                SubscriptionStatus.ON_HOLD,
                f"renewal order {number} awaiting payment",
                now,
                from_status=subscription.status,
            )
        )
        return events


def _renew(
    session: Session, prices: PriceList, renewing: list[Subscription], now: datetime
) -> list[int]:
    """A renewal order per subscription at the quantities then in force (R20: a scheduled
    downgrade applies now) and current prices; the subscriptions go on hold until paid."""
    if not renewing:
        return []
    parties = billing_parties(session, renewing)  # R11: each invoice names its customer
    renewals = [Renewal.plan(subscription, prices) for subscription in renewing]
    _update(session, SUBSCRIPTIONS, [(r.subscription.id, r.change(now)) for r in renewals])
    # The counter row queues every writer of an order, so it is taken last and held only
    # while this batch writes its orders, lines and events.
    numbers = list(next_numbers(session, len(renewals)))
    numbered = list(zip(renewals, numbers, strict=True))
    # Renewal orders are invoices at once (R8), their numbers from one increment as well.
    invoices = next_numbers(session, len(renewals), INVOICE_NUMBERS)
    order_ids = _insert(
        session,
        ORDERS,
        [
            {
                **_renewal_order(renewal, parties[renewal.subscription.id or 0], number, now),
                "invoice_number": invoice,
                "invoice_issued_at": now,
            }
            for (renewal, number), invoice in zip(numbered, invoices, strict=True)
        ],
        returning=ORDERS.c.id,
    )
    lines = [
        {**line, "order_id": order_id}
        for renewal, order_id in zip(renewals, order_ids, strict=True)
        for line in renewal.priced.lines
    ]
    # Discount lines carry a ``detail``, product lines none: one executemany per shape.
    _insert(session, LINES, [line for line in lines if "detail" not in line])
    _insert(session, LINES, [line for line in lines if "detail" in line])
    events = [event for renewal, number in numbered for event in renewal.events(number, now)]
    _insert(session, EVENTS, events)
    emit_many(session, (renewal.told(number) for renewal, number in numbered), now)
    return numbers


def _renewal_order(
    renewal: Renewal, party: dict[str, Any], number: int, now: datetime
) -> dict[str, Any]:
    """The row of a renewal order, as ``follow_up.open_follow_up`` would build it: the billing
    party of the order it follows, and its basis (the term it pays for, the items renewed)."""
    subscription, priced = renewal.subscription, renewal.priced
    assert subscription.term_end is not None  # claimed by its term end: never None here
    next_start, next_end = term_after(
        subscription.anchor or subscription.term_end,
        subscription.billing_period_months,
        subscription.term_end,
    )
    return {
        **party,
        "number": number,
        "token": secrets.token_urlsafe(24),
        "status": OrderStatus.PENDING,
        "kind": OrderKind.RENEWAL,
        "email": subscription.email,
        "total": priced.total,
        "paid_amount": Decimal(0),
        "licence_id": subscription.licence_id,
        "subscription_id": subscription.id,
        "renewal_term_start": subscription.term_end,
        "basis": subscription_basis(
            subscription,
            term_start=next_start,
            term_end=next_end,
            items=items_list(renewal.quantities),
        ),
        "created_at": now,
    }


def _event(
    subscription: Subscription,
    actor: str,
    to_status: str,
    reason: str,
    now: datetime,
    from_status: str | None = None,
) -> dict[str, Any]:
    """A row of the subscription's history (R16), as ``service.record_event`` writes it."""
    return {
        "subscription_id": subscription.id,
        "at": now,
        "actor": actor,
        "from_status": from_status,
        "to_status": to_status,
        "reason": reason[:500],
    }


def _insert(
    session: Session, table: Any, rows: list[dict[str, Any]], returning: Any = None
) -> list[Any]:
    """Insert ``rows`` in one executemany; with ``returning``, that column of each row in
    the order of ``rows``."""
    if not rows:
        return []
    if returning is None:
        session.execute(insert(table), rows)
        return []
    statement = insert(table).returning(returning, sort_by_parameter_order=True)
    return list(session.execute(statement, rows).scalars())


def _update(session: Session, table: Any, changes: Iterable[tuple[Any, dict[str, Any]]]) -> None:
    """Set each row's (by id) values: one UPDATE … WHERE id IN (…) per distinct values."""
    groups: dict[str, tuple[dict[str, Any], list[Any]]] = {}
    for row_id, values in changes:
        key = json.dumps(values, default=str, sort_keys=True)
        groups.setdefault(key, (values, []))[1].append(row_id)
    for values, ids in groups.values():
        session.execute(update(table).where(table.c.id.in_(ids)).values(**values))


def expire_unpaid(
    session: Session, now: datetime, grace: timedelta, limit: int, after: Cursor = None
) -> Batch:
    """On hold for longer than the grace period: the subscription, its licence and its
    unpaid renewal order expire (R21); a batch of up to ``limit`` beyond ``after``."""
    order = (col(Subscription.on_hold_since), col(Subscription.id))
    late = session.exec(
        select(Subscription)
        .where(text(ON_HOLD), order[0] < now - grace, *_after(after, *order))
        .order_by(*order)
        .limit(limit)
        .with_for_update(skip_locked=True)
    ).all()
    if not late:
        return Batch(0, after)
    ids = [s.id for s in late]
    expired = {"status": SubscriptionStatus.EXPIRED, "updated_at": now}
    _update(session, SUBSCRIPTIONS, [(i, expired) for i in ids])
    reason = f"renewal unpaid after {grace.days} days"
    _insert(
        session,
        EVENTS,
        [
            _event(s, "job", SubscriptionStatus.EXPIRED, reason, now, from_status=s.status)
            for s in late
        ],
    )
    told = [subscription_data(s, status=SubscriptionStatus.EXPIRED) for s in late]
    emit_many(session, (("subscription.expired", {"subscription": d}) for d in told), now)
    session.execute(
        update(LICENCES)
        .where(LICENCES.c.id.in_([s.licence_id for s in late]))
        .values(status=LicenceStatus.EXPIRED, updated_at=now)
    )
    closed = session.execute(
        update(ORDERS)
        .where(
            ORDERS.c.subscription_id.in_(ids),
            ORDERS.c.kind == OrderKind.RENEWAL,
            ORDERS.c.status == OrderStatus.PENDING,
        )
        .values(status=OrderStatus.EXPIRED, closed_at=now)
        .returning(ORDERS.c.id)
    ).scalars()
    # Their invoices are cancelled by credit notes, in this transaction (GoBD).
    ids_closed = list(closed)
    if ids_closed:
        invoiced = session.exec(select(Order).where(col(Order.id).in_(ids_closed))).all()
        credit_in_full(session, invoiced, EXPIRED, now, "DE")
    return Batch(len(late), (late[-1].on_hold_since, late[-1].id))


def run_renewals(
    engine: Engine,
    enabled_for: Callable[[Session], EnabledPlugins],
    today: date,
    now: datetime,
    grace: timedelta,
    on_batch: Callable[[int], None] = lambda done: None,
    *,
    batch: int = BATCH,
    retry: BusyRetry | None = None,
) -> RenewalReport:
    """Renew everything due, one committed batch at a time, then expire the unpaid.

    ``on_batch`` hears how many subscriptions each committed batch handled. A batch that
    meets a busy database is rolled back and done again (``retry``)."""
    transaction = retry or BusyRetry(engine)
    report = RenewalReport()
    after: Cursor = None
    while True:
        done = transaction(
            partial(
                renew_batch, enabled_for=enabled_for, today=today, now=now, limit=batch, after=after
            )
        )
        if not done.claimed:
            break
        after = done.after
        report.renewed += done.renewed
        report.cancelled += done.cancelled
        report.orders.extend(done.orders)
        on_batch(done.claimed)
    after = None
    while True:
        expired = transaction(
            partial(expire_unpaid, now=now, grace=grace, limit=batch, after=after)
        )
        if not expired.claimed:
            break
        after = expired.after
        report.expired += expired.claimed
    return report


def count_uninvoiced(session: Session) -> int:
    statement = select(func.count()).select_from(Order).where(text(TO_INVOICE))
    return int(session.exec(statement).one())


def invoice_batch(
    session: Session,
    enabled_for: Callable[[Session], EnabledPlugins],
    send: Callable[[Session, EnabledPlugins, Order], None],
    now: datetime,
    limit: int,
    after: Cursor,
) -> tuple[Batch, int]:
    """Claim up to ``limit`` unpaid renewal orders not invoiced yet, beyond ``after``, and
    ``send`` each its invoice mail; returns the batch and how many mails were written.

    On PostgreSQL the claim sees an order invoiced by another runner meanwhile as it locks
    it: ``FOR UPDATE`` checks ``invoiced_at`` again on the row's newest version. The outbox
    is checked too, once the orders are locked, for an invoice mail queued by a path that
    does not mark the order (a declined card charge mails the invoice itself). A renewal
    whose card charge is to come, in flight or not reconciled yet is left for a later run
    (``AWAITS_NO_CHARGE``): it may be paid."""
    statement = (
        select(Order)
        .where(text(TO_INVOICE), text(AWAITS_NO_CHARGE), *_after(after, col(Order.id)))
        .order_by(col(Order.id))
        .limit(limit)
        .with_for_update(skip_locked=True)
    )
    orders = session.exec(statement).all()
    if not orders:
        return Batch(0, after), 0
    invoiced = set(
        session.exec(
            select(OutboxMessage.order_number).where(
                OutboxMessage.kind == RENEWAL_INVOICE,
                col(OutboxMessage.order_number).in_([str(o.number) for o in orders]),
            )
        )
    )
    todo = [order for order in orders if str(order.number) not in invoiced]
    # The mails name the licence: one query puts the batch's licences in the session,
    # where each mail's lookup by id finds them. The session holds them only weakly, so
    # they are kept here until the mails are written.
    licence_ids = sorted({order.licence_id for order in todo if order.licence_id is not None})
    licences = session.exec(select(Licence).where(col(Licence.id).in_(licence_ids))).all()
    enabled = enabled_for(session)
    for order in todo:
        send(session, enabled, order)
    del licences
    ids = [order.id for order in orders]
    session.execute(update(ORDERS).where(ORDERS.c.id.in_(ids)).values(invoiced_at=now))
    return Batch(len(orders), (orders[-1].id,)), len(todo)


def invoice_renewals(
    engine: Engine,
    enabled_for: Callable[[Session], EnabledPlugins],
    send: Callable[[Session, EnabledPlugins, Order], None],
    now: datetime,
    on_batch: Callable[[int], None] = lambda done: None,
    *,
    batch: int = INVOICE_BATCH,
    retry: BusyRetry | None = None,
) -> int:
    """Queue the invoice mail of every unpaid renewal order that has none yet, a batch per
    transaction, with one view of the enabled plugins per batch; each order records when
    (``invoiced_at``).

    Safe to rerun and to run in parallel: orders are claimed with SKIP LOCKED and checked
    once locked (see ``invoice_batch``). A runner killed between renewing and invoicing
    leaves work that the next run finishes."""
    transaction = retry or BusyRetry(engine)
    sent, after = 0, None
    while True:
        done, written = transaction(
            partial(
                invoice_batch,
                enabled_for=enabled_for,
                send=send,
                now=now,
                limit=batch,
                after=after,
            )
        )
        if not done.claimed:
            return sent
        after = done.after
        sent += written
        on_batch(written)
