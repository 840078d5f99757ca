"""Report periods (week, month, quarter, half-year, year) as calendar days in the body's zone."""

from __future__ import annotations

import logging
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
    ``period`` is exactly one, else the equal number of days right before it."""
    before = period.start - timedelta(days=1)
    for unit in (week_of, month_of, quarter_of, half_of, year_of):
        if unit(period.start) == period:
            return unit(before)
    if half_year_as_of(period.end) == period:
        return half_year_as_of(before)
    return period.previous()
