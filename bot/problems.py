"""Operator mistakes explained in one line each: settings, database, revisions, content files.

`otklik` prints these instead of a traceback and exits with EXIT_CONFIG (2); `--verbose` adds the
traceback. Secrets (the token, the pepper, database passwords) never appear in a message.
"""

from __future__ import annotations

import re
import socket
from collections.abc import Iterable
from typing import Final

from pydantic import ValidationError
from pydantic_core import ErrorDetails

EXIT_CONFIG: Final = 2
#: Telegram (or the configured Bot API server) could not be reached within the retry period.
EXIT_UNAVAILABLE: Final = 3

_SECRET_WORDS: Final = ("token", "pepper", "password", "secret")


class Problem(Exception):
    """A failure the operator can fix, already explained; `lines` are printed as they are."""

    def __init__(self, *lines: str, exit_code: int = EXIT_CONFIG) -> None:
        super().__init__("\n".join(lines))
        self.lines = lines
        self.exit_code = exit_code


def settings_problem(error: ValidationError) -> Problem:
    """One line per invalid variable: its name, what is wrong with the value, an example."""
    return Problem(*(_settings_line(detail) for detail in _deduplicated(error.errors())))


def _deduplicated(details: Iterable[ErrorDetails]) -> list[ErrorDetails]:
    seen: set[str] = set()
    kept = []
    for detail in details:
        variable = variable_of(detail["loc"])
        if variable not in seen:
            seen.add(variable)
            kept.append(detail)
    return kept


def variable_of(loc: tuple[int | str, ...]) -> str:
    """("bot", "officer_ids", 0) → BOT__OFFICER_IDS."""
    return "__".join(str(part).upper() for part in loc if isinstance(part, str)) or "settings"


def _settings_line(detail: ErrorDetails) -> str:
    from bot.settings import example_of

    variable = variable_of(detail["loc"])
    problem = detail["msg"].removeprefix("Value error, ")
    item = next((part for part in detail["loc"] if isinstance(part, int)), None)
    if item is not None:
        problem = f"item {item + 1}: {problem}"
    given = detail.get("input")
    secret = any(word in variable.lower() for word in _SECRET_WORDS)
    shown = (
        ""
        if secret or isinstance(given, dict) or given is None
        else f" (got {_safe_value(given)!r})"
    )
    example = example_of(variable)
    if secret and variable.endswith("PEPPER"):
        example = "<32 random characters, e.g. from: openssl rand -base64 32>"
    tail = f"; example: {variable}={example}" if example else ""
    return f"setting {variable}: {problem}{shown}{tail}"


def _safe_value(value: object) -> object:
    """A value for a message, database passwords masked."""
    if isinstance(value, str) and "://" in value:
        return re.sub(r"(://[^:/@]*:)[^@]*@", r"\1***@", value)
    return value


def database_problem(error: BaseException, url: str) -> Problem | None:
    """The database could not be reached or does not exist: say which one and what to do."""
    from sqlalchemy.engine import make_url

    target = make_url(url)
    shown = target.render_as_string(hide_password=True)
    where = f"{target.host or 'localhost'}:{target.port or 5432}"
    text = str(error)
    if isinstance(error, socket.gaierror):
        return Problem(
            f"database: cannot resolve the host {target.host!r} of DB__URL={shown}; "
            "check the host name in DB__URL"
        )
    if isinstance(error, ConnectionRefusedError):
        return Problem(
            f"database: nothing listens at {where} (DB__URL={shown}); start PostgreSQL there "
            "or correct the host and port in DB__URL"
        )
    if isinstance(error, TimeoutError):
        return Problem(f"database: {where} did not answer in time (DB__URL={shown})")
    missing = re.search(r'database "([^"]+)" does not exist', text)
    if missing:
        return Problem(
            f"database: PostgreSQL at {where} has no database {missing.group(1)!r} "
            f"(DB__URL={shown}); create it, e.g. createdb -h {target.host or 'localhost'} "
            f"-O {target.username or 'otklik'} {missing.group(1)}, or fix the name in DB__URL"
        )
    if "password authentication failed" in text or 'role "' in text:
        return Problem(
            f"database: PostgreSQL at {where} refused the login of {target.username!r} "
            f"(DB__URL={shown}); check the user and password in DB__URL"
        )
    if target.get_backend_name() == "sqlite" and isinstance(error, OSError):
        return Problem(
            f"database: cannot create the SQLite file {target.database} ({error.strerror}); "
            "point DB__URL at a writable folder or set OTKLIK_HOME"
        )
    if "unable to open database file" in text:
        return Problem(
            f"database: cannot open the SQLite file {target.database}; "
            "check that its folder exists and is writable"
        )
    return None


def revision_problem(error: BaseException, revision: str) -> Problem | None:
    """Alembic's CommandError for a revision it does not know."""
    from alembic.util.exc import CommandError

    if not isinstance(error, CommandError):
        return None
    from alembic.script import ScriptDirectory

    from storage.migrate import alembic_config

    script = ScriptDirectory.from_config(alembic_config())
    known = [r.revision for r in reversed(list(script.walk_revisions()))]
    if "locate revision" in str(error) or "No such revision" in str(error):
        return Problem(
            f"database: unknown revision {revision!r}; known revisions are "
            f"{', '.join(known)}, plus 'head' and 'base' (e.g. otklik db downgrade {known[0]})"
        )
    return Problem(f"database: {error}")
