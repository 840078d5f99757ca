"""The reports' copy of the answers with their responses' day and context, backfilled.

Revision ID: 0015
Revises: 0011
Create Date: 2026-11-30

See storage.models_reporting. Existing answers are copied in random order (on PostgreSQL the
heap keeps the order rows came in; on SQLite the table is the B-tree of its random key anyway).
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0015"
down_revision: str | Sequence[str] | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_CODE = 64

_GROUPS = (
    "audience",
    "question_id",
    "service_code",
    "channel_code",
    "life_situation_code",
    "month_on",
    "segment_on",
    "submitted_on",
    "questionnaire_id",
    "number",
    "option_id",
)
_OPTIONS = (
    "audience",
    "question_id",
    "option_id",
    "service_code",
    "channel_code",
    "life_situation_code",
    "month_on",
    "segment_on",
    "submitted_on",
    "questionnaire_id",
    "response_id",
)

_COPIED = (
    "response_id, id, question_id, option_id, number, questionnaire_id, audience, service_code,"
    " channel_code, life_situation_code, submitted_on, month_on, segment_on, window_id,"
    " department"
)
_FROM = (
    "a.response_id, a.id, a.question_id, a.option_id, a.number, r.questionnaire_id, r.audience,"
    " r.service_code, r.channel_code, r.life_situation_code, r.submitted_on, {month}, {segment},"
    " r.window_id, r.department FROM answers a JOIN responses r ON r.id = a.response_id"
)
#: The first day of the month, and of the Monday–Sunday week piece inside it
#: (reports.periods.segment_of), per dialect.
_STARTS = {
    "sqlite": (
        "date(r.submitted_on, 'start of month')",
        "max(date(r.submitted_on, 'weekday 0', '-6 days'),"
        " date(r.submitted_on, 'start of month'))",
    ),
    "postgresql": (
        "CAST(date_trunc('month', CAST(r.submitted_on AS timestamp)) AS date)",
        "GREATEST(CAST(date_trunc('week', CAST(r.submitted_on AS timestamp)) AS date),"
        " CAST(date_trunc('month', CAST(r.submitted_on AS timestamp)) AS date))",
    ),
}


def upgrade() -> None:
    op.create_table(
        "report_answers",
        sa.Column("response_id", sa.Uuid(), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("question_id", sa.String(length=_CODE), nullable=False),
        sa.Column("option_id", sa.String(length=_CODE), nullable=True),
        sa.Column("number", sa.SmallInteger(), nullable=True),
        sa.Column("questionnaire_id", sa.String(length=_CODE), nullable=False),
        sa.Column("audience", sa.String(length=32), nullable=False),
        sa.Column("service_code", sa.String(length=_CODE), nullable=True),
        sa.Column("channel_code", sa.String(length=_CODE), nullable=True),
        sa.Column("life_situation_code", sa.String(length=_CODE), nullable=True),
        sa.Column("submitted_on", sa.Date(), nullable=False),
        sa.Column("month_on", sa.Date(), nullable=False),
        sa.Column("segment_on", sa.Date(), nullable=False),
        sa.Column("window_id", sa.BigInteger(), nullable=True),
        sa.Column("department", sa.String(length=_CODE), nullable=True),
        sa.ForeignKeyConstraint(
            ["response_id"],
            ["responses.id"],
            name=op.f("fk_report_answers_response_id_responses"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("response_id", "id", name=op.f("pk_report_answers")),
        sqlite_with_rowid=False,
    )
    dialect = op.get_bind().dialect.name
    month, segment = _STARTS[dialect]
    order = " ORDER BY random()" if dialect == "postgresql" else ""
    select = _FROM.format(month=month, segment=segment)
    op.execute(f"INSERT INTO report_answers ({_COPIED}) SELECT {select}{order}")
    # After the copy: building an index once is cheaper than keeping it through the inserts.
    op.create_index("ix_report_answers_groups", "report_answers", list(_GROUPS))
    op.create_index("ix_report_answers_options", "report_answers", list(_OPTIONS))


def downgrade() -> None:
    op.drop_index("ix_report_answers_options", table_name="report_answers")
    op.drop_index("ix_report_answers_groups", table_name="report_answers")
    op.drop_table("report_answers")
