"""Fixtures for the broadcast tests: migrated databases on both backends, the Bot API emulator."""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field

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
    started: list[tuple[float, int]] = field(default_factory=list)
    flood: list[tuple[float, int]] = field(default_factory=list)

    async def __call__(self, chat_id: int, text: str) -> None:
        number = len(self.started)
        self.started.append((time.monotonic(), chat_id))
        if (hook := self.before.get(number)) is not None:
            outcome = hook(chat_id)
            if outcome is not None:
                await outcome
        try:
            await self.send(chat_id, text)
        except TelegramRetryAfter as error:
            self.flood.append((time.monotonic(), error.retry_after))
            raise


@pytest.fixture
def port(bot: Bot) -> RecordingPort:
    return RecordingPort(telegram_sender(bot))


def delivered(api: BotApiEmulator) -> Counter[int]:
    """Messages each chat actually got (accepted sendMessage calls)."""
    return Counter(int(call.params["chat_id"]) for call in api.calls("sendMessage") if call.ok)
