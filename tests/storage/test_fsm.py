"""SqlStorage: durable, anonymous aiogram FSM storage with cached reads and group commits."""

from __future__ import annotations

import asyncio
import logging
import sqlite3
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, cast

import pytest
from aiogram.exceptions import DataNotDictLikeError
from aiogram.fsm.state import State, StatesGroup
from aiogram.fsm.storage.base import StorageKey
from sqlalchemy import Connection, delete, event, func, select
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from storage.database import create_session_factory
from storage.fsm import FsmCommitError, SqlStorage, storage_key_digest
from storage.models import FsmState
from tests.storage.conftest import ScratchDatabase

PEPPER = b"test-pepper-0123456789abcdef"
BOT_ID = 4_242_424_242
# Distinctive ids, so a scan of the table cannot miss them by coincidence.
CHAT_ID = 731_905_512_377
USER_ID = 986_124_307_551
KEY = StorageKey(bot_id=BOT_ID, chat_id=CHAT_ID, user_id=USER_ID)


class Poll(StatesGroup):
    answering = State()


class Clock:
    """An injectable clock the test moves by hand."""

    def __init__(self) -> None:
        self.now = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now


def _key(number: int) -> StorageKey:
    return StorageKey(bot_id=BOT_ID, chat_id=CHAT_ID + number, user_id=USER_ID + number)


@pytest.fixture
async def fsm(sessions: async_sessionmaker[AsyncSession]) -> AsyncIterator[SqlStorage]:
    storage = SqlStorage(sessions, PEPPER)
    try:
        yield storage
    finally:
        await storage.close()


async def _rows(sessions: async_sessionmaker[AsyncSession]) -> list[FsmState]:
    async with sessions() as session:
        return list((await session.scalars(select(FsmState))).all())


async def _row_count(sessions: async_sessionmaker[AsyncSession]) -> int:
    async with sessions() as session:
        return (await session.scalar(select(func.count()).select_from(FsmState))) or 0


@asynccontextmanager
async def _database_refusing_writes(engine: AsyncEngine) -> AsyncIterator[None]:
    """The database fails every write to fsm_states, on every connection (a trigger)."""
    if engine.dialect.name == "sqlite":
        create = [
            f"CREATE TRIGGER refuse_{when} BEFORE {when} ON fsm_states "
            "BEGIN SELECT RAISE(ABORT, 'database went away'); END"
            for when in ("insert", "update", "delete")
        ]
        drop = [f"DROP TRIGGER refuse_{when}" for when in ("insert", "update", "delete")]
    else:
        create = [
            "CREATE FUNCTION refuse_writes() RETURNS trigger LANGUAGE plpgsql AS "
            "$$ BEGIN RAISE EXCEPTION 'database went away'; END $$",
            "CREATE TRIGGER refuse BEFORE INSERT OR UPDATE OR DELETE ON fsm_states "
            "FOR EACH ROW EXECUTE FUNCTION refuse_writes()",
        ]
        drop = ["DROP TRIGGER refuse ON fsm_states", "DROP FUNCTION refuse_writes()"]
    async with engine.begin() as connection:
        for statement in create:
            await connection.exec_driver_sql(statement)
    try:
        yield
    finally:
        async with engine.begin() as connection:
            for statement in drop:
                await connection.exec_driver_sql(statement)


# --- round trip and restart ---------------------------------------------------------------


async def test_state_and_data_round_trip(fsm: SqlStorage) -> None:
    await fsm.set_state(KEY, Poll.answering)
    await fsm.set_data(KEY, {"cursor": "q2", "answers": {"q1": 4}, "text": "Очередь"})
    assert await fsm.update_data(KEY, {"cursor": "q3"}) == {
        "cursor": "q3",
        "answers": {"q1": 4},
        "text": "Очередь",
    }

    assert await fsm.get_state(KEY) == "Poll:answering"
    assert await fsm.get_data(KEY) == {"cursor": "q3", "answers": {"q1": 4}, "text": "Очередь"}
    assert await fsm.get_value(KEY, "cursor") == "q3"


async def test_an_unknown_key_has_no_state_and_empty_data(fsm: SqlStorage) -> None:
    assert await fsm.get_state(KEY) is None
    assert await fsm.get_data(KEY) == {}


async def test_get_data_returns_a_copy_the_caller_may_mutate(fsm: SqlStorage) -> None:
    data: dict[str, Any] = {"answers": {"q1": 4}}
    await fsm.set_data(KEY, data)
    data["answers"]["q1"] = 1  # mutating what was passed in changes nothing stored
    read = await fsm.get_data(KEY)
    read["answers"]["q1"] = 2
    assert await fsm.get_data(KEY) == {"answers": {"q1": 4}}


async def test_dialog_survives_a_new_storage_on_a_new_engine(
    database: ScratchDatabase, fsm: SqlStorage
) -> None:
    await fsm.set_state(KEY, Poll.answering)
    await fsm.set_data(KEY, {"cursor": "q5"})
    await fsm.close()

    engine = database.engine()
    restarted = SqlStorage(create_session_factory(engine), PEPPER)
    try:
        assert await restarted.get_state(KEY) == "Poll:answering"
        assert await restarted.get_data(KEY) == {"cursor": "q5"}
    finally:
        await restarted.close()
        await engine.dispose()


async def test_state_and_data_written_together_are_merged_into_one_row(
    fsm: SqlStorage, sessions: async_sessionmaker[AsyncSession]
) -> None:
    await asyncio.gather(
        fsm.set_state(KEY, Poll.answering),
        fsm.set_data(KEY, {"cursor": "q1"}),
        fsm.set_data(KEY, {"cursor": "q2"}),  # the last write of a part wins
    )
    assert fsm.commits == 1
    [row] = await _rows(sessions)
    assert (row.state, row.data) == ("Poll:answering", '{"cursor":"q2"}')


async def test_writing_one_part_keeps_the_other_part_of_an_uncached_row(
    fsm: SqlStorage, sessions: async_sessionmaker[AsyncSession]
) -> None:
    await fsm.set_state(KEY, Poll.answering)
    await fsm.set_data(KEY, {"cursor": "q1"})
    fresh = SqlStorage(sessions, PEPPER)  # nothing cached: the writer must read the row
    try:
        await fresh.set_state(KEY, "Poll:review")
        assert await fresh.get_data(KEY) == {"cursor": "q1"}
    finally:
        await fresh.close()
    async with sessions() as session:
        row = await session.get(FsmState, storage_key_digest(KEY, PEPPER))
    assert row is not None and (row.state, row.data) == ("Poll:review", '{"cursor":"q1"}')


# --- forgetting and anonymity -------------------------------------------------------------


async def test_clear_deletes_the_row(
    fsm: SqlStorage, sessions: async_sessionmaker[AsyncSession]
) -> None:
    await fsm.set_state(KEY, Poll.answering)
    await fsm.set_data(KEY, {"cursor": "q1"})
    assert await _row_count(sessions) == 1

    await fsm.set_state(KEY, None)  # what FSMContext.clear() does
    await fsm.set_data(KEY, {})

    assert await _row_count(sessions) == 0
    assert await fsm.get_state(KEY) is None
    assert await fsm.get_data(KEY) == {}


async def test_one_batch_deletes_some_dialogs_and_writes_others(
    fsm: SqlStorage, sessions: async_sessionmaker[AsyncSession]
) -> None:
    # On PostgreSQL the batch is one statement (deletes in a CTE beside the upsert).
    await asyncio.gather(*(fsm.set_data(_key(n), {"cursor": f"q{n}"}) for n in range(4)))
    await asyncio.gather(
        fsm.set_data(_key(0), {}),
        fsm.set_data(_key(1), {}),
        fsm.set_data(_key(2), {"cursor": "next"}),
        fsm.set_data(_key(5), {"cursor": "new"}),
    )
    assert await _row_count(sessions) == 3
    async with sessions() as session:
        rows = {
            row.key: row.data
            for row in await session.scalars(select(FsmState).order_by(FsmState.key))
        }
    assert rows == {
        storage_key_digest(_key(2), PEPPER): '{"cursor":"next"}',
        storage_key_digest(_key(3), PEPPER): '{"cursor":"q3"}',
        storage_key_digest(_key(5), PEPPER): '{"cursor":"new"}',
    }


async def test_rows_hold_no_raw_telegram_id_only_the_keyed_hash(
    fsm: SqlStorage, sessions: async_sessionmaker[AsyncSession]
) -> None:
    thread_key = StorageKey(
        bot_id=BOT_ID,
        chat_id=CHAT_ID,
        user_id=USER_ID,
        thread_id=553_219_877,
        business_connection_id="bizconn-77120",
    )
    for key in (KEY, thread_key):
        await fsm.set_state(key, Poll.answering)
        await fsm.set_data(key, {"cursor": "q1", "answers": {"q1": 5}})

    rows = await _rows(sessions)
    assert {row.key for row in rows} == {
        storage_key_digest(KEY, PEPPER),
        storage_key_digest(thread_key, PEPPER),
    }
    identities = {str(BOT_ID), str(CHAT_ID), str(USER_ID), "553219877", "bizconn-77120"}
    for row in rows:
        values = " ".join(str(getattr(row, column)) for column in ("key", "state", "data"))
        values += " " + row.expires_at.isoformat()
        assert not [identity for identity in identities if identity in values]


def test_the_digest_covers_every_part_of_the_key_and_the_pepper() -> None:
    digest = storage_key_digest(KEY, PEPPER)
    assert len(digest) == 64 and int(digest, 16) >= 0
    variants = [
        StorageKey(bot_id=BOT_ID + 1, chat_id=CHAT_ID, user_id=USER_ID),
        StorageKey(bot_id=BOT_ID, chat_id=CHAT_ID + 1, user_id=USER_ID),
        StorageKey(bot_id=BOT_ID, chat_id=CHAT_ID, user_id=USER_ID + 1),
        StorageKey(bot_id=BOT_ID, chat_id=CHAT_ID, user_id=USER_ID, thread_id=1),
        StorageKey(bot_id=BOT_ID, chat_id=CHAT_ID, user_id=USER_ID, business_connection_id="b"),
        StorageKey(bot_id=BOT_ID, chat_id=CHAT_ID, user_id=USER_ID, destiny="scene"),
    ]
    digests = {storage_key_digest(variant, PEPPER) for variant in variants}
    assert len(digests) == len(variants) and digest not in digests
    assert storage_key_digest(KEY, PEPPER + b"!") != digest
    # Joined parts must not collide: (1, 23) versus (12, 3).
    assert storage_key_digest(StorageKey(bot_id=1, chat_id=1, user_id=23), PEPPER) != (
        storage_key_digest(StorageKey(bot_id=1, chat_id=12, user_id=3), PEPPER)
    )


def test_a_short_pepper_is_refused(sessions: async_sessionmaker[AsyncSession]) -> None:
    with pytest.raises(ValueError, match="pepper"):
        SqlStorage(sessions, b"short")


# --- group commit -------------------------------------------------------------------------


async def test_200_concurrent_writers_share_a_few_commits_and_survive_a_restart(
    database: ScratchDatabase, fsm: SqlStorage
) -> None:
    keys = [_key(number) for number in range(200)]
    await asyncio.gather(*(fsm.set_data(key, {"cursor": f"q{n}"}) for n, key in enumerate(keys)))
    assert 1 <= fsm.commits <= 10
    await fsm.close()

    restarted_engine = database.engine()
    restarted = SqlStorage(create_session_factory(restarted_engine), PEPPER)
    try:
        read = await asyncio.gather(*(restarted.get_data(key) for key in keys))
    finally:
        await restarted.close()
        await restarted_engine.dispose()
    assert read == [{"cursor": f"q{n}"} for n in range(200)]


async def test_writers_arriving_during_a_commit_join_the_next_one(fsm: SqlStorage) -> None:
    async def dialog(number: int) -> None:
        for step in range(5):
            await fsm.update_data(_key(number), {"cursor": f"q{step}"})

    await asyncio.gather(*(dialog(number) for number in range(50)))
    # 250 writes; each dialog's writes are sequential, so at least 5 commits are needed.
    assert 5 <= fsm.commits <= 25
    assert await fsm.get_data(_key(49)) == {"cursor": "q4"}


# 5 keys: a lone commit (on SQLite written on the event loop); 20: a batch through the pool.
@pytest.mark.parametrize("dialogs", [5, 20])
async def test_a_failed_commit_raises_to_every_waiter_and_keeps_the_committed_value(
    fsm: SqlStorage,
    engine: AsyncEngine,
    sessions: async_sessionmaker[AsyncSession],
    dialogs: int,
) -> None:
    keys = [_key(number) for number in range(dialogs)]
    for key in keys:
        await fsm.set_data(key, {"cursor": "committed"})

    async with _database_refusing_writes(engine):
        results = await asyncio.gather(
            *(fsm.set_data(key, {"cursor": "lost"}) for key in keys),
            fsm.set_state(keys[0], Poll.answering),
            return_exceptions=True,
        )

    assert len(results) == dialogs + 1
    assert all(isinstance(result, FsmCommitError) for result in results)
    assert all(isinstance(result.original, Exception) for result in results)  # type: ignore[union-attr]
    assert [await fsm.get_data(key) for key in keys] == [{"cursor": "committed"}] * dialogs
    assert await fsm.get_state(keys[0]) is None
    # The storage recovers once the database does.
    await fsm.set_data(keys[0], {"cursor": "q2"})
    fresh = SqlStorage(sessions, PEPPER)
    try:
        assert await fresh.get_data(keys[0]) == {"cursor": "q2"}
        assert await fresh.get_data(keys[1]) == {"cursor": "committed"}
    finally:
        await fresh.close()


async def test_a_missing_table_fails_the_write_without_logging_answers_or_ids(
    database: ScratchDatabase, caplog: pytest.LogCaptureFixture
) -> None:
    engine = database.engine()  # not migrated: no fsm_states
    storage = SqlStorage(create_session_factory(engine), PEPPER)
    answer = "в окне 5 мне нагрубили"
    try:
        with (
            caplog.at_level(logging.DEBUG, logger="storage.fsm"),
            pytest.raises(FsmCommitError) as raised,
        ):
            await storage.set_data(KEY, {"comment": answer})
    finally:
        await storage.close()
        await engine.dispose()
    # SQLAlchemy would render the parameters into its message: none of it may leak.
    assert raised.value.__cause__ is None and raised.value.__context__ is None
    logged = caplog.text + str(raised.value)
    assert "commit" in caplog.text
    for secret in (answer, str(CHAT_ID), str(USER_ID), storage_key_digest(KEY, PEPPER)):
        assert secret not in logged


class _HeldCommits:
    """Stands in for the storage's commit step: each commit waits until ``release`` is set."""

    def __init__(self, storage: SqlStorage) -> None:
        self.entered = asyncio.Event()
        self.release = asyncio.Event()
        self._store = storage._store
        storage._store = self  # type: ignore[method-assign]

    async def __call__(self, rows: dict[str, Any], *, alone: bool = False) -> None:
        self.entered.set()
        await self.release.wait()
        await self._store(rows, alone=alone)


async def test_a_pending_write_is_invisible_until_committed(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    storage = SqlStorage(sessions, PEPPER)
    held = _HeldCommits(storage)
    try:
        write = asyncio.create_task(storage.set_data(KEY, {"cursor": "q1"}))
        await held.entered.wait()
        assert not write.done()
        assert await storage.get_data(KEY) == {}
        assert await _row_count(sessions) == 0
    finally:
        held.release.set()
        await storage.close()
    await write
    assert await _row_count(sessions) == 1


async def _stored_data(sessions: async_sessionmaker[AsyncSession], key: StorageKey) -> str:
    async with sessions() as session:
        row = await session.get(FsmState, storage_key_digest(key, PEPPER))
    assert row is not None
    return row.data


async def test_a_lone_dialog_commits_each_write_at_once_durable_when_it_returns(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    # An hour of grouping delay: a write that waited for company would never finish here.
    storage = SqlStorage(sessions, PEPPER, flush_interval=3600.0)
    try:
        await asyncio.wait_for(storage.set_state(KEY, Poll.answering), timeout=30)
        for step in range(1, 4):
            await asyncio.wait_for(storage.update_data(KEY, {"cursor": step}), timeout=30)
            # Durable before the handler may reply: the database already holds it.
            assert await _stored_data(sessions, KEY) == f'{{"cursor":{step}}}'
        assert storage.commits == 4
        assert storage.grouped_commits == 0
    finally:
        await storage.close()


async def test_reads_missing_from_the_cache_in_one_turn_are_loaded_in_one_query(
    sessions: async_sessionmaker[AsyncSession], engine: AsyncEngine
) -> None:
    keys = [_key(number) for number in range(50)]
    writer = SqlStorage(sessions, PEPPER)
    await asyncio.gather(*(writer.set_data(key, {"n": n}) for n, key in enumerate(keys)))
    await writer.close()
    selects: list[str] = []

    def on_execute(_conn: Connection, _cursor: Any, statement: str, *_args: Any) -> None:
        if statement.lstrip().upper().startswith("SELECT"):
            selects.append(statement)

    # Through the session factory, where the statements can be counted.
    storage = SqlStorage(sessions, PEPPER, driver_shortcuts=False)
    event.listen(engine.sync_engine, "before_cursor_execute", on_execute)
    try:
        read = await asyncio.gather(
            *(storage.get_data(key) for key in keys), storage.get_state(_key(999))
        )
    finally:
        event.remove(engine.sync_engine, "before_cursor_execute", on_execute)
        await storage.close()
    assert read == [{"n": n} for n in range(50)] + [None]
    assert len(selects) == 1


async def test_a_lone_sqlite_write_takes_no_pooled_connection(
    database: ScratchDatabase, engine: AsyncEngine, sessions: async_sessionmaker[AsyncSession]
) -> None:
    if database.backend != "sqlite":
        pytest.skip("the lone-commit shortcut is SQLite's")
    storage = SqlStorage(sessions, PEPPER)
    checkouts: list[int] = []

    def on_checkout(*_args: Any) -> None:
        checkouts.append(1)

    try:
        await storage.set_state(KEY, Poll.answering)  # cached: the next write reads nothing
        event.listen(engine.sync_engine.pool, "checkout", on_checkout)
        try:
            # Committed on the event loop through the storage's own connection: no hop to
            # aiosqlite's thread.
            await storage.set_data(KEY, {"cursor": "q1"})
        finally:
            event.remove(engine.sync_engine.pool, "checkout", on_checkout)
        assert checkouts == []
        assert await _stored_data(sessions, KEY) == '{"cursor":"q1"}'
    finally:
        await storage.close()


async def test_a_dialog_deleted_on_the_lone_commit_path_leaves_no_bytes_in_the_file(
    database: ScratchDatabase, engine: AsyncEngine, sessions: async_sessionmaker[AsyncSession]
) -> None:
    # Issue 8 (review of the merged pipeline work): the storage's own SQLite connection must
    # overwrite deleted rows like the engine's do, or a finished dialog's answers stay in a
    # free page of the file until the nightly rebuild.
    if database.backend != "sqlite":
        pytest.skip("the lone-commit shortcut is SQLite's")
    from storage.database import checkpoint_wal

    marker = "unmistakable-partial-answer-4711"
    storage = SqlStorage(sessions, PEPPER)
    try:
        # Another dialog on the same page: the page is not simply emptied and reset.
        await storage.set_data(_key(2), {"cursor": "someone-else"})
        await storage.set_state(KEY, Poll.answering)
        await storage.set_data(KEY, {"cursor": marker})
        assert await _stored_data(sessions, KEY) == f'{{"cursor":"{marker}"}}'
        await storage.set_state(KEY, None)
        await storage.set_data(KEY, {})  # the dialog ends: its row is deleted
        async with sessions() as session:
            assert await session.get(FsmState, storage_key_digest(KEY, PEPPER)) is None
        assert await checkpoint_wal(engine)
        # Whatever this SQLite build's defaults: the same settings as the engine's connections.
        inline = storage._inline
        assert isinstance(inline, sqlite3.Connection), "the lone commits took the shortcut"
        assert inline.execute("PRAGMA secure_delete").fetchone()[0] == 1
        assert inline.execute("PRAGMA journal_size_limit").fetchone()[0] == 0
    finally:
        await storage.close()
    path = Path(str(make_url(database.url).database))
    files = [path, *(Path(f"{path}{suffix}") for suffix in ("-wal", "-journal"))]
    assert not any(marker.encode() in f.read_bytes() for f in files if f.exists())


async def test_a_lone_write_never_commits_inside_another_transaction_of_the_pool(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    storage = SqlStorage(sessions, PEPPER)
    try:
        await storage.set_state(KEY, Poll.answering)
        async with sessions.begin() as session:
            # A transaction that reads, then writes (as enrolment or a poll answer does).
            await session.scalar(select(func.count()).select_from(FsmState))
            write = asyncio.create_task(storage.set_data(KEY, {"cursor": "q1"}))
            await asyncio.sleep(0.1)
            # On SQLite another connection committing in between would fail this write.
            await session.execute(delete(FsmState).where(FsmState.key == "absent"))
        await asyncio.wait_for(write, timeout=30)
        assert await _stored_data(sessions, KEY) == '{"cursor":"q1"}'
    finally:
        await storage.close()


async def test_a_lone_write_waits_its_turn_while_another_connection_holds_the_lock(
    database: ScratchDatabase, sessions: async_sessionmaker[AsyncSession], fsm: SqlStorage
) -> None:
    if database.backend != "sqlite":
        pytest.skip("the lone-commit shortcut is SQLite's")
    await fsm.set_data(_key(1), {"cursor": "q1"})  # the shortcut's connection is open now
    path = make_url(database.url).database
    assert path is not None
    other = sqlite3.connect(path, isolation_level=None)
    try:
        other.execute("BEGIN IMMEDIATE")  # another writer, e.g. a report or a migration
        write = asyncio.create_task(fsm.set_data(KEY, {"cursor": "q1"}))
        await asyncio.sleep(0.2)
        # Not failed and not blocking the event loop (this test runs): queued in the pool.
        assert not write.done()
        other.execute("COMMIT")
        await asyncio.wait_for(write, timeout=30)
    finally:
        other.close()
    assert await _stored_data(sessions, KEY) == '{"cursor":"q1"}'


async def test_writes_arriving_during_a_commit_wait_for_company_and_share_one_commit(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    storage = SqlStorage(sessions, PEPPER, flush_interval=0.5)
    held = _HeldCommits(storage)
    try:
        first = asyncio.create_task(storage.set_data(_key(0), {"cursor": "q1"}))
        await held.entered.wait()
        # Others answer while the first commit runs, one event-loop turn apart.
        during = []
        for number in range(1, 6):
            during.append(asyncio.create_task(storage.set_data(_key(number), {"n": number})))
            await asyncio.sleep(0)
        held.release.set()
        await first
        # Under load the next commit waits for company: these join the five above.
        late = [storage.set_data(_key(number), {"n": number}) for number in range(6, 9)]
        await asyncio.gather(*during, *late)
        assert storage.commits == 2
        assert storage.grouped_commits == 1
        assert await _row_count(sessions) == 9
    finally:
        await storage.close()


async def test_a_grouped_sqlite_commit_also_takes_no_pooled_connection(
    database: ScratchDatabase, engine: AsyncEngine, sessions: async_sessionmaker[AsyncSession]
) -> None:
    # Issue 12 item 5: under concurrency (ten web forms at once) a grouped commit through
    # aiosqlite cost its writers thread hops and left the event loop idle waiting for them.
    if database.backend != "sqlite":
        pytest.skip("the inline commit is SQLite's")
    storage = SqlStorage(sessions, PEPPER, flush_interval=0.01)
    checkouts: list[int] = []

    def on_checkout(*_args: Any) -> None:
        checkouts.append(1)

    try:
        # Cached, so the commits below read nothing; the inline connection is open.
        await asyncio.gather(*(storage.set_state(_key(n), Poll.answering) for n in range(12)))
        held = _HeldCommits(storage)
        first = asyncio.create_task(storage.set_data(_key(0), {"n": 0}))
        await held.entered.wait()
        event.listen(engine.sync_engine.pool, "checkout", on_checkout)
        try:
            during = []
            for number in range(1, 12):  # others answer while the first commit runs
                during.append(asyncio.create_task(storage.set_data(_key(number), {"n": number})))
                await asyncio.sleep(0)
            held.release.set()
            await asyncio.gather(first, *during)
        finally:
            event.remove(engine.sync_engine.pool, "checkout", on_checkout)
        assert storage.grouped_commits >= 1  # the eleven were committed as a group
        assert checkouts == []
        for number in range(12):
            assert await _stored_data(sessions, _key(number)) == f'{{"n":{number}}}'
    finally:
        await storage.close()


async def test_data_json_cannot_hold_fails_only_its_own_caller(fsm: SqlStorage) -> None:
    results = await asyncio.gather(
        fsm.set_data(_key(1), {"when": datetime.now(UTC)}),
        fsm.set_data(_key(2), {"cursor": "q1"}),
        return_exceptions=True,
    )
    assert isinstance(results[0], TypeError) and results[1] is None
    assert await fsm.get_data(_key(1)) == {}
    with pytest.raises(DataNotDictLikeError):
        await fsm.set_data(KEY, [("cursor", "q1")])  # type: ignore[arg-type]


async def test_a_row_the_database_refuses_fails_only_its_own_dialog(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    # Issue 9: one bad row failed every dialog of its group commit. A lone surrogate (JSON
    # from Telegram may carry one) passes json.dumps but no driver can encode it.
    storage = SqlStorage(sessions, PEPPER, flush_interval=0.05)
    try:
        results = await asyncio.gather(
            storage.set_data(_key(1), {"cursor": "q1"}),
            storage.set_data(_key(2), {"comment": "\ud800"}),
            storage.set_state(_key(3), Poll.answering),
            return_exceptions=True,
        )
        assert results[0] is None and results[2] is None
        assert isinstance(results[1], FsmCommitError)
    finally:
        await storage.close()
    fresh = SqlStorage(sessions, PEPPER)
    try:
        assert await fresh.get_data(_key(1)) == {"cursor": "q1"}
        assert await fresh.get_state(_key(3)) == Poll.answering.state
        assert await fresh.get_data(_key(2)) == {}
    finally:
        await fresh.close()


async def test_database_outage_is_not_retried_row_by_row(
    fsm: SqlStorage, engine: AsyncEngine, monkeypatch: pytest.MonkeyPatch
) -> None:
    import sqlite3

    import asyncpg.exceptions
    from sqlalchemy.exc import OperationalError

    attempts: list[int] = []
    # The failure as each write path raises it: SQLAlchemy's, or the driver's own on the
    # storage's driver shortcuts.
    down: list[BaseException] = [
        OperationalError("COMMIT", {}, ConnectionRefusedError("down")),
        sqlite3.OperationalError("disk I/O error"),
        asyncpg.exceptions.ConnectionDoesNotExistError("connection was closed"),
    ]
    for failure in down:
        attempts.clear()

        async def refuse(
            *args: object, failure: BaseException = failure, **kwargs: object
        ) -> None:
            attempts.append(1)
            raise failure

        monkeypatch.setattr(fsm, "_store", refuse)
        results = await asyncio.gather(
            *(fsm.set_data(_key(n), {"cursor": "q"}) for n in range(4)), return_exceptions=True
        )
        assert all(isinstance(result, FsmCommitError) for result in results), failure
        assert len(attempts) == 1, failure


async def test_close_commits_pending_writes_and_refuses_new_ones(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    storage = SqlStorage(sessions, PEPPER, flush_interval=10.0)  # would wait ten seconds
    held = _HeldCommits(storage)
    first = asyncio.create_task(storage.set_data(_key(1), {"cursor": "q1"}))
    await held.entered.wait()
    second = asyncio.create_task(storage.set_data(KEY, {"cursor": "q1"}))
    await asyncio.sleep(0)
    held.release.set()
    await first  # the writer now waits for company for the second write
    await asyncio.wait_for(storage.close(), timeout=5)
    await second
    assert await _row_count(sessions) == 2
    with pytest.raises(RuntimeError, match="closed"):
        await storage.set_state(KEY, Poll.answering)


class _FirstSessionWaits:
    """A session factory whose first session, once closed, holds its caller until released.

    The hold comes after the connection went back to the pool, so it also works with a pool
    of one connection: the load has read the old row and lost the race to a commit.
    """

    def __init__(self, sessions: async_sessionmaker[AsyncSession]) -> None:
        self.sessions = sessions
        self.calls = 0
        self.read = asyncio.Event()
        self.release = asyncio.Event()

    def __call__(self) -> AsyncSession:
        self.calls += 1
        session = self.sessions()
        if self.calls == 1:
            close = session.close

            async def held() -> None:
                await close()
                self.read.set()
                await self.release.wait()

            session.close = held  # type: ignore[method-assign]
        return session


async def test_a_load_overtaken_by_a_commit_does_not_cache_the_older_row(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    first = SqlStorage(sessions, PEPPER)
    await first.set_data(KEY, {"cursor": "old"})
    await first.close()

    factory = _FirstSessionWaits(sessions)
    # Through the session factory: the SQLite shortcut reads without awaiting, leaving no race.
    storage = SqlStorage(
        cast(async_sessionmaker[AsyncSession], factory),
        PEPPER,
        flush_interval=0,
        driver_shortcuts=False,
    )
    try:
        reader = asyncio.create_task(storage.get_data(KEY))
        await factory.read.wait()  # the load holds the old row
        await storage.set_data(KEY, {"cursor": "new"})
        factory.release.set()
        assert await reader in ({"cursor": "old"}, {"cursor": "new"})
        assert await storage.get_data(KEY) == {"cursor": "new"}
    finally:
        await storage.close()


# --- expiry -------------------------------------------------------------------------------


async def test_an_expired_dialog_reads_empty_and_a_new_write_does_not_revive_it(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    clock = Clock()
    storage = SqlStorage(sessions, PEPPER, ttl=timedelta(hours=1), clock=clock)
    try:
        await storage.set_state(KEY, Poll.answering)
        await storage.set_data(KEY, {"cursor": "q3"})
        clock.now += timedelta(minutes=59)
        assert await storage.get_data(KEY) == {"cursor": "q3"}

        clock.now += timedelta(minutes=2)
        assert await storage.get_state(KEY) is None
        assert await storage.get_data(KEY) == {}

        await storage.set_state(KEY, Poll.answering)  # a new dialog starts from scratch
        assert await storage.get_data(KEY) == {}
    finally:
        await storage.close()


async def test_an_expired_row_reads_empty_after_a_restart(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    clock = Clock()
    first = SqlStorage(sessions, PEPPER, ttl=timedelta(hours=1), clock=clock)
    await first.set_data(KEY, {"cursor": "q3"})
    await first.close()
    clock.now += timedelta(hours=2)
    restarted = SqlStorage(sessions, PEPPER, ttl=timedelta(hours=1), clock=clock)
    try:
        assert await restarted.get_data(KEY) == {}
        await restarted.set_state(KEY, Poll.answering)  # the uncached base is expired too
        assert await restarted.get_data(KEY) == {}
    finally:
        await restarted.close()


async def test_purge_expired_deletes_only_expired_rows(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    clock = Clock()
    storage = SqlStorage(sessions, PEPPER, ttl=timedelta(days=7), clock=clock)
    try:
        await storage.set_data(_key(1), {"cursor": "old"})
        await storage.set_data(_key(2), {"cursor": "old"})
        clock.now += timedelta(days=6)
        await storage.set_data(_key(3), {"cursor": "recent"})
        clock.now += timedelta(days=2)

        assert await storage.purge_expired() == 2
        assert await storage.purge_expired() == 0
        assert await _row_count(sessions) == 1
        assert await storage.get_data(_key(3)) == {"cursor": "recent"}
        assert await storage.get_data(_key(1)) == {}
    finally:
        await storage.close()
