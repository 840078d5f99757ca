"""Fixtures for the broadcast tests: migrated databases on both backends, the Bot API emulator."""

from __future__ import annotations

import asyncio
import heapq
import itertools
import random
import time
from bisect import bisect_left
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from typing import TypeVar

import pytest
from aiogram import Bot
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.telegram import TelegramAPIServer
from aiogram.exceptions import TelegramRetryAfter

from services.broadcast import SendPort, telegram_sender
from tests.botapi.emulator import BotApiEmulator
from tests.storage.conftest import database, engine, sessions

__all__ = ["database", "engine", "sessions"]  # the storage fixtures, on SQLite and PostgreSQL

TOKEN = "123456:TEST"
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


def max_in_window(times: list[float], window: float = 1.0) -> int:
    """The most moments of the sorted ``times`` that fall within one ``window`` (seconds)."""
    return max(bisect_left(times, start + window) - index for index, start in enumerate(times))


class Crash(BaseException):
    """Stands for the process dying inside a send: not an Exception, so nothing handles it."""


def make_bot(base_url: str, token: str = TOKEN) -> Bot:
    return Bot(token, session=AiohttpSession(api=TelegramAPIServer.from_base(base_url)))


@pytest.fixture
async def api() -> AsyncIterator[BotApiEmulator]:
    async with BotApiEmulator(token=TOKEN) as emulator:
        yield emulator


@pytest.fixture
async def bot(api: BotApiEmulator) -> AsyncIterator[Bot]:
    bot = make_bot(api.base_url)
    yield bot
    await bot.session.close()


@dataclass
class RecordingPort:
    """The production port over a real Bot, noting when each send started and each 429 came.

    ``before`` runs a hook just before the n-th send (0-based), e.g. to inject a failure.
    """

    send: SendPort
    before: dict[int, Callable[[int], Awaitable[None] | None]] = field(default_factory=dict)
    clock: Callable[[], float] = time.monotonic
    started: list[tuple[float, int]] = field(default_factory=list)
    flood: list[tuple[float, int]] = field(default_factory=list)

    async def __call__(self, chat_id: int, text: str) -> None:
        number = len(self.started)
        self.started.append((self.clock(), chat_id))
        if (hook := self.before.get(number)) is not None:
            outcome = hook(chat_id)
            if outcome is not None:
                await outcome
        try:
            await self.send(chat_id, text)
        except TelegramRetryAfter as error:
            self.flood.append((self.clock(), error.retry_after))
            raise


@pytest.fixture
def port(bot: Bot) -> RecordingPort:
    return RecordingPort(telegram_sender(bot))


def delivered(api: BotApiEmulator) -> Counter[int]:
    """Messages each chat actually got (accepted sendMessage calls)."""
    return Counter(int(call.params["chat_id"]) for call in api.calls("sendMessage") if call.ok)
