"""Delivering events to the registered endpoints: a durable outbox, like the shop's e-mail.

Every run of ``shop jobs run`` (``shop_jobs``):

1. Fan out, in a short transaction: each stored event (``shop_event``) an active endpoint
   subscribed to gets one delivery row, once (a unique index on endpoint and event, so two
   runners cannot both make it). Events stored before an endpoint was registered are not
   sent to it.
2. Claim, in a short transaction: the due deliveries, leased to this runner
   (``FOR UPDATE SKIP LOCKED`` on PostgreSQL, SQLite's one writer elsewhere).
3. POST each, with no transaction and no connection held: the event JSON
   ``{id, type, created, data}``, signed (``signature``), with a timeout.
4. Record each outcome in a short transaction: a 2xx answer is delivered and never sent
   again; anything else counts an attempt and backs off (1 min, 2, 4, ... at most 6 h);
   after ``MAX_ATTEMPTS`` the delivery is failed, kept in the log for the operator, who
   can replay it. At least once: a runner that dies after the POST but before recording
   leaves the delivery leased until the lease ends, then it is sent again with the same
   ``Shop-Event-Id``.
"""

from __future__ import annotations

import json
import secrets
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import partial
from typing import Any

from sqlalchemy import exists, or_, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from shop.plugins.events import EVENT_TYPES, StoredEvent, events_by_id
from shop.plugins.webhooks_out.models import DeliveryStatus, WebhookDelivery, WebhookEndpoint
from shop.plugins.webhooks_out.signature import EVENT_ID_HEADER, HEADER, header

TIMEOUT = 10.0  # seconds for the whole exchange with one receiver
LEASE = timedelta(minutes=5)  # longer than BATCH x TIMEOUT
BATCH = 25  # deliveries per claim
FAN_OUT_BATCH = 500
MAX_ATTEMPTS = 10
FIRST_DELAY = timedelta(minutes=1)
LONGEST_DELAY = timedelta(hours=6)
MAX_ERROR_LENGTH = 500

Transaction = Callable[[Callable[[Session], Any]], Any]
Post = Callable[[str, bytes, dict[str, str], float], int]


def retry_delay(attempts: int) -> timedelta:
    """How long a delivery waits after its ``attempts``-th failed attempt: 1 min, 2, 4, ..."""
    delay: timedelta = FIRST_DELAY * 2 ** max(attempts - 1, 0)
    return min(delay, LONGEST_DELAY)


@dataclass
class Report:
    queued: int = 0  # deliveries made by the fan-out
    delivered: int = 0
    retrying: int = 0
    failed: int = 0  # given up

    def line(self) -> str:
        return (
            f"Webhooks: {self.delivered} delivered, {self.retrying} to be retried, "
            f"{self.failed} given up ({self.queued} new)."
        )


def new_endpoint_id() -> str:
    return f"we_{secrets.token_hex(10)}"


def new_secret() -> str:
    return f"whsec_{secrets.token_hex(24)}"


def fan_out(session: Session, now: datetime, limit: int = FAN_OUT_BATCH) -> int:
    """Make the deliveries still missing, up to ``limit`` per endpoint; how many were made."""
    made = 0
    for endpoint in session.exec(select(WebhookEndpoint).where(col(WebhookEndpoint.active))):
        types = [t for t in endpoint.events if t in EVENT_TYPES]
        if not types:
            continue
        has_delivery = exists().where(
            col(WebhookDelivery.endpoint_id) == endpoint.id,
            col(WebhookDelivery.event_id) == col(StoredEvent.id),
        )
        missing = session.exec(
            select(StoredEvent.id, StoredEvent.type)
            .where(
                col(StoredEvent.seq) > endpoint.after_seq,
                col(StoredEvent.type).in_(types),
                ~has_delivery,
            )
            .order_by(col(StoredEvent.seq))
            .limit(limit)
        ).all()
        if not missing:
            continue
        rows = [
            {
                "endpoint_id": endpoint.id,
                "event_id": event_id,
                "event_type": event_type,
                "status": DeliveryStatus.PENDING,
                "attempts": 0,
                "next_attempt_at": now,
                "created_at": now,
            }
            for event_id, event_type in missing
        ]
        dialect = postgresql if session.get_bind().dialect.name == "postgresql" else sqlite
        table = WebhookDelivery.__table__  # type: ignore[attr-defined]
        # A parallel runner may have made some meanwhile: theirs stand.
        statement = dialect.insert(table).on_conflict_do_nothing(
            index_elements=["endpoint_id", "event_id"]
        )
        session.execute(statement, rows)
        made += len(rows)
    return made


@dataclass(frozen=True)
class Attempt:
    """A claimed delivery with what it takes to send it, read in the claim's transaction."""

    delivery_id: int
    attempts: int
    event_id: str
    url: str
    secret: str
    body: bytes


def body_of(event_json: dict[str, Any]) -> bytes:
    return json.dumps(event_json, separators=(",", ":"), sort_keys=True).encode()


def claim_due(
    session: Session, runner: str, now: datetime, *, lease: timedelta = LEASE, limit: int = BATCH
) -> list[Attempt]:
    """Lease up to ``limit`` due deliveries to ``runner`` until ``now + lease``."""
    deliveries = list(
        session.exec(
            select(WebhookDelivery)
            .where(
                WebhookDelivery.status == DeliveryStatus.PENDING,
                col(WebhookDelivery.next_attempt_at) <= now,
                or_(
                    col(WebhookDelivery.claimed_until).is_(None),
                    col(WebhookDelivery.claimed_until) <= now,
                ),
            )
            .order_by(col(WebhookDelivery.next_attempt_at), col(WebhookDelivery.id))
            .limit(limit)
            .with_for_update(skip_locked=True)
        )
    )
    if not deliveries:
        return []
    endpoints = {
        e.id: e
        for e in session.exec(
            select(WebhookEndpoint).where(
                col(WebhookEndpoint.id).in_({d.endpoint_id for d in deliveries})
            )
        )
    }
    events = events_by_id(session, (d.event_id for d in deliveries))
    attempts = []
    for delivery in deliveries:
        delivery.claimed_until, delivery.claimed_by = now + lease, runner
        session.add(delivery)
        endpoint, event = endpoints.get(delivery.endpoint_id), events.get(delivery.event_id)
        if endpoint is None or event is None:
            continue  # its event was purged: it stays leased and falls due again, harmless
        assert delivery.id is not None
        attempts.append(
            Attempt(
                delivery.id,
                delivery.attempts,
                event.id,
                endpoint.url,
                endpoint.secret,
                body_of(event.as_json()),
            )
        )
    return attempts


def http_post(url: str, body: bytes, headers: dict[str, str], timeout: float) -> int:
    """POST and return the status; redirects are not followed (the endpoint is the URL)."""
    import httpx  # here: every `shop` command imports the plugins, few of them send

    response = httpx.post(url, content=body, headers=headers, timeout=timeout)
    return response.status_code


def send(attempt: Attempt, unix_now: int, post: Post = http_post) -> tuple[int | None, str | None]:
    """POST one event; (status, None) for an answer, (None, error) for none."""
    headers = {
        "Content-Type": "application/json",
        "User-Agent": "licence-shop-webhooks/1",
        HEADER: header(attempt.secret, unix_now, attempt.body),
        EVENT_ID_HEADER: attempt.event_id,
    }
    import httpx

    try:
        return post(attempt.url, attempt.body, headers, TIMEOUT), None
    except (httpx.HTTPError, OSError, ValueError) as error:
        return None, f"{type(error).__name__}: {error}"[:MAX_ERROR_LENGTH]


def record(
    session: Session,
    attempt: Attempt,
    runner: str,
    status: int | None,
    error: str | None,
    now: datetime,
) -> str:
    """Keep the outcome: delivered on 2xx, else back off, failed after MAX_ATTEMPTS; which
    of those it was."""
    attempts = attempt.attempts + 1
    ours = (
        col(WebhookDelivery.id) == attempt.delivery_id,
        col(WebhookDelivery.status) == DeliveryStatus.PENDING,
    )
    if status is not None and 200 <= status < 300:
        # Recorded even if the lease ran out meanwhile: the receiver has it.
        values: dict[str, Any] = {
            "status": DeliveryStatus.DELIVERED,
            "delivered_at": now,
            "next_attempt_at": None,
            "last_error": None,
        }
        outcome = "delivered"
        where: Sequence[Any] = ours
    else:
        gave_up = attempts >= MAX_ATTEMPTS
        values = {
            "status": DeliveryStatus.FAILED if gave_up else DeliveryStatus.PENDING,
            "next_attempt_at": None if gave_up else now + retry_delay(attempts),
            "last_error": error or f"HTTP {status}",
        }
        outcome = "failed" if gave_up else "retrying"
        where = (*ours, col(WebhookDelivery.claimed_by) == runner)  # not another's claim
    session.execute(
        update(WebhookDelivery)
        .where(*where)
        .values(
            attempts=attempts,
            last_attempt_at=now,
            last_status=status,
            claimed_until=None,
            **values,
        )
    )
    return outcome


def deliver_due(
    transaction: Transaction,
    clock_now: Callable[[], datetime],
    *,
    post: Post = http_post,
    batches: int | None = None,
) -> Report:
    """Fan out, then send what is due until nothing is (or after ``batches`` claims).
    ``transaction(work)`` runs ``work(session)`` in a short transaction of its own."""
    report = Report()
    report.queued = transaction(lambda session: _fan_out_all(session, clock_now()))
    runner = uuid.uuid4().hex
    claims = 0
    while batches is None or claims < batches:
        claimed: list[Attempt] = transaction(partial(claim_due, runner=runner, now=clock_now()))
        claims += 1
        for attempt in claimed:
            status, error = send(attempt, int(clock_now().timestamp()), post)
            outcome: str = transaction(
                partial(
                    record,
                    attempt=attempt,
                    runner=runner,
                    status=status,
                    error=error,
                    now=clock_now(),
                )
            )
            setattr(report, outcome, getattr(report, outcome) + 1)
        if len(claimed) < BATCH:
            break
    return report


def _fan_out_all(session: Session, now: datetime) -> int:
    total = 0
    while (made := fan_out(session, now)) > 0:
        total += made
        if made < FAN_OUT_BATCH:
            break
    return total


def replay(session: Session, delivery: WebhookDelivery, now: datetime) -> WebhookDelivery:
    """Send a delivery again at the next run, whatever its state (the operator asked)."""
    delivery.status = DeliveryStatus.PENDING
    delivery.attempts = 0
    delivery.next_attempt_at = now
    delivery.claimed_until = None
    delivery.claimed_by = None
    delivery.delivered_at = None
    session.add(delivery)
    session.flush()
    return delivery


def replay_event(session: Session, event_id: str, now: datetime) -> int:
    """Replay every delivery of ``event_id``; how many there were."""
    deliveries = session.exec(
        select(WebhookDelivery).where(WebhookDelivery.event_id == event_id)
    ).all()
    for delivery in deliveries:
        replay(session, delivery, now)
    return len(deliveries)


def engine_transaction(engine: Engine) -> Transaction:
    from shop.db import session_scope

    def run(work: Callable[[Session], Any]) -> Any:
        with session_scope(engine) as session:
            return work(session)

    return run
