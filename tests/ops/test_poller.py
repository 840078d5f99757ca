"""The guarded poller (issue 14): a second poller on the same token refuses to start with a
clear message instead of fighting over getUpdates (409 Conflict)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from aiogram import Bot, Dispatcher
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.telegram import TelegramAPIServer
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.operations import poll
from bot.problems import Problem
from bot.settings import Settings
from storage.database import create_engine
from storage.migrate import upgrade_async
from tests.botapi.emulator import BotApiEmulator

TOKEN = "42:TEST"
SETTINGS = Settings(_env_file=None, scheduler={"lease_seconds": 6})


@pytest.fixture
async def api() -> AsyncIterator[BotApiEmulator]:
    async with BotApiEmulator(token=TOKEN) as emulator:
        yield emulator


BOTS: list[Bot] = []


def _bot(api: BotApiEmulator) -> Bot:
    bot = Bot(TOKEN, session=AiohttpSession(api=TelegramAPIServer.from_base(api.base_url)))
    BOTS.append(bot)
    return bot


@pytest.fixture(autouse=True)
async def _close_bots() -> AsyncIterator[None]:
    yield
    while BOTS:
        await BOTS.pop().session.close()


async def _polling(
    api: BotApiEmulator, engine: AsyncEngine, **kwargs: float
) -> tuple[Dispatcher, asyncio.Task[None]]:
    dispatcher = Dispatcher()
    seen = len(api.calls("getUpdates"))
    task = asyncio.create_task(poll(_bot(api), dispatcher, engine, SETTINGS, **kwargs))
    await api.wait_for_request("getUpdates", ok=None)
    assert len(api.calls("getUpdates")) > seen
    return dispatcher, task


async def _stop(dispatcher: Dispatcher, task: asyncio.Task[None]) -> None:
    await dispatcher.stop_polling()
    await asyncio.wait_for(task, timeout=15)


def _conflicts(api: BotApiEmulator) -> int:
    return sum(1 for call in api.calls("getUpdates") if call.status == 409)


@pytest.mark.parametrize("database", ["sqlite"], indirect=True)
async def test_a_second_poller_on_the_same_database_refuses_to_start(
    api: BotApiEmulator, engine: AsyncEngine
) -> None:
    dispatcher, first = await _polling(api, engine)
    polls = len(api.calls("getUpdates"))
    with pytest.raises(Problem) as refused:
        await poll(_bot(api), Dispatcher(), engine, SETTINGS)
    message = "\n".join(refused.value.lines)
    assert "not polling for @" in message and "another process polls" in message
    assert "webhook" in message  # and what to do instead
    assert len(api.calls("getUpdates")) == polls  # it never polled: nobody was cut off
    assert _conflicts(api) == 0 and not first.done()
    await _stop(dispatcher, first)
    # The lease went with the first poller: a new one starts at once.
    dispatcher, again = await _polling(api, engine)
    await _stop(dispatcher, again)
    assert _conflicts(api) == 0


@pytest.mark.parametrize("database", ["sqlite"], indirect=True)
async def test_a_second_poller_elsewhere_stops_at_its_first_conflict_and_the_first_goes_on(
    api: BotApiEmulator, engine: AsyncEngine, tmp_path: Path
) -> None:
    """Another database (another machine): only Telegram's 409 tells them apart."""
    other_url = f"sqlite+aiosqlite:///{tmp_path / 'other.db'}"
    await upgrade_async(other_url)
    other = create_engine(other_url)
    try:
        # The first has polled longer than its grace: it is the established poller.
        dispatcher, first = await _polling(api, engine, grace=0.0)
        with pytest.raises(Problem) as refused:
            await asyncio.wait_for(poll(_bot(api), Dispatcher(), other, SETTINGS), timeout=20)
        assert "409 Conflict" in "\n".join(refused.value.lines)
        fought = _conflicts(api)
        assert 1 <= fought <= 3  # one or two cut-off polls, not a fight
        await asyncio.sleep(1.5)  # the first keeps polling, undisturbed
        assert not first.done() and _conflicts(api) == fought
        user = api.user(5001)
        await user.send_text("/start")
        assert await _eventually_consumed(api)  # the first one took it
        await _stop(dispatcher, first)
    finally:
        await other.dispose()


async def _eventually_consumed(api: BotApiEmulator) -> bool:
    for _ in range(100):
        if api.pending_updates == 0:
            return True
        await asyncio.sleep(0.05)
    return False


@pytest.mark.parametrize("database", ["sqlite"], indirect=True)
async def test_polling_is_refused_while_a_webhook_is_set(
    api: BotApiEmulator, engine: AsyncEngine
) -> None:
    api.webhook_url = "https://bot.example.gov.ru/telegram"
    with pytest.raises(Problem) as refused:
        await poll(_bot(api), Dispatcher(), engine, SETTINGS)
    assert "a webhook is set" in "\n".join(refused.value.lines)
    assert api.calls("getUpdates") == []
