"""The open answers' index covers what their counting reads: ``front`` and ``has_text`` join
``ix_report_answers_texts``.

Revision ID: 0035
Revises: 0034
Create Date: 2026-12-01

The counting of open answers (storage.open_answers, ``OpenAnswerStore.answer_keys``) reads the
period's answers with a text from this partial index, but the index lacked the response's front
(a key of the cell, revision 0022) and the flag its own condition tests: SQLite looked each of
those rows up in the table, ~35,000 random reads of a 1.2 GB file for a half-year at 1M answers
(0.45–0.85 s, most of a warm ``/report``; README, "Performance › Reports"). With both columns
the read is one range of the index and never touches the table (~15 ms).

Only an index changes: no row, no date, no order (docs/anonymity.md). The downgrade builds the
index of revision 0030 again.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0035"
down_revision: str | None = "0034"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_INDEX = "ix_report_answers_texts"
#: Revision 0030's columns.
_BEFORE = [
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
_AFTER = [
    "audience",
    "submitted_on",
    "questionnaire_id",
    "question_id",
    "option_id",
    "service_code",
    "channel_code",
    "life_situation_code",
    "front",
    "window_id",
    "has_text",
    "response_id",
    "id",
]


def _build(columns: list[str]) -> None:
    op.drop_index(_INDEX, table_name="report_answers")
    op.create_index(
        _INDEX,
        "report_answers",
        columns,
        sqlite_where=sa.text("has_text = 1"),
        postgresql_where=sa.text("has_text"),
    )


def upgrade() -> None:
    _build(_AFTER)


def downgrade() -> None:
    _build(_BEFORE)
