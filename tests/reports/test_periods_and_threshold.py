"""Report periods in the body's calendar, and the anonymity threshold rules on plain counts."""

from __future__ import annotations

from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

import pytest

from reports.metrics import Counts, hidden_groups, score_of
from reports.model import Period
from reports.periods import (
    calendar_previous,
    half_year_as_of,
    last_month,
    last_week,
    local_today,
    month_of,
    quarter_of,
    week_of,
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


def test_hidden_groups_hide_small_ones_and_then_what_would_reveal_them() -> None:
    groups = {"a": counts(0, 0, 0, 0, 10), "b": counts(0, 0, 0, 6, 0), "c": counts(3, 0, 0, 0, 0)}
    total = counts(3, 0, 0, 6, 10)

    assert hidden_groups(total, groups, 5) == {"b", "c"}
    # Two hidden groups adding up to the threshold are safe together.
    groups["d"] = counts(2, 0, 0, 0, 0)
    assert hidden_groups(counts(5, 0, 0, 6, 10), groups, 5) == {"c", "d"}


def test_on_a_tie_the_group_without_a_code_is_hidden_before_a_named_one() -> None:
    groups = {"a": counts(0, 0, 0, 0, 6), None: counts(0, 0, 0, 0, 6), "z": counts(1, 0, 0, 0, 0)}

    assert hidden_groups(counts(1, 0, 0, 0, 12), groups, 5) == {"z", None}


def test_groups_below_the_threshold_hide_everything_when_the_total_is_small() -> None:
    groups = {"a": counts(0, 0, 0, 0, 3), "b": counts(0, 0, 0, 1, 0)}

    assert hidden_groups(counts(0, 0, 0, 1, 3), groups, 5) == {"a", "b"}
