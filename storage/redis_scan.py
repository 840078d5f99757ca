"""One command over every Redis key matching a pattern, in batches (SCAN, then one multi-key
command per batch): how the participation and guard keys are deleted and touched."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Final

from redis.asyncio import Redis

#: Keys per SCAN step and per multi-key command: a round trip or two per this many keys.
SCAN_BATCH: Final = 500


async def each_batch(
    redis: Redis,
    match: str,
    command: Callable[..., Awaitable[int]],
    *,
    size: int = SCAN_BATCH,
) -> int:
    """Run ``command(*names)`` (``redis.delete``, ``redis.touch``) over the keys matching
    ``match``, ``size`` at a time; the sum of what it returned."""
    total = 0
    batch: list[bytes | str] = []
    async for name in redis.scan_iter(match=match, count=size):
        batch.append(name)
        if len(batch) >= size:
            total += int(await command(*batch))
            batch = []
    if batch:
        total += int(await command(*batch))
    return total
