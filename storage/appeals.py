"""Store of the appeals register: bulk upsert of imported rows and the monitoring aggregates."""

from __future__ import annotations

import logging
import uuid
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from datetime import date

from sqlalchemy import and_, func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from storage.models import Answer, Response
from storage.models_appeals import Appeal
from storage.upsert import insert_on_conflict

logger = logging.getLogger(__name__)

#: Rows per executemany: large enough to amortise the round trip, small enough for memory.
CHUNK = 5_000
_UPDATED = (
    "received_on",
    "kind",
    "outcome",
    "channel",
    "topic",
    "reason",
    "service_code",
    "life_situation_code",
)


@dataclass(frozen=True, slots=True)
class AppealRow:
    """One appeal as codes and a day; the register's own number keys it within a source."""

    register_no: str
    received_on: date
    kind: str
    outcome: str | None = None
    channel: str | None = None
    topic: str | None = None
    reason: str | None = None
    service_code: str | None = None
    life_situation_code: str | None = None


@dataclass(frozen=True, slots=True)
class UpsertResult:
    added: int
    updated: int  # already present: written again with the register's current values


@dataclass(frozen=True, slots=True)
class AppealCount:
    """Appeals of one combination of codes in the current (or the previous) period."""

    current: bool
    kind: str
    outcome: str | None
    channel: str | None
    topic: str | None
    reason: str | None
    count: int


@dataclass(frozen=True, slots=True)
class PollCount:
    """Answers of one option of a poll question on one day in one cell (a disclosure atom)."""

    day: date
    service: str | None
    channel: str | None
    life_situation: str | None
    question_id: str
    option_id: str
    count: int


class AppealStore:
    """One public method, one transaction."""

    def __init__(self, sessions: async_sessionmaker[AsyncSession]) -> None:
        self._sessions = sessions

    async def upsert(self, source: str, rows: Sequence[AppealRow]) -> UpsertResult:
        """Insert or refresh ``rows`` keyed by (source, register number), all or nothing.

        Written with executemany in chunks inside one transaction: a re-import of the same
        file adds nothing, and a corrected register (an outcome decided since) updates.
        """
        async with self._sessions.begin() as session:
            before = await self._count(session, source)
            statement = insert_on_conflict(session, Appeal)
            statement = statement.on_conflict_do_update(
                index_elements=[Appeal.source, Appeal.register_no],
                set_={name: getattr(statement.excluded, name) for name in _UPDATED},
            )
            for start in range(0, len(rows), CHUNK):
                chunk = rows[start : start + CHUNK]
                values = [
                    {"id": uuid.uuid4().hex, "source": source, **asdict(row)} for row in chunk
                ]
                await session.execute(statement, values)
            after = await self._count(session, source)
        added = after - before
        return UpsertResult(added=added, updated=len(rows) - added)

    @staticmethod
    async def _count(session: AsyncSession, source: str) -> int:
        found = await session.scalar(
            select(func.count()).select_from(Appeal).where(Appeal.source == source)
        )
        return int(found or 0)

    async def count(self, source: str | None = None) -> int:
        async with self._sessions.begin() as session:
            statement = select(func.count()).select_from(Appeal)
            if source is not None:
                statement = statement.where(Appeal.source == source)
            return int(await session.scalar(statement) or 0)

    async def counts(self, previous_start: date, start: date, end: date) -> list[AppealCount]:
        """Appeals from ``previous_start`` to ``end`` grouped by every monitored code, with
        ``current`` telling the days from ``start`` on from the previous period."""
        current = Appeal.received_on >= start
        columns = (
            current,
            Appeal.kind,
            Appeal.outcome,
            Appeal.channel,
            Appeal.topic,
            Appeal.reason,
        )
        statement = (
            select(*columns, func.count())
            .where(Appeal.received_on.between(previous_start, end))
            .group_by(*columns)
        )
        async with self._sessions.begin() as session:
            return [
                AppealCount(bool(row[0]), *row[1:6], count=int(row[6]))
                for row in await session.execute(statement)
            ]

    async def channel_counts(self, start: date, end: date) -> dict[str | None, int]:
        """A plain GROUP BY of one period by channel (the benchmark's baseline)."""
        statement = (
            select(Appeal.channel, func.count())
            .where(Appeal.received_on.between(start, end))
            .group_by(Appeal.channel)
        )
        async with self._sessions.begin() as session:
            return {row[0]: int(row[1]) for row in await session.execute(statement)}

    async def poll_counts(
        self, questionnaire_id: str, question_ids: Sequence[str], start: date, end: date
    ) -> list[PollCount]:
        """Option answers of the poll's questions per day and cell (disclosure atoms)."""
        r, a = Response, Answer
        dimensions = (
            r.submitted_on,
            r.service_code,
            r.channel_code,
            r.life_situation_code,
            a.question_id,
            a.option_id,
        )
        statement = (
            select(*dimensions, func.count())
            .select_from(r)
            .join(a, and_(a.response_id == r.id, a.question_id.in_(list(question_ids))))
            .where(
                r.questionnaire_id == questionnaire_id,
                r.submitted_on.between(start, end),
                a.option_id.is_not(None),
            )
            .group_by(*dimensions)
        )
        async with self._sessions.begin() as session:
            return [
                PollCount(
                    row[0] if isinstance(row[0], date) else date.fromisoformat(str(row[0])),
                    row[1],
                    row[2],
                    row[3],
                    str(row[4]),
                    str(row[5]),
                    int(row[6]),
                )
                for row in await session.execute(statement)
            ]
