"""aiogram FSM storage on the project's database: cached reads, group-committed durable writes."""

from __future__ import annotations

import asyncio
import contextlib
import hmac
import json
import logging
import sqlite3
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, Final, Literal, cast

from aiogram.exceptions import DataNotDictLikeError
from aiogram.fsm.state import State
from aiogram.fsm.storage.base import BaseStorage, StateType, StorageKey
from sqlalchemy import CursorResult, Dialect, Executable, bindparam, delete, select
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from storage.database import is_infrastructure_error
from storage.models import FsmState
from storage.sqlite_inline import InlineBusy, locked_code, open_inline_connection, pool_in_use
from storage.upsert import insert_on_conflict

logger = logging.getLogger(__name__)

DEFAULT_TTL: Final = timedelta(days=7)
DEFAULT_FLUSH_INTERVAL: Final = 0.005  # seconds a commit waits for other updates' writes
#: A short pepper would let anyone holding the database enumerate Telegram ids offline.
MIN_PEPPER_LENGTH: Final = 16
EMPTY_DATA: Final = "{}"
#: Keys per ``IN (…)``: far below SQLite's 32,766 and asyncpg's 32,767 bound parameters.
SELECT_CHUNK: Final = 500
#: A commit of at most this many rows is written on the event loop (SQLite, see _store),
#: lone or grouped: with a few writers at once aiosqlite's thread hops cost more than the
#: commit itself (README, "Web forms"); larger batches still go through the pool, where
#: SQLite's work overlaps the event loop's.
INLINE_ROWS: Final = 64
#: Digests remembered per process; an update asks for its key's digest three times or more.
DIGEST_CACHE_SIZE: Final = 10_000

#: Compact and readable (Cyrillic answers stay one character each); built once, not per call.
_JSON_ENCODER: Final = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"))
# Statements built once: SQLAlchemy then finds their compiled form in its cache at once.
_DELETE_BY_KEY: Final = delete(FsmState).where(FsmState.key == bindparam("digest"))
_SELECT_SOME: Final = select(
    FsmState.key, FsmState.state, FsmState.data, FsmState.expires_at
).where(FsmState.key.in_(bindparam("digests", expanding=True)))


def validate_pepper(pepper: bytes) -> None:
    """Refuse a pepper too short to keep the keyed hashes of Telegram ids from being reversed."""
    if not isinstance(pepper, bytes) or len(pepper) < MIN_PEPPER_LENGTH:
        raise ValueError(f"the FSM pepper must be at least {MIN_PEPPER_LENGTH} random bytes")


def storage_key_digest(key: StorageKey, pepper: bytes) -> str:
    """Hex HMAC-SHA256 over every part of ``key``: the only form in which a dialog is stored."""
    # Unambiguous: ids are plain integers and the strings are Python literals, so no two keys
    # share a message; "\x1f" cannot occur in either.
    message = (
        f"{key.bot_id}\x1f{key.chat_id}\x1f{key.user_id}\x1f{key.thread_id}"
        f"\x1f{key.business_connection_id!r}\x1f{key.destiny!r}"
    )
    # hmac.digest is OpenSSL's one-shot path, several times faster than hmac.new(...).
    return hmac.digest(pepper, message.encode(), "sha256").hex()


class FsmCommitError(RuntimeError):
    """A dialog write was not committed (database unavailable): ask the user to try later."""

    def __init__(self, reason: str, original: BaseException) -> None:
        super().__init__(f"FSM write not committed: {reason}")
        # Kept as an attribute, not chained as __cause__: SQLAlchemy renders a statement's
        # parameters (the dialog's answers) into its message, and tracebacks print causes.
        self.original = original


@dataclass(frozen=True, slots=True)
class _Record:
    state: str | None
    data: str  # JSON text, decoded afresh on every read so no caller shares a dict
    expires_at: datetime


@dataclass(slots=True)
class _Write:
    """Writes to one key waiting for the next commit, merged: the last of each part wins."""

    state: str | None = None
    state_set: bool = False
    data: str | None = None  # JSON text; None: data not written
    waiters: list[asyncio.Future[None]] = field(default_factory=list)


def _utc_now() -> datetime:
    return datetime.now(UTC)


class SqlStorage(BaseStorage):
    """aiogram FSM storage in the ``fsm_states`` table, durable before a handler replies.

    Rows are keyed by :func:`storage_key_digest`, so no Telegram id ever sits in the database
    next to the partial answers. Reads come from an in-process cache of committed rows (a miss
    loads the row once). A write waits until the batch holding it is committed: one writer task
    merges all pending writes per key and stores them in a single transaction, so a reply is
    only sent after its state is durable while concurrent users share one commit. A failed
    commit raises :class:`FsmCommitError` to every waiter and forgets the keys it touched.

    The grouping is adaptive: a write that finds the writer idle is committed at once, so one
    dialog alone never waits; when writes arrived during the previous commit (others are
    answering), the next one waits up to ``flush_interval`` for company. Misses of the cache
    within one event-loop turn are loaded in one query. With ``driver_shortcuts`` (the default)
    statements go straight to the driver: on SQLite a commit of a few rows (lone or grouped)
    and every load run on the event loop through a connection of the storage's own (WAL
    appends, no fsync, never waiting for the write lock: a busy database sends the commit
    through the pool), on PostgreSQL through asyncpg without the session machinery. ``ttl``
    counts from the last write; expired dialogs read as empty until :meth:`purge_expired`
    deletes them. :meth:`close` commits what is pending but leaves the engine to its owner.

    The cache makes this process the only writer of ``fsm_states``: run a single bot process
    per database with this storage; several processes need Redis (``storage.fsm_redis``).
    """

    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        pepper: bytes,
        *,
        ttl: timedelta = DEFAULT_TTL,
        clock: Callable[[], datetime] = _utc_now,
        flush_interval: float = DEFAULT_FLUSH_INTERVAL,
        driver_shortcuts: bool = True,
    ) -> None:
        validate_pepper(pepper)
        if ttl <= timedelta(0):
            raise ValueError("ttl must be positive")
        if flush_interval < 0:
            raise ValueError("flush_interval must not be negative")
        self._sessions = sessions
        self._pepper = pepper
        self._ttl = ttl
        self._clock = clock
        self._flush_interval = flush_interval
        self._digests: dict[StorageKey, str] = {}
        self._committed: dict[str, _Record] = {}
        self._pending: dict[str, _Write] = {}
        self._loads: dict[str, asyncio.Future[_Record | None]] = {}
        self._to_load: list[str] = []
        self._loader: asyncio.Task[None] | None = None
        # Loads in flight while a batch touching their key finished: their row may predate it.
        self._stale_loads: set[str] = set()
        self._wakeup = asyncio.Event()
        self._writer: asyncio.Task[None] | None = None
        self._gathering: asyncio.Future[None] | None = None  # resolves when the wait is over
        self._closed = False
        self._upsert: Executable | None = None
        self._expires_bind: Callable[[datetime], Any] | None = None
        self._expires_result: Callable[[Any], datetime] | None = None
        self._bind: AsyncEngine | Literal[False] | None = None
        self._driver_shortcuts = driver_shortcuts
        # SQLite only: a connection of our own for lone commits (False: not possible here).
        self._inline: sqlite3.Connection | Literal[False] | None = None
        #: Batches committed (a figure for tests and benchmarks).
        self.commits = 0
        #: Commits that waited for company because others were writing (a figure for tests).
        self.grouped_commits = 0

    # --- aiogram BaseStorage ---------------------------------------------------------------

    async def set_state(self, key: StorageKey, state: StateType = None) -> None:
        """Set the state; returns once it is committed."""
        value = state.state if isinstance(state, State) else state
        if value is not None and "\x00" in value:
            # PostgreSQL text cannot hold NUL, and one bad row would fail everyone's batch.
            raise ValueError("an FSM state name cannot contain NUL")
        await self._write(key, state=value, state_set=True)

    async def get_state(self, key: StorageKey) -> str | None:
        """The committed state, or ``None`` when there is none or it expired."""
        record = await self._read(self._digest(key))
        return None if record is None else record.state

    async def set_data(self, key: StorageKey, data: Mapping[str, Any]) -> None:
        """Replace the data; returns once it is committed."""
        if not isinstance(data, Mapping):
            raise DataNotDictLikeError(
                f"Data must be a dict or dict-like object, got {type(data).__name__}"
            )
        # Serialised here, not in the writer: a value JSON cannot hold fails its own caller
        # only, and the caller mutating its dict afterwards cannot change what is committed.
        text = _JSON_ENCODER.encode(dict(data))
        await self._write(key, data=text)

    async def get_data(self, key: StorageKey) -> dict[str, Any]:
        """The committed data (a fresh dict), empty when there is none or it expired."""
        record = await self._read(self._digest(key))
        if record is None:
            return {}
        return cast(dict[str, Any], json.loads(record.data))

    async def close(self) -> None:
        """Commit what is pending and stop the writer; the engine stays the caller's."""
        self._closed = True
        self._wakeup.set()
        _settle(self._gathering)  # a closing storage does not wait for more writes
        writer = self._writer
        if writer is not None and not writer.done():
            await writer
        if self._pending:  # the writer was cancelled with writes still queued
            batch, self._pending = self._pending, {}
            await self._commit(batch)
        if self._inline:
            self._inline.close()
        self._inline = None

    # --- maintenance -----------------------------------------------------------------------

    async def purge_expired(self) -> int:
        """Delete dialogs idle for longer than the ttl; returns how many rows went."""
        now = self._clock()
        async with self._sessions() as session, session.begin():
            connection = await session.connection()
            result = await connection.execute(delete(FsmState).where(FsmState.expires_at <= now))
            deleted = cast(CursorResult[Any], result).rowcount
        for digest in [d for d, record in self._committed.items() if record.expires_at <= now]:
            del self._committed[digest]
        logger.info("purged %s expired FSM dialogs", deleted)
        return deleted

    def _digest(self, key: StorageKey) -> str:
        digest = self._digests.get(key)
        if digest is None:
            if len(self._digests) >= DIGEST_CACHE_SIZE:
                self._digests.clear()  # cheaper than LRU bookkeeping on every hit
            digest = self._digests[key] = storage_key_digest(key, self._pepper)
        return digest

    # --- reads -----------------------------------------------------------------------------

    async def _read(self, digest: str) -> _Record | None:
        record = self._committed.get(digest)
        if record is None:
            load = self._loads.get(digest)
            if load is None:
                # Misses of this event-loop turn are loaded together, in one query.
                load = self._loads[digest] = asyncio.get_running_loop().create_future()
                self._to_load.append(digest)
                if self._loader is None or self._loader.done():
                    self._loader = asyncio.create_task(self._load_loop(), name="otklik-fsm-load")
            # Shielded: one reader being cancelled must not cancel a load others wait for.
            record = await asyncio.shield(load)
            if record is None:
                return None
        if record.expires_at <= self._clock():
            # Absent from now on; dropping it keeps the cache to live dialogs.
            if self._committed.get(digest) is record:
                del self._committed[digest]
            return None
        return record

    async def _load_loop(self) -> None:
        while self._to_load:
            digests, self._to_load = self._to_load, []
            try:
                found = await self._fetch(digests)
            except BaseException as error:
                for digest in digests:
                    self._stale_loads.discard(digest)
                    load = self._loads.pop(digest)
                    if not load.done():
                        load.set_exception(error)
                if not isinstance(error, Exception):
                    raise
                continue
            now = self._clock()
            for digest in digests:
                stale = digest in self._stale_loads
                self._stale_loads.discard(digest)
                load = self._loads.pop(digest)
                # Absent rows are not cached: a dialog that does not exist would otherwise
                # stay in memory forever.
                record = found.get(digest)
                if record is not None and not stale and record.expires_at > now:
                    self._committed[digest] = record
                if not load.done():
                    load.set_result(record)

    async def _fetch(self, digests: Sequence[str]) -> dict[str, _Record]:
        """The stored rows of ``digests`` (expired ones included)."""
        if self._driver_shortcuts:
            engine = await self._engine()
            connection = self._inline_connection(engine)
            if engine is not None and connection is not None:
                found = self._fetch_inline(connection, engine, digests)
                if found is not None:
                    return found
            if engine is not None and engine.dialect.driver == "asyncpg":
                return await self._fetch_on_asyncpg(engine, digests)
        found = {}
        async with self._sessions() as session:
            for start in range(0, len(digests), SELECT_CHUNK):
                chunk = list(digests[start : start + SELECT_CHUNK])
                for row in await session.execute(_SELECT_SOME, {"digests": chunk}):
                    found[row.key] = _Record(row.state, row.data, row.expires_at)
        return found

    async def _fetch_on_asyncpg(
        self, engine: AsyncEngine, digests: Sequence[str]
    ) -> dict[str, _Record]:
        found: dict[str, _Record] = {}
        async with engine.connect() as connection:
            driver = (await connection.get_raw_connection()).driver_connection
            assert driver is not None
            for start in range(0, len(digests), SELECT_CHUNK):
                chunk = list(digests[start : start + SELECT_CHUNK])
                for key, state, data, expires_at in await driver.fetch(_PG_SELECT, chunk):
                    found[key] = _Record(state, data, expires_at.astimezone(UTC))
        return found

    def _fetch_inline(
        self, connection: sqlite3.Connection, engine: AsyncEngine, digests: Sequence[str]
    ) -> dict[str, _Record] | None:
        """Primary-key lookups right on the event loop (WAL readers never wait for writers);
        None when SQLite still says busy."""
        if self._expires_result is None:
            self._expires_result = _sqlite_datetime_result(engine.dialect)
        parse = self._expires_result
        found: dict[str, _Record] = {}
        try:
            for start in range(0, len(digests), SELECT_CHUNK):
                chunk = digests[start : start + SELECT_CHUNK]
                marks = ",".join("?" * len(chunk))
                query = (
                    f"SELECT key, state, data, expires_at FROM fsm_states WHERE key IN ({marks})"
                )
                for key, state, data, expires_at in connection.execute(query, chunk):
                    found[key] = _Record(state, data, parse(expires_at))
        except sqlite3.OperationalError as error:
            if locked_code(error.sqlite_errorcode):
                return None
            raise
        return found

    async def _engine(self) -> AsyncEngine | None:
        """The engine behind the session factory (found once)."""
        if self._bind is None:
            bind = getattr(self._sessions, "kw", {}).get("bind")
            if bind is None:
                async with self._sessions() as session:
                    bind = session.bind
            self._bind = bind if isinstance(bind, AsyncEngine) else False
        return self._bind or None

    # --- group commit ----------------------------------------------------------------------

    async def _write(
        self,
        key: StorageKey,
        *,
        state: str | None = None,
        state_set: bool = False,
        data: str | None = None,
    ) -> None:
        if self._closed:
            raise RuntimeError("SqlStorage is closed")
        digest = self._digest(key)
        write = self._pending.get(digest)
        if write is None:
            write = self._pending[digest] = _Write()
        if state_set:
            write.state, write.state_set = state, True
        if data is not None:
            write.data = data
        waiter: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        write.waiters.append(waiter)
        self._wakeup.set()
        if self._writer is None or self._writer.done():
            self._writer = asyncio.create_task(self._write_loop(), name="otklik-fsm-writer")
        # A caller cancelled here does not withdraw its write: it is merged already.
        await waiter

    async def _write_loop(self) -> None:
        # Adaptive group commit: a write that finds the writer idle is committed at once (one
        # dialog alone never waits); writes that arrive while a commit runs show that others
        # are answering right now, so the next commit waits up to flush_interval for company.
        busy = False
        while True:
            await self._wakeup.wait()
            if busy and self._flush_interval and not self._closed:
                self.grouped_commits += 1
                await self._gather_writes()
            self._wakeup.clear()
            batch, self._pending = self._pending, {}
            if batch:
                await self._commit(batch, alone=not busy)
            busy = bool(self._pending)
            if self._closed and not self._pending:
                return

    async def _gather_writes(self) -> None:
        loop = asyncio.get_running_loop()
        self._gathering = gathering = loop.create_future()
        timer = loop.call_later(self._flush_interval, _settle, gathering)
        try:
            await gathering
        finally:
            timer.cancel()
            self._gathering = None

    async def _commit(self, batch: dict[str, _Write], *, alone: bool = False) -> None:
        try:
            rows = await self._resolve(batch)
        except BaseException as error:
            self._fail(batch, error)
            if not isinstance(error, Exception):
                raise  # cancellation: the waiters know, the task must still stop
            return
        try:
            await self._store(rows, alone=alone)
        except BaseException as error:
            if not isinstance(error, Exception):
                self._fail(batch, error)
                raise
            if len(batch) == 1 or is_infrastructure_error(error):
                self._fail(batch, error)
            else:
                # One bad row (a value the driver cannot encode, say) must not fail everyone
                # in the batch: each dialog is written on its own, and fails on its own.
                await self._commit_one_by_one(batch, rows)
            return
        self._succeed(batch, rows)

    async def _commit_one_by_one(
        self, batch: dict[str, _Write], rows: dict[str, _Record | None]
    ) -> None:
        digests = list(batch)
        for index, digest in enumerate(digests):
            one = {digest: batch[digest]}
            try:
                await self._store({digest: rows[digest]})
            except Exception as error:
                if is_infrastructure_error(error):
                    self._fail({d: batch[d] for d in digests[index:]}, error)
                    return
                self._fail(one, error)
            else:
                self._succeed(one, {digest: rows[digest]})

    def _succeed(self, batch: dict[str, _Write], rows: dict[str, _Record | None]) -> None:
        for digest, record in rows.items():
            if record is None:
                self._committed.pop(digest, None)
            else:
                self._committed[digest] = record
            if digest in self._loads:
                self._stale_loads.add(digest)
        for write in batch.values():
            for waiter in write.waiters:
                if not waiter.done():
                    waiter.set_result(None)

    async def _resolve(self, batch: dict[str, _Write]) -> dict[str, _Record | None]:
        """Whole rows for the batch (``None``: delete), a part not written taken from the row."""
        now = self._clock()
        bases: dict[str, _Record | None] = {}
        unknown: list[str] = []
        for digest, write in batch.items():
            if write.state_set and write.data is not None:
                continue
            record = self._committed.get(digest)
            if record is None:
                unknown.append(digest)
            else:
                bases[digest] = record if record.expires_at > now else None
        if unknown:
            # Read before the write transaction, not inside it: on SQLite a read-then-write
            # transaction fails outright (SQLITE_BUSY_SNAPSHOT) when any other connection
            # committed in between. Nobody else writes these rows, so the values stay valid.
            found = await self._fetch(unknown)
            bases.update((d, r) for d, r in found.items() if r.expires_at > now)
        expires_at = now + self._ttl
        rows: dict[str, _Record | None] = {}
        for digest, write in batch.items():
            base = bases.get(digest)
            state = write.state if write.state_set else (base.state if base else None)
            data = write.data if write.data is not None else (base.data if base else EMPTY_DATA)
            # Nothing left to remember (state.clear()): the row goes, the dialog is forgotten.
            empty = state is None and data == EMPTY_DATA
            rows[digest] = None if empty else _Record(state, data, expires_at)
        return rows

    async def _store(self, rows: dict[str, _Record | None], *, alone: bool = False) -> None:
        """Commit ``rows``; ``alone``: nobody else is writing. On SQLite a batch of up to
        ``INLINE_ROWS`` goes on the event loop either way when it can (`_store_inline`): a
        grouped commit through aiosqlite costs each of its writers thread hops and an idle
        event loop waiting for them, more than the WAL append itself."""
        self.commits += 1
        engine = await self._engine() if self._driver_shortcuts else None
        if engine is not None and engine.dialect.driver == "aiosqlite":
            if len(rows) <= INLINE_ROWS and self._store_inline(engine, rows):
                return
            await self._store_on_aiosqlite(engine, rows)
            return
        if engine is not None and engine.dialect.driver == "asyncpg":
            await self._store_on_asyncpg(engine, rows)
            return
        async with self._sessions() as session:
            upserts = [
                {"key": digest, "state": r.state, "data": r.data, "expires_at": r.expires_at}
                for digest, r in rows.items()
                if r is not None
            ]
            deletes = [{"digest": digest} for digest, r in rows.items() if r is None]
            async with session.begin():
                # Core execution with a list of parameter sets: the driver's executemany, one
                # statement for the whole batch, no ORM unit of work.
                connection = await session.connection()
                if upserts:
                    if self._upsert is None:
                        self._upsert = _upsert_statement(session)
                    await connection.execute(self._upsert, upserts)
                if deletes:
                    await connection.execute(_DELETE_BY_KEY, deletes)

    async def _store_on_asyncpg(
        self, engine: AsyncEngine, rows: dict[str, _Record | None]
    ) -> None:
        """The batch as one statement straight on asyncpg: one round trip, atomic on its own
        (a statement outside a transaction block commits when it ends), no session machinery.
        The deletes ride in a data-modifying CTE; no key is both deleted and written."""
        upserts = [(digest, r) for digest, r in rows.items() if r is not None]
        deletes = [digest for digest, r in rows.items() if r is None]
        async with engine.connect() as connection:
            driver = (await connection.get_raw_connection()).driver_connection
            assert driver is not None
            await driver.execute(
                _PG_STORE,
                [digest for digest, _ in upserts],
                [r.state for _, r in upserts],
                [r.data for _, r in upserts],
                [r.expires_at for _, r in upserts],
                deletes,
            )

    def _sqlite_parameters(
        self, engine: AsyncEngine, rows: dict[str, _Record | None]
    ) -> tuple[list[tuple[str, str | None, str, Any]], list[tuple[str]]]:
        if self._expires_bind is None:
            self._expires_bind = _sqlite_datetime(engine.dialect)
        expires = self._expires_bind
        upserts = [
            (digest, r.state, r.data, expires(r.expires_at))
            for digest, r in rows.items()
            if r is not None
        ]
        deletes = [(digest,) for digest, r in rows.items() if r is None]
        return upserts, deletes

    def _store_inline(self, engine: AsyncEngine, rows: dict[str, _Record | None]) -> bool:
        """A few rows committed right here on the event loop through a connection of our own;
        False (nothing done) when another connection holds the write lock or the database
        is not a file.

        aiosqlite runs every call in its own thread: a commit through it takes several thread
        hops, each waiting for the OS to schedule a thread, which on a busy machine costs a
        lone dialog more than everything else it does. In WAL mode with synchronous=NORMAL a
        small commit only appends to the log (no fsync), a few dozen microseconds; the write
        lock is asked for without waiting, so the loop is never blocked behind another writer.

        Only while the engine's pool has every connection at rest: a transaction of the answer
        path that read and is about to write would fail outright (SQLITE_BUSY_SNAPSHOT) if
        another connection committed in between, which with one pooled writer never happens.
        Nothing else runs on the loop until this commit is done, so none can begin meanwhile.
        """
        connection = self._inline_connection(engine)
        if connection is None or pool_in_use(engine):
            return False
        upserts, deletes = self._sqlite_parameters(engine, rows)
        try:
            connection.execute("BEGIN IMMEDIATE")
        except sqlite3.OperationalError as error:
            if locked_code(error.sqlite_errorcode):
                return False  # someone else is writing: queue behind them in the pool
            raise
        try:
            if upserts:
                connection.executemany(_SQLITE_UPSERT, upserts)
            if deletes:
                connection.executemany(_SQLITE_DELETE, deletes)
            connection.execute("COMMIT")
        except BaseException:
            with contextlib.suppress(sqlite3.Error):
                connection.execute("ROLLBACK")
            raise
        return True

    def _inline_connection(self, engine: AsyncEngine | None) -> sqlite3.Connection | None:
        if engine is None or not self._driver_shortcuts or engine.dialect.driver != "aiosqlite":
            return None
        if self._inline is None:
            try:
                self._inline = open_inline_connection(engine) or False
            except InlineBusy:
                return None  # locked now (another process recovering the WAL): next time
        return self._inline or None

    async def _store_on_aiosqlite(
        self, engine: AsyncEngine, rows: dict[str, _Record | None]
    ) -> None:
        """The same transaction straight on the driver: three hops to aiosqlite's thread
        instead of seven through a session."""
        upserts, deletes = self._sqlite_parameters(engine, rows)
        async with engine.connect() as connection:
            driver = (await connection.get_raw_connection()).driver_connection
            assert driver is not None
            await driver.execute("BEGIN")
            try:
                if upserts:
                    await driver.executemany(_SQLITE_UPSERT, upserts)
                if deletes:
                    await driver.executemany(_SQLITE_DELETE, deletes)
                await driver.execute("COMMIT")
            except BaseException:
                # Returning the connection to the pool rolls back as well; this is explicit.
                with contextlib.suppress(Exception):
                    await driver.execute("ROLLBACK")
                raise

    def _fail(self, batch: dict[str, _Write], error: BaseException) -> None:
        reason = _describe(error)
        logger.error("FSM commit of %s dialog writes failed: %s", len(batch), reason)
        for digest, write in batch.items():
            # The outcome is unknown (a COMMIT can fail after the server applied it), so the
            # key is forgotten and the next read asks the database.
            self._committed.pop(digest, None)
            if digest in self._loads:
                self._stale_loads.add(digest)
            for waiter in write.waiters:
                if not waiter.done():
                    waiter.set_exception(FsmCommitError(reason, error))


_SQLITE_UPSERT: Final = (
    "INSERT INTO fsm_states (key, state, data, expires_at) VALUES (?, ?, ?, ?) "
    "ON CONFLICT (key) DO UPDATE SET state = excluded.state, data = excluded.data, "
    "expires_at = excluded.expires_at"
)
_SQLITE_DELETE: Final = "DELETE FROM fsm_states WHERE key = ?"
_PG_STORE: Final = (
    "WITH gone AS (DELETE FROM fsm_states WHERE key = ANY($5::text[])) "
    "INSERT INTO fsm_states (key, state, data, expires_at) "
    "SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::timestamptz[]) "
    "ON CONFLICT (key) DO UPDATE SET state = excluded.state, data = excluded.data, "
    "expires_at = excluded.expires_at"
)
_PG_SELECT: Final = (
    "SELECT key, state, data, expires_at FROM fsm_states WHERE key = ANY($1::text[])"
)


def _sqlite_datetime(dialect: Dialect) -> Callable[[datetime], Any]:
    """How the ``expires_at`` column binds a value on this dialect: the very text the ORM
    writes, so that SQL comparisons of the column stay right."""
    column_type = FsmState.__table__.c.expires_at.type
    process = column_type.dialect_impl(dialect).bind_processor(dialect)
    assert process is not None
    return process


def _sqlite_datetime_result(dialect: Dialect) -> Callable[[Any], datetime]:
    """How the ORM reads ``expires_at`` back on this dialect (text to an aware datetime)."""
    column_type = FsmState.__table__.c.expires_at.type
    process = column_type.dialect_impl(dialect).result_processor(dialect, None)
    assert process is not None
    return cast(Callable[[Any], datetime], process)


def _upsert_statement(session: AsyncSession) -> Executable:
    """The batch upsert of whole rows, in the session's dialect (built once per storage)."""
    insert = insert_on_conflict(session, FsmState)
    return insert.on_conflict_do_update(
        index_elements=[FsmState.key],
        set_={
            "state": insert.excluded.state,
            "data": insert.excluded.data,
            "expires_at": insert.excluded.expires_at,
        },
    )


def _settle(future: asyncio.Future[None] | None) -> None:
    if future is not None and not future.done():
        future.set_result(None)


def _describe(error: BaseException) -> str:
    """What went wrong, without the statement's parameters (the dialog's answers)."""
    if isinstance(error, DBAPIError):
        # str(error) would render the parameters; the driver's own message does not (sqlite3
        # never quotes values, asyncpg keeps row values in .detail, outside str()).
        return f"{type(error.orig).__name__}: {error.orig}"
    if isinstance(error, (OSError, sqlite3.Error)):
        # Driver messages name the table or the failure, never a parameter's value.
        return f"{type(error).__name__}: {error}"
    return type(error).__name__
