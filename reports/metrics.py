"""Report figures aggregated in SQL: scores, breakdowns, problems, NPS, comments, trend, rows."""

from __future__ import annotations

import asyncio
import logging
import weakref
from collections import Counter
from collections.abc import (
    AsyncIterator,
    Awaitable,
    Callable,
    Collection,
    Hashable,
    Iterable,
    Mapping,
    Sequence,
)
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from itertools import chain, groupby, product
from operator import attrgetter, itemgetter
from typing import Any, Final, Literal, NamedTuple, TypeVar

from sqlalchemy import (
    ColumnElement,
    FromClause,
    and_,
    case,
    false,
    func,
    literal,
    or_,
    select,
    text,
    union_all,
)
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.base import _de_clone
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.selectable import Alias, Join
from sqlalchemy.sql.visitors import InternalTraversal, _TraverseInternalsType

from questionnaires.fronts import Front
from questionnaires.results import CANNOT_RATE
from reports.disclosure import Atom, Plan, in_scope, mask_contacts, plan, web_pooled
from reports.funnel import protected_drop_off
from reports.model import (
    DEFAULT_MIN_GROUP,
    Dimension,
    DropOff,
    GroupRow,
    NegativeGroup,
    Nps,
    Period,
    ProblemRow,
    QuestionnaireRoles,
    Report,
    Scope,
    Score,
    TrendPoint,
)
from reports.periods import month_of, segment_of
from storage.models import Answer, Response
from storage.models_campaigns import PollWindow
from storage.models_reporting import ReportAnswer
from storage.report_scores import any_unscored

logger = logging.getLogger(__name__)

SCORES: Final = (1, 2, 3, 4, 5)
SATISFIED: Final = (4, 5)
NPS_PROMOTERS: Final = (9, 10)
NPS_DETRACTORS_BELOW: Final = 7  # 0–6
DEFAULT_MAX_COMMENTS: Final = 100

#: Page cache (KiB) an SQLite report connection borrows while it runs: the lookups of one
#: question's answers by response touch ~10 MB of index pages per million answers in no
#: particular order, which SQLite's default 2 MB cache would re-read for nearly every row.
SQLITE_REPORT_CACHE_KIB: Final = 65_536

POSTGRES_REPORT_WORK_MEM: Final = "64MB"

DAYS_INDEX: Final = "ix_responses_report_days"
ANSWERS_INDEX: Final = "ix_answers_question_id_response_id_number_option_id"
#: The reports' copy of the answers (storage.models_reporting): one question's answers by cell
#: and day in GROUP BY order, and one question's options in option order.
COPY_GROUPS_INDEX: Final = "ix_report_answers_groups"
COPY_OPTIONS_INDEX: Final = "ix_report_answers_options"

Key = TypeVar("Key", bound=Hashable)
Result = TypeVar("Result")
Titles = Callable[[Dimension, str | None], str]
Cell = tuple[str | None, ...]  # service, channel, life situation[, front]


# --- counts and the anonymity threshold (pure) -------------------------------------------


@dataclass(slots=True)
class Counts:
    """Answers to the 1–5 overall question of one group: how many gave each score, and
    how many chose "cannot rate"."""

    by_score: list[int] = field(default_factory=lambda: [0] * len(SCORES))
    cannot_rate: int = 0

    @property
    def n(self) -> int:
        """Respondents with a score 1–5: the base of CSAT and the mean."""
        return sum(self.by_score)

    @property
    def respondents(self) -> int:
        """Everyone who answered the overall question, "cannot rate" included."""
        return self.n + self.cannot_rate

    def add(self, other: Counts) -> None:
        pairs = zip(self.by_score, other.by_score, strict=True)
        self.by_score = [mine + theirs for mine, theirs in pairs]
        self.cannot_rate += other.cannot_rate


def score_of(counts: Counts | None, min_group: int, *, hidden: bool = False) -> Score:
    """The Score of a group, or a bare suppressed one below the threshold (or if ``hidden``).

    A suppressed score carries n=0 and no figures: in a group of two, even the count says who.
    """
    if counts is None or hidden or counts.n < max(min_group, 1):
        return Score(n=0, suppressed=True)
    n = counts.n
    satisfied = sum(counts.by_score[score - 1] for score in SATISFIED)
    total = sum(score * count for score, count in zip(SCORES, counts.by_score, strict=True))
    return Score(
        n=n,
        csat=100.0 * satisfied / n,
        mean=total / n,
        distribution=dict(zip(SCORES, counts.by_score, strict=True)),
        cannot_rate=counts.cannot_rate,
    )


def _order(key: object) -> tuple[object, ...]:
    """A sort key for group keys: codes (or days) in order, None after them, tuples piecewise."""
    if isinstance(key, tuple):
        return tuple(_order(part) for part in key)
    # None (responses without the code) sorts after every code.
    return (key is None, "" if key is None else str(key))


_BY_SCORE: Final = attrgetter("by_score")
_CANNOT_RATE: Final = attrgetter("cannot_rate")
_COLUMNS: Final = tuple(itemgetter(index) for index in range(len(SCORES)))


def _sum(counts: Iterable[Counts]) -> Counts:
    items = list(counts)
    if not items:
        return Counts()
    # Column sums in C: a report folds tens of thousands of atoms into its groups. One map per
    # column, not zip(*rows): that built an iterator per row (tracked by the collector) and was
    # 4x slower over a group of 16,000 atoms (issue 15).
    rows = list(map(_BY_SCORE, items))
    by_score = [sum(map(column, rows)) for column in _COLUMNS]
    return Counts(by_score, sum(map(_CANNOT_RATE, items)))


# --- SQL building blocks -----------------------------------------------------------------


class _IndexedAlias(Alias):
    """A table alias that SQLite reads through a named index (``INDEXED BY``).

    SQLite's planner has no statistics unless someone runs ANALYZE, and with them it prefers
    a skip-scan of the (questionnaire, day) index that looks up every row in the table: about
    four times slower than the covering scan in breakdown order (bench/report_bench.py).
    The report's plans are chosen here instead. Other dialects render a plain alias.
    """

    inherit_cache = True
    # The index is part of the statement cache key: two hints must not share compiled SQL.
    _traverse_internals: _TraverseInternalsType = [  # noqa: RUF012
        *Alias._traverse_internals,
        ("index_name", InternalTraversal.dp_string),
    ]
    index_name: str = ""


@compiles(_IndexedAlias)
def _compile_alias(element: _IndexedAlias, compiler: SQLCompiler, **kw: Any) -> str:
    return str(compiler.visit_alias(element, **kw))  # type: ignore[no-untyped-call]


@compiles(_IndexedAlias, "sqlite")
def _compile_indexed_alias(element: _IndexedAlias, compiler: SQLCompiler, **kw: Any) -> str:
    rendered = str(compiler.visit_alias(element, **kw))  # type: ignore[no-untyped-call]
    if kw.get("asfrom"):
        rendered += f" INDEXED BY {compiler.preparer.quote(element.index_name)}"
    return rendered


class _OuterFirst(Join):
    """An inner join whose left side SQLite must read first (``CROSS JOIN``); JOIN elsewhere.

    SQLite never swaps the sides of a CROSS JOIN. Without this its planner may read the
    answers first and, for each, range-scan a forced day index: quadratic.
    """

    inherit_cache = True


@compiles(_OuterFirst, "sqlite")
def _compile_outer_first(
    element: _OuterFirst,
    compiler: SQLCompiler,
    asfrom: bool = False,
    from_linter: Any = None,
    **kw: Any,
) -> str:
    # SQLCompiler.visit_join with another keyword.
    if from_linter:
        from_linter.edges.update(
            product(_de_clone(element.left._from_objects), _de_clone(element.right._from_objects))
        )
    assert element.onclause is not None, "built by _then, always with a condition"
    parts = (
        element.left._compiler_dispatch(compiler, asfrom=True, from_linter=from_linter, **kw),
        " CROSS JOIN ",
        element.right._compiler_dispatch(compiler, asfrom=True, from_linter=from_linter, **kw),
        " ON ",
        element.onclause._compiler_dispatch(compiler, from_linter=from_linter, **kw),
    )
    return "".join(parts)


def _then(left: FromClause, right: FromClause, on: ColumnElement[bool]) -> Join:
    """``left`` joined to ``right``, ``left`` read first on SQLite."""
    return _OuterFirst(left, right, on)


def _table(
    model: type[Response] | type[Answer] | type[ReportAnswer], name: str, index: str
) -> FromClause:
    alias = _IndexedAlias._construct(model.__table__, name=name)
    alias.index_name = index
    return alias


def _audience_questionnaires(
    roles: QuestionnaireRoles, by_questionnaire: Mapping[str, Any], audience: str
) -> dict[str, Any]:
    # Roles built by hand may not know audiences; responses are filtered by audience anyway.
    if not roles.audiences:
        return dict(by_questionnaire)
    return {
        q: v for q, v in by_questionnaire.items() if roles.audiences.get(q, audience) == audience
    }


def _answer_of(
    responses: FromClause, answers: FromClause, questions: Mapping[str, str]
) -> ColumnElement[bool]:
    """The answer is to the question playing a role in its response's questionnaire."""
    ids = set(questions.values())
    if len(ids) == 1:
        # The usual case (one "overall" id everywhere): a constant the planners estimate well;
        # the caller restricts the questionnaires.
        return answers.c.question_id == ids.pop()
    by_questionnaire = case(dict(questions), value=responses.c.questionnaire_id, else_=None)
    return and_(answers.c.question_id.in_(ids), answers.c.question_id == by_questionnaire)


def _calendar(table: FromClause) -> ColumnElement[bool]:
    """Answers given outside poll windows: the only ones a calendar figure counts.

    A poll window's answers are reported as that window only, by the window rule
    (reports.windows.department_groups, for window results and parameters): pooled into a
    calendar figure they would let the window's results be subtracted from it, leaving the
    few calendar answers beside them (docs/anonymity.md, "Poll windows and calendar figures").
    """
    return table.c.window_id.is_(None)


def _in_periods(day: ColumnElement[date], periods: Sequence[Period]) -> ColumnElement[bool]:
    return or_(*(day.between(period.start, period.end) for period in periods))


def _scope_terms(
    responses: FromClause, scope: Scope, periods: Sequence[Period]
) -> list[ColumnElement[bool]]:
    columns = responses.c
    terms: list[ColumnElement[bool]] = [
        columns.audience == scope.audience,
        _in_periods(columns.submitted_on, periods),
    ]
    for column, code in (
        (columns.service_code, scope.service),
        (columns.channel_code, scope.channel),
        (columns.life_situation_code, scope.life_situation),
    ):
        if code is not None:
            terms.append(column == code)
    return terms


def _score_columns(
    answers: FromClause, condition: ColumnElement[bool] | None = None
) -> list[ColumnElement[int]]:
    """COUNT(*) FILTER per score 1–5, then "cannot rate": one pass, no sort by score."""
    number, option = answers.c.number, answers.c.option_id
    wanted = [number == score for score in SCORES] + [option == CANNOT_RATE]
    if condition is not None:
        wanted = [and_(condition, term) for term in wanted]
    return [func.count().filter(term) for term in wanted]


def _counts(values: Sequence[Any]) -> Counts:
    # COUNT(*) FILTER is never NULL.
    return Counts(list(map(int, values[: len(SCORES)])), int(values[len(SCORES)]))


async def _dialect(session: AsyncSession) -> str:
    return session.get_bind().dialect.name


@asynccontextmanager
async def _snapshot(sessions: async_sessionmaker[AsyncSession]) -> AsyncIterator[AsyncSession]:
    """A read transaction whose queries all see one snapshot, so their figures agree.

    PostgreSQL runs it REPEATABLE READ (one snapshot, not one per statement), with more memory
    for sorts and hashes and no parallel workers. SQLite reads one WAL snapshot per
    transaction anyway; there the connection borrows a larger page cache until it ends.
    """
    async with sessions() as session:
        dialect = await _dialect(session)
        if dialect == "postgresql":
            await session.connection(execution_options={"isolation_level": "REPEATABLE READ"})
            # For this transaction only: the default 4 MB spills the breakdown sorts to disk;
            # and a report already reads in two transactions side by side, so parallel
            # workers on top only contend for the cores the bot needs to answer people.
            await session.execute(text(f"SET LOCAL work_mem = '{POSTGRES_REPORT_WORK_MEM}'"))
            await session.execute(text("SET LOCAL max_parallel_workers_per_gather = 0"))
            yield session
            return
        original = None
        if dialect == "sqlite":
            original = int((await session.execute(text("PRAGMA cache_size"))).scalar_one())
            await session.execute(text(f"PRAGMA cache_size = -{SQLITE_REPORT_CACHE_KIB}"))
        try:
            yield session
        finally:
            if original is not None:
                await session.execute(text(f"PRAGMA cache_size = {original}"))


# --- closed months, read once per process -----------------------------------------------

#: A month is closed once this many days have passed since its last day (UTC): no body's
#: calendar day lags UTC's by more than one, and a response's day is the day it completes
#: (FeedbackService, WindowService), written within seconds. Nothing rewrites a closed month:
#: responses are never deleted (ResponseStore.reshuffle writes them back as they were), poll
#: windows' answers are not calendar answers, and the start-up scoring of old copies leaves
#: the problems' figures as they were (storage.report_scores).
CLOSED_MARGIN: Final = timedelta(days=2)
#: Atoms and problems' option rows of closed months remembered per database, the least
#: recently asked for dropped first past this many: 220–310 bytes each (tracemalloc), 55–78 MB
#: at most. The bench's half-year report against the one before holds 67,604 at 1M answers and
#: 118,235 at 3M (atoms of a year 45,421, options of a half-year 72,814), a whole year's
#: months at 3M some 190,000. Past the bound every report read again the months the one before
#: had just evicted: 100,000 made the problems 31x slower at 3M than at 1M (issue 15).
MEMO_ATOMS: Final = 250_000
#: Reads assembled wholly from remembered months kept (:meth:`_MonthMemo.assembled`), the least
#: recently asked for dropped first: each holds its span's atoms once more (a half-year and the
#: one before at 1M answers, some 100,000 dict entries, ~10 MB) and what was derived from them.
MEMO_ASSEMBLED: Final = 8
#: Results kept per assembled read (:func:`_derive`): folds, plans, rows per scope and period.
DERIVED_RESULTS: Final = 64


def _same_objects(kept: tuple[object, ...], now: tuple[object, ...]) -> bool:
    """The very same objects, one by one (what a kept result was made from)."""
    return len(kept) == len(now) and all(a is b for a, b in zip(kept, now, strict=True))


def _derive(
    holder: dict[Hashable, Any] | None,
    key: Hashable,
    sources: tuple[object, ...],
    make: Callable[[], Result],
) -> Result:
    """``make()`` kept in ``holder`` (the ``derived`` of an input the month memo assembled, whose
    contents never change) under ``key``, served again only for the very same ``sources``
    (plans, folds: the other inputs, compared by identity). Without a holder, just ``make()``."""
    if holder is None:
        return make()
    found = holder.get(key)
    if found is not None and _same_objects(found[0], sources):
        return found[1]  # type: ignore[no-any-return]
    if len(holder) >= DERIVED_RESULTS:
        holder.clear()
    value = make()
    holder[key] = (sources, value)
    return value


def _utc_today() -> date:
    return datetime.now(UTC).date()


class _MonthMemo:
    """What the report read of each closed month, by what it read (audience, questions) and the
    month, with the month's number of responses then: a month whose number changed since (a
    response written late, as tests do) is read again. Months hold no figure finer than the
    atoms the plans are made of; nothing of it is shown without its plan."""

    def __init__(self) -> None:
        self._months: dict[tuple[Hashable, date], tuple[int, Any, int]] = {}
        self._atoms = 0
        #: What a read made wholly of remembered months returned, with those months' values
        #: (see :meth:`assembled`).
        self._assembled: dict[Hashable, tuple[tuple[object, ...], Any]] = {}

    def assembled(
        self, key: Hashable, known: Mapping[date, Any], assemble: Callable[[], Result]
    ) -> Result:
        """What ``assemble`` makes of the remembered months ``known`` (every month read), made
        once while the memo serves the very same month values: a month read again (its number
        of responses changed, or it was dropped) is a new value, and the result is made again.
        The same object is returned each time, so what is derived from it can be kept on it
        (:func:`_derive`); it must not be changed."""
        sources = tuple(known[month] for month in sorted(known))
        found = self._assembled.pop(key, None)
        if found is not None and _same_objects(found[0], sources):
            self._assembled[key] = found  # the most recently used last
            return found[1]  # type: ignore[no-any-return]
        value = assemble()
        self._assembled[key] = (sources, value)
        while len(self._assembled) > MEMO_ASSEMBLED:
            del self._assembled[next(iter(self._assembled))]
        return value

    def remembered(self, key: Hashable, closed: Mapping[date, int]) -> dict[date, Any]:
        """What is remembered for ``key`` of the ``closed`` months (month → its number of
        responses now), each month only while that number is unchanged."""
        known: dict[date, Any] = {}
        for month, responses in closed.items():
            found = self._months.get((key, month))
            if found is not None and found[0] == responses:
                known[month] = found[1]
                # Asked for again: the last to be dropped (the dict keeps insertion order).
                del self._months[key, month]
                self._months[key, month] = found
        return known

    def put(self, key: Hashable, month: date, responses: int, value: Any, size: int) -> None:
        old = self._months.pop((key, month), None)
        if old is not None:
            self._atoms -= old[2]
        self._months[key, month] = (responses, value, size)
        self._atoms += size
        while self._atoms > MEMO_ATOMS and self._months:
            oldest = next(iter(self._months))  # the least recently put or remembered
            self._atoms -= self._months.pop(oldest)[2]


_memos: weakref.WeakKeyDictionary[object, _MonthMemo] = weakref.WeakKeyDictionary()


def clear_month_memo() -> None:
    """Forget the closed months read (benchmarks time the reading itself)."""
    _memos.clear()


def _memo_of_engine(sessions: async_sessionmaker[AsyncSession]) -> list[tuple[Hashable, date]]:
    """The (what, month) pairs remembered for ``sessions``' database (tests)."""
    bind = sessions.kw.get("bind")
    memo = _memos.get(getattr(bind, "sync_engine", bind))
    return [] if memo is None else list(memo._months)


def _memo_of(session: AsyncSession) -> _MonthMemo:
    engine = session.get_bind()
    engine = getattr(engine, "engine", engine)
    memo = _memos.get(engine)
    if memo is None:
        memo = _memos[engine] = _MonthMemo()
    return memo


async def _closed_months(
    session: AsyncSession, audience: str, span: Period, grain: Grain
) -> dict[date, int]:
    """The closed months lying wholly inside ``span`` (only for reports by month), each with its
    number of responses of ``audience``: one range of the responses' days index."""
    if grain != "month":
        return {}
    last = _utc_today() - CLOSED_MARGIN
    months: list[date] = []
    month = month_of(span.start)
    while month.end <= min(span.end, last):
        if month.start >= span.start:
            months.append(month.start)
        month = month_of(month.end + timedelta(days=1))
    if not months:
        return {}
    r = _table(Response, "r", DAYS_INDEX)
    found = dict.fromkeys(months, 0)
    statement = (
        select(r.c.submitted_on, func.count())
        .where(
            r.c.audience == audience,
            r.c.submitted_on.between(months[0], month_of(months[-1]).end),
        )
        .group_by(r.c.submitted_on)
    )
    for day, count in (await session.execute(statement)).all():
        found[month_of(_day(day)).start] += count
    return found


def _rest_of(span: Period, months: Collection[date]) -> list[Period]:
    """``span`` without the (whole) ``months``, as consecutive periods."""
    rest: list[Period] = []
    start = span.start
    for month in sorted(months):
        if start < month:
            rest.append(Period(start, month - timedelta(days=1)))
        start = month_of(month).end + timedelta(days=1)
    if start <= span.end:
        rest.append(Period(start, span.end))
    return rest


# --- atoms: the overall score per day and cell -----------------------------------------


@dataclass(slots=True)
class _Atoms:
    """Overall-question counts per (day, cell) of one audience and period: every group of a
    report is a sum of these, and the disclosure plan is built on them."""

    counts: dict[Atom, Counts] = field(default_factory=dict)
    problem_base: dict[Atom, int] = field(default_factory=dict)  # could name a problem
    #: What was derived from these atoms (:func:`_derive`), only when the month memo assembled
    #: them (they never change then); None for atoms just read.
    derived: dict[Hashable, Any] | None = field(default=None, compare=False, repr=False)

    def sizes(self) -> dict[Atom, int]:
        return {atom: counts.n for atom, counts in self.counts.items()}

    def within(self, period: Period) -> _Atoms:
        def inside(atom: Atom) -> bool:
            return period.start <= atom[0] <= period.end

        return _Atoms(
            {a: c for a, c in self.counts.items() if inside(a)},
            {a: b for a, b in self.problem_base.items() if inside(a)},
        )


_NONE: Final = [0] * len(SCORES)
#: The breakdowns of the atoms' cells, in the order of the cell's keys.
_DIMENSIONS: Final = (
    Dimension.SERVICE,
    Dimension.CHANNEL,
    Dimension.LIFE_SITUATION,
    Dimension.FRONT,
)


def _day(value: object) -> date:
    return value if isinstance(value, date) else date.fromisoformat(str(value))


Grain = Literal["day", "segment", "month"]


def grain_of(periods: Sequence[Period], weekly: bool) -> Grain:
    """The coarsest day grouping that still keeps every unit of the plan and every period
    whole: the month (no weekly figures) or the week piece, when the periods are made of them;
    else single days. Coarser rows are far fewer to read and fold (a year: 12, not 365)."""

    def aligned(unit: Callable[[date], Period]) -> bool:
        return all(unit(p.start).start == p.start and unit(p.end).end == p.end for p in periods)

    if not weekly and aligned(month_of):
        return "month"
    if aligned(segment_of):
        return "segment"
    return "day"


def _atom_day(value: object, span: Period) -> date:
    """The atom's date: its grain's first day, never before the span read."""
    return max(_day(value), span.start)


def _starts(copies: FromClause, grain: Grain) -> tuple[ColumnElement[date], ...]:
    """The day columns of the reports' copy to group by for ``grain``, coarsest first: each
    nests in the one before, so together they follow the index order (no sort) and the last
    one names the group."""
    columns = (copies.c.month_on, copies.c.segment_on, copies.c.submitted_on)
    return columns[: {"month": 1, "segment": 2, "day": 3}[grain]]


def _days(span: Period) -> Callable[[object], date]:
    """:func:`_atom_day` for many rows: a report's rows share a few hundred days at most."""
    seen: dict[object, date] = {}

    def day(value: object) -> date:
        found = seen.get(value)
        if found is None:
            found = seen[value] = _atom_day(value, span)
        return found

    return day


async def _atoms(
    session: AsyncSession,
    roles: QuestionnaireRoles,
    audience: str,
    span: Period,
    grain: Grain = "day",
) -> _Atoms:
    """One query over the whole audience (never only the scope: the plan is joint): one range
    of the copy's breakdown index, read in GROUP BY order."""
    [atoms] = await _atoms_of(session, roles, audience, span, grain, [span])
    return atoms


async def _atoms_of(
    session: AsyncSession,
    roles: QuestionnaireRoles,
    audience: str,
    span: Period,
    grain: Grain,
    periods: Sequence[Period],
) -> list[_Atoms]:
    """:func:`_atoms` of ``span``, each atom put in the first of ``periods`` it lies in (as
    :meth:`_Atoms.within` of each, without copying tens of thousands of atoms twice)."""
    found = [_Atoms() for _ in periods]
    overall = _audience_questionnaires(roles, roles.overall, audience)
    if not overall:
        return found
    # Prevalence counts respondents who could name a problem: their questionnaire asks one.
    with_problems = [q for q in overall if q in roles.problems]
    c = _table(ReportAnswer, "c", COPY_GROUPS_INDEX)
    base: ColumnElement[int] = literal(0)
    if with_problems:
        base = func.count().filter(c.c.questionnaire_id.in_(with_problems))
    # The front is the cell's last key: a front with few answers is a small group like a
    # channel with few, and passes the same plan (docs/anonymity.md).
    dimensions = (c.c.service_code, c.c.channel_code, c.c.life_situation_code, c.c.front)
    starts = _starts(c, grain)
    closed = await _closed_months(session, audience, span, grain)
    memo = _memo_of(session)
    key = ("atoms", audience, tuple(sorted(overall.items())), tuple(sorted(with_problems)))
    known: dict[date, tuple[dict[Atom, Counts], dict[Atom, int]]] = memo.remembered(key, closed)
    rest = _rest_of(span, known)

    def put(
        found: list[_Atoms], read: Mapping[date, tuple[dict[Atom, Counts], dict[Atom, int]]]
    ) -> list[_Atoms]:
        for when, (counts, bases) in read.items():
            # In the first of ``periods`` it lies in (None: in none of them).
            owner = next(
                (
                    atoms
                    for atoms, period in zip(found, periods, strict=True)
                    if period.start <= when <= period.end
                ),
                None,
            )
            if owner is not None:
                owner.counts.update(counts)
                owner.problem_base.update(bases)
        return found

    def assemble() -> list[_Atoms]:
        return put([_Atoms(derived={}) for _ in periods], known)

    if not rest:
        # Every month remembered: the same atoms as last time while the memo serves the same
        # months, and with them what the report derived from them (folds, plans, rows).
        return memo.assembled(("atoms", key, span, tuple(periods)), known, assemble)
    # The atoms read, by their day (or month): each day's are put in its period's at the end.
    read: dict[date, tuple[dict[Atom, Counts], dict[Atom, int]]] = {}
    statement = (
        select(*dimensions, starts[-1], *_score_columns(c), base)
        .where(
            c.c.audience == audience,
            _answer_of(c, c, overall),
            _in_periods(c.c.submitted_on, rest),
            c.c.questionnaire_id.in_(overall),
            _calendar(c),
        )
        .group_by(*dimensions, *starts)
    )
    width = len(SCORES) + 1
    day = _days(span)
    cells: dict[Cell, Cell] = {}  # one tuple per cell, shared by its atoms
    for row in (await session.execute(statement)).all():
        by_score = list(row[5 : 5 + len(SCORES)])  # COUNT(*) FILTER: ints, never NULL
        cannot_rate = row[4 + width]
        if by_score == _NONE and not cannot_rate:
            continue
        when = day(row[4])
        bucket = read.get(when)
        if bucket is None:
            bucket = read[when] = ({}, {})
        cell = (row[0], row[1], row[2], row[3])
        atom: Atom = (when, cells.setdefault(cell, cell))
        bucket[0][atom] = Counts(by_score, cannot_rate)
        bucket[1][atom] = row[5 + width]
    remembered = dict(known)
    for month, responses in closed.items():
        if month not in known:
            value = remembered[month] = read.get(month) or ({}, {})
            memo.put(key, month, responses, value, len(value[0]))
    if not _rest_of(span, remembered):
        # Every month closed, now all remembered: assembled as the next report will find
        # them, so that what this one derives is kept for it.
        known = remembered
        return memo.assembled(("atoms", key, span, tuple(periods)), known, assemble)
    return put(put(found, read), known)


def _scope_test(scope: Scope, within: Period | None = None) -> Callable[[Atom], bool]:
    return in_scope(scope.service, scope.channel, scope.life_situation, within)


def _whole_audience(scope: Scope) -> bool:
    """The scope is every cell of its audience (no service, channel or life situation)."""
    return scope.service is None and scope.channel is None and scope.life_situation is None


@dataclass(slots=True)
class _CellSum:
    """One cell's counted atoms in one period under one plan: their counts, the block of
    each (None: in no block, residue, which hides every group it is in), and how many could
    name a problem."""

    counts: list[Counts] = field(default_factory=list)
    blocks: list[int | None] = field(default_factory=list)
    base: int = 0
    #: The counts summed: scores 1–5, then "cannot rate" (set once the fold is done).
    total: tuple[int, ...] = ()


@dataclass(slots=True)
class _Fold:
    """A period's atoms of one scope folded by cell under the period's plan, in one pass: every
    group of the report (the scope, a service, a channel, ...) is a union of cells, so its
    figures and whether it is whole blocks are summed from the cells (issue 15): the same
    figures as summing the group's counted atoms and asking :meth:`Plan.publishable` of them
    (tests/reports/test_fold.py)."""

    plan: Plan
    cells: dict[Cell, _CellSum]
    dropped: bool = False  # one of the scope's atoms is dropped by the plan (the web apart)

    def score(self, cells: Iterable[_CellSum], min_group: int) -> Score:
        chosen = list(cells)
        # Column sums and the atoms of each block in C (collections.Counter): a dimension's
        # keys together hold every cell, so each cell is read once per dimension.
        total = [sum(column) for column in zip(*(cell.total for cell in chosen), strict=True)] or [
            0
        ] * (len(SCORES) + 1)
        seen = Counter(chain.from_iterable(cell.blocks for cell in chosen))
        sizes = self.plan.blocks
        whole = None not in seen and all(
            len(sizes[index]) == n for index, n in seen.items() if index is not None
        )
        counts = Counts(total[: len(SCORES)], total[len(SCORES)])
        return score_of(counts, min_group, hidden=not whole)

    def overall(self, min_group: int) -> Score:
        return self.score(self.cells.values(), min_group)

    def by(self, position: int) -> dict[str | None, list[_CellSum]]:
        """The cells of each key of one of the cell's dimensions."""
        found: dict[str | None, list[_CellSum]] = {}
        for cell, summed in self.cells.items():
            found.setdefault(cell[position], []).append(summed)
        return found


def _fold(
    atoms: _Atoms, main: Plan, where: Callable[[Atom], bool] | None, *, base: bool = False
) -> _Fold:
    """The atoms passing ``where`` (all with None) folded by cell under ``main``: dropped atoms
    count nowhere (:meth:`Plan.counted`), the others add their counts and their block."""
    block_of = main.block_of
    dropped = main.dropped
    problem_base = atoms.problem_base
    cells: dict[Cell, _CellSum] = {}
    any_dropped = False
    for atom, counts in atoms.counts.items():
        if where is not None and not where(atom):
            continue
        summed = cells.get(atom[1])
        if summed is None:
            summed = cells[atom[1]] = _CellSum()
        index = block_of.get(atom)
        if index is None and atom in dropped:
            # Counted in no figure; its cell still names a row of the breakdowns (hidden).
            any_dropped = True
            continue
        summed.counts.append(counts)
        summed.blocks.append(index)
        if base:
            summed.base += problem_base.get(atom, 0)
    width = len(SCORES) + 1
    for summed in cells.values():
        if summed.counts:
            by_score = [sum(column) for column in zip(*map(_BY_SCORE, summed.counts), strict=True)]
            summed.total = (*by_score, sum(map(_CANNOT_RATE, summed.counts)))
        else:
            summed.total = (0,) * width
    return _Fold(main, cells, any_dropped)


def _group_rows(now: _Fold, before: _Fold, titles: Titles, min_group: int) -> tuple[GroupRow, ...]:
    """A row per key of each dimension among the scope's atoms of either period."""
    rows: list[GroupRow] = []
    for position, dimension in enumerate(_DIMENSIONS):
        current, previous = now.by(position), before.by(position)
        for key in sorted(current.keys() | previous.keys(), key=_order):
            rows.append(
                GroupRow(
                    dimension=dimension,
                    key=key,
                    title=titles(dimension, key),
                    current=now.score(current.get(key, ()), min_group),
                    previous=before.score(previous.get(key, ()), min_group),
                )
            )
    return tuple(rows)


# --- problems, NPS, comments --------------------------------------------------------------


class _Named(NamedTuple):
    """How often one problem option was named in one atom, and the overall scores of those
    naming it (a tuple: a report reads tens of thousands, and a frozen dataclass's
    ``__init__`` cost several times a tuple's, issue 15)."""

    question_id: str
    option_id: str
    atom: Atom
    respondents: int
    scored: int  # of them, with a score 1–5
    score_sum: int
    negative: int = 0  # of them, with a score at or below the alert threshold


class _RememberedNamed(list[_Named]):
    """:func:`_problems` assembled wholly from remembered months (:meth:`_MonthMemo.assembled`):
    never changed, with what was derived from it (:func:`_derive`)."""

    __slots__ = ("derived",)

    def __init__(self, items: Iterable[_Named]) -> None:
        super().__init__(items)
        self.derived: dict[Hashable, Any] = {}


def _problem_questions(roles: QuestionnaireRoles, scope: Scope) -> dict[str, str]:
    overall = _audience_questionnaires(roles, roles.overall, scope.audience)
    return {q: roles.problems[q] for q in overall if q in roles.problems}


async def _problems(
    session: AsyncSession,
    roles: QuestionnaireRoles,
    audience: str,
    period: Period,
    negative_at_most: int = 0,
    grain: Grain = "day",
) -> list[_Named]:
    """Each problem option per atom of the audience: who named it and their overall scores."""
    scope = Scope(audience=audience)
    overall = _audience_questionnaires(roles, roles.overall, audience)
    problems = _problem_questions(roles, scope)
    if not problems:
        return []
    p = _table(ReportAnswer, "p", COPY_OPTIONS_INDEX)
    starts = _starts(p, grain)
    # The front in the cell keeps the GROUP BY in the options index's order (revision 0022).
    cell = (p.c.service_code, p.c.channel_code, p.c.life_situation_code, p.c.front)
    if await any_unscored(session):
        # Copies from before revision 0031 not yet scored (storage.report_scores): the overall
        # answer of each naming response is looked up in ``answers``.
        o = _table(Answer, "o", ANSWERS_INDEX)
        number: ColumnElement[int | None] = o.c.number
        source: FromClause = _then(
            p, o, and_(o.c.response_id == p.c.response_id, _answer_of(p, o, overall))
        )
        answered: ColumnElement[bool] | None = None
    else:
        # The response's overall score on the option's own row: one range of the options
        # index. NULL: the overall question was not answered (as no row joined above).
        number = p.c.overall_score
        source = p
        answered = number.is_not(None)
    scored = number.between(SCORES[0], SCORES[-1])
    closed = await _closed_months(session, audience, period, grain)
    memo = _memo_of(session)
    # The overall mapping too: the unscored path above reads the overall answers by it.
    key = (
        "problems",
        audience,
        tuple(sorted(problems.items())),
        tuple(sorted(overall.items())),
        negative_at_most,
    )
    known: dict[date, list[_Named]] = memo.remembered(key, closed)
    rest = _rest_of(period, known)

    def assemble() -> _RememberedNamed:
        return _RememberedNamed(chain.from_iterable(known[month] for month in sorted(known)))

    if not rest:
        return memo.assembled((key, period), known, assemble)
    statement = (
        select(
            p.c.question_id,
            p.c.option_id,
            starts[-1],
            *cell,
            func.count(),
            func.count().filter(scored),
            func.sum(number).filter(scored),
            func.count().filter(number.between(SCORES[0], negative_at_most)),
        )
        .select_from(source)
        .where(
            p.c.audience == audience,
            _answer_of(p, p, problems),
            _in_periods(p.c.submitted_on, rest),
            p.c.questionnaire_id.in_(problems),
            p.c.option_id.is_not(None),
            _calendar(p),
            *([answered] if answered is not None else []),
        )
        .group_by(p.c.question_id, p.c.option_id, *cell, *starts)
    )
    day = _days(period)
    cells: dict[Cell, Cell] = {}  # one tuple per cell, shared by its atoms
    named = []
    for row in (await session.execute(statement)).all():
        where = (row[3], row[4], row[5], row[6])
        named.append(
            _Named(
                row[0],
                row[1],
                (day(row[2]), cells.setdefault(where, where)),
                row[7],  # COUNT: an int, never NULL
                row[8],
                row[9] or 0,  # SUM: NULL when no one scored
                row[10],
            )
        )
    if closed:
        by_month: dict[date, list[_Named]] = {month: [] for month in closed if month not in known}
        for item in named:
            found = by_month.get(item.atom[0])
            if found is not None:
                found.append(item)
        remembered = dict(known)
        for month, items in by_month.items():
            memo.put(key, month, closed[month], items, len(items))
            remembered[month] = items
        if not _rest_of(period, remembered):
            # Every month closed, now all remembered: assembled as the next report finds them.
            known = remembered
            return memo.assembled((key, period), known, assemble)
    return named + list(chain.from_iterable(known.values()))


def _problem_rows(
    named: Sequence[_Named],
    roles: QuestionnaireRoles,
    scope: Scope,
    period: Period,
    base: int,
    min_group: int,
    weekly: bool = False,
    plans: dict[tuple[str, str], Plan] | None = None,
) -> tuple[ProblemRow, ...]:
    """Prevalence, mean and priority of each option of the scope.

    Each option has a disclosure plan of its own over the atoms where it was named: its figures
    show only when the scope is a union of that plan's blocks (at least ``min_group`` naming
    it in each), so no subtraction of two views isolates fewer people naming it. The plan does
    not depend on the scope: ``plans`` keeps them for the next scope of the same period.
    """
    if base <= 0:
        return ()
    problems = _problem_questions(roles, scope)
    option_titles = {
        (question, option): title
        for (questionnaire, question, option), title in roles.option_titles.items()
        if problems.get(questionnaire) == question
    }
    by_option: dict[tuple[str, str], dict[Atom, _Named]] = {}
    for item in named:
        by_option.setdefault((item.question_id, item.option_id), {})[item.atom] = item
    where = None if _whole_audience(scope) else _scope_test(scope)
    rows: list[ProblemRow] = []
    for (question, option), atoms in by_option.items():
        found = list(atoms.values())
        members = found if where is None else [item for item in found if where(item.atom)]
        if not members:
            continue
        title = option_titles.get((question, option), option)
        option_plan = (plans or {}).get((question, option)) or plan(
            period, {item.atom: item.respondents for item in found}, min_group, weekly=weekly
        )
        if plans is not None:
            plans[question, option] = option_plan
        # One pass over the scope's atoms: the counted ones' sums and blocks (Plan.counted,
        # Plan.publishable), each atom looked up once (issue 15).
        block_of, dropped = option_plan.block_of, option_plan.dropped
        seen: dict[int, int] = {}
        whole = True
        counted = respondents = scored = score_sum = 0
        for item in members:
            index = block_of.get(item.atom)
            if index is None:
                if item.atom in dropped:
                    continue
                whole = False
            else:
                seen[index] = seen.get(index, 0) + 1
            counted += 1
            respondents += item.respondents
            scored += item.scored
            score_sum += item.score_sum
        if not counted:
            continue  # named only by the web's dropped atoms: not even a hidden row
        sizes = option_plan.blocks
        whole = whole and all(len(sizes[index]) == n for index, n in seen.items())
        if respondents < max(min_group, 1) or not whole:
            rows.append(ProblemRow(question, option, title, 0, 0.0, None, None, True))
            continue
        prevalence = respondents / base
        mean = score_sum / scored if scored else None
        priority = prevalence * (5 - mean) if mean is not None else None
        rows.append(
            ProblemRow(
                question_id=question,
                option_id=option,
                title=title,
                respondents=respondents,
                prevalence=prevalence,
                mean_overall=mean,
                priority=priority,
            )
        )
    return tuple(sorted(rows, key=problem_order))


def problem_order(row: ProblemRow) -> tuple[bool, bool, float, float, str]:
    """Highest priority first, then the most widespread; suppressed rows last."""
    return (
        row.suppressed,
        row.priority is None,
        -(row.priority or 0.0),
        -row.prevalence,
        row.title,
    )


async def _nps(
    session: AsyncSession,
    roles: QuestionnaireRoles,
    scope: Scope,
    period: Period,
    min_group: int,
    weekly: bool = False,
    grain: Grain = "day",
) -> Nps | None:
    """NPS of the scope, from a plan of its own over the atoms of everyone who answered it."""
    questions = _audience_questionnaires(roles, roles.nps, scope.audience)
    if not questions:
        return None
    c = _table(ReportAnswer, "c", COPY_GROUPS_INDEX)
    number = c.c.number
    starts = _starts(c, grain)
    cell = (c.c.service_code, c.c.channel_code, c.c.life_situation_code, c.c.front)
    statement = (
        select(
            starts[-1],
            *cell,
            func.count().filter(number >= NPS_PROMOTERS[0]),
            func.count().filter(number.between(NPS_DETRACTORS_BELOW, NPS_PROMOTERS[0] - 1)),
            func.count().filter(number < NPS_DETRACTORS_BELOW),
        )
        .where(
            c.c.audience == scope.audience,
            _answer_of(c, c, questions),
            c.c.submitted_on.between(period.start, period.end),
            c.c.questionnaire_id.in_(questions),
            number.is_not(None),
            _calendar(c),
        )
        .group_by(*cell, *starts)
    )
    counts: dict[Atom, tuple[int, int, int]] = {}
    day = _days(period)
    for row in (await session.execute(statement)).all():
        atom = (day(row[0]), (row[1], row[2], row[3], row[4]))
        counts[atom] = (int(row[5]), int(row[6]), int(row[7]))
    nps_plan = plan(period, {atom: sum(c) for atom, c in counts.items()}, min_group, weekly=weekly)
    where = _scope_test(scope)
    members = nps_plan.counted(atom for atom in counts if where(atom))
    promoters, passives, detractors = (sum(counts[atom][i] for atom in members) for i in range(3))
    n = promoters + passives + detractors
    if n < max(min_group, 1) or not nps_plan.publishable(members):
        return Nps(n=0, suppressed=True)
    return Nps(n, promoters, passives, detractors)


def _comment_questions(roles: QuestionnaireRoles, scope: Scope) -> dict[str, tuple[str, ...]]:
    # Only questionnaires whose respondents are counted in the atoms the plan protects.
    comments = _audience_questionnaires(roles, roles.comments, scope.audience)
    return {q: ids for q, ids in comments.items() if q in roles.overall}


async def _comments(
    session: AsyncSession,
    roles: QuestionnaireRoles,
    scope: Scope,
    period: Period,
    limit: int,
    *,
    negative_at_most: int | None = None,
    web: bool = True,
) -> tuple[str, ...]:
    """The newest ``limit`` comment texts of the scope and period (of respondents scoring at
    most ``negative_at_most``, if given), contact details masked, in alphabetical order: the
    order they came in would say who wrote which."""
    questions = _comment_questions(roles, scope)
    if not questions or limit <= 0:
        return ()
    # A branch per questionnaire, each reading its responses backwards by day and stopping at
    # ``limit``: exact about which question belongs to which questionnaire, and well estimated.
    branches = []
    for questionnaire, ids in questions.items():
        r = _table(Response, "r", DAYS_INDEX)
        a = _table(Answer, "a", ANSWERS_INDEX)
        # Answers to a poll window reach officers with the window's results; here they would
        # meet them and narrow a comment down to the window's part of a group.
        terms = [
            *_scope_terms(r, scope, [period]),
            r.c.questionnaire_id == questionnaire,
            r.c.window_id.is_(None),
        ]
        if not web:
            terms.append(r.c.front != Front.WEB)
        if negative_at_most is not None:
            overall = Answer.__table__.alias("o")
            terms.append(
                r.c.id.in_(
                    select(overall.c.response_id).where(
                        overall.c.question_id == roles.overall[questionnaire],
                        overall.c.number.between(SCORES[0], negative_at_most),
                    )
                )
            )
        newest = (
            select(a.c.text, r.c.submitted_on.label("day"), a.c.id.label("answer"))
            .select_from(_then(r, a, and_(a.c.response_id == r.c.id, a.c.question_id.in_(ids))))
            .where(*terms)
            # The answer id only breaks ties within a day; it is never shown.
            .order_by(r.c.submitted_on.desc(), a.c.id.desc())
            .limit(limit)
            .subquery()
        )
        branches.append(select(newest.c.text, newest.c.day, newest.c.answer))
    merged = union_all(*branches).subquery()
    statement = (
        select(merged.c.text).order_by(merged.c.day.desc(), merged.c.answer.desc()).limit(limit)
    )
    # Empty texts are filtered here, not in SQL: a text condition there makes PostgreSQL
    # misjudge how many answers match and read them all instead of the newest responses.
    texts = (await session.execute(statement)).scalars()
    masked = (mask_contacts(str(value), language=roles.language) for value in texts if value)
    return tuple(sorted(masked, key=str.casefold))


# --- the report ---------------------------------------------------------------------------


async def build_report(
    sessions: async_sessionmaker[AsyncSession],
    *,
    roles: QuestionnaireRoles,
    titles: Titles,
    period: Period,
    scope: Scope,
    min_group: int = DEFAULT_MIN_GROUP,
    min_comment_group: int = DEFAULT_MIN_GROUP,
    title: str = "",
    previous: Period | None = None,
    max_comments: int = DEFAULT_MAX_COMMENTS,
    weekly: bool = False,
) -> Report:
    """The officer's report for ``scope`` over ``period``, against ``previous`` (by default
    the equal period right before); see :func:`report_and_trend` for the figures."""
    report, _ = await report_and_trend(
        sessions,
        roles=roles,
        titles=titles,
        period=period,
        scope=scope,
        min_group=min_group,
        min_comment_group=min_comment_group,
        title=title,
        previous=previous,
        max_comments=max_comments,
        weekly=weekly,
    )
    return report


async def report_and_trend(
    sessions: async_sessionmaker[AsyncSession],
    *,
    roles: QuestionnaireRoles,
    titles: Titles,
    period: Period,
    scope: Scope,
    min_group: int = DEFAULT_MIN_GROUP,
    min_comment_group: int = DEFAULT_MIN_GROUP,
    title: str = "",
    previous: Period | None = None,
    max_comments: int = DEFAULT_MAX_COMMENTS,
    weekly: bool = False,
    bucket: Literal["week", "month"] | None = None,
) -> tuple[Report, list[TrendPoint]]:
    """The officer's report for ``scope`` over ``period``, against ``previous`` (by default
    the equal period right before), and with a ``bucket`` its trend (:func:`csat_trend`,
    the same points): folded from the atoms the report read when they are the trend's, so
    the delivered ``/report`` reads the period's answers once.

    The atoms query runs in one transaction, problems, NPS and drop-off in another beside it,
    comments in a third once the group is known to be large enough.

    Figures (domain brief, "Metrics"):

    - n = respondents who gave the overall question a score 1–5; "cannot rate" is counted apart;
      CSAT % = scores 4–5 / n; mean = Σ score / n. Overall questions of all questionnaires of
      the audience are pooled: they are the same 1–5 question everywhere.
    - Anonymity (reports.disclosure): the atoms (day × cell) of the whole audience in the
      period are partitioned into blocks of at least ``min_group``; a group (the scope, a
      service, a channel, a life situation) shows figures only when it is a union of blocks,
      else it is suppressed (n=0, no figures). The plan is the same whatever the scope, so the
      reports of all services and of one service agree, and so do periods that contain others.
    - Problems (current period, only when the scope itself is shown): respondents = responses
      naming the option that also answered the overall question; prevalence = respondents /
      *base*, where base = responses in the scope and period that answered the overall question
      (score or "cannot rate") and whose questionnaire asks the problems question; mean overall
      = mean score 1–5 of those naming it; priority = prevalence × (5 − mean). Each option has
      its own plan over the people naming it.
    - NPS (if a questionnaire of the audience has one) = % 9–10 − % 0–6, with its own plan.
    - Comments: the newest ``max_comments`` texts of comment questions, contact details masked,
      only when the scope is a union of blocks of at least ``min_comment_group``.
    """
    previous = period.previous() if previous is None else previous
    if previous.start <= period.end and period.start <= previous.end:
        raise ValueError(f"the comparison period {previous} overlaps the period {period}")
    span = Period(min(period.start, previous.start), max(period.end, previous.end))
    grain = grain_of([period, previous], weekly)

    async def atoms_of(session: AsyncSession) -> list[_Atoms]:
        return await _atoms_of(session, roles, scope.audience, span, grain, [period, previous])

    async def sections_of(session: AsyncSession) -> _Sections:
        return _Sections(
            await _problems(session, roles, scope.audience, period, grain=grain),
            await _nps(session, roles, scope, period, min_group, weekly, grain),
            await protected_drop_off(
                session, period, scope, roles, min_group=min_group, weekly=weekly
            ),
        )

    # Two transactions side by side: with a pool of two connections SQLite reads on both CPU
    # cores (a pool of one simply runs them in turn, releasing the connection in between).
    async with asyncio.TaskGroup() as group:
        atoms_task = group.create_task(_read(sessions, atoms_of))
        sections_task = group.create_task(_read(sessions, sections_of))
    (now, before), sections = atoms_task.result(), sections_task.result()
    # Atoms the month memo assembled never change: what is derived from them is kept on them
    # (_derive), keyed by everything else it depends on, so a warm report of closed months
    # folds nothing again (issue 15). Atoms just read have no ``derived``: all is computed.
    pooled = web_pooled()  # the plans depend on it (reports.disclosure.plan)

    def plan_of(atoms: _Atoms, when: Period) -> Plan:
        return _derive(
            atoms.derived,
            ("plan", when, min_group, weekly, pooled),
            (),
            lambda: plan(when, atoms.sizes(), min_group, weekly=weekly, pool_web=pooled),
        )

    main_now, main_before = plan_of(now, period), plan_of(before, previous)
    where = _scope_test(scope)
    # Every group of the report is a union of the scope's cells: each period's atoms are
    # folded by cell once, and the groups are summed from the cells.
    only = None if _whole_audience(scope) else where
    cells_of = None if only is None else (scope.service, scope.channel, scope.life_situation)
    folded_now = _derive(
        now.derived,
        ("fold", cells_of, min_group, True),
        (main_now,),
        lambda: _fold(now, main_now, only, base=True),
    )
    folded_before = _derive(
        before.derived,
        ("fold", cells_of, min_group, False),
        (main_before,),
        lambda: _fold(before, main_before, only),
    )
    overall = _derive(
        now.derived, ("overall", min_group), (folded_now,), lambda: folded_now.overall(min_group)
    )
    comments: tuple[str, ...] = ()
    if min_comment_group <= min_group:
        # The comments' plan is the figures': the scope is whole blocks if its score shows.
        comments_suppressed = overall.suppressed or overall.n < min_comment_group
        # Without the web's comments when some of its answers in the scope were dropped.
        web = not folded_now.dropped
    else:
        comment_plan = plan(period, now.sizes(), min_comment_group, weekly=weekly)
        scoped = [atom for atom in now.counts if where(atom)]
        comments_suppressed = (
            overall.suppressed
            or overall.n < min_comment_group
            or not comment_plan.publishable(comment_plan.counted(scoped))
        )
        web = not folded_now.dropped and not _drops_any(scoped, comment_plan)
    if not comments_suppressed:
        # Read only once the group is known to be large enough for them.
        comments = await _read(
            sessions,
            lambda session: _comments(session, roles, scope, period, max_comments, web=web),
        )
    problems: tuple[ProblemRow, ...] = ()
    if not overall.suppressed:
        base = sum(cell.base for cell in folded_now.cells.values())
        named = sections.named
        problems = _derive(
            named.derived if isinstance(named, _RememberedNamed) else None,
            ("problems", scope, period, base, min_group, weekly, pooled),
            (roles,),
            lambda: _problem_rows(named, roles, scope, period, base, min_group, weekly),
        )
    report = Report(
        title=title,
        period=period,
        scope=scope,
        overall=overall,
        overall_previous=_derive(
            before.derived,
            ("overall", min_group),
            (folded_before,),
            lambda: folded_before.overall(min_group),
        ),
        groups=_derive(
            now.derived,
            ("groups", cells_of, titles, min_group),
            (folded_now, folded_before),
            lambda: _group_rows(folded_now, folded_before, titles, min_group),
        ),
        problems=problems,
        nps=sections.nps,
        drop_off=sections.drop_off,
        comments=comments,
        comments_suppressed=comments_suppressed,
        min_group=min_group,
        compared_with=previous,
        comments_web=web,
    )
    if bucket is None:
        return report, []
    if _trend_grain(period, bucket, weekly) != grain:
        # The comparison made the report read finer atoms: the trend reads its own.
        trend = await csat_trend(
            sessions,
            roles=roles,
            period=period,
            scope=scope,
            bucket=bucket,
            min_group=min_group,
            weekly=weekly,
        )
        return report, trend
    trend = _derive(
        now.derived,
        ("trend", cells_of, bucket, min_group),
        (main_now,),
        lambda: _trend_points(now, main_now, scope, bucket, min_group),
    )
    return report, list(trend)


def _drops_any(atoms: Iterable[Atom], *plans: Plan) -> bool:
    """True when one of ``atoms`` is dropped by one of ``plans`` (the web kept apart): its
    texts and rows must then stay out with its figures."""
    return any(atom in found.dropped for found in plans for atom in atoms)


@dataclass(frozen=True, slots=True)
class _Sections:
    """What the report reads besides the breakdown cube."""

    named: list[_Named]
    nps: Nps | None
    drop_off: DropOff | None


async def _read(
    sessions: async_sessionmaker[AsyncSession],
    work: Callable[[AsyncSession], Awaitable[Result]],
) -> Result:
    async with _snapshot(sessions) as session:
        return await work(session)


# --- strongly negative ratings in batches ------------------------------------------------


async def negative_batch(
    sessions: async_sessionmaker[AsyncSession],
    *,
    roles: QuestionnaireRoles,
    period: Period,
    scope: Scope,
    threshold: int,
    titles: Titles,
    min_group: int = DEFAULT_MIN_GROUP,
    min_comment_group: int = DEFAULT_MIN_GROUP,
    max_comments: int = 20,
    weekly: bool = False,
) -> list[NegativeGroup]:
    """Per service of the scope, how many scored at or below ``threshold`` in ``period``.

    A service is listed only when it is a union of blocks of the period's plan and at least
    ``min_group`` of its respondents were that negative; a problem only when the service is a
    union of blocks of that option's plan and ``min_group`` negative respondents named it;
    comments (masked) only when the negative ones are at least ``min_comment_group`` and that
    threshold is the figures' one (else rows elsewhere could narrow them down).
    """
    async with _snapshot(sessions) as session:
        grain = grain_of([period], weekly)
        atoms = await _atoms(session, roles, scope.audience, period, grain)
        named = await _problems(session, roles, scope.audience, period, threshold, grain)
    main = plan(period, atoms.sizes(), min_group, weekly=weekly)
    where = _scope_test(scope)
    services = sorted({atom[1][0] for atom in atoms.counts if where(atom)}, key=_order)
    by_option: dict[tuple[str, str], dict[Atom, _Named]] = {}
    for item in named:
        by_option.setdefault((item.question_id, item.option_id), {})[item.atom] = item
    option_plans = {
        key: plan(
            period, {a: item.respondents for a, item in found.items()}, min_group, weekly=weekly
        )
        for key, found in by_option.items()
    }
    option_titles = {
        (question, option): title for (_, question, option), title in roles.option_titles.items()
    }
    groups: list[NegativeGroup] = []
    by_service: dict[str | None, list[Atom]] = {}
    for atom in atoms.counts:
        if where(atom):
            by_service.setdefault(atom[1][0], []).append(atom)
    for service in services:
        members = main.counted(by_service[service])
        if not members or not main.publishable(members):
            continue
        negatives = sum(sum(atoms.counts[atom].by_score[:threshold]) for atom in members)
        if negatives < max(min_group, 1):
            continue
        problems: list[tuple[str, int]] = []
        for key, found in sorted(by_option.items()):
            mine = option_plans[key].counted(
                atom for atom in found if where(atom) and atom[1][0] == service
            )
            count = sum(found[atom].negative for atom in mine)
            if mine and count >= min_group and option_plans[key].publishable(mine):
                problems.append((option_titles.get(key, key[1]), count))
        comments: tuple[str, ...] = ()
        if min_comment_group <= min_group and negatives >= min_comment_group:
            service_scope = Scope(service, scope.channel, scope.life_situation, scope.audience)
            web = not _drops_any(by_service[service], main)
            comments = await _read(
                sessions,
                lambda session, s=service_scope, w=web: _comments(  # type: ignore[misc]
                    session, roles, s, period, max_comments, negative_at_most=threshold, web=w
                ),
            )
        groups.append(
            NegativeGroup(
                service,
                titles(Dimension.SERVICE, service),
                negatives,
                tuple(sorted(problems, key=lambda item: (-item[1], item[0]))),
                comments,
            )
        )
    return groups


# --- trend --------------------------------------------------------------------------------


def _bucket_of(day: date, bucket: Literal["week", "month"]) -> date:
    """The Monday of the week, or the first of the month, of ``day``."""
    if bucket == "week":
        return day - timedelta(days=day.weekday())
    return day.replace(day=1)


async def csat_trend(
    sessions: async_sessionmaker[AsyncSession],
    *,
    roles: QuestionnaireRoles,
    period: Period,
    scope: Scope,
    bucket: Literal["week", "month"],
    min_group: int = DEFAULT_MIN_GROUP,
    weekly: bool = False,
) -> list[TrendPoint]:
    """Overall score per service per week (Monday) or month within ``period``.

    A point is a group like any other: its figures show only when it is a union of blocks of
    the period's plan (a week cut by the period's edge is only the part inside it).
    """
    async with _snapshot(sessions) as session:
        grain = _trend_grain(period, bucket, weekly)
        atoms = await _atoms(session, roles, scope.audience, period, grain)
    main = plan(period, atoms.sizes(), min_group, weekly=weekly)
    return _trend_points(atoms, main, scope, bucket, min_group)


def _trend_grain(period: Period, bucket: Literal["week", "month"], weekly: bool) -> Grain:
    grain = grain_of([period], weekly)
    if bucket == "week" and grain == "month":
        return "segment"  # week buckets are made of week pieces
    return grain


def _trend_points(
    atoms: _Atoms, main: Plan, scope: Scope, bucket: Literal["week", "month"], min_group: int
) -> list[TrendPoint]:
    where = None if _whole_audience(scope) else _scope_test(scope)
    # A report's atoms share a few hundred days at most: each day's bucket is found once,
    # not once per atom (16,000 atoms of a half-year at 1M answers).
    buckets: dict[date, date] = {}
    points: dict[tuple[str | None, date], list[Atom]] = {}
    for atom in atoms.counts:
        if where is not None and not where(atom):
            continue
        day = atom[0]
        start = buckets.get(day)
        if start is None:
            start = buckets[day] = _bucket_of(day, bucket)
        points.setdefault((atom[1][0], start), []).append(atom)
    points = {key: main.counted(members) for key, members in points.items()}
    return [
        TrendPoint(
            service,
            day,
            score_of(
                _sum(atoms.counts[atom] for atom in members),
                min_group,
                hidden=not main.publishable(members),
            ),
        )
        for (service, day), members in sorted(
            points.items(), key=lambda i: (i[0][1], _order(i[0][0]))
        )
    ]


# --- anonymised rows for the workbook -----------------------------------------------------


async def anonymised_responses(
    sessions: async_sessionmaker[AsyncSession],
    *,
    roles: QuestionnaireRoles,
    period: Period,
    scope: Scope,
    min_group: int = DEFAULT_MIN_GROUP,
    min_comment_group: int = DEFAULT_MIN_GROUP,
    include_comments: bool,
    titles: Titles | None = None,
    weekly: bool = False,
) -> list[dict[str, object]]:
    """One row per response for the workbook, only from groups that may show figures.

    Keys: "no" (a running number; the random response id never leaves the database),
    "date" (the month, "MM.YYYY": a finer date would help to identify a person),
    "questionnaire", "service", "channel", "life_situation" (titles when ``titles`` is
    given, else codes), "overall" (1–5, ``CANNOT_RATE`` or None), "problems" (option titles),
    one key per other question id (a number, ``CANNOT_RATE`` or option titles joined by
    "; "), and "comments" (free texts with contact details masked).

    A row leaves only when its service × channel × life situation × month (within the period)
    is a union of blocks of the period's plan: every row set an officer can get is then a
    group of at least ``min_group`` that the same plan allows as figures. Free texts (comments
    and "other" follow-ups) come only with ``include_comments`` and only when the comment
    threshold is the figures' threshold (a larger one, e.g. for staff, would need groups the
    rows cannot keep apart). Rows come ordered by month, cell and random id.
    """
    async with _snapshot(sessions) as session:
        atoms = await _atoms(session, roles, scope.audience, period, grain_of([period], weekly))
        main = plan(period, atoms.sizes(), min_group, weekly=weekly)
        where = _scope_test(scope)
        by_group: dict[tuple[date, Cell], list[Atom]] = {}
        for atom in atoms.counts:
            if where(atom):
                # A row group is service × channel × life situation × month, every front in
                # it: rows carry no front (a front of 1–4 people in a shown group of 5 would
                # say what they answered).
                by_group.setdefault((atom[0].replace(day=1), atom[1][:3]), []).append(atom)
        allowed = {
            key for key, members in by_group.items() if main.publishable(main.counted(members))
        }
        if not allowed:
            return []
        # The web's rows of a group where some of its atoms were dropped stay out: what is
        # left is the group's messenger blocks (no block mixes the two).
        without_web = {key for key in allowed if _drops_any(by_group[key], main)}
        with_texts = include_comments and min_comment_group <= min_group
        rows = await _answer_rows(session, scope, period, with_texts)
    kept = [
        row[:-1]
        for row in rows
        if (group := (_day(row[1]).replace(day=1), (row[3], row[4], row[5]))) in allowed
        and not (group in without_web and row[-1] == Front.WEB)
    ]
    kept.sort(key=lambda row: (_day(row[1]).replace(day=1), _order(row[3:6]), str(row[0])))
    return _fold_rows(kept, roles, with_texts, titles)


async def _answer_rows(
    session: AsyncSession,
    scope: Scope,
    period: Period,
    include_comments: bool,
) -> Sequence[Any]:
    r = _table(Response, "r", DAYS_INDEX)
    a = Answer.__table__.alias("a")
    statement = (
        select(
            r.c.id,
            r.c.submitted_on,
            r.c.questionnaire_id,
            r.c.service_code,
            r.c.channel_code,
            r.c.life_situation_code,
            a.c.question_id,
            a.c.option_id,
            a.c.number,
            a.c.text if include_comments else literal(None).label("text"),
            r.c.front,  # to leave out the web's dropped rows; never shown
        )
        .select_from(_then(r, a, a.c.response_id == r.c.id))
        # Rows of poll windows' answers would let the window's results (a range of days of
        # one questionnaire) be differenced against them: those reach officers as results.
        .where(*_scope_terms(r, scope, [period]), r.c.window_id.is_(None))
        # The random id orders responses within a day: a row's place says nothing about when.
        .order_by(r.c.submitted_on, r.c.id, a.c.id)
    )
    return (await session.execute(statement)).all()


def _fold_rows(
    rows: Sequence[Any],
    roles: QuestionnaireRoles,
    include_comments: bool,
    titles: Titles | None,
) -> list[dict[str, object]]:
    """Rows of (response, answer) in response order → one dict per response."""

    def named(dimension: Dimension, code: str | None) -> str | None:
        return code if titles is None else titles(dimension, code)

    def mask(text: str) -> str:
        return mask_contacts(text, language=roles.language)

    result: list[dict[str, object]] = []
    for _, answers in groupby(rows, key=lambda row: row[0]):
        first, *rest = answers
        _, day, questionnaire, service, channel, situation = first[:6]
        record: dict[str, object] = {
            "no": len(result) + 1,
            "date": f"{_day(day):%m.%Y}",
            "questionnaire": questionnaire,
            "service": named(Dimension.SERVICE, service),
            "channel": named(Dimension.CHANNEL, channel),
            "life_situation": named(Dimension.LIFE_SITUATION, situation),
            "overall": None,
        }
        chosen: dict[str, list[str]] = {"problems": []}
        texts: list[str] = []
        for row in (first, *rest):
            question, option, number, free_text = row[6:]
            if question == roles.overall.get(questionnaire):
                record["overall"] = number if number is not None else option
            elif question in roles.comments.get(questionnaire, ()):
                if free_text:
                    texts.append(mask(str(free_text)))
            elif number is not None:
                record[str(question)] = number
            elif option is not None:
                key = "problems" if question == roles.problems.get(questionnaire) else question
                value = roles.option_titles.get((questionnaire, question, option), option)
                # free_text is NULL unless comments were asked for ("other: ..." follow-ups).
                chosen.setdefault(str(key), []).append(
                    f"{value}: {mask(str(free_text))}" if free_text else value
                )
            elif free_text:
                chosen.setdefault(str(question), []).append(mask(str(free_text)))
        for key, values in chosen.items():
            record[key] = tuple(values) if key == "problems" else "; ".join(values)
        if include_comments:
            record["comments"] = tuple(texts)
        result.append(record)
    return result


# --- parameters and staff aspects (§3.1, §4.2): read by reports.parameters ----------------


def wanted_overall(
    overall: Mapping[str, str], questions: Mapping[str, tuple[str, ...]]
) -> dict[str, str]:
    """The overall question of each questionnaire that has parameters."""
    return {q: overall[q] for q in questions if q in overall}


# --- poll windows (read by reports.windows) ------------------------------------------------


@dataclass(frozen=True, slots=True)
class WindowRecord:
    """A closed poll window and how many responses it got."""

    id: int
    questionnaire_id: str
    opens_on: date
    closes_on: date  # the planned last day
    closed_at: datetime | None
    respondents: int
    web: int = 0  # of them through the web form (front "web"): reports.windows.counted_sides


@dataclass(frozen=True, slots=True)
class WindowCount:
    """Answers to one question of one window (of one department, for staff)."""

    questionnaire_id: str
    question_id: str
    window_id: int
    department: str | None
    counts: Counts


@dataclass(frozen=True, slots=True)
class WindowPair:
    """Respondents of one window (department) who gave a parameter ``parameter`` and the
    overall question ``overall`` (both 1–5)."""

    questionnaire_id: str
    question_id: str
    window_id: int
    department: str | None
    parameter: int
    overall: int
    respondents: int


async def closed_windows(
    sessions: async_sessionmaker[AsyncSession], questionnaires: Collection[str]
) -> list[WindowRecord]:
    """The closed windows of ``questionnaires`` with their respondents, oldest first."""
    if not questionnaires:
        return []
    w = PollWindow.__table__.alias("w")
    r = Response.__table__.alias("r")
    statement = (
        select(
            w.c.id,
            w.c.questionnaire_id,
            w.c.opens_on,
            w.c.closes_on,
            w.c.closed_at,
            func.count(r.c.id),
            func.count(r.c.id).filter(r.c.front == Front.WEB.value),
        )
        .select_from(w.outerjoin(r, r.c.window_id == w.c.id))
        .where(w.c.status == "closed", w.c.questionnaire_id.in_(list(questionnaires)))
        .group_by(w.c.id, w.c.questionnaire_id, w.c.opens_on, w.c.closes_on, w.c.closed_at)
        .order_by(w.c.opens_on, w.c.id)
    )
    async with sessions() as session:
        rows = (await session.execute(statement)).all()
    return [
        WindowRecord(
            int(row[0]),
            str(row[1]),
            _day(row[2]),
            _day(row[3]),
            _utc(row[4]),
            int(row[5]),
            int(row[6]),
        )
        for row in rows
    ]


def _utc(value: object) -> datetime | None:
    if value is None:
        return None
    moment = value if isinstance(value, datetime) else datetime.fromisoformat(str(value))
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def _window_cell(copies: FromClause, by_department: bool) -> ColumnElement[Any]:
    return copies.c.department if by_department else literal(None)


def _window_sides(
    copies: FromClause, window_ids: Collection[int], sides: Mapping[int, Collection[str]] | None
) -> ColumnElement[bool]:
    """The answers of ``window_ids`` of each window's counted sides (reports.windows
    .counted_sides: "messengers" and "web"); without ``sides``, all of them."""
    if sides is None:
        return copies.c.window_id.in_(list(window_ids))
    web = copies.c.front == Front.WEB.value
    by_sides: dict[frozenset[str], list[int]] = {}
    for window in window_ids:
        by_sides.setdefault(frozenset(sides.get(window, ())), []).append(window)
    either: list[ColumnElement[bool]] = []
    for found, windows in by_sides.items():
        if not found:
            continue
        side = None if len(found) > 1 else web if "web" in found else ~web
        inside = copies.c.window_id.in_(windows)
        either.append(inside if side is None else and_(inside, side))
    return or_(*either) if either else false()


async def window_counts(
    sessions: async_sessionmaker[AsyncSession],
    *,
    questions: Mapping[str, tuple[str, ...]],
    window_ids: Collection[int],
    by_department: bool = False,
    sides: Mapping[int, Collection[str]] | None = None,
) -> list[WindowCount]:
    """Scores 1–5 and "cannot rate" per (questionnaire, question, window[, department]), of
    each window's counted ``sides`` (reports.windows.ShownWindow.sides) when given."""
    ids = {question for found in questions.values() for question in found}
    if not ids or not window_ids:
        return []
    c = ReportAnswer.__table__.alias("c")
    department = _window_cell(c, by_department)
    keys = (c.c.questionnaire_id, c.c.question_id, c.c.window_id, department)
    statement = (
        select(*keys, *_score_columns(c))
        .where(
            _window_sides(c, window_ids, sides),
            c.c.question_id.in_(ids),
            c.c.questionnaire_id.in_(list(questions)),
        )
        .group_by(*keys)
    )
    async with _snapshot(sessions) as session:
        rows = (await session.execute(statement)).all()
    found: list[WindowCount] = []
    for row in rows:
        if row[1] not in questions.get(row[0], ()):
            continue
        counts = _counts(row[4:])
        if counts.respondents:
            found.append(WindowCount(row[0], row[1], int(row[2]), row[3], counts))
    return found


async def window_pairs(
    sessions: async_sessionmaker[AsyncSession],
    *,
    questions: Mapping[str, tuple[str, ...]],
    overall: Mapping[str, str],
    window_ids: Collection[int],
    by_department: bool = False,
    sides: Mapping[int, Collection[str]] | None = None,
) -> list[WindowPair]:
    """The joint distribution of each parameter with the overall score of the same response,
    per window (and department): only respondents who scored both 1–5, of each window's
    counted ``sides`` when given."""
    wanted = {q: ids for q, ids in questions.items() if ids and q in overall}
    ids = {question for found in wanted.values() for question in found}
    if not ids or not window_ids:
        return []
    p = ReportAnswer.__table__.alias("p")
    o = ReportAnswer.__table__.alias("o")
    department = _window_cell(p, by_department)
    keys = (p.c.questionnaire_id, p.c.question_id, p.c.window_id, department, p.c.number)
    statement = (
        select(*keys, o.c.number, func.count())
        .select_from(
            p.join(
                o,
                and_(
                    o.c.response_id == p.c.response_id,
                    _answer_of(p, o, wanted_overall(overall, wanted)),
                ),
            )
        )
        .where(
            _window_sides(p, window_ids, sides),
            p.c.question_id.in_(ids),
            p.c.questionnaire_id.in_(list(wanted)),
            p.c.number.between(SCORES[0], SCORES[-1]),
            o.c.number.between(SCORES[0], SCORES[-1]),
        )
        .group_by(*keys, o.c.number)
    )
    async with _snapshot(sessions) as session:
        rows = (await session.execute(statement)).all()
    return [
        WindowPair(row[0], row[1], int(row[2]), row[3], int(row[4]), int(row[5]), int(row[6]))
        for row in rows
        if row[1] in wanted.get(row[0], ())
    ]


# --- problems of every process at once (the Appendix 2 pain map) ---------------------------


async def problems_by_service(
    sessions: async_sessionmaker[AsyncSession],
    *,
    roles: QuestionnaireRoles,
    period: Period,
    audience: str,
    services: Sequence[str],
    previous: Period,
    min_group: int = DEFAULT_MIN_GROUP,
    weekly: bool = False,
) -> dict[str, tuple[ProblemRow, ...]]:
    """The problem rows each of ``services`` has in its own report (:func:`build_report` with
    that service's scope and ``previous``), from one read of the audience instead of one per
    service. Callers pass only services whose score shows: build_report lists no problems
    under a suppressed score."""
    grain = grain_of([period, previous], weekly)  # the atoms build_report folds

    async def read(session: AsyncSession) -> tuple[_Atoms, list[_Named]]:
        atoms = await _atoms(session, roles, audience, period, grain)
        return atoms, await _problems(session, roles, audience, period, grain=grain)

    atoms, named = await _read(sessions, read)
    # The report's own plan of the period: its base sums only the atoms it counts, so the
    # web's dropped answers are in no share's denominator (else a share here divided against
    # the same share in /report would give their number).
    main = plan(period, atoms.sizes(), min_group, weekly=weekly)
    rows: dict[str, tuple[ProblemRow, ...]] = {}
    plans: dict[tuple[str, str], Plan] = {}  # one per option, whatever the service
    for service in services:
        scope = Scope(service=service, audience=audience)
        where = _scope_test(scope)
        members = main.counted(atom for atom in atoms.counts if where(atom))
        base = sum(atoms.problem_base.get(atom, 0) for atom in members)
        rows[service] = _problem_rows(named, roles, scope, period, base, min_group, weekly, plans)
    return rows


# --- the life situation as a whole (Concept §6.2) ----------------------------------------


async def situation_atoms(
    sessions: async_sessionmaker[AsyncSession],
    *,
    roles: QuestionnaireRoles,
    audience: str,
    period: Period,
) -> dict[Atom, list[int]]:
    """Answers to the life-situation question (``Role.SITUATION``) per day and cell: counts of
    scores 1–5, then "cannot rate". The cell's life situation is the link's or, without one,
    the option chosen for the ``Role.SITUATION_CHOICE`` question (option ids are codes).

    Read from the answers to that question in the reports' copy (one range of its breakdown
    index, which holds the cell, the day and the response's key): read from the responses,
    every response of the period was looked up to find the few that answered it (0.3–0.5 s of
    every ``/report`` at 1M answers, whether anyone answered it or not; issue 15). Only an
    answer without the link's life situation looks its response's choice up by key."""
    questions = _audience_questionnaires(roles, roles.situation, audience)
    if not questions:
        return {}
    s = _table(ReportAnswer, "s", COPY_GROUPS_INDEX)
    c = Answer.__table__.alias("c")
    choices = [(s.c.questionnaire_id == q, literal(i)) for q, i in roles.situation_choice.items()]
    choice: ColumnElement[Any] = case(*choices, else_=literal(None)) if choices else literal(None)
    situation = func.coalesce(s.c.life_situation_code, c.c.option_id)
    # The front as the cell's last key, as in the report's atoms: the web apart (disclosure).
    dimensions = (s.c.submitted_on, s.c.service_code, s.c.channel_code, situation, s.c.front)
    joined = s.outerjoin(c, and_(c.c.response_id == s.c.response_id, c.c.question_id == choice))
    statement = (
        select(*dimensions, *_score_columns(s))
        .select_from(joined)
        .where(
            s.c.audience == audience,
            _answer_of(s, s, questions),
            s.c.submitted_on.between(period.start, period.end),
            s.c.questionnaire_id.in_(questions),
            _calendar(s),
        )
        .group_by(*dimensions)
    )
    async with _snapshot(sessions) as session:
        rows = (await session.execute(statement)).all()
    return {
        (_day(row[0]), (row[1], row[2], row[3], row[4])): [int(v or 0) for v in row[5:]]
        for row in rows
    }
