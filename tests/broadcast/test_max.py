"""Broadcasts to MAX chats (issue 13): the real MAX client against the MAX emulator, on the
broadcaster's virtual clock, with the Telegram broadcaster's guarantees: one message per chat,
nothing lost on 429/5xx, a blocked person dropped and remembered, MAX's pace kept apart from
Telegram's."""

from __future__ import annotations

from collections import Counter
from collections.abc import AsyncIterator

import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from max_front.client import MaxapiClient
from max_front.delivery import max_sender
from questionnaires.messengers import MAX_CHATS, max_chat
from services.broadcast import Broadcaster, BroadcastLimits, SendPort, _Pacers, by_messenger
from services.broadcast_errors import DeliveryRefusedError
from tests.broadcast.conftest import Crash, VirtualTime, max_in_window
from tests.maxapi.emulator import MaxApiEmulator

TOKEN = "max-broadcast-token"
TEXT = "Открыт опрос о работе инспекции: <b>до 5 декабря</b>."
FAST = BroadcastLimits(global_rate=100, max_rate=100, per_chat_interval=0.05, retry_delay=0.01)


@pytest.fixture
async def emulator() -> AsyncIterator[MaxApiEmulator]:
    async with MaxApiEmulator(TOKEN) as api:
        yield api


@pytest.fixture
async def client(emulator: MaxApiEmulator) -> AsyncIterator[MaxapiClient]:
    client = MaxapiClient(TOKEN, emulator.base_url, retries=0)
    yield client
    await client.close()


def received(emulator: MaxApiEmulator) -> Counter[int]:
    """Messages each MAX user got (accepted POST /messages)."""
    return Counter(message.user_id for message in emulator.messages.values())


class Recording:
    """A port that notes (virtual) start times and chats, then calls the real one."""

    def __init__(self, send: SendPort, time: VirtualTime) -> None:
        self.send, self.time = send, time
        self.started: list[tuple[float, int]] = []

    async def __call__(self, chat_id: int, text: str) -> None:
        self.started.append((self.time.now, chat_id))
        await self.send(chat_id, text)


async def test_max_chats_get_one_message_each_through_429s_and_a_blocked_one_is_dropped(
    sessions: async_sessionmaker[AsyncSession], emulator: MaxApiEmulator, client: MaxapiClient
) -> None:
    time = VirtualTime()
    users = list(range(70_001, 70_081))
    blocked = {users[5], users[40]}
    for user in blocked:
        emulator.block(user)
    telegram: list[int] = []

    async def telegram_port(chat_id: int, text: str) -> None:
        telegram.append(chat_id)

    port = Recording(by_messenger({"telegram": telegram_port, "max": max_sender(client)}), time)
    broadcaster = Broadcaster(sessions, port, limits=FAST, clock=time.clock, sleep=time.sleep)
    chats = [*range(1, 11), *(max_chat(user) for user in users)]
    broadcast_id = await broadcaster.create("invitation", "w-max", TEXT, chats)
    emulator.fail_next("POST", "/messages", 429, times=3)  # MAX's rate limit, three times
    emulator.fail_next("POST", "/messages", 503)  # then MAX failing once

    summary = await time.run(broadcaster.run(broadcast_id))

    got = received(emulator)
    assert all(got[user] == 1 for user in users if user not in blocked)
    assert all(got[user] == 0 for user in blocked)
    # The raw MAX id went to MAX; Telegram got its own chats only, never a MAX address.
    assert sorted(telegram) == list(range(1, 11))
    assert all(message.format == "html" for message in emulator.messages.values())
    assert (summary.sent, summary.blocked, summary.failed, summary.unknown) == (88, 2, 0, 0)
    assert (summary.rate_limited, summary.retried, summary.complete) == (3, 1, True)
    assert await broadcaster.unreachable_chat_ids() == {max_chat(user) for user in blocked}
    # A blocked person is asked once, never again.
    asked = Counter(
        int(call.query["user_id"]) for call in emulator.calls if call.path == "/messages"
    )
    assert all(asked[user] == 1 for user in blocked)


async def test_default_limits_keep_max_under_its_30_requests_a_second(
    sessions: async_sessionmaker[AsyncSession], emulator: MaxApiEmulator, client: MaxapiClient
) -> None:
    # MAX allows 30 requests a second (https://dev.max.ru/help); broadcasts keep 25 for the
    # front's own polls and replies.
    time = VirtualTime()
    port = Recording(by_messenger({"max": max_sender(client)}), time)
    broadcaster = Broadcaster(sessions, port, clock=time.clock, sleep=time.sleep)
    broadcast_id = await broadcaster.create(
        "invitation", "w-rate", TEXT, [max_chat(user) for user in range(1, 121)]
    )
    summary = await time.run(broadcaster.run(broadcast_id))
    assert summary.sent == 120
    starts = sorted(at for at, _ in port.started)
    assert max_in_window(starts) <= 30  # never over MAX's limit in any second
    assert starts[-1] - starts[0] >= 119 / 25 * 0.95  # about 25 a second on the whole
    assert set(received(emulator).values()) == {1}


async def test_a_429_from_max_pauses_max_only_and_telegram_goes_on() -> None:
    # One pacer per messenger: MAX's flood control says nothing of Telegram's.
    time = VirtualTime()
    pacers = _Pacers(FAST, time.clock, time.sleep)

    async def scenario() -> tuple[float, float]:
        await pacers.acquire(max_chat(1))
        pacers.pause(max_chat(1), 1.0)  # MAX answered 429
        start = time.now
        await pacers.acquire(7)  # a Telegram chat: not held by MAX's pause
        telegram_at = time.now - start
        await pacers.acquire(max_chat(2))
        return telegram_at, time.now - start

    telegram_at, max_at = await time.run(scenario())
    assert telegram_at < 0.05 and max_at >= 1.0


async def test_a_429_from_max_pauses_its_broadcast_and_the_row_goes_after(
    sessions: async_sessionmaker[AsyncSession], emulator: MaxApiEmulator, client: MaxapiClient
) -> None:
    time = VirtualTime()
    port = Recording(max_sender(client), time)
    broadcaster = Broadcaster(
        sessions, by_messenger({"max": port}), limits=FAST, clock=time.clock, sleep=time.sleep
    )
    broadcast_id = await broadcaster.create("news", "m", TEXT, [max_chat(u) for u in (1, 2, 3)])
    emulator.fail_next("POST", "/messages", 429)
    summary = await time.run(broadcaster.run(broadcast_id))
    assert (summary.sent, summary.rate_limited) == (3, 1)
    tries = Counter(chat for _, chat in port.started)
    [retried] = [chat for chat, count in tries.items() if count == 2]  # the 429's row
    first, again = [at for at, chat in port.started if chat == retried]
    assert again >= first + 1.0  # MAX sends no Retry-After: its broadcasts wait 1 s
    assert set(received(emulator).values()) == {1}


async def test_a_max_chat_without_a_max_port_fails_and_never_reaches_telegram(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    telegram: list[int] = []

    async def telegram_port(chat_id: int, text: str) -> None:
        telegram.append(chat_id)

    send = by_messenger({"telegram": telegram_port})
    with pytest.raises(DeliveryRefusedError) as refused:
        await send(MAX_CHATS + 5, TEXT)
    assert refused.value.verdict == "failed" and telegram == []
    broadcaster = Broadcaster(sessions, send, limits=FAST)
    broadcast_id = await broadcaster.create("news", "no-max", TEXT, [7, max_chat(5)])
    summary = await broadcaster.run(broadcast_id)
    assert (summary.sent, summary.failed) == (1, 1) and telegram == [7]


async def test_a_mixed_broadcast_sends_to_max_chats_while_telegram_s_part_goes_on(
    sessions: async_sessionmaker[AsyncSession], emulator: MaxApiEmulator, client: MaxapiClient
) -> None:
    """Each messenger's part runs at its own pace, side by side: MAX's chats (after every
    Telegram chat in chat order) are not kept waiting until Telegram's part ends."""
    time = VirtualTime()
    telegram: list[int] = []

    async def telegram_port(chat_id: int, text: str) -> None:
        telegram.append(chat_id)

    port = Recording(by_messenger({"telegram": telegram_port, "max": max_sender(client)}), time)
    slow_telegram = BroadcastLimits(global_rate=10, max_rate=100, per_chat_interval=0.05)
    broadcaster = Broadcaster(
        sessions, port, limits=slow_telegram, clock=time.clock, sleep=time.sleep
    )
    users = list(range(80_001, 80_031))
    chats = [*range(1, 61), *(max_chat(user) for user in users)]
    broadcast_id = await broadcaster.create("invitation", "w-mixed", TEXT, chats)

    summary = await time.run(broadcaster.run(broadcast_id))

    assert (summary.sent, summary.complete) == (90, True)
    begun = port.started[0][0]
    max_starts = [at for at, chat in port.started if chat >= MAX_CHATS]
    telegram_starts = [at for at, chat in port.started if chat < MAX_CHATS]
    # Telegram's 60 chats at 10/s take about 6 s; MAX's 30 at 100/s well under one.
    assert telegram_starts[-1] - begun >= 5.5
    assert max_starts[-1] - begun < 1.5 < telegram_starts[-1] - begun
    # Exactly once each, on both sides.
    assert sorted(telegram) == list(range(1, 61))
    assert received(emulator) == Counter({user: 1 for user in users})


async def test_a_mixed_broadcast_dying_in_a_telegram_send_resumes_both_parts_exactly_once(
    sessions: async_sessionmaker[AsyncSession], emulator: MaxApiEmulator, client: MaxapiClient
) -> None:
    """A crash in one lane stops the other too; the next run marks only the rows in flight
    unknown and sends every other chat of both messengers its one message."""
    telegram: list[int] = []
    dying: list[int] = []

    async def telegram_port(chat_id: int, text: str) -> None:
        telegram.append(chat_id)
        if len(telegram) == 25:
            dying.append(chat_id)  # reached Telegram; the process dies before the answer
            raise Crash

    send = by_messenger({"telegram": telegram_port, "max": max_sender(client)})
    limits = BroadcastLimits(global_rate=50, max_rate=20, per_chat_interval=0.01)
    users = list(range(90_001, 90_041))
    chats = [*range(1, 61), *(max_chat(user) for user in users)]
    broadcast_id = await Broadcaster(sessions, send, limits=limits).create(
        "invitation", "w-crash", TEXT, chats
    )
    with pytest.raises(Crash):
        await Broadcaster(sessions, send, limits=limits).run(broadcast_id)
    got_before = sum(received(emulator).values())
    assert 0 < got_before < len(users)  # MAX's part was under way, not finished

    summary = await Broadcaster(sessions, send, limits=limits).run(broadcast_id)

    assert summary.complete and summary.sent + summary.unknown == len(chats)
    assert 1 <= summary.recovered_unknown <= 2 * limits.max_in_flight
    assert Counter(telegram).most_common(1)[0][1] == 1  # no Telegram chat twice
    assert max(received(emulator).values()) == 1  # no MAX user twice
    # Every chat not left unknown got its message (an unknown one may have: the dying send did).
    assert len(set(telegram)) + len(received(emulator)) >= len(chats) - summary.unknown
    assert dying[0] in telegram
