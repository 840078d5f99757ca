"""Migrations: the stairway, metadata parity, and the programmatic API from sync and async code."""

from __future__ import annotations

import asyncio
import subprocess
import sys
import threading
import uuid
from datetime import UTC, date, datetime
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, inspect, text
from sqlalchemy.exc import IntegrityError, OperationalError
from sqlalchemy.ext.asyncio import AsyncEngine

from storage import migrate
from storage.database import create_engine
from storage.migrate import alembic_config, run_upgrade, upgrade_async
from storage.registry import Base
from tests.storage.conftest import ScratchDatabase

POSTGRES_IDENTIFIER_LIMIT = 63
ALEMBIC_INI = Path(migrate.__file__).with_name("alembic.ini")
TABLES_OF_0001 = {
    "services",
    "channels",
    "life_situations",
    "service_life_situations",
    "responses",
    "answers",
    "dedup_keys",
    "opt_ins",
}


def _revisions() -> list[tuple[str, str]]:
    """(revision, the step down from it), oldest first."""
    script = ScriptDirectory.from_config(alembic_config())
    steps: list[tuple[str, str]] = []
    for revision in script.walk_revisions("base", "heads"):
        below = revision.down_revision
        # A merge revision would have several parents; "-1" still steps down exactly one.
        steps.append((revision.revision, below if isinstance(below, str) else "-1"))
    return list(reversed(steps))


def _metadata_names() -> set[str]:
    names: set[str] = set()
    for table in Base.metadata.tables.values():
        names.update(str(constraint.name) for constraint in table.constraints)
        names.update(str(index.name) for index in table.indexes)
    return names


async def _table_names(engine: AsyncEngine) -> set[str]:
    async with engine.connect() as connection:
        names = await connection.run_sync(lambda sync: inspect(sync).get_table_names())
    return set(names) - {"alembic_version"}


async def _current_revision(engine: AsyncEngine) -> str | None:
    async with engine.connect() as connection:
        return await connection.run_sync(
            lambda sync: MigrationContext.configure(sync).get_current_revision()
        )


def test_revisions_form_a_single_line_starting_at_0001() -> None:
    script = ScriptDirectory.from_config(alembic_config())
    assert len(script.get_heads()) == 1
    assert _revisions()[0] == ("0001", "-1")


async def test_stairway_every_revision_goes_up_down_and_up_again(
    database: ScratchDatabase,
) -> None:
    for revision, below in _revisions():
        await database.upgrade(revision)
        await database.downgrade(below)
        await database.upgrade(revision)
    await database.downgrade("base")
    engine = database.engine()
    try:
        assert await _table_names(engine) == set()
        await database.upgrade("head")
        assert await _table_names(engine) == set(Base.metadata.tables)
        assert await _current_revision(engine) == _revisions()[-1][0]
    finally:
        await engine.dispose()


async def test_migrations_at_head_match_the_models(database: ScratchDatabase) -> None:
    await database.upgrade("head")
    engine = database.engine()

    def differences(connection: Connection) -> list[object]:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        return list(compare_metadata(context, Base.metadata))

    try:
        async with engine.connect() as connection:
            diff = await connection.run_sync(differences)
    finally:
        await engine.dispose()
    assert diff == []


async def test_migrations_name_constraints_and_indexes_like_the_metadata(
    database: ScratchDatabase,
) -> None:
    await database.upgrade("head")
    engine = database.engine()

    def names(connection: Connection) -> set[str]:
        inspector = inspect(connection)
        found: set[str] = set()
        for table in Base.metadata.tables:
            found.update(index["name"] or "" for index in inspector.get_indexes(table))
            found.update(fk["name"] or "" for fk in inspector.get_foreign_keys(table))
            found.update(uq["name"] or "" for uq in inspector.get_unique_constraints(table))
            found.update(ck["name"] or "" for ck in inspector.get_check_constraints(table))
            found.add(inspector.get_pk_constraint(table)["name"] or "")
        return found

    try:
        async with engine.connect() as connection:
            in_database = await connection.run_sync(names)
    finally:
        await engine.dispose()
    expected = _metadata_names()
    if database.backend == "sqlite":
        # SQLite does not keep primary key names for reflection.
        expected = {name for name in expected if not name.startswith("pk_")}
    assert expected <= in_database


def test_every_constraint_name_fits_postgresql_identifier_limit() -> None:
    too_long = [name for name in _metadata_names() if len(name) > POSTGRES_IDENTIFIER_LIMIT]
    assert too_long == []


def test_upgrade_from_sync_code_runs_without_an_event_loop(database_url: str) -> None:
    migrate.upgrade(database_url)
    assert asyncio.run(_tables_at(database_url)) == set(Base.metadata.tables)
    migrate.downgrade(database_url, "base")
    assert asyncio.run(_tables_at(database_url)) == set()


async def test_sync_upgrade_inside_a_running_loop_migrates_in_a_worker_thread(
    database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    threads: list[str] = []
    original = migrate.run_upgrade

    def spy(connection: Connection, revision: str = "head") -> None:
        threads.append(threading.current_thread().name)
        original(connection, revision)

    monkeypatch.setattr(migrate, "run_upgrade", spy)
    migrate.upgrade(database_url)
    assert threads and threads[0] != threading.current_thread().name
    assert await _tables_at(database_url) == set(Base.metadata.tables)
    migrate.downgrade(database_url, "base")
    assert await _tables_at(database_url) == set()


async def test_upgrade_async_and_downgrade_async_run_on_the_callers_loop(
    database_url: str,
) -> None:
    await migrate.upgrade_async(database_url)
    assert await _tables_at(database_url) == set(Base.metadata.tables)
    await migrate.downgrade_async(database_url, "base")
    assert await _tables_at(database_url) == set()
    await migrate.upgrade_async(database_url, "0001")
    assert await _tables_at(database_url) == TABLES_OF_0001


async def test_migrating_sqlite_with_foreign_keys_enforced_is_refused(tmp_path: Path) -> None:
    engine = create_engine(f"sqlite+aiosqlite:///{tmp_path}/fk.db")  # foreign keys on
    try:
        async with engine.begin() as connection:
            with pytest.raises(RuntimeError, match="foreign keys off"):
                await connection.run_sync(run_upgrade, "head")
    finally:
        await engine.dispose()


def test_alembic_command_line_works_from_any_directory(tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'cli' / 'otklik.db'}"
    command = [sys.executable, "-m", "alembic", "-c", str(ALEMBIC_INI), "-x", f"url={url}"]

    for args in (["upgrade", "head"], ["check"], ["downgrade", "base"], ["upgrade", "head"]):
        finished = subprocess.run(
            [*command, *args], cwd=tmp_path, capture_output=True, text=True, check=False
        )
        assert finished.returncode == 0, finished.stderr

    assert asyncio.run(_tables_at(url)) == set(Base.metadata.tables)


async def _tables_at(url: str) -> set[str]:
    engine = create_engine(url)
    try:
        return await _table_names(engine)
    finally:
        await engine.dispose()


async def test_0007_keeps_every_row_and_forgets_the_order_and_the_rating_keys(
    database: ScratchDatabase,
) -> None:
    # Issue 8: rows written at 0006 in completion order come out with random answer ids, no
    # rowids on SQLite, and without the ballot-stuffing keys anyone with the pepper recomputes.
    await database.upgrade("0006")
    engine = database.engine(foreign_keys=False)
    ids = [uuid.uuid4() for _ in range(20)]
    try:
        async with engine.begin() as connection:
            for number, response_id in enumerate(ids):
                await connection.execute(
                    text(
                        "INSERT INTO responses (id, questionnaire_id, questionnaire_version, "
                        "kind, audience, submitted_on) VALUES (:id, 'post_service', :v, "
                        "'rating', 'external', :day)"
                    ),
                    {"id": _uuid_value(database, response_id), "v": number, "day": DAY},
                )
                await connection.execute(
                    text(
                        "INSERT INTO answers (response_id, question_id, number) "
                        "VALUES (:id, 'overall', :n)"
                    ),
                    {"id": _uuid_value(database, response_id), "n": 1 + number % 5},
                )
            await connection.execute(
                text(
                    "INSERT INTO dedup_keys (key, scope, expires_on) VALUES "
                    "('r1', 'rating', :day), ('w1', 'window:3', :day)"
                ),
                {"day": DAY},
            )
            await connection.execute(
                text("INSERT INTO opt_ins (chat_id, topic, created_on) VALUES (77, 'polls', :d)"),
                {"d": DAY},
            )
    finally:
        await engine.dispose()

    await database.upgrade("0007")
    engine = database.engine()
    try:
        async with engine.connect() as connection:
            joined = await connection.execute(
                text(
                    "SELECT r.questionnaire_version, a.number, a.id FROM responses r "
                    "JOIN answers a ON a.response_id = r.id"
                )
            )
            rows = joined.all()
            keys = (await connection.execute(text("SELECT key, scope FROM dedup_keys"))).all()
            opt_ins = (await connection.execute(text("SELECT * FROM opt_ins"))).all()
            if database.backend == "sqlite":
                for table in ("responses", "answers", "dedup_keys", "opt_ins", "fsm_states"):
                    with pytest.raises(OperationalError, match="rowid"):
                        await connection.execute(text(f"SELECT rowid FROM {table}"))
    finally:
        await engine.dispose()
    assert sorted((int(v), int(n)) for v, n, _ in rows) == [(v, 1 + v % 5) for v in range(20)]
    assert len({str(answer_id) for *_, answer_id in rows}) == 20
    assert all(len(str(answer_id).replace("-", "")) == 32 for *_, answer_id in rows)
    assert [tuple(key) for key in keys] == [("w1", "window:3")]
    assert [(row[0], row[1], str(row[2])) for row in opt_ins] == [(77, "polls", "2026-11-01")]

    await database.downgrade("0006")
    engine = database.engine()
    try:
        async with engine.connect() as connection:
            answers = (await connection.execute(text("SELECT id, number FROM answers"))).all()
    finally:
        await engine.dispose()
    assert sorted(int(n) for _, n in answers) == sorted(1 + v % 5 for v in range(20))
    assert all(isinstance(answer_id, int) for answer_id, _ in answers)


DAY = date(2026, 11, 23)


async def test_0016_keeps_every_staff_member_and_code_and_drops_their_rowids(
    database: ScratchDatabase,
) -> None:
    # Review: staff_members and invite_codes kept SQLite rowids, which number people in the
    # order they enrolled and codes in the order they were made.
    await database.upgrade("0014")
    members = [(f"{n:064x}", "hr" if n % 2 else "it", DAY) for n in range(12)]
    codes = [(f"{n + 100:064x}", "hr", DAY, DAY if n % 3 else None) for n in range(12)]
    engine = database.engine()
    try:
        async with engine.begin() as connection:
            for key, department, day in members:
                await connection.execute(
                    text("INSERT INTO staff_members VALUES (:k, :d, :day)"),
                    {"k": key, "d": department, "day": day},
                )
            for key, department, day, used in codes:
                await connection.execute(
                    text("INSERT INTO invite_codes VALUES (:k, :d, :day, :used)"),
                    {"k": key, "d": department, "day": day, "used": used},
                )
    finally:
        await engine.dispose()

    Rows = tuple[set[tuple[object, ...]], set[tuple[object, ...]]]

    async def rows(*, rowid: bool) -> Rows:
        engine = database.engine()
        try:
            async with engine.connect() as connection:
                got_members: set[tuple[object, ...]] = {
                    (r[0], r[1], str(r[2]))
                    for r in await connection.execute(text("SELECT * FROM staff_members"))
                }
                got_codes: set[tuple[object, ...]] = {
                    (r[0], r[1], str(r[2]), None if r[3] is None else str(r[3]))
                    for r in await connection.execute(text("SELECT * FROM invite_codes"))
                }
                if database.backend == "sqlite":
                    for table in ("staff_members", "invite_codes"):
                        query = text(f"SELECT rowid FROM {table}")
                        if rowid:
                            await connection.execute(query)
                        else:
                            with pytest.raises(OperationalError, match="rowid"):
                                await connection.execute(query)
        finally:
            await engine.dispose()
        return got_members, got_codes

    expected = (
        {(k, d, str(day)) for k, d, day in members},
        {(k, d, str(day), None if u is None else str(u)) for k, d, day, u in codes},
    )
    await database.upgrade("0016")
    assert await rows(rowid=False) == expected
    await database.downgrade("0014")
    assert await rows(rowid=True) == expected


def _uuid_value(database: ScratchDatabase, value: uuid.UUID) -> object:
    # What SQLAlchemy's Uuid type stores: 32 hex digits on SQLite, a native uuid on PostgreSQL.
    return value.hex if database.backend == "sqlite" else value


@pytest.mark.postgres
@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
async def test_workers_starting_at_once_migrate_one_after_the_other(database_url: str) -> None:
    """Issue 14: several processes start together and each migrates at start."""
    await asyncio.gather(*(upgrade_async(database_url) for _ in range(3)))
    engine = create_engine(database_url)
    try:
        async with engine.connect() as connection:
            version = await connection.scalar(text("SELECT version_num FROM alembic_version"))
    finally:
        await engine.dispose()
    assert version == ScriptDirectory.from_config(alembic_config()).get_current_head()


async def test_0021_removes_the_pain_map_figures_and_makes_their_refresh_run_again(
    database: ScratchDatabase,
) -> None:
    # Review of 30 November: figures stored before poll windows left the calendar figures,
    # minus today's report of the same period, isolated a window's respondents by service.
    # They go; pains and measures (officers' work) stay; the refresh takes the periods again.
    await database.upgrade("0017")
    engine = database.engine()
    try:
        async with engine.begin() as connection:
            await connection.execute(
                text(
                    "INSERT INTO pains (id, process_kind, process_code, touchpoint, source, "
                    "source_code, title, found_on) VALUES ('p1', 'service', 'licensing', '', "
                    "'rating_problem', 'queue', 'Очередь', :day)"
                ),
                {"day": DAY},
            )
            await connection.execute(
                text(
                    "INSERT INTO pain_figures (pain_id, period_start, period_end, hidden, "
                    "respondents, prevalence, mean_overall, priority) "
                    "VALUES ('p1', :start, :end, false, 9, 0.5, 3.0, 1.0)"
                ),
                {"start": date(2026, 10, 1), "end": date(2026, 10, 31)},
            )
            await connection.execute(
                text(
                    "INSERT INTO process_figures (process_kind, process_code, period_start, "
                    "period_end, hidden, n, csat, mean) "
                    "VALUES ('service', 'licensing', :start, :end, false, 9, 0.5, 3.0)"
                ),
                {"start": date(2026, 10, 1), "end": date(2026, 10, 31)},
            )
            await connection.execute(
                text(
                    "INSERT INTO pain_measures (id, pain_id, text, responsible, deadline, "
                    "status, created_on) VALUES ('m1', 'p1', 'Электронная очередь', "
                    "'Отдел', :day, 'planned', :day)"
                ),
                {"day": DAY},
            )
            for kind, key in (("painmap_refresh", "20261001-20261031"), ("digest", "2026-W47")):
                await connection.execute(
                    text(
                        "INSERT INTO deliveries (kind, period_key, recipient, status, due_at, "
                        "claimed_at, sent_at, attempts) "
                        "VALUES (:kind, :key, 0, 'sent', :at, :at, :at, 1)"
                    ),
                    {"kind": kind, "key": key, "at": datetime(2026, 11, 1, 3, tzinfo=UTC)},
                )
    finally:
        await engine.dispose()

    await database.upgrade("0021")
    engine = database.engine()
    try:
        async with engine.connect() as connection:

            async def rows(sql: str) -> list[tuple[object, ...]]:
                return [tuple(row) for row in await connection.execute(text(sql))]

            assert await rows("SELECT * FROM pain_figures") == []
            assert await rows("SELECT * FROM process_figures") == []
            assert await rows("SELECT id FROM pains") == [("p1",)]
            assert await rows("SELECT id, pain_id FROM pain_measures") == [("m1", "p1")]
            ledger = await rows(
                "SELECT kind, status, sent_at IS NULL FROM deliveries ORDER BY kind"
            )
    finally:
        await engine.dispose()
    assert [(k, s, bool(n)) for k, s, n in ledger] == [
        ("digest", "sent", False),
        ("painmap_refresh", "failed", True),
    ]
    await database.downgrade("0017")  # nothing to bring back, and nothing breaks


async def test_0027_keeps_each_announcements_broadcast_among_its_broadcasts(
    database: ScratchDatabase,
) -> None:
    # Issue 11 item 3: an announcement has several broadcasts now (one per set of measures
    # heard by services' subscribers); one sent before keeps its one, and can be resumed.
    await database.upgrade("0021")
    engine = database.engine()
    try:
        async with engine.begin() as connection:
            await connection.execute(
                text(
                    "INSERT INTO announcements (key, broadcast_id, created_on, finished) "
                    "VALUES ('a1', 41, :day, false)"
                ),
                {"day": DAY},
            )
    finally:
        await engine.dispose()
    await database.upgrade("0027")
    engine = database.engine()
    try:
        async with engine.connect() as connection:
            found = await connection.execute(
                text("SELECT announcement, broadcast_id FROM announcement_broadcasts")
            )
            assert [tuple(row) for row in found] == [("a1", 41)]
            empty = await connection.execute(text("SELECT count(*) FROM service_news"))
            assert empty.scalar_one() == 0
    finally:
        await engine.dispose()
    await database.downgrade("0021")


async def test_0022_records_every_stored_response_as_telegram_and_goes_back(
    database: ScratchDatabase,
) -> None:
    # Issue 13: nothing in a stored row tells a web answer from a Telegram one (a Telegram
    # link of the site channel records `site` too), so no row is guessed to be the web's.
    await database.upgrade("0021")
    engine = database.engine()
    ids = [uuid.uuid4(), uuid.uuid4()]
    try:
        async with engine.begin() as connection:
            for response_id, channel in zip(ids, ("site", "office"), strict=True):
                await connection.execute(
                    text(
                        "INSERT INTO responses (id, questionnaire_id, questionnaire_version, "
                        "kind, audience, channel_code, submitted_on) VALUES (:id, "
                        "'post_service', 1, 'rating', 'external', :channel, :day)"
                    ),
                    {"id": _uuid_value(database, response_id), "channel": channel, "day": DAY},
                )
                await connection.execute(
                    text(
                        "INSERT INTO report_answers (response_id, id, question_id, number, "
                        "questionnaire_id, audience, channel_code, submitted_on, month_on, "
                        "segment_on) VALUES (:id, :answer, 'overall', 5, 'post_service', "
                        "'external', :channel, :day, :day, :day)"
                    ),
                    {
                        "id": _uuid_value(database, response_id),
                        "answer": _uuid_value(database, uuid.uuid4()),
                        "channel": channel,
                        "day": DAY,
                    },
                )
    finally:
        await engine.dispose()

    await database.upgrade("0022")
    engine = database.engine()
    try:
        async with engine.connect() as connection:
            fronts = [
                tuple(row)
                for row in await connection.execute(
                    text("SELECT channel_code, front FROM responses ORDER BY channel_code")
                )
            ]
            copies = set(
                (await connection.execute(text("SELECT front FROM report_answers"))).scalars()
            )
            indexes = await connection.run_sync(
                lambda sync: {
                    index["name"]: index["column_names"]
                    for index in inspect(sync).get_indexes("report_answers")
                }
            )
    finally:
        await engine.dispose()
    assert fronts == [("office", "telegram"), ("site", "telegram")]
    assert copies == {"telegram"}
    # The breakdowns group by the cell with its front: both covering indexes hold it there.
    for name in ("ix_report_answers_groups", "ix_report_answers_options"):
        columns = indexes[name]
        assert columns[columns.index("life_situation_code") + 1] == "front"
    await database.downgrade("0021")
    engine = database.engine()
    try:
        async with engine.connect() as connection:
            columns = await connection.run_sync(
                lambda sync: [column["name"] for column in inspect(sync).get_columns("responses")]
            )
            count = await connection.scalar(text("SELECT count(*) FROM report_answers"))
    finally:
        await engine.dispose()
    assert "front" not in columns and count == 2


async def test_0029_keeps_every_subscription_as_telegrams_and_downgrade_drops_maxs(
    database: ScratchDatabase,
) -> None:
    # Issue 13: opt-ins carry their messenger; every row before was a Telegram chat.
    await database.upgrade("0022")
    engine = database.engine()
    try:
        async with engine.begin() as connection:
            await connection.execute(
                text("INSERT INTO opt_ins (chat_id, topic, created_on) VALUES (77, 'polls', :d)"),
                {"d": date(2026, 11, 1)},
            )
            await connection.execute(
                text("INSERT INTO service_news (chat_id, service_code) VALUES (-100, 'lic')")
            )
    finally:
        await engine.dispose()
    await database.upgrade("0029")
    engine = database.engine()
    try:
        async with engine.begin() as connection:
            opt_ins = (
                await connection.execute(text("SELECT messenger, chat_id, topic FROM opt_ins"))
            ).all()
            news = (
                await connection.execute(text("SELECT messenger, chat_id FROM service_news"))
            ).all()
            # The same number in MAX is another row.
            await connection.execute(
                text(
                    "INSERT INTO opt_ins (messenger, chat_id, topic, created_on) "
                    "VALUES ('max', 77, 'polls', :d)"
                ),
                {"d": date(2026, 11, 1)},
            )
    finally:
        await engine.dispose()
    assert [tuple(row) for row in opt_ins] == [("telegram", 77, "polls")]
    assert [tuple(row) for row in news] == [("telegram", -100)]


async def test_0030_flags_the_copies_of_the_answers_with_a_text_and_goes_back(
    database: ScratchDatabase,
) -> None:
    # Issue 15 item 3: the open answers' texts are read from a partial index of the copies
    # flagged ``has_text``; the flag of every stored copy comes from its answer.
    await database.upgrade("0022")
    engine = database.engine()
    response_id = uuid.uuid4()
    # (question, option, number, text)
    answers = {
        uuid.uuid4(): ("overall", None, 4, None),
        uuid.uuid4(): ("obstacles", "queue", None, None),
        uuid.uuid4(): ("obstacles", "other", None, "не работал сайт"),
        uuid.uuid4(): ("comment", None, None, "долго"),
        uuid.uuid4(): ("comment", None, None, ""),  # an empty text is still a text
    }
    try:
        async with engine.begin() as connection:
            await connection.execute(
                text(
                    "INSERT INTO responses (id, questionnaire_id, questionnaire_version, kind, "
                    "audience, submitted_on) VALUES (:id, 'post_service', 1, 'rating', "
                    "'external', :day)"
                ),
                {"id": _uuid_value(database, response_id), "day": DAY},
            )
            for answer_id, (question, option, number, free_text) in answers.items():
                values = {
                    "response": _uuid_value(database, response_id),
                    "id": _uuid_value(database, answer_id),
                    "question": question,
                    "option": option,
                    "number": number,
                    "text": free_text,
                    "day": DAY,
                }
                await connection.execute(
                    text(
                        "INSERT INTO answers (id, response_id, question_id, option_id, number, "
                        "text) VALUES (:id, :response, :question, :option, :number, :text)"
                    ),
                    values,
                )
                await connection.execute(
                    text(
                        "INSERT INTO report_answers (response_id, id, question_id, option_id, "
                        "number, questionnaire_id, audience, submitted_on, month_on, "
                        "segment_on) VALUES (:response, :id, :question, :option, :number, "
                        "'post_service', 'external', :day, :day, :day)"
                    ),
                    values,
                )
    finally:
        await engine.dispose()

    await database.upgrade("0030")
    engine = database.engine()
    try:
        async with engine.connect() as connection:
            flags = {
                str(row[0]).replace("-", ""): bool(row[1])
                for row in await connection.execute(
                    text("SELECT id, has_text FROM report_answers")
                )
            }
            indexes = await connection.run_sync(
                lambda sync: {
                    index["name"]: index["column_names"]
                    for index in inspect(sync).get_indexes("report_answers")
                }
            )
    finally:
        await engine.dispose()
    assert flags == {answer_id.hex: found[3] is not None for answer_id, found in answers.items()}
    assert indexes["ix_report_answers_texts"][:2] == ["audience", "submitted_on"]

    await database.downgrade("0022")
    engine = database.engine()
    try:
        async with engine.connect() as connection:
            columns = await connection.run_sync(
                lambda sync: [c["name"] for c in inspect(sync).get_columns("report_answers")]
            )
            names = await connection.run_sync(
                lambda sync: [i["name"] for i in inspect(sync).get_indexes("report_answers")]
            )
            count = await connection.scalar(text("SELECT count(*) FROM report_answers"))
    finally:
        await engine.dispose()
    assert "has_text" not in columns and "ix_report_answers_texts" not in names
    assert count == len(answers)


async def test_0032_keeps_officers_languages_per_messenger_and_goes_back(
    database: ScratchDatabase,
) -> None:
    # Issue 12: an officer's language per (messenger, chat); a MAX user with a Telegram
    # officer's number is another row, and the downgrade drops the table.
    await database.upgrade("0032")
    engine = database.engine()
    try:
        async with engine.begin() as connection:
            await connection.execute(
                text(
                    "INSERT INTO officer_languages (messenger, chat_id, language, chosen) "
                    "VALUES ('telegram', 77, 'en', :f), ('max', 77, 'ru', :t)"
                ),
                {"f": False, "t": True},
            )
        with pytest.raises(IntegrityError):
            async with engine.begin() as connection:
                await connection.execute(
                    text(
                        "INSERT INTO officer_languages (messenger, chat_id, language, chosen) "
                        "VALUES ('telegram', 77, 'ru', :t)"
                    ),
                    {"t": True},
                )
        async with engine.connect() as connection:
            rows = (
                await connection.execute(
                    text("SELECT messenger, chat_id, language, chosen FROM officer_languages")
                )
            ).all()
    finally:
        await engine.dispose()
    assert sorted((m, c, lang, bool(ch)) for m, c, lang, ch in rows) == [
        ("max", 77, "ru", True),
        ("telegram", 77, "en", False),
    ]
    await database.downgrade("0030")
    engine = database.engine()
    try:
        async with engine.connect() as connection:
            tables = await connection.run_sync(lambda sync: inspect(sync).get_table_names())
    finally:
        await engine.dispose()
    assert "officer_languages" not in tables


async def test_0031_leaves_stored_copies_unscored_until_the_start_up_backfill_and_goes_back(
    database: ScratchDatabase,
) -> None:
    # Issue 15 item 3: the copies carry their response's overall score. A migration cannot read
    # the questionnaire files, so stored copies stay unscored until storage.report_scores gives
    # them the score of the roles served: a score, "cannot rate" (0), or nothing.
    from storage.database import create_session_factory
    from storage.report_scores import any_unscored, score_unscored

    await database.upgrade("0030")
    engine = database.engine()
    # response -> (questionnaire, [(question, option, number)]), expected overall_score
    stored: dict[uuid.UUID, tuple[str, list[tuple[str, str | None, int | None]], int | None]] = {
        uuid.uuid4(): ("post_service", [("overall", None, 2), ("obstacles", "queue", None)], 2),
        uuid.uuid4(): ("post_service", [("overall", "cannot_rate", None)], 0),
        uuid.uuid4(): ("post_service", [("obstacles", "queue", None)], None),
        uuid.uuid4(): ("initiative", [("overall", None, 5)], None),  # no overall role
    }
    try:
        async with engine.begin() as connection:
            for response_id, (questionnaire, answers, _) in stored.items():
                await connection.execute(
                    text(
                        "INSERT INTO responses (id, questionnaire_id, questionnaire_version, "
                        "kind, audience, submitted_on) VALUES (:id, :questionnaire, 1, "
                        "'rating', 'external', :day)"
                    ),
                    {
                        "id": _uuid_value(database, response_id),
                        "questionnaire": questionnaire,
                        "day": DAY,
                    },
                )
                for question, option, number in answers:
                    values = {
                        "response": _uuid_value(database, response_id),
                        "id": _uuid_value(database, uuid.uuid4()),
                        "question": question,
                        "option": option,
                        "number": number,
                        "questionnaire": questionnaire,
                        "day": DAY,
                    }
                    await connection.execute(
                        text(
                            "INSERT INTO answers (id, response_id, question_id, option_id, "
                            "number) VALUES (:id, :response, :question, :option, :number)"
                        ),
                        values,
                    )
                    await connection.execute(
                        text(
                            "INSERT INTO report_answers (response_id, id, question_id, "
                            "option_id, number, questionnaire_id, audience, submitted_on, "
                            "month_on, segment_on) VALUES (:response, :id, :question, :option, "
                            ":number, :questionnaire, 'external', :day, :day, :day)"
                        ),
                        values,
                    )
    finally:
        await engine.dispose()

    await database.upgrade("0031")
    engine = database.engine()

    async def scores() -> dict[str, set[tuple[int | None, bool]]]:
        found: dict[str, set[tuple[int | None, bool]]] = {}
        async with engine.connect() as connection:
            for row in await connection.execute(
                text("SELECT response_id, overall_score, scored FROM report_answers")
            ):
                key = str(row[0]).replace("-", "")
                found.setdefault(key, set()).add((row[1], bool(row[2])))
        return found

    try:
        assert set().union(*(await scores()).values()) == {(None, False)}
        async with engine.connect() as connection:
            indexes = await connection.run_sync(
                lambda sync: {
                    index["name"]: index["column_names"]
                    for index in inspect(sync).get_indexes("report_answers")
                }
            )
        assert indexes["ix_report_answers_options"][-1] == "overall_score"
        assert indexes["ix_report_answers_unscored"] == ["response_id"]

        sessions = create_session_factory(engine)
        async with sessions() as session:
            assert await any_unscored(session)
        # A start whose folder lacks "initiative" (a file missing): its copies stay unscored.
        served = {"post_service", "initiative"}
        overall = {"post_service": "overall"}
        assert await score_unscored(sessions, overall, served={"post_service"}, batch=3) == 3
        async with sessions() as session:
            assert await any_unscored(session)
        assert await score_unscored(sessions, overall, served=served, batch=3) == 1
        assert await score_unscored(sessions, overall, served=served) == 0
        async with sessions() as session:
            assert not await any_unscored(session)
        assert await scores() == {
            response_id.hex: {(expected, True)} for response_id, (_, _, expected) in stored.items()
        }
    finally:
        await engine.dispose()

    await database.downgrade("0030")
    engine = database.engine()
    try:
        async with engine.connect() as connection:
            columns = await connection.run_sync(
                lambda sync: [c["name"] for c in inspect(sync).get_columns("report_answers")]
            )
            indexes = await connection.run_sync(
                lambda sync: {
                    index["name"]: index["column_names"]
                    for index in inspect(sync).get_indexes("report_answers")
                }
            )
    finally:
        await engine.dispose()
    assert "overall_score" not in columns and "scored" not in columns
    assert "ix_report_answers_unscored" not in indexes
    assert indexes["ix_report_answers_options"][-1] == "window_id"


async def test_0035_makes_the_texts_index_cover_the_front_and_the_flag_and_goes_back(
    database: ScratchDatabase,
) -> None:
    # Issue 15 item 3: the open answers' keys are read from the partial index alone; the
    # downgrade builds revision 0030's index again (the stairway test checks it runs).
    async def texts_index() -> list[str | None]:
        engine = database.engine()
        try:
            async with engine.connect() as connection:
                return await connection.run_sync(
                    lambda sync: {
                        index["name"]: index["column_names"]
                        for index in inspect(sync).get_indexes("report_answers")
                    }["ix_report_answers_texts"]
                )
        finally:
            await engine.dispose()

    await database.upgrade("0034")
    before = await texts_index()
    assert "front" not in before and "has_text" not in before
    await database.upgrade("0035")
    after = await texts_index()
    assert after[:2] == ["audience", "submitted_on"]
    assert {"front", "has_text", "response_id", "id"} <= set(after)
    await database.downgrade("0034")
    assert await texts_index() == before


async def test_0036_drops_the_unread_indexes_of_responses_and_answers_and_goes_back(
    database: ScratchDatabase,
) -> None:
    # Issue 15 item 2: every response is written into each index of its tables; the six that no
    # query reads go, the ones the reports force (reports.metrics DAYS_INDEX, ANSWERS_INDEX)
    # and the window and response lookups stay; the downgrade builds the six again.
    async def indexes() -> dict[str, dict[str, list[str | None]]]:
        engine = database.engine()
        try:
            async with engine.connect() as connection:
                return await connection.run_sync(
                    lambda sync: {
                        table: {
                            str(index["name"]): list(index["column_names"])
                            for index in inspect(sync).get_indexes(table)
                        }
                        for table in ("responses", "answers")
                    }
                )
        finally:
            await engine.dispose()

    dropped = {
        "responses": {
            "ix_responses_service_code",
            "ix_responses_channel_code",
            "ix_responses_life_situation_code",
            "ix_responses_report_groups",
        },
        "answers": {"ix_answers_question_id_number", "ix_answers_question_id_option_id"},
    }
    await database.upgrade("0035")
    before = await indexes()
    for table, names in dropped.items():
        assert names <= set(before[table])
    await database.upgrade("0036")
    after = await indexes()
    assert set(after["responses"]) == {
        "ix_responses_questionnaire_id_submitted_on",
        "ix_responses_window_id",
        "ix_responses_report_days",
    }
    assert set(after["answers"]) == {
        "ix_answers_response_id",
        "ix_answers_question_id_response_id_number_option_id",
    }
    for table, names in dropped.items():
        assert {name: before[table][name] for name in set(before[table]) - names} == after[table]
    await database.downgrade("0035")
    assert await indexes() == before
