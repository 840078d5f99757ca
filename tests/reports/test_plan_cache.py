"""The disclosure plans' cache is keyed by everything a plan depends on: it is never stale."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from reports import disclosure
from reports.disclosure import Atom, Plan, clear_plan_cache, make_plan, plan
from reports.model import Period

MONTH = Period(date(2026, 3, 1), date(2026, 3, 31))


def _sizes() -> dict[Atom, int]:
    return {
        (date(2026, 3, 2), ("s1", "c1", None)): 3,
        (date(2026, 3, 9), ("s1", "c2", None)): 2,
        (date(2026, 3, 16), ("s2", "c1", None)): 4,
    }


def test_the_same_data_reuses_the_plan() -> None:
    clear_plan_cache()
    first = plan(MONTH, _sizes(), 5)
    assert plan(MONTH, _sizes(), 5) is first
    assert first == make_plan(MONTH, _sizes(), 5)


def test_a_late_answer_for_a_closed_day_gives_the_new_plan() -> None:
    # An import may add answers to a month already reported: the cached plan must not serve.
    clear_plan_cache()
    before = plan(MONTH, _sizes(), 5)
    late = _sizes()
    late[(date(2026, 3, 16), ("s2", "c1", None))] += 1  # s2 now fills a block alone
    after = plan(MONTH, late, 5)
    assert after == make_plan(MONTH, late, 5)
    assert after.blocks != before.blocks


def test_threshold_and_weekly_are_part_of_the_key() -> None:
    clear_plan_cache()
    assert plan(MONTH, _sizes(), 5).blocks != plan(MONTH, _sizes(), 10).blocks
    assert plan(MONTH, _sizes(), 3, weekly=True) == make_plan(MONTH, _sizes(), 3, weekly=True)
    assert plan(MONTH, _sizes(), 3) == make_plan(MONTH, _sizes(), 3)


def test_the_cache_stays_small(monkeypatch: pytest.MonkeyPatch) -> None:
    clear_plan_cache()
    monkeypatch.setattr(disclosure._plans, "limit", 30)
    sizes = _sizes()
    for k in range(1, 40):
        plan(MONTH, sizes, k)
    # Bounded by the atoms the kept plans hold, not by their number: the newest ten here.
    assert disclosure._plans.atoms == 30
    assert [key[1] for key in disclosure._plans.plans] == list(range(30, 40))
    # The report's data and the delivered /report of a half-year of the bench's million
    # answers hold 126,417 atoms together: both fit, and neither evicts the other's plans.
    assert disclosure.PLAN_CACHE_ATOMS >= 130_000


def test_a_reports_worth_of_plans_stays_cached(monkeypatch: pytest.MonkeyPatch) -> None:
    # One /report asks for 20 and more plans (the periods, every problem option and open-answer
    # category, ...) in turn, again for the next officer: a cache of 16 plans evicted each
    # before it was asked for again, so none was ever reused.
    clear_plan_cache()
    made: list[int] = []
    real = disclosure.make_plan

    def counted(
        period: Period,
        sizes: dict[Atom, int],
        k: int,
        *,
        weekly: bool = False,
        pool_web: bool | None = None,
    ) -> Plan:
        made.append(k)
        return real(period, sizes, k, weekly=weekly, pool_web=pool_web)

    monkeypatch.setattr(disclosure, "make_plan", counted)
    for _ in range(3):
        for k in range(1, 41):
            plan(MONTH, _sizes(), k)
    assert len(made) == 40


def test_sizes_of_the_same_number_and_total_are_told_apart() -> None:
    # The cache's bucket is the number of atoms and their total: within it the sizes are
    # compared whole, so the same counts on other days, or moved between cells, give their own
    # plan.
    clear_plan_cache()
    first = _sizes()
    later = {(day + timedelta(days=7), cell): size for (day, cell), size in first.items()}
    moved = dict(first)
    moved[(date(2026, 3, 2), ("s1", "c1", None))] += 1
    moved[(date(2026, 3, 16), ("s2", "c1", None))] -= 1
    for other in (later, moved):
        assert len(other) == len(first) and sum(other.values()) == sum(first.values())
    before = plan(MONTH, first, 3)
    for other in (later, moved):
        found = plan(MONTH, other, 3)
        assert found == make_plan(MONTH, other, 3) and found is not before
        assert plan(MONTH, other, 3) is found
    assert plan(MONTH, later, 3).blocks != before.blocks
    assert plan(MONTH, first, 3) is before
    # A caller changing its dict afterwards does not change what the cache holds.
    first[(date(2026, 3, 2), ("s1", "c1", None))] += 1
    first[(date(2026, 3, 16), ("s2", "c1", None))] -= 1
    assert plan(MONTH, first, 3) is plan(MONTH, moved, 3)
