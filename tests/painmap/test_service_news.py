"""Per-service news (issue 11, item 3): a measure done for a service reaches the chats that
asked for that service's news with its own button, besides the body-wide subscribers, once per
chat and announcement, within Telegram's limits, and never anyone who stopped the news."""

from __future__ import annotations

import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from services.broadcast import Broadcaster
from storage.opt_ins import OptInStore
from storage.painmap import ProcessKey
from tests.broadcast.conftest import Crash, VirtualTime, max_in_window
from tests.painmap.announcing import (
    MONDAY_TEN,
    Port,
    build_announcer,
    done_measure,
    subscribe,
)
from tests.painmap.conftest import Desk

BODY_WIDE = 101  # asked to hear what changes anywhere
LICENSING = 301  # asked for the licensing service's news only
INSPECTIONS = 302
BOTH_SERVICES = 303
IN_BOTH = 304  # body-wide and licensing: still one message
POLLS_ONLY = 201


async def _seed(desk: Desk, opt_ins: OptInStore) -> None:
    await subscribe(
        opt_ins,
        changes=(BODY_WIDE, IN_BOTH),
        polls=(POLLS_ONLY,),
        services={
            LICENSING: ("licensing",),
            INSPECTIONS: ("inspections",),
            BOTH_SERVICES: ("licensing", "inspections"),
            IN_BOTH: ("licensing",),
            POLLS_ONLY: ("appeals",),  # a service with no measure this week
        },
    )
    await done_measure(desk)  # licensing: «Электронная очередь»
    await done_measure(desk, "Грубость", "Обучение сотрудников", code="inspections")
    await done_measure(
        desk, "Долго", "Памятка на сайте", process=ProcessKey("life_situation", "license")
    )


async def test_a_services_measure_reaches_its_subscribers_once_and_nobody_else(
    desk: Desk, sessions: async_sessionmaker[AsyncSession]
) -> None:
    opt_ins = OptInStore(sessions, min_batch=1)
    await _seed(desk, opt_ins)
    port = Port()
    announcer = build_announcer(desk, port, sessions, opt_ins)
    preview = await announcer.preview()
    assert (preview.measures, preview.recipients) == (3, 5)
    outcome = await announcer.announce()
    assert (outcome.measures, outcome.sent, outcome.complete) == (3, 5, True)
    # One message per chat, whatever number of subscriptions brought it there.
    assert port.chats() == sorted([BODY_WIDE, LICENSING, INSPECTIONS, BOTH_SERVICES, IN_BOTH])
    everything = ("Электронная очередь", "Обучение сотрудников", "Памятка на сайте")
    for chat in (BODY_WIDE, IN_BOTH):
        [text] = port.texts_to(chat)
        assert all(measure in text for measure in everything)
    [licensing] = port.texts_to(LICENSING)
    assert "Электронная очередь" in licensing
    assert "Обучение сотрудников" not in licensing and "Памятка на сайте" not in licensing
    assert "https://example.gov.ru/otklik/done.html" in licensing
    [inspections] = port.texts_to(INSPECTIONS)
    assert "Обучение сотрудников" in inspections and "Электронная очередь" not in inspections
    [both] = port.texts_to(BOTH_SERVICES)
    assert "Электронная очередь" in both and "Обучение сотрудников" in both
    assert "Памятка на сайте" not in both  # a life situation's measure is body-wide news
    # Again, by the weekly tick, after a restart or on a second leader: nothing more.
    assert (await announcer.announce()).sent == 0
    assert await announcer.tick(MONDAY_TEN) == 0
    other_leader = build_announcer(desk, port, sessions, OptInStore(sessions, min_batch=1))
    assert (await other_leader.announce()).sent == 0
    assert await other_leader.tick(MONDAY_TEN) == 0
    assert len(port.sent) == 5


async def test_an_interrupted_announcement_resumes_every_group_without_resending(
    desk: Desk, sessions: async_sessionmaker[AsyncSession]
) -> None:
    opt_ins = OptInStore(sessions, min_batch=1)
    await _seed(desk, opt_ins)
    port = Port()
    # The process dies inside the first send of a service's group: a BaseException, so the
    # broadcaster writes what it knows and leaves the rest pending.
    port.fail[INSPECTIONS] = [Crash()]
    announcer = build_announcer(desk, port, sessions, opt_ins)
    with pytest.raises(Crash):
        await announcer.announce()
    first = port.chats()
    assert INSPECTIONS not in first
    restarted = build_announcer(desk, port, sessions, OptInStore(sessions, min_batch=1))
    await restarted.tick(MONDAY_TEN)
    # Every chat has had its message exactly once (the one in flight is "unknown": not resent).
    assert len(port.chats()) == len(set(port.chats()))
    assert set(port.chats()) >= {BODY_WIDE, LICENSING, BOTH_SERVICES, IN_BOTH}
    assert (await restarted.announce()).sent == 0


async def test_service_news_goes_out_within_telegrams_limits(
    desk: Desk, sessions: async_sessionmaker[AsyncSession]
) -> None:
    """On a virtual clock, as the broadcast tests: never more than 30 sends in a second, over
    the body-wide and the service's broadcasts together, each chat once."""
    opt_ins = OptInStore(sessions, min_batch=1)
    body_wide = tuple(range(1, 46))
    licensing = {chat: ("licensing",) for chat in range(1001, 1046)}
    await subscribe(opt_ins, changes=body_wide, services=licensing)
    await done_measure(desk)
    await done_measure(desk, "Грубость", "Обучение сотрудников", code="inspections")
    time = VirtualTime()
    port = Port(clock=time.clock)
    broadcaster = Broadcaster(sessions, port, clock=time.clock, sleep=time.sleep)
    announcer = build_announcer(desk, port, sessions, opt_ins, broadcaster)
    outcome = await time.run(announcer.announce())
    assert (outcome.sent, outcome.complete) == (90, True)
    assert port.chats() == sorted([*body_wide, *licensing])
    assert max_in_window(sorted(at for at, _ in port.times)) <= 30


async def test_stopping_the_news_stops_every_service_but_keeps_poll_invitations(
    desk: Desk, sessions: async_sessionmaker[AsyncSession]
) -> None:
    opt_ins = OptInStore(sessions, min_batch=1)
    await _seed(desk, opt_ins)
    await opt_ins.add(BOTH_SERVICES, "polls", MONDAY_TEN.date())
    await opt_ins.add_service(BOTH_SERVICES, "appeals")  # still waiting for its batch
    assert await opt_ins.remove_news(BOTH_SERVICES) == 3
    assert await opt_ins.remove_news(IN_BOTH) == 2  # «changes» and licensing
    found = await opt_ins.service_chat_ids({"licensing", "inspections", "appeals"})
    assert BOTH_SERVICES not in set().union(*found.values())
    assert BOTH_SERVICES in await opt_ins.chat_ids("polls")
    port = Port()
    await build_announcer(desk, port, sessions, opt_ins).announce()
    assert BOTH_SERVICES not in port.chats() and IN_BOTH not in port.chats()
    assert port.chats() == sorted([BODY_WIDE, LICENSING, INSPECTIONS])
