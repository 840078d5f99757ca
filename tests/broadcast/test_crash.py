"""A broadcast that dies halfway resumes without sending any chat the message twice."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import sys
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from services.broadcast import Broadcaster, BroadcastLimits, Summary, telegram_sender
from storage.models_broadcast import OutboxMessage
from tests.botapi.emulator import BotApiEmulator
from tests.broadcast.conftest import Crash, RecordingPort, delivered, make_bot
from tests.broadcast.crash_child import CHILD_LIMITS
from tests.storage.conftest import ScratchDatabase

TEXT = "Приглашаем пройти опрос о качестве услуг."
REPO = Path(__file__).resolve().parents[2]
LIMITS = BroadcastLimits(global_rate=60)


async def _wait_until_delivered(api: BotApiEmulator, count: int) -> None:
    for _ in range(count):
        await api.wait_for_request("sendMessage", timeout=30)


async def _unknown(sessions: async_sessionmaker[AsyncSession], broadcast_id: int) -> set[int]:
    async with sessions() as session:
        return set(
            await session.scalars(
                select(OutboxMessage.chat_id).where(
                    OutboxMessage.broadcast_id == broadcast_id, OutboxMessage.status == "unknown"
                )
            )
        )


async def _assert_resumed_exactly_once(
    sessions: async_sessionmaker[AsyncSession],
    api: BotApiEmulator,
    broadcast_id: int,
    chats: list[int],
    summary: Summary,
) -> set[int]:
    """No chat got two copies; only rows left ambiguous by the crash may have got none."""
    got = delivered(api)
    unknown = await _unknown(sessions, broadcast_id)
    assert max(got.values()) == 1
    assert {chat for chat in chats if got[chat] == 0} <= unknown
    assert summary.complete and summary.pending == 0
    assert summary.sent + summary.unknown == len(chats)
    assert summary.unknown == summary.recovered_unknown == len(unknown)
    return unknown


async def test_a_cancelled_run_resumes_and_only_requests_in_flight_are_unknown(
    sessions: async_sessionmaker[AsyncSession], api: BotApiEmulator, port: RecordingPort
) -> None:
    chats = list(range(1, 151))
    broadcaster = Broadcaster(sessions, port, limits=LIMITS)
    broadcast_id = await broadcaster.create("invitation", "w1", TEXT, chats)
    running = asyncio.create_task(broadcaster.run(broadcast_id))
    await _wait_until_delivered(api, 40)
    running.cancel()
    with pytest.raises(asyncio.CancelledError):
        await running
    del broadcaster, running  # no close, no goodbye

    after = Broadcaster(sessions, port, limits=LIMITS)
    summary = await after.run(broadcast_id)

    unknown = await _assert_resumed_exactly_once(sessions, api, broadcast_id, chats, summary)
    assert len(unknown) <= LIMITS.max_in_flight  # claimed rows never started went back


@pytest.mark.parametrize("claim", [1, 4])
async def test_a_run_cancelled_right_after_a_claim_commits_releases_the_claimed_rows(
    sessions: async_sessionmaker[AsyncSession],
    api: BotApiEmulator,
    port: RecordingPort,
    monkeypatch: pytest.MonkeyPatch,
    claim: int,
) -> None:
    # Review: a lane cancelled after ``record`` committed its claim, before it had the claimed
    # chats, left them "sending": the next run counted them unknown and never sent them.
    chats = list(range(1, 151))
    broadcaster = Broadcaster(sessions, port, limits=LIMITS)
    broadcast_id = await broadcaster.create("invitation", "w1", TEXT, chats)
    running = asyncio.create_task(broadcaster.run(broadcast_id))
    record = broadcaster._store.record
    claims: list[int] = []

    async def cancelled_after_commit(*args: Any, **kwargs: Any) -> list[int]:
        claimed = await record(*args, **kwargs)
        if claimed:
            claims.append(len(claimed))
            if len(claims) == claim:
                running.cancel()
                await asyncio.sleep(0)  # where the cancellation lands: the claim is committed
        return claimed

    monkeypatch.setattr(broadcaster._store, "record", cancelled_after_commit)
    with pytest.raises(asyncio.CancelledError):
        await running
    assert len(claims) == claim

    summary = await Broadcaster(sessions, port, limits=LIMITS).run(broadcast_id)

    unknown = await _assert_resumed_exactly_once(sessions, api, broadcast_id, chats, summary)
    # The first claim comes before any send: nothing was in flight, nothing is unknown.
    assert len(unknown) <= (0 if claim == 1 else LIMITS.max_in_flight)


async def test_a_process_dying_inside_a_send_resumes_without_a_second_copy(
    sessions: async_sessionmaker[AsyncSession], api: BotApiEmulator, port: RecordingPort
) -> None:
    chats = list(range(1, 121))
    dying: list[int] = []

    async def die_after_sending(chat_id: int) -> None:
        # The request reaches Telegram; the process dies before it reads the answer.
        dying.append(chat_id)
        await port.send(chat_id, TEXT)
        raise Crash

    port.before[50] = die_after_sending
    broadcaster = Broadcaster(sessions, port, limits=LIMITS)
    broadcast_id = await broadcaster.create("invitation", "w1", TEXT, chats)
    with pytest.raises(Crash):
        await broadcaster.run(broadcast_id)
    del broadcaster

    port.before.clear()
    summary = await Broadcaster(sessions, port, limits=LIMITS).run(broadcast_id)

    unknown = await _assert_resumed_exactly_once(sessions, api, broadcast_id, chats, summary)
    assert dying[0] in unknown and delivered(api)[dying[0]] == 1
    assert len(unknown) <= LIMITS.max_in_flight


async def test_a_killed_process_resumes_without_sending_anyone_the_message_twice(
    database: ScratchDatabase,
    sessions: async_sessionmaker[AsyncSession],
    api: BotApiEmulator,
) -> None:
    chats = list(range(1, 301))
    broadcast_id = await Broadcaster(sessions, RecordingPort(_never)).create(
        "invitation", "w1", TEXT, chats
    )
    child = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "tests.broadcast.crash_child",
        api.base_url,
        database.url,
        json.dumps(database.connect_args),
        str(broadcast_id),
        cwd=REPO,
        env={**os.environ, "PYTHONPATH": str(REPO)},
    )
    try:
        await _wait_until_delivered(api, 60)
    finally:
        child.send_signal(signal.SIGKILL)  # no finally blocks, no cleanup, no flush
        await child.wait()
    sent_before_kill = sum(delivered(api).values())

    bot = make_bot(api.base_url)
    try:
        summary = await Broadcaster(sessions, telegram_sender(bot), limits=LIMITS).run(
            broadcast_id
        )
    finally:
        await bot.session.close()

    unknown = await _assert_resumed_exactly_once(sessions, api, broadcast_id, chats, summary)
    assert summary.recovered_unknown > 0  # the kill did land mid-broadcast
    assert sent_before_kill < len(chats) - CHILD_LIMITS.claim_batch * 2
    # The documented bound: a claim batch plus its low-water remainder, what was in flight,
    # and outcomes not yet committed (at most a batch).
    bound = CHILD_LIMITS.claim_batch * 9 // 4 + CHILD_LIMITS.max_in_flight
    assert len(unknown) <= bound
    lost = [chat for chat in unknown if delivered(api)[chat] == 0]
    assert len(lost) <= CHILD_LIMITS.claim_batch * 5 // 4 + CHILD_LIMITS.max_in_flight


async def _never(chat_id: int, text: str) -> None:
    raise AssertionError("creating a broadcast sends nothing")


async def test_a_stop_is_recorded_even_when_the_claims_own_task_was_cancelled(
    sessions: async_sessionmaker[AsyncSession],
    api: BotApiEmulator,
    port: RecordingPort,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Review: the shielded claim's own task cancelled too (as the loop cancels every task at
    # shutdown) made the stop leave before recording anything: the lanes' unstarted rows
    # stayed "sending" and the next run counted them unknown.
    chats = list(range(1, 151))
    broadcaster = Broadcaster(sessions, port, limits=LIMITS)
    broadcast_id = await broadcaster.create("invitation", "w1", TEXT, chats)
    running = asyncio.create_task(broadcaster.run(broadcast_id))
    record = broadcaster._store.record
    stop_run = broadcaster._store.stop_run
    claims: list[int] = []
    stops: list[int] = []

    async def claim_cancelled_with_the_run(*args: Any, **kwargs: Any) -> list[int]:
        claimed = await record(*args, **kwargs)
        if claimed:
            claims.append(len(claimed))
            if len(claims) == 2:
                running.cancel()
                task = asyncio.current_task()
                assert task is not None
                task.cancel()  # the claim's own (shielded) task
                await asyncio.sleep(0)
        return claimed

    async def recorded_stop(*args: Any, **kwargs: Any) -> None:
        stops.append(1)
        await stop_run(*args, **kwargs)

    monkeypatch.setattr(broadcaster._store, "record", claim_cancelled_with_the_run)
    monkeypatch.setattr(broadcaster._store, "stop_run", recorded_stop)
    with pytest.raises(asyncio.CancelledError):
        await running
    assert stops == [1]

    summary = await Broadcaster(sessions, port, limits=LIMITS).run(broadcast_id)
    got = delivered(api)
    assert max(got.values()) == 1  # nobody twice
    assert summary.complete and summary.pending == 0
