"""The real `python -m bot run` process in MAX webhook mode (MAX__WEBHOOK_URL) against the MAX
Bot API emulator: it subscribes its URL with the secret, never polls, completes a rating from
the updates MAX posts, drops a repeated delivery, refuses a forged one, and logs no MAX id."""

from __future__ import annotations

import aiohttp
import pytest

from tests.e2e.conftest import BotLauncher, BotProcess, read_rows
from tests.e2e.test_max_process import (
    ANNA,
    START_TIMEOUT_S,
    complete_rating,
    e2e_budget,
    max_api,
    max_env,
    max_user,
    scan_log,
    scan_tables,
    until,
)
from tests.e2e.test_webhook import free_port
from tests.maxapi.emulator import MaxApiEmulator

pytestmark = pytest.mark.e2e

__all__ = ["e2e_budget", "max_api"]  # the fixtures of the polling test, used here too

SECRET = "max-e2e-webhook-secret"


async def start_in_webhook_mode(
    launcher: BotLauncher, api: MaxApiEmulator, *, telegram: bool
) -> tuple[BotProcess, str]:
    """MAX (alone or beside Telegram's polling) with the web server; returns once the process
    subscribed its URL at MAX."""
    port = free_port()
    url = f"http://127.0.0.1:{port}/max/updates-e2e"
    env = max_env(launcher, api, telegram=telegram)
    env.update(
        MAX__WEBHOOK_URL=url,
        MAX__WEBHOOK_SECRET=SECRET,
        WEB__ENABLED="true",
        WEB__PORT=str(port),
    )
    bot = await launcher.spawn(env)
    await until(
        lambda: url in api.subscriptions,
        bot,
        timeout=START_TIMEOUT_S,
        what="POST /subscriptions",
    )
    return bot, url


async def post(url: str, update: dict[str, object], secret: str) -> int:
    async with (
        aiohttp.ClientSession() as session,
        session.post(url, json=update, headers={"X-Max-Bot-Api-Secret": secret}) as answer,
    ):
        return answer.status


@pytest.mark.parametrize("telegram", [False, True], ids=["max-alone", "beside-telegram"])
async def test_max_webhook_mode_completes_a_rating_once_each_without_polling(
    max_api: MaxApiEmulator, launcher: BotLauncher, telegram: bool
) -> None:
    bot, url = await start_in_webhook_mode(launcher, max_api, telegram=telegram)
    [subscription] = max_api.subscriptions.values()
    assert subscription.secret == SECRET
    assert set(subscription.update_types) == {"bot_started", "message_created", "message_callback"}

    anna = max_user(max_api, ANNA)
    await complete_rating(anna, bot)
    assert all(d.status == 200 for d in max_api.deliveries), max_api.deliveries

    # MAX delivers the last update again (a 200 it did not get): acknowledged, nothing new.
    sent = len(max_api.messages)
    assert await post(url, max_api.updates[-1], SECRET) == 200
    # A forged update (no or a wrong secret) is refused and not read.
    forged = {**max_api.updates[-1], "message": {"body": {"mid": "forged", "text": "1"}}}
    assert await post(url, forged, "not-the-secret") == 401
    # Not an update at all: 400.
    assert await post(url, {"update_type": "nonsense"}, SECRET) == 400
    assert await bot.stop() == 0
    assert len(max_api.messages) == sent

    assert not [call for call in max_api.calls if call.path == "/updates"]  # never polled
    assert len(read_rows(launcher.db_path, "responses")) == 1
    at_rest = scan_tables(launcher.db_path, (ANNA,))
    in_log = scan_log(bot.log_text(), (ANNA,))
    assert not at_rest, "\n".join(at_rest)
    assert not in_log, "\n".join(in_log)
    assert SECRET not in bot.log_text()
