"""Counts where dialogs start, stop and finish: in memory on the answer path, flushed in bulk."""

from __future__ import annotations

import logging
import random
from datetime import date
from typing import Final, TypeAlias

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from questionnaires.results import ResponseContext
from storage.models import FunnelCount
from storage.upsert import insert_on_conflict

logger = logging.getLogger(__name__)

STARTED: Final = "*started"
COMPLETED: Final = "*completed"
CANCELLED: Final = "*cancelled"
AT_QUESTION: Final = "@"  # followed by a question id: the gauge of dialogs parked there
NO_CODE: Final = ""  # a missing service or channel in the primary key

#: (started_on, questionnaire id, service code, channel code, step)
FunnelKey: TypeAlias = tuple[date, str, str, str, str]


def at_question(question_id: str) -> str:
    return AT_QUESTION + question_id


class FunnelRecorder:
    """Aggregate, anonymous counters of dialog progress; no person, no answer, no time of day.

    The recording methods only add to a dict (no I/O on the answer path); ``flush`` writes the
    sums in one transaction. Every dialog is keyed by the day it *started*, so the gauges of
    one start day net out to the dialogs of that day still parked at each question.
    """

    def __init__(self, sessions: async_sessionmaker[AsyncSession]) -> None:
        self._sessions = sessions
        self._deltas: dict[FunnelKey, int] = {}

    @property
    def pending(self) -> int:
        """How many counters wait for the next flush."""
        return len(self._deltas)

    def started(
        self, questionnaire_id: str, context: ResponseContext, question_id: str, started_on: date
    ) -> None:
        """A dialog began and shows its first question."""
        self._add(started_on, questionnaire_id, context, STARTED, 1)
        self._add(started_on, questionnaire_id, context, at_question(question_id), 1)

    def moved(
        self,
        questionnaire_id: str,
        context: ResponseContext,
        started_on: date,
        from_question: str,
        to_question: str,
    ) -> None:
        """The dialog left one question for another (forward, back or skipped to)."""
        if from_question == to_question:
            return
        self._add(started_on, questionnaire_id, context, at_question(from_question), -1)
        self._add(started_on, questionnaire_id, context, at_question(to_question), 1)

    def completed(
        self,
        questionnaire_id: str,
        context: ResponseContext,
        started_on: date,
        last_question: str,
    ) -> None:
        """The dialog finished after ``last_question``."""
        self._add(started_on, questionnaire_id, context, COMPLETED, 1)
        self._add(started_on, questionnaire_id, context, at_question(last_question), -1)

    def cancelled(
        self,
        questionnaire_id: str,
        context: ResponseContext,
        started_on: date,
        last_question: str,
    ) -> None:
        """The person stopped the dialog on purpose while at ``last_question``."""
        self._add(started_on, questionnaire_id, context, CANCELLED, 1)
        self._add(started_on, questionnaire_id, context, at_question(last_question), -1)

    async def flush(self) -> int:
        """Add the pending deltas to the table in one transaction; return the rows touched.

        On failure the deltas are kept (merged with those recorded meanwhile) and the error
        propagates, so the next flush writes them.
        """
        pending = {key: delta for key, delta in self._deltas.items() if delta}
        # Swapped before the first await: counts recorded during the write go to the next flush.
        self._deltas = {}
        if not pending:
            return 0
        rows = [
            {
                "started_on": key[0],
                "questionnaire_id": key[1],
                "service_code": key[2],
                "channel_code": key[3],
                "step": key[4],
                "count": delta,
            }
            for key, delta in pending.items()
        ]
        # New rows in no telling order (SQLite keeps insertion order in its pages until the
        # nightly rebuild): the order the cells were first touched says nothing then.
        random.SystemRandom().shuffle(rows)
        try:
            async with self._sessions.begin() as session:
                upsert = insert_on_conflict(session, FunnelCount)
                statement = upsert.on_conflict_do_update(
                    index_elements=[
                        FunnelCount.started_on,
                        FunnelCount.questionnaire_id,
                        FunnelCount.service_code,
                        FunnelCount.channel_code,
                        FunnelCount.step,
                    ],
                    set_={"count": FunnelCount.count + upsert.excluded["count"]},
                )
                await session.execute(statement, rows)
        except BaseException:
            for key, delta in pending.items():
                self._deltas[key] = self._deltas.get(key, 0) + delta
            logger.warning("funnel flush failed; %d counters kept for the next one", len(pending))
            raise
        logger.debug("funnel flush wrote %d counters", len(rows))
        return len(rows)

    def _add(
        self,
        started_on: date,
        questionnaire_id: str,
        context: ResponseContext,
        step: str,
        delta: int,
    ) -> None:
        key = (
            started_on,
            questionnaire_id,
            context.service or NO_CODE,
            context.channel or NO_CODE,
            step,
        )
        self._deltas[key] = self._deltas.get(key, 0) + delta
