"""Engine factory and column types: SQLite pragmas and transactions, UTC datetimes, cascades."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, timedelta, timezone
from pathlib import Path

import pytest
from sqlalchemy import Column, Integer, MetaData, Table, delete, func, insert, select, text
from sqlalchemy.exc import DBAPIError, IntegrityError, StatementError
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from storage import catalog, database, models, opt_ins, responses
from storage.database import create_engine
from storage.models import Answer, Response
from storage.types import UtcDateTime
from tests.storage.conftest import ScratchDatabase

YAKUTSK = timezone(timedelta(hours=9))


def test_sqlite_engine_creates_the_missing_parent_directory(tmp_path: Path) -> None:
    target = tmp_path / "a" / "b" / "otklik.db"

    create_engine(f"sqlite+aiosqlite:///{target}")

    assert target.parent.is_dir()


def test_importing_storage_creates_no_engine() -> None:
    for module in (catalog, database, models, opt_ins, responses):
        assert not [v for v in vars(module).values() if isinstance(v, AsyncEngine)], module


async def test_sqlite_connections_get_the_pragmas(tmp_path: Path) -> None:
    engine = create_engine(f"sqlite+aiosqlite:///{tmp_path / 'p.db'}")
    try:
        async with engine.connect() as connection:
            values = [
                (await connection.exec_driver_sql(f"PRAGMA {name}")).scalar()
                for name in ("foreign_keys", "journal_mode", "synchronous", "busy_timeout")
            ]
    finally:
        await engine.dispose()
    assert values == [1, "wal", 1, 5000]  # synchronous NORMAL is 1


async def test_sqlite_ddl_rolls_back_with_its_transaction(tmp_path: Path) -> None:
    # The sqlite3 driver alone would run CREATE TABLE outside any transaction.
    engine = create_engine(f"sqlite+aiosqlite:///{tmp_path / 'ddl.db'}")
    try:
        async with engine.connect() as connection:
            transaction = await connection.begin()
            await connection.execute(text("CREATE TABLE scratch (x INTEGER)"))
            await transaction.rollback()
            tables = (
                await connection.execute(text("SELECT name FROM sqlite_master WHERE type='table'"))
            ).scalars()
            assert "scratch" not in list(tables)
    finally:
        await engine.dispose()


async def test_foreign_keys_are_enforced(sessions: async_sessionmaker[AsyncSession]) -> None:
    with pytest.raises(IntegrityError):
        async with sessions.begin() as session:
            await session.execute(
                insert(Answer).values(response_id=uuid.uuid4(), question_id="q", number=1)
            )


async def test_deleting_a_response_deletes_its_answers(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    response_id = uuid.uuid4()
    async with sessions.begin() as session:
        await session.execute(
            insert(Response).values(
                id=response_id,
                questionnaire_id="q",
                questionnaire_version=1,
                kind="rating",
                audience="external",
                submitted_on=date(2025, 1, 1),
            )
        )
        await session.execute(
            insert(Answer), [{"response_id": response_id, "question_id": "q", "number": 3}] * 2
        )
    async with sessions.begin() as session:
        await session.execute(delete(Response).where(Response.id == response_id))
    async with sessions() as session:
        assert await session.scalar(select(func.count()).select_from(Answer)) == 0


async def test_utc_datetime_returns_aware_utc_for_the_same_instant(
    database: ScratchDatabase,
) -> None:
    metadata = MetaData()
    events = Table(
        "scratch_events",
        metadata,
        Column("id", Integer, primary_key=True),
        Column("at", UtcDateTime),
    )
    local = datetime(2025, 7, 1, 9, 30, 15, 123456, tzinfo=YAKUTSK)
    engine = database.engine()
    try:
        async with engine.begin() as connection:
            await connection.run_sync(metadata.create_all)
            await connection.execute(insert(events).values(id=1, at=local))
            await connection.execute(insert(events).values(id=2, at=None))
        async with engine.connect() as connection:
            rows = await connection.execute(select(events.c.id, events.c.at))
            stored = {row_id: at for row_id, at in rows}
            with pytest.raises(StatementError, match="naive datetime"):
                await connection.execute(insert(events).values(id=3, at=datetime(2025, 7, 1)))
    finally:
        await engine.dispose()
    assert stored[1] == local
    assert stored[1].utcoffset() == timedelta(0) and stored[1].tzinfo == UTC
    assert stored[1].hour == 0  # 09:30 in Yakutsk is 00:30 UTC
    assert stored[2] is None


@pytest.mark.postgres
@pytest.mark.parametrize("idle", [0.0, 3600.0])
async def test_a_postgresql_connection_at_rest_is_pinged_and_a_dead_one_replaced(
    monkeypatch: pytest.MonkeyPatch, idle: float
) -> None:
    # Issue 15: pool_pre_ping cost three round trips (BEGIN, ping, ROLLBACK) on every
    # checkout; only a connection at rest for PING_AFTER_IDLE_S is pinged now. One killed
    # while at rest is replaced (pinged) or fails the statement (handed out as it was).
    from tests.storage.conftest import pg_unavailable, pg_url

    monkeypatch.setattr(database, "PING_AFTER_IDLE_S", idle)
    engine = create_engine(pg_url())
    admin = create_engine(pg_url())
    try:
        try:
            async with engine.connect() as connection:
                pid = (await connection.execute(text("SELECT pg_backend_pid()"))).scalar_one()
        except OSError as error:
            pg_unavailable(error)
        async with admin.connect() as connection:
            await connection.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})
        if idle == 0.0:
            async with engine.connect() as connection:
                again = (await connection.execute(text("SELECT pg_backend_pid()"))).scalar_one()
            assert again != pid
        else:
            with pytest.raises(DBAPIError):
                async with engine.connect() as connection:
                    await connection.execute(text("SELECT 1"))
    finally:
        await engine.dispose()
        await admin.dispose()
