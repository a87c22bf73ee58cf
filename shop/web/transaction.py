"""One database session per request, used on the one thread that runs the handler.

Litestar resolves dependencies on the event loop (or on threads of their own) and cleans
them up there after the response is rendered. A session used that way would hold its
connection, and on SQLite the write lock, across thread hops and template rendering. So the
providers in ``shop.web.deps`` do no I/O: ``db`` is a session not yet connected, and what is
read through it (``enabled``, ``operator``) arrives as a ``Deferred``. ``@transaction``
runs on the handler's thread: it resolves those, calls the handler, and commits when it
returns or rolls back when it raises, before Litestar renders the answer.

    @get("/{lang:str}", sync_to_thread=True)
    @transaction
    def catalog(db: Db, enabled: Enabled, ...) -> Template: ...

An API ``POST`` with an ``Idempotency-Key`` stores its answer in that same transaction, so
a retry after a lost answer replays it instead of doing the work twice. Work that must not
hold the transaction (asking a payment provider) goes in ``after_commit``, which runs on
the answer, first or replayed, once the transaction has ended.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Generic, TypeVar, overload

from litestar import Response
from sqlmodel import Session

from shop.web import idempotency

T = TypeVar("T")
Handler = TypeVar("Handler", bound=Callable[..., Any])
AfterCommit = Callable[[Any, dict[str, Any]], Any]

MARK = "__shop_transaction__"


@dataclass(frozen=True)
class Deferred(Generic[T]):
    """A dependency read through the request's session, resolved by ``@transaction``."""

    session: Session
    resolve: Callable[[Session], T]


@overload
def transaction(handler: Handler) -> Handler: ...
@overload
def transaction(*, after_commit: AfterCommit) -> Callable[[Handler], Handler]: ...


def transaction(
    handler: Handler | None = None, *, after_commit: AfterCommit | None = None
) -> Handler | Callable[[Handler], Handler]:
    """Run the handler in the request's one transaction, on the handler's own thread;
    ``after_commit(answer, kwargs)`` finishes the answer outside it."""
    if handler is None:
        return lambda handler: _wrap(handler, after_commit)
    return _wrap(handler, after_commit)


def _wrap(handler: Handler, after_commit: AfterCommit | None) -> Handler:
    @functools.wraps(handler)
    def run(*args: Any, **kwargs: Any) -> Any:
        session = _session_of(kwargs)
        if session is None:
            return handler(*args, **kwargs)
        try:
            for name, value in kwargs.items():
                if isinstance(value, Deferred):
                    kwargs[name] = value.resolve(session)
            answer = _answer(session, handler, args, kwargs)
            session.commit()
        except BaseException:
            session.rollback()
            raise
        finally:
            session.close()
        return after_commit(answer, kwargs) if after_commit else answer

    setattr(run, MARK, True)
    return run  # type: ignore[return-value]


def _answer(session: Session, handler: Callable[..., Any], args: Any, kwargs: Any) -> Any:
    """The handler's answer, or the stored one for a retried ``Idempotency-Key``."""
    keyed: idempotency.KeyedRequest | None = session.info.get(idempotency.KEYED)
    if keyed is None:
        return handler(*args, **kwargs)
    scope = idempotency.scope_of("POST", keyed.path, kwargs.get("operator"))
    stored = idempotency.claim(session, keyed.key, scope, keyed.fingerprint, keyed.received_at)
    if stored is not None:
        if stored.status is None:
            return stored.body
        return Response(stored.body, status_code=stored.status)
    answer = handler(*args, **kwargs)
    if isinstance(answer, Response):
        idempotency.remember(session, keyed.key, scope, answer.status_code, answer.content)
    else:
        idempotency.remember(session, keyed.key, scope, None, answer)
    return answer


def _session_of(kwargs: dict[str, Any]) -> Session | None:
    if isinstance(db := kwargs.get("db"), Session):
        return db
    return next((v.session for v in kwargs.values() if isinstance(v, Deferred)), None)


def is_transactional(handler: Callable[..., Any]) -> bool:
    return bool(getattr(handler, MARK, False))
