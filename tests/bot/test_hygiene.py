"""Hygiene through the dispatcher (issue 8, item 6): internal services refuse citizen ratings,
and in group chats the bot answers at most one polite line and never posts a report."""

from __future__ import annotations

from aiogram.methods import AnswerCallbackQuery, SendMessage
from aiogram.types import Chat

from tests.bot.conftest import OFFICER_ID, World
from tests.bot.harness import Person


def in_group(person: Person, chat_type: str = "supergroup") -> Person:
    person.chat = Chat(id=-1001234567890, type=chat_type, title="Коллеги")
    return person


async def test_internal_service_link_refuses_a_citizen_rating(world: World) -> None:
    anna = world.harness.person(1001)
    await anna.send("/start hr_office")
    text = anna.last_text()
    assert "сотрудник" in text and "Вопрос" not in text
    assert "Кадровые вопросы" not in " ".join(anna.buttons())  # the picker: citizen services
    await anna.send("Хорошо")
    assert await world.rows("responses") == []
    bob = world.harness.person(1002, language="en")
    await bob.send("/start document-flow_site")
    assert "staff polls" in bob.last_text()


async def test_public_service_link_still_starts_the_dialog(world: World) -> None:
    anna = world.harness.person(1001)
    await anna.send("/start licensing_office")
    assert "Вопрос" in anna.last_text()
