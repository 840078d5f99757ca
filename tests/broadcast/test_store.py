"""BroadcastStore on SQLite and PostgreSQL: the row transitions a run relies on, one
transaction per call, without the pacer or a bot."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from storage.broadcast import (
    BLOCKED,
    DONE,
    PENDING,
    RUNNING,
    SENDING,
    SENT,
    UNKNOWN,
    BroadcastStore,
    Outcome,
)
from storage.models_broadcast import Broadcast, OutboxMessage

NOW = datetime(2026, 11, 30, 9, 0, tzinfo=UTC)
CHATS = [305, 301, 304, 302, 303]


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


async def _broadcast_status(sessions: async_sessionmaker[AsyncSession], broadcast_id: int) -> str:
    async with sessions() as session:
        broadcast = await session.get(Broadcast, broadcast_id)
        assert broadcast is not None
        return broadcast.status


async def test_create_reports_new_rows_and_keeps_the_first_text(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    store = BroadcastStore(sessions)

    first = await store.create("invitation", "w1", "Текст", CHATS[:3], NOW)
    again = await store.create("invitation", "w1", "Другой текст", CHATS, NOW)

    assert (first.new, first.added, first.other_text) == (True, 3, False)
    assert (again.broadcast_id, again.new, again.added, again.other_text) == (
        first.broadcast_id,
        False,
        2,
        True,
    )
    start = await store.start_run(first.broadcast_id, NOW)
    assert start is not None and start.text == "Текст"


async def test_a_run_claims_in_chat_order_and_writes_outcomes_only_over_sending_rows(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    store = BroadcastStore(sessions)
    broadcast_id = (await store.create("invitation", "w1", "Текст", CHATS, NOW)).broadcast_id
    start = await store.start_run(broadcast_id, NOW)
    assert start is not None and start.counts == {PENDING: 5} and start.recovered == 0
    assert await _broadcast_status(sessions, broadcast_id) == RUNNING

    claimed = await store.record(broadcast_id, [], NOW, claim=2)
    # 303 was never claimed: its outcome must not land.
    later = await store.record(
        broadcast_id, [Outcome(301, SENT, 1), Outcome(303, SENT, 1)], NOW, claim=2
    )

    assert claimed == [301, 302]
    assert later == [303, 304]
    assert await _statuses(sessions, broadcast_id) == {
        301: SENT,
        302: SENDING,
        303: SENDING,
        304: SENDING,
        305: PENDING,
    }


async def test_stop_returns_unstarted_rows_and_the_next_start_marks_the_rest_unknown(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    store = BroadcastStore(sessions)
    broadcast_id = (await store.create("invitation", "w1", "Текст", CHATS, NOW)).broadcast_id
    await store.start_run(broadcast_id, NOW)
    await store.record(broadcast_id, [], NOW, claim=4)

    await store.stop_run(broadcast_id, [Outcome(301, BLOCKED, 1)], [303, 304], NOW)
    assert await _broadcast_status(sessions, broadcast_id) == PENDING
    start = await store.start_run(broadcast_id, NOW)

    assert start is not None and start.recovered == 1  # 302 was in flight: it may have gone
    assert start.counts == {BLOCKED: 1, UNKNOWN: 1, PENDING: 3}
    assert await store.requeue_unknown(broadcast_id, NOW) == 1
    assert await store.counts(broadcast_id) == {BLOCKED: 1, PENDING: 4}


async def test_finish_marks_the_broadcast_done_only_when_nothing_is_left(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    store = BroadcastStore(sessions)
    broadcast_id = (await store.create("invitation", "w1", "Текст", [301, 302], NOW)).broadcast_id
    await store.start_run(broadcast_id, NOW)
    await store.record(broadcast_id, [], NOW, claim=2)

    counts = await store.finish_run(broadcast_id, [Outcome(301, SENT, 1)], NOW)
    assert counts == {SENT: 1, SENDING: 1}
    assert await _broadcast_status(sessions, broadcast_id) == RUNNING

    counts = await store.finish_run(broadcast_id, [Outcome(302, SENT, 2)], NOW)
    assert counts == {SENT: 2}
    assert await _broadcast_status(sessions, broadcast_id) == DONE


async def test_start_run_of_a_missing_broadcast_changes_nothing(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    assert await BroadcastStore(sessions).start_run(404, NOW) is None
