"""Staff members and invite codes without rowids: their row order no longer follows enrolment.

Revision ID: 0016
Revises: 0017
Create Date: 2026-11-30

A rowid numbers the rows of ``staff_members`` in the order people enrolled and those of
``invite_codes`` in the order they were made: for a database reader an order to line up with
others (docs/anonymity.md, "Database reader and backups"). On SQLite both become WITHOUT ROWID
tables, kept in the order of their keyed hashes. PostgreSQL has no rowid; there the rows are
copied out and written back in random order, so the heap order (``ctid``) and writing
transaction (``xmin``) of the existing rows forget the enrolment order; rows enrolled later
append in order until a rewrite (docs/anonymity.md lists it as a residual). Values are written
out, not imported from the models (see 0001).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0016"
down_revision: str | Sequence[str] | None = "0017"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

STAFF_COLUMNS = "member_key, department, enrolled_on"
CODE_COLUMNS = "code_hash, department, created_on, used_on"


def _staff_members(*, with_rowid: bool) -> None:
    op.create_table(
        "staff_members",
        sa.Column("member_key", sa.String(length=64), nullable=False),
        sa.Column("department", sa.String(length=64), nullable=False),
        sa.Column("enrolled_on", sa.Date(), nullable=False),
        sa.PrimaryKeyConstraint("member_key", name=op.f("pk_staff_members")),
        sqlite_with_rowid=with_rowid,
    )


def _invite_codes(*, with_rowid: bool) -> None:
    op.create_table(
        "invite_codes",
        sa.Column("code_hash", sa.String(length=64), nullable=False),
        sa.Column("department", sa.String(length=64), nullable=False),
        sa.Column("created_on", sa.Date(), nullable=False),
        sa.Column("used_on", sa.Date(), nullable=True),
        sa.PrimaryKeyConstraint("code_hash", name=op.f("pk_invite_codes")),
        sqlite_with_rowid=with_rowid,
    )


def _rebuild(table: str, create: Callable[[], None], columns: str) -> None:
    copy = f"_copy_0016_{table}"
    op.execute(f"CREATE TABLE {copy} AS SELECT * FROM {table}")
    op.drop_table(table)
    create()
    op.execute(f"INSERT INTO {table} ({columns}) SELECT {columns} FROM {copy} ORDER BY random()")
    op.drop_table(copy)


def upgrade() -> None:
    _rebuild("staff_members", lambda: _staff_members(with_rowid=False), STAFF_COLUMNS)
    _rebuild("invite_codes", lambda: _invite_codes(with_rowid=False), CODE_COLUMNS)


def downgrade() -> None:
    _rebuild("invite_codes", lambda: _invite_codes(with_rowid=True), CODE_COLUMNS)
    _rebuild("staff_members", lambda: _staff_members(with_rowid=True), STAFF_COLUMNS)
