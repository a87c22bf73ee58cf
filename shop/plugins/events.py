"""The lifecycle events plugins hear about (``shop_event``), and their names.

An event is what happened, after it committed: it has a stable id (the same on every
delivery), a type from ``EVENT_TYPES``, when it happened and a JSON-able ``data`` object.

Events are a transactional outbox. ``emit(session, type, data, now)`` stores the event as a
row of ``shop_event`` in the caller's transaction, beside the change it reports: if that
transaction rolls back (or the savepoint it was emitted in), the event is gone with it; if
it commits, the event is kept for good. Once the transaction has committed the shop calls
the enabled plugins' ``shop_event`` hook in the process that committed it
(``shop.plugins.dispatch``); a plugin that must not miss one reads the stored rows
(``stored_after``) from its ``shop_jobs``, as ``webhooks_out`` does.

What ``data`` holds, per type (``shop.plugins.event_data`` builds it; amounts are
``{"amount": "120.00", "currency": "EUR"}``, dates ISO 8601):

- ``order.placed`` (a checkout's order or quote, ``status`` says which, or a follow-up
  order: setup fee, maintenance, agreement invoice; a renewal order is told by
  ``subscription.on_hold``), ``order.paid`` (paid in full, whether or not it could still be
  applied): ``{"order": {number, kind, status, email, currency, total, items: [{sku,
  quantity}], licence_id, subscription_id}}``;
- ``licence.issued`` (a purchase's licence goes active), ``licence.renewed`` (a new key for
  a new paid period), ``licence.converted`` (a trial became the purchased licence):
  ``{"licence": {id, email, status, product, quantities, paid_until}, "order": {number}}``;
- ``subscription.created`` (its first term is paid), ``subscription.switched`` (an upgrade
  applied), ``subscription.renewed`` (a renewal paid: the next term runs),
  ``subscription.on_hold`` (a renewal order awaits payment), ``subscription.cancelled`` (the
  subscriber cancelled: ``status`` is ``pending-cancel`` while the paid term runs out, or
  ``cancelled`` once it ended, when it is told again), ``subscription.expired`` (unpaid
  after the grace period): ``{"subscription": {id, licence_id, email, status, items,
  term_start, term_end, recurring_total}, "order"?: {number}}``;
- ``maintenance.extended`` (a perpetual licence's maintenance runs longer, or a tier
  upgrade started a fresh 12 months): ``{"licence": {...}, "order": {number}}``;
- ``customer.erased`` (an operator erased a customer's personal data, GDPR Art. 17; the
  shop's record of it, without the data): ``{"customer": {pseudonym}, "by", "counts":
  {orders, licences, …}, "invoices_kept", "kept_until"}``; an integration holding copies
  of the customer's data erases them (the pseudonym replaces the address in past events).
"""

from __future__ import annotations

import logging
import secrets
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from weakref import WeakKeyDictionary

from sqlalchemy import JSON, Column, UniqueConstraint, insert
from sqlalchemy import event as sa_event
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session as ORMSession
from sqlalchemy.orm import SessionTransaction
from sqlmodel import Field, Session, SQLModel, col, select

log = logging.getLogger("shop")

EVENT_TYPES = (
    "order.placed",
    "order.paid",
    "licence.issued",
    "licence.renewed",
    "licence.converted",
    "subscription.created",
    "subscription.switched",
    "subscription.renewed",
    "subscription.on_hold",
    "subscription.cancelled",
    "subscription.expired",
    "maintenance.extended",
    "customer.erased",
)

# Where the events emitted in a session wait for its commit (``shop.plugins.dispatch``).
PENDING = "shop_events_pending"


@dataclass(frozen=True)
class Event:
    id: str  # "evt_…", stable across deliveries
    type: str
    created: datetime
    data: Mapping[str, Any]

    def as_json(self) -> dict[str, Any]:
        """The event as integrations receive it: ``{id, type, created, data}``."""
        return {
            "id": self.id,
            "type": self.type,
            "created": as_utc(self.created).isoformat(),
            "data": dict(self.data),
        }


class StoredEvent(SQLModel, table=True):
    """An event as the outbox keeps it; ``seq`` orders them as they were stored."""

    __tablename__ = "shop_event"
    __table_args__ = (UniqueConstraint("id", name="uq_shop_event_id"),)

    seq: int | None = Field(default=None, primary_key=True)
    id: str = Field(max_length=40)
    type: str = Field(max_length=50, index=True)
    created: datetime
    data: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))

    def event(self) -> Event:
        return Event(self.id, self.type, as_utc(self.created), self.data)


def as_utc(moment: datetime) -> datetime:
    """A stored time (SQLite gives it back naive, in UTC) as an aware one."""
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


class UnknownEventType(ValueError):
    pass


def new_event_id() -> str:
    return f"evt_{secrets.token_hex(12)}"


def emit(session: Session, type: str, data: Mapping[str, Any], now: datetime) -> Event:
    """Store the event in ``session``'s transaction; plugins hear it once that commits."""
    return emit_many(session, [(type, data)], now)[0]


def emit_many(
    session: Session, events: Iterable[tuple[str, Mapping[str, Any]]], now: datetime
) -> list[Event]:
    """Store several events in one insert (a renewal batch tells of hundreds)."""
    made = []
    for type, data in events:
        if type not in EVENT_TYPES:
            raise UnknownEventType(type)
        made.append(Event(new_event_id(), type, now, dict(data)))
    if not made:
        return []
    rows = [{"id": e.id, "type": e.type, "created": e.created, "data": e.data} for e in made]
    session.execute(insert(StoredEvent.__table__), rows)  # type: ignore[attr-defined]
    # The innermost transaction they belong to: a savepoint rolled back takes them along.
    transaction = session.get_nested_transaction() or session.get_transaction()
    session.info.setdefault(PENDING, []).extend((transaction, e) for e in made)
    return made


def stored_after(session: Session, seq: int, types: Sequence[str], limit: int) -> list[StoredEvent]:
    """Stored events of ``types`` beyond ``seq``, oldest first."""
    return list(
        session.exec(
            select(StoredEvent)
            .where(col(StoredEvent.seq) > seq, col(StoredEvent.type).in_(types))
            .order_by(col(StoredEvent.seq))
            .limit(limit)
        )
    )


def last_seq(session: Session) -> int:
    """The newest stored event's ``seq`` (0 without any)."""
    newest = session.exec(select(StoredEvent.seq).order_by(col(StoredEvent.seq).desc())).first()
    return newest or 0


def events_by_id(session: Session, ids: Iterable[str]) -> dict[str, Event]:
    wanted = list(set(ids))
    if not wanted:
        return {}
    rows = session.exec(select(StoredEvent).where(col(StoredEvent.id).in_(wanted)))
    return {row.id: row.event() for row in rows}


# --- after commit: hand the committed events to the process's listener ----------------------

Listener = Callable[[list[Event]], None]
_listeners: WeakKeyDictionary[Engine, Listener] = WeakKeyDictionary()


def listen(engine: Engine, listener: Listener) -> None:
    """Call ``listener`` with the events of each transaction committed through ``engine``
    (the web app and ``shop jobs run`` bind theirs to the plugins' ``shop_event`` hook)."""
    _listeners[engine] = listener


def _engine_of(session: ORMSession) -> Engine | None:
    try:
        bind = session.get_bind()
    except Exception:  # an unbound session has nobody to tell
        return None
    if not isinstance(bind, Engine):
        return None
    # A ``reader`` is the same engine with options: it has the same listener.
    proxied = getattr(bind, "_proxied", bind)
    return proxied if isinstance(proxied, Engine) else bind


def _within(transaction: SessionTransaction | None, outer: SessionTransaction) -> bool:
    while transaction is not None:
        if transaction is outer:
            return True
        transaction = transaction.parent
    return False


@sa_event.listens_for(ORMSession, "after_soft_rollback")
def _forget_rolled_back(session: ORMSession, previous_transaction: SessionTransaction) -> None:
    """A rollback (of the transaction or of a savepoint) takes its events along."""
    pending = session.info.get(PENDING)
    if pending:
        session.info[PENDING] = [(t, e) for t, e in pending if not _within(t, previous_transaction)]


@sa_event.listens_for(ORMSession, "after_transaction_end")
def _forget_unfinished(session: ORMSession, transaction: SessionTransaction) -> None:
    """A session closed without committing ends its transaction with no commit: what it
    emitted must not ride along into the session's next transaction."""
    if transaction.parent is None and transaction.nested is False:
        session.info.pop(PENDING, None)


@sa_event.listens_for(ORMSession, "after_commit")
def _tell_committed(session: ORMSession) -> None:
    pending = session.info.pop(PENDING, None)
    if not pending:
        return
    engine = _engine_of(session)
    listener = _listeners.get(engine) if engine is not None else None
    if listener is None:
        return  # stored all the same: plugins with an outbox of their own still see them
    try:
        listener([e for _, e in pending])
    except Exception:  # committed is committed: the caller must not see an error now
        log.exception("telling plugins of %d event(s) failed", len(pending))
