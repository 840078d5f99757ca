"""Poll windows against calendar figures: window answers appear only in window results.

A window's figures follow the window rule (the whole window, its department groups by
reports.windows.department_groups); calendar figures follow the block plan. Pooled, their
difference was not bounded by the threshold (docs/anonymity.md, "Poll windows and calendar
figures"): a November figure of 27 (a deep-poll window of 25 and two post-service ratings)
minus the window's 25 gave the two ratings; a year's staff report of 23 minus a shown window
of 20 gave a hidden window's three people. Now the answers are partitioned: calendar figures
count only answers outside windows; parameters, staff aspects and the internal report are sums
over whole shown windows; departments only inside one window.

The attack: a year of post-service ratings beside deep-poll and staff windows (one of each
too small to be shown, a department shown in one staff window and merged in another). The
officer takes every view: the calendar report of every month, quarter, half-year and the year
for all services, each service and the staff audience (this period and the previous one, every
service and channel row), every window's results and department groups, the parameter section
and the internal report of every period (aspects, drivers, departments). Each figure is written
down as the set of responses it sums, per measure (overall score, the parameter, the aspect),
after checking the figure counts exactly that set. The attacker solves the linear system and
tries every small group: each response, each window, each window's part of a month, each
department of each window, the post-service ratings of each month. A publisher that pools the
windows into calendar figures, as before, leaks on the same data.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, replace
from datetime import date, timedelta
from typing import Final

import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from questionnaires.results import AnswerRow, CompletedResponse, ResponseContext
from reports.metrics import build_report
from reports.model import Dimension, Period, Scope, Score
from reports.parameters import internal_report, parameter_section
from reports.periods import calendar_previous, half_of, month_of, quarter_of, year_of
from reports.windows import OTHER_DEPARTMENTS, department_groups
from storage.campaigns import CampaignStore
from storage.open_answers import OpenAnswerStore
from storage.responses import ResponseStore
from tests.anonymity.test_officer_differencing import RowSpace
from tests.reports.conftest import AUDIENCES, ROLES, add_window, titles
from tests.storage.conftest import database, engine, sessions

__all__ = ["database", "engine", "sessions"]

K: Final = 5
YEAR: Final = Period(date(2026, 1, 1), date(2026, 12, 31))
NOVEMBER: Final = Period(date(2026, 11, 1), date(2026, 11, 30))
ROLES_W: Final = replace(
    ROLES,
    parameters={"deep": ("speed",), "staff": ("tools",)},
    question_titles={
        **ROLES.question_titles,
        ("deep", "speed"): "Как быстро?",
        ("staff", "tools"): "Техника?",
    },
)
DEPARTMENTS: Final = {"a": "Отдел А", "b": "Отдел Б", "c": "Отдел В", "d": "Отдел Г"}


@dataclass(frozen=True)
class Item:
    """One stored response as the test knows it (the attacker does not)."""

    label: int
    day: date
    questionnaire: str
    window: int | None
    overall: int
    service: str | None = None
    channel: str | None = None
    department: str | None = None
    parameter: int | None = None  # speed (deep) or tools (staff)


@dataclass(frozen=True)
class Window:
    id: int
    questionnaire: str
    span: Period
    departments: tuple[tuple[str | None, int], ...]  # department, respondents


#: Deep-poll windows: November (25, the brief's example), a hidden one (3), one across the
#: edge of the first quarter, a short one. Staff: department «a» is shown in the first window
#: and merged in the third (with «c», whose two would show by subtraction); the second is hidden.
WINDOWS: Final = (
    Window(1, "deep", NOVEMBER, ((None, 25),)),
    Window(2, "deep", Period(date(2026, 10, 1), date(2026, 10, 10)), ((None, 3),)),
    Window(3, "deep", Period(date(2026, 3, 5), date(2026, 4, 20)), ((None, 12),)),
    Window(4, "deep", Period(date(2026, 6, 1), date(2026, 6, 3)), ((None, 6),)),
    Window(
        11, "staff", Period(date(2026, 2, 16), date(2026, 2, 20)), (("a", 8), ("b", 7), ("c", 5))
    ),
    Window(12, "staff", Period(date(2026, 6, 1), date(2026, 6, 5)), (("b", 3),)),
    Window(
        13,
        "staff",
        Period(date(2026, 9, 1), date(2026, 9, 10)),
        (("a", 6), ("b", 7), ("d", 6), ("c", 2)),
    ),
)


def _seed() -> list[Item]:
    rng = random.Random(20)
    items: list[Item] = []

    def add(**values: object) -> None:
        items.append(Item(label=len(items), **values))  # type: ignore[arg-type]

    day = YEAR.start
    while day <= YEAR.end:
        # Post-service ratings, sparse so that many calendar groups stay small.
        for _ in range(rng.choice((0, 0, 0, 1, 1, 2))):
            add(
                day=day,
                questionnaire="rating",
                window=None,
                overall=rng.randint(1, 5),
                service=rng.choices(("s1", "s2"), weights=(4, 1))[0],
                channel=rng.choices(("c1", "c2"), weights=(3, 1))[0],
            )
        day += timedelta(days=1)
    for window in WINDOWS:
        days = window.span.days
        for department, count in window.departments:
            for index in range(count):
                add(
                    day=window.span.start + timedelta(days=index % days),
                    questionnaire=window.questionnaire,
                    window=window.id,
                    overall=rng.randint(1, 5),
                    department=department,
                    parameter=rng.randint(1, 5) if index % 7 else None,  # some do not rate it
                )
    return items


async def _store(sessions: async_sessionmaker[AsyncSession], items: Iterable[Item]) -> None:
    for window in WINDOWS:
        await add_window(
            sessions, window.id, window.questionnaire, window.span.start, window.span.end
        )
    store = ResponseStore(sessions)
    for item in items:
        answers = [AnswerRow("overall", number=item.overall)]
        if item.parameter is not None:
            question = "speed" if item.questionnaire == "deep" else "tools"
            answers.append(AnswerRow(question, number=item.parameter))
        await store.save(
            CompletedResponse(
                questionnaire_id=item.questionnaire,
                questionnaire_version=1,
                kind=item.questionnaire,
                audience=AUDIENCES[item.questionnaire],
                context=ResponseContext(item.service, item.channel, None),
                submitted_on=item.day,
                answers=tuple(answers),
                window_id=item.window,
                department=item.department,
            )
        )


def _periods() -> list[Period]:
    found: set[Period] = set()
    for unit in (month_of, quarter_of, half_of, year_of):
        day = YEAR.start
        while day <= YEAR.end:
            found.add(unit(day))
            day = unit(day).end + timedelta(days=1)
    return sorted(found, key=lambda p: (p.start, p.end))


Measure = str  # "overall" or "parameter"


@dataclass
class Seen:
    """What the officer saw: per measure, the sets of responses each shown figure sums."""

    items: list[Item]
    groups: dict[Measure, set[frozenset[int]]] = field(
        default_factory=lambda: {"overall": set(), "parameter": set()}
    )
    figures: int = 0

    def add(self, measure: Measure, score: Score, members: Iterable[Item]) -> None:
        if score.suppressed:
            return
        labels = frozenset(
            i.label for i in members if measure == "overall" or i.parameter is not None
        )
        assert score.n == len(labels), (measure, score.n, len(labels))  # honest figures
        self.groups[measure].add(labels)
        self.figures += 1


def _in(period: Period) -> Callable[[Item], bool]:
    return lambda item: period.start <= item.day <= period.end


def _shown(items: list[Item], window: Window, measure: Measure) -> bool:
    mine = [i for i in items if i.window == window.id]
    if measure == "parameter":
        return len(mine) >= K and sum(i.parameter is not None for i in mine) >= K
    return len(mine) >= K


def _windows_in(
    items: list[Item], period: Period, questionnaire: str, measure: Measure
) -> list[Item]:
    """The responses of the shown windows that ran wholly inside ``period``."""
    wanted = {
        w.id
        for w in WINDOWS
        if w.questionnaire == questionnaire
        and period.start <= w.span.start
        and w.span.end <= period.end
        and _shown(items, w, measure)
    }
    return [i for i in items if i.window in wanted]


async def _ask_everything(sessions: async_sessionmaker[AsyncSession], items: list[Item]) -> Seen:
    seen = Seen(items)
    calendar = [i for i in items if i.window is None]
    scopes = [Scope(), Scope(service="s1"), Scope(service="s2"), Scope(audience="internal")]
    for period in _periods():
        previous = calendar_previous(period)
        for scope in scopes:
            report = await build_report(
                sessions,
                roles=ROLES_W,
                titles=titles,
                period=period,
                scope=scope,
                min_group=K,
                previous=previous,
            )

            def scoped(when: Period, scope: Scope = scope) -> list[Item]:
                return [
                    i
                    for i in calendar
                    if _in(when)(i)
                    and AUDIENCES[i.questionnaire] == scope.audience
                    and (scope.service is None or i.service == scope.service)
                ]

            seen.add("overall", report.overall, scoped(period))
            seen.add("overall", report.overall_previous, scoped(previous))
            for row in report.groups:
                field_of = {Dimension.SERVICE: "service", Dimension.CHANNEL: "channel"}
                if row.dimension not in field_of:
                    continue
                name = field_of[row.dimension]
                for score, when in ((row.current, period), (row.previous, previous)):
                    members = [i for i in scoped(when) if getattr(i, name) == row.key]
                    seen.add("overall", score, members)
        # The parameter section (deep poll) and the internal report (staff).
        section = await parameter_section(
            sessions,
            roles=ROLES_W,
            period=period,
            previous=previous,
            scope=Scope(),
            min_group=K,
            min_pairs=K,
        )
        assert section is not None
        [parameter] = section.rows
        seen.add("parameter", parameter.current, _windows_in(items, period, "deep", "parameter"))
        seen.add(
            "parameter", parameter.previous, _windows_in(items, previous, "deep", "parameter")
        )
        internal = await internal_report(
            sessions,
            roles=ROLES_W,
            period=period,
            previous=previous,
            department_titles=DEPARTMENTS,
            min_group=K,
            min_pairs=K,
        )
        seen.add("overall", internal.overall, _windows_in(items, period, "staff", "overall"))
        seen.add(
            "overall", internal.overall_previous, _windows_in(items, previous, "staff", "overall")
        )
        [aspect] = internal.aspects.rows
        seen.add("parameter", aspect.current, _windows_in(items, period, "staff", "parameter"))
        seen.add("parameter", aspect.previous, _windows_in(items, previous, "staff", "parameter"))
        if internal.departments:
            [window] = [  # departments come from one window only
                w
                for w in WINDOWS
                if w.questionnaire == "staff"
                and period.start <= w.span.start
                and w.span.end <= period.end
                and _shown(items, w, "overall")
            ]
            mine = [i for i in items if i.window == window.id]
            named = {d.key for d in internal.departments if d.key is not None}
            for department in internal.departments:
                members = [
                    i
                    for i in mine
                    if (i.department == department.key)
                    or (department.key is None and i.department not in named)
                ]
                seen.add("overall", department.overall, members)
                for _, score in department.aspects:
                    seen.add("parameter", score, members)
    # Every window's results: the whole window, and its department groups.
    store = CampaignStore(sessions)
    for window in WINDOWS:
        tallies = await store.tallies(window.id, "overall")
        mine = [i for i in items if i.window == window.id]
        if len(mine) >= K:
            seen.add("overall", Score(n=len(mine), csat=0.0), mine)
        groups = department_groups(tallies, K)
        named = {g.title for g in groups if not g.merged}
        for group in groups:
            members = [
                i
                for i in mine
                if (i.department == group.title) or (group.merged and i.department not in named)
            ]
            assert group.title != OTHER_DEPARTMENTS or group.merged
            seen.add("overall", Score(n=group.counts.n, csat=0.0), members)
    return seen


def _targets(items: list[Item], measure: Measure) -> list[frozenset[int]]:
    """Every natural small group (1 to K − 1 people) the attacker tries to isolate."""
    having = [i for i in items if measure == "overall" or i.parameter is not None]
    found: set[frozenset[int]] = {frozenset({i.label}) for i in having}
    for window in WINDOWS:
        mine = [i for i in having if i.window == window.id]
        found.add(frozenset(i.label for i in mine))
        for unit in (month_of, quarter_of):
            parts: dict[Period, set[int]] = {}
            for item in mine:
                parts.setdefault(unit(item.day), set()).add(item.label)
            found.update(frozenset(part) for part in parts.values())
        by_department: dict[str | None, set[int]] = {}
        for item in mine:
            by_department.setdefault(item.department, set()).add(item.label)
        found.update(frozenset(part) for part in by_department.values())
    calendar = [i for i in having if i.window is None]
    for unit in (month_of, quarter_of):
        for key in (lambda i: None, lambda i: i.service, lambda i: i.channel):
            cells: dict[tuple[Period, str | None], set[int]] = {}
            for item in calendar:
                cells.setdefault((unit(item.day), key(item)), set()).add(item.label)
            found.update(frozenset(part) for part in cells.values())
    return [t for t in found if 0 < len(t) < K]


def _leaks(items: list[Item], groups: dict[Measure, set[frozenset[int]]]) -> list[frozenset[int]]:
    leaks: list[frozenset[int]] = []
    labels = [i.label for i in items]
    for measure, published in groups.items():
        space = RowSpace(labels, published)  # type: ignore[arg-type]
        leaks += [t for t in _targets(items, measure) if space.derivable(t)]  # type: ignore[arg-type]
    return leaks


@pytest.fixture
async def seeded(sessions: async_sessionmaker[AsyncSession]) -> list[Item]:
    async with sessions() as session:
        if session.get_bind().dialect.name != "sqlite":
            pytest.skip("the same SQL on both backends; one is enough for the algebra")
    items = _seed()
    await _store(sessions, items)
    return items


async def test_differencing_windows_against_calendar_figures_isolates_nobody(
    sessions: async_sessionmaker[AsyncSession], seeded: list[Item]
) -> None:
    seen = await _ask_everything(sessions, seeded)
    # The data has small groups of every kind, and the officer saw many figures.
    assert len(_targets(seeded, "overall")) > 100
    assert seen.figures > 60
    assert len(seen.groups["parameter"]) >= 4

    assert _leaks(seeded, seen.groups) == []


async def test_the_same_views_leak_when_windows_are_pooled_into_calendar_figures(
    sessions: async_sessionmaker[AsyncSession], seeded: list[Item]
) -> None:
    """The control: calendar figures counting window answers (as before), shown when they
    alone reach K, beside the windows' own results."""
    seen = await _ask_everything(sessions, seeded)
    pooled: dict[Measure, set[frozenset[int]]] = {m: set(g) for m, g in seen.groups.items()}
    for period in _periods():
        for audience in ("external", "internal"):
            group = frozenset(
                i.label
                for i in seeded
                if _in(period)(i) and AUDIENCES[i.questionnaire] == audience
            )
            if len(group) >= K:
                pooled["overall"].add(group)
    leaks = _leaks(seeded, pooled)
    # The hidden windows come back: a period's pooled total minus the shown windows' results.
    for hidden in (2, 12):
        assert frozenset(i.label for i in seeded if i.window == hidden) in leaks


# --- the two examples of the review, as plain tests ----------------------------------------


async def test_a_window_of_25_and_two_ratings_give_no_calendar_figure_of_27(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    await add_window(sessions, 1, "deep", NOVEMBER.start, NOVEMBER.end)
    store = ResponseStore(sessions)

    async def save(day: date, score: int, questionnaire: str, window: int | None) -> None:
        await store.save(
            CompletedResponse(
                questionnaire_id=questionnaire,
                questionnaire_version=1,
                kind=questionnaire,
                audience="external",
                context=ResponseContext("s1", "c1", None),
                submitted_on=day,
                answers=(AnswerRow("overall", number=score), AnswerRow("speed", number=4)),
                window_id=window,
            )
        )

    for index in range(25):
        await save(date(2026, 11, 1 + index), 1 + index % 5, "deep", 1)
    await save(date(2026, 11, 3), 1, "rating", None)
    await save(date(2026, 11, 20), 2, "rating", None)

    async def november() -> Score:
        report = await build_report(
            sessions, roles=ROLES_W, titles=titles, period=NOVEMBER, scope=Scope(), min_group=K
        )
        return report.overall

    # Before: 27 shown, and 27 − 25 (the window's results) gave the two ratings.
    assert (await november()).suppressed
    section = await parameter_section(
        sessions,
        roles=ROLES_W,
        period=NOVEMBER,
        previous=calendar_previous(NOVEMBER),
        scope=Scope(),
        min_group=K,
    )
    assert section is not None and section.rows[0].current.n == 25  # the window, whole
    # With five more ratings the calendar figure shows, and counts the ratings only.
    for day in range(21, 26):
        await save(date(2026, 11, day), 5, "rating", None)
    assert (await november()).n == 7


async def test_a_hidden_staff_window_counts_nowhere_and_departments_stay_in_their_window(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    store = ResponseStore(sessions)
    plan = (
        (21, Period(date(2026, 3, 2), date(2026, 3, 6)), (("a", 7), ("b", 7), ("c", 6))),
        (22, Period(date(2026, 9, 1), date(2026, 9, 4)), (("a", 3),)),
        (
            23,
            Period(date(2026, 11, 2), date(2026, 11, 6)),
            (("a", 6), ("b", 7), ("d", 6), ("c", 2)),
        ),
    )
    for window, span, departments in plan:
        await add_window(sessions, window, "staff", span.start, span.end)
        for department, count in departments:
            for _ in range(count):
                await store.save(
                    CompletedResponse(
                        questionnaire_id="staff",
                        questionnaire_version=1,
                        kind="staff",
                        audience="internal",
                        context=ResponseContext(None, None, None),
                        submitted_on=span.start,
                        answers=(AnswerRow("overall", number=4), AnswerRow("tools", number=3)),
                        window_id=window,
                        department=department,
                    )
                )

    async def staff(period: Period) -> tuple[int, list[str | None]]:
        report = await internal_report(
            sessions,
            roles=ROLES_W,
            period=period,
            previous=calendar_previous(period),
            department_titles=DEPARTMENTS,
            min_group=K,
        )
        return report.overall.n, [row.key for row in report.departments]

    first_half = Period(date(2026, 1, 1), date(2026, 6, 30))
    # Before: 20 + 3 = 23 in the first nine months against the shown window of 20.
    assert await staff(Period(date(2026, 1, 1), date(2026, 9, 30))) == (20, ["a", "b", "c"])
    assert await staff(Period(date(2026, 7, 1), date(2026, 9, 30))) == (0, [])  # hidden alone
    assert await staff(first_half) == (20, ["a", "b", "c"])
    # «a» is shown in March and merged in November: never summed over the two windows.
    assert await staff(Period(date(2026, 10, 1), date(2026, 12, 31))) == (21, ["b", "d", None])
    assert await staff(YEAR) == (41, [])
    # The staff's calendar report has no window answers at all.
    report = await build_report(
        sessions,
        roles=ROLES_W,
        titles=titles,
        period=YEAR,
        scope=Scope(audience="internal"),
        min_group=K,
    )
    assert report.overall.suppressed


# --- open-answer category counts ----------------------------------------------------------


async def test_category_counts_leave_poll_windows_out(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    """The review's attack on the category counts (report message, workbook, export,
    /comments): October's report of s1 shows 6 comments about queues; a hidden deep-poll
    window of 3 (service s1) wrote about queues too, and a shown window of 10 is split across
    s1 and s2. Counts pooling the windows showed "queue" 9 for s1 (9 - 6 = the hidden window's
    three, with their service and topic) and split the shown window by service. Counts must
    sum exactly the answers the report counts: those outside windows."""
    from services.open_answers import OpenAnswersService
    from tests.open_answers.conftest import build
    from tests.reports.conftest import Responses

    october = Period(date(2026, 10, 1), date(2026, 10, 31))
    hidden, shown = 21, 22
    await add_window(sessions, hidden, "deep", date(2026, 10, 5), date(2026, 10, 9))
    await add_window(sessions, shown, "deep", date(2026, 10, 12), date(2026, 10, 20))
    responses = Responses(ResponseStore(sessions))
    for day in (3, 9, 14, 20, 27, 30):
        await responses.add(date(2026, 10, day), 4, service="s1", comment="Большая очередь")
    for day in (5, 6, 7):
        await responses.add(
            date(2026, 10, day),
            2,
            service="s1",
            comment="Очередь",
            questionnaire="deep",
            window=hidden,
        )
    for index in range(10):
        await responses.add(
            date(2026, 10, 12 + index % 5),
            3,
            service="s1" if index < 5 else "s2",
            comment="Долго ждали в очереди",
            questionnaire="deep",
            window=shown,
        )
    from questionnaires.open_answers import load_categories

    reporting, service = build(sessions, load_categories())
    assert isinstance(service, OpenAnswersService)

    def shown_counts(counts: object) -> dict[str, int | None]:
        rows = counts.categories  # type: ignore[attr-defined]
        return {r.category: None if r.suppressed else r.respondents for r in rows}

    for scope in (Scope(), Scope(service="s1")):
        report = await reporting.report(october, scope)
        assert report.overall.n == 6  # the calendar report counts no window
        counts = await service.counts(october, scope, published=True)
        assert counts.respondents == 6, (scope, counts.respondents)
        assert shown_counts(counts) == {"queue": 6}, scope
    s2 = await service.counts(october, Scope(service="s2"), published=True)
    assert s2.respondents == 0 and shown_counts(s2) == {}
    # The store itself hands out no window's answer or re-tag.
    store = OpenAnswerStore(sessions)
    answers = await store.answers(
        audience="external",
        start=october.start,
        end=october.end,
        comment_questions={"rating": ("comment",), "deep": ("hindered",)},
    )
    assert len(answers) == 6 and all(a.window_id is None for a in answers)
