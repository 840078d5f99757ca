"""Issue 10, item 8: the comparison label names the period the figures were computed for."""

from __future__ import annotations

import io
from datetime import date

from openpyxl import load_workbook
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from reports.metrics import build_report
from reports.model import Period, Report, Scope
from reports.periods import calendar_previous, half_of, month_of
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
