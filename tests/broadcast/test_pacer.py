"""The pacer in virtual time: global rate, catch-up without bursts, per-chat gap, 429 pauses."""

from __future__ import annotations

import asyncio
import heapq
import itertools
import random
from bisect import bisect_left
from collections.abc import Awaitable
from typing import TypeVar

import pytest

from services.broadcast import BroadcastLimits, _Pacer

T = TypeVar("T")


class VirtualTime:
    """Simulated time: sleepers wake in order of their deadlines, and the clock jumps there.

    ``oversleep`` makes every wake-up late by up to that many seconds, as on a busy event loop.
    """

    def __init__(self, oversleep: float = 0.0, seed: int = 0) -> None:
        self.now = 1000.0
        self.stalls: dict[int, float] = {}  # n-th sleep -> extra seconds (the process stalled)
        self._sleeps = 0
        self._oversleep = oversleep
        self._random = random.Random(seed)
        self._sleepers: list[tuple[float, int, asyncio.Future[None]]] = []
        self._order = itertools.count()

    def clock(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        deadline = self.now + max(0.0, seconds) + self._random.uniform(0, self._oversleep)
        deadline += self.stalls.get(self._sleeps, 0.0)
        self._sleeps += 1
        future = asyncio.get_running_loop().create_future()
        heapq.heappush(self._sleepers, (deadline, next(self._order), future))
        await future

    async def run(self, work: Awaitable[T]) -> T:
        """Run ``work``, advancing the clock whenever every task is asleep."""
        task = asyncio.ensure_future(work)
        while not task.done():
            for _ in range(50):  # let everything runnable run before time moves
                await asyncio.sleep(0)
            if self._sleepers and not task.done():
                deadline, _, future = heapq.heappop(self._sleepers)
                self.now = max(self.now, deadline)
                future.set_result(None)
        return task.result()


def _min_span(times: list[float], sends: int = 31) -> float:
    return min(times[i + sends - 1] - times[i] for i in range(len(times) - sends + 1))


def _max_in_window(times: list[float], window: float = 1.0) -> int:
    return max(bisect_left(times, start + window) - index for index, start in enumerate(times))


async def _grants(pacer: _Pacer, time: VirtualTime, chats: list[int]) -> list[float]:
    times = []
    for chat in chats:
        await pacer.acquire(chat)
        times.append(time.now)
    return times


async def test_slots_keep_the_rate_and_never_exceed_30_in_any_second() -> None:
    time = VirtualTime()
    pacer = _Pacer(BroadcastLimits(global_rate=29), time.clock, time.sleep)
    times = await time.run(_grants(pacer, time, list(range(600))))
    assert (len(times) - 1) / (times[-1] - times[0]) == pytest.approx(29, rel=1e-3)
    assert _max_in_window(times) <= 30


async def test_late_wakeups_are_caught_up_without_a_burst() -> None:
    # Every sleep overruns by up to 5 ms (a busy loop; an idle one overruns by well under 1).
    time = VirtualTime(oversleep=0.005, seed=1)
    pacer = _Pacer(BroadcastLimits(global_rate=29), time.clock, time.sleep)
    times = await time.run(_grants(pacer, time, list(range(2_000))))
    assert (len(times) - 1) / (times[-1] - times[0]) > 28.8
    assert _max_in_window(times) <= 30
    assert _min_span(times) >= 30 / 29 - 1e-9


async def test_catching_up_after_a_stall_keeps_any_31_sends_over_30_intervals() -> None:
    time = VirtualTime(oversleep=0.002, seed=2)
    for n in (100, 400, 401, 900):
        time.stalls[n] = 0.08  # the process was descheduled for 80 ms
    pacer = _Pacer(BroadcastLimits(global_rate=29), time.clock, time.sleep)
    times = await time.run(_grants(pacer, time, list(range(1_200))))
    # 34 ms of jitter between us and the API still leaves every 31 sends over a second apart.
    assert _min_span(times) >= 30 / 29 - 1e-9
    assert (len(times) - 1) / (times[-1] - times[0]) > 28.7


async def test_a_pause_holds_every_slot_until_it_ends() -> None:
    time = VirtualTime()
    pacer = _Pacer(BroadcastLimits(global_rate=29), time.clock, time.sleep)
    await time.run(_grants(pacer, time, [1, 2, 3]))
    paused_at = time.now
    pacer.pause(3)
    pacer.pause(1)  # a shorter pause never shortens the one in force
    times = await time.run(_grants(pacer, time, [4, 5]))
    assert times[0] >= paused_at + 3
    assert times[1] - times[0] >= 1 / 29 - 1e-9


async def test_one_chat_waits_its_gap_while_other_chats_go_on() -> None:
    time = VirtualTime()
    pacer = _Pacer(BroadcastLimits(global_rate=29, per_chat_interval=1.05), time.clock, time.sleep)
    granted: dict[int, list[float]] = {}

    async def take(chat: int) -> None:
        await pacer.acquire(chat)
        granted.setdefault(chat, []).append(time.now)

    await time.run(take(7))
    await time.run(asyncio.gather(take(7), *(take(chat) for chat in range(100, 110))))
    first, second = granted[7]
    assert second - first >= 1.05 - 1e-9
    assert max(times[0] for chat, times in granted.items() if chat != 7) < first + 1.0
