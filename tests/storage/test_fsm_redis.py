"""Redis FSM storage: key names carry a keyed hash, never a Telegram id, and always expire."""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Final, NoReturn

import pytest
from aiogram.fsm.state import State, StatesGroup
from aiogram.fsm.storage.base import StorageKey
from aiogram.fsm.storage.redis import RedisStorage
from redis.asyncio import Redis
from redis.exceptions import RedisError

from storage.fsm import storage_key_digest
from storage.fsm_redis import HashedKeyBuilder, create_redis_storage

pytestmark = pytest.mark.redis

REDIS_URL_ENV: Final = "OTKLIK_TEST_REDIS_URL"
REDIS_SKIP_ENV: Final = "OTKLIK_SKIP_REDIS"
DEFAULT_REDIS_URL: Final = "redis://127.0.0.1:6379/15"

PEPPER = b"test-pepper-0123456789abcdef"
TTL = timedelta(hours=2)
BOT_ID = 4_242_424_242
CHAT_ID = 731_905_512_377
USER_ID = 986_124_307_551
THREAD_ID = 553_219_877
KEY = StorageKey(bot_id=BOT_ID, chat_id=CHAT_ID, user_id=USER_ID, thread_id=THREAD_ID)


class Poll(StatesGroup):
    answering = State()


def redis_url() -> str:
    return os.environ.get(REDIS_URL_ENV, DEFAULT_REDIS_URL)


def redis_unavailable(error: BaseException) -> NoReturn:
    """Fail loudly when Redis is down: a silent skip would hide the multi-process backend."""
    message = (
        f"Redis at {redis_url()} is unreachable ({type(error).__name__}: {error}). Start it, "
        f"point {REDIS_URL_ENV} at a server, or set {REDIS_SKIP_ENV}=1 to skip the Redis tests."
    )
    if os.environ.get(REDIS_SKIP_ENV) == "1":
        pytest.skip(message)
    pytest.fail(message, pytrace=False)


@pytest.fixture
async def redis() -> AsyncIterator[Redis]:
    client = Redis.from_url(redis_url())
    try:
        await client.ping()
    except (OSError, RedisError) as error:
        await client.aclose()
        redis_unavailable(error)
    try:
        yield client
    finally:
        await client.aclose()


@pytest.fixture
async def fsm(redis: Redis) -> AsyncIterator[tuple[RedisStorage, str]]:
    """A storage under a prefix private to the test (other runs may share the database)."""
    prefix = f"otklik-test-{uuid.uuid4().hex[:12]}"
    storage = create_redis_storage(redis_url(), PEPPER, TTL)
    assert isinstance(storage.key_builder, HashedKeyBuilder)
    storage.key_builder.prefix = prefix
    try:
        yield storage, prefix
    finally:
        await storage.close()
        names = [name async for name in redis.scan_iter(match=f"{prefix}:*")]
        if names:
            await redis.delete(*names)


async def _names(redis: Redis, prefix: str) -> list[str]:
    return sorted([name.decode() async for name in redis.scan_iter(match=f"{prefix}:*")])


async def test_state_and_data_round_trip(fsm: tuple[RedisStorage, str]) -> None:
    storage, _prefix = fsm
    await storage.set_state(KEY, Poll.answering)
    await storage.update_data(KEY, {"cursor": "q2", "text": "Очередь"})
    assert await storage.get_state(KEY) == "Poll:answering"
    assert await storage.get_data(KEY) == {"cursor": "q2", "text": "Очередь"}


async def test_key_names_hold_the_keyed_hash_and_no_raw_id(
    fsm: tuple[RedisStorage, str], redis: Redis
) -> None:
    storage, prefix = fsm
    await storage.set_state(KEY, Poll.answering)
    await storage.set_data(KEY, {"cursor": "q1"})
    async with storage.create_isolation().lock(KEY):
        names = await _names(redis, prefix)

    digest = storage_key_digest(KEY, PEPPER)
    assert names == [f"{prefix}:{digest}:{part}" for part in ("data", "lock", "state")]
    for name in names:
        for identity in (BOT_ID, CHAT_ID, USER_ID, THREAD_ID):
            assert str(identity) not in name


async def test_state_and_data_expire_after_the_ttl(
    fsm: tuple[RedisStorage, str], redis: Redis
) -> None:
    storage, prefix = fsm
    await storage.set_state(KEY, Poll.answering)
    await storage.set_data(KEY, {"cursor": "q1"})
    for name in await _names(redis, prefix):
        assert 0 < await redis.ttl(name) <= TTL.total_seconds()


def test_the_builder_refuses_a_short_pepper() -> None:
    with pytest.raises(ValueError, match="pepper"):
        HashedKeyBuilder(b"short")


def test_a_key_without_part_is_the_prefix_and_hash() -> None:
    builder = HashedKeyBuilder(PEPPER, prefix="fsm")
    assert builder.build(KEY) == f"fsm:{storage_key_digest(KEY, PEPPER)}"
