"""Production calendar: every day of 2025 and 2026 against the official lists, windows, fallback.

The expected lists below are written out from the decrees, independently of the data file:
2025 — постановление Правительства РФ от 04.10.2024 № 1335; 2026 — постановление Правительства
РФ от 24.09.2025 № 1466, with the Labour Code art. 112 holidays and shifts. The monthly totals
are the published ones (247 working days in each year).
"""

from __future__ import annotations

import logging
from datetime import date, datetime, timedelta
from pathlib import Path

import pytest
import yaml
from hypothesis import given
from hypothesis import strategies as st

from scheduler.calendar import (
    FALLBACK,
    OFFICIAL,
    PROVISIONAL,
    CalendarDataError,
    ProductionCalendar,
    load_calendar,
    parse_calendar_data,
    statutory_year,
)

D = date

#: Mon–Fri days off, per the decrees and art. 112.
OFFICIAL_NON_WORKING_WEEKDAYS = {
    2025: {
        D(2025, 1, 1), D(2025, 1, 2), D(2025, 1, 3), D(2025, 1, 6), D(2025, 1, 7), D(2025, 1, 8),
        D(2025, 5, 1), D(2025, 5, 2), D(2025, 5, 8), D(2025, 5, 9),
        D(2025, 6, 12), D(2025, 6, 13),
        D(2025, 11, 3), D(2025, 11, 4),
        D(2025, 12, 31),
    },
    2026: {
        D(2026, 1, 1), D(2026, 1, 2), D(2026, 1, 5), D(2026, 1, 6), D(2026, 1, 7), D(2026, 1, 8),
        D(2026, 1, 9),
        D(2026, 2, 23),
        D(2026, 3, 9),
        D(2026, 5, 1), D(2026, 5, 11),
        D(2026, 6, 12),
        D(2026, 11, 4),
        D(2026, 12, 31),
    },
}  # fmt: skip
#: Saturdays and Sundays that are working days.
OFFICIAL_WORKING_WEEKEND_DAYS = {2025: {D(2025, 11, 1)}, 2026: set[date]()}
#: Published working days per month, five-day week.
OFFICIAL_MONTHLY_TOTALS = {
    2025: [17, 20, 21, 22, 18, 19, 23, 21, 22, 23, 19, 22],
    2026: [15, 19, 21, 22, 19, 21, 23, 21, 22, 22, 20, 22],
}


def official_is_working(day: date) -> bool:
    if day.weekday() >= 5:
        return day in OFFICIAL_WORKING_WEEKEND_DAYS[day.year]
    return day not in OFFICIAL_NON_WORKING_WEEKDAYS[day.year]


def days_of(year: int) -> list[date]:
    first = date(year, 1, 1)
    return [first + timedelta(days=n) for n in range((date(year + 1, 1, 1) - first).days)]


@pytest.fixture(scope="module")
def calendar() -> ProductionCalendar:
    return load_calendar()


def write_data(tmp_path: Path, years: dict[int, dict[str, object]]) -> Path:
    path = tmp_path / "calendar.yaml"
    path.write_text(yaml.safe_dump({"format": 1, "years": years}), encoding="utf-8")
    return path


# --- the shipped data against the official lists --------------------------------------------


@pytest.mark.parametrize("year", [2025, 2026])
def test_every_day_matches_the_official_calendar(calendar: ProductionCalendar, year: int) -> None:
    wrong = [
        day for day in days_of(year) if calendar.is_working_day(day) != official_is_working(day)
    ]
    assert wrong == []


@pytest.mark.parametrize("year", [2025, 2026])
def test_monthly_totals_match_the_published_ones(calendar: ProductionCalendar, year: int) -> None:
    totals = [
        calendar.working_days_between(date(year, month, 1), _month_end(year, month))
        for month in range(1, 13)
    ]
    assert totals == OFFICIAL_MONTHLY_TOTALS[year]
    assert calendar.working_days_between(date(year, 1, 1), date(year, 12, 31)) == 247


def _month_end(year: int, month: int) -> date:
    first_of_next = date(year + month // 12, month % 12 + 1, 1)
    return first_of_next - timedelta(days=1)


def test_2025_and_2026_are_official_and_sourced(calendar: ProductionCalendar) -> None:
    assert calendar.year(2025).status == OFFICIAL
    assert "04.10.2024 № 1335" in calendar.year(2025).source
    assert calendar.year(2026).status == OFFICIAL
    assert "24.09.2025 № 1466" in calendar.year(2026).source
    assert {2025, 2026} <= set(calendar.known_years)


@pytest.mark.parametrize(
    ("day", "working"),
    [
        (D(2025, 11, 1), True),  # Saturday worked: its day off moved to Monday 3 November
        (D(2025, 11, 3), False),
        (D(2025, 5, 2), False),  # from Saturday 4 January
        (D(2025, 12, 31), False),  # from Sunday 5 January
        (D(2025, 5, 8), False),  # from Sunday 23 February (not Monday 24 February)
        (D(2025, 2, 24), True),
        (D(2025, 6, 13), False),  # from Saturday 8 March (not Monday 10 March)
        (D(2025, 3, 10), True),
        (D(2025, 1, 9), True),
        (D(2026, 1, 9), False),  # from Saturday 3 January
        (D(2026, 12, 31), False),  # from Sunday 4 January
        (D(2026, 1, 12), True),
        (D(2026, 3, 9), False),  # Sunday 8 March moves to Monday (art. 112 part 2)
        (D(2026, 5, 11), False),  # Saturday 9 May moves to Monday (art. 112 part 2)
        (D(2026, 11, 4), False),
        (D(2026, 11, 5), True),
    ],
)
def test_specific_transfers(calendar: ProductionCalendar, day: date, working: bool) -> None:
    assert calendar.is_working_day(day) is working


def test_no_warning_for_official_years(
    calendar: ProductionCalendar, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.WARNING, logger="scheduler.calendar"):
        calendar.working_days_between(date(2025, 1, 1), date(2026, 12, 31))
    assert caplog.records == []


# --- windows -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("start", "count", "end"),
    [
        # 28–30 Apr, 5–7 May, 12–15 May; 1–4 and 8–11 May off.
        (D(2025, 4, 28), 10, D(2025, 5, 15)),
        # 27–30 Apr, 4–8 May, 12 May; 1–3 and 9–11 May off.
        (D(2026, 4, 27), 10, D(2026, 5, 12)),
        # Across New Year: 25, 26, 29, 30 Dec; 31 Dec – 11 Jan off; 12–16, 19 Jan.
        (D(2025, 12, 25), 10, D(2026, 1, 19)),
        # A staff poll over the working Saturday: 29–31 Oct, 1 Nov; 2–4 Nov off; 5 Nov.
        (D(2025, 10, 29), 5, D(2025, 11, 5)),
        # Opening on a holiday: day 1 is the first working day after it.
        (D(2026, 1, 1), 5, D(2026, 1, 16)),
        (D(2025, 5, 3), 1, D(2025, 5, 5)),
        # Opening on a working day: that day is day 1.
        (D(2025, 11, 1), 1, D(2025, 11, 1)),
        (D(2026, 4, 27), 1, D(2026, 4, 27)),
        # Ordinary weeks.
        (D(2026, 9, 7), 10, D(2026, 9, 18)),
    ],
)
def test_add_working_days(
    calendar: ProductionCalendar, start: date, count: int, end: date
) -> None:
    assert calendar.add_working_days(start, count) == end
    assert calendar.working_days_between(start, end) == count


@pytest.mark.parametrize("count", [0, -3])
def test_add_working_days_needs_a_positive_count(calendar: ProductionCalendar, count: int) -> None:
    with pytest.raises(ValueError, match="at least 1"):
        calendar.add_working_days(date(2025, 4, 28), count)


@pytest.mark.parametrize(
    ("day", "expected"),
    [
        (D(2025, 12, 31), D(2026, 1, 12)),
        (D(2025, 11, 1), D(2025, 11, 1)),
        (D(2025, 11, 2), D(2025, 11, 5)),
        (D(2026, 5, 9), D(2026, 5, 12)),
        (D(2026, 3, 10), D(2026, 3, 10)),
    ],
)
def test_next_working_day(calendar: ProductionCalendar, day: date, expected: date) -> None:
    assert calendar.next_working_day(day) == expected


def test_working_days_between_is_inclusive(calendar: ProductionCalendar) -> None:
    assert calendar.working_days_between(D(2026, 1, 12), D(2026, 1, 12)) == 1
    assert calendar.working_days_between(D(2026, 1, 10), D(2026, 1, 11)) == 0
    assert calendar.working_days_between(D(2026, 1, 1), D(2026, 1, 31)) == 15
    assert calendar.working_days_between(D(2026, 1, 31), D(2026, 1, 1)) == 0


def test_datetimes_are_refused(calendar: ProductionCalendar) -> None:
    with pytest.raises(TypeError, match="time zone"):
        calendar.is_working_day(datetime(2026, 1, 9, 12, 0))


@given(
    start=st.dates(min_value=D(2025, 1, 1), max_value=D(2026, 11, 30)),
    count=st.integers(min_value=1, max_value=30),
)
def test_a_window_counts_exactly_its_working_days(start: date, count: int) -> None:
    calendar = load_calendar()
    end = calendar.add_working_days(start, count)
    assert calendar.is_working_day(end)
    assert calendar.working_days_between(start, end) == count
    assert calendar.working_days_between(start, end - timedelta(days=1)) == count - 1
    assert calendar.add_working_days(start, 1) == calendar.next_working_day(start)


# --- years outside the data ----------------------------------------------------------------


def test_a_year_outside_the_data_falls_back_with_one_warning(
    caplog: pytest.LogCaptureFixture,
) -> None:
    calendar = load_calendar()
    assert 2099 not in calendar.known_years
    with caplog.at_level(logging.WARNING, logger="scheduler.calendar"):
        assert not calendar.is_working_day(D(2099, 1, 2))  # Friday, New Year holidays
        assert calendar.is_working_day(D(2099, 1, 9))
        assert calendar.working_days_between(D(2099, 1, 1), D(2099, 12, 31)) > 0
    warnings = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1
    assert "no data for 2099" in warnings[0].getMessage()
    assert "unknown" in warnings[0].getMessage()
    assert calendar.year(2099).status == FALLBACK


def test_fallback_is_weekends_holidays_and_art_112_shifts() -> None:
    year = statutory_year(2030)  # 1 Jan 2030 is a Tuesday; 23 Feb a Saturday
    assert year.status == FALLBACK
    assert year.working_weekend_days == frozenset()
    assert year.non_working_weekdays == {
        D(2030, 1, 1), D(2030, 1, 2), D(2030, 1, 3), D(2030, 1, 4), D(2030, 1, 7), D(2030, 1, 8),
        D(2030, 2, 25),  # Saturday 23 February moves to Monday
        D(2030, 3, 8), D(2030, 5, 1), D(2030, 5, 9), D(2030, 6, 12), D(2030, 11, 4),
    }  # fmt: skip


def test_fallback_differs_from_2026_only_by_the_decree() -> None:
    """Without the 2026 data the law alone is right except for the decree's own transfers."""
    fallback = ProductionCalendar()
    wrong = {
        day for day in days_of(2026) if fallback.is_working_day(day) != official_is_working(day)
    }
    assert wrong == {D(2026, 1, 9), D(2026, 12, 31)}


def test_a_provisional_year_is_used_with_one_warning(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    path = write_data(
        tmp_path,
        {
            2031: {
                "status": "provisional",
                "source": "a draft decree",
                "non_working_weekdays": ["2031-01-01", "2031-05-02"],
                "working_weekend_days": ["2031-05-03"],
            }
        },
    )
    calendar = load_calendar(path)
    with caplog.at_level(logging.WARNING, logger="scheduler.calendar"):
        assert not calendar.is_working_day(D(2031, 5, 2))
        assert calendar.is_working_day(D(2031, 5, 3))
        assert calendar.is_working_day(D(2031, 1, 2))  # only what the data says
    messages = [r.getMessage() for r in caplog.records]
    assert len(messages) == 1
    assert "2031 is provisional" in messages[0]
    assert calendar.year(2031).status == PROVISIONAL


def test_shipped_provisional_years_say_so(calendar: ProductionCalendar) -> None:
    for year in calendar.known_years:
        entry = calendar.year(year)
        assert entry.status in (OFFICIAL, PROVISIONAL)
        assert entry.source


# --- data validation -----------------------------------------------------------------------


def _year(**overrides: object) -> dict[str, object]:
    entry: dict[str, object] = {
        "status": "official",
        "source": "decree",
        "non_working_weekdays": ["2026-01-09"],
        "working_weekend_days": [],
    }
    entry.update(overrides)
    return entry


@pytest.mark.parametrize(
    ("entry", "message"),
    [
        (_year(working_weekend_days=["2026-01-12"]), "is a weekday"),
        (_year(non_working_weekdays=["2026-01-10"]), "is a Saturday or Sunday"),
        (_year(non_working_weekdays=["2025-12-31"]), "is not in 2026"),
        (_year(non_working_weekdays=["2026-01-09", "2026-01-09"]), "listed twice"),
        (_year(non_working_weekdays=["9 Jan"]), "is not a date"),
        (_year(status="draft"), "status must be"),
        (_year(source=""), "source is required"),
        (_year(working_days_by_month=[1] * 12), "working days per month"),
    ],
)
def test_bad_data_is_refused(tmp_path: Path, entry: dict[str, object], message: str) -> None:
    with pytest.raises(CalendarDataError, match=message):
        load_calendar(write_data(tmp_path, {2026: entry}))


def test_a_document_without_format_is_refused() -> None:
    with pytest.raises(CalendarDataError, match="format"):
        parse_calendar_data({"years": {}})
