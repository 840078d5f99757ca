"""``otklik db backup``: a consistent copy of a SQLite database taken while the bot runs;
for PostgreSQL, the ``pg_dump`` command to run (issue 14).

SQLite's ``VACUUM INTO`` reads the database in one read transaction (writers go on: WAL) and
writes a new, compact file. Unlike a page-by-page copy (the backup API, ``cp``) it leaves out
the free pages, where deleted rows (finished dialogs, expired keys) linger until the nightly
rebuild: a backup holds what the database holds now and nothing it has forgotten. The copy is
created readable by its owner only, checked (``PRAGMA integrity_check``), and left in rollback
journal mode so that the one file is the whole backup.

The pepper is not in the database and so not in the backup: it is kept apart on purpose
(README, "Backups"). Restoring without it loses staff enrolment and open dialogs, no answers.
"""

from __future__ import annotations

import os
import sqlite3
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy.engine import make_url


class BackupError(Exception):
    """The backup could not be made; the message says why (no secrets in it)."""


@dataclass(frozen=True)
class Backup:
    path: Path
    size: int
    tables: int


def sqlite_path(url: str) -> Path | None:
    """The file of a SQLite URL, None for another backend or an in-memory database."""
    parsed = make_url(url)
    if not parsed.get_backend_name().startswith("sqlite"):
        return None
    database = parsed.database
    if not database or database == ":memory:" or database.startswith("file:"):
        return None
    return Path(database).expanduser()


def backup_sqlite(source: Path, target: Path) -> Backup:
    """Copy the database at ``source`` into the new file ``target`` (never overwritten)."""
    if not source.is_file():
        raise BackupError(f"no database at {source}")
    if target.exists():
        raise BackupError(f"{target} exists; give another --out (a backup is never overwritten)")
    target.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    # Created empty and private first: VACUUM INTO writes into an empty file.
    os.close(os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
    try:
        with _connect(source) as connection:
            connection.execute("VACUUM INTO ?", (str(target),))
        with _connect(target) as copy:
            copy.execute("PRAGMA journal_mode=DELETE")
            verdict = copy.execute("PRAGMA integrity_check").fetchone()[0]
            tables = copy.execute(
                "SELECT count(*) FROM sqlite_schema WHERE type = 'table'"
            ).fetchone()[0]
        if verdict != "ok":
            raise BackupError(f"the copy failed its integrity check: {verdict}")
    except BaseException:
        target.unlink(missing_ok=True)
        raise
    return Backup(target, target.stat().st_size, int(tables))


def _connect(path: Path) -> sqlite3.Connection:
    # A busy database is waited for (the bot's writer holds its lock for milliseconds).
    connection = sqlite3.connect(path, timeout=30, isolation_level=None)
    return connection


def pg_dump_advice(url: str, target: Path) -> list[str]:
    """The commands an operator runs for PostgreSQL (no password in them)."""
    parsed = make_url(url)
    options = []
    if parsed.host:
        options.append(f"-h {parsed.host}")
    if parsed.port:
        options.append(f"-p {parsed.port}")
    if parsed.username:
        options.append(f"-U {parsed.username}")
    where = " ".join(options)
    name = parsed.database or "otklik"
    return [
        "PostgreSQL is backed up with its own tool, consistent while the bot runs:",
        f"  pg_dump {where} -Fc -f {target} {name}".replace("  -Fc", " -Fc"),
        f"  restore: pg_restore {where} --clean --if-exists -d {name} {target}".replace(
            "  --clean", " --clean"
        ),
        "The password comes from ~/.pgpass or PGPASSWORD, never from the command line.",
    ]
