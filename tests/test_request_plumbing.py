"""How requests use the database: one session per request, on the handler's thread."""

from __future__ import annotations

from typing import Any

import pytest
from litestar.utils.sync import AsyncCallable
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError
from sqlmodel import Session

from shop.app import create_app
from shop.db import make_engine, reader
from shop.settings import Settings
from shop.web.transaction import is_transactional

PER_REQUEST = {"db", "enabled", "operator"}


def test_every_handler_that_uses_the_database_runs_in_one_transaction(
    settings: Settings,
) -> None:
    app = create_app(settings)
    unwrapped = []
    for route in app.routes:
        for handler in getattr(route, "route_handlers", ()):
            if PER_REQUEST & set(handler.parsed_fn_signature.parameters):
                fn: Any = handler.fn
                fn = fn.func if isinstance(fn, AsyncCallable) else fn
                if not is_transactional(fn):
                    unwrapped.append(f"{route.path} {handler.handler_name}")
    assert unwrapped == []


def test_a_read_session_cannot_write(settings: Settings) -> None:
    engine = make_engine(settings.database_url)
    # SQLite: PRAGMA query_only ("readonly database"); PostgreSQL: a READ ONLY transaction.
    with Session(reader(engine)) as session, pytest.raises(DBAPIError, match=r"(?i)read.?only"):
        session.execute(text("UPDATE number_sequence SET last = last + 1"))
    engine.dispose()
