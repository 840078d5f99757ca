"""The storage tests' database fixtures: each test runs on SQLite and on PostgreSQL."""

from tests.storage.conftest import database

__all__ = ["database"]
