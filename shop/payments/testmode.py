"""Test mode as the database's state, not one process's (issue 11).

``shop serve --test-payments`` starts fake providers (the ``shop-fakes`` distribution) and
records here which plugin settings point at them and where they listen. Every ``shop``
process of that database applies the record to its settings (``apply``), so a ``shop jobs
run`` in another terminal charges the fake Stripe the server started instead of the real
one, and signs test licence keys. A plain ``shop serve`` switches test mode off again.

The core knows no provider: the record holds plugin values as the fakes gave them
(plugin name -> setting name -> value) and the fakes' addresses by name.
"""

from __future__ import annotations

import socket
from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from sqlalchemy import JSON, Column, inspect
from sqlalchemy.engine import make_url
from sqlmodel import Field, Session, SQLModel

from shop.db import make_engine, reader, session_scope
from shop.settings import Settings

ROW = 1  # one row: the database is in test mode or not


class PaymentsTestMode(SQLModel, table=True):
    __tablename__ = "test_mode"

    id: int = Field(default=ROW, primary_key=True)
    plugin_values: dict[str, Any] = Field(sa_column=Column(JSON, nullable=False))
    listening: dict[str, Any] = Field(sa_column=Column(JSON, nullable=False))
    since: datetime


@dataclass(frozen=True)
class ActiveTestMode:
    plugin_values: Mapping[str, Mapping[str, Any]]
    listening: Mapping[str, str]  # e.g. {"Stripe": "http://127.0.0.1:…"}
    since: datetime

    def describe(self) -> str:
        where = ", ".join(f"fake {name} at {url}" for name, url in self.listening.items())
        return f"TEST MODE (since {self.since:%Y-%m-%d %H:%M}): {where}; no money moves."

    def not_listening(self, timeout: float = 1.0) -> dict[str, str]:
        """The fakes that do not answer (their ``shop serve --test-payments`` is gone)."""
        return {name: url for name, url in self.listening.items() if not _answers(url, timeout)}


def _answers(url: str, timeout: float) -> bool:
    parts = urlsplit(url)
    try:
        with socket.create_connection((parts.hostname or "", parts.port or 80), timeout):
            return True
    except OSError:
        return False


def switch_on(
    session: Session,
    plugin_values: Mapping[str, Mapping[str, Any]],
    listening: Mapping[str, str],
    now: datetime,
) -> None:
    """Record test mode (replacing an earlier record: fresh fakes, fresh keys)."""
    values = {name: dict(own) for name, own in plugin_values.items()}
    row = session.get(PaymentsTestMode, ROW)
    if row is None:
        row = PaymentsTestMode(id=ROW, plugin_values=values, listening={}, since=now)
    row.plugin_values = values
    row.listening = dict(listening)
    row.since = now
    session.add(row)
    session.flush()


def switch_off(session: Session) -> ActiveTestMode | None:
    """Leave test mode; the record it was in, if it was."""
    row = session.get(PaymentsTestMode, ROW)
    if row is None:
        return None
    was = ActiveTestMode(row.plugin_values, row.listening, row.since)
    session.delete(row)
    session.flush()
    return was


def read(session: Session) -> ActiveTestMode | None:
    row = session.get(PaymentsTestMode, ROW)
    return None if row is None else ActiveTestMode(row.plugin_values, row.listening, row.since)


def stored(database_url: str) -> ActiveTestMode | None:
    """The database's test mode, if any; None also for a database not created yet (a
    command run before ``shop db upgrade`` finds nothing to apply, and creates no file)."""
    url = make_url(database_url)
    local = url.get_backend_name() == "sqlite" and url.database not in (None, "", ":memory:")
    if local and not Path(str(url.database)).exists():
        return None
    engine = make_engine(database_url)
    # Only read: on SQLite a deferred BEGIN, so a runner starting while another holds the
    # write lock reads beside it instead of failing before its retries begin.
    readonly = reader(engine)
    try:
        with readonly.connect() as connection:
            if not inspect(connection).has_table(PaymentsTestMode.__tablename__):
                return None
        with session_scope(readonly) as session:
            return read(session)
    finally:
        engine.dispose()


def apply(settings: Settings, mode: ActiveTestMode | None) -> Settings:
    """``settings`` in ``mode``: the plugins' settings the fakes gave, and test mode on."""
    if mode is None:
        return settings
    return replace(settings.with_plugin_values(mode.plugin_values), payments_test_mode=True)
