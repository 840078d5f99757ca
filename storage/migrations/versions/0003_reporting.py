"""Reporting: anonymous dialog funnel counters and the covering indexes the reports read through.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-25

Values are written out, not imported from the models (see 0001). The index columns and their
order were chosen by measurement (bench/report_bench.py); see the comments in storage.models.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision: str = "0003"
down_revision: str | Sequence[str] | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "dialog_funnel",
        sa.Column("started_on", sa.Date(), nullable=False),
        sa.Column("questionnaire_id", sa.String(length=64), nullable=False),
        sa.Column("step", sa.String(length=65), nullable=False),
        sa.Column("service_code", sa.String(length=64), nullable=False),
        sa.Column("channel_code", sa.String(length=64), nullable=False),
        sa.Column("count", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint(
            "started_on",
            "questionnaire_id",
            "step",
            "service_code",
            "channel_code",
            name=op.f("pk_dialog_funnel"),
        ),
        sqlite_with_rowid=False,
    )
    op.create_index(
        op.f("ix_answers_question_id_response_id_number_option_id"),
        "answers",
        ["question_id", "response_id", "number", "option_id"],
    )
    op.create_index(
        op.f("ix_responses_report_groups"),
        "responses",
        [
            "audience",
            "service_code",
            "channel_code",
            "life_situation_code",
            "submitted_on",
            "questionnaire_id",
            "id",
        ],
    )
    op.create_index(
        op.f("ix_responses_report_days"),
        "responses",
        [
            "audience",
            "submitted_on",
            "id",
            "questionnaire_id",
            "service_code",
            "channel_code",
            "life_situation_code",
        ],
    )


def downgrade() -> None:
    op.drop_index(op.f("ix_responses_report_days"), table_name="responses")
    op.drop_index(op.f("ix_responses_report_groups"), table_name="responses")
    op.drop_index(
        op.f("ix_answers_question_id_response_id_number_option_id"), table_name="answers"
    )
    op.drop_table("dialog_funnel")
