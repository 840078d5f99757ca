"""Drop-off: dialogs started and finished in a period, and the questions where the rest stopped."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import date
from typing import Any, Final

from sqlalchemy import ColumnElement, Date, Table, cast, exists, func, select, type_coerce
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from questionnaires.fronts import Front
from reports.disclosure import Atom, in_scope, plan, web_pooled
from reports.model import DEFAULT_MIN_GROUP, DropOff, Period, QuestionnaireRoles, QuitPoint, Scope
from reports.periods import month_of
from storage.funnel import AT_QUESTION, CANCELLED, COMPLETED, STARTED
from storage.models import FunnelCount
from storage.models_campaigns import PollWindow

logger = logging.getLogger(__name__)

_FUNNEL: Final[Table] = FunnelCount.__table__  # type: ignore[assignment]


async def drop_off(
    sessions: async_sessionmaker[AsyncSession],
    period: Period,
    scope: Scope,
    roles: QuestionnaireRoles,
    question_titles: Mapping[tuple[str, str], str] | None = None,
    *,
    min_group: int = DEFAULT_MIN_GROUP,
) -> DropOff | None:
    """Funnel of the dialogs *started* in ``period`` within ``scope``, in one query.

    A question's ``quits`` are the dialogs still parked there: they neither finished nor were
    cancelled (dialogs still in progress count too, so the last day or two read high). None when
    the scope filters by life situation, which the funnel does not record. Below ``min_group``
    started dialogs nothing is shown; a question with fewer quits is marked suppressed.
    """
    async with sessions() as session:
        return await drop_off_in(
            session, period, scope, roles, question_titles, min_group=min_group
        )


def _outside_windows() -> ColumnElement[bool]:
    """Counters of dialogs started before their questionnaire's first poll window opened.
    The counters do not say whether a dialog ran in a window, and a window's dialogs are
    reported as that window only (docs/anonymity.md, "Poll windows and calendar figures"): a
    month's completions against a window's respondents would give the few answers beside
    them. So from the first window's opening day on a questionnaire's counters count nowhere;
    before it they cannot hold a window's dialog, and a later first window leaves the drop-off
    of periods already closed as it was (review of 30 November: excluded by questionnaire,
    it changed them)."""
    window = PollWindow.__table__.alias("first_window")
    return ~exists().where(
        window.c.questionnaire_id == FunnelCount.questionnaire_id,
        window.c.opens_on <= FunnelCount.started_on,
    )


async def drop_off_in(
    session: AsyncSession,
    period: Period,
    scope: Scope,
    roles: QuestionnaireRoles,
    question_titles: Mapping[tuple[str, str], str] | None = None,
    *,
    min_group: int = DEFAULT_MIN_GROUP,
    with_web: bool = True,
) -> DropOff | None:
    """:func:`drop_off` inside the caller's session and transaction (without the web's
    dialogs unless ``with_web``).

    Unless the web is pooled with the messengers (reports.disclosure.web_pooled), the web's
    dialogs and the messengers' pass the rule each on their own, and a web side that does not
    is counted nowhere (docs/anonymity.md, "Fake web respondents")."""
    if scope.life_situation is not None:
        return None
    titles = roles.question_titles if question_titles is None else question_titles
    f = _FUNNEL.c  # Core columns: plain rows, not ORM results
    web = f.front == Front.WEB.value
    grouping: list[Any] = [f.questionnaire_id, f.step, web]
    if session.get_bind().dialect.name == "sqlite":
        # By day too, the primary key's order: SQLite then sums without sorting (days are few);
        # PostgreSQL hashes the groups either way.
        grouping.insert(0, f.started_on)
    statement = (
        select(f.questionnaire_id, f.step, web, func.sum(f.count))
        .where(f.started_on.between(period.start, period.end))
        .group_by(*grouping)
    )
    if scope.service is not None:
        statement = statement.where(f.service_code == scope.service)
    if scope.channel is not None:
        statement = statement.where(f.channel_code == scope.channel)
    if not with_web:
        statement = statement.where(~web)
    # Without a known audience (roles built by hand) every questionnaire counts.
    questionnaires = [q for q, audience in roles.audiences.items() if audience == scope.audience]
    if roles.audiences:
        statement = statement.where(f.questionnaire_id.in_(questionnaires))
    statement = statement.where(_outside_windows())
    pooled = web_pooled()
    sides: dict[bool, _Side] = {}
    for questionnaire_id, step, is_web, total in await session.execute(statement):
        side = sides.setdefault(bool(is_web) and not pooled, _Side())
        side.add(questionnaire_id, step, int(total or 0))
    messengers, from_web = sides.get(False, _Side()), sides.get(True)
    shown = _judged(messengers, titles, min_group)
    if from_web is None or not from_web.started:
        return shown
    # The web kept apart (the default): its dialogs count only when they pass the rule among
    # themselves, and the messengers' only when they do, so fake web dialogs never lift a few
    # genuine ones over the threshold; web dialogs too few are counted nowhere.
    web_shown = _judged(from_web, titles, min_group)
    if web_shown.suppressed:
        return shown if messengers.started else web_shown
    if not messengers.started:
        return web_shown
    if shown.suppressed:
        return shown
    return _together(shown, web_shown)


@dataclass(slots=True)
class _Side:
    """The counters of one side (the messengers, or the web kept apart) of a drop-off."""

    started: int = 0
    completed: int = 0
    cancelled: int = 0
    parked: dict[tuple[str, str], int] = field(default_factory=dict)

    def add(self, questionnaire_id: str, step: str, count: int) -> None:
        if step == STARTED:
            self.started += count
        elif step == COMPLETED:
            self.completed += count
        elif step == CANCELLED:
            self.cancelled += count
        elif step.startswith(AT_QUESTION):
            # A day's gauge can dip below zero when a dialog began before the recorder existed
            # or a flush was lost: that day simply has nothing parked there.
            key = (questionnaire_id, step.removeprefix(AT_QUESTION))
            self.parked[key] = self.parked.get(key, 0) + max(count, 0)


def _judged(side: _Side, titles: Mapping[tuple[str, str], str], min_group: int) -> DropOff:
    """The drop-off rule on one group of counters."""
    started, completed, cancelled = side.started, side.completed, side.cancelled
    if started < min_group or completed < min_group or 0 < started - completed < min_group:
        # Completed is the size of the scope's group of responses, and started − completed the
        # group that stopped: under the threshold either would size a group the report hides.
        return DropOff(0, 0, suppressed=True)
    points = [
        QuitPoint(
            question_id=question,
            title=titles.get((questionnaire_id, question), question),
            quits=quits if quits >= min_group else 0,
            questionnaire_id=questionnaire_id,
            suppressed=quits < min_group,
        )
        for (questionnaire_id, question), quits in side.parked.items()
        if quits > 0
    ]
    if any(point.suppressed for point in points) or 0 < cancelled < min_group:
        # What stopped adds up: started − completed − cancelled = Σ quit points. With one part
        # hidden, the others and the totals would give it back, so every part is hidden.
        points = [replace(point, quits=0, suppressed=True) for point in points]
        cancelled = 0
    points.sort(key=lambda p: (p.suppressed, -p.quits, p.title))
    return DropOff(started, completed, tuple(points), cancelled=cancelled)


def _together(one: DropOff, other: DropOff) -> DropOff:
    """Two shown sides as one drop-off: every figure a sum of the sides' shown figures; a
    question's quits only when both sides show theirs (hidden on one side, hidden in all)."""
    hidden = any(p.suppressed for p in (*one.quit_points, *other.quit_points))
    points: dict[tuple[str, str], QuitPoint] = {}
    for point in (*one.quit_points, *other.quit_points):
        key = (point.questionnaire_id, point.question_id)
        found = points.get(key)
        points[key] = point if found is None else replace(found, quits=found.quits + point.quits)
    merged = [
        replace(point, quits=0, suppressed=True) if hidden else point for point in points.values()
    ]
    merged.sort(key=lambda p: (p.suppressed, -p.quits, p.title))
    cancelled = 0 if hidden else one.cancelled + other.cancelled
    return DropOff(
        one.started + other.started,
        one.completed + other.completed,
        tuple(merged),
        cancelled=cancelled,
    )


async def _started(
    session: AsyncSession,
    period: Period,
    scope: Scope,
    roles: QuestionnaireRoles,
    *,
    weekly: bool = False,
) -> dict[Atom, int]:
    """Dialogs started in ``period`` per atom (day, or month without weekly figures, × service,
    channel and front) of the scope's audience, outside poll windows: the funnel's plan's."""
    # By day, the primary key's order (read without sorting), or by month, summed in SQL. Core
    # columns: the rows are plain tuples, not ORM results (tens of thousands at 1M answers).
    f = _FUNNEL.c
    by_month = not weekly and month_of(period.start).start == period.start
    day: ColumnElement[date] = f.started_on
    dialect = session.get_bind().dialect.name
    if by_month and dialect == "sqlite":
        # Without weekly figures a month is the finest unit: one atom per month, summed here
        # (a half-year at 1M answers: 882 rows instead of 22,510 days' to fold in Python).
        day = type_coerce(func.date(f.started_on, "start of month"), Date)
    elif by_month and dialect == "postgresql":
        day = cast(func.date_trunc("month", f.started_on), Date)
    statement = (
        select(day, f.service_code, f.channel_code, f.front, func.sum(f.count))
        .where(f.started_on.between(period.start, period.end), f.step == STARTED)
        .group_by(day, f.service_code, f.channel_code, f.front)
    )
    questionnaires = [q for q, audience in roles.audiences.items() if audience == scope.audience]
    if roles.audiences:
        statement = statement.where(f.questionnaire_id.in_(questionnaires))
    statement = statement.where(_outside_windows())
    firsts: dict[date, date] = {}  # each day's atom date, computed once per day
    cells: dict[tuple[str, str, str], tuple[str, str, None, str]] = {}
    started: dict[Atom, int] = {}
    for started_on, service, channel, front, total in (await session.execute(statement)).all():
        # Without weekly figures a month is the finest unit: one atom per month is enough.
        first = firsts.get(started_on)
        if first is None:
            first = firsts[started_on] = started_on.replace(day=1) if by_month else started_on
        cell = cells.get((service, channel, front))
        if cell is None:
            cell = cells[service, channel, front] = (service, channel, None, front)
        atom: Atom = (first, cell)
        started[atom] = started.get(atom, 0) + int(total or 0)
    started = {atom: count for atom, count in started.items() if count > 0}
    return started


async def protected_drop_off(
    session: AsyncSession,
    period: Period,
    scope: Scope,
    roles: QuestionnaireRoles,
    *,
    min_group: int = DEFAULT_MIN_GROUP,
    weekly: bool = False,
) -> DropOff | None:
    """:func:`drop_off_in`, shown only when the scope is a union of blocks of the funnel's own
    disclosure plan (dialogs started per day, service, channel and front, whole audience).

    The front keeps the web apart in the plan (reports.disclosure.APART): the web's atoms that
    join no web block are dropped, and a scope with a dropped web atom shows its drop-off
    without the web's dialogs (as the reports leave such web answers out of their figures)."""
    if scope.life_situation is not None:
        return None
    started = await _started(session, period, scope, roles, weekly=weekly)
    where = in_scope(scope.service, scope.channel)
    members = [atom for atom in started if where(atom)]
    made = plan(period, started, min_group, weekly=weekly)
    counted = made.counted(members)
    if not made.publishable(counted):
        return DropOff(0, 0, suppressed=True)
    return await drop_off_in(
        session,
        period,
        scope,
        roles,
        min_group=min_group,
        with_web=len(counted) == len(members),
    )
