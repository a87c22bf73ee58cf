"""``Idempotency-Key`` on POST: the same key and body replay the first answer, another body
with the same key is refused (422 ``idempotency_key_reused``).

A client that lost the answer (a worker killed between commit and response) retries with
the same key and gets the same order, not a second one. For that the answer is stored in
the very transaction that creates the order: ``claim`` at the start of the handler's
transaction, ``remember`` before it commits. A twin sent at the same moment waits on the
unique index (scope, key) until the first transaction ends, then replays its answer; if the
first rolled back, the twin carries on as the first.

Keys live 24 hours by the shop's clock: an older one is forgotten and may be used again.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from litestar.serialization import decode_json, encode_json
from sqlalchemy import delete, update
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from shop.catalog.products import N_
from shop.errors import ShopError
from shop.orders.models import IdempotencyKey

HEADER = "Idempotency-Key"
KEPT = timedelta(hours=24)
_VALID_KEY = re.compile(r"[\x20-\x7e]{1,255}")  # printable ASCII
KEYED = "idempotency"  # where a request's key waits in its session's ``info``


@dataclass(frozen=True)
class KeyedRequest:
    """An API POST that came with an ``Idempotency-Key``."""

    key: str
    path: str
    fingerprint: str
    received_at: datetime


@dataclass(frozen=True)
class StoredAnswer:
    """The first answer to a key: its status (None: the route's default) and JSON body."""

    status: int | None
    body: Any


def check_key(raw: str) -> str:
    """The key as sent, if it is 1 to 255 printable ASCII characters; 422 otherwise."""
    if not _VALID_KEY.fullmatch(raw):
        raise ShopError(
            422,
            "validation_error",
            N_("An Idempotency-Key is 1 to 255 printable ASCII characters."),
        ).on_field(HEADER)
    return raw


def scope_of(method: str, path: str, operator: str | None = None) -> str:
    """What a key is unique within: the method and path, and the operator calling, so that
    two integrations with their own tokens never replay each other's answers."""
    scope = f"{method.upper()} {path}"
    return f"{scope} operator:{operator}" if operator else scope


def body_fingerprint(body: bytes) -> str:
    """SHA-256 of the request body as sent: a retry sends the same bytes."""
    return hashlib.sha256(body).hexdigest()


def claim(
    session: Session, key: str, scope: str, fingerprint: str, now: datetime
) -> StoredAnswer | None:
    """The stored answer when ``key`` was used before with the same body; None when this
    request is the first (the key is now taken in the session's transaction, answer it
    with ``remember``). Another body under a used key is refused.

    A concurrent twin blocks in the INSERT on PostgreSQL (READ COMMITTED: the read after
    the unique violation sees the row just committed), and at BEGIN IMMEDIATE on SQLite.
    """
    check_key(key)
    row = _find(session, key, scope)
    if row is not None and row.created_at <= now - KEPT:
        session.delete(row)  # forgotten: the key starts afresh
        session.flush()
        row = None
    if row is None:
        try:
            with session.begin_nested():  # a savepoint: a lost race keeps the transaction
                session.add(
                    IdempotencyKey(key=key, scope=scope, fingerprint=fingerprint, created_at=now)
                )
            return None
        except IntegrityError:
            row = _find(session, key, scope)
            if row is None:
                raise
    if row.fingerprint != fingerprint:
        raise ShopError(
            422,
            "idempotency_key_reused",
            N_(
                "This Idempotency-Key was already used for a different request. "
                "Send a new key with a new request."
            ),
        ).on_field(HEADER)
    return StoredAnswer(row.status, row.body)


def remember(session: Session, key: str, scope: str, status: int | None, body: Any) -> None:
    """Store the answer to a claimed key, in the caller's transaction. The body is kept as
    JSON, encoded as Litestar encodes answers (Decimal, dates, …)."""
    stored = decode_json(encode_json(body))
    result = session.execute(
        update(IdempotencyKey)
        .where(col(IdempotencyKey.scope) == scope, col(IdempotencyKey.key) == key)
        .values(status=status, body=stored)
        .execution_options(synchronize_session="fetch")
    )
    if result.rowcount != 1:  # type: ignore[attr-defined]
        raise LookupError(f"no claimed Idempotency-Key {key!r} for {scope!r}")


def purge_expired(session: Session, now: datetime) -> int:
    """Forget the keys older than 24 hours; how many were removed."""
    result = session.execute(
        delete(IdempotencyKey).where(col(IdempotencyKey.created_at) <= now - KEPT)
    )
    return int(result.rowcount)  # type: ignore[attr-defined]


def _find(session: Session, key: str, scope: str) -> IdempotencyKey | None:
    statement = select(IdempotencyKey).where(
        IdempotencyKey.scope == scope, IdempotencyKey.key == key
    )
    return session.exec(statement.execution_options(populate_existing=True)).first()
