"""The real `python -m bot run` process in webhook mode (issue 14 item 1): the test plays
Telegram, posting the emulator's updates to the bot's web server, each of them twice."""

from __future__ import annotations

import asyncio
import contextlib
import os
import random
import signal
import socket
import time
from collections import Counter
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import aiohttp
import pytest

from tests.botapi.emulator import BotApiEmulator, EmulatedUser
from tests.e2e.conftest import (
    READY_TIMEOUT_S,
    BotLauncher,
    BotProcess,
    press,
    read_rows,
    wait_for_button,
    wait_for_message,
)

pytestmark = pytest.mark.e2e

SECRET = "e2e-webhook-secret_0123456789"
HEADER = "X-Telegram-Bot-Api-Secret-Token"
THANKS_RU = "Спасибо! Обобщённые результаты"
#: Fresh per run: Redis (db 15) is shared by runs, and update ids restart at 1 in each.
BOT_ID = random.randrange(10**8, 10**9)
ANNA = random.randrange(10**9, 2 * 10**9)
REDIS = os.environ.get("OTKLIK_TEST_REDIS_URL", "redis://127.0.0.1:6379/15")


@pytest.fixture
async def api() -> AsyncIterator[BotApiEmulator]:
    async with BotApiEmulator(token=f"{BOT_ID}:E2E-WEBHOOK-TOKEN") as emulator:
        yield emulator


async def start_worker(launcher: BotLauncher, **settings: str) -> tuple[BotProcess, str]:
    """A bot process in webhook mode on a port of its own; returns once it set the webhook."""
    port = free_port()
    url = f"http://127.0.0.1:{port}/telegram/updates-e2e"
    bot = await launcher.spawn(
        launcher.env(
            BOT__WEBHOOK_URL=url,
            BOT__WEBHOOK_SECRET=SECRET,
            WEB__ENABLED="true",
            WEB__PORT=str(port),
            **settings,
        )
    )
    deadline = time.monotonic() + READY_TIMEOUT_S
    while not launcher.api.calls("setWebhook", url=url):
        if bot.returncode is not None or time.monotonic() > deadline:
            pytest.fail(f"bot did not set its webhook:\n{bot.log_text()}")
        await asyncio.sleep(0.05)
    return bot, url


async def dialog(anna: EmulatedUser) -> None:
    """The post-service rating to its end: six updates, five of them button presses."""
    await anna.send_text("/start licensing_office")
    first = await wait_for_message(anna, "Вопрос 1 из")
    await press(anna, "3", "Ваш вопрос решён?")
    await press(anna, "Нет", "Что помешало?")
    await anna.click("Долго ждать результата")
    await wait_for_button(anna, "☑️ Долго ждать результата")
    await press(anna, "Готово", "Сколько раз вы обращались")
    await press(anna, "2", "Что пошло не так?")
    await anna.send_text("Долго ждала")
    thanks = await wait_for_message(anna, THANKS_RU)
    assert thanks.message_id > first.message_id


def assert_handled_once(api: BotApiEmulator, sender: Telegram, anna: EmulatedUser) -> None:
    """Every update delivered twice and acknowledged both times, handled once: each press
    answered once, one thanks, and (checked by the caller) one response."""
    assert sender.statuses[200] == 2 * len(sender.delivered)
    presses = [u["callback_query"]["id"] for u in sender.delivered if "callback_query" in u]
    answers = api.calls("answerCallbackQuery")
    answered = Counter(call.params["callback_query_id"] for call in answers)
    assert len(presses) == 5 and all(answered[press_id] == 1 for press_id in presses)
    sent = [call for call in api.calls("sendMessage") if call.params["chat_id"] == anna.id]
    assert sum(THANKS_RU in str(call.params.get("text", "")) for call in sent) == 1


def free_port() -> int:
    with contextlib.closing(socket.socket()) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@dataclass
class Telegram:
    """Delivers the emulator's updates to the webhook as Telegram does, retrying a 503, and
    then delivers each one again (a late acknowledgement makes Telegram repeat it)."""

    api: BotApiEmulator
    http: aiohttp.ClientSession
    urls: list[str]
    statuses: Counter[int] = field(default_factory=Counter)
    delivered: list[dict[str, Any]] = field(default_factory=list)
    closing: bool = False

    async def post(
        self, update: dict[str, Any], secret: str | None = SECRET, worker: int = 0
    ) -> int:
        headers = {} if secret is None else {HEADER: secret}
        url = self.urls[worker % len(self.urls)]
        async with self.http.post(url, json=update, headers=headers) as response:
            return response.status

    async def deliver(self, update: dict[str, Any], worker: int) -> None:
        for _attempt in range(100):
            status = await self.post(update, worker=worker)
            self.statuses[status] += 1
            if status == 200:
                return
            await asyncio.sleep(0.05)
        raise AssertionError(f"update {update['update_id']} never acknowledged")

    async def run(self) -> None:
        while True:
            updates = self.api.take_updates()
            if not updates and self.closing:
                return
            for update in updates:
                # With several workers the repeat goes to another one, as behind a balancer.
                worker = len(self.delivered)
                await self.deliver(update, worker)
                await self.deliver(update, worker + 1)  # acknowledged, not handled again
                self.delivered.append(update)
            await asyncio.sleep(0.01)


@contextlib.asynccontextmanager
async def telegram(api: BotApiEmulator, *urls: str) -> AsyncIterator[Telegram]:
    async with aiohttp.ClientSession() as http:
        sender = Telegram(api, http, list(urls))
        task = asyncio.create_task(sender.run())
        try:
            yield sender
        finally:
            sender.closing = True  # what was sent is delivered (twice) before it stops
            await task


async def test_webhook_mode_checks_the_secret_and_handles_each_update_once(
    api: BotApiEmulator, launcher: BotLauncher
) -> None:
    bot, url = await start_worker(launcher)
    [set_call] = api.calls("setWebhook")
    assert set_call.params["secret_token"] == SECRET
    assert set_call.params["drop_pending_updates"] is False
    assert "callback_query" in set_call.params["allowed_updates"]
    assert api.calls("getUpdates") == []  # no polling beside the webhook

    anna = api.user(ANNA, "Анна", username="anna_hook", language_code="ru")
    mallory = api.user(ANNA + 1, "Mallory", language_code="ru")
    # Someone who found the URL but not the secret: refused, nothing handled.
    await mallory.send_text("/start licensing_office")
    [forged] = api.take_updates()
    async with telegram(api, url) as sender:
        assert await sender.post(forged, secret=None) == 401
        assert await sender.post(forged, secret="guess") == 401
        await dialog(anna)

    assert_handled_once(api, sender, anna)
    [response] = read_rows(launcher.db_path, "responses")
    assert (response["service_code"], response["channel_code"]) == ("licensing", "office")
    assert api.history(mallory.id)[1:] == []  # the bot never wrote to the forger

    assert await bot.stop() == 0
    log = bot.log_text()
    assert "serves the webhook" in log and "Traceback" not in log
    assert "dialog state in the database, webhook, web front" in log  # the start-up line
    assert SECRET not in log and str(anna.id) not in log and "anna_hook" not in log


@pytest.mark.redis
async def test_two_webhook_workers_on_redis_handle_an_update_repeated_to_the_other_once(
    api: BotApiEmulator, launcher: BotLauncher
) -> None:
    """Each update goes to one worker and its repeat to the other: the Redis ledger lets only
    one handle it (per-process memory would let both: two thanks, presses answered twice)."""
    one, first_url = await start_worker(launcher, FSM__REDIS_URL=REDIS)
    two, second_url = await start_worker(launcher, FSM__REDIS_URL=REDIS)
    anna = api.user(ANNA, "Анна", language_code="ru")
    async with telegram(api, first_url, second_url) as sender:
        await dialog(anna)

    assert_handled_once(api, sender, anna)
    assert len(read_rows(launcher.db_path, "responses")) == 1
    assert await one.stop() == 0 and await two.stop() == 0
    for bot in (one, two):
        assert "Traceback" not in bot.log_text()


async def test_sigterm_lets_an_acknowledged_update_finish_before_the_process_ends(
    api: BotApiEmulator, launcher: BotLauncher
) -> None:
    """Acknowledged at once (BOT__WEBHOOK_ACK_SECONDS=0) and still being handled when SIGTERM
    comes: the process waits for it, so the person gets the first question."""
    bot, url = await start_worker(launcher, BOT__WEBHOOK_ACK_SECONDS="0")
    anna = api.user(ANNA, "Анна", language_code="ru")
    api.hold_next("sendMessage")  # the update hangs on its first reply
    await anna.send_text("/start licensing_office")
    [start] = api.take_updates()
    async with aiohttp.ClientSession() as http:
        sender = Telegram(api, http, [url])
        assert await sender.post(start) == 200
    await api.wait_for_request("sendMessage", ok=None)
    bot.process.send_signal(signal.SIGTERM)
    deadline = time.monotonic() + READY_TIMEOUT_S
    while "Stopping: the web server takes no more updates" not in bot.log_text():
        assert bot.returncode is None and time.monotonic() < deadline, bot.log_text()
        await asyncio.sleep(0.05)
    api.release_held()  # the reply fails once with 500 and is repeated (bot/retry.py)
    async with asyncio.timeout(READY_TIMEOUT_S):
        assert await bot.process.wait() == 0
    await wait_for_message(anna, "Вопрос 1 из")
