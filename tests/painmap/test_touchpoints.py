"""The pain map by touchpoint (issue 10, Procedure §3.7 "grouped by touchpoint"): each
service's pains per channel from the service × channel report, as that report discloses them."""

from __future__ import annotations

import io
from datetime import date, datetime

import pytest
from openpyxl import load_workbook
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from questionnaires.schema import Language
from reports.model import Period, Report, Scope
from storage.models_painmap import PainFigure
from storage.painmap import ProcessKey, Span
from tests.painmap.conftest import BODY_OFFICER, Desk, day

OCTOBER = Period(date(2026, 10, 1), date(2026, 10, 31))
NOVEMBER = Period(date(2026, 11, 1), date(2026, 11, 30))
SERVICE = ProcessKey("service", "licensing")
GOSUSLUGI = ProcessKey("service", "licensing", "gosuslugi")


async def _seed(desk: Desk) -> None:
    """Licensing in October: 16 people through Gosuslugi (8 named the queue), 6 by phone
    (all named it), 3 in the office (all named it). The office's 3 are merged into the phone's
    block, so the plan shows Gosuslugi and hides phone and office."""
    add = desk.responses.add
    october = day("12.10.2026")
    await add(october, 2, service="licensing", channel="gosuslugi", problems=["queue"], times=8)
    await add(october, 5, service="licensing", channel="gosuslugi", times=8)
    await add(october, 2, service="licensing", channel="phone", problems=["queue"], times=6)
    await add(october, 1, service="licensing", channel="office", problems=["queue"], times=3)


async def test_pains_are_recorded_per_touchpoint_as_the_channel_report_shows_them(
    desk: Desk,
) -> None:
    await _seed(desk)
    await desk.service.refresh(OCTOBER)
    views = {v.pain.process: v for v in await desk.service.pains_for(BODY_OFFICER)}
    # The service keeps its own pain; Gosuslugi gets one; phone and office, hidden, get none.
    assert set(views) == {SERVICE, GOSUSLUGI}
    whole, channel = views[SERVICE], views[GOSUSLUGI]
    assert whole.latest is not None and channel.latest is not None
    assert whole.latest.figures.respondents == 17
    assert whole.latest.figures.prevalence == pytest.approx(17 / 25)
    assert channel.latest.figures.respondents == 8
    assert channel.latest.figures.prevalence == pytest.approx(0.5)
    assert channel.latest.figures.mean_overall == pytest.approx(2.0)
    assert channel.touchpoint_title == "Госуслуги" and whole.touchpoint_title == ""
    # Exactly what the officer's own service × channel report shows.
    report = await desk.service.reporting.report(
        OCTOBER, Scope(service="licensing", channel="gosuslugi")
    )
    [queue] = [row for row in report.problems if row.option_id == "queue"]
    assert (queue.respondents, queue.prevalence, queue.priority) == (
        channel.latest.figures.respondents,
        channel.latest.figures.prevalence,
        channel.latest.figures.priority,
    )
    hidden = await desk.service.reporting.report(
        OCTOBER, Scope(service="licensing", channel="phone")
    )
    assert hidden.overall.suppressed


async def test_a_touchpoint_does_not_replace_the_services_satisfaction(desk: Desk) -> None:
    await _seed(desk)
    await desk.service.refresh(OCTOBER)
    [record] = await desk.store.satisfaction(SERVICE)
    assert record.period == Span(OCTOBER.start, OCTOBER.end)
    assert record.satisfaction.n == 25


async def test_a_channel_hidden_later_records_no_figure_for_its_touchpoint(
    desk: Desk, sessions: async_sessionmaker[AsyncSession]
) -> None:
    await _seed(desk)
    add = desk.responses.add
    november = day("10.11.2026")
    # November: Gosuslugi 2 people, the office 20: Gosuslugi's row is hidden by the plan.
    await add(november, 2, service="licensing", channel="gosuslugi", problems=["queue"], times=2)
    await add(november, 2, service="licensing", channel="office", problems=["queue"], times=20)
    await desk.service.refresh(OCTOBER)
    await desk.service.refresh(NOVEMBER)
    [channel] = [
        v for v in await desk.service.pains_for(BODY_OFFICER) if v.pain.process == GOSUSLUGI
    ]
    latest = channel.history[-1]
    assert latest.period == Span(NOVEMBER.start, NOVEMBER.end)
    assert latest.figures.hidden and latest.figures.respondents is None
    async with sessions() as session:
        counts = [row.respondents for row in await session.scalars(select(PainFigure))]
    assert counts and all(c is None or c >= 5 for c in counts)


async def test_a_service_reached_through_one_channel_gets_no_touchpoint_pains(desk: Desk) -> None:
    await desk.responses.add(
        day("12.10.2026"), 2, service="licensing", channel="gosuslugi", problems=["queue"], times=8
    )
    await desk.responses.add(
        day("12.10.2026"), 5, service="licensing", channel="gosuslugi", times=8
    )
    await desk.service.refresh(OCTOBER)
    processes = {v.pain.process for v in await desk.service.pains_for(BODY_OFFICER)}
    assert processes == {SERVICE}


async def test_the_touchpoint_shows_in_the_sheet_appendix_and_round_trip(desk: Desk) -> None:
    await _seed(desk)
    await desk.service.refresh(OCTOBER)
    desk.service.reporting.use_pain_map(desk.service.sheet_lines)
    data = await desk.service.reporting.workbook(OCTOBER, Scope())
    book = load_workbook(io.BytesIO(data))
    sheet = book["Проблемы"]
    header = [cell.value for cell in sheet[1]]
    column = header.index("Точка взаимодействия")
    key = header.index("Ключ")
    rows = {row[column].value: row for row in sheet.iter_rows(min_row=2)}
    assert set(rows) == {"все каналы", "Госуслуги"}
    # A measure typed on the Gosuslugi row comes back to that touchpoint's pain.
    row = rows["Госуслуги"]
    for name, value in (
        ("Меры", "Подсказки на портале"),
        ("Ответственный", "Отдел лицензирования"),
        ("Срок", datetime(2027, 3, 31)),
    ):
        row[header.index(name)].value = value
    buffer = io.BytesIO()
    book.save(buffer)
    result = await desk.service.import_sheet(BODY_OFFICER, buffer.getvalue())
    assert result.errors == [] and result.added == 1
    pain_id = str(row[key].value)
    [measure] = await desk.store.measures([pain_id])
    pain = await desk.store.pain(pain_id)
    assert pain is not None and pain.process == GOSUSLUGI
    assert measure.text == "Подсказки на портале"
    # Appendix 2's table names the touchpoint with the process.
    processes = {row.process for row in await desk.service.appendix2_rows(OCTOBER)}
    title = desk.service.process_title(SERVICE)
    assert processes == {title, f"{title} (Госуслуги)"}


async def test_the_refresh_asks_reports_without_their_parameter_section(desk: Desk) -> None:
    """The costliest part of a report, which the map never reads (bench/painmap_bench.py)."""
    await _seed(desk)
    reporting = desk.service.reporting
    asked: list[bool] = []
    original = reporting.report

    async def spy(
        period: Period,
        scope: Scope,
        title: str = "",
        language: Language = Language.RU,
        *,
        parameters: bool = True,
    ) -> Report:
        asked.append(parameters)
        return await original(period, scope, title, language, parameters=parameters)

    reporting.report = spy  # type: ignore[method-assign]
    await desk.service.refresh(OCTOBER)
    assert asked and not any(asked)
    report = await original(OCTOBER, Scope(service="licensing"), parameters=False)
    assert report.parameters is None
