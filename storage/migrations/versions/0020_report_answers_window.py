"""The reports' copy indexes carry the answer's poll window (window answers stay out of
calendar figures, docs/anonymity.md "Poll windows and calendar figures").

Revision ID: 0020
Revises: 0018
Create Date: 2026-11-30

Calendar figures read only answers given outside poll windows (``window_id IS NULL``). With
the window in both covering indexes, that test is read from the index itself: each breakdown
stays one range of one index, with no lookup of the row.
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0020"
down_revision: str | Sequence[str] | None = "0018"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

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


def _rebuild(window: bool) -> None:
    tail = ("window_id",) if window else ()
    op.drop_index("ix_report_answers_options", table_name="report_answers")
    op.drop_index("ix_report_answers_groups", table_name="report_answers")
    op.create_index("ix_report_answers_groups", "report_answers", [*_GROUPS, *tail])
    op.create_index("ix_report_answers_options", "report_answers", [*_OPTIONS, *tail])


def upgrade() -> None:
    _rebuild(window=True)


def downgrade() -> None:
    _rebuild(window=False)
