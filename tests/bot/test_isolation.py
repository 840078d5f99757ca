"""The in-process per-person lock (bot.isolation): one update of a person at a time, and a
person's lock freed when nobody holds or waits for it, so memory does not grow with everyone
ever seen (a process without Redis: the Telegram dispatcher, the MAX poller and webhook)."""

from __future__ import annotations

import asyncio

import pytest
from aiogram.fsm.storage.base import StorageKey

from bot.isolation import FreedLockIsolation


def _key(person: int) -> StorageKey:
    return StorageKey(-1, person, person)


async def test_after_many_distinct_persons_no_lock_is_left() -> None:
    isolation = FreedLockIsolation()
    seen: list[int] = []

    async def update(person: int) -> None:
        async with isolation.lock(_key(person)):
            await asyncio.sleep(0)
            seen.append(person)

    await asyncio.gather(*(update(person) for person in range(500)))
    assert sorted(seen) == list(range(500))
    assert isolation.size == 0


async def test_one_person_s_updates_are_still_handled_one_at_a_time() -> None:
    isolation = FreedLockIsolation()
    busy = 0
    overlapped = False
    order: list[int] = []

    async def update(number: int) -> None:
        nonlocal busy, overlapped
        async with isolation.lock(_key(7)):
            busy += 1
            overlapped = overlapped or busy > 1
            await asyncio.sleep(0.001)
            order.append(number)
            busy -= 1

    tasks = [asyncio.create_task(update(number)) for number in range(20)]
    await asyncio.sleep(0)
    assert isolation.size == 1  # one lock for the person, however many wait
    await asyncio.gather(*tasks)
    assert order == list(range(20)) and not overlapped
    assert isolation.size == 0


async def test_a_waiter_cancelled_or_failing_frees_the_lock_too() -> None:
    isolation = FreedLockIsolation()
    release = asyncio.Event()

    async def holder() -> None:
        async with isolation.lock(_key(1)):
            await release.wait()

    async def failing() -> None:
        async with isolation.lock(_key(1)):
            raise RuntimeError("handler broke")

    held = asyncio.create_task(holder())
    await asyncio.sleep(0)
    waiter = asyncio.create_task(holder())
    broken = asyncio.create_task(failing())
    await asyncio.sleep(0)
    waiter.cancel()
    with pytest.raises(asyncio.CancelledError):
        await waiter
    assert isolation.size == 1  # the holder and the failing one still count
    release.set()
    await held
    with pytest.raises(RuntimeError):
        await broken
    assert isolation.size == 0


async def test_closing_while_a_lock_is_held_gives_nobody_a_second_lock() -> None:
    # aiogram closes the isolation at shutdown while a handler may still hold a lock.
    isolation = FreedLockIsolation()
    release = asyncio.Event()
    inside = 0
    most = 0
    errors: list[BaseException] = []

    async def update() -> None:
        nonlocal inside, most
        try:
            async with isolation.lock(_key(3)):
                inside += 1
                most = max(most, inside)
                await release.wait()
                inside -= 1
        except BaseException as error:  # a KeyError at release would end up here
            errors.append(error)

    first = asyncio.create_task(update())
    await asyncio.sleep(0)
    await isolation.close()
    second = asyncio.create_task(update())
    await asyncio.sleep(0.01)
    release.set()
    await asyncio.gather(first, second)
    assert (most, errors) == (1, [])
    assert isolation.size == 0
