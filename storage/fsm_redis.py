"""aiogram RedisStorage whose key names carry a keyed hash instead of Telegram ids."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import timedelta
from typing import Final, Literal

from aiogram.fsm.storage.base import BaseEventIsolation, KeyBuilder, StorageKey
from aiogram.fsm.storage.redis import RedisStorage
from redis.asyncio import BlockingConnectionPool, Redis
from redis.asyncio.lock import Lock
from redis.exceptions import LockError

from storage.fsm import storage_key_digest, validate_pepper

logger = logging.getLogger(__name__)


class HashedKeyBuilder(KeyBuilder):
    """Builds ``{prefix}:{hmac}:{part}``: every part of the storage key hashed with the pepper."""

    def __init__(self, pepper: bytes, *, prefix: str = "fsm") -> None:
        validate_pepper(pepper)
        self.pepper = pepper
        self.prefix = prefix

    def build(
        self,
        key: StorageKey,
        part: Literal["data", "state", "lock"] | None = None,
    ) -> str:
        digest = storage_key_digest(key, self.pepper)
        return f"{self.prefix}:{digest}:{part}" if part else f"{self.prefix}:{digest}"


DEFAULT_MAX_CONNECTIONS: Final = 50
DEFAULT_POOL_TIMEOUT_S: Final = 10.0


def create_redis_storage(
    url: str,
    pepper: bytes,
    ttl: timedelta,
    *,
    max_connections: int = DEFAULT_MAX_CONNECTIONS,
    pool_timeout: float = DEFAULT_POOL_TIMEOUT_S,
) -> RedisStorage:
    """A RedisStorage at ``url`` with anonymous key names; state and data expire after ``ttl``.

    Connections come from a bounded pool that makes a caller wait (up to ``pool_timeout``
    seconds) for a free connection: redis-py's default pool raises ``MaxConnectionsError``
    as soon as its limit is reached, which turned a burst of /start into errors.
    """
    pool = BlockingConnectionPool.from_url(
        url, max_connections=max_connections, timeout=pool_timeout
    )
    # The same builder serves storage.create_isolation(), so lock names are hashed too.
    return RedisStorage(
        Redis(connection_pool=pool),
        key_builder=HashedKeyBuilder(pepper),
        state_ttl=ttl,
        data_ttl=ttl,
    )


#: A person's update lock outlives nothing by more than this once its worker died.
LOCK_TIMEOUT_S: Final = 15.0


class RenewedLockIsolation(BaseEventIsolation):
    """One update per person at a time across processes, like aiogram's RedisEventIsolation,
    but its lock lives ``timeout`` seconds and is renewed every third of it while held: a
    worker killed mid-update frees the person within seconds (aiogram's fixed 60 s lock kept
    them waiting a minute), and a slow update (an officer's report) keeps its lock."""

    def __init__(
        self, redis: Redis, key_builder: KeyBuilder, *, timeout: float = LOCK_TIMEOUT_S
    ) -> None:
        self._redis = redis
        self._key_builder = key_builder
        self._timeout = timeout

    @asynccontextmanager
    async def lock(self, key: StorageKey) -> AsyncIterator[None]:
        name = self._key_builder.build(key, "lock")
        lock = self._redis.lock(name, timeout=self._timeout, lock_class=Lock)
        await lock.acquire()
        keeper = asyncio.get_running_loop().create_task(self._keep(lock))
        try:
            yield None
        finally:
            keeper.cancel()
            with contextlib.suppress(LockError):
                await lock.release()

    async def _keep(self, lock: Lock) -> None:
        while True:
            await asyncio.sleep(self._timeout / 3)
            try:
                await lock.reacquire()
            except LockError:  # lost (expired meanwhile): nothing left to renew
                return
            except Exception as error:
                logger.warning("Update lock not renewed: %s", type(error).__name__)

    async def close(self) -> None:
        pass
