"""Per-service news: `service_news` (a chat's explicit choice to hear of one service) and
`announcement_broadcasts` (every broadcast of a «вы сказали — мы сделали» announcement)
(issue 11, item 3).

Revision ID: 0027
Revises: 0021
Create Date: 2026-11-30

`service_news` is `opt_ins`' twin without a date: chat id, service code; no sequence, no rowid.
`announcement_broadcasts` starts with each announcement's one broadcast.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0027"
down_revision: str | Sequence[str] | None = "0021"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "service_news",
        sa.Column("chat_id", sa.BigInteger(), nullable=False),
        sa.Column("service_code", sa.String(length=64), nullable=False),
        sa.PrimaryKeyConstraint("chat_id", "service_code", name=op.f("pk_service_news")),
        sqlite_with_rowid=False,
    )
    op.create_table(
        "announcement_broadcasts",
        sa.Column("announcement", sa.String(length=32), nullable=False),
        sa.Column("broadcast_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["announcement"],
            ["announcements.key"],
            name=op.f("fk_announcement_broadcasts_announcement_announcements"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint(
            "announcement", "broadcast_id", name=op.f("pk_announcement_broadcasts")
        ),
        sqlite_with_rowid=False,
    )
    op.execute(
        "INSERT INTO announcement_broadcasts (announcement, broadcast_id) "
        "SELECT key, broadcast_id FROM announcements"
    )


def downgrade() -> None:
    op.drop_table("announcement_broadcasts")
    op.drop_table("service_news")
