"""The funnel counters: steps of a dialog counted per start day and cell, added up in bulk.

A row holds a sum over many dialogs and no person, answer or time of day; the in-memory
recording lives in ``services.funnel``, the reading in ``reports.funnel``.
"""

from __future__ import annotations

import random
from collections.abc import Mapping
from datetime import date
from typing import Final, TypeAlias

from storage.database import Sessions
from storage.models import FunnelCount
from storage.upsert import insert_on_conflict

STARTED: Final = "*started"
COMPLETED: Final = "*completed"
CANCELLED: Final = "*cancelled"
AT_QUESTION: Final = "@"  # followed by a question id: the gauge of dialogs parked there
NO_CODE: Final = ""  # a missing service or channel in the primary key

#: (started_on, questionnaire id, service code, channel code, step, front): the front
#: (questionnaires.fronts.Front's value) keeps the web apart in the drop-off (revision 0034).
FunnelKey: TypeAlias = tuple[date, str, str, str, str, str]


def at_question(question_id: str) -> str:
    return AT_QUESTION + question_id


class FunnelStore:
    """Adds deltas to the counters; one transaction per call."""

    def __init__(self, sessions: Sessions) -> None:
        self._sessions = sessions

    async def add(self, deltas: Mapping[FunnelKey, int]) -> int:
        """Add every delta to its counter (creating it at the delta); return the rows touched."""
        if not deltas:
            return 0
        rows = [
            {
                "started_on": key[0],
                "questionnaire_id": key[1],
                "service_code": key[2],
                "channel_code": key[3],
                "step": key[4],
                "front": key[5],
                "count": delta,
            }
            for key, delta in deltas.items()
        ]
        # New rows in no telling order (SQLite keeps insertion order in its pages until the
        # nightly rebuild): the order the cells were first touched says nothing then.
        random.SystemRandom().shuffle(rows)
        async with self._sessions.begin() as session:
            upsert = insert_on_conflict(session, FunnelCount)
            statement = upsert.on_conflict_do_update(
                index_elements=[
                    FunnelCount.started_on,
                    FunnelCount.questionnaire_id,
                    FunnelCount.service_code,
                    FunnelCount.channel_code,
                    FunnelCount.step,
                    FunnelCount.front,
                ],
                set_={"count": FunnelCount.count + upsert.excluded["count"]},
            )
            await session.execute(statement, rows)
        return len(rows)
