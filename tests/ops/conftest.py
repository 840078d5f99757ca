"""The storage fixtures (SQLite and PostgreSQL) for the operations tests."""

from __future__ import annotations

from tests.storage.conftest import database, engine, sessions

__all__ = ["database", "engine", "sessions"]
