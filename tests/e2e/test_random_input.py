"""Random input against the real bot process (issue 9): forged and stale buttons, double taps,
junk text and media from several people at once. Every press is answered exactly once, the log
has no error or traceback, and a final /start is answered promptly."""

from __future__ import annotations

import asyncio
import random
import time
from collections import Counter

import pytest

from tests.botapi.emulator import BotApiEmulator, EmulatedUser
from tests.e2e.conftest import BotLauncher, wait_for_message

pytestmark = pytest.mark.e2e

SEED = 9_2026
PEOPLE = 8
ACTIONS = 14
FORGED = [
    "zzz",
    ":",
    "q:abc:notanint:r:1",
    "q:abcdef:99999999999999999999:r:1",
    "p:-5:",
    "p:99999999999999999999:",
    "w:99999999999999999999",
    "o:maybe",
    "rep:1:w:",
    "wa:close:abc",
]
JUNK = ["\u200b", "\u2800", "ok\x00 text", "<b>x</b> &", "9" * 25, "/nosuch", "/report", ""]
STARTS = ["/start licensing_office", "/start", "/start nope"]


def _buttons(api: BotApiEmulator, user: EmulatedUser) -> list[tuple[int, str]]:
    return [
        (message.message_id, str(button["callback_data"]))
        for message in api.history(user.id)
        for button in message.buttons
        if "callback_data" in button
    ]


async def _act(api: BotApiEmulator, user: EmulatedUser, rng: random.Random) -> None:
    buttons = _buttons(api, user)
    anchor = buttons[-1][0] if buttons else None
    choice = rng.random()
    if choice < 0.45 and buttons:
        message_id, data = buttons[-rng.randint(1, min(len(buttons), 5))]
        await user.click_data(data, message_id=message_id)
        if rng.random() < 0.3:  # a double tap
            await user.click_data(data, message_id=message_id)
    elif choice < 0.65 and anchor is not None:
        await user.click_data(rng.choice(FORGED), message_id=anchor)
    elif choice < 0.8:
        text = rng.choice(JUNK)
        if text:
            await user.send_text(text)
    elif choice < 0.9:
        await (user.send_sticker() if rng.random() < 0.5 else user.send_photo())
    else:
        await user.send_text(rng.choice(STARTS))
    await asyncio.sleep(rng.uniform(0.02, 0.15))  # people are not instant either


async def test_random_people_get_one_answer_per_press_and_a_clean_log(
    api: BotApiEmulator, launcher: BotLauncher
) -> None:
    bot = await launcher.start()
    rng = random.Random(SEED)
    people = [
        api.user(7772000000 + n, f"P{n}", language_code=rng.choice(["ru", "en"]))
        for n in range(PEOPLE)
    ]

    async def life(user: EmulatedUser, seed: int) -> None:
        own = random.Random(seed)
        await user.send_text(own.choice(STARTS))
        await asyncio.sleep(0.2)
        for _ in range(ACTIONS):
            await _act(api, user, own)

    await asyncio.gather(*(life(u, rng.randrange(2**32)) for u in people))
    deadline = time.monotonic() + 10
    while api.open_callbacks or api.pending_updates:
        assert time.monotonic() < deadline, f"{len(api.open_callbacks)} presses unanswered"
        await asyncio.sleep(0.05)

    pressed = api.calls("answerCallbackQuery")
    assert len(pressed) >= 20
    answered = Counter(c.params["callback_query_id"] for c in pressed if c.ok)
    refused = [c for c in pressed if not c.ok]
    assert set(answered.values()) == {1} and not refused, refused
    for user in people:
        started = time.monotonic()
        await user.send_text("/start")
        await wait_for_message(
            user, "Hello" if user.info.get("language_code") == "en" else "Здравствуйте"
        )
        assert time.monotonic() - started < 5
    assert await bot.stop() == 0
    log = bot.log_text()
    assert "Traceback" not in log, log
    assert " ERROR " not in log and " CRITICAL " not in log, log
