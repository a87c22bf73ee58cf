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
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Generic, ParamSpec, TypeVar

from sqlmodel import Session

T = TypeVar("T")
P = ParamSpec("P")
R = TypeVar("R")

MARK = "__shop_transaction__"


@dataclass(frozen=True)
class Deferred(Generic[T]):
    """A dependency read through the request's session, resolved by ``@transaction``."""

    session: Session
    resolve: Callable[[Session], T]


def transaction(handler: Callable[P, R]) -> Callable[P, R]:
    """Run ``handler`` in the request's one transaction, on the handler's own thread."""

    @functools.wraps(handler)
    def run(*args: P.args, **kwargs: P.kwargs) -> R:
        session = _session_of(kwargs)
        if session is None:
            return handler(*args, **kwargs)
        try:
            for name, value in kwargs.items():
                if isinstance(value, Deferred):
                    kwargs[name] = value.resolve(session)
            result = handler(*args, **kwargs)
            session.commit()
            return result
        except BaseException:
            session.rollback()
            raise
        finally:
            session.close()

    setattr(run, MARK, True)
    return run


def _session_of(kwargs: dict[str, Any]) -> Session | None:
    if isinstance(db := kwargs.get("db"), Session):
        return db
    return next((v.session for v in kwargs.values() if isinstance(v, Deferred)), None)


def is_transactional(handler: Callable[..., Any]) -> bool:
    return bool(getattr(handler, MARK, False))
