"""Durable before shown: whenever the bot shows dialog buttons, the database already holds the
state those buttons belong to (a crash right after the reply loses nothing)."""

from __future__ import annotations

import asyncio
import json
import sqlite3
from typing import Any

from aiogram.fsm.storage.base import StorageKey
from aiogram.types import InlineKeyboardMarkup
from sqlalchemy.engine import make_url

from handlers.views import Press
from storage.fsm import storage_key_digest
from tests.bot.conftest import PEPPER, World
from tests.bot.harness import BOT_ID, Person

LINK = "/start licensing_office"


async def _answer(person: Person) -> None:
    await person.send(LINK)
    for label in ("2", "Нет", "Долго ждать результата", "Готово", "4 и больше"):
        await person.click(label)
    await person.send("Долго ждала ответа")


async def test_every_reply_with_dialog_buttons_finds_its_state_in_the_database(
    world: World,
) -> None:
    path = make_url(world.url).database
    assert path is not None
    reader = sqlite3.connect(path)  # another connection: sees only what is committed
    problems: list[str] = []
    checked: list[int] = []
    session = world.harness.session
    original = session._result

    def check_then_answer(method: Any) -> Any:
        markup = getattr(method, "reply_markup", None)
        if isinstance(markup, InlineKeyboardMarkup):
            presses = [
                Press.unpack(button.callback_data)
                for row in markup.inline_keyboard
                for button in row
                if button.callback_data and button.callback_data.startswith("q:")
            ]
            if presses:
                chat = int(method.chat_id)
                key = StorageKey(bot_id=BOT_ID, chat_id=chat, user_id=chat)
                row = reader.execute(
                    "SELECT data FROM fsm_states WHERE key = ?",
                    (storage_key_digest(key, PEPPER),),
                ).fetchone()
                if row is None:
                    problems.append(f"no stored state behind buttons for chat {chat}")
                else:
                    data = json.loads(row[0])
                    drawn = {(press.d, press.t) for press in presses}
                    if drawn != {(data["n"], data["p"]["turn"])}:
                        problems.append(f"buttons {drawn} but stored {data['n']}/{data['p']}")
                checked.append(chat)
        return original(method)

    session._result = check_then_answer  # type: ignore[method-assign]
    try:
        people = [world.harness.person(2001 + number) for number in range(5)]
        await asyncio.gather(*(_answer(person) for person in people))
    finally:
        reader.close()
    assert problems == []
    assert len(checked) >= 5 * 6  # every step of every dialog was looked at
    assert len(await world.rows("responses")) == 5
