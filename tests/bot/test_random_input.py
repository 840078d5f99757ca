"""Random input from many people at once (issue 9): forged and stale buttons, double taps, junk
text and media through the real dispatcher. Every press is answered exactly once, nothing is
logged as an error, stored text is clean, and a final /start is answered."""

from __future__ import annotations

import asyncio
import logging
import random
import unicodedata
from collections import Counter
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime

import pytest
from aiogram.methods import AnswerCallbackQuery, SendMessage
from aiogram.types import CallbackQuery, Message, User

from tests.bot.conftest import OFFICER_ID, World
from tests.bot.harness import BOT_ID, Person

SEED = 20261130
PEOPLE = 30
ACTIONS = 30

FORGED = [
    "zzz",
    ":",
    "q",
    "q:abc:notanint:r:1",
    "q:abcdef:-1:r:1",
    "q:abcdef:99999999999999999999999999:r:1",
    "q:abcdef:1:zz:1",
    "p:-5:",
    "p:99999999999999999999:",
    "p:0:" + "x" * 70,
    "p:0:no_such_service",
    "w:99999999999999999999",
    "w:0:nonsense",
    "w:-3",
    "o:perhaps",
    "o:1",
    "sn:hr",
    "sn:" + "x" * 70,
    "sn:",
    "ns:perhaps",
    "ns:1",
    "rep:1:w:",
    "rep:0:q:*",
    "wa:close:1",
    "wa:open:staff_annual",
    "\u0000\u200b",
    "💥" * 16,
]
JUNK = [
    "",
    " ",
    "\u200b",
    "\u2800\u2800",
    "\u3164",
    "ok\x00\x07 text",
    "<b>not html</b> & <script>",
    "9" * 30,
    "-5",
    "Д" * 5000,
    "е\u0308лка",
    "/nosuchcommand",
    "/report",
    "/poll_close",
    "/start w999999999999999999999",
    "/start " + "x" * 200,
    "/cancel",
    "/help",
]
STARTS = ["/start licensing_office", "/start appeals_site", "/start", "/start nope"]


class Crowd:
    """Presses with known query ids, so answers can be counted per press."""

    def __init__(self, world: World) -> None:
        self.world = world
        self.pressed: list[str] = []

    def buttons(self, person: Person) -> list[tuple[int, str]]:
        """Every button of every bot message in the chat: live and stale ones alike."""
        found = []
        for (chat_id, message_id), message in self.world.harness.session.messages.items():
            markup = message["markup"]
            if chat_id != person.chat.id or markup is None:
                continue
            for row in markup.inline_keyboard:
                found += [(message_id, b.callback_data) for b in row if b.callback_data]
        return found

    async def press(self, person: Person, data: str, message_id: int) -> None:
        harness = self.world.harness
        query_id = f"cq{len(self.pressed)}"
        self.pressed.append(query_id)
        stored = harness.session.messages.get((person.chat.id, message_id), {})
        message = Message(
            message_id=message_id,
            date=datetime.now(UTC),
            chat=person.chat,
            from_user=User(id=BOT_ID, is_bot=True, first_name="Otklik"),
            text=stored.get("text") or "…",
            reply_markup=stored.get("markup"),
        )
        query = CallbackQuery(
            id=query_id,
            from_user=person.user,
            chat_instance="ci",
            message=message,
            data=data,
        )
        await harness.feed(callback_query=query)


async def _act(crowd: Crowd, person: Person, rng: random.Random) -> None:
    buttons = crowd.buttons(person)
    any_message = buttons[-1][0] if buttons else 1
    choice = rng.random()
    if choice < 0.40 and buttons:
        # Mostly the newest keyboard (a real dialog moves on), sometimes an older one.
        message_id, data = buttons[-rng.randint(1, min(len(buttons), 6))]
        await crowd.press(person, data, message_id)
    elif choice < 0.50 and buttons:
        message_id, data = rng.choice(buttons)
        await asyncio.gather(  # a double tap
            crowd.press(person, data, message_id), crowd.press(person, data, message_id)
        )
    elif choice < 0.62:
        await crowd.press(person, rng.choice(FORGED), any_message)
    elif choice < 0.67 and buttons:
        _, data = rng.choice(buttons)
        parts = data.split(":")
        parts[-1] = rng.choice(["99999999999999999999", "-1", "", "x" * 40])
        await crowd.press(person, ":".join(parts), any_message)
    elif choice < 0.82:
        await person.send(rng.choice(JUNK))
    elif choice < 0.90:
        media: list[Callable[[], Awaitable[None]]] = [
            person.send_sticker,
            person.send_photo,
            person.send_voice,
        ]
        await rng.choice(media)()
    else:
        await person.send(rng.choice(STARTS))


async def test_random_crowd_gets_one_answer_per_press_and_no_errors(
    world: World, caplog: pytest.LogCaptureFixture
) -> None:
    rng = random.Random(SEED)
    crowd = Crowd(world)
    people = [
        world.harness.person(9_000_000 + n, language=rng.choice(["ru", "ru", "en"]))
        for n in range(PEOPLE)
    ]
    people.append(world.harness.person(OFFICER_ID))  # officer buttons live among the crowd
    seeds = [rng.randrange(2**32) for _ in people]

    async def life(person: Person, seed: int) -> None:
        own = random.Random(seed)
        await person.send(own.choice(STARTS))
        for _ in range(ACTIONS):
            await _act(crowd, person, own)

    with caplog.at_level(logging.INFO):
        await asyncio.gather(*(life(p, s) for p, s in zip(people, seeds, strict=True)))
        before_final = len(world.harness.sent(SendMessage))
        await asyncio.gather(*(p.send("/start") for p in people))

    errors = [r for r in caplog.records if r.levelno >= logging.ERROR or r.exc_info]
    assert not errors, "\n".join(f"{r.name}: {r.getMessage()}" for r in errors)
    assert "Traceback" not in caplog.text
    answers = Counter(m.callback_query_id for m in world.harness.sent(AnswerCallbackQuery))
    assert len(crowd.pressed) > 200  # the run really pressed a lot
    unanswered = [q for q in crowd.pressed if answers[q] == 0]
    twice = {q: n for q, n in answers.items() if n > 1}
    assert not unanswered and not twice, (len(unanswered), twice)
    final = world.harness.sent(SendMessage)[before_final:]
    assert {int(m.chat_id) for m in final} >= {p.chat.id for p in people}
    for row in await world.rows("answers"):
        if row["text"] is not None:
            text = str(row["text"])
            assert all(c in "\n\t" or unicodedata.category(c) != "Cc" for c in text), text
            assert unicodedata.is_normalized("NFC", text)
            assert text.strip("\u200b\u2800\u3164 ")
