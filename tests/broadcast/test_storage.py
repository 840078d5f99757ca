"""Broadcast storage on SQLite and PostgreSQL: idempotent create, unreachable chats, requeue."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from services.broadcast import Broadcaster, BroadcastNotFoundError
from storage.models_broadcast import Broadcast, OutboxMessage

CHATS = [101, 102, 103, 104]


async def _unused_send(chat_id: int, text: str) -> None:
    raise AssertionError("these tests send nothing")


def _broadcaster(sessions: async_sessionmaker[AsyncSession]) -> Broadcaster:
    return Broadcaster(sessions, _unused_send)


async def _outbox(sessions: async_sessionmaker[AsyncSession]) -> list[tuple[int, int, str]]:
    async with sessions() as session:
        rows = await session.execute(
            select(
                OutboxMessage.broadcast_id, OutboxMessage.chat_id, OutboxMessage.status
            ).order_by(OutboxMessage.broadcast_id, OutboxMessage.chat_id)
        )
        return [(int(b), int(c), str(s)) for b, c, s in rows]


async def test_creating_the_same_broadcast_twice_returns_its_id_and_adds_no_rows(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    broadcaster = _broadcaster(sessions)
    first = await broadcaster.create("invitation", "deep-2026-H1", "Пройдите опрос", CHATS)
    again = await broadcaster.create("invitation", "deep-2026-H1", "Пройдите опрос", CHATS)

    assert again == first
    assert await _outbox(sessions) == [(first, chat, "pending") for chat in CHATS]
    async with sessions() as session:
        assert len((await session.scalars(select(Broadcast))).all()) == 1


async def test_duplicate_chat_ids_in_one_call_become_one_row(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    broadcast_id = await _broadcaster(sessions).create("reminder", "w1", "Напоминание", [7, 7, 8])
    assert await _outbox(sessions) == [(broadcast_id, 7, "pending"), (broadcast_id, 8, "pending")]


async def test_same_key_of_another_kind_is_another_broadcast(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    broadcaster = _broadcaster(sessions)
    invitation = await broadcaster.create("invitation", "deep-2026-H1", "Приглашение", CHATS)
    reminder = await broadcaster.create("reminder", "deep-2026-H1", "Напоминание", CHATS)
    assert invitation != reminder
    assert len(await _outbox(sessions)) == 2 * len(CHATS)


async def test_creating_again_adds_only_new_chats_and_keeps_the_first_text(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    broadcaster = _broadcaster(sessions)
    broadcast_id = await broadcaster.create("invitation", "k", "Первый текст", [1, 2])
    async with sessions.begin() as session:
        await session.execute(
            update(OutboxMessage).where(OutboxMessage.chat_id == 1).values(status="sent")
        )
        await session.execute(update(Broadcast).values(status="done"))

    assert await broadcaster.create("invitation", "k", "Другой текст", [1, 2, 3]) == broadcast_id

    assert await _outbox(sessions) == [
        (broadcast_id, 1, "sent"),  # untouched: never sent twice
        (broadcast_id, 2, "pending"),
        (broadcast_id, 3, "pending"),
    ]
    async with sessions() as session:
        broadcast = await session.get(Broadcast, broadcast_id)
        assert broadcast is not None
        assert (broadcast.text, broadcast.status) == ("Первый текст", "pending")


async def test_create_stores_many_recipients_in_chunks(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    chats = range(10**9, 10**9 + 12_000)  # past one INSERT chunk; ids beyond 32 bits
    broadcaster = _broadcaster(sessions)
    broadcast_id = await broadcaster.create("invitation", "big", "Текст", chats)
    assert await broadcaster.create("invitation", "big", "Текст", chats) == broadcast_id
    assert await broadcaster.counts(broadcast_id) == {"pending": 12_000}


@pytest.mark.parametrize(
    ("kind", "key", "text"),
    [("", "k", "t"), ("k" * 33, "k", "t"), ("invitation", "", "t"), ("invitation", "k", " ")],
)
async def test_create_rejects_empty_or_oversized_names_and_empty_text(
    sessions: async_sessionmaker[AsyncSession], kind: str, key: str, text: str
) -> None:
    with pytest.raises(ValueError):
        await _broadcaster(sessions).create(kind, key, text, CHATS)


async def test_run_of_a_missing_broadcast_is_refused(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    with pytest.raises(BroadcastNotFoundError):
        await _broadcaster(sessions).run(404)


async def _set(
    sessions: async_sessionmaker[AsyncSession],
    broadcast_id: int,
    chat_id: int,
    status: str,
    at: datetime,
) -> None:
    async with sessions.begin() as session:
        await session.execute(
            update(OutboxMessage)
            .where(OutboxMessage.broadcast_id == broadcast_id, OutboxMessage.chat_id == chat_id)
            .values(status=status, updated_at=at)
        )


async def test_a_chat_is_unreachable_until_a_later_message_reaches_it(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    broadcaster = _broadcaster(sessions)
    earlier = await broadcaster.create("invitation", "w1", "Приглашение", [1, 2, 3])
    later = await broadcaster.create("results", "w1", "Итоги", [1, 2, 3])
    monday = datetime(2026, 11, 23, 9, tzinfo=UTC)
    await _set(sessions, earlier, 1, "blocked", monday)
    await _set(sessions, earlier, 2, "blocked", monday)
    await _set(sessions, later, 2, "sent", monday + timedelta(days=7))  # unblocked since
    await _set(sessions, later, 3, "blocked", monday + timedelta(days=7))
    await _set(sessions, earlier, 3, "sent", monday)  # blocked after that success

    assert await broadcaster.unreachable_chat_ids() == {1, 3}


async def test_requeue_unknown_makes_only_unknown_rows_pending(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    broadcaster = _broadcaster(sessions)
    broadcast_id = await broadcaster.create("invitation", "w1", "Приглашение", [1, 2, 3])
    now = datetime.now(UTC)
    await _set(sessions, broadcast_id, 1, "unknown", now)
    await _set(sessions, broadcast_id, 2, "sent", now)

    assert await broadcaster.requeue_unknown(broadcast_id) == 1
    assert await broadcaster.counts(broadcast_id) == {"pending": 2, "sent": 1}
