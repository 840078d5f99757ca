"""aiogram RedisStorage whose key names carry a keyed hash instead of Telegram ids."""

from __future__ import annotations

import logging
from datetime import timedelta
from typing import Final, Literal

from aiogram.fsm.storage.base import KeyBuilder, StorageKey
from aiogram.fsm.storage.redis import RedisStorage
from redis.asyncio import BlockingConnectionPool, Redis

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
