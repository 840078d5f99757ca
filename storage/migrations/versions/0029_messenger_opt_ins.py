"""Opt-ins per messenger: `opt_ins` and `service_news` get a `messenger` column ("telegram",
"max") in their primary key; every existing row is Telegram's (issue 13, item 3).

Revision ID: 0029
Revises: 0022
Create Date: 2026-11-30

Both tables are rebuilt (a primary key changes; they stay without a rowid on SQLite) and
their rows copied back in random order, so no order of arrival appears in the new heap.
Downgrading drops MAX's rows: the old tables could not tell them from Telegram chats.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0029"
down_revision: str | Sequence[str] | None = "0022"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

#: table -> (its columns after the chat id, their types)
_TABLES = {
    "opt_ins": (("topic", sa.String(length=32)), ("created_on", sa.Date())),
    "service_news": (("service_code", sa.String(length=64)),),
}


def _random_order() -> str:
    return " ORDER BY random()" if op.get_bind().dialect.name == "postgresql" else ""


def _rebuild(table: str, *, with_messenger: bool) -> None:
    columns = _TABLES[table]
    copy = f"_copy_0029_{table}"
    op.execute(f"CREATE TABLE {copy} AS SELECT * FROM {table}")
    op.drop_table(table)
    names = ["chat_id", *(name for name, _ in columns)]
    key = ["chat_id", names[1]]
    specs = [sa.Column("chat_id", sa.BigInteger(), nullable=False)]
    specs += [sa.Column(name, kind, nullable=False) for name, kind in columns]
    if with_messenger:
        specs.insert(0, sa.Column("messenger", sa.String(length=8), nullable=False))
        key.insert(0, "messenger")
    op.create_table(
        table,
        *specs,
        sa.PrimaryKeyConstraint(*key, name=op.f(f"pk_{table}")),
        sqlite_with_rowid=False,
    )
    listed = ", ".join(names)
    if with_messenger:
        op.execute(
            f"INSERT INTO {table} (messenger, {listed}) "
            f"SELECT 'telegram', {listed} FROM {copy}{_random_order()}"
        )
    else:
        op.execute(
            f"INSERT INTO {table} ({listed}) SELECT {listed} FROM {copy} "
            f"WHERE messenger = 'telegram'{_random_order()}"
        )
    op.drop_table(copy)


def upgrade() -> None:
    for table in _TABLES:
        _rebuild(table, with_messenger=True)


def downgrade() -> None:
    for table in _TABLES:
        _rebuild(table, with_messenger=False)
