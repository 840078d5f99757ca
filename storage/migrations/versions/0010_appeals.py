"""Appeals register (Procedure §3.5): imported appeals as codes and a day, no person, and
their counts per quarter for the monitoring.

Revision ID: 0010
Revises: 0009
Create Date: 2026-11-30

Random keys and no rowid on SQLite: neither the key nor the row order follows the import.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0010"
down_revision: str | Sequence[str] | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "appeals",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("source", sa.String(length=64), nullable=False),
        sa.Column("register_no", sa.String(length=64), nullable=False),
        sa.Column("received_on", sa.Date(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("outcome", sa.String(length=16), nullable=True),
        sa.Column("channel", sa.String(length=64), nullable=True),
        sa.Column("topic", sa.String(length=64), nullable=True),
        sa.Column("reason", sa.String(length=64), nullable=True),
        sa.Column("service_code", sa.String(length=64), nullable=True),
        sa.Column("life_situation_code", sa.String(length=64), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_appeals")),
        sa.UniqueConstraint("source", "register_no", name=op.f("uq_appeals_source_register_no")),
        sqlite_with_rowid=False,
    )
    op.create_index(
        op.f("ix_appeals_received_on_kind_outcome_channel_topic_reason"),
        "appeals",
        ["received_on", "kind", "outcome", "channel", "topic", "reason"],
    )
    op.create_table(
        "appeal_counts",
        sa.Column("quarter_start", sa.Date(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("outcome", sa.String(length=16), nullable=False),
        sa.Column("channel", sa.String(length=64), nullable=False),
        sa.Column("topic", sa.String(length=64), nullable=False),
        sa.Column("reason", sa.String(length=64), nullable=False),
        sa.Column("count", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint(
            "quarter_start",
            "kind",
            "outcome",
            "channel",
            "topic",
            "reason",
            name=op.f("pk_appeal_counts"),
        ),
        sqlite_with_rowid=False,
    )


def downgrade() -> None:
    op.drop_table("appeal_counts")
    op.drop_index(
        op.f("ix_appeals_received_on_kind_outcome_channel_topic_reason"), table_name="appeals"
    )
    op.drop_table("appeals")
