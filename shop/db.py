"""The database: SQLite (WAL) by default, PostgreSQL by ``SHOP_DATABASE_URL``.

The schema is owned by Alembic (``shop/migrations``); ``migrate`` brings any database to the
newest revision, which is what ``shop db upgrade`` and ``shop serve`` do.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from decimal import Decimal
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from sqlalchemy import Numeric, String, event
from sqlalchemy.engine import Connection, Dialect, Engine, make_url
from sqlalchemy.types import TypeDecorator, TypeEngine
from sqlmodel import Session, SQLModel, create_engine

MIGRATIONS = Path(__file__).resolve().parent / "migrations"


class ExactDecimal(TypeDecorator[Decimal]):
    """Decimal kept exact everywhere: NUMERIC on PostgreSQL, text on SQLite (whose NUMERIC
    is a float and would round money, R15)."""

    impl = Numeric
    cache_ok = True

    def load_dialect_impl(self, dialect: Dialect) -> TypeEngine[Any]:
        if dialect.name == "sqlite":
            return dialect.type_descriptor(String(48))
        # 14 digits before the point hold any DZD total; 6 after hold rates and margins.
        return dialect.type_descriptor(Numeric(20, 6))

    def process_bind_param(self, value: Decimal | None, dialect: Dialect) -> Any:
        if value is None:
            return None
        if not isinstance(value, Decimal):
            raise TypeError(f"expected a Decimal, got {type(value).__name__}")
        return str(value) if dialect.name == "sqlite" else value

    def process_result_value(self, value: Any, dialect: Dialect) -> Decimal | None:
        return None if value is None else Decimal(str(value))


def load_models() -> type[SQLModel]:
    """Import every module that declares tables, so the metadata knows them all."""
    import shop.accounts.contacts
    import shop.accounts.links
    import shop.accounts.login
    import shop.accounts.tokens
    import shop.backoffice.operators
    import shop.cancellations.models
    import shop.catalog.rates
    import shop.licences.models
    import shop.mail.outbox
    import shop.orders.models
    import shop.payments.testmode
    import shop.plugins.events
    import shop.plugins.state
    import shop.subscriptions.models  # noqa: F401
    from shop.plugins.manager import get_plugin_manager

    get_plugin_manager()  # imports every installed plugin, and so its tables
    return SQLModel


# How long a request may wait for the database before it is told to come back (503):
# for a pooled connection, for SQLite's write lock (in this process, then in the file).
POOL_SIZE = 20
WAIT_SECONDS = 10.0
# A session whose engine carries this option only reads: on SQLite a deferred BEGIN, so WAL
# readers run beside the writer; on PostgreSQL a READ ONLY transaction.
READ_ONLY = "shop_read_only"


class DatabaseBusy(RuntimeError):
    """The database could not be had in the time allowed; the caller may retry."""


def make_engine(
    url: str, *, pool_size: int = POOL_SIZE, wait_seconds: float = WAIT_SECONDS
) -> Engine:
    """The engine for ``url``: its sessions write unless they are bound to ``reader(engine)``."""
    sa_url = make_url(url)
    pooling: dict[str, Any] = {"pool_timeout": wait_seconds}
    if sa_url.get_backend_name() == "sqlite":
        if sa_url.database not in (None, "", ":memory:"):
            pooling.update(pool_size=pool_size, max_overflow=pool_size)
        engine = create_engine(
            sa_url,
            connect_args={"check_same_thread": False, "timeout": wait_seconds},
            **pooling,
        )
        _serialise_sqlite_writers(engine, wait_seconds)
        return engine
    if sa_url.get_backend_name() == "postgresql" and sa_url.drivername == "postgresql":
        sa_url = sa_url.set(drivername="postgresql+psycopg")
    pooling.update(pool_size=pool_size, max_overflow=pool_size // 2)
    return create_engine(sa_url, pool_pre_ping=True, **pooling)


def reader(engine: Engine) -> Engine:
    """The same database and pool, for sessions that only read."""
    options: dict[str, Any] = {READ_ONLY: True}
    if engine.dialect.name == "postgresql":
        options["postgresql_readonly"] = True
    return engine.execution_options(**options)


def _serialise_sqlite_writers(engine: Engine, wait_seconds: float) -> None:
    """SQLite has one write lock. Readers take a deferred BEGIN and never wait for it;
    writers take BEGIN IMMEDIATE, and within this process they first queue on a lock of
    our own: a waiting writer is woken the moment the lock is free, instead of SQLite's
    busy handler polling with growing sleeps, which starves some writers under load."""
    lane = threading.Lock()

    def connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None  # autocommit at the driver; BEGIN is ours
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        # WAL with NORMAL: a commit is not an fsync (one per checkpoint instead), which
        # doubles the writers served. A crashed process loses nothing; a power cut may lose
        # the last commits. A shop that needs more uses PostgreSQL.
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute(f"PRAGMA busy_timeout={int(wait_seconds * 1000)}")
        cursor.close()

    def begin(connection: Connection) -> None:
        read_only = bool(connection.get_execution_options().get(READ_ONLY))
        # A read session that tries to write fails at once, not under load.
        if connection.info.get("query_only") != read_only:
            connection.exec_driver_sql(f"PRAGMA query_only={int(read_only)}")
            connection.info["query_only"] = read_only
        if read_only:
            connection.exec_driver_sql("BEGIN")
            return
        if not lane.acquire(timeout=wait_seconds):
            raise DatabaseBusy("another writer held the database too long")
        connection.info["in_lane"] = True
        try:
            connection.exec_driver_sql("BEGIN IMMEDIATE")
        except BaseException:
            leave_lane(connection.info)
            raise

    def leave_lane(info: dict[str, Any]) -> None:
        if info.pop("in_lane", False):
            lane.release()

    def finish(connection: Connection, commit: bool) -> None:
        # These events come before the driver's commit or rollback: end the transaction
        # here (the driver's own call then has nothing left to do), then free the lane.
        if not connection.info.get("in_lane"):
            return
        driver: Any = connection.connection.driver_connection
        try:
            driver.commit() if commit else driver.rollback()
        finally:
            leave_lane(connection.info)

    # A connection given back or dropped mid-transaction leaves the lane too.
    def reset(_dbapi_connection: Any, record: Any, _reset_state: Any) -> None:
        leave_lane(record.info)

    def invalidate(_dbapi_connection: Any, record: Any, _exception: Any) -> None:
        leave_lane(record.info)

    def close(_dbapi_connection: Any, record: Any) -> None:
        leave_lane(record.info)

    event.listen(engine, "connect", connect)
    event.listen(engine, "begin", begin)
    event.listen(engine, "commit", lambda connection: finish(connection, commit=True))
    event.listen(engine, "rollback", lambda connection: finish(connection, commit=False))
    event.listen(engine.pool, "reset", reset)
    event.listen(engine.pool, "invalidate", invalidate)
    event.listen(engine.pool, "close", close)


@contextmanager
def session_scope(engine: Engine) -> Iterator[Session]:
    """A session that commits when the block ends and rolls back when it raises; it writes
    unless ``engine`` is a ``reader``."""
    with Session(engine, expire_on_commit=False) as session:
        try:
            yield session
            session.commit()
        except BaseException:
            session.rollback()
            raise


def alembic_config(
    url: str, *, versions: Path | None = None, version_table: str = "alembic_version"
) -> Config:
    """Alembic's configuration for the core's migrations, or for one plugin's (its own
    ``versions`` folder and version table, so its history is its own: installing or
    removing a plugin never touches the core's)."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    if versions is not None:
        # One folder: split on the OS's path separator, not on spaces in the path.
        config.set_main_option("path_separator", "os")
        config.set_main_option("version_locations", str(versions))
    config.attributes["version_table"] = version_table
    return config


def plugin_version_table(plugin: str) -> str:
    return f"alembic_version_{plugin}"


def migrate(url: str, plugin_migrations: Mapping[str, Path] | None = None) -> None:
    """Apply every pending migration to the database at ``url``: the core's, then each
    plugin's (plugin name -> its ``migrations`` folder; default: every installed plugin's)."""
    command.upgrade(alembic_config(url), "head")
    if plugin_migrations is None:
        from shop.plugins.folders import folders
        from shop.plugins.manager import get_plugin_manager

        plugin_migrations = folders(get_plugin_manager(), "migrations")
    for name, folder in sorted(plugin_migrations.items()):
        config = alembic_config(url, versions=folder, version_table=plugin_version_table(name))
        command.upgrade(config, "head")
