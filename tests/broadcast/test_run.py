"""Broadcast runs through a real aiogram Bot against the Bot API emulator."""

from __future__ import annotations

import asyncio
import socket

import pytest
from aiogram import Bot
from aiogram.exceptions import TelegramNetworkError
from aiogram.methods import SendMessage
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from services.broadcast import (
    BroadcastAbortedError,
    BroadcastAlreadyRunningError,
    Broadcaster,
    BroadcastLimits,
    Progress,
    telegram_sender,
)
from storage.models_broadcast import Broadcast, OutboxMessage
from tests.botapi.emulator import BotApiEmulator
from tests.broadcast.conftest import (
    RecordingPort,
    VirtualTime,
    delivered,
    make_bot,
    max_in_window,
)

TEXT = "Оцените, пожалуйста, работу инспекции: опрос открыт до 5 декабря."
# Fast limits for tests that are not about Telegram's limits (the emulator enforces none there).
FAST = BroadcastLimits(global_rate=100, per_chat_interval=0.05, retry_delay=0.01)


async def _statuses(
    sessions: async_sessionmaker[AsyncSession], broadcast_id: int
) -> dict[int, str]:
    async with sessions() as session:
        rows = await session.execute(
            select(OutboxMessage.chat_id, OutboxMessage.status).where(
                OutboxMessage.broadcast_id == broadcast_id
            )
        )
        return {int(chat): str(status) for chat, status in rows}


async def _attempts(
    sessions: async_sessionmaker[AsyncSession], broadcast_id: int, chat_id: int
) -> int:
    async with sessions() as session:
        row = await session.get(OutboxMessage, (broadcast_id, chat_id))
        assert row is not None
        return row.attempts


async def test_429s_pause_everything_and_403s_are_blocked_once_each(
    sessions: async_sessionmaker[AsyncSession], api: BotApiEmulator, bot: Bot
) -> None:
    # The broadcaster's clock and sleep are virtual: the pauses are checked on that clock, so
    # the test asserts order, not speed (the rates are measured by bench/broadcast_bench.py).
    time = VirtualTime()
    port = RecordingPort(telegram_sender(bot), clock=time.clock)
    chats = list(range(5001, 5201))
    blocked = set(chats[10:60:10])
    for chat in blocked:
        api.fail_for_chat(chat)
    for number in (30, 90, 150):  # flood control strikes three times mid-broadcast
        port.before[number] = lambda chat: api.fail_next("sendMessage", 429, retry_after=1)
    broadcaster = Broadcaster(sessions, port, limits=FAST, clock=time.clock, sleep=time.sleep)
    broadcast_id = await broadcaster.create("invitation", "deep-2026-H1", TEXT, chats)

    summary = await time.run(broadcaster.run(broadcast_id))

    got = delivered(api)
    assert all(got[chat] == 1 for chat in chats if chat not in blocked)
    assert all(got[chat] == 0 for chat in blocked)
    attempts = [int(call.params["chat_id"]) for call in api.calls("sendMessage")]
    assert all(attempts.count(chat) == 1 for chat in blocked)  # never retried
    assert (summary.sent, summary.blocked, summary.failed, summary.unknown) == (195, 5, 0, 0)
    assert summary.sent + summary.blocked + summary.failed + summary.unknown == summary.total
    assert (summary.total, summary.pending, summary.rate_limited) == (200, 0, 3)
    assert summary.complete
    assert await broadcaster.counts(broadcast_id) == {"sent": 195, "blocked": 5}
    assert await broadcaster.unreachable_chat_ids() == blocked
    # Retry-after honoured: nothing started from the moment a 429 came back until it expired.
    assert len(port.flood) == 3
    for seen, retry_after in port.flood:
        assert not [at for at, _ in port.started if seen < at < seen + retry_after]
    # The row that met the 429 went out after the pause (one 429 and one success).
    for seen, _ in port.flood:
        chat = next(chat for at, chat in reversed(port.started) if at <= seen)
        assert got[chat] == 1
    async with sessions() as session:
        broadcast = await session.get(Broadcast, broadcast_id)
        assert broadcast is not None and broadcast.status == "done"


async def test_default_limits_keep_under_telegrams_limits_and_send_each_message_once(
    sessions: async_sessionmaker[AsyncSession], api: BotApiEmulator, bot: Bot
) -> None:
    # On a virtual clock: never more than 30 sends start in one second, never two to one chat
    # within a second. Against the emulator enforcing the limits in real time, and for the
    # rate achieved, see bench/broadcast_bench.py.
    time = VirtualTime()
    port = RecordingPort(telegram_sender(bot), clock=time.clock)
    broadcaster = Broadcaster(sessions, port, clock=time.clock, sleep=time.sleep)  # 29/s, 1.05 s
    broadcast_id = await broadcaster.create("invitation", "w1", TEXT, range(1, 91))
    summary = await time.run(broadcaster.run(broadcast_id))
    assert (summary.sent, summary.rate_limited) == (90, 0)
    assert max_in_window(sorted(at for at, _ in port.started)) <= 30
    assert [chat for _, chat in port.started] == list(range(1, 91))  # in chat order
    assert set(delivered(api).values()) == {1} and len(delivered(api)) == 90


async def test_two_broadcasts_to_the_same_chats_share_the_limits(
    sessions: async_sessionmaker[AsyncSession], api: BotApiEmulator, bot: Bot
) -> None:
    time = VirtualTime()
    port = RecordingPort(telegram_sender(bot), clock=time.clock)
    broadcaster = Broadcaster(sessions, port, clock=time.clock, sleep=time.sleep)
    chats = range(1, 41)
    invitation = await broadcaster.create("invitation", "w1", TEXT, chats)
    reminder = await broadcaster.create("reminder", "w1", "Напоминание", chats)

    async def both() -> list[Progress]:
        return list(await asyncio.gather(broadcaster.run(invitation), broadcaster.run(reminder)))

    summaries = await time.run(both())
    assert [summary.sent for summary in summaries] == [40, 40]
    assert set(delivered(api).values()) == {2}
    # One pacer for both: 30 a second over all chats, a second between two to one chat.
    assert max_in_window(sorted(at for at, _ in port.started)) <= 30
    for chat in chats:
        first, second = sorted(at for at, to in port.started if to == chat)
        assert second - first >= 1.0


async def test_broadcasters_of_one_bot_share_its_flood_control(
    sessions: async_sessionmaker[AsyncSession], api: BotApiEmulator, bot: Bot
) -> None:
    # Review: the announcer and the poll invitations each paced to the whole limit. A twin
    # made by with_port (another send port, as campaigns use) shares the pacer.
    time = VirtualTime()
    port = RecordingPort(telegram_sender(bot), clock=time.clock)
    invitations = Broadcaster(sessions, port, clock=time.clock, sleep=time.sleep)
    announcements = invitations.with_port(port)
    first = await invitations.create("invitation", "w1", TEXT, range(1, 61))
    second = await announcements.create("announcement", "a1", "Сделано", range(101, 161))

    async def both() -> list[Progress]:
        return list(await asyncio.gather(invitations.run(first), announcements.run(second)))

    summaries = await time.run(both())
    assert [summary.sent for summary in summaries] == [60, 60]
    assert max_in_window(sorted(at for at, _ in port.started)) <= 30


async def test_several_sends_are_in_flight_when_answers_are_slow(
    sessions: async_sessionmaker[AsyncSession], api: BotApiEmulator, bot: Bot
) -> None:
    # Each request and each answer crosses a slow network (0.15 s each way, virtual): one send
    # at a time would take 60 × 0.3 s; the broadcaster keeps several in flight. The rate this
    # gives over a real network is measured by bench/broadcast_bench.py --latency-ms.
    time = VirtualTime()
    send = telegram_sender(bot)
    in_flight = [0]
    most = [0]

    async def far_away(chat_id: int, text: str) -> None:
        in_flight[0] += 1
        most[0] = max(most[0], in_flight[0])
        try:
            await time.sleep(0.15)
            await send(chat_id, text)
            await time.sleep(0.15)
        finally:
            in_flight[0] -= 1

    broadcaster = Broadcaster(
        sessions,
        far_away,
        limits=BroadcastLimits(global_rate=29),
        clock=time.clock,
        sleep=time.sleep,
    )
    broadcast_id = await broadcaster.create("invitation", "w1", TEXT, range(1, 61))
    started = time.now
    summary = await time.run(broadcaster.run(broadcast_id))
    assert summary.sent == 60
    assert set(delivered(api).values()) == {1}
    assert 2 <= most[0] <= BroadcastLimits().max_in_flight
    assert time.now - started < 60 * 0.3 / 2


async def test_progress_is_reported_every_n_messages_and_at_the_end(
    sessions: async_sessionmaker[AsyncSession], api: BotApiEmulator, port: RecordingPort
) -> None:
    reports: list[Progress] = []

    async def progress(report: Progress) -> None:
        reports.append(report)

    broadcaster = Broadcaster(sessions, port, limits=FAST, progress_every_messages=25)
    broadcast_id = await broadcaster.create("invitation", "w1", TEXT, range(1, 101))
    summary = await broadcaster.run(broadcast_id, progress)

    assert len(reports) >= 4
    assert reports[-1] == summary
    sent = [report.sent for report in reports]
    assert sent == sorted(sent) and sent[-1] == 100
    for report in reports:
        assert (
            report.sent + report.blocked + report.failed + report.unknown + report.pending == 100
        )
    assert reports[0].rate > 0


async def test_5xx_and_refused_connections_are_retried_then_failed(
    sessions: async_sessionmaker[AsyncSession], api: BotApiEmulator, bot: Bot
) -> None:
    with socket.socket() as probe:  # a port nobody listens on: the connection is refused
        probe.bind(("127.0.0.1", 0))
        dead_port = probe.getsockname()[1]
    dead_bot = make_bot(f"http://127.0.0.1:{dead_port}")
    send, send_nowhere = telegram_sender(bot), telegram_sender(dead_bot)
    tried: set[int] = set()

    async def port(chat_id: int, text: str) -> None:
        if chat_id == 3 and chat_id not in tried:
            tried.add(chat_id)
            await send_nowhere(chat_id, text)
        await send(chat_id, text)

    api.fail_next("sendMessage", 500, chat_id=1, times=2)  # third attempt goes through
    api.fail_next("sendMessage", 502, chat_id=2, times=3)  # every attempt fails
    broadcaster = Broadcaster(sessions, port, limits=FAST)
    broadcast_id = await broadcaster.create("invitation", "w1", TEXT, [1, 2, 3, 4])
    try:
        summary = await broadcaster.run(broadcast_id)
    finally:
        await dead_bot.session.close()

    assert await _statuses(sessions, broadcast_id) == {
        1: "sent",
        2: "failed",
        3: "sent",
        4: "sent",
    }
    assert [await _attempts(sessions, broadcast_id, chat) for chat in (1, 2, 3, 4)] == [3, 3, 2, 1]
    assert delivered(api) == {1: 1, 3: 1, 4: 1}
    assert (summary.retried, summary.failed) == (5, 1)


async def test_an_answer_lost_after_delivery_is_unknown_and_never_resent(
    sessions: async_sessionmaker[AsyncSession], api: BotApiEmulator, bot: Bot
) -> None:
    send = telegram_sender(bot)

    async def port(chat_id: int, text: str) -> None:
        await send(chat_id, text)
        if chat_id == 2:  # Telegram delivered, but the answer never came back
            method = SendMessage(chat_id=chat_id, text=text)
            raise TelegramNetworkError(method, "Request timeout error") from TimeoutError()

    broadcaster = Broadcaster(sessions, port, limits=FAST)
    broadcast_id = await broadcaster.create("invitation", "w1", TEXT, [1, 2, 3])
    summary = await broadcaster.run(broadcast_id)
    assert delivered(api) == {1: 1, 2: 1, 3: 1}
    assert await _statuses(sessions, broadcast_id) == {1: "sent", 2: "unknown", 3: "sent"}
    assert (summary.unknown, summary.complete) == (1, True)

    assert (await broadcaster.run(broadcast_id)).sent_this_run == 0  # resuming sends nothing
    assert await broadcaster.requeue_unknown(broadcast_id) == 1  # an officer's explicit call
    await broadcaster.run(broadcast_id)
    assert delivered(api)[2] == 2


async def test_a_rejected_request_fails_its_row_only(
    sessions: async_sessionmaker[AsyncSession], api: BotApiEmulator, port: RecordingPort
) -> None:
    api.fail_for_chat(2, 400, "Bad Request: chat not found")
    broadcaster = Broadcaster(sessions, port, limits=FAST)
    broadcast_id = await broadcaster.create("invitation", "w1", TEXT, [1, 2, 3])
    await broadcaster.run(broadcast_id)
    assert await _statuses(sessions, broadcast_id) == {1: "sent", 2: "failed", 3: "sent"}
    assert len(api.calls("sendMessage", chat_id=2)) == 1


async def test_a_text_rejected_everywhere_aborts_the_run_and_keeps_the_rest_pending(
    sessions: async_sessionmaker[AsyncSession], api: BotApiEmulator, port: RecordingPort
) -> None:
    api.fail_next("sendMessage", 400, description="Bad Request: can't parse entities", times=999)
    limits = BroadcastLimits(global_rate=100, abort_after_bad_requests=10)
    broadcaster = Broadcaster(sessions, port, limits=limits)
    broadcast_id = await broadcaster.create("invitation", "w1", "<b>broken", range(1, 201))
    with pytest.raises(BroadcastAbortedError, match="check the text"):
        await broadcaster.run(broadcast_id)
    counts = await broadcaster.counts(broadcast_id)
    assert counts["failed"] >= 10 and counts["pending"] >= 150
    assert "sending" not in counts  # every claimed row that was not tried went back


async def test_a_revoked_token_aborts_with_nothing_left_sending(
    sessions: async_sessionmaker[AsyncSession], api: BotApiEmulator
) -> None:
    stranger = make_bot(api.base_url, token="999:WRONG")
    try:
        broadcaster = Broadcaster(sessions, telegram_sender(stranger), limits=FAST)
        broadcast_id = await broadcaster.create("invitation", "w1", TEXT, range(1, 51))
        with pytest.raises(BroadcastAbortedError):
            await broadcaster.run(broadcast_id)
    finally:
        await stranger.session.close()
    assert await broadcaster.counts(broadcast_id) == {"pending": 50}


async def test_running_a_broadcast_twice_at_once_is_refused(
    sessions: async_sessionmaker[AsyncSession], api: BotApiEmulator, port: RecordingPort
) -> None:
    broadcaster = Broadcaster(sessions, port, limits=BroadcastLimits(global_rate=20))
    broadcast_id = await broadcaster.create("invitation", "w1", TEXT, range(1, 21))
    first = asyncio.create_task(broadcaster.run(broadcast_id))
    await api.wait_for_request("sendMessage")
    with pytest.raises(BroadcastAlreadyRunningError):
        await broadcaster.run(broadcast_id)
    assert (await first).sent == 20
    assert set(delivered(api).values()) == {1}


async def test_another_process_cannot_run_a_broadcast_in_flight_nor_mark_its_sends_unknown(
    sessions: async_sessionmaker[AsyncSession], api: BotApiEmulator, port: RecordingPort
) -> None:
    """Issue 14: a second worker's run marked 21 invitations the first had delivered unknown.
    Two Broadcasters stand for two processes (each its own lease holder)."""
    first = Broadcaster(sessions, port, limits=BroadcastLimits(global_rate=20))
    second = Broadcaster(sessions, port, limits=FAST)
    broadcast_id = await first.create("invitation", "w1", TEXT, range(1, 41))
    api.hold_next("sendMessage", times=3)  # the first process has sends in flight
    running = asyncio.create_task(first.run(broadcast_id))
    await api.wait_for_request("sendMessage")
    with pytest.raises(BroadcastAlreadyRunningError):
        await second.run(broadcast_id)
    assert "unknown" not in set((await _statuses(sessions, broadcast_id)).values())
    api.release_held()
    summary = await running
    assert (summary.sent, summary.unknown) == (40, 0)
    assert set(delivered(api).values()) == {1}
    # Once the first is done, the lease is free: running it again finds nothing to send.
    again = await second.run(broadcast_id)
    assert (again.sent_this_run, again.unknown) == (0, 0)


async def test_a_bug_in_the_port_stops_the_run_and_its_row_is_not_resent(
    sessions: async_sessionmaker[AsyncSession], api: BotApiEmulator, bot: Bot
) -> None:
    send = telegram_sender(bot)

    async def buggy(chat_id: int, text: str) -> None:
        await send(chat_id, text)
        if chat_id == 5:
            raise KeyError("a bug after the request went out")

    broadcaster = Broadcaster(sessions, buggy, limits=FAST)
    broadcast_id = await broadcaster.create("invitation", "w1", TEXT, range(1, 41))
    with pytest.raises(KeyError):
        await broadcaster.run(broadcast_id)
    assert (await _statuses(sessions, broadcast_id))[5] == "sending"

    summary = await Broadcaster(sessions, send, limits=FAST).run(broadcast_id)
    assert (summary.recovered_unknown, summary.unknown, summary.sent) == (1, 1, 39)
    assert set(delivered(api).values()) == {1} and len(delivered(api)) == 40
