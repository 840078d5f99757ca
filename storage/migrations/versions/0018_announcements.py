"""«Вы сказали — мы сделали»: the ledger of done measures announced to opted-in citizens
(issue 11, item 3).

Revision ID: 0018
Revises: 0014
Create Date: 2026-11-30
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0018"
down_revision: str | Sequence[str] | None = "0014"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "announcements",
        sa.Column("key", sa.String(length=32), nullable=False),
        sa.Column("broadcast_id", sa.Integer(), nullable=False),
        sa.Column("created_on", sa.Date(), nullable=False),
        sa.Column("finished", sa.Boolean(), nullable=False),
        sa.PrimaryKeyConstraint("key", name=op.f("pk_announcements")),
        sqlite_with_rowid=False,
    )
    op.create_table(
        "announced_measures",
        sa.Column("measure_id", sa.String(length=32), nullable=False),
        sa.Column("announcement", sa.String(length=32), nullable=False),
        sa.ForeignKeyConstraint(
            ["announcement"],
            ["announcements.key"],
            name=op.f("fk_announced_measures_announcement_announcements"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("measure_id", name=op.f("pk_announced_measures")),
        sqlite_with_rowid=False,
    )
    op.create_index(
        op.f("ix_announced_measures_announcement"),
        "announced_measures",
        ["announcement"],
        unique=False,
    )


def downgrade() -> None:
    op.drop_index(op.f("ix_announced_measures_announcement"), table_name="announced_measures")
    op.drop_table("announced_measures")
    op.drop_table("announcements")
