"""Dialog state in Redis under load (issue 9): a burst of dialogs waits for a connection from
a bounded pool instead of failing with MaxConnectionsError."""

from __future__ import annotations

from pathlib import Path

import pytest
from redis.asyncio import BlockingConnectionPool, Redis
from redis.exceptions import RedisError

from bench.load_bench import run_load, scratch_database
from storage.fsm_redis import create_redis_storage
from tests.storage.test_fsm_redis import PEPPER, TTL, redis_unavailable, redis_url

pytestmark = pytest.mark.redis


@pytest.fixture
async def reachable_redis() -> str:
    client = Redis.from_url(redis_url())
    try:
        await client.ping()
    except (OSError, RedisError) as error:
        redis_unavailable(error)
    finally:
        await client.aclose()
    return redis_url()


async def test_thousand_simultaneous_dialogs_on_redis_all_complete(
    reachable_redis: str, tmp_path: Path
) -> None:
    """Regression: 300 simultaneous /start gave 200 "Что-то пошло не так" on redis-py's
    default pool. Eight connections for a thousand people now only make them wait."""
    async with scratch_database("sqlite", "") as url:
        result = await run_load(
            "redis",
            1000,
            db_url=url,
            redis_url=reachable_redis,
            redis_max_connections=8,
            # Waiting is the point; a loaded test machine must not turn it into a failure.
            redis_pool_timeout=120.0,
        )
    assert result.errors == []
    assert (result.completed, result.stored) == (1000, 1000), result.summary()


def test_the_storage_pool_is_bounded_and_blocking() -> None:
    storage = create_redis_storage(
        "redis://127.0.0.1:6379/15", PEPPER, TTL, max_connections=7, pool_timeout=3.0
    )
    pool = storage.redis.connection_pool
    assert isinstance(pool, BlockingConnectionPool)
    assert (pool.max_connections, pool.timeout) == (7, 3.0)
