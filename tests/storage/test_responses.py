"""ResponseStore: grouped transactions in random row order, batch isolation, purge of keys."""

from __future__ import annotations

import asyncio
import dataclasses
import sqlite3
import uuid
from datetime import date, timedelta
from typing import Any

import pytest
from sqlalchemy import delete, event, func, insert, select
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError, IntegrityError, OperationalError
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker
from sqlalchemy.orm import selectinload

import storage.responses
import storage.sqlite_inline
from questionnaires.results import CANNOT_RATE, AnswerRow, CompletedResponse, ResponseContext
from storage.database import create_session_factory
from storage.models import Answer, DedupKey, Response
from storage.models_reporting import ReportAnswer
from storage.responses import DedupClaim, ResponseStore
from tests.storage.conftest import ScratchDatabase

TODAY = date(2025, 3, 14)

EVERY_KIND_OF_ANSWER = (
    AnswerRow("overall", number=4),  # scale
    AnswerRow("nps", number=0),  # nps: zero is a value, not "missing"
    AnswerRow("politeness", option_id=CANNOT_RATE),  # scale, "cannot rate"
    AnswerRow("solved", option_id="partly"),  # single choice
    AnswerRow("obstacles", option_id="queue"),  # multiple choice: one row per option
    AnswerRow("obstacles", option_id="other", text="Не работал терминал"),  # … "other" + text
    AnswerRow("comment", text="Спасибо, всё быстро 👍\nВторая строка"),  # free text
)


def _response(
    *answers: AnswerRow, service: str | None = "passport", on: date = TODAY
) -> CompletedResponse:
    return CompletedResponse(
        questionnaire_id="post_service",
        questionnaire_version=3,
        kind="rating",
        audience="external",
        context=ResponseContext(service=service, channel="mfc", life_situation="birth"),
        submitted_on=on,
        answers=answers,
    )


async def _count(sessions: async_sessionmaker[AsyncSession], model: type) -> int:
    async with sessions() as session:
        return (await session.scalar(select(func.count()).select_from(model))) or 0


async def test_saved_response_reads_back_with_every_kind_of_answer(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    store = ResponseStore(sessions)

    await store.save(_response(*EVERY_KIND_OF_ANSWER))

    async with sessions() as session:
        stored = (
            await session.scalars(select(Response).options(selectinload(Response.answers)))
        ).one()
    assert isinstance(stored.id, uuid.UUID) and stored.id.version == 4
    assert (stored.questionnaire_id, stored.questionnaire_version) == ("post_service", 3)
    assert (stored.kind, stored.audience) == ("rating", "external")
    assert (stored.service_code, stored.channel_code, stored.life_situation_code) == (
        "passport",
        "mfc",
        "birth",
    )
    assert stored.submitted_on == TODAY and type(stored.submitted_on) is date
    read_back = tuple(
        AnswerRow(a.question_id, option_id=a.option_id, number=a.number, text=a.text)
        for a in stored.answers
    )
    # Answer ids are random (issue 8) but sorted within a response: the questionnaire's order.
    assert read_back == EVERY_KIND_OF_ANSWER
    assert all(isinstance(a.id, uuid.UUID) and a.id.version == 4 for a in stored.answers)


async def test_response_without_context_or_answers_is_stored(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    store = ResponseStore(sessions)
    response = CompletedResponse("staff", 1, "staff_poll", "internal", ResponseContext(), TODAY)

    await store.save(response)

    async with sessions() as session:
        stored = (await session.scalars(select(Response))).one()
    assert (stored.service_code, stored.channel_code, stored.life_situation_code) == (
        None,
        None,
        None,
    )
    assert await _count(sessions, Answer) == 0


async def test_purge_removes_only_keys_expired_before_today(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    store = ResponseStore(sessions)
    async with sessions.begin() as session:
        for key, expires_on in (
            ("1" * 64, TODAY - timedelta(days=400)),
            ("2" * 64, TODAY - timedelta(days=1)),
            ("3" * 64, TODAY),
            ("4" * 64, TODAY + timedelta(days=1)),
        ):
            session.add(DedupKey(key=key, scope="window:1", expires_on=expires_on))
    await store.save(_response(AnswerRow("overall", number=5)))

    assert await store.purge_expired_dedup_keys(TODAY) == 2
    assert await store.purge_expired_dedup_keys(TODAY) == 0

    async with sessions() as session:
        left = set(await session.scalars(select(DedupKey.key)))
    assert left == {"3" * 64, "4" * 64}
    assert await _count(sessions, Response) == 1  # purging keys never touches responses


async def test_saving_writes_no_key_of_any_kind(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    # Issue 8: a key written in the response's transaction links the two for a database reader.
    store = ResponseStore(sessions)
    await asyncio.gather(*(store.save(_response(AnswerRow("overall", number=n))) for n in (1, 5)))
    assert await _count(sessions, Response) == 2
    assert await _count(sessions, DedupKey) == 0


def _once(key: str) -> DedupClaim:
    return DedupClaim(key * 64, "completed", TODAY + timedelta(days=2))


async def test_a_response_saved_again_with_its_key_is_not_stored_twice(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    """A dialog's completion repeated after its commit (the worker died before clearing the
    dialog) carries the same key: it is reported as stored before, and nothing is written."""
    store = ResponseStore(sessions)
    response = _response(*EVERY_KIND_OF_ANSWER)
    assert await store.save(response, once=_once("a")) is True
    assert await store.save(response, once=_once("a")) is False
    assert await store.save(response, once=_once("b")) is True  # another dialog's completion
    assert await store.save(response) is True  # no key: never taken for a repeat
    assert await _count(sessions, Response) == 3
    assert await _count(sessions, Answer) == 3 * len(EVERY_KIND_OF_ANSWER)
    assert await _count(sessions, ReportAnswer) == 3 * len(EVERY_KIND_OF_ANSWER)
    async with sessions() as session:
        keys = {(key.key, key.scope) for key in await session.scalars(select(DedupKey))}
    assert keys == {("a" * 64, "completed"), ("b" * 64, "completed")}
    assert store.activity.report()[storage.responses.STORED_RESPONSES] == 3


async def test_the_same_key_twice_in_one_batch_is_stored_once(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    store = ResponseStore(sessions, flush_interval=0.01)
    blocker = asyncio.create_task(store.save(_response(AnswerRow("overall", number=1))))
    await asyncio.sleep(0)  # the writer is busy: the next saves share a batch
    results = await asyncio.gather(
        *(store.save(_response(AnswerRow("overall", number=5)), once=_once("c")) for _ in "xy")
    )
    await blocker
    assert sorted(results) == [False, True]
    assert await _count(sessions, Response) == 2
    assert await _count(sessions, DedupKey) == 1


async def test_a_key_stored_meanwhile_by_another_process_makes_the_retry_a_repeat(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    """Two workers completing the same redelivered input: the one whose key is already
    committed is told so, on the pooled path (driver shortcuts off) as on the inline one."""
    for shortcuts, key in ((True, "d"), (False, "e")):
        async with sessions.begin() as session:
            session.add(DedupKey(key=key * 64, scope="completed", expires_on=TODAY))
        store = ResponseStore(sessions, driver_shortcuts=shortcuts)
        repeat = _response(AnswerRow("overall", number=3))
        assert await store.save(repeat, once=_once(key)) is False
    assert await _count(sessions, Response) == 0


async def test_two_workers_saving_the_same_key_at_once_store_one_and_fail_neither(
    database: ScratchDatabase, engine: AsyncEngine
) -> None:
    """Review: on PostgreSQL both workers read no key, both insert; the second insert fails
    on the key committed by the first. A lone save is retried and reads it: a repeat, not an
    error (which would have given the winner's rating back to the person)."""
    other = database.engine()
    try:
        first = ResponseStore(create_session_factory(engine))
        second = ResponseStore(create_session_factory(other))
        results = await asyncio.gather(
            first.save(_response(*EVERY_KIND_OF_ANSWER), once=_once("z")),
            second.save(_response(*EVERY_KIND_OF_ANSWER), once=_once("z")),
            return_exceptions=True,
        )
        assert sorted(map(repr, results)) == ["False", "True"], results
        assert await _count(create_session_factory(engine), Response) == 1
    finally:
        await other.dispose()


async def test_failing_answer_insert_rolls_back_its_response(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    store = ResponseStore(sessions)
    broken = _response(
        AnswerRow("overall", number=4),
        AnswerRow("solved", option_id="yes"),
        AnswerRow("comment"),  # no value at all: violates ck_answers_has_value
        AnswerRow("contacts", option_id="2"),
    )

    with pytest.raises(IntegrityError):
        await store.save(broken)

    assert await _count(sessions, Response) == 0
    assert await _count(sessions, Answer) == 0
    await store.save(_response(AnswerRow("overall", number=4)))
    assert await _count(sessions, Response) == 1


async def test_one_failing_response_does_not_fail_the_others_of_its_batch(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    # Issue 9: a batch poisoned by one row failed every citizen in it.
    store = ResponseStore(sessions, flush_interval=0.05)  # long enough to gather all five
    good = [_response(AnswerRow("overall", number=n)) for n in (1, 2, 4, 5)]
    broken = _response(AnswerRow("overall", number=3), AnswerRow("comment"))

    results = await asyncio.gather(
        *(store.save(r) for r in (good[0], good[1], broken, good[2], good[3])),
        return_exceptions=True,
    )

    assert [type(r).__name__ for r in results] == [
        "bool",
        "bool",
        "IntegrityError",
        "bool",
        "bool",
    ]
    async with sessions() as session:
        numbers = sorted(n or 0 for n in await session.scalars(select(Answer.number)))
    assert numbers == [1, 2, 4, 5]
    assert store.activity.report() == {"responses stored": 4}


async def test_nul_character_fails_only_its_own_response_on_postgresql(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    # Issue 9: on PostgreSQL a comment with U+0000 failed the whole group commit.
    if sessions.kw["bind"].dialect.name != "postgresql":
        pytest.skip("SQLite text holds U+0000")
    store = ResponseStore(sessions, flush_interval=0.05)
    poisoned = _response(AnswerRow("overall", number=3), AnswerRow("comment", text="a\x00b"))
    others = [_response(AnswerRow("overall", number=n)) for n in (1, 5)]

    first, bad, last = await asyncio.gather(
        store.save(others[0]), store.save(poisoned), store.save(others[1]), return_exceptions=True
    )

    assert first is True and last is True
    assert isinstance(bad, DBAPIError)
    async with sessions() as session:
        assert sorted(n or 0 for n in await session.scalars(select(Answer.number))) == [1, 5]


async def test_database_outage_fails_the_batch_without_retrying_each_row(
    sessions: async_sessionmaker[AsyncSession], monkeypatch: pytest.MonkeyPatch
) -> None:
    store = ResponseStore(sessions, flush_interval=0.05)
    attempts: list[int] = []

    async def down(batch: list[object]) -> None:
        attempts.append(len(batch))
        raise OperationalError("INSERT", {}, ConnectionRefusedError("down"))

    monkeypatch.setattr(store, "_write", down)
    results = await asyncio.gather(
        *(store.save(_response(AnswerRow("overall", number=n))) for n in (1, 2, 3)),
        return_exceptions=True,
    )
    assert all(isinstance(r, OperationalError) for r in results)
    assert attempts == [3]


async def test_rows_of_a_batch_are_written_in_random_order(
    sessions: async_sessionmaker[AsyncSession], monkeypatch: pytest.MonkeyPatch
) -> None:
    written: list[list[int]] = []
    store = ResponseStore(sessions, flush_interval=0.05)
    real_shuffle = storage.responses._shuffle

    def spy(rows: list[dict[str, object]]) -> None:
        real_shuffle(rows)
        if rows and "questionnaire_version" in rows[0]:  # the responses, not their answers
            written.append([int(str(row["questionnaire_version"])) for row in rows])

    monkeypatch.setattr(storage.responses, "_shuffle", spy)
    versions = range(1, 41)
    await asyncio.gather(*(store.save(_versioned(v)) for v in versions))

    assert [sorted(batch) for batch in written] == [list(versions)]
    assert written[0] != list(versions)  # 1 in 40! to be in order by chance


def _versioned(version: int) -> CompletedResponse:
    return dataclasses.replace(
        _response(AnswerRow("overall", number=3)), questionnaire_version=version
    )


@pytest.mark.parametrize("key", ["", "f" * 65])
def test_dedup_claim_with_an_impossible_key_is_rejected(key: str) -> None:
    with pytest.raises(ValueError, match="dedup key"):
        DedupClaim(key=key, scope="rating", expires_on=TODAY)


async def test_a_lone_save_is_written_at_once_without_waiting_for_company(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    # Issue 15 / issue 12 item 5: a lone completion (one person, a web form) waited for the
    # grouping timer although nobody else was saving.
    store = ResponseStore(sessions, flush_interval=3600.0)  # would wait an hour
    await asyncio.wait_for(store.save(_response(AnswerRow("overall", number=5))), timeout=30)
    assert store.grouped_writes == 0
    assert await _count(sessions, Response) == 1


async def test_saves_arriving_during_a_write_wait_for_company_and_share_the_next(
    sessions: async_sessionmaker[AsyncSession], monkeypatch: pytest.MonkeyPatch
) -> None:
    store = ResponseStore(sessions, flush_interval=0.01)
    real_write = store._write
    batches: list[int] = []
    entered, release = asyncio.Event(), asyncio.Event()

    async def held(batch: list[object]) -> None:
        batches.append(len(batch))
        if len(batches) == 1:
            entered.set()
            await release.wait()
        await real_write(batch)  # type: ignore[arg-type]

    monkeypatch.setattr(store, "_write", held)
    first = asyncio.create_task(store.save(_response(AnswerRow("overall", number=1))))
    await entered.wait()
    others = [
        asyncio.create_task(store.save(_response(AnswerRow("overall", number=n))))
        for n in (2, 3, 4)
    ]
    await asyncio.sleep(0)
    release.set()
    await asyncio.gather(first, *others)
    assert batches == [1, 3]
    assert store.grouped_writes == 1
    assert await _count(sessions, Response) == 4


# --- the lone save on SQLite, right on the event loop (issue 15 item 2) -----------------------


def _checkouts(engine: AsyncEngine) -> list[int]:
    """Records every connection the engine's pool hands out (until the engine is disposed)."""
    taken: list[int] = []
    event.listen(engine.sync_engine.pool, "checkout", lambda *_args: taken.append(1))
    return taken


async def test_a_lone_sqlite_save_takes_no_pooled_connection_and_reads_back_the_same(
    database: ScratchDatabase, engine: AsyncEngine, sessions: async_sessionmaker[AsyncSession]
) -> None:
    # aiosqlite's thread hops (a dozen per transaction through a session) were most of what
    # a lone completion paid; the rows must be exactly those the session path writes.
    if database.backend != "sqlite":
        pytest.skip("the lone-save shortcut is SQLite's")
    inline, pooled = ResponseStore(sessions), ResponseStore(sessions, driver_shortcuts=False)
    await inline.save(_response(AnswerRow("overall", number=1)))  # opens its connection
    taken = _checkouts(engine)
    await inline.save(_response(*EVERY_KIND_OF_ANSWER, service="inline"))
    assert taken == []
    await pooled.save(_response(*EVERY_KIND_OF_ANSWER, service="pooled"))
    assert taken != []
    assert inline.activity.report() == {"responses stored": 2}

    def comparable(response: Response) -> tuple[object, ...]:
        answers = tuple(
            (a.question_id, a.option_id, a.number, a.text, type(a.id), a.id.version)
            for a in response.answers
        )
        return (
            response.questionnaire_id,
            response.questionnaire_version,
            response.kind,
            response.audience,
            response.channel_code,
            response.submitted_on,
            type(response.submitted_on),
            response.front,
            type(response.id),
            response.id.version,
            answers,
        )

    async with sessions() as session:
        stored = {
            r.service_code: r
            for r in await session.scalars(
                select(Response).options(selectinload(Response.answers))
            )
        }
        assert comparable(stored["inline"]) == comparable(stored["pooled"])
        # The reports' copies too (storage.report_answers), written in the same transaction.
        copies = {
            code: sorted(
                (c.question_id, c.option_id, c.number, c.submitted_on, c.front, c.has_text)
                for c in await session.scalars(
                    select(ReportAnswer).where(ReportAnswer.service_code == code)
                )
            )
            for code in ("inline", "pooled")
        }
    assert copies["inline"] == copies["pooled"] != []


async def test_a_group_of_sqlite_saves_takes_no_pooled_connection(
    database: ScratchDatabase, engine: AsyncEngine, sessions: async_sessionmaker[AsyncSession]
) -> None:
    # Issue 15 item 2: a batch of completions at once went through a session (a dozen hops
    # to aiosqlite's thread) while the loop sat idle; it is written on the loop as a lone one.
    if database.backend != "sqlite":
        pytest.skip("the save shortcut is SQLite's")
    store = ResponseStore(sessions)
    await store.save(_response(AnswerRow("overall", number=1)))  # opens its connection
    taken = _checkouts(engine)
    await asyncio.gather(
        *(store.save(_response(AnswerRow("overall", number=n % 5 + 1))) for n in range(20))
    )
    assert taken == []
    assert await _count(sessions, Response) == 21


async def test_a_lone_save_fails_alone_and_leaves_nothing_on_the_inline_path(
    database: ScratchDatabase, engine: AsyncEngine, sessions: async_sessionmaker[AsyncSession]
) -> None:
    if database.backend != "sqlite":
        pytest.skip("the lone-save shortcut is SQLite's")
    store = ResponseStore(sessions)
    await store.save(_response(AnswerRow("overall", number=1)))
    taken = _checkouts(engine)
    with pytest.raises(IntegrityError):  # no value at all: violates ck_answers_has_value
        await store.save(_response(AnswerRow("overall", number=4), AnswerRow("comment")))
    assert taken == []  # refused on the inline path, rolled back there
    assert await _count(sessions, Response) == 1
    await store.save(_response(AnswerRow("overall", number=5)))
    assert await _count(sessions, Response) == 2


async def test_the_inline_connection_keeps_the_engines_privacy_and_integrity_settings(
    database: ScratchDatabase, engine: AsyncEngine, sessions: async_sessionmaker[AsyncSession]
) -> None:
    if database.backend != "sqlite":
        pytest.skip("the lone-save shortcut is SQLite's")
    store = ResponseStore(sessions)
    await store.save(_response(AnswerRow("overall", number=1)))
    inline = store._inline
    assert inline, "the lone save took the shortcut"
    with inline.connect() as connection:
        pragmas = {
            name: connection.exec_driver_sql(f"PRAGMA {name}").scalar()
            for name in ("secure_delete", "journal_size_limit", "foreign_keys", "journal_mode")
        }
    assert pragmas == {
        "secure_delete": 1,
        "journal_size_limit": 0,
        "foreign_keys": 1,
        "journal_mode": "wal",
    }
    # An answer of a response that does not exist is refused, as on the engine's connections.
    with pytest.raises(IntegrityError), inline.begin() as connection:
        connection.execute(
            insert(storage.responses.ANSWERS),
            [{"id": uuid.uuid4(), "response_id": uuid.uuid4(), "question_id": "q", "number": 1}],
        )


async def test_a_lone_save_waits_its_turn_while_another_connection_holds_the_lock(
    database: ScratchDatabase, sessions: async_sessionmaker[AsyncSession]
) -> None:
    if database.backend != "sqlite":
        pytest.skip("the lone-save shortcut is SQLite's")
    store = ResponseStore(sessions)
    await store.save(_response(AnswerRow("overall", number=1)))  # the shortcut is open now
    path = make_url(database.url).database
    assert path is not None
    other = sqlite3.connect(path, isolation_level=None)
    try:
        other.execute("BEGIN IMMEDIATE")  # another writer, e.g. a report or a migration
        save = asyncio.create_task(store.save(_response(AnswerRow("overall", number=2))))
        await asyncio.sleep(0.2)
        # Not failed and not blocking the event loop (this test runs): queued in the pool.
        assert not save.done()
        other.execute("COMMIT")
        await asyncio.wait_for(save, timeout=30)
    finally:
        other.close()
    assert await _count(sessions, Response) == 2


async def test_a_lone_save_never_commits_inside_another_transaction_of_the_pool(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    store = ResponseStore(sessions)
    await store.save(_response(AnswerRow("overall", number=1)))
    async with sessions.begin() as session:
        # A transaction that reads, then writes (as enrolment or a poll answer does).
        await session.scalar(select(func.count()).select_from(Response))
        save = asyncio.create_task(store.save(_response(AnswerRow("overall", number=2))))
        await asyncio.sleep(0.1)
        # On SQLite another connection committing in between would fail this transaction.
        await session.execute(delete(DedupKey).where(DedupKey.key == "absent"))
    await asyncio.wait_for(save, timeout=30)
    assert await _count(sessions, Response) == 2


async def test_disposing_the_engine_closes_the_inline_connection(
    database: ScratchDatabase, sessions: async_sessionmaker[AsyncSession]
) -> None:
    if database.backend != "sqlite":
        pytest.skip("the lone-save shortcut is SQLite's")
    engine = database.engine()
    try:
        store = ResponseStore(create_session_factory(engine))
        await store.save(_response(AnswerRow("overall", number=1)))
        inline = store._inline
        assert inline
        raw = inline.raw_connection().driver_connection
        assert isinstance(raw, sqlite3.Connection)
    finally:
        await engine.dispose()
    with pytest.raises(sqlite3.ProgrammingError):
        raw.execute("SELECT 1")


async def test_an_engine_used_again_after_dispose_gets_a_new_inline_connection(
    database: ScratchDatabase, engine: AsyncEngine, sessions: async_sessionmaker[AsyncSession]
) -> None:
    if database.backend != "sqlite":
        pytest.skip("the lone-save shortcut is SQLite's")
    store = ResponseStore(sessions)
    await store.save(_response(AnswerRow("overall", number=1)))
    await engine.dispose()  # a pool reset; SQLAlchemy opens new connections on demand
    await store.save(_response(AnswerRow("overall", number=2)))
    assert store._inline, "the lone save took the shortcut again"
    assert await _count(sessions, Response) == 2


@pytest.mark.parametrize("code", [5, 6, 261, 517, 262])
def test_busy_and_locked_are_recognised_by_their_extended_codes_too(code: int) -> None:
    # Python reports SQLite's extended codes: SQLITE_BUSY_RECOVERY (261) while another
    # process recovers the WAL, SQLITE_BUSY_SNAPSHOT (517), SQLITE_LOCKED_SHAREDCACHE (262).
    error = sqlite3.OperationalError("database is locked")
    error.sqlite_errorcode = code
    assert storage.sqlite_inline.is_locked(error)
    error.sqlite_errorcode = 1  # SQLITE_ERROR: a real fault, raised
    assert not storage.sqlite_inline.is_locked(error)


async def test_a_file_busy_when_the_inline_connection_opens_is_tried_again_next_time(
    database: ScratchDatabase,
    sessions: async_sessionmaker[AsyncSession],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    if database.backend != "sqlite":
        pytest.skip("the lone-save shortcut is SQLite's")
    real_connect = sqlite3.connect
    busy = [True]

    class Recovering:
        """A connection whose file is busy with another process's WAL recovery at first."""

        def __init__(self, connection: sqlite3.Connection) -> None:
            self._connection = connection

        def execute(self, sql: str, *args: Any) -> sqlite3.Cursor:
            if sql == "PRAGMA journal_mode" and busy[0]:
                error = sqlite3.OperationalError("database is locked")
                error.sqlite_errorcode = 261  # SQLITE_BUSY_RECOVERY
                raise error
            return self._connection.execute(sql, *args)

        def __getattr__(self, name: str) -> object:
            return getattr(self._connection, name)

    def connect(*args: Any, **kwargs: Any) -> Any:
        return Recovering(real_connect(*args, **kwargs))

    monkeypatch.setattr(sqlite3, "connect", connect)
    store = ResponseStore(sessions)
    await store.save(_response(AnswerRow("overall", number=1)))  # through the pool
    assert store._inline is None, "not given up for good: tried again at the next save"
    busy[0] = False
    await store.save(_response(AnswerRow("overall", number=2)))
    assert store._inline, "the lone save took the shortcut once the file was free"
    assert await _count(sessions, Response) == 2
