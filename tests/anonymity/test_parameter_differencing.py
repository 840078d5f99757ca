"""Parameters and key drivers: differencing every figure across periods and scopes isolates
nobody's rating of a parameter.

A parameter is asked of fewer people than the overall question (show_if, "cannot rate"), so
the report's main plan, built on overall scores, is not enough: two publishable groups could
differ by one person who rated the parameter. Here the officer asks the parameters and drivers
of every closed month, quarter, half-year and the year, for all services and for each, and
writes down each figure as the set of atoms it sums (only atoms where the parameter was rated
count). The attacker from tests/anonymity/test_officer_differencing.py solves the system and
tries every small group; a publisher applying the threshold view by view leaks on the same data.
"""

from __future__ import annotations

import random
from dataclasses import replace
from datetime import timedelta
from typing import Final

import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from questionnaires.results import AnswerRow, CompletedResponse, ResponseContext
from reports.disclosure import Atom, Cell
from reports.model import Period, Scope
from reports.parameters import parameter_section
from reports.periods import calendar_previous
from storage.responses import ResponseStore
from tests.anonymity.test_officer_differencing import (
    CHANNELS,
    SERVICES,
    SITUATIONS,
    YEAR,
    Published,
    _leaks,
    _requestable,
    _targets,
    _where,
)
from tests.reports.conftest import ROLES
from tests.storage.conftest import database, engine, sessions

__all__ = ["database", "engine", "sessions"]

K: Final = 5
ROLES_WITH_SPEED: Final = replace(ROLES, parameters={"deep": ("speed",)})


def _seed() -> list[tuple[Atom, int | None, int]]:
    """(atom, speed score or None when not asked, overall) for about 1.3 answers a day."""
    rng = random.Random(11)
    seeded: list[tuple[Atom, int | None, int]] = []
    day = YEAR.start
    while day <= YEAR.end:
        for _ in range(rng.choice((0, 0, 1, 1, 2, 3))):
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
    sessions: async_sessionmaker[AsyncSession], seeded: list[tuple[Atom, int | None, int]]
) -> None:
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
            )
        )


def _rated(seeded: list[tuple[Atom, int | None, int]]) -> dict[Atom, tuple[int, int]]:
    counts: dict[Atom, int] = {}
    for atom, speed, _ in seeded:
        if speed is not None:
            counts[atom] = counts.get(atom, 0) + 1
    return {atom: (n, n) for atom, n in counts.items()}


def _periods() -> list[Period]:
    return [p for p in _requestable() if p.days >= 28]  # weeks show no figures by default


async def test_differencing_parameters_and_drivers_isolates_nobody(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    async with sessions() as session:
        if session.get_bind().dialect.name != "sqlite":
            pytest.skip("the same SQL on both backends; one is enough for the algebra")
    seeded = _seed()
    await _store(sessions, seeded)
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
            assert section is not None
            [row] = section.rows
            for score, when in ((row.current, period), (row.previous, previous)):
                if not score.suppressed:
                    group = published.add(_where(when, service))
                    assert score.n == sum(rated[a][0] for a in group)  # honest figures
                    shown += 1
            [driver] = section.drivers
            if not driver.suppressed:
                group = published.add(_where(period, service))
                assert driver.pairs == sum(rated[a][0] for a in group)
                drivers += 1
    # The data has many small groups, and the officer saw many figures.
    assert sum(1 for t in _targets(published.atoms, rated) if len(t) == 1) > 50
    assert shown > 20 and drivers > 10

    assert _leaks(published, rated) == []

    # The control: the same views, each shown when it alone has ≥ K ratings, leak.
    naive = Published(published.atoms)
    for period in _periods():
        for service in (None, *SERVICES):
            group = frozenset(a for a in naive.atoms if _where(period, service)(a))
            if sum(rated[a][0] for a in group) >= K:
                naive.groups.add(group)
    assert _leaks(naive, rated)
