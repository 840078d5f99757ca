"""Per-service news through the real handlers (issue 11, item 3): the rated service's own,
separate button; what it stores; the stop button under every news message; forged and stale
buttons answered once."""

from __future__ import annotations

from collections import Counter
from datetime import date

from aiogram.exceptions import TelegramBadRequest
from aiogram.methods import AnswerCallbackQuery, EditMessageReplyMarkup, SendMessage

from handlers.views import NewsStopPress
from services.announcements import NEWS_STOP_DATA
from storage.painmap import (
    Figures,
    FoundPain,
    NewMeasure,
    PainMapStore,
    ProcessKey,
    Satisfaction,
    Span,
)
from tests.bot.conftest import World
from tests.bot.harness import Person

LINK = "/start licensing_office"
NEWS_BUTTON = "Сообщать, что изменилось по услуге"


async def _rate(person: Person) -> None:
    await person.send(LINK)
    await person.click("5")
    await person.click("Да")
    await person.click("1")
    await person.click("Пропустить")


async def _done_measure(world: World, text: str, code: str = "licensing") -> None:
    store = PainMapStore(world.sessions)
    process = ProcessKey("service", code)
    found = [FoundPain("rating_problem", f"obstacles:{text}", text, Figures(False, 8, 0.4))]
    await store.save_period(
        process,
        Span(date(2026, 9, 1), date(2026, 9, 30)),
        Satisfaction(False, 20, 55.0, 3.4),
        found,
        absent={},
        today=date(2026, 10, 1),
    )
    [pain] = [p for p in await store.pains([process]) if p.title == text]
    await store.apply(
        [NewMeasure(pain.id, text, "Отдел", date(2027, 1, 1), "done")], [], date(2026, 10, 15)
    )


def _answers_per_press(world: World) -> Counter[str]:
    return Counter(m.callback_query_id for m in world.harness.sent(AnswerCallbackQuery))


async def test_the_rated_services_news_is_a_separate_button_storing_chat_and_service_only(
    world: World,
) -> None:
    anna = world.harness.person(1001)
    await _rate(anna)
    buttons = anna.buttons()
    assert "Да, сообщите мне" in buttons
    assert (
        "Сообщать, что изменилось по услуге "
        "«Лицензирование деятельности по управлению многоквартирными домами»"
    ) in buttons
    await anna.click(NEWS_BUTTON)
    assert "по этой услуге" in anna.last_text()
    # Her choice of the body-wide news is still open, and was not made for her.
    assert "Да, сообщите мне" in anna.buttons() and NEWS_BUTTON not in " ".join(anna.buttons())
    assert await world.opt_ins.chat_ids("changes") == []
    # Not written next to the response: it waits for a batch, then holds the chat (with its
    # messenger) and the service, nothing else.
    assert await world.rows("service_news") == []
    assert await world.opt_ins.service_chat_ids({"licensing"}) == {"licensing": {1001}}
    await world.opt_ins.flush(force=True)
    assert await world.rows("service_news") == [
        {"messenger": "telegram", "chat_id": 1001, "service_code": "licensing"}
    ]
    await anna.send("/stop")
    assert await world.rows("service_news") == []


async def test_forged_and_stale_news_buttons_are_answered_once_and_store_nothing(
    world: World,
) -> None:
    anna = world.harness.person(1001)
    await _rate(anna)
    message_id, _, _ = anna.live_message()
    for data in ("sn:hr", "sn:no-such-service", "sn:"):  # internal, unknown, empty
        await anna.press_data(data, message_id)
    assert anna.alerts().count("Эта кнопка относится к завершённому или старому опросу.") == 3
    await anna.click(NEWS_BUTTON)
    await anna.press_data("sn:licensing", message_id)  # a double tap: still one subscription
    await world.opt_ins.flush(force=True)
    assert await world.rows("service_news") == [
        {"messenger": "telegram", "chat_id": 1001, "service_code": "licensing"}
    ]
    assert set(_answers_per_press(world).values()) == {1}


async def test_news_reach_the_services_subscriber_with_a_stop_button_that_works(
    world: World,
) -> None:
    assert NewsStopPress.unpack(NEWS_STOP_DATA) == NewsStopPress()
    anna = world.harness.person(1001)
    boris = world.harness.person(1002)  # rated another service's news: hears nothing here
    await _rate(anna)
    await anna.click(NEWS_BUTTON)
    await world.feedback.subscribe_service(1002, "inspections")
    await world.opt_ins.add(1001, "polls", date(2026, 11, 1))
    await world.opt_ins.flush(force=True)
    await _done_measure(world, "Электронная очередь")
    outcome = await world.services.announcer.announce()
    assert (outcome.measures, outcome.sent) == (1, 1)
    [news] = [m for m in world.harness.sent(SendMessage) if "Вы сказали" in str(m.text)]
    assert int(news.chat_id) == 1001 and "Электронная очередь" in str(news.text)
    assert news.reply_markup is not None
    [[button]] = news.reply_markup.inline_keyboard
    assert (button.text, button.callback_data) == ("Не присылать новости", NEWS_STOP_DATA)
    assert boris.alerts() == []
    message_id = max(mid for (cid, mid) in world.harness.session.messages if cid == 1001)
    await anna.press_data(NEWS_STOP_DATA, message_id)
    assert "больше не получите" in anna.alerts()[-1]
    assert await world.opt_ins.service_chat_ids({"licensing"}) == {"licensing": set()}
    assert await world.opt_ins.chat_ids("polls") == [1001]  # invitations are another matter
    await _done_measure(world, "Запись онлайн")
    assert (await world.services.announcer.announce()).sent == 0
    assert set(_answers_per_press(world).values()) == {1}


async def test_the_stop_button_of_a_message_too_old_to_edit_still_stops_and_answers_once(
    world: World,
) -> None:
    anna = world.harness.person(1001)
    await world.feedback.subscribe_service(1001, "licensing")
    await world.feedback.opt_in(1001)
    await world.opt_ins.flush(force=True)
    await _done_measure(world, "Электронная очередь")
    assert (await world.services.announcer.announce()).sent == 1
    message_id = max(mid for (cid, mid) in world.harness.session.messages if cid == 1001)
    world.harness.session.fail_next(
        EditMessageReplyMarkup,
        TelegramBadRequest(
            method=EditMessageReplyMarkup(chat_id=1001, message_id=message_id),
            message="Bad Request: message can't be edited",
        ),
    )
    before = len(world.harness.sent(SendMessage))
    await anna.press_data(NEWS_STOP_DATA, message_id)
    assert "больше не получите" in anna.alerts()[-1]
    assert len(world.harness.sent(SendMessage)) == before  # no error notice in the chat
    assert await world.opt_ins.chat_ids("changes") == []
    assert await world.rows("service_news") == []
    assert set(_answers_per_press(world).values()) == {1}
