"""Scheduled reports with a fake clock: due, catch-up after downtime, never twice; alerts."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from zoneinfo import ZoneInfo

from aiogram import Bot

from bot.outbox import MessengerOutbox
from questionnaires.messengers import max_chat
from questionnaires.results import AnswerRow, CompletedResponse, ResponseContext
from scheduler.deliveries import ALERTS, DIGEST, SEMIANNUAL, ReportDeliveries, ReportSchedule
from services.appendix2 import Appendix2Service
from storage.deliveries import DeliveryStore
from storage.responses import ResponseStore
from tests.bot.conftest import (
    BODY,
    INTERNAL_OFFICER_ID,
    OFFICER_ID,
    World,
    build_test_services,
    handler_settings,
)

ZONE = ZoneInfo("Asia/Yakutsk")


@dataclass
class FakeOutbox:
    texts: list[tuple[int, str]] = field(default_factory=list)
    photos: list[tuple[int, str]] = field(default_factory=list)
    documents: list[tuple[int, str]] = field(default_factory=list)
    fail: int = 0
    #: Names of photos and documents whose next sending fails once (a later part of a delivery).
    broken: set[str] = field(default_factory=set)

    async def text(self, chat_id: int, html: str) -> None:
        if self.fail:
            self.fail -= 1
            raise ConnectionError("network down")
        self.texts.append((chat_id, html))

    def _break(self, name: str) -> None:
        if name in self.broken:
            self.broken.discard(name)
            raise ConnectionError("network down")

    async def photo(self, chat_id: int, name: str, png: bytes) -> None:
        assert png.startswith(b"\x89PNG")
        self._break(name)
        self.photos.append((chat_id, name))

    async def document(self, chat_id: int, name: str, data: bytes, caption: str) -> None:
        self._break(name)
        self.documents.append((chat_id, name))

    async def text_with_button(self, chat_id: int, html: str, button: str, data: str) -> None:
        await self.text(chat_id, html)

    def digests(self) -> list[str]:
        return [text for _, text in self.texts if "Еженедельная сводка" in text]


async def _installed(world: World, day: date = date(2026, 1, 1)) -> None:
    """Record the installation day, as the first start does (long ago unless told)."""
    assert await DeliveryStore(world.sessions).installed_on(day) == day


def _local(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=ZONE)


def _deliveries(
    world: World, outbox: FakeOutbox, alert_hour: int = 10, *, appendix2: bool = False
) -> ReportDeliveries:
    return ReportDeliveries(
        schedule=ReportSchedule(ZONE, "0 9 * * mon", alert_hour, weekly=True),
        store=DeliveryStore(world.sessions),
        reporting=world.reporting,
        outbox=outbox,
        appendix2=Appendix2Service(reporting=world.reporting, body=BODY) if appendix2 else None,
    )


def test_without_weekly_figures_the_digest_and_the_batches_cover_the_last_month() -> None:
    schedule = ReportSchedule(ZONE, "0 9 * * mon", alert_hour=8)
    digests = schedule.occurrences(DIGEST, _local(2026, 11, 20), _local(2026, 12, 15))
    assert {(d.key, d.period.start, d.period.end) for d in digests} == {
        ("m2026-10", date(2026, 10, 1), date(2026, 10, 31)),
        ("m2026-11", date(2026, 11, 1), date(2026, 11, 30)),
    }
    [batch] = schedule.occurrences(ALERTS, _local(2026, 11, 20), _local(2026, 12, 15))
    assert batch.fired_at == _local(2026, 12, 1, 8)
    assert (batch.period.start, batch.period.end) == (date(2026, 11, 1), date(2026, 11, 30))


def test_schedule_in_the_bodys_zone() -> None:
    schedule = ReportSchedule(ZONE, "0 9 * * mon", weekly=True)
    [digest] = schedule.occurrences(DIGEST, _local(2026, 11, 22, 0, 0), _local(2026, 11, 23, 10))
    assert digest.fired_at == _local(2026, 11, 23, 9, 0)
    assert (digest.period.start, digest.period.end) == (date(2026, 11, 16), date(2026, 11, 22))
    halves = schedule.occurrences(SEMIANNUAL, _local(2026, 1, 2), _local(2027, 1, 2))
    assert [h.key for h in halves] == ["2026-H1", "2026-H2"]
    assert halves[0].fired_at == _local(2026, 7, 1, 9)
    assert (halves[0].period.start, halves[0].period.end) == (date(2026, 1, 1), date(2026, 6, 30))
    # "As of 31 December" is sent once that day has closed: a running day would change it.
    assert halves[1].fired_at == _local(2027, 1, 1, 9)
    assert halves[1].period.end == date(2026, 12, 31)


def test_every_scheduled_period_is_closed_and_a_calendar_unit() -> None:
    schedule = ReportSchedule(ZONE, "0 9 * * wed", alert_hour=8, weekly=True)
    [digest] = schedule.occurrences(DIGEST, _local(2026, 11, 24), _local(2026, 11, 26))
    # A Wednesday digest still covers the last Monday–Sunday week, not seven odd days.
    assert (digest.period.start, digest.period.end) == (date(2026, 11, 16), date(2026, 11, 22))
    batches = schedule.occurrences(ALERTS, _local(2026, 11, 29), _local(2026, 12, 2))
    assert [(b.fired_at, b.period.start, b.period.end) for b in batches] == [
        (_local(2026, 11, 30, 8), date(2026, 11, 23), date(2026, 11, 29)),
        (_local(2026, 12, 1, 8), date(2026, 11, 30), date(2026, 11, 30)),  # cut at month end
    ]
    for kind in (DIGEST, SEMIANNUAL, ALERTS):
        for due in schedule.occurrences(kind, _local(2025, 1, 1), _local(2027, 1, 2)):
            assert due.period.end < due.fired_at.astimezone(ZONE).date()


async def test_due_digest_is_sent_once(world: World) -> None:
    await _installed(world)
    outbox = FakeOutbox()
    deliveries = _deliveries(world, outbox)
    await deliveries.tick(_local(2026, 11, 23, 8, 59))
    # A fresh installation sends the latest due report of each kind, not a backlog.
    assert len(outbox.digests()) == 1
    assert len(outbox.documents) == 1  # the latest semiannual report (as of 1 July)
    assert await deliveries.tick(_local(2026, 11, 23, 9, 0)) == 1  # today's digest
    assert await deliveries.tick(_local(2026, 11, 23, 9, 1)) == 0
    assert await deliveries.tick(_local(2026, 11, 23, 12, 0)) == 0
    assert len(outbox.digests()) == 2
    assert all(chat == OFFICER_ID for chat, _ in outbox.texts)
    assert len(outbox.photos) == 6  # trend and distribution with each of the three reports


async def test_digests_missed_during_downtime_are_sent_once_on_start(world: World) -> None:
    await _installed(world)
    outbox = FakeOutbox()
    await _deliveries(world, outbox).tick(_local(2026, 11, 2, 10, 0))
    assert len(outbox.digests()) == 1
    # Down for three weeks: a new process catches up on every missed Monday, in order.
    restarted = _deliveries(world, outbox)
    assert await restarted.tick(_local(2026, 11, 23, 12, 0)) == 3  # semiannual already sent
    assert await restarted.tick(_local(2026, 11, 23, 12, 1)) == 0
    assert await _deliveries(world, outbox).tick(_local(2026, 11, 23, 12, 2)) == 0
    assert len(outbox.digests()) == 4
    periods = [text.split("\n")[1] for text in outbox.digests()]
    assert len(set(periods)) == 4


async def test_failed_delivery_is_retried_on_the_next_tick(world: World) -> None:
    await _installed(world)
    outbox = FakeOutbox(fail=1)
    deliveries = _deliveries(world, outbox)
    await deliveries.tick(_local(2026, 11, 23, 9, 0))
    assert outbox.digests() == []  # the digest failed (the semiannual one went out)
    assert await deliveries.tick(_local(2026, 11, 23, 9, 1)) == 1
    assert len(outbox.digests()) == 1


async def test_a_digest_retried_after_a_failed_chart_sends_only_what_was_missing(
    world: World,
) -> None:
    # Review: a failure on a later part failed the delivery, and the retry sent every part
    # again, so the officer read the digest's text twice.
    await _installed(world, date(2026, 11, 1))  # nothing semiannual due
    outbox = FakeOutbox(broken={"distribution.png"})
    deliveries = _deliveries(world, outbox)
    assert await deliveries.tick(_local(2026, 11, 23, 9, 0)) == 0
    assert len(outbox.digests()) == 1
    assert await deliveries.tick(_local(2026, 11, 23, 9, 1)) == 1
    assert len(outbox.digests()) == 1
    assert sorted(name for _, name in outbox.photos) == ["csat_trend.png", "distribution.png"]
    assert await deliveries.tick(_local(2026, 11, 23, 9, 2)) == 0


async def test_a_semiannual_delivery_retried_after_a_failed_workbook_sends_each_part_once(
    world: World,
) -> None:
    # The year's report, its workbook, the Appendix 2 document, the half's report and workbook,
    # and the staff report: the last workbook of each officer fails once, and the retry sends
    # that workbook alone (review: the report texts, charts and DOCX went out again).
    await _installed(world, date(2025, 12, 1))
    outbox = FakeOutbox(broken={"otklik-2025-H2.xlsx", "otklik-staff-2025.xlsx"})
    deliveries = _deliveries(world, outbox, appendix2=True)
    await deliveries.tick(_local(2026, 6, 30, 12, 0))
    first = (list(outbox.texts), list(outbox.photos), list(outbox.documents))
    assert await deliveries.tick(_local(2026, 6, 30, 12, 1)) == 2
    assert (outbox.texts, outbox.photos) == first[:2]
    assert outbox.documents == [
        *first[2],
        (OFFICER_ID, "otklik-2025-H2.xlsx"),
        (INTERNAL_OFFICER_ID, "otklik-staff-2025.xlsx"),
    ]
    assert (OFFICER_ID, "otklik-appendix2-20250101-20251231.docx") in first[2]
    assert await deliveries.tick(_local(2026, 6, 30, 12, 2)) == 0


async def test_semiannual_report_comes_with_a_workbook(world: World) -> None:
    await _installed(world, date(2025, 12, 1))
    outbox = FakeOutbox()
    deliveries = _deliveries(world, outbox)
    await deliveries.tick(_local(2026, 6, 30, 12, 0))  # first start: the latest of each kind
    # As of 31 December: the year, with the second half-year beside it (issue 10, item 7).
    assert outbox.documents == [
        (OFFICER_ID, "otklik-2025.xlsx"),
        (OFFICER_ID, "otklik-2025-H2.xlsx"),
        # Staff analysis is due by 31 December (§3.2): the year's staff report goes with it.
        (INTERNAL_OFFICER_ID, "otklik-staff-2025.xlsx"),
    ]
    staff = [text for chat, text in outbox.texts if chat == INTERNAL_OFFICER_ID]
    assert staff and "Отчёт по опросу сотрудников" in staff[0]
    assert "01.01.2025–31.12.2025" in staff[0]
    assert (INTERNAL_OFFICER_ID, "staff_drivers.png") in outbox.photos
    assert not [t for c, t in outbox.texts if c == INTERNAL_OFFICER_ID and "Годовой" in t]
    texts = [text for _, text in outbox.texts]
    assert any("Годовой отчёт" in t and "01.01.2025–31.12.2025" in t for t in texts)
    assert any("Полугодовой отчёт" in t and "01.07.2025–31.12.2025" in t for t in texts)
    outbox.texts.clear()
    outbox.documents.clear()
    assert await deliveries.tick(_local(2026, 7, 1, 9, 0)) == 1
    assert any("Полугодовой отчёт" in text for _, text in outbox.texts)
    assert not any("Годовой отчёт" in text for _, text in outbox.texts)
    # The first half only, and no staff report as of 30 June.
    assert outbox.documents == [(OFFICER_ID, "otklik-2026-H1.xlsx")]


async def test_issue10_a_fresh_installation_sends_nothing_on_periods_before_it(
    world: World,
) -> None:
    # Installed on Monday 30 November: the first half-year, the last week and the last month
    # all ended before it, so the first start sends nothing (no empty reports).
    outbox = FakeOutbox()
    deliveries = _deliveries(world, outbox, alert_hour=9)
    assert await deliveries.tick(_local(2026, 11, 30, 12, 0)) == 0
    assert outbox.texts == outbox.documents == []
    # The installation day is kept: a restart a day later does not move it.
    assert await DeliveryStore(world.sessions).installed_on(date(2026, 12, 1)) == date(
        2026, 11, 30
    )
    # The first period that ended on or after it (the week 30.11–06.12) is reported.
    assert await deliveries.tick(_local(2026, 12, 7, 9, 0)) >= 1
    [digest] = outbox.digests()
    assert "30.11.2026–06.12.2026" in digest
    assert outbox.documents == []  # the second half-year is reported on 1 January


async def test_issue10_an_upgrade_dates_the_installation_from_the_earliest_answer(
    world: World,
) -> None:
    await _store(world, _negative(day=date(2026, 3, 3)))
    assert await DeliveryStore(world.sessions).installed_on(date(2026, 11, 30)) == date(2026, 3, 3)


def _negative(
    service: str = "licensing", score: int = 1, day: date = date(2026, 11, 18)
) -> CompletedResponse:
    return CompletedResponse(
        questionnaire_id="post_service",
        questionnaire_version=1,
        kind="post_service",
        audience="external",
        context=ResponseContext(service=service, channel="office"),
        submitted_on=day,
        answers=(
            AnswerRow("overall", number=score),
            AnswerRow("obstacles", option_id="queue"),
            AnswerRow("obstacles", option_id="other", text="терминал"),
            AnswerRow("comment", text="Звоните мне: +7 (912) 345-67-89, anna@example.org"),
        ),
    )


async def _store(world: World, *responses: CompletedResponse) -> None:
    store = ResponseStore(world.sessions)
    for response in responses:
        await store.save(response)


def _alerts(outbox: FakeOutbox) -> list[str]:
    return [text for _, text in outbox.texts if "⚠️" in text]


async def test_negative_ratings_come_as_a_batch_of_the_closed_week_by_service_and_problem(
    world: World,
) -> None:
    await _store(world, *[_negative() for _ in range(6)], *[_negative(score=5) for _ in range(2)])
    await _store(world, *[_negative("appeals", score=s) for s in (1, 1, 2, 5, 5, 5)])
    outbox = FakeOutbox()
    deliveries = _deliveries(world, outbox, alert_hour=9)
    await deliveries.tick(_local(2026, 11, 23, 8, 59))  # fresh: the latest of each kind
    outbox.texts.clear()
    await deliveries.tick(_local(2026, 11, 23, 9, 0))
    [batch] = _alerts(outbox)
    assert "16.11.2026–22.11.2026" in batch
    assert "Лицензирование" in batch and "— 6 чел." in batch
    assert "Долгое ожидание" in batch and "— 6" in batch
    # Three negatives of appeals are fewer than five: not even named.
    assert "обращени" not in batch.lower()
    # Six comments reach the comment threshold: shown, with the contact details masked.
    assert "Звоните мне: [скрыто], [скрыто]" in batch
    assert "912" not in batch and "example.org" not in batch
    await deliveries.tick(_local(2026, 11, 23, 9, 5))
    assert len(_alerts(outbox)) == 1  # once


async def test_fewer_negative_ratings_than_the_threshold_send_no_batch(world: World) -> None:
    await _store(world, *[_negative() for _ in range(4)], *[_negative(score=5) for _ in range(6)])
    outbox = FakeOutbox()
    deliveries = _deliveries(world, outbox, alert_hour=9)
    await deliveries.tick(_local(2026, 11, 23, 8, 59))
    await deliveries.tick(_local(2026, 11, 23, 9, 0))
    assert _alerts(outbox) == []
    # The week's report still shows the service: ten people, a distribution of a large group.
    assert any(
        "• Лицензирование" in line and "— 10 отв." in line
        for _, text in outbox.texts
        for line in text.splitlines()
    )


async def test_officers_in_max_get_the_digest_and_the_workbook_in_their_max_chats(
    world: World,
) -> None:
    # Issue 13: MAX__OFFICER_IDS are officers as well; each reaches them in MAX, under the
    # MAX user id, through the outbox of their messenger.
    settings = handler_settings(world.url)
    settings.max.officer_ids = [7_700_001]
    services = build_test_services(world.sessions, world.clock_now, _no_bot, settings)
    assert services.reporting.all_officers() == {OFFICER_ID, max_chat(7_700_001)}
    await _installed(world)
    telegram, max_chats = FakeOutbox(), FakeOutbox()
    deliveries = ReportDeliveries(
        schedule=ReportSchedule(ZONE, "0 9 * * mon", 10, weekly=True),
        store=DeliveryStore(world.sessions),
        reporting=services.reporting,
        outbox=MessengerOutbox(telegram, max_chats),
    )
    await deliveries.tick(_local(2026, 11, 23, 9, 0))
    assert len(telegram.digests()) == len(max_chats.digests()) >= 1
    assert {chat for chat, _ in max_chats.texts} == {7_700_001}
    assert [name for _, name in max_chats.documents] == [name for _, name in telegram.documents]
    assert {chat for chat, _ in telegram.texts} == {OFFICER_ID}


def _no_bot() -> Bot:
    raise AssertionError("no Telegram bot is used here")
