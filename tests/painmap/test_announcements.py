"""«Вы сказали — мы сделали» to the citizens who opted in (issue 11, item 3): done measures go
to the chats of the results topic once each, through the rate-limited Broadcaster, with the
figures the public site shows (disclosed only) and an opt-out."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime

import pytest
from aiogram.exceptions import TelegramRetryAfter, TelegramUnauthorizedError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from services.announcements import KIND, ResultsAnnouncer, announcement_key
from services.broadcast import Broadcaster
from services.painmap import STAFF_PROCESS
from storage.announcements import AnnouncementStore
from storage.opt_ins import OptInStore
from storage.painmap import Satisfaction
from tests.painmap.announcing import (
    MONDAY_TEN,
    Port,
    build_announcer,
    done_measure,
    method,
    subscribe,
)
from tests.painmap.conftest import Desk

SUBSCRIBERS = (101, 102, 103)
POLLS_ONLY = 201


@dataclass
class World:
    desk: Desk
    port: Port
    announcer: ResultsAnnouncer
    store: AnnouncementStore
    opt_ins: OptInStore


@pytest.fixture
async def world(desk: Desk, sessions: async_sessionmaker[AsyncSession]) -> World:
    opt_ins = OptInStore(sessions, min_batch=1)
    await subscribe(opt_ins, changes=SUBSCRIBERS, polls=(POLLS_ONLY,))
    port = Port()
    announcer = build_announcer(desk, port, sessions, opt_ins)
    return World(desk, port, announcer, AnnouncementStore(sessions), opt_ins)


async def test_done_measures_reach_opted_in_chats_once_and_nobody_else(world: World) -> None:
    await done_measure(world.desk)
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
    await done_measure(world.desk, "Грубость", "Обучение сотрудников", code="inspections")
    later = await world.announcer.announce()
    assert (later.measures, later.sent) == (1, 4)
    newest = [text for _, text in world.port.sent[3:]]
    assert all("Обучение сотрудников" in t and "Электронная очередь" not in t for t in newest)


async def test_a_hidden_figure_never_appears(world: World) -> None:
    await done_measure(world.desk, after=Satisfaction(hidden=True))
    preview = await world.announcer.preview()
    assert preview.text is not None and (preview.measures, preview.recipients) == (1, 3)
    assert "до 55,0, после не публикуется" in preview.text
    assert world.port.sent == []  # a preview sends nothing and announces nothing
    assert await world.store.announced() == set()


async def test_staff_measures_are_not_announced(world: World) -> None:
    """Staff results are the internal officer's (§4.5): a staff measure goes to no citizen."""
    await done_measure(world.desk, "Оснащение", "Новые компьютеры", process=STAFF_PROCESS)
    assert (await world.announcer.preview()).measures == 0
    assert (await world.announcer.announce()).sent == 0
    assert world.port.sent == []


async def test_a_retry_after_a_failure_does_not_resend(
    world: World, sessions: async_sessionmaker[AsyncSession]
) -> None:
    await done_measure(world.desk)
    # The token is revoked while the message goes out: the run stops with rows left.
    world.port.fail[102] = [TelegramUnauthorizedError(method(102), "Unauthorized")]
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
    fresh = build_announcer(world.desk, world.port, sessions, world.opt_ins)
    assert (await fresh.announce()).sent == 0
    assert unfinished.key == announcement_key(list(await world.store.announced()))


async def test_a_crash_between_the_broadcast_and_the_ledger_finds_the_same_broadcast(
    world: World, sessions: async_sessionmaker[AsyncSession]
) -> None:
    measure = await done_measure(world.desk)
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
    await done_measure(world.desk)
    world.port.fail[101] = [
        TelegramRetryAfter(method=method(101), message="Too Many Requests", retry_after=3)
    ]
    outcome = await world.announcer.announce()
    assert outcome.complete and outcome.sent == 3
    assert world.port.chats() == list(SUBSCRIBERS)


async def test_the_weekly_message_waits_for_monday_at_the_alert_hour_once(world: World) -> None:
    await done_measure(world.desk)
    sunday = datetime(2026, 12, 6, 3, 0, tzinfo=UTC)
    monday_nine = datetime(2026, 12, 7, 0, 0, tzinfo=UTC)
    assert await world.announcer.tick(sunday) == 0
    assert await world.announcer.tick(monday_nine) == 0
    assert world.port.sent == []
    assert await world.announcer.tick(MONDAY_TEN) == 3
    # The same week again: the slot is taken, even for a measure done meanwhile.
    await done_measure(world.desk, "Грубость", "Обучение сотрудников", code="inspections")
    assert await world.announcer.tick(datetime(2026, 12, 7, 5, 0, tzinfo=UTC)) == 0
    assert await world.announcer.tick(datetime(2026, 12, 14, 1, 0, tzinfo=UTC)) == 3


async def test_with_nobody_subscribed_the_measures_are_told_to_no_one_and_not_later(
    desk: Desk, sessions: async_sessionmaker[AsyncSession]
) -> None:
    """A measure done while nobody listened is not news for whoever subscribes next month."""
    opt_ins = OptInStore(sessions, min_batch=1)
    port = Port()
    announcer = build_announcer(desk, port, sessions, opt_ins)
    await done_measure(desk)
    assert (await announcer.announce()).measures == 1
    await opt_ins.add(301, "changes", date(2026, 12, 1))
    assert (await announcer.announce()).measures == 0
    assert port.sent == []
