"""Officer commands through the dispatcher: reports, exports, access; no instant alerts."""

from __future__ import annotations

import io
from datetime import date
from typing import Any

import pytest
from aiogram.methods import SendDocument, SendMessage, SendPhoto
from openpyxl import load_workbook

from questionnaires.results import AnswerRow, CompletedResponse, ResponseContext
from storage.responses import ResponseStore
from tests.bot.conftest import OFFICER_ID, World


async def _seed(world: World, scores: list[int], day: date, service: str = "licensing") -> None:
    store = ResponseStore(world.sessions)
    for score in scores:
        await store.save(
            CompletedResponse(
                questionnaire_id="post_service",
                questionnaire_version=1,
                kind="post_service",
                audience="external",
                context=ResponseContext(service=service, channel="office"),
                submitted_on=day,
                answers=(
                    AnswerRow("overall", number=score),
                    AnswerRow("solved", option_id="yes" if score >= 4 else "no"),
                ),
            )
        )


async def test_non_officer_gets_no_hint_that_report_exists(world: World) -> None:
    anna = world.harness.person(1001)
    await anna.send("/report")
    unknown = anna.last_text()
    await anna.send("/no_such_command")
    assert anna.last_text() == unknown
    await anna.send("/export")
    assert anna.last_text() == unknown


async def test_officer_gets_a_report_with_charts_for_the_chosen_period(world: World) -> None:
    last_week_day = date(2026, 11, 18)  # the clock says 2026-11-23
    await _seed(world, [5, 5, 4, 2, 1, 4], last_week_day)
    officer = world.harness.person(OFFICER_ID)
    await officer.send("/report")
    assert "выберите период" in officer.last_text()
    await officer.click("Прошлая неделя")
    await officer.click("Все услуги")
    texts = " ".join(world.harness.texts(OFFICER_ID))
    assert "16.11.2026–22.11.2026" in texts
    assert "CSAT 66,7%" in texts and "ср. 3,50" in texts  # 4 of 6 satisfied, mean 21/6
    photos = world.harness.sent(SendPhoto)
    assert len(photos) == 2 and all(int(p.chat_id) == OFFICER_ID for p in photos)


async def test_small_groups_show_no_figures_in_the_officer_report(world: World) -> None:
    await _seed(world, [1, 2, 5], date(2026, 11, 18))
    officer = world.harness.person(OFFICER_ID)
    await officer.send("/report")
    await officer.click("Прошлая неделя")
    await officer.click("Все услуги")
    report = "\n".join(
        m.text for m in world.harness.sent(SendMessage) if int(m.chat_id) == OFFICER_ID
    )
    assert "скрыто ради анонимности" in report
    assert "33" not in report  # CSAT of 1 in 3 must not appear


async def test_officer_exports_an_xlsx_workbook(world: World) -> None:
    await _seed(world, [5, 4, 4, 3, 5, 2], date(2026, 11, 18))
    officer = world.harness.person(OFFICER_ID)
    await officer.send("/export")
    await officer.click("Прошлая неделя")
    await officer.click("Все услуги")
    [document] = world.harness.sent(SendDocument)
    data = document.document.data
    workbook = load_workbook(io.BytesIO(data))
    assert "Сводка" in workbook.sheetnames and "Ответы" in workbook.sheetnames


async def test_a_strongly_negative_response_sends_the_officer_nothing_at_once(
    world: World,
) -> None:
    """Issue 8: a single low rating's alert gave its moment, service, channel and comment."""
    anna = world.harness.person(1001, username="anna_k")
    await anna.send("/start licensing_office")
    await anna.click("1")
    await anna.click("Нет")
    await anna.click("Невежливые сотрудники")
    await anna.click("Готово")
    await anna.click("1")
    await anna.send("Нагрубили в окне 3")
    assert not [m for m in world.harness.sent(SendMessage) if int(m.chat_id) == OFFICER_ID]


async def test_the_year_and_every_closed_period_can_be_chosen_but_no_running_one(
    world: World,
) -> None:
    officer = world.harness.person(OFFICER_ID)
    await officer.send("/report")
    await officer.click("Прошлый год")
    await officer.click("Все услуги")
    texts = " ".join(world.harness.texts(OFFICER_ID))
    assert "01.01.2025–31.12.2025" in texts
    assert "Текущий" not in texts


async def test_satisfied_response_raises_no_alert(world: World) -> None:
    anna = world.harness.person(1001)
    await anna.send("/start licensing_office")
    await anna.click("5")
    await anna.click("Да")
    await anna.click("1")
    await anna.click("Пропустить")
    assert not [m for m in world.harness.sent(SendMessage) if int(m.chat_id) == OFFICER_ID]


def test_without_weekly_figures_the_officer_is_not_offered_weeks(world: World) -> None:
    from handlers.officer import _choices
    from reports.disclosure import DisclosurePolicy
    from services.reporting import ReportingPolicy, ReportingService

    monthly = ReportingService(
        sessions=world.sessions,
        roles=world.reporting._roles,
        catalog=world.reporting.catalog,
        policy=ReportingPolicy(disclosure=DisclosurePolicy()),
    )

    assert list(_choices(monthly).values()) == [
        "Прошлый месяц",
        "Прошлый квартал",
        "Прошлое полугодие",
        "Прошлый год",
    ]
    assert "Прошлая неделя" in _choices(world.reporting).values()


async def test_without_weekly_figures_a_months_trend_is_drawn_by_month(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    from questionnaires.schema import Language
    from reports import metrics
    from reports.disclosure import DisclosurePolicy
    from reports.model import Period, Scope
    from services.reporting import ReportingPolicy, ReportingService

    buckets: list[str] = []

    async def spy(*args: Any, bucket: str, **kwargs: Any) -> Any:
        buckets.append(bucket)  # the trend is folded with the report (one reading)
        return await metrics.report_and_trend(*args, bucket=bucket, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr("services.reporting.report_and_trend", spy)
    monthly = ReportingService(
        sessions=world.sessions,
        roles=world.reporting._roles,
        catalog=world.reporting.catalog,
        policy=ReportingPolicy(disclosure=DisclosurePolicy()),
    )
    october = Period(date(2026, 10, 1), date(2026, 10, 31))
    await monthly.report_files(october, Scope(), Language.RU)
    await world.reporting.report_files(october, Scope(), Language.RU)  # weekly figures on

    # Week points could never show figures without weekly figures: one month point instead.
    assert buckets == ["month", "week"]


async def test_issue10_officer_types_a_closed_range_of_whole_months(world: World) -> None:
    await _seed(world, [5, 5, 4, 2, 1, 4], date(2026, 9, 15))
    await _seed(world, [5, 5, 5, 5, 5, 5], date(2026, 10, 15))
    officer = world.harness.person(OFFICER_ID)
    await officer.send("/report 01.09.2026–31.10.2026")
    assert "Период 01.09.2026–31.10.2026: выберите услугу" in officer.last_text()
    await officer.click("Все услуги")
    texts = " ".join(world.harness.texts(OFFICER_ID))
    assert "Период: 01.09.2026–31.10.2026 (сравнение с 01.07.2026–31.08.2026)" in texts
    assert "CSAT 83,3%" in texts  # 10 of 12 satisfied
    await officer.send("/export 01.09.2026-31.10.2026")
    await officer.click("Все услуги")
    [document] = world.harness.sent(SendDocument)
    assert document.document.filename == "otklik-20260901-20261031.xlsx"


@pytest.mark.parametrize(
    ("typed", "explained"),
    [
        ("/report 03.09.2026–31.10.2026", "должен состоять из целых"),
        ("/report 01.11.2026–30.11.2026", "ещё не закончился"),  # the clock says 23.11
        ("/report сентябрь", "Не удалось прочитать период"),
    ],
)
async def test_issue10_a_range_the_policy_cannot_show_is_explained_and_refused(
    world: World, typed: str, explained: str
) -> None:
    officer = world.harness.person(OFFICER_ID)
    await officer.send(typed)
    assert explained in officer.last_text()
    assert officer.buttons() == []


async def test_the_report_text_is_ready_while_its_charts_are_still_drawn(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Issue 15: charts off the hot path. The officer's text does not wait for the drawing."""
    import asyncio
    import threading

    from questionnaires.schema import Language
    from reports import charts
    from reports.chart_cache import clear_chart_cache
    from reports.model import Period, Scope

    await _seed(world, [5, 5, 4, 2, 1, 4], date(2026, 10, 15))
    clear_chart_cache()
    release = threading.Event()

    def slow_trend(*args: Any, **kwargs: Any) -> bytes:
        assert release.wait(30)
        return charts.csat_trend_png(*args, **kwargs)

    monkeypatch.setattr("services.reporting.csat_trend_png", slow_trend)
    october = Period(date(2026, 10, 1), date(2026, 10, 31))
    delivery = await world.reporting.report_delivery(october, Scope(), Language.RU)
    assert any("CSAT 66,7%" in text for text in delivery.messages)
    await asyncio.sleep(0.05)
    assert not delivery.charts.done()  # still drawing: the text can go out meanwhile
    release.set()
    files = await delivery.files()
    assert [name for name, _ in files.charts][:2] == ["csat_trend.png", "distribution.png"]
    assert all(png.startswith(b"\x89PNG") for _, png in files.charts)
    # The same as the whole delivery (the scheduled reports' path).
    assert await world.reporting.report_files(october, Scope(), Language.RU) == files
