"""Issue 10, item 8: the comparison label names the period the figures were computed for."""

from __future__ import annotations

import io
from datetime import date

import pytest
from openpyxl import load_workbook
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from reports.metrics import build_report
from reports.model import Period, Report, Scope
from reports.periods import (
    RangeError,
    calendar_previous,
    closed_range,
    half_of,
    month_of,
    parse_range,
)
from reports.telegram import render_report_text
from reports.workbook import build_workbook
from tests.reports.conftest import ROLES, Responses, titles

OCTOBER = month_of(date(2026, 10, 1))
FIRST_HALF = half_of(date(2026, 1, 1))


async def _report(sessions: async_sessionmaker[AsyncSession], period: Period) -> Report:
    return await build_report(
        sessions,
        roles=ROLES,
        titles=titles,
        period=period,
        scope=Scope(),
        previous=calendar_previous(period),
        title="t",
    )


async def test_issue10_last_month_label_names_the_month_the_figures_compare_with(
    sessions: async_sessionmaker[AsyncSession], responses: Responses
) -> None:
    # Six scores on 31 August: inside "the 31 days before October", outside September.
    await responses.scores(date(2026, 8, 31), [1, 1, 1, 1, 1, 1])
    await responses.scores(date(2026, 10, 5), [5, 5, 5, 5, 5, 5])
    report = await _report(sessions, OCTOBER)
    assert report.compared_with == Period(date(2026, 9, 1), date(2026, 9, 30))
    assert report.overall_previous.n == 0  # the figures compare with September
    text = render_report_text(report)
    assert "(сравнение с 01.09.2026–30.09.2026)" in text
    assert "31.08.2026" not in text
    book = load_workbook(io.BytesIO(build_workbook(report, [])))
    rows = [list(r) for r in book.worksheets[0].iter_rows(values_only=True)]
    assert ["Период", "01.10.2026–31.10.2026", "01.09.2026–30.09.2026"] in [r[:3] for r in rows]


async def test_issue10_half_year_label_names_the_previous_half_year(
    sessions: async_sessionmaker[AsyncSession], responses: Responses
) -> None:
    report = await _report(sessions, FIRST_HALF)
    assert "(сравнение с 01.07.2025–31.12.2025)" in render_report_text(report)


# --- custom closed ranges (issue 10, item 7) ---------------------------------------------

TODAY = date(2026, 11, 30)


@pytest.mark.parametrize(
    "text",
    [
        "01.01.2026–31.03.2026",
        "01.01.2026-31.03.2026",
        " 1.1.2026 — 31.3.2026 ",
        "01.01.2026..31.03.2026",
    ],
)
def test_issue10_a_typed_range_is_parsed(text: str) -> None:
    assert parse_range(text) == Period(date(2026, 1, 1), date(2026, 3, 31))


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("январь", "format"),
        ("31.02.2026–31.03.2026", "format"),
        ("01.03.2026–01.01.2026", "order"),
    ],
)
def test_issue10_a_malformed_range_is_refused(text: str, reason: str) -> None:
    with pytest.raises(RangeError) as refused:
        parse_range(text)
    assert refused.value.reason == reason


def test_issue10_a_custom_range_is_whole_closed_units_of_the_policy() -> None:
    months = Period(date(2026, 2, 1), date(2026, 4, 30))
    assert closed_range(months, TODAY, weekly=False) == months
    # The same number of whole months before it is the comparison.
    assert calendar_previous(months) == Period(date(2025, 11, 1), date(2026, 1, 31))
    for period, weekly, reason in [
        (Period(date(2026, 2, 2), date(2026, 4, 30)), False, "months"),
        (Period(date(2026, 2, 1), date(2026, 4, 29)), False, "months"),
        (Period(date(2026, 11, 1), date(2026, 11, 30)), False, "open"),  # not closed yet
        (Period(date(2026, 3, 3), date(2026, 3, 15)), True, "weeks"),
    ]:
        with pytest.raises(RangeError) as refused:
            closed_range(period, TODAY, weekly=weekly)
        assert refused.value.reason == reason
    # With weekly figures whole week pieces (Monday–Sunday cut at month ends) are units too.
    weeks = Period(date(2026, 3, 2), date(2026, 3, 15))
    assert closed_range(weeks, TODAY, weekly=True) == weeks
    assert closed_range(Period(date(2026, 3, 30), date(2026, 3, 31)), TODAY, weekly=True)


async def test_issue10_a_range_of_months_shows_no_group_its_months_hide(
    sessions: async_sessionmaker[AsyncSession], responses: Responses
) -> None:
    # "s2" has 3 answers in February and 3 in March: each month hides it, and so must the
    # range, or the range minus the months would reveal groups of three.
    await responses.scores(date(2026, 2, 10), [5] * 3, service="s2")
    await responses.scores(date(2026, 3, 10), [1] * 3, service="s2")
    await responses.scores(date(2026, 2, 11), [4] * 6, service="s1")
    await responses.scores(date(2026, 3, 11), [4] * 6, service="s1")
    period = closed_range(parse_range("01.02.2026–31.03.2026"), TODAY, weekly=False)
    report = await _report(sessions, period)
    shown = {row.key: row.current for row in report.groups if row.dimension.value == "service"}
    assert report.overall.n == 18 and not report.overall.suppressed
    assert shown["s2"].suppressed and shown["s2"].csat is None
    # s2's remainder joined s1's block in each month: s1 alone is no union of blocks either.
    assert shown["s1"].suppressed
    assert "(сравнение с 01.12.2025–31.01.2026)" in render_report_text(report)
