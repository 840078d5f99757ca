"""Fake web respondents (review of 30 November): padding a group with one's own web answers.

With the web front on, anyone can be any number of respondents for free. An officer who knows
there is one genuine (Telegram) rating of a service in a month submits 4 web answers of their
own to the same service, asks for every view and period, and subtracts their own 4 from what
is shown. By default the web counts toward the threshold only in the web's own blocks
(``REPORTS__POOL_WEB_WITH_MESSENGERS=false``): the genuine rating stays in a group of at least
5 messenger answers, and the 4 fake ones are counted in no figure. The control, with the web
pooled with the messengers, gives the genuine rating back.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import date
from typing import Final

import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from reports.disclosure import pool_web_with_messengers, web_pooled
from reports.metrics import (
    anonymised_responses,
    build_report,
    csat_trend,
    problems_by_service,
)
from reports.model import Dimension, Period, ProblemRow, Scope, Score
from reports.periods import calendar_previous, month_of
from tests.anonymity.test_officer_differencing import (
    SERVICES,
    YEAR,
    K,
    Seeded,
    _requestable,
    _store,
)
from tests.reports.conftest import ROLES, titles
from tests.storage.conftest import database, engine, sessions

__all__ = ["database", "engine", "sessions"]

GENUINE_SCORE: Final = 2
OWN_SCORE: Final = 5  # the officer's 4 fake web answers
OWN: Final = 4
MARCH: Final = date(2025, 3, 12)

Vector = tuple[int, ...]  # respondents per score 1–5


def _seed() -> list[Seeded]:
    """Service a: one genuine Telegram rating in March, and the officer's 4 web answers in the
    same cell and month. Services b and c: 6 Telegram answers every month (scores 3 and 4)."""
    seeded: list[Seeded] = []

    def add(day: date, cell: tuple[str | None, ...], score: int) -> None:
        number = len(seeded)
        seeded.append(Seeded(number, day, cell, score, f"отзыв №{number}"))

    add(MARCH, ("a", "office", None, "telegram"), GENUINE_SCORE)
    for _ in range(OWN):
        add(MARCH, ("a", "office", None, "web"), OWN_SCORE)
    for month in range(1, 13):
        for service, score in (("b", 3), ("c", 4)):
            for day in range(6):
                add(date(2025, month, 1 + day), (service, "office", None, "telegram"), score)
    return seeded


def _vector(score: Score) -> Vector:
    return tuple(score.distribution.get(value, 0) for value in range(1, 6))


Figure = tuple[Vector, frozenset[int]]  # what is shown, and who the view is about
_POSITION: Final = {
    Dimension.SERVICE: 0,
    Dimension.CHANNEL: 1,
    Dimension.LIFE_SITUATION: 2,
    Dimension.FRONT: 3,
}


async def _shown(sessions: async_sessionmaker[AsyncSession], seeded: list[Seeded]) -> list[Figure]:
    """Every figure the officer can see, as respondents per score beside the people its view
    covers: overall, every breakdown row, this period and the previous one, the trend by month
    and the workbook's row groups, for every closed month, quarter, half-year and the year,
    all services and each."""
    shown: list[Figure] = []

    def about(period: Period, **fixed: str | None) -> frozenset[int]:
        return frozenset(
            item.number
            for item in seeded
            if period.start <= item.day <= period.end
            and all(
                item.cell[_POSITION[Dimension(name)]] == value for name, value in fixed.items()
            )
        )

    def add(score: Score, period: Period, **fixed: str | None) -> None:
        if not score.suppressed:
            shown.append((_vector(score), about(period, **fixed)))

    periods = [p for p in _requestable() if p.days >= 28 and YEAR.start <= p.start]
    for period in periods:
        previous = calendar_previous(period)
        for service in (None, *SERVICES):
            scope = Scope(service=service)
            fixed = {} if service is None else {"service": service}
            report = await build_report(
                sessions,
                roles=ROLES,
                titles=titles,
                period=period,
                scope=scope,
                min_group=K,
                min_comment_group=K,
                previous=previous,
            )
            add(report.overall, period, **fixed)
            add(report.overall_previous, previous, **fixed)
            for row in report.groups:
                keys = {**fixed, row.dimension.value: row.key}
                add(row.current, period, **keys)
                add(row.previous, previous, **keys)
            for point in await csat_trend(
                sessions, roles=ROLES, period=period, scope=scope, bucket="month", min_group=K
            ):
                month = month_of(point.bucket_start)
                span = Period(max(month.start, period.start), min(month.end, period.end))
                add(point.score, span, service=point.service)
            rows = await anonymised_responses(
                sessions,
                roles=ROLES,
                period=period,
                scope=scope,
                min_group=K,
                include_comments=False,
            )
            groups: dict[tuple[str, str, str, str | None], list[int]] = {}
            for response in rows:
                situation = response["life_situation"]
                key = (
                    str(response["date"]),
                    str(response["service"]),
                    str(response["channel"]),
                    None if situation is None else str(situation),
                )
                counts = groups.setdefault(key, [0] * 5)
                if isinstance(response["overall"], int):
                    counts[response["overall"] - 1] += 1
            for (label, *cell), counts in groups.items():
                month_number, year = (int(part) for part in label.split("."))
                month = month_of(date(year, month_number, 1))
                span = Period(max(month.start, period.start), min(month.end, period.end))
                shown.append(
                    (
                        tuple(counts),
                        about(span, service=cell[0], channel=cell[1], life_situation=cell[2]),
                    )
                )
    return shown


def _recovered(shown: list[Figure], own: frozenset[int]) -> set[Vector]:
    """Every single respondent the officer isolates: a figure, or the difference of two views
    one inside the other, minus any number of their own answers in it, leaving one person."""
    derived = set(shown)
    for one, about_one in shown:
        for other, about_other in shown:
            if about_other < about_one:
                difference = tuple(x - y for x, y in zip(one, other, strict=True))
                if all(value >= 0 for value in difference):
                    derived.add((difference, about_one - about_other))
    found: set[Vector] = set()
    for vector, about in derived:
        for mine in range(len(own & about) + 1):
            if vector[OWN_SCORE - 1] < mine:
                continue
            rest = list(vector)
            rest[OWN_SCORE - 1] -= mine
            if sum(rest) == 1:
                found.add(tuple(rest))
    return found


@pytest.fixture
async def stored(sessions: async_sessionmaker[AsyncSession]) -> AsyncIterator[list[Seeded]]:
    async with sessions() as session:
        if session.get_bind().dialect.name != "sqlite":
            pytest.skip("the officer's views are the same SQL on both; one backend is enough")
    seeded = _seed()
    await _store(sessions, seeded)
    before = web_pooled()
    try:
        yield seeded
    finally:
        pool_web_with_messengers(before)


def _own(seeded: list[Seeded]) -> frozenset[int]:
    return frozenset(item.number for item in seeded if item.cell[3] == "web")


GENUINE: Final = tuple(int(score == GENUINE_SCORE) for score in range(1, 6))


async def test_fake_web_answers_do_not_lift_a_genuine_rating_over_the_threshold(
    stored: list[Seeded], sessions: async_sessionmaker[AsyncSession]
) -> None:
    pool_web_with_messengers(False)  # the default
    shown = await _shown(sessions, stored)

    # The officer still sees figures (the totals, b and c), never their own 4 answers ...
    assert len(shown) > 5
    assert all(vector[OWN_SCORE - 1] == 0 for vector, _ in shown)
    # ... and no combination isolates anybody, the genuine rating least of all.
    assert _recovered(shown, _own(stored)) == set()


async def test_control_web_pooled_with_messengers_gives_the_genuine_rating_back(
    stored: list[Seeded], sessions: async_sessionmaker[AsyncSession]
) -> None:
    pool_web_with_messengers(True)  # REPORTS__POOL_WEB_WITH_MESSENGERS=true: the risk taken
    shown = await _shown(sessions, stored)

    assert GENUINE in _recovered(shown, _own(stored))


def _bases(rows: tuple[ProblemRow, ...]) -> set[float]:
    """The denominators a reader gets back from a list of shares: count / share."""
    return {row.respondents / row.prevalence for row in rows if not row.suppressed}


async def test_appendix2_problem_shares_give_back_no_other_base_than_the_report(
    stored: list[Seeded], sessions: async_sessionmaker[AsyncSession]
) -> None:
    """A lone genuine web respondent of service b in June (dropped: fewer than k web answers)
    who could name a problem. Appendix 2 lists each service's problem shares beside /report's:
    dividing a count by its share in each gives the two bases, and their difference would be
    the dropped web answers of the service. Every period and service: the same base."""
    pool_web_with_messengers(False)  # the default
    june = date(2025, 6, 12)  # b shows in June (in March a's lone rating hides it)
    lone = Seeded(len(stored), june, ("b", "office", None, "web"), GENUINE_SCORE, "с сайта")
    await _store(sessions, [lone])
    compared = 0
    for period in [p for p in _requestable() if p.days >= 28 and YEAR.start <= p.start]:
        previous = calendar_previous(period)
        by_service = await problems_by_service(
            sessions,
            roles=ROLES,
            period=period,
            audience="external",
            services=SERVICES,
            previous=previous,
            min_group=K,
        )
        for service in SERVICES:
            report = await build_report(
                sessions,
                roles=ROLES,
                titles=titles,
                period=period,
                scope=Scope(service=service),
                min_group=K,
                min_comment_group=K,
                previous=previous,
            )
            if report.overall.suppressed:
                continue
            assert _bases(by_service[service]) == _bases(report.problems), (period, service)
            compared += bool(report.problems) and period.start <= june <= period.end
    assert compared  # service b's June figures were among them
