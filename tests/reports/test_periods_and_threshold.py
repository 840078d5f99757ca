"""Report periods in the body's calendar, and the anonymity threshold rules on plain counts."""

from __future__ import annotations

import random
from collections.abc import Callable
from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

import pytest

from reports.disclosure import Atom, PeriodKind, last_closed, make_plan, plan
from reports.metrics import Counts, score_of
from reports.model import Period
from reports.periods import (
    calendar_previous,
    half_of,
    half_year_as_of,
    last_month,
    last_week,
    local_today,
    month_of,
    quarter_of,
    segment_of,
    week_of,
    year_of,
)

# --- periods --------------------------------------------------------------------------------


def test_a_week_runs_monday_to_sunday() -> None:
    assert week_of(date(2025, 3, 12)) == Period(date(2025, 3, 10), date(2025, 3, 16))
    assert week_of(date(2025, 3, 10)) == week_of(date(2025, 3, 16))
    assert week_of(date(2025, 1, 1)) == Period(date(2024, 12, 30), date(2025, 1, 5))


def test_last_week_is_the_full_week_before_the_current_one() -> None:
    assert last_week(date(2025, 3, 10)) == Period(date(2025, 3, 3), date(2025, 3, 9))
    assert last_week(date(2025, 3, 16)) == Period(date(2025, 3, 3), date(2025, 3, 9))


def test_months_and_quarters_follow_the_calendar() -> None:
    assert month_of(date(2024, 2, 10)) == Period(date(2024, 2, 1), date(2024, 2, 29))
    assert month_of(date(2025, 12, 31)) == Period(date(2025, 12, 1), date(2025, 12, 31))
    assert last_month(date(2025, 1, 15)) == Period(date(2024, 12, 1), date(2024, 12, 31))
    assert quarter_of(date(2025, 5, 5)) == Period(date(2025, 4, 1), date(2025, 6, 30))
    assert quarter_of(date(2025, 12, 1)) == Period(date(2025, 10, 1), date(2025, 12, 31))


@pytest.mark.parametrize(
    ("as_of", "expected"),
    [
        (date(2025, 7, 1), Period(date(2025, 1, 1), date(2025, 6, 30))),  # "as of 1 July"
        (date(2025, 6, 30), Period(date(2025, 1, 1), date(2025, 6, 30))),
        (date(2025, 12, 30), Period(date(2025, 1, 1), date(2025, 6, 30))),
        (date(2025, 12, 31), Period(date(2025, 7, 1), date(2025, 12, 31))),  # "as of 31 Dec"
        (date(2026, 1, 20), Period(date(2025, 7, 1), date(2025, 12, 31))),
        (date(2026, 6, 29), Period(date(2025, 7, 1), date(2025, 12, 31))),
    ],
)
def test_the_half_year_as_of_a_day_is_the_latest_one_ended_by_it(
    as_of: date, expected: Period
) -> None:
    assert half_year_as_of(as_of) == expected


def test_the_comparison_period_is_the_previous_calendar_unit_or_equal_days() -> None:
    march = month_of(date(2025, 3, 1))
    assert calendar_previous(march) == month_of(date(2025, 2, 1))
    assert calendar_previous(quarter_of(date(2025, 4, 1))) == quarter_of(date(2025, 1, 1))
    second_half = half_year_as_of(date(2025, 12, 31))
    assert calendar_previous(second_half) == Period(date(2025, 1, 1), date(2025, 6, 30))
    week = week_of(date(2025, 3, 12))
    assert calendar_previous(week) == week.previous() == last_week(date(2025, 3, 12))


def test_today_is_the_calendar_day_in_the_bodys_time_zone() -> None:
    late_evening_utc = datetime(2025, 3, 9, 20, 0, tzinfo=UTC)
    assert local_today(late_evening_utc, ZoneInfo("Asia/Yakutsk")) == date(2025, 3, 10)
    assert local_today(late_evening_utc, ZoneInfo("Europe/Moscow")) == date(2025, 3, 9)
    with pytest.raises(ValueError, match="naive"):
        local_today(datetime(2025, 3, 9, 20, 0), ZoneInfo("Asia/Yakutsk"))


# --- the threshold on plain counts ----------------------------------------------------------


def counts(*by_score: int, cannot_rate: int = 0) -> Counts:
    return Counts(list(by_score), cannot_rate)


def test_a_score_below_the_threshold_carries_no_figures_not_even_its_count() -> None:
    hidden = score_of(counts(0, 0, 1, 1, 2), min_group=5)
    shown = score_of(counts(0, 0, 1, 2, 2), min_group=5)

    assert hidden.suppressed and hidden.n == 0 and hidden.distribution == {}
    assert not shown.suppressed and shown.n == 5
    assert shown.csat == pytest.approx(80.0) and shown.mean == pytest.approx(4.2)


def test_an_empty_group_is_suppressed_even_without_a_threshold() -> None:
    assert score_of(counts(0, 0, 0, 0, 0), min_group=0).suppressed
    assert score_of(None, min_group=0).suppressed


# --- the disclosure plan (reports.disclosure) ------------------------------------------------

NOV = month_of(date(2026, 11, 1))


def test_a_cell_large_enough_on_its_own_is_a_block_and_the_small_ones_merge_by_service() -> None:
    sizes: dict[Atom, int] = {
        (date(2026, 11, 3), ("a", "phone", None)): 4,
        (date(2026, 11, 5), ("a", "phone", None)): 2,
        (date(2026, 11, 3), ("a", "web", None)): 2,
        (date(2026, 11, 4), ("a", "web", None)): 1,
        (date(2026, 11, 4), ("a", "office", None)): 2,
    }
    result = plan(NOV, sizes, 5)

    phone = [atom for atom in sizes if atom[1][1] == "phone"]
    small = [atom for atom in sizes if atom[1][1] != "phone"]
    assert result.publishable(phone)  # a week × cell of 6
    assert not result.publishable(phone[:1])  # never a single day
    assert result.publishable(small)  # the rest of service a in that week: 5
    assert not result.publishable([atom for atom in small if atom[1][1] == "web"])  # 3
    assert result.publishable(list(sizes)) and not result.residue


def test_what_stays_below_the_threshold_in_every_unit_inside_the_period_is_never_shown() -> None:
    sizes: dict[Atom, int] = {
        (date(2026, 11, 3), ("a", None, None)): 3,
        (date(2026, 11, 4), ("b", None, None)): 1,
        (date(2026, 11, 30), ("a", None, None)): 7,
    }
    week = week_of(date(2026, 11, 3))

    assert plan(week, sizes, 5, weekly=True).residue == {
        atom for atom in sizes if atom[0].day < 30
    }
    # In the month the week's 4 still reach no block: the total and service a stay hidden.
    month = plan(NOV, sizes, 5, weekly=True)
    assert not month.publishable(list(sizes))
    assert month.publishable([atom for atom in sizes if atom[0].day == 30])


def test_edge_days_of_a_month_merge_at_month_level_so_the_straddling_week_hides_them() -> None:
    # 30 November 2026 is a Monday: its week runs into December.
    sizes: dict[Atom, int] = {
        (date(2026, 11, 2), ("a", None, None)): 3,
        (date(2026, 11, 30), ("a", None, None)): 2,
        (date(2026, 12, 1), ("a", None, None)): 9,
    }
    straddling = week_of(date(2026, 11, 30))
    assert segment_of(date(2026, 11, 30)) == Period(date(2026, 11, 30), date(2026, 11, 30))

    month = plan(NOV, sizes, 5, weekly=True)
    week = plan(straddling, sizes, 5, weekly=True)
    november = [atom for atom in sizes if atom[0].month == 11]
    assert month.publishable(november)  # 3 + 2 merged in the month
    # The week cannot include 30 November's 2 alone: its total is hidden, December's part shown.
    assert not week.publishable([atom for atom in sizes if atom[0] >= straddling.start])
    assert week.publishable([atom for atom in sizes if atom[0].month == 12])


def test_without_weekly_figures_no_block_is_smaller_than_a_month() -> None:
    sizes: dict[Atom, int] = {(date(2026, 11, d), ("a", None, None)): 3 for d in (2, 3, 9)}
    week = week_of(date(2026, 11, 2))

    assert plan(week, sizes, 5).blocks == ()
    assert plan(week, sizes, 5, weekly=True).blocks == (frozenset(list(sizes)[:2]),)
    assert plan(NOV, sizes, 5).publishable(list(sizes))


def test_the_plan_of_a_period_is_the_same_whatever_else_is_in_the_database() -> None:
    sizes: dict[Atom, int] = {(date(2026, 11, d), ("a", None, None)): 2 for d in range(2, 9)}
    more = {
        **sizes,
        (date(2026, 12, 1), ("a", None, None)): 1,
        (date(2026, 10, 31), ("b", None, None)): 4,
    }

    assert plan(week_of(date(2026, 11, 2)), sizes, 5) == plan(week_of(date(2026, 11, 2)), more, 5)


def test_closed_periods_of_each_kind_end_before_today() -> None:
    today = date(2026, 11, 30)
    assert last_closed(PeriodKind.WEEK, today) == Period(date(2026, 11, 23), date(2026, 11, 29))
    assert last_closed(PeriodKind.MONTH, today) == month_of(date(2026, 10, 1))
    assert last_closed(PeriodKind.QUARTER, today) == quarter_of(date(2026, 7, 1))
    assert last_closed(PeriodKind.HALF, today) == Period(date(2026, 1, 1), date(2026, 6, 30))
    assert last_closed(PeriodKind.YEAR, today) == Period(date(2025, 1, 1), date(2025, 12, 31))
    assert last_closed(PeriodKind.MONTH, date(2026, 12, 1)) == NOV
    assert year_of(date(2026, 5, 5)) == Period(date(2026, 1, 1), date(2026, 12, 31))
    assert half_of(date(2026, 7, 1)) == Period(date(2026, 7, 1), date(2026, 12, 31))


def test_issue13_what_a_messenger_leaves_over_joins_its_own_cell_before_the_channel() -> None:
    """A MAX answer too few for a block joins the Telegram block of its own life situation,
    not the smaller block of another: the life situations stay shown, the messengers hidden."""
    day = date(2026, 11, 10)
    sizes: dict[Atom, int] = {
        (day, ("s", "office", "moving", "telegram")): 8,
        (day, ("s", "office", "moving", "max")): 1,
        (day, ("s", "office", "birth", "telegram")): 5,
    }
    result = plan(NOV, sizes, 5)
    assert result.residue == frozenset()

    def group(test: Callable[[tuple[str | None, ...]], bool]) -> list[Atom]:
        return [atom for atom in sizes if test(atom[1])]

    assert result.publishable(group(lambda cell: cell[2] == "moving"))
    assert result.publishable(group(lambda cell: cell[2] == "birth"))
    # MAX's one answer is hidden, and so is Telegram (all − Telegram would give it).
    assert not result.publishable(group(lambda cell: cell[3] == "max"))
    assert not result.publishable(group(lambda cell: cell[3] == "telegram"))
    assert result.publishable(list(sizes))


def test_a_web_answer_too_few_for_a_web_block_joins_no_messenger_block_and_is_dropped() -> None:
    """Review of 30 November: fake web respondents are free, so the web counts toward the
    threshold only among web answers; its leftover is dropped, not merged into Telegram's."""
    day = date(2026, 11, 10)
    web: Atom = (day, ("s", "office", "moving", "web"))
    sizes: dict[Atom, int] = {
        (day, ("s", "office", "moving", "telegram")): 8,
        web: 4,
        (day, ("s", "office", "birth", "telegram")): 5,
    }
    result = plan(NOV, sizes, 5, pool_web=False)
    assert result.dropped == frozenset({web}) and result.residue == frozenset({web})
    assert all(web not in block for block in result.blocks)
    # Every group is judged, and summed, without it; the group of the web alone is empty.
    assert result.counted(sizes) == [atom for atom in sizes if atom != web]
    assert result.publishable(result.counted(sizes))
    assert result.publishable(result.counted([web, (day, ("s", "office", "moving", "telegram"))]))
    assert not result.publishable([web])
    # Pooled (REPORTS__POOL_WEB_WITH_MESSENGERS=true) the 4 lift Telegram's cell: no drop.
    pooled = plan(NOV, sizes, 5, pool_web=True)
    assert pooled.dropped == frozenset() and pooled.residue == frozenset()
    assert any(web in block and len(block) > 1 for block in pooled.blocks)


def test_web_answers_make_blocks_of_their_own_within_a_service_never_with_the_messengers() -> None:
    """The web's leftover joins web answers of its own service only: a web block across
    services would hide every service row (its web part not whole); what stays is dropped."""
    day = date(2026, 11, 10)
    dropped: Atom = (day, ("t", "office", None, "web"))
    sizes: dict[Atom, int] = {
        (day, ("s", "office", None, "telegram")): 3,
        (day, ("s", "office", None, "max")): 3,
        (day, ("s", "office", None, "web")): 2,
        (day, ("s", "site", None, "web")): 3,
        dropped: 3,
        (day, ("t", "office", None, "telegram")): 1,
    }
    result = plan(NOV, sizes, 5, pool_web=False)
    assert result.dropped == frozenset({dropped})
    for block in result.blocks:
        assert len({atom[1][3] == "web" for atom in block}) == 1, block
        assert sum(sizes[atom] for atom in block) >= 5
    assert {frozenset(block) for block in result.blocks} == {
        frozenset({(day, ("s", "office", None, "web")), (day, ("s", "site", None, "web"))}),
        frozenset(atom for atom in sizes if atom[1][3] != "web"),
    }
    # Pooled, the six web answers would lift the messengers' cells instead.
    pooled = plan(NOV, sizes, 5, pool_web=True)
    assert any(len({atom[1][3] == "web" for atom in block}) == 2 for block in pooled.blocks)


def test_without_web_answers_keeping_the_web_apart_changes_no_plan() -> None:
    """Bodies without the web front see the plans of before, block for block."""
    rng = random.Random(30)
    sizes: dict[Atom, int] = {}
    for _ in range(400):
        day = date(2026, rng.randint(1, 12), rng.randint(1, 28))
        cell = (
            rng.choice(("a", "b", "c")),
            rng.choice(("office", "site")),
            rng.choice((None, "moving")),
            rng.choice(("telegram", "telegram", "max")),
        )
        sizes[(day, cell)] = sizes.get((day, cell), 0) + rng.randint(1, 3)
    year = Period(date(2026, 1, 1), date(2026, 12, 31))
    for weekly in (False, True):
        apart = make_plan(year, sizes, 5, weekly=weekly, pool_web=False)
        pooled = make_plan(year, sizes, 5, weekly=weekly, pool_web=True)
        assert apart.blocks == pooled.blocks and apart.residue == pooled.residue
        assert apart.dropped == frozenset()
