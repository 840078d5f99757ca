"""The pain map from seeded answers: refresh, disclosure, before/after, reminders, round trip."""

from __future__ import annotations

import io
import re
from collections.abc import Iterable
from dataclasses import replace
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pytest
from openpyxl import load_workbook
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.content import load_content
from bot.settings import ContentSettings
from questionnaires.schema import Language, Text
from reports.model import Period, Scope
from reports.painmap_import import NotAPainMap
from services.publication import PainMapMeasures
from storage.appeals import AppealRow, AppealStore
from storage.deliveries import DeliveryStore
from storage.models_painmap import Measure, PainFigure
from storage.painmap import Figures, FoundPain, ProcessKey, Satisfaction, Span
from tests.painmap.conftest import (
    BODY_OFFICER,
    LICENSING_OFFICER,
    STAFF_ROLES,
    Desk,
    build_service,
    day,
)
from tests.site.conftest import FakeMeasures, FakeWindows, make_publication

SEPTEMBER = Period(date(2026, 9, 1), date(2026, 9, 30))
OCTOBER = Period(date(2026, 10, 1), date(2026, 10, 31))
LICENSING = "Лицензирование деятельности по управлению многоквартирными домами"
INSPECTIONS = "Проверки управляющих организаций"
NOVEMBER = Period(date(2026, 11, 1), date(2026, 11, 30))


async def _seed(desk: Desk) -> None:
    """Licensing: the queue hurts half the people in September, 40% in October, and 12.5% in
    November after a measure done mid-October; 4 people named rudeness in October."""
    add = desk.responses.add
    await add(day("10.09.2026"), 2, service="licensing", problems=["queue"], times=10)
    await add(day("10.09.2026"), 5, service="licensing", times=10)
    await add(day("12.10.2026"), 2, service="licensing", problems=["queue"], times=8)
    await add(day("12.10.2026"), 3, service="licensing", problems=["rude"], times=4)
    await add(day("12.10.2026"), 5, service="licensing", times=8)
    await add(day("20.11.2026"), 3, service="licensing", problems=["queue"], times=5)
    await add(day("20.11.2026"), 5, service="licensing", times=35)


async def _queue_pain(desk: Desk) -> str:
    [view] = [v for v in await desk.service.pains_for(BODY_OFFICER) if v.pain.title == "Очередь"]
    return view.pain.id


async def test_refresh_records_the_reports_disclosed_figures_per_process(desk: Desk) -> None:
    await _seed(desk)
    await desk.service.refresh(OCTOBER)
    views = await desk.service.pains_for(BODY_OFFICER)
    by_title = {v.pain.title: v for v in views}
    # Four people named rudeness: the report hides it, so the map does not even list it.
    assert set(by_title) == {"Очередь"}
    queue = by_title["Очередь"]
    assert queue.process_title == LICENSING
    assert queue.pain.process == ProcessKey("service", "licensing")
    assert queue.latest is not None and queue.latest.period == Span(OCTOBER.start, OCTOBER.end)
    figures = queue.latest.figures
    assert figures.respondents == 8
    assert figures.prevalence == pytest.approx(0.4)
    assert figures.mean_overall == pytest.approx(2.0)
    assert figures.priority == pytest.approx(1.2)
    assert queue.history == (queue.latest,)


async def test_no_stored_figure_counts_fewer_than_the_threshold(
    desk: Desk, sessions: async_sessionmaker[AsyncSession]
) -> None:
    """The attack: read the pain map tables for a small group. No count of people below the
    threshold can be found, not even 0 against 1–4, whatever was named."""
    await _seed(desk)
    await desk.responses.add(day("12.10.2026"), 1, service="inspections", problems=["slow"])
    for period in (SEPTEMBER, OCTOBER, NOVEMBER):
        await desk.service.refresh(period)
    async with sessions() as session:
        counts = [row.respondents for row in await session.scalars(select(PainFigure))]
    assert counts and all(c is None or c >= 5 for c in counts)
    # Nor does a pain named by 1–4 people appear at all (rudeness, the lone inspection).
    titles = {p.title for p in await desk.store.pains()}
    assert titles == {"Очередь"}


async def test_a_refresh_again_replaces_the_period_and_keeps_history(desk: Desk) -> None:
    await _seed(desk)
    for period in (SEPTEMBER, OCTOBER, OCTOBER, NOVEMBER):
        await desk.service.refresh(period)
    pain_id = await _queue_pain(desk)
    view = await desk.service.card(BODY_OFFICER, pain_id)
    assert view is not None
    prevalences = [r.figures.prevalence for r in view.history]
    assert prevalences == pytest.approx([0.5, 0.4, 0.125])


async def test_a_pain_not_named_in_a_later_period_is_hidden_like_a_rare_one(
    desk: Desk,
) -> None:
    """The report's outputs do not tell nobody from 1–4 people: neither does the map."""
    add = desk.responses.add
    await add(day("12.10.2026"), 2, service="inspections", problems=["slow"], times=6)
    await add(day("12.10.2026"), 5, service="inspections", times=6)
    await add(day("12.11.2026"), 2, service="inspections", problems=["slow"], times=2)
    await add(day("12.11.2026"), 5, service="inspections", times=10)
    await desk.service.refresh(OCTOBER)
    await desk.service.refresh(NOVEMBER)
    [slow] = await desk.service.pains_for(BODY_OFFICER)
    assert [r.figures.hidden for r in slow.history] == [False, True]
    assert slow.history[0].figures.respondents == 6


async def test_appeal_reasons_become_pains_of_their_process(
    desk: Desk, sessions: async_sessionmaker[AsyncSession]
) -> None:
    rows = [
        AppealRow("1", day("02.10.2026"), "complaint", reason="delay", service_code="licensing"),
        AppealRow("2", day("03.10.2026"), "appeal", reason="delay", service_code="licensing"),
        AppealRow("3", day("04.10.2026"), "appeal", reason="other", service_code="licensing"),
        AppealRow("4", day("04.11.2026"), "appeal", reason="delay", service_code="licensing"),
    ]
    await AppealStore(sessions).upsert("sed", rows)
    await desk.service.refresh(OCTOBER)
    views = {v.pain.title: v for v in await desk.service.pains_for(BODY_OFFICER)}
    delay = views["Нарушение сроков"]
    assert delay.pain.source == "appeal_reason"
    assert delay.latest is not None
    assert delay.latest.figures.respondents == 2
    assert delay.latest.figures.prevalence == pytest.approx(2 / 3)
    # Read in English, the reason is named by the appeals mapping's English title.
    assert desk.service.problem_title(delay.pain, Language.EN) == "Missed deadline"
    assert desk.service.problem_title(delay.pain) == "Нарушение сроков"


async def test_before_and_after_a_done_measure(desk: Desk) -> None:
    await _seed(desk)
    await desk.service.refresh(SEPTEMBER)
    pain_id = await _queue_pain(desk)
    desk.clock[0] = datetime(2026, 10, 1, 3, tzinfo=UTC)
    measure = await desk.service.add_measure(
        BODY_OFFICER, pain_id, "Электронная очередь", "Начальник отдела", day("31.10.2026")
    )
    assert measure is not None
    desk.clock[0] = datetime(2026, 10, 15, 3, tzinfo=UTC)
    done = await desk.service.set_status(BODY_OFFICER, measure.id, "done")
    assert done is not None and done.done_on == day("15.10.2026")
    desk.clock[0] = datetime(2026, 12, 5, 3, tzinfo=UTC)
    await desk.service.refresh(OCTOBER)
    await desk.service.refresh(NOVEMBER)
    view = await desk.service.card(BODY_OFFICER, pain_id)
    assert view is not None
    comparison = view.comparisons[measure.id]
    assert comparison.before is not None and comparison.after is not None
    assert comparison.before.period == Span(SEPTEMBER.start, SEPTEMBER.end)
    assert comparison.after.period == Span(NOVEMBER.start, NOVEMBER.end)
    assert comparison.before.figures.prevalence == pytest.approx(0.5)
    assert comparison.after.figures.prevalence == pytest.approx(0.125)
    assert comparison.before.figures.priority == pytest.approx(1.5)
    assert comparison.after.figures.priority == pytest.approx(0.25)
    assert comparison.csat_before is not None and comparison.csat_after is not None
    assert comparison.csat_before.satisfaction.csat == pytest.approx(50.0)
    assert comparison.csat_after.satisfaction.csat == pytest.approx(87.5)
    # The publication site reads the same as plain values.
    [published] = await desk.service.done_measures()
    assert published.process_title == LICENSING
    assert published.problem == "Очередь"
    assert published.measure == "Электронная очередь"
    assert published.comparison == comparison
    # «Вы сказали — мы сделали» on the public site: the process's CSAT before and after.
    [public] = await PainMapMeasures(desk.service.public_measures).done_measures()
    assert (public.problem, public.process, public.measure) == (
        "Очередь",
        LICENSING,
        "Электронная очередь",
    )
    assert public.done_on == day("15.10.2026") and public.metric == "CSAT, %"
    assert public.before == pytest.approx(50.0) and public.after == pytest.approx(87.5)


async def test_a_services_officer_sees_only_her_services_pains(desk: Desk) -> None:
    await desk.store.save_period(
        ProcessKey("service", "inspections"),
        Span(OCTOBER.start, OCTOBER.end),
        Satisfaction(False, 10, 50.0, 3.0),
        [FoundPain("rating_problem", "obstacles:slow", "Долго", Figures(False, 5, 0.5, 2, 1.5))],
        absent={},
        today=day("05.12.2026"),
    )
    await _seed(desk)
    await desk.service.refresh(OCTOBER)
    mine = {v.process_title for v in await desk.service.pains_for(LICENSING_OFFICER)}
    everyone = {v.process_title for v in await desk.service.pains_for(BODY_OFFICER)}
    assert mine == {LICENSING}
    assert everyone == {LICENSING, INSPECTIONS}
    inspection = [v for v in await desk.service.pains_for(BODY_OFFICER) if v.pain.title == "Долго"]
    assert await desk.service.card(LICENSING_OFFICER, inspection[0].pain.id) is None
    assert (
        await desk.service.add_measure(
            LICENSING_OFFICER, inspection[0].pain.id, "Мера", "Кто-то", day("31.12.2026")
        )
        is None
    )


# --- reminders --------------------------------------------------------------------------


async def _overdue_measure(desk: Desk) -> str:
    await _seed(desk)
    await desk.service.refresh(OCTOBER)
    pain_id = await _queue_pain(desk)
    desk.clock[0] = datetime(2026, 11, 1, 3, tzinfo=UTC)
    measure = await desk.service.add_measure(
        BODY_OFFICER, pain_id, "Второе окно", "Начальник отдела", day("01.12.2026")
    )
    assert measure is not None
    return measure.id


async def test_overdue_measures_are_reminded_once_a_day_even_after_a_restart(desk: Desk) -> None:
    await _overdue_measure(desk)
    desk.clock[0] = datetime(2026, 12, 1, 3, tzinfo=UTC)
    assert await desk.service.tick() == 0  # due today: not overdue yet
    desk.clock[0] = datetime(2026, 12, 2, 3, tzinfo=UTC)
    assert await desk.service.tick() == 2
    assert sorted(chat for chat, _ in desk.outbox.sent) == [LICENSING_OFFICER, BODY_OFFICER]
    assert "Второе окно" in desk.outbox.sent[0][1] and "01.12.2026" in desk.outbox.sent[0][1]
    desk.clock[0] = datetime(2026, 12, 2, 9, tzinfo=UTC)
    assert await desk.service.tick() == 0
    assert await desk.restart().tick() == 0  # the ledger survives a restart
    desk.clock[0] = datetime(2026, 12, 3, 3, tzinfo=UTC)
    assert await desk.restart().tick() == 2


class _Languages:
    """The licensing officer reads English, the body-wide officer Russian."""

    async def of(self, chat: int) -> Language:
        return Language.EN if chat == LICENSING_OFFICER else Language.RU

    async def of_many(self, chats: Iterable[int]) -> dict[int, Language]:
        return {chat: await self.of(chat) for chat in chats}


async def test_an_overdue_reminder_reaches_each_officer_in_their_language(desk: Desk) -> None:
    """Issue 12 item 2: the reminder's words, the process and the problem in the officer's
    language; the measure and the responsible as typed."""
    roles = replace(
        STAFF_ROLES,
        option_texts={("rating", "obstacles", "queue"): Text(ru="Очередь", en="Queue")},
    )
    service = build_service(desk.sessions, desk.outbox, desk.clock, roles, _Languages())
    await _overdue_measure(desk)
    desk.clock[0] = datetime(2026, 12, 2, 3, tzinfo=UTC)
    assert await service.tick() == 2
    sent = dict(desk.outbox.sent)
    english, russian = sent[LICENSING_OFFICER], sent[BODY_OFFICER]
    assert "Queue" in english and "Licensing of apartment building management" in english
    typed = ("Второе окно", "Начальник отдела")
    assert all(text in english for text in typed)
    for text in typed:
        english = english.replace(text, "")
    assert re.search(r"[\u0400-\u04ff]", english) is None
    assert "Очередь" in russian and LICENSING in russian


async def test_overdue_reminders_wait_for_the_alert_hour(desk: Desk) -> None:
    # Review: the first hourly tick after local midnight sent them.
    await _overdue_measure(desk)
    desk.service.remind_from_hour = 10
    desk.clock[0] = datetime(2026, 12, 1, 15, 30, tzinfo=UTC)  # 00:30 on 2 December, Yakutsk
    assert await desk.service.tick() == 0
    desk.clock[0] = datetime(2026, 12, 2, 1, 5, tzinfo=UTC)  # 10:05
    assert await desk.service.tick() == 2


async def test_a_failed_reminder_is_retried_and_a_done_measure_is_not_reminded(
    desk: Desk,
) -> None:
    measure_id = await _overdue_measure(desk)
    desk.outbox.failing = {LICENSING_OFFICER}
    desk.clock[0] = datetime(2026, 12, 2, 3, tzinfo=UTC)
    assert await desk.service.tick() == 1
    desk.outbox.failing = set()
    assert await desk.service.tick() == 1
    assert [chat for chat, _ in desk.outbox.sent] == [BODY_OFFICER, LICENSING_OFFICER]
    await desk.service.set_status(BODY_OFFICER, measure_id, "done")
    desk.clock[0] = datetime(2026, 12, 3, 3, tzinfo=UTC)
    assert await desk.service.tick() == 0
    assert await desk.service.overdue() == []


async def test_the_tick_refreshes_each_closed_period_once(desk: Desk) -> None:
    await _seed(desk)
    assert await desk.service.tick() == 0
    assert await desk.store.refreshed(Span(NOVEMBER.start, NOVEMBER.end))
    assert await desk.store.refreshed(Span(date(2026, 7, 1), SEPTEMBER.end))
    assert not await desk.store.refreshed(Span(OCTOBER.start, OCTOBER.end))


async def test_the_tick_takes_again_an_older_period_whose_refresh_failed(desk: Desk) -> None:
    # Revision 0021 removes the figures stored before poll windows left the calendar figures
    # and marks their refreshes failed; an outage leaves a refresh failed too. Either way the
    # period is refreshed again, though it is no longer the last closed one, and only once.
    await _seed(desk)
    ledger = DeliveryStore(desk.sessions)
    now = desk.clock[0]
    assert await ledger.claim("painmap_refresh", "20261001-20261031", 0, now, now)
    await ledger.finish("painmap_refresh", "20261001-20261031", 0, now, ok=False)
    assert await ledger.claim("painmap_refresh", "bogus", 0, now, now)
    await ledger.finish("painmap_refresh", "bogus", 0, now, ok=False)  # not a period: skipped
    await desk.service.tick()
    assert await desk.store.refreshed(Span(OCTOBER.start, OCTOBER.end))
    assert await desk.store.refreshed(Span(NOVEMBER.start, NOVEMBER.end))
    assert await ledger.status("painmap_refresh", "20261001-20261031", 0) == "sent"
    assert await ledger.failed("painmap_refresh") == ["bogus"]


# --- the workbook round trip ------------------------------------------------------------


async def _workbook(desk: Desk, scope: Scope | None = None) -> bytes:
    """A workbook as every export and scheduled report builds it, with the persisted map."""
    desk.service.reporting.use_pain_map(desk.service.sheet_lines)
    return await desk.service.reporting.workbook(NOVEMBER, scope or Scope())


def _edit(data: bytes, changes: dict[tuple[str, str], Any]) -> bytes:
    """Set cells by (problem title or key, header) on the pain map sheet."""
    book = load_workbook(io.BytesIO(data))
    sheet = book["Проблемы"]
    header = [cell.value for cell in sheet[1]]
    for (which, column), value in changes.items():
        for row in sheet.iter_rows(min_row=2):
            if which in (row[2].value, row[header.index("Ключ")].value):
                row[header.index(column)].value = value
                break
        else:
            raise AssertionError(which)
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def _sheet(data: bytes) -> list[list[object]]:
    sheet = load_workbook(io.BytesIO(data))["Проблемы"]
    return [list(row) for row in sheet.iter_rows(values_only=True)]


async def test_the_pain_map_sheet_names_each_rows_process_and_hides_the_key(desk: Desk) -> None:
    await desk.store.save_period(
        ProcessKey("service", "inspections"),
        Span(NOVEMBER.start, NOVEMBER.end),
        Satisfaction(False, 10, 50.0, 3.0),
        [FoundPain("rating_problem", "obstacles:slow", "Долго", Figures(False, 5, 0.5, 2, 1.5))],
        absent={},
        today=day("05.12.2026"),
    )
    await _seed(desk)
    await desk.service.refresh(NOVEMBER)
    data = await _workbook(desk)
    rows = _sheet(data)
    header = rows[0]
    processes = {row[header.index("Процесс")] for row in rows[1:]}
    assert processes == {LICENSING, INSPECTIONS}
    own = _sheet(await _workbook(desk, Scope(service="licensing")))
    assert {row[1] for row in own[1:]} == {LICENSING}
    sheet = load_workbook(io.BytesIO(data))["Проблемы"]
    key_letter = chr(ord("A") + header.index("Ключ"))
    assert sheet.column_dimensions[key_letter].hidden
    assert sheet.protection.sheet
    assert sheet[f"{key_letter}2"].protection.locked
    assert not sheet["F2"].protection.locked  # Меры


async def test_measures_go_round_trip_through_the_workbook(desk: Desk) -> None:
    await _seed(desk)
    await desk.service.refresh(NOVEMBER)
    data = _edit(
        await _workbook(desk),
        {
            ("Очередь", "Меры"): "Электронная очередь",
            ("Очередь", "Ответственный"): "Начальник отдела",
            ("Очередь", "Срок"): datetime(2027, 3, 31),
            ("Очередь", "Статус"): "выполняется",
        },
    )
    result = await desk.service.import_sheet(BODY_OFFICER, data)
    assert result.errors == [] and (result.added, result.changed) == (1, 0)
    [measure] = await desk.store.measures([await _queue_pain(desk)])
    assert (measure.text, measure.responsible, measure.deadline, measure.status) == (
        "Электронная очередь",
        "Начальник отдела",
        date(2027, 3, 31),
        "in_progress",
    )
    assert measure.started_on == day("05.12.2026")
    # Sent again: nothing new.
    again = await desk.service.import_sheet(BODY_OFFICER, data)
    assert (again.added, again.changed) == (0, 0)
    # The next export carries the measure; its status changed there comes back.
    exported = await _workbook(desk)
    key = f"{measure.pain_id}.{measure.id}"
    row = next(r for r in _sheet(exported) if r[-1] == key)
    assert row[5:9] == [
        "Электронная очередь",
        "Начальник отдела",
        datetime(2027, 3, 31),
        "выполняется",
    ]
    done = await desk.service.import_sheet(
        BODY_OFFICER, _edit(exported, {(key, "Статус"): "выполнена"})
    )
    assert (done.added, done.changed) == (0, 1)
    stored = await desk.store.measure(measure.id)
    assert stored is not None and stored.status == "done" and stored.done_on == day("05.12.2026")


async def test_every_bad_cell_is_reported_and_nothing_is_applied(
    desk: Desk, sessions: async_sessionmaker[AsyncSession]
) -> None:
    await desk.store.save_period(
        ProcessKey("service", "inspections"),
        Span(NOVEMBER.start, NOVEMBER.end),
        Satisfaction(False, 10, 50.0, 3.0),
        [
            FoundPain("rating_problem", "obstacles:slow", "Долго", Figures(False, 5, 0.5, 2, 1.5)),
            FoundPain("rating_problem", "obstacles:noise", "Шум", Figures(False, 5, 0.5, 3, 1.0)),
        ],
        absent={},
        today=day("05.12.2026"),
    )
    await _seed(desk)
    await desk.service.refresh(OCTOBER)
    await desk.service.refresh(NOVEMBER)
    exported = await _workbook(desk)
    rows = _sheet(exported)
    keys = {row[2]: row[-1] for row in rows[1:]}
    data = _edit(
        exported,
        {
            ("Очередь", "Меры"): "Хорошая мера",
            ("Очередь", "Ответственный"): "Отдел",
            ("Очередь", "Срок"): "31.02.2027",
            ("Шум", "Меры"): "Обучение",
            ("Шум", "Ответственный"): "Кадры",
            ("Шум", "Срок"): "01.03.2027",
            ("Шум", "Статус"): "почти готово",
            ("Долго", "Меры"): "x" * 1001,
            ("Долго", "Ответственный"): "Инспекция",
            ("Долго", "Срок"): "01.03.2027",
        },
    )
    data = _edit(data, {(str(keys["Долго"]), "Ключ"): "f" * 32})
    result = await desk.service.import_sheet(BODY_OFFICER, data)
    assert not result.applied
    found = {(e.column, e.problem) for e in result.errors}
    assert found == {("Срок", "bad_date"), ("Статус", "bad_status"), ("Ключ", "unknown_pain")}
    located = {e.problem: f"{e.letter}{e.row}" for e in result.errors}
    order = [row[2] for row in rows[1:]]
    assert located["bad_date"] == f"H{order.index('Очередь') + 2}"
    assert located["bad_status"] == f"I{order.index('Шум') + 2}"
    async with sessions() as session:
        assert list(await session.scalars(select(Measure))) == []
    # Too long a text, a past date, and a pain of another service for a service's officer.
    mine = _edit(
        await _workbook(desk),
        {
            ("Очередь", "Меры"): "x" * 1001,
            ("Очередь", "Ответственный"): "Отдел",
            ("Очередь", "Срок"): "01.01.2020",
            ("Долго", "Меры"): "Мера",
            ("Долго", "Ответственный"): "Инспекция",
            ("Долго", "Срок"): "01.03.2027",
        },
    )
    refused = await desk.service.import_sheet(LICENSING_OFFICER, mine)
    assert {(e.column, e.problem) for e in refused.errors} == {
        ("Меры", "too_long"),
        ("Срок", "past_date"),
        ("Ключ", "not_yours"),
    }
    async with sessions() as session:
        assert list(await session.scalars(select(Measure))) == []


async def test_a_file_without_the_pain_map_is_not_one(desk: Desk) -> None:
    with pytest.raises(NotAPainMap):
        await desk.service.import_sheet(BODY_OFFICER, b"not a workbook")


async def test_an_english_pain_map_names_rating_problems_in_english(desk: Desk) -> None:
    """Issue 12 item 2: the persisted map keeps the Russian title it was found under; read in
    English, a rating problem is named by its option's English text (options without English
    keep the recorded title; appeal reasons take the appeals mapping's English titles)."""
    roles = replace(
        STAFF_ROLES,
        option_texts={("rating", "obstacles", "queue"): Text(ru="Очередь", en="Queue")},
    )
    service = build_service(desk.sessions, desk.outbox, desk.clock, roles)
    await _seed(desk)
    await service.refresh(OCTOBER)
    english = await service.sheet_lines(OCTOBER, Scope(), Language.EN)
    assert {line.problem for line in english} == {"Queue"}
    russian = await service.sheet_lines(OCTOBER, Scope())
    assert {line.problem for line in russian} == {"Очередь"}


async def test_the_english_site_names_a_done_measures_problem_and_process_in_english(
    desk: Desk, tmp_path: Path
) -> None:
    """Issue 12 item 2: «you said — we did» in the site's en/ tree names the problem by its
    option's English text and the process by the catalog's English title (the ru/ tree keeps
    the recorded Russian ones); the measure stays as the officer typed it."""
    roles = replace(
        STAFF_ROLES,
        option_texts={("rating", "obstacles", "queue"): Text(ru="Очередь", en="Queue")},
    )
    service = build_service(desk.sessions, desk.outbox, desk.clock, roles)
    await _seed(desk)
    await service.refresh(SEPTEMBER)
    pain_id = await _queue_pain(desk)
    measure = await service.add_measure(
        BODY_OFFICER, pain_id, "Электронная очередь", "Начальник отдела", day("31.12.2026")
    )
    assert measure is not None
    assert await service.set_status(BODY_OFFICER, measure.id, "done") is not None
    defaults = ContentSettings()
    content = load_content(defaults.questionnaires_dir, defaults.catalog_path)
    # The measures as the composition hands them to the site (services.publication).
    measures = await PainMapMeasures(service.public_measures).done_measures()
    _, publication = make_publication(
        desk.sessions, content, FakeWindows(), FakeMeasures(measures)
    )
    await publication.publish(tmp_path)
    english = (tmp_path / "en" / "done.html").read_text(encoding="utf-8")
    assert "Queue" in english and "Очередь<" not in english
    assert "Licensing of apartment building management" in english
    assert LICENSING not in english
    assert "Электронная очередь" in english  # typed by the officer: as typed
    russian = (tmp_path / "ru" / "done.html").read_text(encoding="utf-8")
    assert "Очередь" in russian and "Queue" not in russian
    assert LICENSING in russian
