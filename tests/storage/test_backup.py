"""`otklik db backup` (issue 14): a consistent SQLite copy made while writes go on, restored and
read back; PostgreSQL gets the pg_dump advice."""

from __future__ import annotations

import asyncio
import sqlite3
import stat
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select, text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.cli import main
from storage.backup import BackupError, backup_sqlite, pg_dump_advice, sqlite_path
from storage.database import create_engine, create_session_factory
from storage.leases import LeaseElection
from storage.migrate import upgrade_async
from storage.models_leases import Lease


async def _fill(sessions: async_sessionmaker[AsyncSession], start: int, count: int) -> None:
    for number in range(start, start + count):
        await LeaseElection(sessions, f"role-{number}", ttl=timedelta(seconds=30)).campaign()


def _facts(path: Path) -> tuple[int, bytes, list[str]]:
    companions = [p.name for p in path.parent.iterdir() if p.name != path.name]
    return stat.S_IMODE(path.stat().st_mode), path.read_bytes(), companions


async def test_backup_round_trip_while_the_bot_writes(tmp_path: Path) -> None:
    source = tmp_path / "data" / "otklik.db"
    url = f"sqlite+aiosqlite:///{source}"
    await upgrade_async(url)
    engine = create_engine(url)
    sessions = create_session_factory(engine)
    try:
        await _fill(sessions, 0, 50)
        # Deleted rows must not travel in the backup's free pages.
        async with sessions.begin() as session:
            await session.execute(
                text("INSERT INTO leases (name, holder, expires_at, epoch) "
                     "VALUES ('forgotten', 'SECRET-HOLDER-7781', '2026-01-01', 1)")
            )  # fmt: skip
        async with sessions.begin() as session:
            await session.execute(text("DELETE FROM leases WHERE name = 'forgotten'"))
        target = tmp_path / "backups" / "copy.db"
        writing = asyncio.create_task(_fill(sessions, 50, 50))  # the bot goes on meanwhile
        made = await asyncio.to_thread(backup_sqlite, source, target)
        await writing
    finally:
        await engine.dispose()
    assert made.path == target and made.tables > 10
    mode, content, companions = _facts(target)
    assert mode == 0o600
    assert b"SECRET-HOLDER-7781" not in content
    # Restored: the copy is a complete database at the newest revision, one file alone.
    assert companions == []
    restored_url = f"sqlite+aiosqlite:///{target}"
    await upgrade_async(restored_url)  # already at head: nothing to do
    restored = create_engine(restored_url)
    try:
        async with create_session_factory(restored)() as session:
            copied = await session.scalar(select(func.count()).select_from(Lease))
    finally:
        await restored.dispose()
    assert copied is not None and 50 <= copied <= 100  # a consistent moment of the writes
    with pytest.raises(BackupError, match="never overwritten"):
        backup_sqlite(source, target)


def test_backup_of_a_missing_database_is_explained(tmp_path: Path) -> None:
    with pytest.raises(BackupError, match="no database"):
        backup_sqlite(tmp_path / "none.db", tmp_path / "copy.db")
    assert not (tmp_path / "copy.db").exists()


def test_postgresql_gets_pg_dump_advice_without_the_password() -> None:
    url = "postgresql+asyncpg://otklik:s3cret@db.internal:5433/otklik"
    assert sqlite_path(url) is None
    advice = "\n".join(pg_dump_advice(url, Path("otklik.dump")))
    assert "pg_dump -h db.internal -p 5433 -U otklik -Fc -f otklik.dump otklik" in advice
    assert "pg_restore" in advice and "s3cret" not in advice


def test_the_command_writes_the_backup_and_reminds_of_the_pepper(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    source = tmp_path / "otklik.db"
    with sqlite3.connect(source) as connection:
        connection.execute("CREATE TABLE answers (id TEXT PRIMARY KEY, number INTEGER)")
        connection.execute("INSERT INTO answers VALUES ('a', 5)")
    monkeypatch.setenv("OTKLIK_HOME", str(tmp_path))
    monkeypatch.setenv("DB__URL", f"sqlite+aiosqlite:///{source}")
    target = tmp_path / "out.db"
    assert main(["db", "backup", "--out", str(target)]) == 0
    out = capsys.readouterr().out
    assert "backup written" in out and "pepper" in out
    with sqlite3.connect(target) as copy:
        assert copy.execute("SELECT number FROM answers").fetchall() == [(5,)]
    assert main(["db", "backup", "--out", str(target)]) == 2  # exists: explained, exit 2
    assert "never overwritten" in capsys.readouterr().err
