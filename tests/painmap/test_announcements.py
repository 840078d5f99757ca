"""«Вы сказали — мы сделали» to the citizens who opted in (issue 11, item 3): done measures go
to the chats of the results topic once each, through the rate-limited Broadcaster, with the
figures the public site shows (disclosed only) and an opt-out."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from datetime import UTC, date, datetime

import pytest
from aiogram.exceptions import TelegramRetryAfter, TelegramUnauthorizedError
from aiogram.methods import SendMessage
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from services.announcements import KIND, ResultsAnnouncer, announcement_key
from services.broadcast import Broadcaster, BroadcastLimits
from services.painmap import STAFF_PROCESS
from storage.announcements import AnnouncementStore
from storage.deliveries import DeliveryStore
from storage.opt_ins import OptInStore
from storage.painmap import (
    Figures,
    FoundPain,
    NewMeasure,
    ProcessKey,
    Satisfaction,
    Span,
)
from tests.painmap.conftest import ZONE, Desk

SEPTEMBER = Span(date(2026, 9, 1), date(2026, 9, 30))
NOVEMBER = Span(date(2026, 11, 1), date(2026, 11, 30))
SUBSCRIBERS = (101, 102, 103)
POLLS_ONLY = 201
#: Monday 7 December 2026, 10:00 in Yakutsk (UTC+9): the weekly slot at the alert hour 10.
MONDAY_TEN = datetime(2026, 12, 7, 1, 0, tzinfo=UTC)


@dataclass
class FakeTime:
    now: float = 0.0

    def clock(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.now += max(seconds, 0.0)
        await asyncio.sleep(0)


@dataclass
class Port:
    """The broadcaster's port: records deliveries; ``fail`` maps a chat to the errors its
    next sends raise, in order."""

    sent: list[tuple[int, str]] = field(default_factory=list)
    fail: dict[int, list[Exception]] = field(default_factory=dict)

    async def __call__(self, chat_id: int, text: str) -> None:
        errors = self.fail.get(chat_id)
        if errors:
            raise errors.pop(0)
        self.sent.append((chat_id, text))

    def chats(self) -> list[int]:
        return sorted(chat for chat, _ in self.sent)


def _method(chat_id: int) -> SendMessage:
    return SendMessage(chat_id=chat_id, text="x")


@dataclass
class World:
    desk: Desk
    port: Port
    announcer: ResultsAnnouncer
    store: AnnouncementStore
    opt_ins: OptInStore


def _announcer(
    desk: Desk, port: Port, sessions: async_sessionmaker[AsyncSession], opt_ins: OptInStore
) -> ResultsAnnouncer:
    time = FakeTime()
    return ResultsAnnouncer(
        measures=desk.service,
        store=AnnouncementStore(sessions),
        subscribers=opt_ins,
        broadcaster=Broadcaster(
            sessions,
            port,
            limits=BroadcastLimits(flush_interval=0.01),
            clock=time.clock,
            sleep=time.sleep,
        ),
        zone=ZONE,
        ledger=DeliveryStore(sessions),
        hour=10,
        url="https://example.gov.ru/otklik/",
        clock=lambda: desk.clock[0],
    )


@pytest.fixture
async def world(desk: Desk, sessions: async_sessionmaker[AsyncSession]) -> World:
    opt_ins = OptInStore(sessions, min_batch=1)
    for chat in SUBSCRIBERS:
        await opt_ins.add(chat, "changes", date(2026, 10, 3))
    await opt_ins.add(POLLS_ONLY, "polls", date(2026, 10, 3))
    await opt_ins.flush(force=True)
    port = Port()
    return World(
        desk, port, _announcer(desk, port, sessions, opt_ins), AnnouncementStore(sessions), opt_ins
    )


async def _done_measure(
    desk: Desk,
    problem: str,
    text: str,
    *,
    before: Satisfaction,
    after: Satisfaction,
    code: str = "licensing",
    done_on: date = date(2026, 10, 15),
    process: ProcessKey | None = None,
) -> str:
    """A pain with its process's CSAT in September and November and a measure done between."""
    process = process or ProcessKey("service", code)
    found = [FoundPain("rating_problem", f"obstacles:{problem}", problem, Figures(False, 8, 0.4))]
    for period, satisfaction in ((SEPTEMBER, before), (NOVEMBER, after)):
        await desk.store.save_period(
            process, period, satisfaction, found, absent={}, today=date(2026, 12, 1)
        )
    [pain] = [p for p in await desk.store.pains([process]) if p.title == problem]
    [measure] = await desk.store.apply(
        [NewMeasure(pain.id, text, "Отдел", date(2027, 1, 31), status="done")], [], done_on
    )
    return measure


async def test_done_measures_reach_opted_in_chats_once_and_nobody_else(world: World) -> None:
    await _done_measure(
        world.desk,
        "Очередь",
        "Электронная очередь",
        before=Satisfaction(False, 20, 55.0, 3.4),
        after=Satisfaction(False, 30, 72.5, 4.1),
    )
    outcome = await world.announcer.announce()
    assert (outcome.measures, outcome.sent, outcome.complete) == (1, 3, True)
    assert world.port.chats() == list(SUBSCRIBERS)  # not the chat of polls only
    text = world.port.sent[0][1]
    assert "Вы сказали — мы сделали" in text
    assert "Электронная очередь" in text and "Очередь" in text
    assert "до 55,0, после 72,5" in text
    assert "Отписаться: /stop" in text
    assert "https://example.gov.ru/otklik/done.html" in text
    # Again, and by the weekly tick: nothing is sent twice.
    again = await world.announcer.announce()
    assert (again.measures, again.sent) == (0, 0)
    assert await world.announcer.tick(MONDAY_TEN) == 0
    assert len(world.port.sent) == 3
    # A measure done later goes out alone, to everyone opted in by then.
    await world.opt_ins.add(104, "changes", date(2026, 12, 1))
    await _done_measure(
        world.desk,
        "Грубость",
        "Обучение сотрудников",
        before=Satisfaction(False, 20, 55.0, 3.4),
        after=Satisfaction(False, 30, 72.5, 4.1),
        code="inspections",
    )
    later = await world.announcer.announce()
    assert (later.measures, later.sent) == (1, 4)
    newest = [text for _, text in world.port.sent[3:]]
    assert all("Обучение сотрудников" in t and "Электронная очередь" not in t for t in newest)


async def test_a_hidden_figure_never_appears(world: World) -> None:
    await _done_measure(
        world.desk,
        "Очередь",
        "Электронная очередь",
        before=Satisfaction(False, 20, 55.0, 3.4),
        after=Satisfaction(hidden=True),
    )
    preview = await world.announcer.preview()
    assert preview.text is not None and (preview.measures, preview.recipients) == (1, 3)
    assert "до 55,0, после не публикуется" in preview.text
    assert world.port.sent == []  # a preview sends nothing and announces nothing
    assert await world.store.announced() == set()


async def test_staff_measures_are_not_announced(world: World) -> None:
    """Staff results are the internal officer's (§4.5): a staff measure goes to no citizen."""
    await _done_measure(
        world.desk,
        "Оснащение",
        "Новые компьютеры",
        before=Satisfaction(False, 20, 55.0, 3.4),
        after=Satisfaction(False, 20, 75.0, 4.0),
        process=STAFF_PROCESS,
    )
    assert (await world.announcer.preview()).measures == 0
    assert (await world.announcer.announce()).sent == 0
    assert world.port.sent == []


async def test_a_retry_after_a_failure_does_not_resend(
    world: World, sessions: async_sessionmaker[AsyncSession]
) -> None:
    await _done_measure(
        world.desk,
        "Очередь",
        "Электронная очередь",
        before=Satisfaction(False, 20, 55.0, 3.4),
        after=Satisfaction(False, 30, 72.5, 4.1),
    )
    # The token is revoked while the message goes out: the run stops with rows left.
    world.port.fail[102] = [TelegramUnauthorizedError(_method(102), "Unauthorized")]
    with pytest.raises(Exception, match="cannot send"):
        await world.announcer.announce()
    first = world.port.chats()
    assert 102 not in first and len(first) < 3
    [unfinished] = await world.store.unfinished()
    # The next hourly tick (not the weekly slot: a Tuesday) resumes the same broadcast only.
    tuesday = datetime(2026, 12, 8, 3, 0, tzinfo=UTC)
    resumed = await world.announcer.tick(tuesday)
    assert resumed == 3 - len(first)
    assert world.port.chats() == list(SUBSCRIBERS)
    assert await world.store.unfinished() == []
    assert (await world.announcer.announce()).sent == 0
    assert len(world.port.sent) == 3
    # A restart (a new announcer on the same database) sends nothing either.
    fresh = _announcer(world.desk, world.port, sessions, world.opt_ins)
    assert (await fresh.announce()).sent == 0
    assert unfinished.key == announcement_key(list(await world.store.announced()))


async def test_a_crash_between_the_broadcast_and_the_ledger_finds_the_same_broadcast(
    world: World, sessions: async_sessionmaker[AsyncSession]
) -> None:
    measure = await _done_measure(
        world.desk,
        "Очередь",
        "Электронная очередь",
        before=Satisfaction(False, 20, 55.0, 3.4),
        after=Satisfaction(False, 30, 72.5, 4.1),
    )
    # The broadcast was created (and not run) when the process died, before the ledger.
    broadcaster = Broadcaster(sessions, world.port)
    earlier = await broadcaster.create(KIND, announcement_key([measure]), "first", [101])
    outcome = await world.announcer.announce()
    assert outcome.sent == 3
    assert await world.store.unfinished() == []
    # The same broadcast, with the text it was created with: no second message to anyone.
    assert sorted(c for c, _ in world.port.sent) == list(SUBSCRIBERS)
    assert {text for _, text in world.port.sent} == {"first"}
    assert await broadcaster.counts(earlier) == {"sent": 3}


async def test_flood_control_pauses_and_each_chat_gets_one_message(world: World) -> None:
    await _done_measure(
        world.desk,
        "Очередь",
        "Электронная очередь",
        before=Satisfaction(False, 20, 55.0, 3.4),
        after=Satisfaction(False, 30, 72.5, 4.1),
    )
    world.port.fail[101] = [
        TelegramRetryAfter(method=_method(101), message="Too Many Requests", retry_after=3)
    ]
    outcome = await world.announcer.announce()
    assert outcome.complete and outcome.sent == 3
    assert world.port.chats() == list(SUBSCRIBERS)


async def test_the_weekly_message_waits_for_monday_at_the_alert_hour_once(world: World) -> None:
    await _done_measure(
        world.desk,
        "Очередь",
        "Электронная очередь",
        before=Satisfaction(False, 20, 55.0, 3.4),
        after=Satisfaction(False, 30, 72.5, 4.1),
    )
    sunday = datetime(2026, 12, 6, 3, 0, tzinfo=UTC)
    monday_nine = datetime(2026, 12, 7, 0, 0, tzinfo=UTC)
    assert await world.announcer.tick(sunday) == 0
    assert await world.announcer.tick(monday_nine) == 0
    assert world.port.sent == []
    assert await world.announcer.tick(MONDAY_TEN) == 3
    # The same week again: the slot is taken, even for a measure done meanwhile.
    await _done_measure(
        world.desk,
        "Грубость",
        "Обучение сотрудников",
        before=Satisfaction(False, 20, 55.0, 3.4),
        after=Satisfaction(False, 30, 72.5, 4.1),
        code="inspections",
    )
    assert await world.announcer.tick(datetime(2026, 12, 7, 5, 0, tzinfo=UTC)) == 0
    assert await world.announcer.tick(datetime(2026, 12, 14, 1, 0, tzinfo=UTC)) == 3


async def test_with_nobody_subscribed_the_measures_are_told_to_no_one_and_not_later(
    desk: Desk, sessions: async_sessionmaker[AsyncSession]
) -> None:
    """A measure done while nobody listened is not news for whoever subscribes next month."""
    opt_ins = OptInStore(sessions, min_batch=1)
    port = Port()
    announcer = _announcer(desk, port, sessions, opt_ins)
    await _done_measure(
        desk,
        "Очередь",
        "Электронная очередь",
        before=Satisfaction(False, 20, 55.0, 3.4),
        after=Satisfaction(False, 30, 72.5, 4.1),
    )
    assert (await announcer.announce()).measures == 1
    await opt_ins.add(301, "changes", date(2026, 12, 1))
    assert (await announcer.announce()).measures == 0
    assert port.sent == []
