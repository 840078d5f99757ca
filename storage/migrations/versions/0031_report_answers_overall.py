"""The reports' copy of the answers carries each response's overall score (``overall_score``)
and says whether it was set (``scored``); the options index holds the score.

Revision ID: 0031
Revises: 0030
Create Date: 2026-11-30

The problems' mean overall score looked up each naming response's overall answer in
``answers``: 3.5–5.3× its covering-index floor at 1M answers (issue 15 item 3). With the score
on every copy the problems are one range of ``ix_report_answers_options``.

Which question is a questionnaire's overall one is in its YAML file, which a migration does not
read (the folder is a setting). So the rows already stored are left unscored (``scored`` false,
found by a partial index) and scored at start-up, batch by batch, with the roles of the files
being served (storage.report_scores); until then the reports read the overall answers from
``answers`` as before. Rows written from now on are scored in the response's transaction. The
score says no more than the response's overall answer row: no date, no order
(docs/anonymity.md). The downgrade restores the options index and drops the columns.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0031"
down_revision: str | None = "0030"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_OPTIONS = "ix_report_answers_options"
_OPTIONS_COLUMNS = [
    "audience",
    "question_id",
    "option_id",
    "service_code",
    "channel_code",
    "life_situation_code",
    "front",
    "month_on",
    "segment_on",
    "submitted_on",
    "questionnaire_id",
    "response_id",
    "window_id",
]
_UNSCORED = "ix_report_answers_unscored"


def upgrade() -> None:
    op.add_column("report_answers", sa.Column("overall_score", sa.SmallInteger(), nullable=True))
    op.add_column(
        "report_answers",
        sa.Column("scored", sa.Boolean(), nullable=False, server_default=sa.false()),
    )
    op.drop_index(_OPTIONS, table_name="report_answers")
    op.create_index(_OPTIONS, "report_answers", [*_OPTIONS_COLUMNS, "overall_score"])
    op.create_index(
        _UNSCORED,
        "report_answers",
        ["response_id"],
        sqlite_where=sa.text("scored = 0"),
        postgresql_where=sa.text("NOT scored"),
    )


def downgrade() -> None:
    op.drop_index(_UNSCORED, table_name="report_answers")
    op.drop_index(_OPTIONS, table_name="report_answers")
    op.create_index(_OPTIONS, "report_answers", _OPTIONS_COLUMNS)
    op.drop_column("report_answers", "scored")
    op.drop_column("report_answers", "overall_score")
