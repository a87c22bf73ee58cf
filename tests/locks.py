"""Whether a database's write lock (SQLite) or the outbox's and order counter's row locks
(PostgreSQL) are free right now, asked from a connection of the test's own."""

from __future__ import annotations

import sqlite3

import psycopg
from sqlalchemy.engine import make_url


def assert_writes_are_not_blocked(database_url: str) -> None:
    """Fails at once (no waiting) if another connection holds what a checkout needs."""
    url = make_url(database_url)
    if url.get_backend_name() == "sqlite":
        connection = sqlite3.connect(url.database or "", timeout=0, isolation_level=None)
        try:
            connection.execute("BEGIN IMMEDIATE")  # "database is locked" if a writer is in
            connection.execute("ROLLBACK")
        finally:
            connection.close()
        return
    dsn = url.set(drivername="postgresql").render_as_string(hide_password=False)
    with psycopg.connect(dsn) as connection:
        connection.execute("SELECT id FROM outbox_message FOR UPDATE NOWAIT")
        connection.execute("SELECT name FROM number_sequence FOR UPDATE NOWAIT")
        connection.rollback()
