"""Alembic migrations of the Otklik database (run them through storage.migrate)."""
