"""Issue 8: a determined officer differencing every view they can request recovers no small group.

The officer of this test asks for everything: the report of every closed week, month, quarter,
half-year and the year, for all services and for each service (overall, every service, channel
and life situation row, this period and the previous one), the trend by week and by month, the
workbook rows, and every batch of negative ratings. Each figure shown is written down as the set
of (day, cell) atoms it sums. The attacker then solves the linear system of all those sums
exactly (over GF(p), which can only find more than over the rationals) and tries every small
group: each atom, each day / week piece / week / month / quarter by cell, service × channel,
service × life situation, service, channel, life situation and in total, and each month's edge
days outside its whole weeks. Issue 13 adds the front (Telegram, MAX, the web form) to every
response: the reports' messenger rows are asked for too, and the attacker also tries each front
by service, by channel, and alone. A control publisher that applies the threshold view by
view, as the bot did before, leaks on the same data: the attack works, the policy stops it.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Final

import numpy as np
import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from questionnaires.fronts import Front
from questionnaires.results import AnswerRow, CompletedResponse, ResponseContext
from reports.disclosure import Atom, Cell, PeriodKind, plan
from reports.metrics import anonymised_responses, build_report, csat_trend, negative_batch
from reports.model import Dimension, Period, Scope
from reports.periods import (
    calendar_previous,
    half_of,
    month_of,
    quarter_of,
    segment_of,
    week_of,
    year_of,
)
from storage.responses import ResponseStore
from tests.reports.conftest import AUDIENCES, ROLES, titles
from tests.storage.conftest import database, engine, sessions

__all__ = ["database", "engine", "sessions"]  # the storage fixtures (SQLite is used here)

K: Final = 5
THRESHOLD: Final = 2  # alerts: scores 1–2
YEAR: Final = Period(date(2025, 1, 1), date(2025, 12, 31))
SERVICES: Final = ("a", "b", "c")
CHANNELS: Final = ("office", "web")
SITUATIONS: Final = (None, "moving")
#: Most answers through Telegram, a few through MAX and the web form: many small front groups.
FRONTS: Final = tuple(front.value for front in Front)
FRONT_WEIGHTS: Final = (6, 2, 1)
PRIME: Final = 2_147_483_647


@dataclass(frozen=True)
class Seeded:
    """One stored response as the test knows it (the attacker does not)."""

    number: int
    day: date
    cell: Cell
    score: int | None  # None: "cannot rate"
    comment: str

    @property
    def atom(self) -> Atom:
        return (self.day, self.cell)


def _seed() -> list[Seeded]:
    """About 1.3 responses a day, skewed so that some services and channels stay small."""
    rng = random.Random(8)
    seeded: list[Seeded] = []
    day = YEAR.start
    while day <= YEAR.end:
        for _ in range(rng.choice((0, 0, 1, 1, 2, 3))):
            cell: Cell = (
                rng.choices(SERVICES, weights=(6, 3, 1))[0],
                rng.choices(CHANNELS, weights=(4, 1))[0],
                rng.choices(SITUATIONS, weights=(3, 1))[0],
                rng.choices(FRONTS, weights=FRONT_WEIGHTS)[0],
            )
            score = None if rng.random() < 0.08 else rng.randint(1, 5)
            number = len(seeded)
            seeded.append(
                Seeded(number, day, cell, score, f"отзыв №{number}, тел. 8912345{number:04d}")
            )
        day += timedelta(days=1)
    return seeded


async def _store(sessions: async_sessionmaker[AsyncSession], seeded: list[Seeded]) -> None:
    store = ResponseStore(sessions)
    for item in seeded:
        overall = (
            AnswerRow("overall", number=item.score)
            if item.score is not None
            else AnswerRow("overall", option_id="cannot_rate")
        )
        answers = [overall, AnswerRow("comment", text=item.comment)]
        if item.score is not None and item.score <= 3:
            answers.append(AnswerRow("obstacles", option_id="queue"))
        await store.save(
            CompletedResponse(
                questionnaire_id="rating",
                questionnaire_version=1,
                kind="rating",
                audience=AUDIENCES["rating"],
                context=ResponseContext(*item.cell[:3]),
                submitted_on=item.day,
                answers=tuple(answers),
                front=Front(str(item.cell[3])),
            )
        )


def _requestable() -> list[Period]:
    """Every closed calendar period of 2025 an officer can choose (weeks touching the year)."""
    periods: set[Period] = set()
    day = week_of(YEAR.start).start
    while day <= YEAR.end:
        periods.add(week_of(day))
        day += timedelta(days=7)
    for unit in (month_of, quarter_of, half_of, year_of):
        day = YEAR.start
        while day <= YEAR.end:
            periods.add(unit(day))
            day = unit(day).end + timedelta(days=1)
    return sorted(periods, key=lambda p: (p.start, p.end))


Test = Callable[[Atom], bool]


def _where(period: Period, service: str | None = None, **fixed: str | None) -> Test:
    positions = {"channel": 1, "life_situation": 2, "front": 3}

    def test(atom: Atom) -> bool:
        day, cell = atom
        return (
            period.start <= day <= period.end
            and (service is None or cell[0] == service)
            and all(cell[positions[name]] == value for name, value in fixed.items())
        )

    return test


_DIMENSION_FIELD: Final = {
    Dimension.CHANNEL: "channel",
    Dimension.LIFE_SITUATION: "life_situation",
    Dimension.FRONT: "front",
}


@dataclass
class Published:
    """What the officer saw, as sets of atoms; and where each comment appeared."""

    atoms: frozenset[Atom]
    groups: set[frozenset[Atom]] = field(default_factory=set)
    comments: dict[str, list[Test]] = field(default_factory=dict)
    #: Messenger rows shown with figures, and hidden (the attack must meet both).
    fronts_shown: int = 0
    fronts_hidden: int = 0
    weekly: bool = False

    def add(self, test: Test, dropped: frozenset[Atom] = frozenset()) -> frozenset[Atom]:
        """The group a shown figure sums: the atoms of its view but the web's ``dropped``."""
        group = frozenset(atom for atom in self.atoms if test(atom) and atom not in dropped)
        if group:
            self.groups.add(group)
        return group

    def saw_comment(self, text: str, test: Test) -> None:
        self.comments.setdefault(text, []).append(test)


def _group_test(period: Period, scope: Scope, dimension: Dimension, key: str | None) -> Test:
    if dimension == Dimension.SERVICE:
        return _where(period, key)
    return _where(period, scope.service, **{_DIMENSION_FIELD[dimension]: key})


async def _ask_everything(
    sessions: async_sessionmaker[AsyncSession], seeded: list[Seeded], weekly: bool
) -> Published:
    published = Published(frozenset(item.atom for item in seeded), weekly=weekly)
    respondents = _respondents(seeded)

    def dropped(period: Period) -> frozenset[Atom]:
        """The web's atoms the period's plan counts in no figure (the web kept apart from the
        messengers, the default): the attacker's groups are the views without them."""
        sizes = {a: r[0] for a, r in respondents.items() if period.start <= a[0] <= period.end}
        return plan(period, sizes, K, weekly=weekly).dropped

    scopes = [Scope(), *(Scope(service=s) for s in SERVICES)]
    for period in _requestable():
        previous = calendar_previous(period)
        for scope in scopes:
            report = await build_report(
                sessions,
                roles=ROLES,
                titles=titles,
                period=period,
                scope=scope,
                min_group=K,
                min_comment_group=K,
                previous=previous,
                weekly=weekly,
            )
            for shown, when in ((report.overall, period), (report.overall_previous, previous)):
                if not shown.suppressed:
                    group = published.add(_where(when, scope.service), dropped(when))
                    assert shown.n == sum(respondents[a][0] for a in group)  # honest figures
            for line in report.groups:
                for shown, when in ((line.current, period), (line.previous, previous)):
                    if line.dimension == Dimension.FRONT:
                        if shown.suppressed:
                            published.fronts_hidden += 1
                        else:
                            published.fronts_shown += 1
                    if not shown.suppressed:
                        published.add(
                            _group_test(when, scope, line.dimension, line.key), dropped(when)
                        )
            for text in report.comments:
                published.saw_comment(text, _where(period, scope.service))
            for bucket in ("week", "month"):
                trend = await csat_trend(
                    sessions,
                    roles=ROLES,
                    period=period,
                    scope=scope,
                    bucket=bucket,
                    min_group=K,
                    weekly=weekly,
                )
                for point in trend:
                    if not point.score.suppressed:
                        start = point.bucket_start
                        end = (
                            start + timedelta(days=6) if bucket == "week" else month_of(start).end
                        )
                        span = Period(max(start, period.start), min(end, period.end))
                        published.add(_where(span, point.service), dropped(period))
            rows = await anonymised_responses(
                sessions,
                roles=ROLES,
                period=period,
                scope=scope,
                min_group=K,
                min_comment_group=K,
                include_comments=True,
                weekly=weekly,
            )
            by_group: dict[tuple[str, Cell], int] = {}
            for row in rows:
                cell: Cell = (row["service"], row["channel"], row["life_situation"])  # type: ignore[assignment]
                key = (str(row["date"]), cell)
                by_group[key] = by_group.get(key, 0) + 1
                month = _month_of_label(str(row["date"]))
                span = Period(max(month.start, period.start), min(month.end, period.end))
                test = _where(span, cell[0], channel=cell[1], life_situation=cell[2])
                for text in row.get("comments", ()):  # type: ignore[attr-defined]
                    published.saw_comment(str(text), test)
            for (label, cell), count in by_group.items():
                month = _month_of_label(label)
                span = Period(max(month.start, period.start), min(month.end, period.end))
                test = _where(span, cell[0], channel=cell[1], life_situation=cell[2])
                # The web's rows of a group with a dropped web atom stay out, all of them.
                web = frozenset(a for a in published.atoms if test(a) and a[1][3] == Front.WEB)
                group = published.add(test, web if web & dropped(period) else frozenset())
                # Rows leave for a whole group or not at all.
                assert count == sum(respondents[a][1] for a in group)
    for piece in _segments() if weekly else [p for p in _requestable() if p.days < 40]:
        for scope in scopes:
            batch = await negative_batch(
                sessions,
                roles=ROLES,
                period=piece,
                scope=scope,
                threshold=THRESHOLD,
                titles=titles,
                min_group=K,
                min_comment_group=K,
                weekly=weekly,
            )
            for negative in batch:
                published.add(_where(piece, negative.service), dropped(piece))
                for text in negative.comments:
                    published.saw_comment(text, _where(piece, negative.service))
    return published


def _month_of_label(label: str) -> Period:
    month, year = (int(part) for part in label.split("."))
    return month_of(date(year, month, 1))


def _segments() -> list[Period]:
    pieces: set[Period] = set()
    day = YEAR.start
    while day <= YEAR.end:
        pieces.add(segment_of(day))
        day += timedelta(days=1)
    return sorted(pieces, key=lambda p: p.start)


def _respondents(seeded: Iterable[Seeded]) -> dict[Atom, tuple[int, int]]:
    """(scored, all respondents) per atom."""
    counts: dict[Atom, tuple[int, int]] = {}
    for item in seeded:
        scored, everyone = counts.get(item.atom, (0, 0))
        counts[item.atom] = (scored + (item.score is not None), everyone + 1)
    return counts


# --- the attacker's algebra ---------------------------------------------------------------


class RowSpace:
    """The row space of published 0/1 sums over atoms, in reduced echelon form mod a prime."""

    def __init__(self, atoms: list[Atom], groups: Iterable[frozenset[Atom]]) -> None:
        self.column = {atom: index for index, atom in enumerate(atoms)}
        rows = [self.vector(group) for group in groups]
        matrix = np.array(rows, dtype=np.int64) if rows else np.zeros((0, len(atoms)), np.int64)
        self.pivots: list[tuple[int, np.ndarray]] = []
        for col in range(matrix.shape[1]):
            candidates = np.nonzero(matrix[:, col])[0]
            if candidates.size == 0:
                continue
            pivot = matrix[candidates[0]].copy()
            pivot = (pivot * pow(int(pivot[col]), PRIME - 2, PRIME)) % PRIME
            factors = matrix[:, col].copy()
            matrix = (matrix - (factors[:, None] * pivot[None, :]) % PRIME) % PRIME
            matrix = matrix[np.any(matrix != 0, axis=1)]
            self.pivots.append((col, pivot))

    def vector(self, atoms: Iterable[Atom]) -> np.ndarray:
        vector = np.zeros(len(self.column), dtype=np.int64)
        for atom in atoms:
            vector[self.column[atom]] = 1
        return vector

    def derivable(self, atoms: Iterable[Atom]) -> bool:
        """True when the sum over exactly these atoms follows from the published sums."""
        rest = self.vector(atoms)
        for col, pivot in self.pivots:
            if rest[col]:
                rest = (rest - (int(rest[col]) * pivot) % PRIME) % PRIME
        return not rest.any()


def _targets(
    atoms: frozenset[Atom], respondents: dict[Atom, tuple[int, int]]
) -> list[frozenset[Atom]]:
    """Every natural small group (1 to K − 1 respondents) the attacker tries to isolate."""
    spans: set[Period] = set()
    for day in _days(YEAR):
        spans.update((Period(day, day), segment_of(day), week_of(day), month_of(day)))
        spans.add(quarter_of(day))
    found: set[frozenset[Atom]] = {frozenset({atom}) for atom in atoms}
    for month in {month_of(day) for day in _days(YEAR)}:
        # A month minus its whole weeks: the edge days.
        inside = [w for w in {week_of(d) for d in _days(month)} if month.start <= w.start]
        whole = [w for w in inside if w.end <= month.end]
        edges = frozenset(
            a
            for a in atoms
            if month.start <= a[0] <= month.end
            and not any(w.start <= a[0] <= w.end for w in whole)
        )
        if edges:
            found.add(edges)
    for span in spans:
        inside_span = [a for a in atoms if span.start <= a[0] <= span.end]
        for project in _PROJECTIONS:
            groups: dict[tuple[str | None, ...], set[Atom]] = {}
            for atom in inside_span:
                groups.setdefault(project(atom[1]), set()).add(atom)
            found.update(frozenset(group) for group in groups.values())
    return [t for t in found if 0 < sum(respondents[a][1] for a in t) < K]


_PROJECTIONS: Final[tuple[Callable[[Cell], tuple[str | None, ...]], ...]] = (
    lambda c: c,
    # Issue 13's front is the cell's fourth key (other tests here reuse these on 3-key cells,
    # where the slices below are groups already tried).
    lambda c: c[:3],  # the cell of before issue 13, every front
    lambda c: (c[0], *c[3:4]),  # a service through one messenger
    lambda c: (c[1], *c[3:4]),  # a channel through one messenger
    lambda c: c[3:4],  # a messenger
    lambda c: (c[0], c[1]),
    lambda c: (c[0], c[2]),
    lambda c: (c[0],),
    lambda c: (c[1],),
    lambda c: (c[2],),
    lambda c: (),
)


def _days(period: Period) -> list[date]:
    return [period.start + timedelta(days=i) for i in range(period.days)]


def _leaks(
    published: Published, respondents: dict[Atom, tuple[int, int]]
) -> list[frozenset[Atom]]:
    atoms = sorted(published.atoms, key=lambda a: (a[0], [(v is None, v or "") for v in a[1]]))
    space = RowSpace(atoms, published.groups)
    return [t for t in _targets(published.atoms, respondents) if space.derivable(t)]


# --- the tests ----------------------------------------------------------------------------


@pytest.fixture(params=[False, True], ids=["months", "weeks"])
async def asked(
    request: pytest.FixtureRequest, sessions: async_sessionmaker[AsyncSession]
) -> tuple[list[Seeded], Published]:
    """Everything read once per policy (weeks without or with figures), shared by the tests."""
    async with sessions() as session:
        if session.get_bind().dialect.name != "sqlite":
            pytest.skip("the officer's views are the same SQL on both; one backend is enough")
    weekly: bool = request.param
    if weekly not in _ASKED:
        seeded = _seed()
        await _store(sessions, seeded)
        _ASKED[weekly] = (seeded, await _ask_everything(sessions, seeded, weekly))
    return _ASKED[weekly]


_ASKED: dict[bool, tuple[list[Seeded], Published]] = {}


async def test_differencing_every_view_an_officer_can_request_recovers_no_small_group(
    asked: tuple[list[Seeded], Published],
) -> None:
    seeded, published = asked
    respondents = _respondents(seeded)
    # The data has plenty of small groups, and the officer saw plenty of figures.
    assert sum(1 for t in _targets(published.atoms, respondents) if len(t) == 1) > 100
    assert len(published.groups) > 25
    # Messenger rows were hidden where small, and (with months as the finest unit) shown
    # where the plan allows; with weekly figures the weeks' blocks leave them no room (the
    # price of weekly figures, docs/anonymity.md), like the small channels.
    assert published.fronts_hidden > 0
    assert published.weekly or published.fronts_shown > 0

    assert _leaks(published, respondents) == []


async def test_a_comment_is_never_narrowed_down_to_fewer_than_the_comment_threshold(
    asked: tuple[list[Seeded], Published],
) -> None:
    seeded, published = asked
    by_text = {item.comment.split(",")[0]: item for item in seeded}
    assert published.comments, "comments were shown somewhere"
    for text, sightings in published.comments.items():
        assert "8912345" not in text  # the phone number is masked
        author = by_text[text.split(",")[0]]
        # Everyone who could have written it, given every view it appeared in.
        candidates = [item for item in seeded if all(test(item.atom) for test in sightings)]
        assert author in candidates
        assert len(candidates) >= K, (text, len(candidates))


async def test_the_same_attack_breaks_a_threshold_applied_view_by_view(
    asked: tuple[list[Seeded], Published],
) -> None:
    """The control: every group an officer could ask for, shown when it alone has ≥ 5."""
    seeded, published = asked
    respondents = _respondents(seeded)
    naive = Published(published.atoms)
    for period in _requestable():
        for service in (None, *SERVICES):
            for channel in (None, *CHANNELS):
                test = (
                    _where(period, service)
                    if channel is None
                    else _where(period, service, channel=channel)
                )
                group = frozenset(a for a in naive.atoms if test(a))
                if sum(respondents[a][0] for a in group) >= K:
                    naive.groups.add(group)

    assert _leaks(naive, respondents)


async def test_issue13_messenger_rows_shown_view_by_view_would_leak(
    asked: tuple[list[Seeded], Published],
) -> None:
    """The control for the new dimension: the totals and each messenger's row shown whenever
    it alone has ≥ 5 give back small groups; the plan (above) gives none."""
    seeded, published = asked
    respondents = _respondents(seeded)
    naive = Published(published.atoms)
    for period in _requestable():
        for service in (None, *SERVICES):
            for front in (None, *FRONTS):
                test = (
                    _where(period, service)
                    if front is None
                    else _where(period, service, front=front)
                )
                group = frozenset(a for a in naive.atoms if test(a))
                if sum(respondents[a][0] for a in group) >= K:
                    naive.groups.add(group)

    assert _leaks(naive, respondents)


def test_the_periods_an_officer_can_choose_are_the_closed_calendar_ones() -> None:
    kinds = {len({p.days for p in _requestable() if p.days == n}) for n in (7, 365)}
    assert kinds == {1}
    assert {kind.value for kind in PeriodKind} == {"week", "month", "quarter", "half", "year"}
