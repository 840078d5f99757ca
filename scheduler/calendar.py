"""Working days per the Russian federal production calendar (производственный календарь).

A poll "open 10 working days" counts the days of the production calendar for a five-day week:
Monday to Friday, less the non-working public holidays of Labour Code art. 112 and the days off
moved by law or by the yearly Government decree «О переносе выходных дней в <year> году», plus
the Saturdays and Sundays that such a decree turns into working days.

The calendar is data, not a library: `production_calendar.yaml` beside this module lists, per
year, the non-working weekdays and the working weekend days with the source of each year.
Official years: 2025 (постановление Правительства РФ от 04.10.2024 № 1335,
https://government.ru/docs/all/155500/) and 2026 (постановление Правительства РФ от 24.09.2025
№ 1466, https://government.ru/docs/all/161028/); both reproduce the published monthly totals
(247 working days each). 2027 is provisional: taken from a secondary source, used with a logged
warning until it is checked against the decree.

Why not a library: `workalendar` 17.0.0 (last release 2023-01-01) knows no decree after 2021 and
gets 8 days of 2025 and 2 of 2026 wrong. `holidays` is right for 2025 and 2026 only since 0.107
(19 October 2026): up to 0.91 it counted the holiday weekends 4–5 Jan, 23 Feb and 8 Mar 2025 as
working days, and up to 0.106 it lacked the 2026 decree (9 Jan, 31 Dec) and the art. 112 shifts
of 9 Mar and 11 May 2026, more than a year after the decree was signed; it also pins
python-dateutil below 3.

A year missing from the data falls back to the law alone, with a warning logged once per year:
weekends, the art. 112 holidays (1–6 and 8 January, 7 January, 23 February, 8 March, 1 May,
9 May, 12 June, 4 November) and the art. 112 part 2 rule that a weekend day coinciding with a
holiday other than 1–8 January moves to the next working day. The decree's transfers for that
year (the 1–8 January weekend days, working Saturdays) are unknown there.

Only federal days: regional non-working days (Tatarstan, Bashkortostan, …) are not modelled.
Every function takes a calendar `date` already in the body's time zone; a `datetime` is refused,
since comparing it with dates would silently give wrong answers.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

import yaml

logger = logging.getLogger(__name__)

DEFAULT_DATA_PATH = Path(__file__).with_name("production_calendar.yaml")

#: Labour Code art. 112 part 1: non-working public holidays as (month, day).
NEW_YEAR_HOLIDAYS: tuple[tuple[int, int], ...] = tuple((1, day) for day in range(1, 9))
OTHER_HOLIDAYS: tuple[tuple[int, int], ...] = ((2, 23), (3, 8), (5, 1), (5, 9), (6, 12), (11, 4))
FEDERAL_HOLIDAYS: tuple[tuple[int, int], ...] = NEW_YEAR_HOLIDAYS + OTHER_HOLIDAYS

_SATURDAY = 5
#: No real calendar has a longer run of days off; a longer run means broken data.
_MAX_DAYS_OFF_IN_A_ROW = 60

OFFICIAL = "official"
PROVISIONAL = "provisional"
FALLBACK = "fallback"


class CalendarDataError(ValueError):
    """The production calendar data file is malformed or contradicts itself."""


@dataclass(frozen=True, slots=True)
class YearCalendar:
    """One year of the production calendar for a five-day week."""

    year: int
    #: Mon–Fri dates that are not working days (holidays and days off moved onto weekdays).
    non_working_weekdays: frozenset[date]
    #: Sat/Sun dates that are working days (days off moved away by the decree).
    working_weekend_days: frozenset[date]
    #: OFFICIAL, PROVISIONAL (secondary source, warned about) or FALLBACK (no data: law only).
    status: str
    source: str

    def is_working_day(self, day: date) -> bool:
        if day.weekday() >= _SATURDAY:
            return day in self.working_weekend_days
        return day not in self.non_working_weekdays

    def working_days_by_month(self) -> list[int]:
        counts = [0] * 12
        day = date(self.year, 1, 1)
        while day.year == self.year:
            counts[day.month - 1] += self.is_working_day(day)
            day += timedelta(days=1)
        return counts


def statutory_year(year: int) -> YearCalendar:
    """The year by Labour Code art. 112 alone, without the Government decree's transfers.

    Weekends and the art. 112 holidays are days off; a Saturday or Sunday that coincides with a
    holiday other than 1–8 January moves to the next working day after the holiday (art. 112
    part 2; the 1–8 January weekend days are distributed by the decree, so they are not moved).
    """
    holidays = {date(year, month, day) for month, day in FEDERAL_HOLIDAYS}
    non_working = {day for day in holidays if day.weekday() < _SATURDAY}
    for month, day_of_month in OTHER_HOLIDAYS:
        holiday = date(year, month, day_of_month)
        if holiday.weekday() < _SATURDAY:
            continue
        moved = holiday + timedelta(days=1)
        while moved.weekday() >= _SATURDAY or moved in holidays or moved in non_working:
            moved += timedelta(days=1)
        if moved.year == year:
            non_working.add(moved)
    return YearCalendar(
        year=year,
        non_working_weekdays=frozenset(non_working),
        working_weekend_days=frozenset(),
        status=FALLBACK,
        source="Labour Code art. 112 only; the Government decree for this year is not in the data",
    )


class ProductionCalendar:
    """Working days by the production calendar; pure computation once the data is loaded.

    Years missing from the data are computed by `statutory_year` and logged once as a warning;
    provisional years are logged once as a warning when first used.
    """

    def __init__(self, years: Iterable[YearCalendar] = ()) -> None:
        self._years: dict[int, YearCalendar] = {}
        for entry in years:
            if entry.year in self._years:
                raise CalendarDataError(f"year {entry.year} is given twice")
            self._years[entry.year] = entry
        self._known = tuple(sorted(self._years))
        self._warned: set[int] = set()

    @property
    def known_years(self) -> tuple[int, ...]:
        """The years present in the data (official or provisional), ascending."""
        return self._known

    def year(self, year: int) -> YearCalendar:
        """The calendar of one year: from the data, or the statutory fallback (warned once)."""
        entry = self._years.get(year)
        if entry is None:
            entry = statutory_year(year)
            self._years[year] = entry
            logger.warning(
                "Production calendar: no data for %d; using weekends and the Labour Code art. 112 "
                "holidays and shifts only, the government's transfers of days off for %d are "
                "unknown (add the year to %s)",
                year,
                year,
                DEFAULT_DATA_PATH.name,
            )
        elif entry.status == PROVISIONAL and year not in self._warned:
            self._warned.add(year)
            # One short line: the source (often 700 characters) is in the data file.
            logger.warning(
                "Production calendar for %d is provisional (not checked against the government "
                "decree; see its source in %s)",
                year,
                DEFAULT_DATA_PATH.name,
            )
        return entry

    def is_working_day(self, day: date) -> bool:
        """True if `day` is a working day of the five-day week by the production calendar."""
        _check_date(day)
        return self.year(day.year).is_working_day(day)

    def next_working_day(self, day: date) -> date:
        """`day` itself if it is a working day, otherwise the first working day after it."""
        _check_date(day)
        current = day
        for _ in range(_MAX_DAYS_OFF_IN_A_ROW):
            if self.is_working_day(current):
                return current
            current += timedelta(days=1)
        raise CalendarDataError(f"no working day within {_MAX_DAYS_OFF_IN_A_ROW} days of {day}")

    def add_working_days(self, start: date, count: int) -> date:
        """The last day of a window of `count` working days that opens on `start`.

        Convention: the window's working days are numbered from 1, and `start` itself is day 1
        when it is a working day; when it is not, day 1 is the first working day after it. The
        result is the `count`-th working day, so a poll that opens on `start` and stays open
        `count` working days closes at the END of the returned day (in the body's time zone).
        The result is always a working day, `add_working_days(start, 1) ==
        next_working_day(start)`, and `working_days_between(start, result) == count`.

        Example: a poll opening on Monday 2025-04-28 for 10 working days runs 28, 29, 30 April,
        5, 6, 7, 12, 13, 14, 15 May (1–4 and 8–11 May are days off) and closes at the end of
        2025-05-15. Opening on Saturday 2025-05-03 instead, day 1 is Monday 2025-05-05.

        Raises ValueError if `count` is less than 1.
        """
        _check_date(start)
        if count < 1:
            raise ValueError(f"count must be at least 1 working day, got {count}")
        current = self.next_working_day(start)
        remaining = count - 1
        while remaining:
            current = self.next_working_day(current + timedelta(days=1))
            remaining -= 1
        return current

    def working_days_between(self, start: date, end: date) -> int:
        """The number of working days from `start` to `end`, both included; 0 if end < start."""
        _check_date(start)
        _check_date(end)
        total = 0
        current = start
        while current <= end:
            total += self.is_working_day(current)
            current += timedelta(days=1)
        return total


def load_calendar(path: Path | None = None) -> ProductionCalendar:
    """Read the production calendar data (default: `production_calendar.yaml` here) once.

    Raises CalendarDataError if the file is malformed: a date outside its year, a weekday among
    the working weekend days or a weekend day among the non-working weekdays, a duplicate, an
    unknown status, a missing source, or monthly totals that the lists do not reproduce.
    """
    data_path = DEFAULT_DATA_PATH if path is None else path
    with data_path.open(encoding="utf-8") as stream:
        raw = yaml.safe_load(stream)
    return ProductionCalendar(parse_calendar_data(raw, str(data_path)))


def parse_calendar_data(raw: Any, origin: str = "calendar data") -> list[YearCalendar]:
    """Validate the parsed YAML document and turn it into one YearCalendar per year."""
    if not isinstance(raw, Mapping) or raw.get("format") != 1:
        raise CalendarDataError(f"{origin}: expected a mapping with 'format: 1' and 'years'")
    years = raw.get("years")
    if not isinstance(years, Mapping) or not years:
        raise CalendarDataError(f"{origin}: 'years' must be a non-empty mapping")
    return [_parse_year(year, entry, origin) for year, entry in years.items()]


def _parse_year(year: Any, entry: Any, origin: str) -> YearCalendar:
    if not isinstance(year, int) or isinstance(year, bool) or not 1 <= year <= 9998:
        raise CalendarDataError(f"{origin}: {year!r} is not a year")
    where = f"{origin}, year {year}"
    if not isinstance(entry, Mapping):
        raise CalendarDataError(f"{where}: expected a mapping")
    status = entry.get("status")
    if status not in (OFFICIAL, PROVISIONAL):
        raise CalendarDataError(f"{where}: status must be {OFFICIAL!r} or {PROVISIONAL!r}")
    source = entry.get("source")
    if not isinstance(source, str) or not source.strip():
        raise CalendarDataError(f"{where}: a source is required")
    non_working = _parse_dates(entry.get("non_working_weekdays"), year, where, weekend=False)
    working = _parse_dates(entry.get("working_weekend_days"), year, where, weekend=True)
    calendar = YearCalendar(
        year=year,
        non_working_weekdays=non_working,
        working_weekend_days=working,
        status=status,
        source=" ".join(source.split()),
    )
    expected = entry.get("working_days_by_month")
    if expected is not None:
        actual = calendar.working_days_by_month()
        if expected != actual:
            raise CalendarDataError(
                f"{where}: the lists give {actual} working days per month, "
                f"working_days_by_month says {expected}"
            )
    return calendar


def _parse_dates(value: Any, year: int, where: str, *, weekend: bool) -> frozenset[date]:
    key = "working_weekend_days" if weekend else "non_working_weekdays"
    if value is None:
        value = []
    if not isinstance(value, list):
        raise CalendarDataError(f"{where}: {key} must be a list of dates")
    days: set[date] = set()
    for item in value:
        if isinstance(item, str):
            try:
                item = date.fromisoformat(item)
            except ValueError:
                raise CalendarDataError(f"{where}: {item!r} in {key} is not a date") from None
        if isinstance(item, datetime) or not isinstance(item, date):
            raise CalendarDataError(f"{where}: {item!r} in {key} is not a date")
        if item.year != year:
            raise CalendarDataError(f"{where}: {item} in {key} is not in {year}")
        if (item.weekday() >= _SATURDAY) != weekend:
            kind = "a weekday" if weekend else "a Saturday or Sunday"
            raise CalendarDataError(f"{where}: {item} in {key} is {kind}")
        if item in days:
            raise CalendarDataError(f"{where}: {item} is listed twice in {key}")
        days.add(item)
    return frozenset(days)


def _check_date(day: date) -> None:
    if isinstance(day, datetime) or not isinstance(day, date):
        raise TypeError(
            f"expected a datetime.date in the body's time zone, got {type(day).__name__}"
        )
