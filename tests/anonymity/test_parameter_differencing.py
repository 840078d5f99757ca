"""Parameters and key drivers: differencing every figure across periods and scopes isolates
nobody's rating of a parameter.

The deep poll is answered in poll windows, and parameters are sums over whole shown windows
(reports.parameters): a parameter is asked of fewer people than the overall question (show_if,
"cannot rate"), so a window adds its ratings of a parameter only when at least ``k`` gave
them. Here a year of windows (some too small to be shown, some across month and quarter edges)
is answered; the officer asks the parameters and drivers of every closed month, quarter,
half-year and the year, for all services and for each, and writes down each figure as the set
of atoms it sums (only atoms where the parameter was rated count). The attacker from
tests/anonymity/test_officer_differencing.py solves the system and tries every small group
(each atom, day, month, service... and each window and each window's part of a month); a
publisher applying the threshold view by view leaks on the same data.
"""

from __future__ import annotations

import random
from dataclasses import replace
from datetime import date, timedelta
from typing import Final

import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from questionnaires.results import AnswerRow, CompletedResponse, ResponseContext
from reports.disclosure import Atom, Cell
from reports.model import Period, Scope
from reports.parameters import parameter_section
from reports.periods import calendar_previous, month_of, quarter_of
from storage.responses import ResponseStore
from tests.anonymity.test_officer_differencing import (
    CHANNELS,
    SERVICES,
    SITUATIONS,
    YEAR,
    Published,
    RowSpace,
    _leaks,
    _requestable,
    _targets,
    _where,
)
from tests.reports.conftest import ROLES, add_window
from tests.storage.conftest import database, engine, sessions

__all__ = ["database", "engine", "sessions"]

K: Final = 5
ROLES_WITH_SPEED: Final = replace(ROLES, parameters={"deep": ("speed",)})


Window = tuple[int, Period]


def _windows() -> list[Window]:
    """Deep-poll windows over the year: 3 to 40 days, gaps between, across month edges."""
    rng = random.Random(12)
    windows: list[Window] = []
    day = YEAR.start + timedelta(days=rng.randint(0, 10))
    while day <= YEAR.end:
        end = min(day + timedelta(days=rng.choice((2, 4, 9, 15, 25, 39))), YEAR.end)
        windows.append((len(windows) + 1, Period(day, end)))
        day = end + timedelta(days=rng.randint(1, 20))
    return windows


def _window_of(day: date, windows: list[Window]) -> int | None:
    return next((i for i, span in windows if span.start <= day <= span.end), None)


def _seed(windows: list[Window]) -> list[tuple[Atom, int | None, int]]:
    """(atom, speed score or None when not asked, overall) for about 1.3 answers a day, on the
    days of the windows."""
    rng = random.Random(11)
    seeded: list[tuple[Atom, int | None, int]] = []
    day = YEAR.start
    while day <= YEAR.end:
        count = rng.choice((0, 0, 1, 1, 2, 3))
        if _window_of(day, windows) is None:
            count = 0
        for _ in range(count):
            cell: Cell = (
                rng.choices(SERVICES, weights=(6, 3, 1))[0],
                rng.choices(CHANNELS, weights=(4, 1))[0],
                rng.choices(SITUATIONS, weights=(3, 1))[0],
            )
            speed = rng.randint(1, 5) if rng.random() < 0.5 else None
            seeded.append(((day, cell), speed, rng.randint(1, 5)))
        day += timedelta(days=1)
    return seeded


async def _store(
    sessions: async_sessionmaker[AsyncSession],
    seeded: list[tuple[Atom, int | None, int]],
    windows: list[Window],
) -> None:
    for window, span in windows:
        await add_window(sessions, window, "deep", span.start, span.end)
    store = ResponseStore(sessions)
    for (day, cell), speed, overall in seeded:
        answers = [AnswerRow("overall", number=overall)]
        if speed is not None:
            answers.append(AnswerRow("speed", number=speed))
        await store.save(
            CompletedResponse(
                questionnaire_id="deep",
                questionnaire_version=1,
                kind="deep",
                audience="external",
                context=ResponseContext(*cell),
                submitted_on=day,
                answers=tuple(answers),
                window_id=_window_of(day, windows),
            )
        )


def _rated(seeded: list[tuple[Atom, int | None, int]]) -> dict[Atom, tuple[int, int]]:
    counts: dict[Atom, int] = {}
    for atom, speed, _ in seeded:
        if speed is not None:
            counts[atom] = counts.get(atom, 0) + 1
    return {atom: (n, n) for atom, n in counts.items()}


def _contributing(
    seeded: list[tuple[Atom, int | None, int]], windows: list[Window], period: Period
) -> frozenset[Atom]:
    """The atoms a parameter figure of ``period`` sums: its shown windows (run wholly inside,
    at least K respondents) where at least K rated the parameter."""
    respondents: dict[int, int] = {}
    raters: dict[int, int] = {}
    for (day, _), speed, _ in seeded:
        window = _window_of(day, windows)
        assert window is not None
        respondents[window] = respondents.get(window, 0) + 1
        raters[window] = raters.get(window, 0) + (speed is not None)
    wanted = {
        window
        for window, span in windows
        if period.start <= span.start
        and span.end <= period.end
        and respondents.get(window, 0) >= K
        and raters.get(window, 0) >= K
    }
    return frozenset(
        atom
        for atom, speed, _ in seeded
        if speed is not None and _window_of(atom[0], windows) in wanted
    )


def _window_targets(
    rated: dict[Atom, tuple[int, int]], windows: list[Window]
) -> list[frozenset[Atom]]:
    """Each window, and each window's part of each month and quarter, when it is small."""
    found: set[frozenset[Atom]] = set()
    for _, span in windows:
        inside = [a for a in rated if span.start <= a[0] <= span.end]
        found.add(frozenset(inside))
        for unit in (month_of, quarter_of):
            parts: dict[Period, set[Atom]] = {}
            for atom in inside:
                parts.setdefault(unit(atom[0]), set()).add(atom)
            found.update(frozenset(part) for part in parts.values())
    return [t for t in found if 0 < sum(rated[a][1] for a in t) < K]


def _ordered(atoms: frozenset[Atom]) -> list[Atom]:
    return sorted(atoms, key=lambda a: (a[0], [(v is None, v or "") for v in a[1]]))


def _periods() -> list[Period]:
    return [p for p in _requestable() if p.days >= 28]  # weeks show no figures by default


async def test_differencing_parameters_and_drivers_isolates_nobody(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    async with sessions() as session:
        if session.get_bind().dialect.name != "sqlite":
            pytest.skip("the same SQL on both backends; one is enough for the algebra")
    windows = _windows()
    seeded = _seed(windows)
    await _store(sessions, seeded, windows)
    rated = _rated(seeded)
    published = Published(frozenset(rated))
    shown = drivers = 0
    for period in _periods():
        previous = calendar_previous(period)
        for service in (None, *SERVICES):
            section = await parameter_section(
                sessions,
                roles=ROLES_WITH_SPEED,
                period=period,
                previous=previous,
                scope=Scope(service=service),
                min_group=K,
                min_pairs=K,  # as many drivers as possible: the attacker's best case
            )
            if service is not None:
                assert section is None  # a window is reported whole, never per service
                continue
            assert section is not None
            [row] = section.rows
            for score, when in ((row.current, period), (row.previous, previous)):
                if not score.suppressed:
                    group = _contributing(seeded, windows, when)
                    published.groups.add(group)
                    assert score.n == sum(rated[a][0] for a in group)  # honest figures
                    shown += 1
            [driver] = section.drivers
            if not driver.suppressed:
                group = _contributing(seeded, windows, period)
                published.groups.add(group)
                assert driver.pairs == sum(rated[a][0] for a in group)
                drivers += 1
    # The data has many small groups, and the officer saw many figures.
    small_windows = _window_targets(rated, windows)
    assert sum(1 for t in _targets(published.atoms, rated) if len(t) == 1) > 50
    assert len(small_windows) > 5
    assert shown > 10 and drivers > 5

    assert _leaks(published, rated) == []
    space = RowSpace(_ordered(published.atoms), published.groups)
    assert [t for t in small_windows if space.derivable(t)] == []

    # The control: the same views, each shown when it alone has ≥ K ratings, leak.
    naive = Published(published.atoms)
    for period in _periods():
        for service in (None, *SERVICES):
            group = frozenset(a for a in naive.atoms if _where(period, service)(a))
            if sum(rated[a][0] for a in group) >= K:
                naive.groups.add(group)
    assert _leaks(naive, rated)
    # And so do whole-period sums of every window, hidden ones and cut ones included.
    pooled = Published(published.atoms)
    for period in _periods():
        group = frozenset(a for a in pooled.atoms if _where(period)(a))
        if sum(rated[a][0] for a in group) >= K:
            pooled.groups.add(group)
    space = RowSpace(_ordered(pooled.atoms), pooled.groups)
    assert [t for t in small_windows if space.derivable(t)]
