"""Store of the appeals register: bulk upsert of imported rows and the monitoring aggregates."""

from __future__ import annotations

import logging
import uuid
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Final

from sqlalchemy import and_, delete, func, insert, or_, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from questionnaires.fronts import Front
from storage.models import Answer, Response
from storage.models_appeals import Appeal, AppealQuarterCount

logger = logging.getLogger(__name__)

#: Rows per executemany: large enough to amortise the round trip, small enough for memory.
CHUNK: Final = 5_000
_COLUMNS: Final = (
    "id",
    "source",
    "register_no",
    "received_on",
    "kind",
    "outcome",
    "channel",
    "topic",
    "reason",
    "service_code",
    "life_situation_code",
)
_UPDATED: Final = _COLUMNS[3:]


def _same(value: date) -> date:
    return value


def _day(value: object) -> date:
    return value if isinstance(value, date) else date.fromisoformat(str(value))


def _upsert_sql(paramstyle: str) -> str:
    """The upsert in the driver's own parameter style (SQLite and PostgreSQL share the rest)."""
    if paramstyle == "qmark":
        marks = ["?"] * len(_COLUMNS)
    elif paramstyle in ("numeric_dollar", "numeric"):
        sign = "$" if paramstyle == "numeric_dollar" else ":"
        marks = [f"{sign}{index}" for index in range(1, len(_COLUMNS) + 1)]
    elif paramstyle == "format":
        marks = ["%s"] * len(_COLUMNS)
    else:
        raise NotImplementedError(f"storage supports qmark/numeric/format, not {paramstyle}")
    updates = ", ".join(f"{name} = excluded.{name}" for name in _UPDATED)
    return (
        f"INSERT INTO {Appeal.__tablename__} ({', '.join(_COLUMNS)}) "
        f"VALUES ({', '.join(marks)}) "
        f"ON CONFLICT (source, register_no) DO UPDATE SET {updates}"
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
    front: str = "telegram"  # questionnaires.fronts.Front: the web is kept apart in the plan


class AppealStore:
    """One public method, one transaction."""

    def __init__(self, sessions: async_sessionmaker[AsyncSession]) -> None:
        self._sessions = sessions

    async def upsert(self, source: str, rows: Sequence[AppealRow]) -> UpsertResult:
        """Insert or refresh ``rows`` keyed by (source, register number), all or nothing.

        One prepared INSERT … ON CONFLICT DO UPDATE run by the driver's executemany in chunks
        inside one transaction (no ORM, no per-row dict): a re-import of the same file adds
        nothing, and a corrected register (an outcome decided since) updates.
        """
        async with self._sessions.begin() as session:
            connection = await session.connection()
            dialect = connection.dialect
            before = await self._count(session, source)
            statement = _upsert_sql(dialect.paramstyle)
            # SQLite stores a Date as ISO text (as SQLAlchemy does); asyncpg takes date objects.
            day = date.isoformat if dialect.name == "sqlite" else _same
            for start in range(0, len(rows), CHUNK):
                values = [
                    (
                        uuid.uuid4().hex,
                        source,
                        row.register_no,
                        day(row.received_on),
                        row.kind,
                        row.outcome,
                        row.channel,
                        row.topic,
                        row.reason,
                        row.service_code,
                        row.life_situation_code,
                    )
                    for row in rows[start : start + CHUNK]
                ]
                await connection.exec_driver_sql(statement, values)
            after = await self._count(session, source)
            await self._recount(session)
        added = after - before
        return UpsertResult(added=added, updated=len(rows) - added)

    @staticmethod
    async def _recount(session: AsyncSession) -> None:
        """Rebuild the quarterly counts from the appeals (one GROUP BY over the table: an
        import may move a row to another quarter or change its outcome)."""
        year = func.extract("year", Appeal.received_on)
        month = func.extract("month", Appeal.received_on)
        codes = (Appeal.kind, Appeal.outcome, Appeal.channel, Appeal.topic, Appeal.reason)
        statement = select(year, month, *codes, func.count()).group_by(year, month, *codes)
        tallies: dict[tuple[date, str, str, str, str, str], int] = {}
        for row in await session.execute(statement):
            start = date(int(row[0]), 3 * ((int(row[1]) - 1) // 3) + 1, 1)
            kind, outcome, channel, topic, reason = (str(value or "") for value in row[2:7])
            key = (start, kind, outcome, channel, topic, reason)
            tallies[key] = tallies.get(key, 0) + int(row[7])
        await session.execute(delete(AppealQuarterCount))
        if tallies:
            await session.execute(
                insert(AppealQuarterCount),
                [
                    {
                        "quarter_start": key[0],
                        "kind": key[1],
                        "outcome": key[2],
                        "channel": key[3],
                        "topic": key[4],
                        "reason": key[5],
                        "count": count,
                    }
                    for key, count in tallies.items()
                ],
            )

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

    async def counts(self, previous_start: date, start: date) -> list[AppealCount]:
        """Appeals of the quarters starting on ``previous_start`` and ``start`` by every
        monitored code (from the counts kept by the imports)."""
        c = AppealQuarterCount
        statement = select(
            c.quarter_start, c.kind, c.outcome, c.channel, c.topic, c.reason, c.count
        ).where(c.quarter_start.in_([previous_start, start]))
        async with self._sessions.begin() as session:
            return [
                AppealCount(
                    _day(row[0]) == start,
                    row[1],
                    row[2] or None,
                    row[3] or None,
                    row[4] or None,
                    row[5] or None,
                    int(row[6]),
                )
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

    @property
    def sessions(self) -> async_sessionmaker[AsyncSession]:
        """The store's sessions, for the report queries of reports/ (the shown windows)."""
        return self._sessions

    async def poll_counts(
        self,
        questionnaire_id: str,
        question_ids: Sequence[str],
        start: date,
        end: date,
        *,
        windows: Collection[int],
        web_windows: Collection[int] | None = None,
    ) -> list[PollCount]:
        """Option answers of the poll's questions per day and cell (disclosure atoms), from
        ``windows`` only: the shown windows of the period, which reports/windows.py decides
        (closed, run wholly inside it to the day they actually ended, at least the threshold
        of respondents). A poll's answers are reported only with whole shown windows
        (docs/anonymity.md, "Poll windows and calendar figures"); a hidden one counts nowhere.

        With ``web_windows`` (the web kept apart: reports.windows.counted_sides), the messenger
        answers come from ``windows`` and the web answers from ``web_windows`` only."""
        if not windows and not web_windows:
            return []
        r, a = Response, Answer
        dimensions = (
            r.submitted_on,
            r.service_code,
            r.channel_code,
            r.life_situation_code,
            a.question_id,
            a.option_id,
            r.front,
        )
        web = r.front == Front.WEB.value
        counted = (
            r.window_id.in_(sorted(windows))
            if web_windows is None
            else or_(
                and_(r.window_id.in_(sorted(windows)), ~web),
                and_(r.window_id.in_(sorted(web_windows)), web),
            )
        )
        statement = (
            select(*dimensions, func.count())
            .select_from(r)
            .join(a, and_(a.response_id == r.id, a.question_id.in_(list(question_ids))))
            .where(
                r.questionnaire_id == questionnaire_id,
                r.submitted_on.between(start, end),
                counted,
                a.option_id.is_not(None),
            )
            .group_by(*dimensions)
        )
        async with self._sessions.begin() as session:
            return [
                PollCount(
                    _day(row[0]),
                    row[1],
                    row[2],
                    row[3],
                    str(row[4]),
                    str(row[5]),
                    int(row[7]),
                    str(row[6]),
                )
                for row in await session.execute(statement)
            ]
