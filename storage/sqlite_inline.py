"""SQLite commits of the answer path right on the event loop, through a connection of the
caller's own.

aiosqlite runs every call of a connection in its own thread: a statement costs a hop there and
back, each hop waiting for the OS to schedule a thread, and a transaction through a session
takes a dozen of them. On a busy machine that, not SQLite, is what a lone dialog pays, and a
hundred dialogs waiting for their group's commit leave the loop idle meanwhile. In WAL mode
with ``synchronous=NORMAL`` a commit only appends to the log (no fsync): a few dozen
microseconds for a lone dialog, under a millisecond for a hundred dialogs' rows.

The rules that keep it safe (the FSM storage and the response store both follow them):

- only while the engine's pool has every connection at rest (:func:`pool_in_use`): a
  transaction of the answer path that read and is about to write would fail outright
  (SQLITE_BUSY_SNAPSHOT) if another connection committed in between; nothing else runs on the
  loop until the inline commit is done, so none can begin meanwhile;
- the write lock is asked for without waiting (``busy_timeout=0``, ``BEGIN IMMEDIATE``): when
  another connection or process holds it, the caller goes through the pool instead
  (:func:`is_locked`), so the loop is never blocked behind another writer;
- the same durability and privacy settings as the engine's connections (WAL, NORMAL, deleted
  rows overwritten, foreign keys on); checkpoints (which fsync) are left to the engine's
  connections, off the loop.
"""

from __future__ import annotations

import sqlite3
from typing import Final

from sqlalchemy import Engine, event
from sqlalchemy import create_engine as create_sync_engine
from sqlalchemy.exc import OperationalError
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlalchemy.pool import StaticPool

#: SQLITE_BUSY and SQLITE_LOCKED: another connection holds the write lock. Python reports
#: SQLite's extended codes (SQLITE_BUSY_RECOVERY 261, SQLITE_BUSY_SNAPSHOT 517, ...): their low
#: byte is the primary code (:func:`locked_code`).
SQLITE_LOCKED: Final = frozenset({5, 6})


class InlineBusy(Exception):
    """The inline connection could not be set up now (the file is locked, e.g. while another
    process recovers the WAL): try again at a later commit, through the pool meanwhile."""


def locked_code(code: int) -> bool:
    """Whether an SQLite result code, primary or extended, says the database is busy or
    locked."""
    return code & 0xFF in SQLITE_LOCKED


def open_inline_connection(engine: AsyncEngine) -> sqlite3.Connection | None:
    """A new connection to the engine's SQLite file, set up for inline commits; None when the
    engine is not aiosqlite on a WAL file (memory and URI databases included)."""
    if engine.dialect.driver != "aiosqlite":
        return None
    database = engine.url.database
    if (
        not database
        or database == ":memory:"
        or database.startswith("file:")
        or engine.url.query.get("uri")
    ):
        return None
    connection = sqlite3.connect(database, isolation_level=None, check_same_thread=False)
    try:
        # Same durability as the engine's connections (WAL, NORMAL); never wait for the lock.
        connection.execute("PRAGMA synchronous=NORMAL")
        connection.execute("PRAGMA busy_timeout=0")
        connection.execute("PRAGMA wal_autocheckpoint=0")
        # As on the engine's connections (storage.database): a deleted row (a finished dialog)
        # is overwritten, not left readable in a free page of the file; references are enforced.
        connection.execute("PRAGMA secure_delete=ON")
        connection.execute("PRAGMA journal_size_limit=0")
        connection.execute("PRAGMA foreign_keys=ON")
        wal = connection.execute("PRAGMA journal_mode").fetchone()[0].lower() == "wal"
    except sqlite3.OperationalError as error:
        connection.close()
        if locked_code(error.sqlite_errorcode):
            raise InlineBusy from error
        raise
    except BaseException:
        connection.close()
        raise
    if not wal:
        connection.close()
        return None
    return connection


def inline_engine(engine: AsyncEngine) -> Engine | None:
    """A synchronous SQLAlchemy engine over one inline connection (:func:`open_inline_connection`)
    to ``engine``'s file, for Core statements with the very types and defaults of the async
    engine's dialect; None when inline commits are not possible there (:class:`InlineBusy`
    when not now). It is disposed, and its connection closed, with ``engine``."""
    connection = open_inline_connection(engine)
    if connection is None:
        return None
    inline = create_sync_engine(
        "sqlite://",
        creator=lambda: connection,
        poolclass=StaticPool,
        # Parameters are answers: never render them into logs or exception messages.
        hide_parameters=True,
    )

    @event.listens_for(engine.sync_engine, "engine_disposed")
    def _close(_engine: Engine) -> None:
        inline.dispose()
        connection.close()

    return inline


def pool_in_use(engine: AsyncEngine) -> bool:
    """Whether a pooled connection is checked out (True when the pool cannot tell)."""
    checked_out = getattr(engine.sync_engine.pool, "checkedout", None)
    return checked_out is None or checked_out() > 0


def is_locked(error: BaseException) -> bool:
    """The error SQLite raises when another connection holds the write lock (sqlite3's own or
    SQLAlchemy's wrapping of it)."""
    if isinstance(error, OperationalError):
        error = error.orig  # type: ignore[assignment]
    return isinstance(error, sqlite3.OperationalError) and locked_code(error.sqlite_errorcode)
