"""The reports' copy of the answers: each with its response's day and context (revision 0015).

Reports group one question's answers by context and day. Read from ``answers`` joined to
``responses`` every answer costs a lookup of its response; here each row already carries what
the reports group by, so each breakdown is one range of one covering index, read in group order
(bench/report_bench.py). Rows are written in the same transaction as their response
(storage.responses) and go with it (ON DELETE CASCADE).

The table is role-agnostic (which question is "overall" comes from the questionnaire files at
report time), so it holds every answer, without free text: texts are read from ``answers``, but
a flag says which answers have one (revision 0030), so the open answers of a period are one
range of a partial index of those few rows, each text then found by its answer's id. It keeps
the anonymity properties of the tables it copies: the primary key is the
response's and the answer's random ids (on SQLite the table is that key's B-tree, WITHOUT
ROWID), dates are days or coarser, and PostgreSQL rewrites recent rows with their responses
(ResponseStore.reshuffle).
"""

from __future__ import annotations

import uuid
from datetime import date

from sqlalchemy import (
    BigInteger,
    Boolean,
    Date,
    ForeignKey,
    Index,
    SmallInteger,
    String,
    Uuid,
    false,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column

from storage.models_base import CODE_LENGTH, DEFAULT_FRONT, FRONT_LENGTH, Base


class ReportAnswer(Base):
    """One answer (free text left out) with its response's day and context."""

    __tablename__ = "report_answers"
    __table_args__ = ({"sqlite_with_rowid": False},)

    # The response first: its answers are found (and cascade-deleted) by a prefix of the key.
    response_id: Mapped[uuid.UUID] = mapped_column(
        Uuid, ForeignKey("responses.id", ondelete="CASCADE"), primary_key=True
    )
    # The answer's own random id.
    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    question_id: Mapped[str] = mapped_column(String(CODE_LENGTH))
    option_id: Mapped[str | None] = mapped_column(String(CODE_LENGTH))
    number: Mapped[int | None] = mapped_column(SmallInteger)
    questionnaire_id: Mapped[str] = mapped_column(String(CODE_LENGTH))
    audience: Mapped[str] = mapped_column(String(32))
    service_code: Mapped[str | None] = mapped_column(String(CODE_LENGTH))
    channel_code: Mapped[str | None] = mapped_column(String(CODE_LENGTH))
    life_situation_code: Mapped[str | None] = mapped_column(String(CODE_LENGTH))
    # The response's front (revision 0022): part of the cell reports group by.
    front: Mapped[str] = mapped_column(
        String(FRONT_LENGTH), server_default=DEFAULT_FRONT, default=DEFAULT_FRONT
    )
    submitted_on: Mapped[date] = mapped_column(Date)
    # The first day of the day's month and of its week piece (reports.periods.segment_of):
    # reports group by them, and an index can hold them in order, an expression cannot.
    month_on: Mapped[date] = mapped_column(Date)
    segment_on: Mapped[date] = mapped_column(Date)
    window_id: Mapped[int | None] = mapped_column(BigInteger)
    department: Mapped[str | None] = mapped_column(String(CODE_LENGTH))
    # The answer has a free text (``answers.text IS NOT NULL``; revision 0030): a comment, an
    # "other: …" follow-up. Says no more than the answer row it copies.
    has_text: Mapped[bool] = mapped_column(Boolean, server_default=false(), default=False)
    # The response's overall score (revision 0031): its answer, 1–5, to its questionnaire's
    # overall question, on every row of the response, so the problems' mean overall score is
    # one range of the options index instead of a lookup of each response's overall answer.
    # 0 when answered without a score ("cannot rate", storage.report_answers.NOT_RATED); NULL
    # when not answered, or the questionnaire has no overall question. The
    # overall question is a 1–5 scale in every questionnaire and version (questionnaires.checks),
    # so scores of different versions share one scale. Says no more than the response's own
    # overall answer row.
    overall_score: Mapped[int | None] = mapped_column(SmallInteger)
    # ``overall_score`` was set from the questionnaire roles: by the write path, or by the
    # start-up backfill (storage.report_scores) for rows older than revision 0031. Until every
    # row is scored the reports read the overall answers from ``answers`` instead.
    scored: Mapped[bool] = mapped_column(Boolean, server_default=false(), default=False)


#: One question's answers by cell, then month, week piece and day: the breakdowns (overall
#: score, NPS, parameters) read a range in GROUP BY order and never touch the table.
GROUPS_INDEX = Index(
    "ix_report_answers_groups",
    ReportAnswer.audience,
    ReportAnswer.question_id,
    ReportAnswer.service_code,
    ReportAnswer.channel_code,
    ReportAnswer.life_situation_code,
    ReportAnswer.front,
    ReportAnswer.month_on,
    ReportAnswer.segment_on,
    ReportAnswer.submitted_on,
    ReportAnswer.questionnaire_id,
    ReportAnswer.number,
    ReportAnswer.option_id,
    # Calendar figures leave poll windows' answers out (window_id IS NULL), read from here.
    ReportAnswer.window_id,
)
#: One question's chosen options in option order (problems), with the response to find its
#: other answers by.
OPTIONS_INDEX = Index(
    "ix_report_answers_options",
    ReportAnswer.audience,
    ReportAnswer.question_id,
    ReportAnswer.option_id,
    ReportAnswer.service_code,
    ReportAnswer.channel_code,
    ReportAnswer.life_situation_code,
    ReportAnswer.front,
    ReportAnswer.month_on,
    ReportAnswer.segment_on,
    ReportAnswer.submitted_on,
    ReportAnswer.questionnaire_id,
    ReportAnswer.response_id,
    ReportAnswer.window_id,
    # The response's overall score (revision 0031): the problems' means read from here too.
    ReportAnswer.overall_score,
)
#: The rows not yet scored (from before revision 0031, until the start-up backfill reaches
#: them): the reports ask whether there is any, the backfill takes them batch by batch. Empty
#: once the backfill is done, so it costs nothing on the write path.
UNSCORED_INDEX = Index(
    "ix_report_answers_unscored",
    ReportAnswer.response_id,
    sqlite_where=text("scored = 0"),
    postgresql_where=text("NOT scored"),
)
#: The answers with a text (a few per cent) by audience and day, with what the open answers'
#: counting reads beside the text (storage.open_answers): the period's texts are one range of
#: this partial index, each text then looked up by the answer's id, instead of every answer of
#: the period read to find them. The condition is spelled as the queries spell it (SQLite uses
#: a partial index only for a query whose WHERE repeats its condition). It covers the counting's
#: read (revision 0035): with the front and the flag (SQLite 3.40 tests a partial index's
#: condition on the table row unless the index holds its column), the answers' keys never touch
#: the table.
TEXTS_INDEX = Index(
    "ix_report_answers_texts",
    ReportAnswer.audience,
    ReportAnswer.submitted_on,
    ReportAnswer.questionnaire_id,
    ReportAnswer.question_id,
    ReportAnswer.option_id,
    ReportAnswer.service_code,
    ReportAnswer.channel_code,
    ReportAnswer.life_situation_code,
    ReportAnswer.front,
    ReportAnswer.window_id,
    ReportAnswer.has_text,
    ReportAnswer.response_id,
    ReportAnswer.id,
    sqlite_where=text("has_text = 1"),
    postgresql_where=text("has_text"),
)
