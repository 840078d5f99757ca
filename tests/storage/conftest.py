"""Database fixtures: each storage test gets a fresh SQLite file and a fresh PostgreSQL schema."""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final, NoReturn

import pytest
from sqlalchemy import Connection, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from storage.database import create_engine, create_session_factory
from storage.migrate import run_downgrade, run_upgrade

PG_URL_ENV: Final = "OTKLIK_TEST_PG_URL"
PG_SKIP_ENV: Final = "OTKLIK_SKIP_PG"
DEFAULT_PG_URL: Final = "postgresql+asyncpg://postgres@127.0.0.1:5432/test"

BACKENDS: Final = ["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)]


def pg_url() -> str:
    """The PostgreSQL server the tests use (a database the user may create schemas in)."""
    return os.environ.get(PG_URL_ENV, DEFAULT_PG_URL)


def pg_unavailable(error: BaseException) -> NoReturn:
    """Fail loudly when PostgreSQL is down: a silent skip would hide half the test matrix."""
    message = (
        f"PostgreSQL at {make_url(pg_url()).render_as_string(hide_password=True)} is unreachable "
        f"({type(error).__name__}: {error}). Start it, point {PG_URL_ENV} at a server, "
        f"or set {PG_SKIP_ENV}=1 to skip the PostgreSQL half of the storage tests."
    )
    if os.environ.get(PG_SKIP_ENV) == "1":
        pytest.skip(message)
    pytest.fail(message, pytrace=False)


@dataclass(frozen=True)
class ScratchDatabase:
    """An empty database private to one test: a SQLite file or a PostgreSQL schema."""

    backend: str
    url: str
    connect_args: dict[str, Any] = field(default_factory=dict)

    def engine(self, *, foreign_keys: bool = True) -> AsyncEngine:
        return create_engine(
            self.url, connect_args=self.connect_args, sqlite_foreign_keys=foreign_keys
        )

    async def upgrade(self, revision: str = "head") -> None:
        await self._migrate(lambda connection: run_upgrade(connection, revision))

    async def downgrade(self, revision: str) -> None:
        await self._migrate(lambda connection: run_downgrade(connection, revision))

    async def _migrate(self, run: Callable[[Connection], None]) -> None:
        engine = self.engine(foreign_keys=False)
        try:
            async with engine.begin() as connection:
                await connection.run_sync(run)
        finally:
            await engine.dispose()


async def _admin_engine() -> AsyncEngine:
    engine = create_engine(pg_url())
    try:
        async with engine.connect() as connection:
            await connection.execute(text("SELECT 1"))
    except (OSError, SQLAlchemyError) as error:
        failure = error
    else:
        return engine
    await engine.dispose()
    pg_unavailable(failure)  # outside the except block: one clear message, no chained traceback


@pytest.fixture(params=BACKENDS)
async def database(
    request: pytest.FixtureRequest, tmp_path: Path
) -> AsyncIterator[ScratchDatabase]:
    """An empty database, not migrated."""
    if request.param == "sqlite":
        yield ScratchDatabase("sqlite", f"sqlite+aiosqlite:///{tmp_path / 'otklik.db'}")
        return
    admin = await _admin_engine()
    # A schema per test: parallel runs and leftovers of crashed runs never collide.
    schema = f"t_{uuid.uuid4().hex[:16]}"
    async with admin.begin() as connection:
        await connection.execute(text(f'CREATE SCHEMA "{schema}"'))
    try:
        yield ScratchDatabase("postgresql", pg_url(), {"server_settings": {"search_path": schema}})
    finally:
        async with admin.begin() as connection:
            await connection.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        await admin.dispose()


@pytest.fixture
async def engine(database: ScratchDatabase) -> AsyncIterator[AsyncEngine]:
    """An engine on a database migrated to head, foreign keys enforced."""
    await database.upgrade("head")
    engine = database.engine()
    try:
        yield engine
    finally:
        await engine.dispose()


@pytest.fixture
def sessions(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return create_session_factory(engine)


@pytest.fixture(params=BACKENDS)
async def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[str]:
    """A URL alone naming an empty database (PostgreSQL: a throwaway database, not a schema)."""
    if request.param == "sqlite":
        # A directory that does not exist yet: the engine factory creates it.
        yield f"sqlite+aiosqlite:///{tmp_path / 'data' / 'otklik.db'}"
        return
    admin = await _admin_engine()
    name = f"otklik_t_{uuid.uuid4().hex[:16]}"
    autocommit = admin.execution_options(isolation_level="AUTOCOMMIT")
    async with autocommit.connect() as connection:
        await connection.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield make_url(pg_url()).set(database=name).render_as_string(hide_password=False)
    finally:
        async with autocommit.connect() as connection:
            await connection.execute(text(f'DROP DATABASE "{name}" WITH (FORCE)'))
        await admin.dispose()
