"""Ledgers of the §3.3 signals: extra-poll proposals and batches of negative ratings.

Revision ID: 0013
Revises: 0011
Create Date: 2026-11-30

Officer-facing facts only (a service, a closed period, figures of the officer's report, who
reacted by role); random keys and no rowid on SQLite.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0013"
down_revision: str | Sequence[str] | None = "0012"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "signal_proposals",
        sa.Column("id", sa.String(length=16), nullable=False),
        sa.Column("rule_id", sa.String(length=64), nullable=False),
        sa.Column("service_code", sa.String(length=64), nullable=False),
        sa.Column("period_start", sa.Date(), nullable=False),
        sa.Column("period_end", sa.Date(), nullable=False),
        sa.Column("fired", sa.Boolean(), nullable=False),
        sa.Column("respondents", sa.Integer(), nullable=False),
        sa.Column("negatives", sa.Integer(), nullable=False),
        sa.Column("evaluated_on", sa.Date(), nullable=False),
        sa.Column("notified", sa.Boolean(), nullable=False),
        sa.Column("window_id", sa.Integer(), nullable=True),
        sa.Column("opened_on", sa.Date(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_signal_proposals")),
        sa.UniqueConstraint(
            "rule_id",
            "service_code",
            "period_start",
            "period_end",
            name="uq_signal_proposals_rule_service_period",
        ),
        sqlite_with_rowid=False,
    )
    op.create_table(
        "negative_batches",
        sa.Column("id", sa.String(length=16), nullable=False),
        sa.Column("period_key", sa.String(length=64), nullable=False),
        sa.Column("scope", sa.String(length=64), nullable=False),
        sa.Column("period_start", sa.Date(), nullable=False),
        sa.Column("period_end", sa.Date(), nullable=False),
        sa.Column("sent_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("acknowledged_on", sa.Date(), nullable=True),
        sa.Column("escalated_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_negative_batches")),
        sa.UniqueConstraint(
            "period_key", "scope", name=op.f("uq_negative_batches_period_key_scope")
        ),
        sqlite_with_rowid=False,
    )


def downgrade() -> None:
    op.drop_table("negative_batches")
    op.drop_table("signal_proposals")
