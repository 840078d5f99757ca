"""Responses record their front (Telegram, MAX, the web form): ``responses.front`` and the same
column in the reports' copy, inside both covering indexes (issue 13).

Revision ID: 0022
Revises: 0027
Create Date: 2026-11-30

Reports break the answers down by front beside channel, under the same disclosure plan: the
front is part of an atom's cell (reports.disclosure). The breakdown groups by service, channel,
life situation and front, so the front follows the life situation in both covering indexes and
each breakdown stays one range of one index read in GROUP BY order.

Existing rows become ``telegram`` (the server default). Nothing in a stored row tells a web
answer from a Telegram one: the web form records the link's channel, or ``site`` without a
link, and a Telegram link of the site channel records ``site`` as well; so no row is guessed
to be a web answer (docs/anonymity.md, "The web front"). The downgrade drops the columns.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0022"
down_revision: str | None = "0027"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_CELL = ("service_code", "channel_code", "life_situation_code")
_DAYS = ("month_on", "segment_on", "submitted_on")


def _groups(front: bool) -> list[str]:
    return [
        "audience",
        "question_id",
        *_CELL,
        *(("front",) if front else ()),
        *_DAYS,
        "questionnaire_id",
        "number",
        "option_id",
        "window_id",
    ]


def _options(front: bool) -> list[str]:
    return [
        "audience",
        "question_id",
        "option_id",
        *_CELL,
        *(("front",) if front else ()),
        *_DAYS,
        "questionnaire_id",
        "response_id",
        "window_id",
    ]


def _rebuild(front: bool) -> None:
    op.drop_index("ix_report_answers_options", table_name="report_answers")
    op.drop_index("ix_report_answers_groups", table_name="report_answers")
    op.create_index("ix_report_answers_groups", "report_answers", _groups(front))
    op.create_index("ix_report_answers_options", "report_answers", _options(front))


def _column() -> sa.Column[str]:
    return sa.Column("front", sa.String(16), nullable=False, server_default="telegram")


def upgrade() -> None:
    op.add_column("responses", _column())
    op.add_column("report_answers", _column())
    _rebuild(front=True)


def downgrade() -> None:
    op.drop_index("ix_report_answers_options", table_name="report_answers")
    op.drop_index("ix_report_answers_groups", table_name="report_answers")
    op.drop_column("report_answers", "front")
    op.drop_column("responses", "front")
    op.create_index("ix_report_answers_groups", "report_answers", _groups(False))
    op.create_index("ix_report_answers_options", "report_answers", _options(False))
