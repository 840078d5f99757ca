"""Scores the reports' copies of the answers stored before revision 0031, batch by batch."""

from __future__ import annotations

import logging
from collections.abc import Collection, Mapping
from typing import Final

from sqlalchemy import ColumnElement, Table, case, exists, literal, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from storage.models import Answer
from storage.models_reporting import ReportAnswer
from storage.report_answers import NOT_RATED, OVERALL_SCALE

logger = logging.getLogger(__name__)

COPIES: Final[Table] = ReportAnswer.__table__  # type: ignore[assignment]
ANSWERS: Final[Table] = Answer.__table__  # type: ignore[assignment]
#: Responses scored per transaction: short enough that people answering meanwhile barely wait.
BATCH: Final = 2_000


def unscored() -> ColumnElement[bool]:
    """Spelled as the partial index ``ix_report_answers_unscored`` spells its condition."""
    return ~COPIES.c.scored


async def any_unscored(session: AsyncSession) -> bool:
    """Whether some copy still waits for its overall score (one probe of the partial index)."""
    return bool(await session.scalar(select(exists().where(unscored()))))


async def score_unscored(
    sessions: async_sessionmaker[AsyncSession],
    overall: Mapping[str, str],
    *,
    served: Collection[str],
    batch: int = BATCH,
) -> int:
    """Give every unscored copy of a questionnaire in ``served`` (the ids of the folder's
    files) its response's overall score from ``overall`` (each questionnaire's overall
    question; none for one without that role, as the responses written today); returns how
    many responses were scored.

    One transaction per ``batch`` responses, so a kill between two leaves the rest unscored
    for the next start, and the reports read the overall answers from ``answers`` meanwhile.
    Copies of a questionnaire not served (its file absent from the folder this start) stay
    unscored rather than marked scored with no score: a later start with the folder fixed
    scores them, and until then the reports keep reading ``answers``.
    """
    if not served:
        return 0
    question: ColumnElement[str | None] = (
        case(dict(overall), value=COPIES.c.questionnaire_id, else_=None)
        if overall
        else literal(None)
    )
    known = COPIES.c.questionnaire_id.in_(sorted(served))
    number = ANSWERS.c.number
    # As storage.report_answers.overall_score: the score, NOT_RATED, or NULL when unanswered.
    score = (
        select(
            case((number.between(OVERALL_SCALE[0], OVERALL_SCALE[-1]), number), else_=NOT_RATED)
        )
        .where(ANSWERS.c.response_id == COPIES.c.response_id, ANSWERS.c.question_id == question)
        .limit(1)
        .scalar_subquery()
    )
    total = 0
    while True:
        async with sessions.begin() as session:
            ids = list(
                await session.scalars(
                    select(COPIES.c.response_id).where(unscored(), known).distinct().limit(batch)
                )
            )
            if not ids:
                break
            await session.execute(
                update(COPIES)
                .where(COPIES.c.response_id.in_(ids))
                .values(overall_score=score, scored=True)
            )
        total += len(ids)
    if total:
        logger.info("Scored the reports' copies of %d earlier responses", total)
    return total
