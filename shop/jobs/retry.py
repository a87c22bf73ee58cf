"""A job's transaction that meets a busy database is rolled back, paused and run again.

On SQLite one connection writes at a time: a runner that waits longer than its lock wait
(``SHOP_JOBS_LOCK_WAIT``) for the write lock is told ``database is locked``. On PostgreSQL
``SKIP LOCKED`` keeps runners apart, but a deadlock or a serialization failure can still
end a transaction. Either way nothing of the transaction was kept, so the job does the
same work again (it claims its batch anew) after a pause that doubles up to a bound, with
jitter so that runners do not retry in step.

A failed try counts against the runner's patience only if the database stood still: when
another connection committed since the last failed try (SQLite's ``PRAGMA data_version``),
the runner was only queuing behind runners doing the work, and it keeps queuing. It gives
up (``StillBusy``) after ``Patience.attempts`` failed tries in a row with no commit by
anyone, e.g. behind a connection that holds the lock and does nothing.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

from sqlalchemy.engine import Engine
from sqlalchemy.exc import DBAPIError
from sqlmodel import Session

from shop.db import DatabaseBusy, session_scope

T = TypeVar("T")

# SQLSTATEs after which PostgreSQL expects the transaction to be tried again.
RETRYABLE_SQLSTATES = frozenset({"40001", "40P01", "55P03"})  # serialization, deadlock, lock


def is_busy(error: BaseException) -> bool:
    """Whether ``error`` says "the database is busy, try again" rather than "this is wrong"."""
    if isinstance(error, DatabaseBusy):  # this process's own writers held the lane too long
        return True
    original = error.orig if isinstance(error, DBAPIError) else error
    name = getattr(original, "sqlite_errorname", None)
    if isinstance(name, str):
        return name.startswith(("SQLITE_BUSY", "SQLITE_LOCKED"))
    return getattr(original, "sqlstate", None) in RETRYABLE_SQLSTATES


@dataclass(frozen=True)
class Patience:
    attempts: int = 5  # failed tries in a row, with no commit by anyone, before giving up
    first_pause: float = 0.25  # seconds
    longest_pause: float = 4.0

    def pause(self, stalled: int, jitter: float) -> float:
        """The pause after the ``stalled``-th failed try in a row; ``jitter`` in [0, 1)."""
        full = min(self.longest_pause, self.first_pause * 2.0 ** max(stalled - 1, 0))
        return full * (0.5 + jitter / 2)


@dataclass(frozen=True)
class Retrying:
    """What a runner reports before it tries a transaction again."""

    attempt: int  # failed tries so far
    stalled: int  # of which in a row with no commit by anyone
    patience: Patience
    pause: float
    reason: str

    def describe(self) -> str:
        return (
            f"database busy ({self.reason}); this batch was rolled back and runs again in "
            f"{self.pause:.1f} s (try {self.attempt + 1}; {self.stalled} of "
            f"{self.patience.attempts} without progress)"
        )


class StillBusy(RuntimeError):
    """The database stayed busy, with nobody committing, through every try."""


class BusyRetry:
    """Runs ``work(session)`` in a transaction of its own, again when the database is busy.

    ``work`` must keep its results to itself until it returns: a rolled-back try's effects
    are gone, and so must be anything it counted."""

    def __init__(
        self,
        engine: Engine,
        patience: Patience | None = None,
        *,
        on_retry: Callable[[Retrying], None] = lambda retrying: None,
        sleep: Callable[[float], None] = time.sleep,
        jitter: Callable[[], float] = random.random,
    ) -> None:
        self.engine = engine
        self.patience = patience or Patience()
        self.on_retry = on_retry
        self._sleep = sleep
        self._jitter = jitter

    def __call__(self, work: Callable[[Session], T]) -> T:
        watch = _CommitWatch(self.engine)
        try:
            return self._run(work, watch)
        finally:
            watch.close()

    def _run(self, work: Callable[[Session], T], watch: _CommitWatch) -> T:
        attempt = stalled = 0
        seen: int | None = None
        while True:
            try:
                with session_scope(self.engine) as session:
                    return work(session)
            except (DBAPIError, DatabaseBusy) as error:
                if not is_busy(error):
                    raise
                attempt += 1
                version = watch.commits()
                progressed = seen is not None and version is not None and version != seen
                stalled = 0 if progressed else stalled + 1
                seen = version
                reason = str(error.orig if isinstance(error, DBAPIError) else error)
                if stalled >= self.patience.attempts:
                    raise StillBusy(
                        f"the database stayed busy through {attempt} tries ({reason})"
                    ) from error
                pause = self.patience.pause(stalled, self._jitter())
                self.on_retry(Retrying(attempt, stalled, self.patience, pause, reason))
                self._sleep(pause)


class _CommitWatch:
    """Counts commits made by other connections: SQLite's ``PRAGMA data_version`` on a
    connection of its own (opened at the first busy try), which reads without waiting for
    the write lock. PostgreSQL has no such count: ``commits()`` is None there."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self._connection: Any = None

    def commits(self) -> int | None:
        if self.engine.dialect.name != "sqlite":
            return None
        if self._connection is None:
            self._connection = self.engine.raw_connection()
        cursor = self._connection.cursor()
        try:
            cursor.execute("PRAGMA data_version")
            return int(cursor.fetchone()[0])
        finally:
            cursor.close()

    def close(self) -> None:
        if self._connection is not None:
            self._connection.close()
