"""Report periods (week, month, quarter, half-year, year) as calendar days in the body's zone."""

from __future__ import annotations

import logging
import re
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from reports.model import Period

logger = logging.getLogger(__name__)


def local_today(now: datetime, zone: ZoneInfo) -> date:
    """The body's calendar day at the aware instant ``now``: periods start from it."""
    if now.tzinfo is None:
        raise ValueError("a naive datetime is ambiguous across the bodies' time zones")
    return now.astimezone(zone).date()


def week_of(day: date) -> Period:
    """The Monday–Sunday week containing ``day``."""
    monday = day - timedelta(days=day.weekday())
    return Period(monday, monday + timedelta(days=6))


def last_week(today: date) -> Period:
    """The last full Monday–Sunday week before the week of ``today`` (the weekly summary)."""
    return week_of(today - timedelta(days=7))


def month_of(day: date) -> Period:
    """The calendar month containing ``day``."""
    first = day.replace(day=1)
    following = (first + timedelta(days=32)).replace(day=1)
    return Period(first, following - timedelta(days=1))


def last_month(today: date) -> Period:
    """The calendar month before the month of ``today``."""
    return month_of(today.replace(day=1) - timedelta(days=1))


def quarter_of(day: date) -> Period:
    """The calendar quarter containing ``day`` (complaint monitoring, Procedure §3.5)."""
    first_month = 3 * ((day.month - 1) // 3) + 1
    start = date(day.year, first_month, 1)
    return Period(start, month_of(date(day.year, first_month + 2, 1)).end)


def half_of(day: date) -> Period:
    """The calendar half-year containing ``day``."""
    if day.month <= 6:
        return Period(date(day.year, 1, 1), date(day.year, 6, 30))
    return Period(date(day.year, 7, 1), date(day.year, 12, 31))


def year_of(day: date) -> Period:
    """The calendar year containing ``day``."""
    return Period(date(day.year, 1, 1), date(day.year, 12, 31))


def segment_of(day: date) -> Period:
    """The part of ``day``'s Monday–Sunday week inside ``day``'s month.

    Weeks do not nest in months; these pieces nest in both, so every week, month, quarter,
    half-year and year is a union of them (reports.disclosure builds its blocks on them).
    """
    week, month = week_of(day), month_of(day)
    return Period(max(week.start, month.start), min(week.end, month.end))


def half_year_as_of(day: date) -> Period:
    """The half-year analysed "as of" ``day`` (Procedure §6): the latest one ended by ``day``.

    As of 1 July (or any day from 30 June to 30 December) that is 1 January – 30 June; as of
    31 December it is 1 July – 31 December of the same year, which ends that very day; from
    1 January to 29 June it is the second half of the previous year.
    """
    if day >= date(day.year, 12, 31):
        return Period(date(day.year, 7, 1), date(day.year, 12, 31))
    if day >= date(day.year, 6, 30):
        return Period(date(day.year, 1, 1), date(day.year, 6, 30))
    return Period(date(day.year - 1, 7, 1), date(day.year - 1, 12, 31))


def calendar_previous(period: Period) -> Period:
    """What to compare ``period`` with: the previous calendar month, quarter or half-year when
    ``period`` is exactly one, the same number of whole months right before a range of whole
    months, else the equal number of days right before it."""
    before = period.start - timedelta(days=1)
    for unit in (week_of, month_of, quarter_of, half_of, year_of):
        if unit(period.start) == period:
            return unit(before)
    if half_year_as_of(period.end) == period:
        return half_year_as_of(before)
    if _whole_months(period):
        months = _month_index(period.end) - _month_index(period.start) + 1
        start = period.start
        for _ in range(months):
            start = month_of(start - timedelta(days=1)).start
        return Period(start, before)
    return period.previous()


# --- custom closed ranges (issue 10, item 7) ---------------------------------------------

_DAY = r"(\d{1,2})\.(\d{1,2})\.(\d{4})"
_RANGE = re.compile(rf"^\s*{_DAY}\s*(?:[-–—]|\.\.)\s*{_DAY}\s*$")


class RangeError(ValueError):
    """A typed range that cannot be reported; ``reason`` says why (a stable key)."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def parse_range(text: str) -> Period:
    """``01.01.2026–31.03.2026`` (en dash, hyphen, em dash or ``..``) as a Period."""
    found = _RANGE.match(text)
    if found is None:
        raise RangeError("format")
    d1, m1, y1, d2, m2, y2 = (int(part) for part in found.groups())
    try:
        start, end = date(y1, m1, d1), date(y2, m2, d2)
    except ValueError as error:
        raise RangeError("format") from error
    if end < start:
        raise RangeError("order")
    return Period(start, end)


def _month_index(day: date) -> int:
    return day.year * 12 + day.month - 1


def _whole_months(period: Period) -> bool:
    return period.start.day == 1 and month_of(period.end).end == period.end


def _whole_segments(period: Period) -> bool:
    return (
        segment_of(period.start).start == period.start and segment_of(period.end).end == period.end
    )


def closed_range(period: Period, today: date, *, weekly: bool) -> Period:
    """``period`` if it may be reported as a custom range, else RangeError.

    The disclosure policy (reports.disclosure, docs/anonymity.md) forms blocks in calendar
    units: a range shows figures only when it is a union of whole units it knows. So a range
    must be closed (end before ``today``) and consist of whole months, or with weekly figures
    of whole week pieces (a Monday–Sunday week cut at month ends); then the same atoms make the
    same blocks as in every other output, and nothing finer than a block can be learnt by
    comparing ranges.
    """
    if period.end >= today:
        raise RangeError("open")
    if _whole_months(period) or (weekly and _whole_segments(period)):
        return period
    raise RangeError("weeks" if weekly else "months")
