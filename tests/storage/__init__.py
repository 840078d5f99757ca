"""Storage tests: every behaviour checked on SQLite and on PostgreSQL."""
