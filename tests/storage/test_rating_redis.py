"""The ballot-stuffing guard shared by several processes through Redis (issue 14): a person
who rated a service on one worker cannot rate it again on another the same day."""

from __future__ import annotations

import asyncio
import secrets
import uuid
from collections.abc import AsyncIterator
from datetime import date, timedelta

import pytest
from redis.asyncio import Redis

from services.rating_guard import LocalRatingGuard, RatingGuard, SharedRatingGuard
from storage.rating_redis import RedisRatingCounters
from tests.storage.test_fsm_redis import redis  # the Redis fixture, failing loudly when down

__all__ = ["redis"]

pytestmark = pytest.mark.redis
PEPPER = b"test-pepper-0123456789-abcdefghij"
DAY = date(2026, 11, 30)
PERSON = 777000111


@pytest.fixture
async def prefix(redis: Redis) -> AsyncIterator[str]:
    name = f"otklik-test-guard-{uuid.uuid4().hex[:12]}"
    yield name
    async for key in redis.scan_iter(match=f"{name}:*"):
        await redis.delete(key)


def _worker(redis: Redis, prefix: str, limit: int = 1) -> SharedRatingGuard:
    """One bot process's guard: its own object, the shared Redis."""
    return SharedRatingGuard(limit, RedisRatingCounters(redis, prefix=prefix), PEPPER)


async def test_a_rating_on_one_worker_counts_on_the_others(redis: Redis, prefix: str) -> None:
    first, second = _worker(redis, prefix), _worker(redis, prefix)
    assert await first.may_rate(PERSON, "licensing", DAY)
    assert await first.reserve(PERSON, "licensing", DAY)
    assert not await second.may_rate(PERSON, "licensing", DAY)
    assert not await second.reserve(PERSON, "licensing", DAY)
    # Another service, another person, another day: free.
    assert await second.reserve(PERSON, "permits", DAY)
    assert await second.reserve(PERSON + 1, "licensing", DAY)
    assert await second.reserve(PERSON, "licensing", date(2026, 12, 1))
    # Per-process guards (the old way) would have let the second worker take it again.
    local = [LocalRatingGuard(RatingGuard(1)), LocalRatingGuard(RatingGuard(1))]
    assert await local[0].reserve(PERSON, "licensing", DAY)
    assert await local[1].reserve(PERSON, "licensing", DAY)


async def test_racing_workers_take_the_last_rating_once(redis: Redis, prefix: str) -> None:
    workers = [_worker(redis, prefix, limit=2) for _ in range(4)]
    results = await asyncio.gather(
        *(w.reserve(PERSON, "licensing", DAY) for w in workers for _ in range(3))
    )
    assert results.count(True) == 2


async def test_a_rating_given_back_after_a_failed_write_can_be_taken_again(
    redis: Redis, prefix: str
) -> None:
    first, second = _worker(redis, prefix), _worker(redis, prefix)
    assert await first.reserve(PERSON, "licensing", DAY)
    await first.release(PERSON, "licensing", DAY)
    assert await second.reserve(PERSON, "licensing", DAY)


async def test_redis_holds_no_ids_and_forgets_within_two_days(redis: Redis, prefix: str) -> None:
    guard = _worker(redis, prefix)
    assert await guard.reserve(PERSON, "licensing", DAY)
    names = [name async for name in redis.scan_iter(match=f"{prefix}:*")]
    assert len(names) == 2  # the day's secret and one counter
    for name in names:
        assert str(PERSON).encode() not in name and b"licensing" not in name
        assert 0 < await redis.ttl(name) <= 2 * 86400
        value = await redis.get(name)
        assert value is not None and str(PERSON).encode() not in value
    # The key is not the pepper's alone: without the day's secret nobody recomputes it.
    other_day_secret = SharedRatingGuard(
        1, RedisRatingCounters(redis, prefix=prefix + "x"), PEPPER
    )
    assert await other_day_secret.reserve(PERSON, "licensing", DAY)
    async for key in redis.scan_iter(match=f"{prefix}x:*"):
        await redis.delete(key)


async def test_with_redis_a_persons_updates_are_serialised_across_processes(redis: Redis) -> None:
    """Two workers' dispatchers take the same Redis lock for one person (renewed while held,
    keys hashed like the state); without Redis, the in-process lock."""
    from aiogram.fsm.storage.base import StorageKey
    from aiogram.fsm.storage.memory import MemoryStorage

    from bot.operations import shared_isolation
    from storage.fsm_redis import RenewedLockIsolation as RedisEventIsolation
    from storage.fsm_redis import create_redis_storage
    from tests.storage.test_fsm_redis import redis_url

    assert shared_isolation(MemoryStorage()) is None
    storages = [create_redis_storage(redis_url(), PEPPER, timedelta(days=1)) for _ in range(2)]
    try:
        first, second = (shared_isolation(s) for s in storages)
        assert isinstance(first, RedisEventIsolation) and isinstance(second, RedisEventIsolation)
        key = StorageKey(bot_id=42, chat_id=PERSON, user_id=PERSON)
        order: list[str] = []

        async def handle(isolation: RedisEventIsolation, name: str) -> None:
            async with isolation.lock(key):
                order.append(f"{name} in")
                await asyncio.sleep(0.2)
                order.append(f"{name} out")

        await asyncio.gather(handle(first, "a"), handle(second, "b"))
        assert order in (["a in", "a out", "b in", "b out"], ["b in", "b out", "a in", "a out"])
    finally:
        for storage in storages:
            await storage.close()


async def test_a_persons_lock_is_renewed_while_held_and_runs_out_once_its_worker_died(
    redis: Redis,
) -> None:
    """A lock held longer than its time to live (a slow update) is kept by its holder; one
    whose holder died (nobody renews it) is free after that time, not aiogram's minute."""
    from aiogram.fsm.storage.base import StorageKey

    from storage.fsm_redis import HashedKeyBuilder, RenewedLockIsolation

    builder = HashedKeyBuilder(PEPPER, prefix=f"otklik-test-lock-{secrets.token_hex(6)}")
    key = StorageKey(bot_id=42, chat_id=PERSON, user_id=PERSON)
    name = builder.build(key, "lock")
    holder = RenewedLockIsolation(redis, builder, timeout=0.3)
    other = RenewedLockIsolation(redis, builder, timeout=0.3)
    order: list[str] = []

    async def slow() -> None:
        async with holder.lock(key):
            order.append("slow in")
            await asyncio.sleep(1.0)  # three times the lock's life: renewed meanwhile
            order.append("slow out")

    async def next_update() -> None:
        await asyncio.sleep(0.05)
        async with other.lock(key):
            order.append("next")

    await asyncio.gather(slow(), next_update())
    assert order == ["slow in", "slow out", "next"]
    # A dead holder: its lock (taken, never renewed nor released) expires by itself.
    await redis.set(name, "dead-worker", px=300)
    async with asyncio.timeout(5):
        async with other.lock(key):
            order.append("after the dead one")
    assert order[-1] == "after the dead one"
