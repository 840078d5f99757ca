"""The ballot-stuffing guard shared by several processes through Redis (issue 14): a person
who rated a service on one worker cannot rate it again on another the same day."""

from __future__ import annotations

import asyncio
import secrets
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, date, datetime, time, timedelta

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
    assert await first.reserve(PERSON, "licensing", DAY, attempt="a1")
    assert not await second.may_rate(PERSON, "licensing", DAY)
    assert not await second.reserve(PERSON, "licensing", DAY, attempt="a2")
    # Another service, another person, another day: free.
    assert await second.reserve(PERSON, "permits", DAY, attempt="a3")
    assert await second.reserve(PERSON + 1, "licensing", DAY, attempt="a4")
    assert await second.reserve(PERSON, "licensing", date(2026, 12, 1), attempt="a5")
    # Per-process guards (the old way) would have let the second worker take it again.
    local = [LocalRatingGuard(RatingGuard(1)), LocalRatingGuard(RatingGuard(1))]
    assert await local[0].reserve(PERSON, "licensing", DAY, attempt="a6")
    assert await local[1].reserve(PERSON, "licensing", DAY, attempt="a7")


async def test_racing_workers_take_the_last_rating_once(redis: Redis, prefix: str) -> None:
    workers = [_worker(redis, prefix, limit=2) for _ in range(4)]
    results = await asyncio.gather(
        *(
            w.reserve(PERSON, "licensing", DAY, attempt=f"{id(w)}-{i}")
            for w in workers
            for i in range(3)
        )
    )
    assert results.count(True) == 2


async def test_a_rating_given_back_after_a_failed_write_can_be_taken_again(
    redis: Redis, prefix: str
) -> None:
    first, second = _worker(redis, prefix), _worker(redis, prefix)
    assert await first.reserve(PERSON, "licensing", DAY, attempt="a8")
    await first.release(PERSON, "licensing", DAY, attempt="a8")
    assert await second.reserve(PERSON, "licensing", DAY, attempt="a9")


async def test_redis_holds_no_ids_and_forgets_within_two_days(redis: Redis, prefix: str) -> None:
    guard = _worker(redis, prefix)
    assert await guard.reserve(PERSON, "licensing", DAY, attempt="a10")
    names = [name async for name in redis.scan_iter(match=f"{prefix}:*")]
    assert len(names) == 2  # the day's secret and one counter
    for name in names:
        assert str(PERSON).encode() not in name and b"licensing" not in name
        assert 0 < await redis.ttl(name) <= 2 * 86400
        if await redis.type(name) == b"hash":
            fields = await redis.hgetall(name)
            value = repr(sorted(fields.items())).encode()
        else:
            value = repr(await redis.get(name)).encode()
        assert value and str(PERSON).encode() not in value
        assert b"a10" not in value  # the attempt (the dialog's nonce) is keyed too
    # The key is not the pepper's alone: without the day's secret nobody recomputes it.
    other_day_secret = SharedRatingGuard(
        1, RedisRatingCounters(redis, prefix=prefix + "x"), PEPPER
    )
    assert await other_day_secret.reserve(PERSON, "licensing", DAY, attempt="a11")
    async for key in redis.scan_iter(match=f"{prefix}x:*"):
        await redis.delete(key)


async def test_an_attempt_cut_off_before_its_store_takes_its_rating_again(
    redis: Redis, prefix: str
) -> None:
    """A worker reserved the rating for a dialog and was killed before the store and the
    release: the same dialog's redelivered last answer, on another worker, takes it again;
    another dialog is refused, and the count stays one."""
    dying, other = _worker(redis, prefix), _worker(redis, prefix)
    assert await dying.reserve(PERSON, "licensing", DAY, attempt="A")
    # killed here: no save, no release
    assert await other.reserve(PERSON, "licensing", DAY, attempt="A")
    assert not await other.reserve(PERSON, "licensing", DAY, attempt="B")
    assert not await other.may_rate(PERSON, "licensing", DAY)
    # A failed store gives back only its own attempt's rating.
    await other.release(PERSON, "licensing", DAY, attempt="B")
    assert not await dying.reserve(PERSON, "licensing", DAY, attempt="C")
    await other.release(PERSON, "licensing", DAY, attempt="A")
    assert await dying.may_rate(PERSON, "licensing", DAY)
    assert [name async for name in redis.scan_iter(match=f"{prefix}:{DAY.isoformat()}:*")] == []
    # With a limit of two a repeated attempt counts once.
    two = _worker(redis, prefix, limit=2)
    assert await two.reserve(PERSON, "permits", DAY, attempt="A")
    assert await two.reserve(PERSON, "permits", DAY, attempt="A")
    assert await two.reserve(PERSON, "permits", DAY, attempt="B")
    assert not await two.reserve(PERSON, "permits", DAY, attempt="C")


async def test_a_count_kept_before_attempts_still_counts(redis: Redis, prefix: str) -> None:
    """A key written by the previous version (an INCR counter) during an upgrade: its
    ratings stay taken, and are counted with the new attempts."""
    counters = RedisRatingCounters(redis, prefix=prefix)
    key = b"k" * 16
    name = f"{prefix}:{DAY.isoformat()}:{key.hex()}"
    await redis.set(name, 1, ex=3600)
    assert await counters.taken(DAY, key) == 1
    assert not await counters.take(DAY, key, 1, b"new")
    assert await counters.take(DAY, key, 2, b"new")
    assert await counters.taken(DAY, key) == 2


async def test_after_the_minute_touch_redis_times_tell_no_order_of_ratings(
    redis: Redis, prefix: str
) -> None:
    """The attack (review): with Redis (the day secret is there) and the pepper, an
    attacker recomputes the guard keys of candidate people, orders them by when their key
    was written (OBJECT IDLETIME; PTTL/EXPIRETIME, an expiry counted from the completion)
    and pairs them with the day's responses in heap order. Three people rate seconds apart;
    every key expires at the same whole second, and after the scheduler's minute touch
    neither clock tells them apart."""
    guard = _worker(redis, prefix)
    today = datetime.now(UTC).date()
    people = [PERSON, PERSON + 1, PERSON + 2]  # in the order they completed
    for n, person in enumerate(people):
        if n:
            await asyncio.sleep(1.1)  # Redis keeps idle times in whole seconds
        assert await guard.reserve(person, "licensing", today, attempt=f"dialog-{n}")
    names = [name async for name in redis.scan_iter(match=f"{prefix}:{today.isoformat()}:*")]
    assert len(names) == 3
    secret = f"{prefix}:secret:{today.isoformat()}"
    end = datetime.combine(today + timedelta(days=2), time(), tzinfo=UTC)
    expiries = {await redis.pexpiretime(name) for name in [*names, secret]}
    assert expiries == {int(end.timestamp()) * 1000}
    assert await guard.touch() == 4  # what the scheduler's job does every minute
    async with redis.pipeline(transaction=True) as pipe:  # one instant for every reading
        for name in names:
            pipe.object("idletime", name)
            pipe.pttl(name)
            pipe.expiretime(name)
        readings = await pipe.execute()
    idle, ttl, expiry = readings[0::3], readings[1::3], readings[2::3]
    assert len(set(idle)) == 1
    assert len(set(ttl)) == 1 and ttl[0] > 0
    assert len(set(expiry)) == 1
    # The in-memory guard has nothing outside the process to touch.
    assert await LocalRatingGuard(RatingGuard(1)).touch() == 0


async def test_a_day_already_past_lasts_a_second_not_none(redis: Redis, prefix: str) -> None:
    counters = RedisRatingCounters(redis, prefix=prefix)
    old = datetime.now(UTC).date() - timedelta(days=5)
    assert await counters.take(old, b"o" * 16, 1, b"A")
    assert 0 < await redis.pttl(f"{prefix}:{old.isoformat()}:{(b'o' * 16).hex()}") <= 2000


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
