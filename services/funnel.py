"""Counts where dialogs start, stop and finish: in memory on the answer path, flushed in bulk."""

from __future__ import annotations

import logging
from datetime import date

from questionnaires.fronts import Front
from questionnaires.results import ResponseContext
from storage.database import Sessions
from storage.funnel import (
    CANCELLED,
    COMPLETED,
    NO_CODE,
    STARTED,
    FunnelKey,
    FunnelStore,
    at_question,
)

logger = logging.getLogger(__name__)


class FunnelRecorder:
    """Aggregate, anonymous counters of dialog progress; no person, no answer, no time of day.

    The recording methods only add to a dict (no I/O on the answer path); ``flush`` writes the
    sums in one transaction. Every dialog is keyed by the day it *started*, so the gauges of
    one start day net out to the dialogs of that day still parked at each question.
    """

    def __init__(self, sessions: Sessions) -> None:
        self._store = FunnelStore(sessions)
        self._deltas: dict[FunnelKey, int] = {}

    @property
    def pending(self) -> int:
        """How many counters wait for the next flush."""
        return len(self._deltas)

    def started(
        self,
        questionnaire_id: str,
        context: ResponseContext,
        question_id: str,
        started_on: date,
        front: Front = Front.TELEGRAM,
    ) -> None:
        """A dialog began (in ``front``) and shows its first question."""
        self._add(started_on, questionnaire_id, context, STARTED, 1, front)
        self._add(started_on, questionnaire_id, context, at_question(question_id), 1, front)

    def moved(
        self,
        questionnaire_id: str,
        context: ResponseContext,
        started_on: date,
        from_question: str,
        to_question: str,
        front: Front = Front.TELEGRAM,
    ) -> None:
        """The dialog left one question for another (forward, back or skipped to)."""
        if from_question == to_question:
            return
        self._add(started_on, questionnaire_id, context, at_question(from_question), -1, front)
        self._add(started_on, questionnaire_id, context, at_question(to_question), 1, front)

    def completed(
        self,
        questionnaire_id: str,
        context: ResponseContext,
        started_on: date,
        last_question: str,
        front: Front = Front.TELEGRAM,
    ) -> None:
        """The dialog finished after ``last_question``."""
        self._add(started_on, questionnaire_id, context, COMPLETED, 1, front)
        self._add(started_on, questionnaire_id, context, at_question(last_question), -1, front)

    def cancelled(
        self,
        questionnaire_id: str,
        context: ResponseContext,
        started_on: date,
        last_question: str,
        front: Front = Front.TELEGRAM,
    ) -> None:
        """The person stopped the dialog on purpose while at ``last_question``."""
        self._add(started_on, questionnaire_id, context, CANCELLED, 1, front)
        self._add(started_on, questionnaire_id, context, at_question(last_question), -1, front)

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
        try:
            written = await self._store.add(pending)
        except BaseException:
            for key, delta in pending.items():
                self._deltas[key] = self._deltas.get(key, 0) + delta
            logger.warning("funnel flush failed; %d counters kept for the next one", len(pending))
            raise
        logger.debug("funnel flush wrote %d counters", written)
        return written

    def _add(
        self,
        started_on: date,
        questionnaire_id: str,
        context: ResponseContext,
        step: str,
        delta: int,
        front: Front,
    ) -> None:
        key = (
            started_on,
            questionnaire_id,
            context.service or NO_CODE,
            context.channel or NO_CODE,
            step,
            front.value,
        )
        self._deltas[key] = self._deltas.get(key, 0) + delta
