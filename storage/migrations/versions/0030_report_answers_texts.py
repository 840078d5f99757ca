"""The reports' copy of the answers says which answers have a text (``has_text``), and a partial
index of those answers by audience and day makes the open answers of a period one range of it.

Revision ID: 0030
Revises: 0029
Create Date: 2026-11-30

The open answers' counting (storage.open_answers) read every answer of the period, joined to
its response, to find the few per cent with a text: about 4 s of a 1M-answer ``/report``
(README, "Performance › Reports"). Now it reads the partial index of ``report_answers`` rows
with ``has_text`` and looks each text up by its answer's id (the copy's ids are the answers').

The flag is backfilled from ``answers.text IS NOT NULL``. It says no more than the answer row
it copies: no date, no order (docs/anonymity.md). The downgrade drops the index and the column.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0030"
down_revision: str | None = "0029"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_INDEX = "ix_report_answers_texts"
_COLUMNS = [
    "audience",
    "submitted_on",
    "questionnaire_id",
    "question_id",
    "option_id",
    "service_code",
    "channel_code",
    "life_situation_code",
    "window_id",
    "response_id",
    "id",
]


def upgrade() -> None:
    op.add_column(
        "report_answers",
        sa.Column("has_text", sa.Boolean(), nullable=False, server_default=sa.false()),
    )
    copies = sa.table("report_answers", sa.column("id"), sa.column("has_text", sa.Boolean()))
    answers = sa.table("answers", sa.column("id"), sa.column("text"))
    op.execute(
        copies.update()
        .where(copies.c.id.in_(sa.select(answers.c.id).where(answers.c.text.is_not(None))))
        .values(has_text=sa.true())
    )
    op.create_index(
        _INDEX,
        "report_answers",
        _COLUMNS,
        sqlite_where=sa.text("has_text = 1"),
        postgresql_where=sa.text("has_text"),
    )


def downgrade() -> None:
    op.drop_index(_INDEX, table_name="report_answers")
    op.drop_column("report_answers", "has_text")
