"""Engine and session factories; SQLite gets real transactions and safe pragmas on connect."""

from __future__ import annotations

import logging
import os
import sqlite3
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Final, TypeAlias

from sqlalchemy import Connection, event
from sqlalchemy.engine import URL, make_url
from sqlalchemy.engine.interfaces import DBAPIConnection
from sqlalchemy.exc import (
    DBAPIError,
    DisconnectionError,
    InterfaceError,
    OperationalError,
    SQLAlchemyError,
)
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker
from sqlalchemy.ext.asyncio import create_async_engine as _create_async_engine
from sqlalchemy.pool import ConnectionPoolEntry

logger = logging.getLogger(__name__)

SQLITE_BUSY_TIMEOUT_MS: Final = 5_000

#: What the stores and the services built on them are given: a factory of sessions.
Sessions: TypeAlias = async_sessionmaker[AsyncSession]


def create_engine(
    url: str,
    *,
    echo: bool = False,
    connect_args: Mapping[str, Any] | None = None,
    sqlite_foreign_keys: bool = True,
    sqlite_connections: int = 1,
) -> AsyncEngine:
    """Build an async engine for ``url`` (``sqlite+aiosqlite`` or ``postgresql+asyncpg``).

    ``connect_args`` go to the driver (e.g. asyncpg ``ssl`` or ``server_settings``).
    ``sqlite_connections``: the answer path writes through one connection (see below);
    reports read through an engine of their own with more, beside the writer (WAL).
    ``sqlite_foreign_keys=False`` is for migrations only: batch table rebuilds drop tables,
    which with enforcement on would cascade-delete the rows referencing them.
    """
    parsed = make_url(url)
    sqlite = parsed.get_backend_name() == "sqlite"
    pool: dict[str, Any] = {}
    if sqlite:
        _prepare_sqlite_files(parsed)
        if parsed.database not in (None, "", ":memory:"):
            # SQLite has one writer at a time: several pooled connections only wait on each
            # other's locks (with busy-timeout sleeps). One connection serializes the same work
            # without the waiting, which is several times faster under concurrent dialogs.
            pool = {"pool_size": sqlite_connections, "max_overflow": 0, "pool_timeout": 60}
    _keep_statement_parameters_out_of_logs()
    engine = _create_async_engine(
        parsed,
        echo=echo,
        # Parameters are answers: never render them into logs or exception messages.
        hide_parameters=True,
        connect_args=dict(connect_args or {}),
        **pool,
    )
    if sqlite:
        _install_sqlite_hooks(engine, foreign_keys=sqlite_foreign_keys)
    else:
        _ping_when_idle(engine)
    return engine


#: A pooled connection at rest longer than this is pinged before it is handed out.
PING_AFTER_IDLE_S: Final = 5.0


def _ping_when_idle(engine: AsyncEngine) -> None:
    """Connections to a PostgreSQL server may die between two feedback bursts: one that was at
    rest for ``idle`` seconds is pinged at checkout, and a dead one replaced (the pool retries
    with a fresh connection on DisconnectionError).

    Not every checkout, as ``pool_pre_ping`` does: asyncpg's ping is three round trips (BEGIN,
    an empty query, ROLLBACK), more than the one statement a dialog's commit is.
    """
    sync_engine = engine.sync_engine
    dialect = sync_engine.dialect
    idle = PING_AFTER_IDLE_S

    def at_rest(_dbapi: DBAPIConnection, record: ConnectionPoolEntry) -> None:
        record.info[_IDLE_SINCE] = time.monotonic()

    def ping_if_idle(dbapi: DBAPIConnection, record: ConnectionPoolEntry, _proxy: Any) -> None:
        since = record.info.get(_IDLE_SINCE)
        if since is not None and time.monotonic() - since < idle:
            return
        try:
            dialect.do_ping(dbapi)
        except Exception as error:
            if isinstance(error, dialect.loaded_dbapi.Error) and dialect.is_disconnect(
                error, dbapi, None
            ):
                raise DisconnectionError() from error
            raise

    event.listen(sync_engine, "connect", at_rest)
    event.listen(sync_engine, "checkin", at_rest)
    event.listen(sync_engine, "checkout", ping_if_idle)


_IDLE_SINCE: Final = "otklik_idle_since"


def _keep_statement_parameters_out_of_logs() -> None:
    """aiosqlite logs every statement with its parameters at DEBUG: answers and, for opt-ins,
    chat ids side by side. Anonymity must not depend on the operator's LOG_LEVEL."""
    driver_logger = logging.getLogger("aiosqlite")
    if driver_logger.level < logging.INFO:  # NOTSET (0) would follow the root logger
        driver_logger.setLevel(logging.INFO)


def _driver_infrastructure_errors() -> tuple[type[BaseException], ...]:
    import asyncpg.exceptions

    return (
        OperationalError,
        InterfaceError,
        OSError,
        TimeoutError,
        sqlite3.OperationalError,
        asyncpg.exceptions.PostgresConnectionError,
        asyncpg.exceptions.InterfaceError,
        asyncpg.exceptions.CannotConnectNowError,
    )


_INFRASTRUCTURE_ERRORS: Final = _driver_infrastructure_errors()


def is_infrastructure_error(error: BaseException) -> bool:
    """A failure of the database itself (down, locked, connection lost), not of one row: a
    group commit that failed so is not retried row by row."""
    if isinstance(error, DBAPIError) and error.connection_invalidated:
        return True
    # The FSM storage's driver shortcuts (storage.fsm) raise the drivers' own errors.
    return isinstance(error, _INFRASTRUCTURE_ERRORS)


def is_database_error(error: BaseException) -> bool:
    """Any failure the database layer raised (a statement refused, a connection lost, a lock
    held too long, a driver's own error), as opposed to a bug in the caller."""
    return isinstance(error, SQLAlchemyError) or is_infrastructure_error(error)


async def checkpoint_wal(engine: AsyncEngine) -> bool:
    """SQLite: copy the WAL into the database and cut it to nothing; False if readers kept it.

    The WAL holds the latest pages in commit order, old versions included (a finished dialog's
    state, say, beside the response written just before it deletion); SQLite empties it only
    after 1,000 pages, which a small body may take days to write. Run every minute, this keeps
    that trail to about a minute. A no-op on other databases.
    """
    if engine.dialect.name != "sqlite":
        return True
    async with engine.connect() as connection:
        # The raw connection, outside the transaction the engine's hook would open: a
        # checkpoint cannot run inside one.
        raw = await connection.get_raw_connection()
        cursor = await raw.driver_connection.execute("PRAGMA wal_checkpoint(TRUNCATE)")  # type: ignore[union-attr]
        busy, _, _ = await cursor.fetchone()
        await cursor.close()
    return not busy


async def vacuum(engine: AsyncEngine) -> bool:
    """SQLite: rebuild the file in key order; False if it was busy. A no-op elsewhere.

    Inside a page SQLite places each new row below the previous ones, so a reader of the raw
    file could tell which of the rows sharing a page came first; a rebuilt file keeps no such
    trace (nor free pages). Nightly, while few people answer: the answer path waits meanwhile.
    """
    if engine.dialect.name != "sqlite":
        return True
    async with engine.connect() as connection:
        raw = await connection.get_raw_connection()
        driver = raw.driver_connection
        try:
            await driver.execute("VACUUM")  # type: ignore[union-attr]
        except sqlite3.OperationalError as error:
            if "locked" in str(error) or "busy" in str(error):
                return False
            raise
    return True


async def ping(engine: AsyncEngine) -> None:
    """One round trip to the database (readiness checks); raises when it cannot answer."""
    async with engine.connect() as connection:
        await connection.exec_driver_sql("SELECT 1")


def create_session_factory(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    """Session factory for the stores; objects stay readable after commit."""
    return async_sessionmaker(engine, expire_on_commit=False)


#: Suffixes of the files SQLite keeps beside a database in WAL mode.
SQLITE_COMPANIONS: Final = ("-wal", "-shm", "-journal")


def _prepare_sqlite_files(url: URL) -> None:
    """Folder 0700 and database files 0600: the answers are readable by their owner only.

    SQLite gives the -wal and -shm files the permissions of the database, so the database is
    created here (empty, 0600) before SQLite opens it; files left wider by older versions are
    narrowed. An existing folder is left as it is: it may be shared (``/var/lib``, ``/tmp``).
    """
    database = url.database
    if (
        not database
        or database == ":memory:"
        or url.query.get("uri")
        or database.startswith("file:")
    ):
        return
    path = Path(database).expanduser()
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    try:
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT, 0o600))
    except OSError:
        return  # read-only or foreign: SQLite reports what it cannot open
    for file in (path, *(path.with_name(path.name + s) for s in SQLITE_COMPANIONS)):
        try:
            if file.exists() and file.stat().st_mode & 0o077:
                file.chmod(0o600)
        except OSError:
            logger.warning("Could not make %s private to its owner", file.name)


def _install_sqlite_hooks(engine: AsyncEngine, *, foreign_keys: bool) -> None:
    foreign_keys_pragma = "ON" if foreign_keys else "OFF"

    @event.listens_for(engine.sync_engine, "connect")
    def _on_connect(dbapi_connection: DBAPIConnection, _record: ConnectionPoolEntry) -> None:
        # Take BEGIN away from the sqlite3 driver: its legacy mode starts transactions only
        # before DML, so DDL (migrations) and SELECTs would otherwise run outside them.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        try:
            cursor.execute(f"PRAGMA foreign_keys={foreign_keys_pragma}")
            # WAL lets the reports read while the bot writes; NORMAL is durable enough in WAL.
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA synchronous=NORMAL")
            cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
            # Deleted rows (finished dialogs, expired keys) are overwritten, not left readable
            # in free pages of the file; the WAL, which keeps pages in commit order, is cut
            # back to nothing whenever a checkpoint empties it.
            cursor.execute("PRAGMA secure_delete=ON")
            cursor.execute("PRAGMA journal_size_limit=0")
        finally:
            cursor.close()

    @event.listens_for(engine.sync_engine, "begin")
    def _on_begin(connection: Connection) -> None:
        connection.exec_driver_sql("BEGIN")
