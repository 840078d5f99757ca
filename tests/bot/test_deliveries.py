"""Scheduled reports with a fake clock: due, catch-up after downtime, never twice; alerts."""

from __future__ import annotations

import asyncio
import dataclasses
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from questionnaires.results import AnswerRow, CompletedResponse, ResponseContext
from scheduler.deliveries import DIGEST, SEMIANNUAL, ReportDeliveries, ReportSchedule
from services.reporting import AlertNotifier
from storage.deliveries import DeliveryStore
from tests.bot.conftest import OFFICER_ID, World

ZONE = ZoneInfo("Asia/Yakutsk")


@dataclass
class FakeOutbox:
    texts: list[tuple[int, str]] = field(default_factory=list)
    photos: list[tuple[int, str]] = field(default_factory=list)
    documents: list[tuple[int, str]] = field(default_factory=list)
    fail: int = 0

    async def text(self, chat_id: int, html: str) -> None:
        if self.fail:
            self.fail -= 1
            raise ConnectionError("network down")
        self.texts.append((chat_id, html))

    async def photo(self, chat_id: int, name: str, png: bytes) -> None:
        assert png.startswith(b"\x89PNG")
        self.photos.append((chat_id, name))

    async def document(self, chat_id: int, name: str, data: bytes, caption: str) -> None:
        self.documents.append((chat_id, name))

    def digests(self) -> list[str]:
        return [text for _, text in self.texts if "Еженедельная сводка" in text]


def _local(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=ZONE)


def _deliveries(world: World, outbox: FakeOutbox) -> ReportDeliveries:
    return ReportDeliveries(
        schedule=ReportSchedule(ZONE, "0 9 * * mon"),
        store=DeliveryStore(world.sessions),
        reporting=world.reporting,
        outbox=outbox,
    )


def test_schedule_in_the_bodys_zone() -> None:
    schedule = ReportSchedule(ZONE, "0 9 * * mon")
    [digest] = schedule.occurrences(DIGEST, _local(2026, 11, 22, 0, 0), _local(2026, 11, 23, 10))
    assert digest.fired_at == _local(2026, 11, 23, 9, 0)
    assert (digest.period.start, digest.period.end) == (date(2026, 11, 16), date(2026, 11, 22))
    halves = schedule.occurrences(SEMIANNUAL, _local(2026, 1, 1), _local(2027, 1, 1))
    assert [h.key for h in halves] == ["2026-H1", "2026-H2"]
    assert halves[0].fired_at == _local(2026, 7, 1, 9)
    assert (halves[0].period.start, halves[0].period.end) == (date(2026, 1, 1), date(2026, 6, 30))
    assert halves[1].fired_at == _local(2026, 12, 31, 17)
    assert halves[1].period.end == date(2026, 12, 31)


async def test_due_digest_is_sent_once(world: World) -> None:
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
    outbox = FakeOutbox(fail=1)
    deliveries = _deliveries(world, outbox)
    await deliveries.tick(_local(2026, 11, 23, 9, 0))
    assert outbox.digests() == []  # the digest failed (the semiannual one went out)
    assert await deliveries.tick(_local(2026, 11, 23, 9, 1)) == 1
    assert len(outbox.digests()) == 1


async def test_semiannual_report_comes_with_a_workbook(world: World) -> None:
    outbox = FakeOutbox()
    deliveries = _deliveries(world, outbox)
    await deliveries.tick(_local(2026, 6, 30, 12, 0))  # first start: the latest of each kind
    assert outbox.documents == [(OFFICER_ID, "otklik-2025-H2.xlsx")]
    outbox.texts.clear()
    outbox.documents.clear()
    assert await deliveries.tick(_local(2026, 7, 1, 9, 0)) == 1
    assert any("Полугодовой отчёт" in text for _, text in outbox.texts)
    assert outbox.documents == [(OFFICER_ID, "otklik-2026-H1.xlsx")]


def _negative(service: str = "licensing") -> CompletedResponse:
    return CompletedResponse(
        questionnaire_id="post_service",
        questionnaire_version=1,
        kind="post_service",
        audience="external",
        context=ResponseContext(service=service, channel="office"),
        submitted_on=date(2026, 11, 23),
        answers=(
            AnswerRow("overall", number=1),
            AnswerRow("obstacles", option_id="queue"),
            AnswerRow("obstacles", option_id="other", text="терминал"),
        ),
    )


async def test_alert_burst_is_batched_into_one_message_per_minute(world: World) -> None:
    sent: list[tuple[int, str]] = []
    now = [datetime(2026, 11, 23, 1, 0, tzinfo=ZONE)]

    async def send(chat_id: int, text: str) -> None:
        sent.append((chat_id, text))

    notifier = AlertNotifier(world.reporting, send, window_seconds=0.2, clock=lambda: now[0])
    await notifier.response_stored(_negative())
    assert len(sent) == 1  # the first one at once
    assert "Долгое ожидание" in sent[0][1] and "терминал" in sent[0][1]
    now[0] += timedelta(seconds=0.05)
    await notifier.response_stored(_negative())
    await notifier.response_stored(_negative("appeals"))
    assert len(sent) == 1  # the burst waits for the end of the window
    await asyncio.sleep(0.3)
    assert len(sent) == 2
    assert "Лицензирование" in sent[1][1] and "обращени" in sent[1][1].lower()


async def test_alert_failure_does_not_raise(world: World) -> None:
    async def broken(chat_id: int, text: str) -> None:
        raise ConnectionError("down")

    notifier = AlertNotifier(world.reporting, broken)
    await notifier.response_stored(_negative())  # logged, not raised


@pytest.mark.parametrize("score", [3, 4, 5])
async def test_scores_above_the_threshold_raise_no_alert(world: World, score: int) -> None:
    mild = dataclasses.replace(_negative(), answers=(AnswerRow("overall", number=score),))
    assert world.reporting.alert_item(mild) is None
    assert world.reporting.alert_item(_negative()) is not None
