"""Six indexes of ``responses`` and ``answers`` that no query reads any more are dropped.

Revision ID: 0036
Revises: 0035
Create Date: 2026-12-01

Every completed response is inserted into each B-tree of its tables: 19 of them per response
before this revision (``responses`` 8, ``answers`` 5, ``report_answers`` 5, ``dedup_keys`` 2),
a share of the press path's cost on SQLite (pages written to the WAL per batch). The reports
read the copy (``report_answers``, revision 0015) and force the day and answer indexes they do
read (reports.metrics ``INDEXED BY``); no plan of any statement on these two tables, on a
1M-answer database, uses the indexes below (the query plans were compared with and without
them: see the commit message). The one plan that changes, the negative respondents' subquery
of a problem's texts, reads the covering ``ix_answers_question_id_response_id_number_option_id``
instead of ``ix_answers_question_id_number`` plus a table lookup per row, and is no slower.

- ``ix_responses_service_code``, ``ix_responses_channel_code``,
  ``ix_responses_life_situation_code``: single codes, never a query's only condition;
- ``ix_responses_report_groups``: the breakdown of revision 0003, which reads the copy since 0015;
- ``ix_answers_question_id_number``, ``ix_answers_question_id_option_id``: aggregations of
  revision 0001, which read the copy or the covering answers index since.

Only indexes change: no row, no date, no order (docs/anonymity.md). The downgrade builds them
again.
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0036"
down_revision: str | None = "0035"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

#: (table, index, columns) as revisions 0001, 0003 and 0007 created them.
DROPPED: tuple[tuple[str, str, list[str]], ...] = (
    ("responses", "ix_responses_service_code", ["service_code"]),
    ("responses", "ix_responses_channel_code", ["channel_code"]),
    ("responses", "ix_responses_life_situation_code", ["life_situation_code"]),
    (
        "responses",
        "ix_responses_report_groups",
        [
            "audience",
            "service_code",
            "channel_code",
            "life_situation_code",
            "submitted_on",
            "questionnaire_id",
            "id",
        ],
    ),
    ("answers", "ix_answers_question_id_number", ["question_id", "number"]),
    ("answers", "ix_answers_question_id_option_id", ["question_id", "option_id"]),
)


def upgrade() -> None:
    for table, index, _ in DROPPED:
        op.drop_index(index, table_name=table)


def downgrade() -> None:
    for table, index, columns in DROPPED:
        op.create_index(index, table, columns)
