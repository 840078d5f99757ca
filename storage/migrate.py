"""Runs the Alembic migrations from code: sync, inside a running loop, or on a connection."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Coroutine
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, Final

from alembic import command
from alembic.config import Config
from sqlalchemy import Connection, text

from storage.database import create_engine
from storage.leases import advisory_key

logger = logging.getLogger(__name__)

#: The PostgreSQL advisory lock migrations hold (a transaction-level one).
MIGRATION_LOCK: Final = advisory_key("migrate")

MIGRATIONS_DIR: Final = Path(__file__).resolve().parent / "migrations"


def alembic_config() -> Config:
    """An Alembic config for the packaged migrations, independent of the working directory."""
    # No ini file: the application's logging stays as configured (env.py only calls fileConfig
    # for the command line), and nothing depends on the current directory.
    config = Config()
    # ConfigParser interpolation: a literal "%" in the path must be doubled.
    config.set_main_option("script_location", str(MIGRATIONS_DIR).replace("%", "%%"))
    config.set_main_option("path_separator", "os")
    return config


def run_upgrade(connection: Connection, revision: str = "head") -> None:
    """Upgrade through an open connection; call as ``await conn.run_sync(run_upgrade, rev)``.

    On SQLite the connection must come from ``create_engine(url, sqlite_foreign_keys=False)``.
    """
    config = alembic_config()
    config.attributes["connection"] = connection
    command.upgrade(config, revision)


def run_downgrade(connection: Connection, revision: str) -> None:
    """Downgrade through an open connection; see :func:`run_upgrade`."""
    config = alembic_config()
    config.attributes["connection"] = connection
    command.downgrade(config, revision)


async def upgrade_async(url: str, revision: str = "head") -> None:
    """Upgrade the database at ``url`` to ``revision``, in one transaction."""
    await _on_fresh_engine(url, run_upgrade, revision)


async def downgrade_async(url: str, revision: str) -> None:
    """Downgrade the database at ``url`` to ``revision``, in one transaction."""
    await _on_fresh_engine(url, run_downgrade, revision)


def upgrade(url: str, revision: str = "head") -> None:
    """Blocking :func:`upgrade_async`; safe to call even while an event loop runs."""
    _run_blocking(lambda: upgrade_async(url, revision))


def downgrade(url: str, revision: str) -> None:
    """Blocking :func:`downgrade_async`; safe to call even while an event loop runs."""
    _run_blocking(lambda: downgrade_async(url, revision))


def check_connection_before_migrating(connection: Connection) -> None:
    """Refuse to migrate SQLite with foreign keys enforced (env.py calls this)."""
    if connection.dialect.name != "sqlite":
        return
    if connection.exec_driver_sql("PRAGMA foreign_keys").scalar():
        # Batch mode rebuilds a table by copy, drop and rename; the drop would cascade-delete
        # every row referencing it (all answers, when responses is rebuilt).
        raise RuntimeError(
            "SQLite migrations need foreign keys off: "
            "use create_engine(url, sqlite_foreign_keys=False)"
        )


def check_connection_after_migrating(connection: Connection) -> None:
    """Fail the migration if it left dangling references on SQLite (env.py calls this)."""
    if connection.dialect.name != "sqlite":
        return  # PostgreSQL checks foreign keys during the migration itself
    violations = connection.exec_driver_sql("PRAGMA foreign_key_check").fetchall()
    if violations:
        raise RuntimeError(f"migration left foreign key violations: {violations[:5]}")


async def _on_fresh_engine(
    url: str, run: Callable[[Connection, str], None], revision: str
) -> None:
    engine = create_engine(url, sqlite_foreign_keys=False)
    try:
        # One transaction: PostgreSQL and (with our BEGIN hook) SQLite roll back a failed step.
        async with engine.begin() as connection:
            if connection.dialect.name == "postgresql":
                # Workers starting at once migrate one after the other (issue 14): the later
                # ones find the schema at head. Released with the transaction.
                await connection.execute(
                    text("SELECT pg_advisory_xact_lock(:key)"), {"key": MIGRATION_LOCK}
                )
            await connection.run_sync(run, revision)
    finally:
        await engine.dispose()
    logger.info("database migrated to %s", revision)


def _run_blocking(make_coroutine: Callable[[], Coroutine[Any, Any, None]]) -> None:
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        asyncio.run(make_coroutine())
        return
    # asyncio.run refuses to nest inside a running loop, so the migration gets its own loop in a
    # worker thread. The caller's loop is blocked meanwhile: async code should await
    # upgrade_async instead.
    logger.warning("migrating synchronously inside a running event loop; prefer upgrade_async")
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="alembic") as pool:
        pool.submit(lambda: asyncio.run(make_coroutine())).result()
