"""The pacer in virtual time: global rate, catch-up without bursts, per-chat gap, 429 pauses."""

from __future__ import annotations

import asyncio

import pytest

from services.broadcast import BroadcastLimits, _Pacer
from tests.broadcast.conftest import VirtualTime, max_in_window


def _min_span(times: list[float], sends: int = 31) -> float:
    return min(times[i + sends - 1] - times[i] for i in range(len(times) - sends + 1))


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
    assert max_in_window(times) <= 30


async def test_late_wakeups_are_caught_up_without_a_burst() -> None:
    # Every sleep overruns by up to 5 ms (a busy loop; an idle one overruns by well under 1).
    time = VirtualTime(oversleep=0.005, seed=1)
    pacer = _Pacer(BroadcastLimits(global_rate=29), time.clock, time.sleep)
    times = await time.run(_grants(pacer, time, list(range(2_000))))
    assert (len(times) - 1) / (times[-1] - times[0]) > 28.8
    assert max_in_window(times) <= 30
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
