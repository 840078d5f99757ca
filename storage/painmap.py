"""The pain map's store: pains, their figures per closed period, process figures, measures.

Plain records in and out; one public method, one transaction. The figures handed in are the
disclosed ones (services.painmap takes them from the report): this store never counts answers.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date

from sqlalchemy import and_, delete, func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from storage.models_appeals import Appeal
from storage.models_painmap import Measure, Pain, PainFigure, ProcessFigure

PLANNED = "planned"
IN_PROGRESS = "in_progress"
DONE = "done"
DROPPED = "dropped"
#: Measures still to be done: these can be overdue.
OPEN_STATUSES = (PLANNED, IN_PROGRESS)


@dataclass(frozen=True, slots=True)
class Span:
    """A closed period as two days (reports.model.Period, without importing reports)."""

    start: date
    end: date


@dataclass(frozen=True, slots=True)
class ProcessKey:
    """A service, a life situation or the internal process, with the touchpoint where known
    ('' when not)."""

    kind: str  # service | life_situation | internal
    code: str
    touchpoint: str = ""


@dataclass(frozen=True, slots=True)
class Figures:
    """A pain's disclosed figures in one period; ``hidden`` carries none."""

    hidden: bool
    respondents: int | None = None
    prevalence: float | None = None
    mean_overall: float | None = None
    priority: float | None = None


@dataclass(frozen=True, slots=True)
class Satisfaction:
    """A process's disclosed satisfaction in one period."""

    hidden: bool
    n: int | None = None
    csat: float | None = None
    mean: float | None = None


@dataclass(frozen=True, slots=True)
class FoundPain:
    """One pain the report (or the register) shows for a process in a period."""

    source: str
    source_code: str
    title: str
    figures: Figures


@dataclass(frozen=True, slots=True)
class PainRecord:
    id: str
    process: ProcessKey
    source: str
    source_code: str
    title: str
    found_on: date


@dataclass(frozen=True, slots=True)
class FigureRecord:
    period: Span
    figures: Figures


@dataclass(frozen=True, slots=True)
class SatisfactionRecord:
    period: Span
    satisfaction: Satisfaction


@dataclass(frozen=True, slots=True)
class MeasureRecord:
    id: str
    pain_id: str
    text: str
    responsible: str
    deadline: date
    status: str
    created_on: date
    started_on: date | None = None
    done_on: date | None = None
    dropped_on: date | None = None


@dataclass(frozen=True, slots=True)
class NewMeasure:
    pain_id: str
    text: str
    responsible: str
    deadline: date
    status: str = PLANNED
    #: The measure's id chosen beforehand (the typed draft's): saving it again adds nothing,
    #: so a draft left uncleared by a process killed after the commit is not stored twice.
    key: str | None = None


@dataclass(frozen=True, slots=True)
class MeasureEdit:
    """A change to an existing measure; None leaves a field as it is."""

    measure_id: str
    text: str | None = None
    responsible: str | None = None
    deadline: date | None = None
    status: str | None = None


@dataclass(frozen=True, slots=True)
class ReasonCount:
    """Appeals of one process with one reason in a period (register documents, not people)."""

    process: ProcessKey
    reason: str
    count: int
    total: int  # appeals of the process in the period, the share's base


def _key() -> str:
    return uuid.uuid4().hex


def _pain(row: Pain) -> PainRecord:
    process = ProcessKey(row.process_kind, row.process_code, row.touchpoint)
    return PainRecord(row.id, process, row.source, row.source_code, row.title, row.found_on)


def _measure(row: Measure) -> MeasureRecord:
    return MeasureRecord(
        row.id,
        row.pain_id,
        row.text,
        row.responsible,
        row.deadline,
        row.status,
        row.created_on,
        row.started_on,
        row.done_on,
        row.dropped_on,
    )


def _status_dates(status: str, today: date) -> dict[str, date]:
    """The column recording the day a measure reached ``status`` (planned: its creation)."""
    column = {IN_PROGRESS: "started_on", DONE: "done_on", DROPPED: "dropped_on"}.get(status)
    return {column: today} if column else {}


class PainMapStore:
    def __init__(self, sessions: async_sessionmaker[AsyncSession]) -> None:
        self._sessions = sessions

    # --- refresh ------------------------------------------------------------------------

    async def save_period(
        self,
        process: ProcessKey,
        period: Span,
        satisfaction: Satisfaction,
        found: Sequence[FoundPain],
        *,
        absent: Mapping[str, Figures],
        today: date,
    ) -> list[str]:
        """Record one process's figures for one closed period; return the ids of its pains.

        New pains are created from shown figures only; a known pain the period does not show
        (or shows hidden) gets its hidden figures, and one it does not list gets ``absent`` of its
        source (named by nobody, or hidden when the process itself was hidden). Figures of the
        period are replaced, so a refresh may run again.
        """
        async with self._sessions.begin() as session:
            known = {
                (row.source, row.source_code): row
                for row in await session.scalars(
                    select(Pain).where(
                        Pain.process_kind == process.kind,
                        Pain.process_code == process.code,
                        Pain.touchpoint == process.touchpoint,
                    )
                )
            }
            figures: dict[str, Figures] = {}
            for item in found:
                row = known.get((item.source, item.source_code))
                if row is None and item.figures.hidden:
                    # A pain is born only from a shown figure: a new row would tell that
                    # someone, fewer than the threshold, named it.
                    continue
                if row is None:
                    row = Pain(
                        id=_key(),
                        process_kind=process.kind,
                        process_code=process.code,
                        touchpoint=process.touchpoint,
                        source=item.source,
                        source_code=item.source_code,
                        title=item.title,
                        found_on=today,
                    )
                    session.add(row)
                    known[(item.source, item.source_code)] = row
                else:
                    row.title = item.title
                figures[row.id] = item.figures
            for (source, _), row in known.items():
                if row.id not in figures and source in absent:
                    figures[row.id] = absent[source]
            await session.flush()
            await session.execute(
                delete(PainFigure).where(
                    PainFigure.pain_id.in_([row.id for row in known.values()]),
                    PainFigure.period_start == period.start,
                    PainFigure.period_end == period.end,
                )
            )
            session.add_all(
                PainFigure(
                    pain_id=pain_id,
                    period_start=period.start,
                    period_end=period.end,
                    hidden=value.hidden,
                    respondents=value.respondents,
                    prevalence=value.prevalence,
                    mean_overall=value.mean_overall,
                    priority=value.priority,
                )
                for pain_id, value in figures.items()
            )
            if process.touchpoint:
                # The before/after comparison reads the process's own satisfaction; a
                # touchpoint's lives in its report (process_figures has no touchpoint column).
                return [row.id for row in known.values()]
            await session.execute(
                delete(ProcessFigure).where(
                    ProcessFigure.process_kind == process.kind,
                    ProcessFigure.process_code == process.code,
                    ProcessFigure.period_start == period.start,
                    ProcessFigure.period_end == period.end,
                )
            )
            session.add(
                ProcessFigure(
                    process_kind=process.kind,
                    process_code=process.code,
                    period_start=period.start,
                    period_end=period.end,
                    hidden=satisfaction.hidden,
                    n=satisfaction.n,
                    csat=satisfaction.csat,
                    mean=satisfaction.mean,
                )
            )
            return [row.id for row in known.values()]

    async def refreshed(self, period: Span) -> bool:
        """Whether any process has figures for exactly this period."""
        async with self._sessions.begin() as session:
            found = await session.scalar(
                select(func.count())
                .select_from(ProcessFigure)
                .where(
                    ProcessFigure.period_start == period.start,
                    ProcessFigure.period_end == period.end,
                )
            )
        return bool(found)

    async def appeal_reasons(self, period: Span) -> list[ReasonCount]:
        """Appeal reasons per service and per life situation in ``period``."""
        counts: list[ReasonCount] = []
        async with self._sessions.begin() as session:
            for kind, column in (
                ("service", Appeal.service_code),
                ("life_situation", Appeal.life_situation_code),
            ):
                statement = (
                    select(column, Appeal.reason, func.count())
                    .where(
                        Appeal.received_on.between(period.start, period.end),
                        column.is_not(None),
                    )
                    .group_by(column, Appeal.reason)
                )
                rows = [(str(r[0]), r[1], int(r[2])) for r in await session.execute(statement)]
                totals: dict[str, int] = {}
                for code, _, count in rows:
                    totals[code] = totals.get(code, 0) + count
                counts += [
                    ReasonCount(ProcessKey(kind, code), reason, count, totals[code])
                    for code, reason, count in rows
                    if reason
                ]
        return counts

    # --- reading ------------------------------------------------------------------------

    async def pains(self, processes: Iterable[ProcessKey] | None = None) -> list[PainRecord]:
        """Pains of the given processes (every touchpoint), or all."""
        statement = select(Pain)
        if processes is not None:
            wanted = [
                and_(Pain.process_kind == p.kind, Pain.process_code == p.code) for p in processes
            ]
            if not wanted:
                return []
            statement = statement.where(or_(*wanted))
        async with self._sessions.begin() as session:
            return [_pain(row) for row in await session.scalars(statement)]

    async def pain(self, pain_id: str) -> PainRecord | None:
        async with self._sessions.begin() as session:
            row = await session.get(Pain, pain_id)
            return _pain(row) if row is not None else None

    async def figures(self, pain_ids: Sequence[str]) -> dict[str, list[FigureRecord]]:
        """Every recorded period of each pain, oldest first."""
        result: dict[str, list[FigureRecord]] = {pain_id: [] for pain_id in pain_ids}
        if not pain_ids:
            return result
        statement = (
            select(PainFigure)
            .where(PainFigure.pain_id.in_(pain_ids))
            .order_by(PainFigure.period_end, PainFigure.period_start.desc())
        )
        async with self._sessions.begin() as session:
            for row in await session.scalars(statement):
                result[row.pain_id].append(
                    FigureRecord(
                        Span(row.period_start, row.period_end),
                        Figures(
                            row.hidden,
                            row.respondents,
                            row.prevalence,
                            row.mean_overall,
                            row.priority,
                        ),
                    )
                )
        return result

    async def satisfaction(self, process: ProcessKey) -> list[SatisfactionRecord]:
        statement = (
            select(ProcessFigure)
            .where(
                ProcessFigure.process_kind == process.kind,
                ProcessFigure.process_code == process.code,
            )
            .order_by(ProcessFigure.period_end, ProcessFigure.period_start.desc())
        )
        async with self._sessions.begin() as session:
            return [
                SatisfactionRecord(
                    Span(row.period_start, row.period_end),
                    Satisfaction(row.hidden, row.n, row.csat, row.mean),
                )
                for row in await session.scalars(statement)
            ]

    async def measures(self, pain_ids: Sequence[str]) -> list[MeasureRecord]:
        if not pain_ids:
            return []
        statement = (
            select(Measure)
            .where(Measure.pain_id.in_(pain_ids))
            .order_by(Measure.created_on, Measure.deadline, Measure.text)
        )
        async with self._sessions.begin() as session:
            return [_measure(row) for row in await session.scalars(statement)]

    async def measure(self, measure_id: str) -> MeasureRecord | None:
        async with self._sessions.begin() as session:
            row = await session.get(Measure, measure_id)
            return _measure(row) if row is not None else None

    async def overdue(self, today: date) -> list[MeasureRecord]:
        """Open measures whose deadline passed before ``today``."""
        statement = (
            select(Measure)
            .where(Measure.status.in_(OPEN_STATUSES), Measure.deadline < today)
            .order_by(Measure.deadline, Measure.text)
        )
        async with self._sessions.begin() as session:
            return [_measure(row) for row in await session.scalars(statement)]

    async def done(self) -> list[MeasureRecord]:
        statement = select(Measure).where(Measure.status == DONE).order_by(Measure.done_on)
        async with self._sessions.begin() as session:
            return [_measure(row) for row in await session.scalars(statement)]

    # --- measures -----------------------------------------------------------------------

    async def apply(
        self, new: Sequence[NewMeasure], edits: Sequence[MeasureEdit], today: date
    ) -> list[str]:
        """Add and change measures in one transaction (all or nothing); the new ids. A new
        measure whose ``key`` is already stored is that measure, not another one."""
        ids: list[str] = []
        async with self._sessions.begin() as session:
            for item in new:
                key = item.key or _key()
                ids.append(key)
                if item.key is not None and await session.get(Measure, key) is not None:
                    continue
                session.add(
                    Measure(
                        id=key,
                        pain_id=item.pain_id,
                        text=item.text,
                        responsible=item.responsible,
                        deadline=item.deadline,
                        status=item.status,
                        created_on=today,
                        **_status_dates(item.status, today),
                    )
                )
            for edit in edits:
                await self._edit(session, edit, today)
        return ids

    async def add_measure(self, measure: NewMeasure, today: date) -> str:
        [key] = await self.apply([measure], [], today)
        return key

    async def edit(self, edit: MeasureEdit, today: date) -> bool:
        """Change one measure; False when it no longer exists."""
        async with self._sessions.begin() as session:
            return await self._edit(session, edit, today)

    @staticmethod
    async def _edit(session: AsyncSession, edit: MeasureEdit, today: date) -> bool:
        row = await session.get(Measure, edit.measure_id)
        if row is None:
            return False
        values: dict[str, object] = {}
        if edit.text is not None:
            values["text"] = edit.text
        if edit.responsible is not None:
            values["responsible"] = edit.responsible
        if edit.deadline is not None:
            values["deadline"] = edit.deadline
        if edit.status is not None and edit.status != row.status:
            values["status"] = edit.status
            values.update(_status_dates(edit.status, today))
        if values:
            await session.execute(
                update(Measure).where(Measure.id == edit.measure_id).values(**values)
            )
        return True
