"""Hygiene through the dispatcher (issue 8, item 6): internal services refuse citizen ratings,
and in group chats the bot answers at most one polite line and never posts a report."""

from __future__ import annotations

from datetime import UTC, datetime

from aiogram.methods import AnswerCallbackQuery, SendMessage
from aiogram.types import Chat, Message

from handlers.common import PRIVATE_ONLY
from questionnaires.schema import Language
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


async def test_report_in_a_group_never_posts_a_report(world: World) -> None:
    officer = in_group(world.harness.person(OFFICER_ID))
    await officer.send("/report")
    sent = world.harness.sent(SendMessage)
    assert len(sent) == 1 and "личном чате" in str(sent[0].text)
    assert sent[0].reply_markup is None
    await officer.send("/export")
    await officer.send("/poll_open")
    await officer.send("/invite Отдел кадров 3")
    texts = [str(m.text) for m in world.harness.sent(SendMessage)]
    assert all("личном чате" in text for text in texts) and len(texts) == 4
    assert await world.rows("invite_codes") == []
    assert await world.campaigns.open_windows("external") == []


async def test_group_chatter_gets_no_answer_and_commands_one_line(world: World) -> None:
    anna = in_group(world.harness.person(1001, language="en"))
    await anna.send("Hello everyone")
    await anna.send_sticker()
    await anna.send("/start licensing_office")
    await anna.send("/help@some_other_bot")
    await anna.send("/help@Otklik_Test_Bot")
    texts = [str(m.text) for m in world.harness.sent(SendMessage)]
    assert texts == [PRIVATE_ONLY[Language.EN]] * 2
    assert await world.rows("fsm_states") == []


async def test_a_button_pressed_in_a_group_is_refused_politely(world: World) -> None:
    officer = world.harness.person(OFFICER_ID)
    await officer.send("/report")
    mid, _, markup = officer.live_message()
    assert markup is not None and markup.inline_keyboard[0][0].callback_data
    data = markup.inline_keyboard[0][0].callback_data
    before = len(world.harness.sent(SendMessage))
    in_group(officer)
    officer.harness.session.messages[(officer.chat.id, mid)] = {"text": "…", "markup": markup}
    await officer.press_data(data, mid)
    [answer] = [m for m in world.harness.sent(AnswerCallbackQuery)]
    assert "личном чате" in str(answer.text)
    assert len(world.harness.sent(SendMessage)) == before


async def test_channel_posts_are_ignored(world: World) -> None:
    officer = in_group(world.harness.person(OFFICER_ID), chat_type="channel")
    await officer.send("/report")
    post = Message(
        message_id=1,
        date=datetime.now(UTC),
        chat=officer.chat,
        text="/report",
        sender_chat=officer.chat,
    )
    await world.harness.feed(channel_post=post)
    assert world.harness.sent() == []
