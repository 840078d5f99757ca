"""Closed months are read once per process (reports.metrics, the month memo): on random data
the reports give the figures read anew from the database, plans and problems included, and a
month whose responses changed since it was remembered is read again."""

from __future__ import annotations

import asyncio
import random
from datetime import date
from typing import Any

import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from reports import metrics
from reports.disclosure import clear_plan_cache
from reports.model import Period, Scope
from storage.responses import ResponseStore
from tests.reports.conftest import ROLES, Responses, titles
from tests.reports.test_report_copy import _random_responses

#: Whole months, all closed (the responses are of December 2025 to early July 2026).
PERIOD = Period(date(2026, 4, 1), date(2026, 6, 30))
PREVIOUS = Period(date(2026, 1, 1), date(2026, 3, 31))
SPAN = Period(PREVIOUS.start, PERIOD.end)


async def _report(sessions: async_sessionmaker[AsyncSession], scope: Scope) -> object:
    return await metrics.build_report(
        sessions,
        roles=ROLES,
        titles=titles,
        period=PERIOD,
        scope=scope,
        previous=PREVIOUS,
        min_group=3,
    )


async def _sections(sessions: async_sessionmaker[AsyncSession]) -> tuple[object, ...]:
    async with metrics._snapshot(sessions) as session:
        atoms = await metrics._atoms_of(
            session, ROLES, "external", SPAN, "month", [PERIOD, PREVIOUS]
        )
        problems = await metrics._problems(
            session, ROLES, "external", PERIOD, negative_at_most=2, grain="month"
        )
    return atoms, sorted(problems, key=repr)


@pytest.fixture
def closed_until(monkeypatch: pytest.MonkeyPatch) -> None:
    """Today as the reports see it: every month of the data is closed."""
    monkeypatch.setattr(metrics, "_utc_today", lambda: date(2026, 12, 1))


@pytest.mark.usefixtures("closed_until")
async def test_remembered_months_give_the_figures_read_anew(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    store = ResponseStore(sessions, overall=ROLES.overall)
    made = _random_responses(random.Random(20261201), ROLES)
    await asyncio.gather(*(store.save(response) for response in made))
    scopes = [Scope(), Scope(service="s1"), Scope(channel="c2"), Scope(life_situation="l1")]

    metrics.clear_month_memo()
    read = [await _report(sessions, scope) for scope in scopes]
    sections_read = await _sections(sessions)
    assert metrics._memo_of_engine(sessions)  # the closed months are remembered
    clear_plan_cache()
    remembered = [await _report(sessions, scope) for scope in scopes]
    assert remembered == read
    assert await _sections(sessions) == sections_read
    # Remembered in another order of scopes, and the plans made from remembered atoms.
    metrics.clear_month_memo()
    clear_plan_cache()
    again = [await _report(sessions, scope) for scope in reversed(scopes)]
    assert again[::-1] == read


async def test_a_month_whose_responses_changed_is_read_again(
    sessions: async_sessionmaker[AsyncSession], closed_until: None
) -> None:
    responses = Responses(ResponseStore(sessions, overall=ROLES.overall))
    for day in (date(2026, 2, 3), date(2026, 5, 12)):
        await responses.scores(day, [5, 4, 4, 2], service="s1")
        await responses.scores(day, [3, 3, 1], service="s2")
    metrics.clear_month_memo()
    before = await _report(sessions, Scope())
    assert before.overall.n == 7  # type: ignore[attr-defined]
    # A response written late for a closed month (as tests and imports would): counted.
    await responses.add(date(2026, 5, 20), 1, service="s2", problems=["queue"])
    after = await _report(sessions, Scope())
    assert after.overall.n == 8  # type: ignore[attr-defined]
    metrics.clear_month_memo()
    assert await _report(sessions, Scope()) == after


async def test_only_closed_months_are_remembered(
    sessions: async_sessionmaker[AsyncSession], monkeypatch: pytest.MonkeyPatch
) -> None:
    responses = Responses(ResponseStore(sessions, overall=ROLES.overall))
    await responses.scores(date(2026, 6, 29), [5, 4, 4, 2, 3])
    await responses.scores(date(2026, 4, 2), [5, 4, 1])
    # June ended yesterday (UTC): a body's day may still be June 30, so June is not closed.
    monkeypatch.setattr(metrics, "_utc_today", lambda: date(2026, 7, 1))
    metrics.clear_month_memo()
    await _report(sessions, Scope())
    assert sorted(month for _, month in metrics._memo_of_engine(sessions)) == [
        date(2026, 1, 1),
        date(2026, 2, 1),
        date(2026, 3, 1),
        date(2026, 4, 1),
        date(2026, 4, 1),
        date(2026, 5, 1),
        date(2026, 5, 1),
    ]
    # Written on June 30 after the report: read, since June was never remembered.
    await responses.scores(date(2026, 6, 30), [1])
    report = await _report(sessions, Scope())
    assert report.overall.n == 9  # type: ignore[attr-defined]


def test_the_months_asked_for_again_are_the_last_dropped(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(metrics, "MEMO_ATOMS", 3)
    memo = metrics._MonthMemo()
    january, february, march = date(2025, 1, 1), date(2025, 2, 1), date(2025, 3, 1)
    for month in (january, february, march):
        memo.put("atoms", month, 10, month.month, 1)
    # January is asked for again (a report's next reader); then one more month is put.
    assert memo.remembered("atoms", {january: 10}) == {january: 1}
    memo.put("problems", january, 10, "options", 1)
    # Past the bound the month asked for least recently went (February), not January:
    # dropping the oldest put made every report past the bound read again what the one
    # before had just read (issue 15: the problems 31x slower at 3M answers than at 1M).
    assert memo.remembered("atoms", {january: 10, february: 10, march: 10}) == {
        january: 1,
        march: 3,
    }
    assert memo.remembered("problems", {january: 10}) == {january: "options"}


def test_a_years_months_at_three_million_answers_are_remembered() -> None:
    # The bench's 3M answers (bench/report_bench.py): a year's atoms 45,421 and its problems'
    # option rows 144,488, month by month; a half-year against the one before needs 118,235.
    assert metrics.MEMO_ATOMS >= 45_421 + 144_488


# --- what a warm report derives from remembered months (metrics._derive) -----------------


def _counting(monkeypatch: pytest.MonkeyPatch, *names: str) -> dict[str, int]:
    """Count the calls of ``names`` in reports.metrics (still doing their work)."""
    calls = dict.fromkeys(names, 0)
    for name in names:
        original = getattr(metrics, name)

        def counted(*args: object, _name: str = name, _original: Any = original, **kw: Any) -> Any:
            calls[_name] += 1
            return _original(*args, **kw)

        monkeypatch.setattr(metrics, name, counted)
    return calls


async def _report_of(
    sessions: async_sessionmaker[AsyncSession], scope: Scope, min_group: int
) -> object:
    return await metrics.build_report(
        sessions,
        roles=ROLES,
        titles=titles,
        period=PERIOD,
        scope=scope,
        previous=PREVIOUS,
        min_group=min_group,
    )


@pytest.mark.usefixtures("closed_until")
async def test_a_warm_report_of_remembered_months_folds_nothing_again(
    sessions: async_sessionmaker[AsyncSession], monkeypatch: pytest.MonkeyPatch
) -> None:
    store = ResponseStore(sessions, overall=ROLES.overall)
    made = _random_responses(random.Random(20261202), ROLES)
    await asyncio.gather(*(store.save(response) for response in made))
    scopes = [Scope(), Scope(service="s1"), Scope(channel="c2"), Scope(life_situation="l1")]
    asked = [(scope, k) for scope in scopes for k in (3, 5)]

    metrics.clear_month_memo()
    clear_plan_cache()
    # Read from the database, remembered, assembled, and what is derived kept.
    cold = [await _report_of(sessions, scope, k) for scope, k in asked]
    calls = _counting(monkeypatch, "_fold", "_group_rows", "_problem_rows")
    warm = [await _report_of(sessions, scope, k) for scope, k in asked]
    again = [await _report_of(sessions, scope, k) for scope, k in asked]
    assert warm == cold
    assert again == cold
    # From the second time on every scope's figures came from what the first one derived.
    assert calls == {"_fold": 0, "_group_rows": 0, "_problem_rows": 0}


@pytest.mark.usefixtures("closed_until")
async def test_a_late_answer_counts_after_warm_reports(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    responses = Responses(ResponseStore(sessions, overall=ROLES.overall))
    for day in (date(2026, 2, 3), date(2026, 5, 12)):
        for score in (5, 4, 4, 2):
            await responses.add(day, score, service="s1", problems=["queue"])
        for score in (3, 3, 1):
            await responses.add(day, score, service="s2", problems=["queue"])
    metrics.clear_month_memo()
    for _ in range(3):  # read, assembled from the memo, then served as derived
        before = await _report(sessions, Scope())
    assert before.overall.n == 7  # type: ignore[attr-defined]
    queue = [row for row in before.problems if row.option_id == "queue"]  # type: ignore[attr-defined]
    assert [row.respondents for row in queue] == [7]
    # A response written late for a closed month: its figures count at once.
    await responses.add(date(2026, 5, 20), 1, service="s2", problems=["queue"])
    after = await _report(sessions, Scope())
    assert after.overall.n == 8  # type: ignore[attr-defined]
    queue = [row for row in after.problems if row.option_id == "queue"]  # type: ignore[attr-defined]
    assert [row.respondents for row in queue] == [8]
    assert await _report(sessions, Scope()) == after
    metrics.clear_month_memo()
    clear_plan_cache()
    assert await _report(sessions, Scope()) == after


def test_assembled_again_once_a_month_is_read_again(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(metrics, "MEMO_ASSEMBLED", 2)
    memo = metrics._MonthMemo()
    january, february = date(2025, 1, 1), date(2025, 2, 1)
    memo.put("atoms", january, 10, ["january"], 1)
    memo.put("atoms", february, 10, ["february"], 1)
    made: list[object] = []

    def assemble() -> object:
        made.append(object())
        return made[-1]

    known = memo.remembered("atoms", {january: 10, february: 10})
    first = memo.assembled("span", known, assemble)
    assert (
        memo.assembled("span", memo.remembered("atoms", {january: 10, february: 10}), assemble)
        is first
    )
    # February read again (its number of responses changed): a new value, assembled anew.
    memo.put("atoms", february, 11, ["february"], 1)
    known = memo.remembered("atoms", {january: 10, february: 11})
    second = memo.assembled("span", known, assemble)
    assert second is not first
    # Past the bound the least recently asked for goes.
    memo.assembled("other", known, assemble)
    memo.assembled("third", known, assemble)
    assert memo.assembled("span", known, assemble) is not second
    assert len(made) == 5
