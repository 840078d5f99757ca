"""Issue 8: someone who copies the database WITH the pepper links no response to a person.

The attack replayed: 30 citizens rate a service through the real handlers, services and
storage, 12 of them ask for news; the scheduler's jobs run as they would. Then the attacker
reads the database, knows the pepper and every chat id (from ``opt_ins``, or from elsewhere),
recomputes every key the bot stores, and tries every order the database keeps: SQLite scan
order and rowids, PostgreSQL heap order (``ctid``) and writing transaction (``xmin``).
"""

from __future__ import annotations

import logging
import math
import re
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from functools import partial
from pathlib import Path

import pytest
from aiogram.fsm.storage.base import StorageKey
from sqlalchemy import event, text
from sqlalchemy.exc import OperationalError
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from bot.content import catalog_rows
from bot.dispatcher import create_dispatcher
from questionnaires.results import AnswerRow, CompletedResponse, ResponseContext
from scheduler.jobs import checkpoint, flush_opt_ins, hourly_privacy, housekeeping
from services.feedback import FeedbackService, keyed_digest
from storage.activity import ActivityCounter
from storage.catalog import CatalogStore
from storage.database import checkpoint_wal, create_engine, create_session_factory, vacuum
from storage.fsm import SqlStorage, storage_key_digest
from storage.opt_ins import OptInStore
from storage.responses import ResponseStore
from tests.bot.conftest import PEPPER, build_test_services
from tests.bot.harness import BOT_ID, Harness, Person
from tests.storage.conftest import ScratchDatabase

LINK = "/start licensing_office"
PEOPLE = 30
CHAT_BASE = 5_550_000_000
START = datetime(2026, 11, 23, 6, 0, tzinfo=UTC)
#: Person i asks for news when i % 5 is 0 or 2: 12 of 30.
OPTS_IN = {i for i in range(PEOPLE) if i % 5 in (0, 2)}
PROBE = re.compile(r"probe-(\d+)")


@dataclass
class Bot:
    harness: Harness
    engine: AsyncEngine
    sessions: async_sessionmaker[AsyncSession]
    feedback: FeedbackService
    storage: SqlStorage
    opt_ins: OptInStore
    responses: ResponseStore
    activity: ActivityCounter
    clock: list[datetime]


@pytest.fixture
async def bot(database: ScratchDatabase) -> AsyncIterator[Bot]:
    await database.upgrade()
    engine = database.engine()
    sessions = create_session_factory(engine)
    clock = [START]
    holder: list[Harness] = []
    # The production composition (one response store, one activity counter, as in bot.app).
    services = build_test_services(sessions, clock, lambda: holder[0].bot)
    feedback, opt_ins = services.feedback, services.opt_ins
    responses, activity = services.responses, services.activity
    await CatalogStore(sessions).sync(*catalog_rows(feedback.catalog))
    storage = SqlStorage(sessions, PEPPER)
    dispatcher = create_dispatcher(storage=storage, **services.workflow_data())
    holder.append(Harness(dispatcher))
    try:
        yield Bot(
            holder[0],
            engine,
            sessions,
            feedback,
            storage,
            opt_ins,
            responses,
            activity,
            clock,
        )
    finally:
        await storage.close()
        await engine.dispose()


async def _rate(person: Person, index: int, *, opt_in: bool) -> None:
    await person.send(LINK)
    await person.click(str(1 + index % 2))  # a low score leads to the comment question
    await person.click("Нет")
    await person.click("Долго ждать результата")
    await person.click("Готово")
    await person.click("4 и больше")
    await person.send(f"probe-{index} ждал долго")
    assert "Спасибо!" in person.last_text()
    if opt_in:
        await person.click("Да, сообщите мне")


async def _run_the_day(bot: Bot) -> None:
    """30 dialogs one after another (the worst case: no batch mixes them), jobs as scheduled."""
    for index in range(PEOPLE):
        bot.clock[0] = START + timedelta(minutes=7 * index)
        person = bot.harness.person(CHAT_BASE + index)
        await _rate(person, index, opt_in=index in OPTS_IN)
        if index % 3 == 2:  # the opt-in job runs every minute; some minutes pass between
            await flush_opt_ins(bot.opt_ins)
    # Someone is still answering when the folder is copied.
    await bot.harness.person(CHAT_BASE + 99).send(LINK)
    await hourly_privacy(bot.activity, bot.responses, bot.feedback.today)


async def _rows(engine: AsyncEngine, sql: str) -> list[tuple[object, ...]]:
    async with engine.connect() as connection:
        return [tuple(row) for row in await connection.execute(text(sql))]


def _owner(comment: object) -> int:
    found = PROBE.search(str(comment))
    assert found is not None
    return int(found.group(1))


async def test_a_reader_with_the_pepper_recomputes_no_key_that_leads_to_a_response(
    bot: Bot,
) -> None:
    await _run_the_day(bot)
    engine = bot.engine
    assert len(await _rows(engine, "SELECT id FROM responses")) == PEOPLE
    chats = [CHAT_BASE + i for i in range(PEOPLE)] + [CHAT_BASE + 99]
    subscribed = {int(str(row[0])) for row in await _rows(engine, "SELECT chat_id FROM opt_ins")}
    # The last few subscriptions still wait in memory for a batch.
    assert subscribed <= {CHAT_BASE + i for i in OPTS_IN} and len(subscribed) >= 10

    stored_keys = {str(row[0]) for row in await _rows(engine, 'SELECT "key" FROM dedup_keys')}
    fsm_keys = {str(row[0]) for row in await _rows(engine, 'SELECT "key" FROM fsm_states')}
    services = [str(row[0]) for row in await _rows(engine, "SELECT code FROM services")]
    day = bot.feedback.today()
    found: set[int] = set()
    for chat in chats:
        # The guard's keys as they were before issue 8, for every service, day and slot.
        candidates = {
            keyed_digest(PEPPER, "rating", chat, service, when, slot)
            for service in services
            for when in (day - timedelta(days=1), day)
            for slot in range(3)
        }
        # A completion key is a keyed hash of the dialog's random id: nothing of the person
        # makes it (services.feedback.COMPLETED_SCOPE).
        candidates |= {keyed_digest(PEPPER, "completed", chat)}
        if candidates & stored_keys:
            found.add(chat)
        fsm_key = StorageKey(bot_id=BOT_ID, chat_id=chat, user_id=chat)
        if storage_key_digest(fsm_key, PEPPER) in fsm_keys:
            found.add(chat)
    # Only the dialog still open has a row, and it holds no finished response.
    assert found == {CHAT_BASE + 99}
    # Only the completed dialogs' keys (one per response), kept two days to recognise a
    # completion repeated after its commit; none a chat leads to.
    scopes = [str(row[0]) for row in await _rows(engine, "SELECT scope FROM dedup_keys")]
    assert scopes == ["completed"] * PEOPLE


async def test_no_order_the_database_keeps_links_a_subscriber_to_a_response(bot: Bot) -> None:
    await _run_the_day(bot)
    engine = bot.engine
    backend = engine.dialect.name
    truth = {
        str(row[0]): _owner(row[1])
        for row in await _rows(
            engine,
            "SELECT r.id, a.text FROM responses r JOIN answers a ON a.response_id = r.id "
            "WHERE a.question_id = 'comment'",
        )
    }
    assert sorted(truth.values()) == list(range(PEOPLE))

    orders: dict[str, list[str]] = {
        "primary key": [
            str(r[0]) for r in await _rows(engine, "SELECT id FROM responses ORDER BY id")
        ],
    }
    subscriber_orders: dict[str, list[int]] = {}
    if backend == "sqlite":
        orders["scan"] = [str(r[0]) for r in await _rows(engine, "SELECT id FROM responses")]
        subscriber_orders["scan"] = [
            int(str(r[0])) for r in await _rows(engine, "SELECT chat_id FROM opt_ins")
        ]
        for table in (
            "responses",
            "answers",
            "report_answers",
            "opt_ins",
            "dedup_keys",
            "fsm_states",
            # Review: enrolment order was a rowid (migration 0016).
            "staff_members",
            "invite_codes",
        ):
            with pytest.raises(OperationalError, match="rowid"):
                await _rows(engine, f"SELECT rowid FROM {table}")
    else:
        orders["heap"] = [
            str(r[0]) for r in await _rows(engine, "SELECT id FROM responses ORDER BY ctid")
        ]
        subscriber_orders["heap"] = [
            int(str(r[0]))
            for r in await _rows(engine, "SELECT chat_id FROM opt_ins ORDER BY ctid")
        ]
        subscriber_orders["xmin"] = [
            int(str(r[0]))
            for r in await _rows(
                engine, "SELECT chat_id FROM opt_ins ORDER BY xmin::text::bigint, ctid"
            )
        ]
        # After the hourly job the responses and answers share one writing transaction.
        for table in ("responses", "answers", "report_answers"):
            [[count]] = await _rows(engine, f"SELECT count(DISTINCT xmin::text) FROM {table}")
            assert count == 1, table
        # Subscriptions were written in batches of at least five (the last one at most less).
        batches = await _rows(
            engine, "SELECT count(*) FROM opt_ins GROUP BY xmin::text ORDER BY min(ctid)"
        )
        assert all(int(str(size)) >= 5 for (size,) in batches[:-1])
        # Nearest earlier transaction: every response was rewritten after every subscription.
        [[latest_opt_in]] = await _rows(engine, "SELECT max(xmin::text::bigint) FROM opt_ins")
        [[earliest]] = await _rows(engine, "SELECT min(xmin::text::bigint) FROM responses")
        assert int(str(earliest)) > int(str(latest_opt_in))

    for name, order in orders.items():
        completion = [truth[response] for response in order]
        assert abs(_spearman(completion)) < 0.75, name  # 4 standard deviations at n = 30
    # The attacker pairs the k-th subscriber with the response at the same relative place.
    for response_order_name, order in orders.items():
        for name, subscribers in subscriber_orders.items():
            links = 0
            for k, chat in enumerate(subscribers):
                guess = order[round(k * (len(order) - 1) / max(1, len(subscribers) - 1))]
                links += truth[guess] == chat - CHAT_BASE
            # By chance 12 × 1/30 links are expected; six would happen once in a million runs.
            assert links < len(subscribers) // 2, (response_order_name, name, links)


def _spearman(ranks: Sequence[int]) -> float:
    """Spearman's rho between positions 0..n-1 and ``ranks`` (a permutation)."""
    n = len(ranks)
    order = sorted(range(n), key=lambda i: ranks[i])
    rank_of = [0] * n
    for position, index in enumerate(order):
        rank_of[index] = position
    squares = sum((position - rank) ** 2 for position, rank in enumerate(rank_of))
    return 1 - 6 * squares / (n * (n * n - 1))


def test_spearman_of_identity_and_reverse() -> None:
    assert _spearman(list(range(50))) == 1
    assert math.isclose(_spearman(list(range(50))[::-1]), -1)


# --- 200 responses: completion order vs every order the tables keep -------------------------


@pytest.fixture
async def store(database: ScratchDatabase) -> AsyncIterator[tuple[AsyncEngine, ResponseStore]]:
    await database.upgrade()
    engine = database.engine()
    try:
        yield engine, ResponseStore(create_session_factory(engine))
    finally:
        await engine.dispose()


async def test_completion_order_of_200_responses_leaves_no_trace_in_row_or_id_order(
    store: tuple[AsyncEngine, ResponseStore],
) -> None:
    engine, responses = store
    for index in range(200):  # one after another: each response is its own transaction
        await responses.save(
            CompletedResponse(
                "post_service",
                index,  # the completion order, where a test can read it
                "rating",
                "external",
                ResponseContext(service="licensing"),
                date(2026, 11, 23),
                (AnswerRow("overall", number=1 + index % 5), AnswerRow("solved", option_id="no")),
            )
        )
    await responses.reshuffle(date(2026, 11, 22))  # the hourly job; nothing to do on SQLite

    def rho(rows: list[tuple[object, ...]]) -> float:
        return _spearman([int(str(row[0])) for row in rows])

    version = "SELECT questionnaire_version FROM responses"
    through_answers = (
        "SELECT r.questionnaire_version FROM answers a JOIN responses r ON r.id = a.response_id"
    )
    through_copies = through_answers.replace("FROM answers", "FROM report_answers")
    checks = {
        "responses by id": await _rows(engine, f"{version} ORDER BY id"),
        "answers by id": await _rows(engine, f"{through_answers} ORDER BY a.id"),
        "report copies by key": await _rows(
            engine, f"{through_copies} ORDER BY a.response_id, a.id"
        ),
    }
    if engine.dialect.name == "sqlite":
        checks["responses as stored"] = await _rows(engine, version)
        checks["answers as stored"] = await _rows(
            engine,
            "SELECT (SELECT questionnaire_version FROM responses r WHERE r.id = a.response_id) "
            "FROM answers a",
        )
        checks["report copies as stored"] = await _rows(
            engine,
            "SELECT (SELECT questionnaire_version FROM responses r WHERE r.id = a.response_id) "
            "FROM report_answers a",
        )
    else:
        checks["responses as stored"] = await _rows(engine, f"{version} ORDER BY ctid")
        checks["answers as stored"] = await _rows(engine, f"{through_answers} ORDER BY a.ctid")
        checks["report copies as stored"] = await _rows(
            engine, f"{through_copies} ORDER BY a.ctid"
        )
        checks["report copies by transaction"] = await _rows(
            engine, f"{through_copies} ORDER BY a.xmin::text::bigint, a.ctid"
        )
        checks["responses by transaction"] = await _rows(
            engine, f"{version} ORDER BY xmin::text::bigint, id"
        )
    for name, rows in checks.items():
        assert len(rows) in (200, 400)
        # Random data stays below 0.35 (five standard deviations at n = 200).
        assert abs(rho(rows)) < 0.35, (name, rho(rows))


# --- files and logs ---------------------------------------------------------------------------


async def test_database_files_are_private_to_their_owner(tmp_path: Path) -> None:
    folder = tmp_path / "data"
    engine = create_engine(f"sqlite+aiosqlite:///{folder / 'otklik.db'}")
    try:
        async with engine.begin() as connection:
            await connection.execute(text("CREATE TABLE t (x INTEGER)"))
            await connection.execute(text("INSERT INTO t VALUES (1)"))
        assert folder.stat().st_mode & 0o777 == 0o700
        files = sorted(folder.iterdir())
        assert {f.name for f in files} >= {"otklik.db", "otklik.db-wal", "otklik.db-shm"}
        for file in files:
            assert file.stat().st_mode & 0o777 == 0o600, file.name
    finally:
        await engine.dispose()


async def test_a_database_left_readable_by_older_versions_is_narrowed(tmp_path: Path) -> None:
    path = tmp_path / "otklik.db"
    path.touch(mode=0o644)
    path.chmod(0o644)
    engine = create_engine(f"sqlite+aiosqlite:///{path}")
    await engine.dispose()
    assert path.stat().st_mode & 0o777 == 0o600


async def test_completing_a_dialog_logs_no_line_of_its_own(
    bot: Bot, caplog: pytest.LogCaptureFixture
) -> None:
    # Issue 8: "stored 1 response(s) with N answers" dated every response to the second.
    ours = ("storage", "services", "handlers", "scheduler", "bot", "reports", "questionnaires")
    with caplog.at_level(logging.DEBUG):
        for index in range(3):
            await _rate(bot.harness.person(CHAT_BASE + index), index, opt_in=False)
    lines = [r for r in caplog.records if r.name.split(".")[0] in ours]
    assert lines == [], [r.getMessage() for r in lines]
    caplog.clear()
    with caplog.at_level(logging.INFO):
        await hourly_privacy(bot.activity, bot.responses, bot.feedback.today)
    assert "3 responses stored" in caplog.text
    caplog.clear()
    with caplog.at_level(logging.INFO):
        await hourly_privacy(bot.activity, bot.responses, bot.feedback.today)
    assert "stored" not in caplog.text  # nothing new: nothing said


async def test_nightly_housekeeping_forgets_abandoned_dialogs(bot: Bot) -> None:
    await bot.harness.person(CHAT_BASE).send(LINK)
    assert len(await _rows(bot.engine, "SELECT 1 FROM fsm_states")) == 1
    later = datetime.now(UTC) + timedelta(days=8)  # the dialog storage runs on real time
    storage = SqlStorage(bot.sessions, PEPPER, clock=lambda: later)
    try:
        assert await housekeeping(bot.responses, storage, lambda: START.date()) == (0, 1)
    finally:
        await storage.close()
    assert await _rows(bot.engine, "SELECT 1 FROM fsm_states") == []


async def test_the_already_rated_check_reads_no_database(bot: Bot) -> None:
    # Issue 15 and 8: the guard is an in-memory lookup, so a /start costs no transaction.
    person = bot.harness.person(CHAT_BASE)
    await _rate(person, 0, opt_in=False)
    transactions: list[int] = []

    def on_begin(_connection: object) -> None:
        transactions.append(1)

    event.listen(bot.engine.sync_engine, "begin", on_begin)
    try:
        assert not await bot.feedback.may_rate(CHAT_BASE, "licensing")
        assert await bot.feedback.may_rate(CHAT_BASE + 1, "licensing")
    finally:
        event.remove(bot.engine.sync_engine, "begin", on_begin)
    assert transactions == []
    await person.send(LINK)
    assert "уже оценили" in person.last_text()


async def test_the_wal_trail_of_recent_commits_is_cut_every_minute(tmp_path: Path) -> None:
    # The WAL keeps pages in commit order (a finished dialog's state beside the response
    # written just before); SQLite itself empties it only after 1,000 pages.
    path = tmp_path / "otklik.db"
    engine = create_engine(f"sqlite+aiosqlite:///{path}")
    try:
        async with engine.begin() as connection:
            await connection.execute(text("CREATE TABLE t (x TEXT)"))
            await connection.execute(text("INSERT INTO t VALUES ('state of a dialog')"))
        wal = path.with_name("otklik.db-wal")
        assert wal.stat().st_size > 0
        assert await checkpoint(partial(checkpoint_wal, engine))
        assert wal.stat().st_size == 0
        async with engine.connect() as connection:
            assert (await connection.execute(text("SELECT x FROM t"))).scalar() == (
                "state of a dialog"
            )
    finally:
        await engine.dispose()


async def test_nightly_housekeeping_rebuilds_the_sqlite_file(tmp_path: Path) -> None:
    # Inside a page SQLite stacks rows in the order they came: a rebuilt file forgets it.
    engine = create_engine(f"sqlite+aiosqlite:///{tmp_path / 'otklik.db'}")

    class NoKeys:
        async def purge_expired_dedup_keys(self, today: date) -> int:
            return 0

    async def free_pages() -> int:
        async with engine.connect() as connection:
            return int((await connection.execute(text("PRAGMA freelist_count"))).scalar_one())

    try:
        async with engine.begin() as connection:
            await connection.execute(text("CREATE TABLE t (k TEXT PRIMARY KEY) WITHOUT ROWID"))
            for n in range(2000):
                await connection.execute(
                    text("INSERT INTO t VALUES (:k)"), {"k": f"{n:05d}" + "x" * 195}
                )
        async with engine.begin() as connection:
            await connection.execute(text("DELETE FROM t WHERE k >= '00100'"))
        assert await free_pages() > 0
        await housekeeping(NoKeys(), None, lambda: START.date(), partial(vacuum, engine))
        assert await free_pages() == 0
    finally:
        await engine.dispose()
