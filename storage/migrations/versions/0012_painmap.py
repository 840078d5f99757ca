"""Pain map (Procedure §3.6–3.8, Appendix 1): pains per process, their disclosed figures per
closed period, the process's satisfaction per period, and measures.

Revision ID: 0012
Revises: 0011
Create Date: 2026-11-30

Random keys and no rowid on SQLite; dates are days.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0012"
down_revision: str | Sequence[str] | None = "0015"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "pains",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("process_kind", sa.String(length=16), nullable=False),
        sa.Column("process_code", sa.String(length=64), nullable=False),
        sa.Column("touchpoint", sa.String(length=64), nullable=False),
        sa.Column("source", sa.String(length=16), nullable=False),
        sa.Column("source_code", sa.String(length=130), nullable=False),
        sa.Column("title", sa.String(length=300), nullable=False),
        sa.Column("found_on", sa.Date(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_pains")),
        sa.UniqueConstraint(
            "process_kind",
            "process_code",
            "touchpoint",
            "source",
            "source_code",
            name="uq_pains_process_source",
        ),
        sqlite_with_rowid=False,
    )
    op.create_table(
        "pain_figures",
        sa.Column("pain_id", sa.String(length=32), nullable=False),
        sa.Column("period_start", sa.Date(), nullable=False),
        sa.Column("period_end", sa.Date(), nullable=False),
        sa.Column("hidden", sa.Boolean(), nullable=False),
        sa.Column("respondents", sa.Integer(), nullable=True),
        sa.Column("prevalence", sa.Float(), nullable=True),
        sa.Column("mean_overall", sa.Float(), nullable=True),
        sa.Column("priority", sa.Float(), nullable=True),
        sa.ForeignKeyConstraint(
            ["pain_id"],
            ["pains.id"],
            name=op.f("fk_pain_figures_pain_id_pains"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint(
            "pain_id", "period_start", "period_end", name=op.f("pk_pain_figures")
        ),
        sqlite_with_rowid=False,
    )
    op.create_table(
        "process_figures",
        sa.Column("process_kind", sa.String(length=16), nullable=False),
        sa.Column("process_code", sa.String(length=64), nullable=False),
        sa.Column("period_start", sa.Date(), nullable=False),
        sa.Column("period_end", sa.Date(), nullable=False),
        sa.Column("hidden", sa.Boolean(), nullable=False),
        sa.Column("n", sa.Integer(), nullable=True),
        sa.Column("csat", sa.Float(), nullable=True),
        sa.Column("mean", sa.Float(), nullable=True),
        sa.PrimaryKeyConstraint(
            "process_kind",
            "process_code",
            "period_start",
            "period_end",
            name=op.f("pk_process_figures"),
        ),
        sqlite_with_rowid=False,
    )
    op.create_table(
        "pain_measures",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("pain_id", sa.String(length=32), nullable=False),
        sa.Column("text", sa.String(length=1000), nullable=False),
        sa.Column("responsible", sa.String(length=200), nullable=False),
        sa.Column("deadline", sa.Date(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("created_on", sa.Date(), nullable=False),
        sa.Column("started_on", sa.Date(), nullable=True),
        sa.Column("done_on", sa.Date(), nullable=True),
        sa.Column("dropped_on", sa.Date(), nullable=True),
        sa.ForeignKeyConstraint(
            ["pain_id"],
            ["pains.id"],
            name=op.f("fk_pain_measures_pain_id_pains"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_pain_measures")),
        sqlite_with_rowid=False,
    )
    op.create_index(op.f("ix_pain_measures_pain_id"), "pain_measures", ["pain_id"])
    op.create_index(
        op.f("ix_pain_measures_status_deadline"), "pain_measures", ["status", "deadline"]
    )


def downgrade() -> None:
    op.drop_index(op.f("ix_pain_measures_status_deadline"), table_name="pain_measures")
    op.drop_index(op.f("ix_pain_measures_pain_id"), table_name="pain_measures")
    op.drop_table("pain_measures")
    op.drop_table("process_figures")
    op.drop_table("pain_figures")
    op.drop_table("pains")
