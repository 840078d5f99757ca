"""OptInStore: idempotent subscriptions per chat and topic, written in batches."""

from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from questionnaires.messengers import MAX_CHATS, max_chat
from storage.models import OptIn, ServiceNews
from storage.opt_ins import OptInStore

MONDAY = date(2025, 3, 10)
FRIDAY = date(2025, 3, 14)
# Private chats are positive; supergroups are -100… and do not fit in 32 bits either way.
PRIVATE = 7_123_456_789
SUPERGROUP = -1_001_234_567_890


async def test_adding_twice_keeps_one_subscription_from_the_first_month(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    store = OptInStore(sessions)
    april = date(2025, 4, 2)

    await store.add(PRIVATE, "changes", MONDAY)
    await store.add(PRIVATE, "changes", april)
    assert await store.flush(force=True) == 1
    await store.add(PRIVATE, "changes", april)
    await store.flush(force=True)

    async with sessions() as session:
        rows = list(await session.scalars(select(OptIn)))
    assert [(row.chat_id, row.topic, row.created_on) for row in rows] == [
        (PRIVATE, "changes", date(2025, 3, 1))
    ]


async def test_only_the_month_of_a_subscription_is_kept(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    store = OptInStore(sessions)
    await store.add(PRIVATE, "changes", FRIDAY)
    await store.flush(force=True)
    async with sessions() as session:
        assert list(await session.scalars(select(OptIn.created_on))) == [date(2025, 3, 1)]


async def test_subscriptions_wait_in_memory_until_a_batch_gathers(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    # Issue 8: written at once, a subscription would sit right after its author's response.
    store = OptInStore(sessions, min_batch=3)
    await store.add(1, "changes", MONDAY)
    await store.add(2, "changes", MONDAY)

    assert await store.flush() == 0
    assert await _stored(sessions) == set()
    assert await store.chat_ids("changes") == [1, 2]  # already counted for messages

    await store.add(3, "polls", MONDAY)
    assert await store.flush() == 3
    assert await _stored(sessions) == {1, 2, 3}
    assert store.waiting == 0


async def test_a_batch_gathers_people_not_subscriptions(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    # Review of issue 8: five subscriptions of two people were written as a "batch of five".
    store = OptInStore(sessions, min_batch=3)
    for topic in ("changes", "polls", "staff_polls"):
        await store.add(1, topic, MONDAY)
    await store.add(2, "changes", MONDAY)
    await store.add(2, "polls", MONDAY)

    assert await store.flush() == 0
    assert await _stored(sessions) == set()
    await store.add(3, "changes", MONDAY)
    assert await store.flush() == 6
    assert await _stored(sessions) == {1, 2, 3}


async def test_a_failed_flush_keeps_the_subscriptions_for_the_next_try(
    sessions: async_sessionmaker[AsyncSession], monkeypatch: pytest.MonkeyPatch
) -> None:
    store = OptInStore(sessions, min_batch=1)
    await store.add(1, "changes", MONDAY)

    def broken_begin() -> object:
        raise ConnectionRefusedError("database down")

    with monkeypatch.context() as patch:
        patch.setattr(sessions, "begin", broken_begin)
        with pytest.raises(ConnectionRefusedError):
            await store.flush()
    assert store.waiting == 1
    assert await store.flush() == 1
    assert await _stored(sessions) == {1}


async def _stored(sessions: async_sessionmaker[AsyncSession]) -> set[int]:
    async with sessions() as session:
        return set(await session.scalars(select(OptIn.chat_id)))


async def test_chat_ids_lists_the_subscribers_of_one_topic_in_order(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    store = OptInStore(sessions)
    await store.add(PRIVATE, "changes", MONDAY)
    await store.add(SUPERGROUP, "changes", MONDAY)
    await store.add(PRIVATE, "polls", MONDAY)

    assert await store.chat_ids("changes") == [SUPERGROUP, PRIVATE]
    assert await store.chat_ids("polls") == [PRIVATE]


async def test_remove_one_topic_or_all_of_them(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    store = OptInStore(sessions)
    await store.add(PRIVATE, "changes", MONDAY)
    await store.add(PRIVATE, "polls", MONDAY)
    await store.flush(force=True)
    await store.add(SUPERGROUP, "polls", MONDAY)

    assert await store.remove(PRIVATE, "polls") == 1
    assert await store.remove(PRIVATE, "polls") == 0
    await store.add(PRIVATE, "polls", FRIDAY)
    assert await store.remove(PRIVATE) == 2
    assert await store.remove(PRIVATE) == 0

    assert await store.chat_ids("changes") == []
    assert await store.chat_ids("polls") == [SUPERGROUP]


async def test_unknown_topic_is_rejected(sessions: async_sessionmaker[AsyncSession]) -> None:
    store = OptInStore(sessions)

    with pytest.raises(ValueError, match="unknown opt-in topic"):
        await store.add(PRIVATE, "spam", MONDAY)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="unknown opt-in topic"):
        await store.chat_ids("spam")  # type: ignore[arg-type]


async def test_a_max_chat_is_kept_as_max_and_never_read_as_a_telegram_chat(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    # Issue 13: the same number is a Telegram chat and a MAX user; each stays its own.
    store = OptInStore(sessions)
    await store.add(PRIVATE, "changes", MONDAY)
    await store.add(max_chat(PRIVATE), "changes", MONDAY)
    await store.add(max_chat(PRIVATE), "polls", MONDAY)
    await store.add_service(max_chat(PRIVATE), "licensing")
    await store.flush(force=True)

    async with sessions() as session:
        rows = {
            (row.messenger, row.chat_id, row.topic) for row in await session.scalars(select(OptIn))
        }
        news = [(row.messenger, row.chat_id) for row in await session.scalars(select(ServiceNews))]
    assert rows == {
        ("telegram", PRIVATE, "changes"),
        ("max", PRIVATE, "changes"),
        ("max", PRIVATE, "polls"),
    }
    assert news == [("max", PRIVATE)]  # the raw MAX id, its messenger beside it
    assert await store.chat_ids("changes") == [PRIVATE, MAX_CHATS + PRIVATE]
    assert await store.chat_ids("polls") == [max_chat(PRIVATE)]
    assert await store.service_chat_ids(["licensing"]) == {"licensing": {max_chat(PRIVATE)}}

    # Stopping in one messenger leaves the other's subscription alone.
    assert await store.remove_news(max_chat(PRIVATE)) == 2
    assert await store.chat_ids("changes") == [PRIVATE]
    assert await store.remove(PRIVATE) == 1
    assert await store.chat_ids("polls") == [max_chat(PRIVATE)]
