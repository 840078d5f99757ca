"""The real `python -m bot run` process in webhook mode (issue 14 item 1): the test plays
Telegram, posting the emulator's updates to the bot's web server, each of them twice."""

from __future__ import annotations

import asyncio
import contextlib
import socket
from collections import Counter
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import aiohttp
import pytest

from tests.botapi.emulator import BotApiEmulator
from tests.e2e.conftest import (
    READY_TIMEOUT_S,
    BotLauncher,
    press,
    read_rows,
    wait_for_button,
    wait_for_message,
)

pytestmark = pytest.mark.e2e

SECRET = "e2e-webhook-secret_0123456789"
HEADER = "X-Telegram-Bot-Api-Secret-Token"
THANKS_RU = "Спасибо! Обобщённые результаты"


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
    url: str
    statuses: Counter[int] = field(default_factory=Counter)
    delivered: list[dict[str, Any]] = field(default_factory=list)
    closing: bool = False

    async def post(self, update: dict[str, Any], secret: str | None = SECRET) -> int:
        headers = {} if secret is None else {HEADER: secret}
        async with self.http.post(self.url, json=update, headers=headers) as response:
            return response.status

    async def deliver(self, update: dict[str, Any]) -> None:
        for _attempt in range(100):
            status = await self.post(update)
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
                await self.deliver(update)
                await self.deliver(update)  # the repeat: acknowledged, not handled again
                self.delivered.append(update)
            await asyncio.sleep(0.01)


@contextlib.asynccontextmanager
async def telegram(api: BotApiEmulator, url: str) -> AsyncIterator[Telegram]:
    async with aiohttp.ClientSession() as http:
        sender = Telegram(api, http, url)
        task = asyncio.create_task(sender.run())
        try:
            yield sender
        finally:
            sender.closing = True  # what was sent is delivered (twice) before it stops
            await task


async def test_webhook_mode_checks_the_secret_and_handles_each_update_once(
    api: BotApiEmulator, launcher: BotLauncher
) -> None:
    port = free_port()
    url = f"http://127.0.0.1:{port}/telegram/updates-e2e"
    bot = await launcher.spawn(
        launcher.env(
            BOT__WEBHOOK_URL=url,
            BOT__WEBHOOK_SECRET=SECRET,
            WEB__ENABLED="true",
            WEB__PORT=str(port),
        )
    )
    set_call = await api.wait_for_request("setWebhook", timeout=READY_TIMEOUT_S)
    assert set_call.params["url"] == url
    assert set_call.params["secret_token"] == SECRET
    assert set_call.params["drop_pending_updates"] is False
    assert "callback_query" in set_call.params["allowed_updates"]
    assert api.calls("getUpdates") == []  # no polling beside the webhook

    anna = api.user(7770000201, "Анна", username="anna_hook", language_code="ru")
    mallory = api.user(7770000202, "Mallory", language_code="ru")
    # Someone who found the URL but not the secret: refused, nothing handled.
    await mallory.send_text("/start licensing_office")
    [forged] = api.take_updates()
    async with telegram(api, url) as sender:
        assert await sender.post(forged, secret=None) == 401
        assert await sender.post(forged, secret="guess") == 401

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

    # Every update was delivered twice and acknowledged both times; handled once: one
    # response, each press answered once, and no question asked twice.
    assert sender.statuses[200] == 2 * len(sender.delivered)
    [response] = read_rows(launcher.db_path, "responses")
    assert (response["service_code"], response["channel_code"]) == ("licensing", "office")
    presses = [u["callback_query"]["id"] for u in sender.delivered if "callback_query" in u]
    answered = Counter(
        call.params["callback_query_id"] for call in api.calls("answerCallbackQuery")
    )
    assert len(presses) == 5 and all(answered[press_id] == 1 for press_id in presses)
    sent = [call for call in api.calls("sendMessage") if call.params["chat_id"] == anna.id]
    texts = [str(call.params.get("text", "")) for call in sent]
    assert sum(THANKS_RU in text for text in texts) == 1
    assert api.history(mallory.id)[1:] == []  # the bot never wrote to the forger

    assert await bot.stop() == 0
    log = bot.log_text()
    assert "serves the webhook" in log and "Traceback" not in log
    assert SECRET not in log and str(anna.id) not in log and "anna_hook" not in log
