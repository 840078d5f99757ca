"""Citizen rating dialog through Dispatcher.feed_update: messages sent and rows stored."""

from __future__ import annotations

import logging
from collections import Counter
from datetime import timedelta
from typing import Any

import pytest
from aiogram.exceptions import (
    TelegramBadRequest,
    TelegramForbiddenError,
    TelegramRetryAfter,
    TelegramServerError,
)
from aiogram.fsm.storage.base import StorageKey
from aiogram.methods import AnswerCallbackQuery, EditMessageText, SendMessage, TelegramMethod
from sqlalchemy.exc import OperationalError

from bot.dispatcher import create_dispatcher
from bot.retry import RetryRequests
from storage.fsm import SqlStorage
from storage.responses import ResponseStore
from tests.bot.conftest import OFFICER_ID, PEPPER, World
from tests.bot.harness import BOT_ID, Harness, Person

LINK = "/start licensing_office"


async def _answer_low_score_path(anna: Person) -> None:
    await anna.send(LINK)
    await anna.click("2")
    await anna.click("Нет")
    await anna.click("Долго ждать результата")
    await anna.click("Невежливые сотрудники")
    await anna.click("Готово")
    await anna.click("4 и больше")


async def test_deep_link_starts_the_dialog_with_service_title_and_progress(world: World) -> None:
    anna = world.harness.person(1001)
    await anna.send(LINK)
    texts = world.harness.texts(1001)
    assert "Лицензирование" in texts[0]  # the intro names the service from the catalog
    _, text, _ = anna.live_message()
    assert "Вопрос 1 из" in text
    assert "Насколько вы в целом удовлетворены" in text
    assert anna.buttons()[:5] == ["1", "2", "3", "4", "5"]
    assert "1 — Совсем не удовлетворены" in text


async def test_a_dialog_finished_by_typed_text_leaves_only_the_thanks_with_buttons(
    world: World,
) -> None:
    """Issue 12: the dialog message loses its keyboard when typed text completes the dialog
    (the state is cleared by then; the front still knows which message showed the step)."""
    anna = world.harness.person(1001)
    await _answer_low_score_path(anna)
    dialog_id, _, _ = anna.live_message()
    await anna.send("Долго ждала ответа из управления")
    keyboards = [
        mid
        for (chat, mid), message in world.harness.session.messages.items()
        if chat == 1001 and message["markup"] is not None
    ]
    thanks_id, text, _ = anna.live_message()
    assert "Спасибо!" in text and keyboards == [thanks_id] and thanks_id != dialog_id


async def test_complete_dialog_stores_one_anonymous_response(world: World) -> None:
    anna = world.harness.person(1001, username="anna_k")
    await _answer_low_score_path(anna)
    _, text, _ = anna.live_message()
    assert "Что пошло не так?" in text
    await anna.send("Долго ждала ответа из управления")
    assert "Спасибо!" in anna.last_text()
    [response] = await world.rows("responses")
    assert response["service_code"] == "licensing"
    assert response["channel_code"] == "office"
    assert str(response["submitted_on"]) == "2026-11-23"
    answers = {
        (a["question_id"], a["option_id"], a["number"], a["text"])
        for a in await world.rows("answers")
    }
    assert answers == {
        ("overall", None, 2, None),
        ("solved", "no", None, None),
        ("obstacles", "result_time", None, None),
        ("obstacles", "impolite_staff", None, None),
        ("contacts", "four_plus", None, None),
        ("comment", None, None, "Долго ждала ответа из управления"),
    }
    assert await world.rows("fsm_states") == []  # the dialog is forgotten once stored


async def test_dialog_message_is_edited_in_place_while_buttons_are_pressed(world: World) -> None:
    anna = world.harness.person(1001)
    await anna.send(LINK)
    first_id, _, _ = anna.live_message()
    await anna.click("5")
    await anna.click("Да")
    second_id, text, _ = anna.live_message()
    assert second_id == first_id
    assert "Вопрос 3 из" in text
    assert len(world.harness.sent(SendMessage)) == 2  # the intro and the dialog message


async def test_back_returns_to_the_previous_question_and_the_answer_can_change(
    world: World,
) -> None:
    anna = world.harness.person(1001)
    await anna.send(LINK)
    await anna.click("2")
    await anna.click("← Назад")
    _, text, _ = anna.live_message()
    assert "Вопрос 1 из" in text and "• 2 •" in anna.buttons()
    await anna.click("5")
    await anna.click("Да")
    _, text, _ = anna.live_message()
    assert "Сколько раз вы обращались" in text  # obstacles are hidden after 5 and "yes"


async def test_other_option_asks_for_text_and_stores_it(world: World) -> None:
    anna = world.harness.person(1001)
    await anna.send(LINK)
    await anna.click("1")
    await anna.click("Нет")
    await anna.click("Другое")
    await anna.click("Готово")
    _, text, _ = anna.live_message()
    assert "Уточните" in text
    await anna.send("Не работал терминал")
    await anna.click("1")
    await anna.click("Пропустить")
    rows = await world.rows("answers")
    assert {
        "question_id": "obstacles",
        "option_id": "other",
        "text": "Не работал терминал",
    }.items() <= next(r for r in rows if r["option_id"] == "other").items()


async def test_text_where_a_button_is_due_repeats_the_question_with_a_hint(world: World) -> None:
    anna = world.harness.person(1001)
    await anna.send(LINK)
    await anna.send("всё хорошо")
    _, text, _ = anna.live_message()
    assert "выберите ответ кнопкой" in text
    assert "Вопрос 1 из" in text
    assert await world.rows("responses") == []


async def test_typed_score_is_accepted_for_a_scale(world: World) -> None:
    anna = world.harness.person(1001)
    await anna.send(LINK)
    await anna.send("4")
    _, text, _ = anna.live_message()
    assert "Ваш вопрос решён?" in text


async def test_stickers_photos_and_voice_get_a_hint_and_change_nothing(world: World) -> None:
    anna = world.harness.person(1001)
    await anna.send(LINK)
    before = anna.live_message()
    await anna.send_sticker()
    await anna.send_photo()
    await anna.send_voice()
    hints = world.harness.texts(1001)[-3:]
    assert all("только текст и нажатия кнопок" in hint for hint in hints)
    assert anna.live_message()[0] == before[0]
    await anna.click("3")  # the dialog goes on
    assert "Ваш вопрос решён?" in anna.live_message()[1]


async def test_over_long_text_is_refused_naming_the_limit(world: World) -> None:
    anna = world.harness.person(1001)
    await anna.send(LINK)
    await anna.click("5")
    await anna.click("Да")
    await anna.click("1")
    await anna.send("я" * 1001)
    _, text, _ = anna.live_message()
    assert "не больше 1000 символов" in text
    await anna.send("Спасибо")
    assert "Спасибо!" in anna.last_text()


async def test_double_tap_is_counted_once(world: World) -> None:
    anna = world.harness.person(1001)
    await anna.send(LINK)
    mid, _, markup = anna.live_message()
    assert markup is not None
    two = markup.inline_keyboard[0][1].callback_data
    assert two is not None
    await anna.press_data(two, mid)
    await anna.press_data(two, mid)
    assert "Уже учтено" in " ".join(anna.alerts()) or "Ответ уже учтён" in anna.alerts()
    _, text, _ = anna.live_message()
    assert "Вопрос 2 из" in text


async def test_stale_button_from_an_earlier_dialog_gets_a_clear_message(world: World) -> None:
    anna = world.harness.person(1001)
    await anna.send(LINK)
    old_id, _, old_markup = anna.live_message()
    assert old_markup is not None
    old_data = old_markup.inline_keyboard[0][0].callback_data
    await anna.send("/cancel")
    await anna.send("/start appeals_site")
    assert old_data is not None
    await anna.press_data(old_data, old_id)
    assert "завершённому или старому опросу" in anna.alerts()[-1]
    await anna.press_data("q:garbage", old_id)  # not even our format: ignored without a crash


async def test_cancel_and_help_work_at_any_point(world: World) -> None:
    anna = world.harness.person(1001)
    await anna.send("/help")
    assert "/cancel" in anna.last_text()
    await anna.send(LINK)
    await anna.click("4")
    await anna.send("/help")
    assert "анонимные отзывы" in anna.last_text()
    await anna.send("/cancel")
    assert "Опрос прерван" in anna.last_text()
    assert await world.rows("responses") == [] and await world.rows("fsm_states") == []
    await anna.send("/cancel")
    assert "Отменять нечего" in anna.last_text()


async def test_unknown_link_offers_the_service_picker(world: World) -> None:
    anna = world.harness.person(1001)
    await anna.send("/start no-such_thing")
    assert "Ссылка не распознана" in anna.last_text()
    assert "Лицензирование управляющих организаций" in " ".join(anna.buttons()) or anna.buttons()
    await anna.click(anna.buttons()[0])
    await anna.click("5")
    await anna.click("Да")
    await anna.click("1")
    await anna.click("Пропустить")
    [response] = await world.rows("responses")
    assert response["channel_code"] == "messenger"


async def test_start_without_payload_lists_only_citizen_services(world: World) -> None:
    anna = world.harness.person(1001)
    await anna.send("/start")
    assert "Выберите услугу" in anna.last_text()
    labels = " ".join(anna.buttons())
    internal = [s.title.ru for s in world.feedback.catalog.services if s.group == "internal"]
    assert internal and all(title not in labels for title in internal)


async def test_second_rating_of_a_service_the_same_day_is_refused(world: World) -> None:
    anna = world.harness.person(1001)
    await anna.send(LINK)
    await anna.click("5")
    await anna.click("Да")
    await anna.click("1")
    await anna.click("Пропустить")
    await anna.send(LINK)
    assert "уже оценили" in anna.last_text()
    assert len(await world.rows("responses")) == 1
    # Issue 8: the guard keeps its keys in memory only; nothing of it reaches the database.
    # The one key is the completed dialog's (a keyed hash of its random id, not of Anna).
    assert [row["scope"] for row in await world.rows("dedup_keys")] == ["completed"]
    world.clock_now[0] += timedelta(days=1)
    await anna.send(LINK)
    assert "Вопрос 1 из" in anna.live_message()[1]


async def test_english_user_gets_english_texts(world: World) -> None:
    john = world.harness.person(2002, language="en")
    await john.send(LINK)
    _, text, _ = john.live_message()
    assert "Question 1 of" in text and "Overall, how satisfied" in text
    await john.send_sticker()
    assert "I understand only text" in john.last_text()


async def test_opt_in_is_stored_apart_from_the_answers(world: World) -> None:
    anna = world.harness.person(1001)
    await anna.send(LINK)
    await anna.click("5")
    await anna.click("Да")
    await anna.click("1")
    await anna.click("Пропустить")
    await anna.click("Да, сообщите мне")
    assert "сообщим об изменениях" in anna.last_text()
    # Issue 8: not written next to the response; it waits for a batch (storage.opt_ins).
    assert await world.rows("opt_ins") == []
    assert await world.opt_ins.chat_ids("changes") == [1001]
    await world.opt_ins.flush(force=True)
    [opt_in] = await world.rows("opt_ins")
    assert opt_in["chat_id"] == 1001 and opt_in["topic"] == "changes"
    await anna.send("/stop")
    assert await world.rows("opt_ins") == []
    assert await world.opt_ins.chat_ids("changes") == []


async def test_user_who_blocked_the_bot_is_logged_and_nothing_breaks(
    world: World, caplog: pytest.LogCaptureFixture
) -> None:
    anna = world.harness.person(1001)
    world.harness.session.fail_next(
        SendMessage,
        TelegramForbiddenError(
            method=SendMessage(chat_id=1, text="x"),
            message="Forbidden: bot was blocked by the user",
        ),
    )
    with caplog.at_level(logging.INFO):
        await anna.send("/help")
    assert "blocked the bot" in caplog.text
    await anna.send(LINK)  # the bot keeps working
    assert "Вопрос 1 из" in anna.live_message()[1]


async def test_database_down_at_completion_loses_nothing(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    anna = world.harness.person(1001)
    await anna.send(LINK)
    await anna.click("5")
    await anna.click("Да")
    await anna.click("1")

    async def down(*args: object, **kwargs: object) -> bool:
        raise OperationalError("INSERT", {}, Exception("database is locked"))

    with monkeypatch.context() as patch:
        patch.setattr(ResponseStore, "save", down)
        await anna.click("Пропустить")
    assert "временно недоступен" in anna.alerts()[-1]
    assert await world.rows("responses") == []
    await anna.click("Пропустить")  # the same button, once the database is back
    assert "Спасибо!" in anna.last_text()
    assert len(await world.rows("responses")) == 1


async def test_dialog_continues_after_a_restart(world: World) -> None:
    anna = world.harness.person(1001)
    await anna.send(LINK)
    await anna.click("2")
    await anna.click("Частично")
    await world.storage.close()
    # A new process: new storage on the same database, new dispatcher, same chat.
    storage = SqlStorage(world.sessions, PEPPER)
    restarted = Harness(
        create_dispatcher(
            storage=storage,
            feedback=world.feedback,
            reporting=world.reporting,
            campaigns=world.campaigns,
            funnel=world.funnel,
        )
    )
    restarted.session.messages = world.harness.session.messages
    restarted.update_ids = world.harness.update_ids
    anna2 = restarted.person(1001)
    await anna2.click("Долгое ожидание")
    await anna2.click("Готово")
    await anna2.click("2")
    await anna2.click("Пропустить")
    await storage.close()
    answers = {
        (a["question_id"], a["option_id"], a["number"]) for a in await world.rows("answers")
    }
    assert ("overall", None, 2) in answers and ("solved", "partly", None) in answers
    assert ("obstacles", "queue", None) in answers


async def test_callback_is_always_answered(world: World) -> None:
    anna = world.harness.person(1001)
    await anna.send(LINK)
    await anna.click("5")
    await anna.click("Да")
    await anna.press_data("q:000000:0:r:5", anna.live_message()[0])  # stale: answered too
    assert len(world.harness.sent(AnswerCallbackQuery)) == 3


async def test_database_down_mid_dialog_keeps_the_step_and_asks_to_retry(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    anna = world.harness.person(1001)
    await anna.send(LINK)
    await anna.click("3")
    before = anna.live_message()

    async def down(*args: object, **kwargs: object) -> None:
        raise OperationalError("INSERT", {}, Exception("unable to open database file"))

    with monkeypatch.context() as patch:
        patch.setattr(world.storage, "_store", down)
        await anna.click("Частично")
    assert "временно недоступен" in anna.alerts()[-1]
    assert anna.live_message()[1] == before[1]  # the question did not move on
    await anna.click("Частично")
    assert "Что помешало?" in anna.live_message()[1]


async def test_no_identity_reaches_the_tables_or_the_logs(
    world: World, caplog: pytest.LogCaptureFixture
) -> None:
    people = [
        world.harness.person(7770001234, username="anon_probe_alpha"),
        world.harness.person(7770005678, language="en", username="anon_probe_beta"),
    ]
    with caplog.at_level(logging.DEBUG):
        for person in people:
            await person.send(LINK)
            await person.click("1")
            await person.click(person.buttons()[2])  # "no"
            await person.click(person.buttons()[0])
            await person.click(
                person.buttons()[-2]
                if "Готово" in person.buttons()[-2] or "Done" in person.buttons()[-2]
                else person.buttons()[-1]
            )
            await person.click(person.buttons()[0])
            await person.send("очень долго, комментарий с деталями")
    secrets = ["7770001234", "7770005678", "anon_probe_alpha", "anon_probe_beta"]
    assert len(await world.rows("responses")) == 2
    for table in ("responses", "answers", "dedup_keys", "fsm_states", "opt_ins"):
        dump = repr(await world.rows(table))
        for secret in secrets:
            assert secret not in dump, f"{secret} found in {table}"
    for secret in [*secrets, "очень долго"]:
        assert secret not in caplog.text, f"{secret} found in the log"


def test_fast_button_packing_matches_callback_data() -> None:
    from handlers.views import Press, pack_press

    for value in ("", "in_progress", "5"):
        assert pack_press("a1b2c3", 7, "c", value) == Press(d="a1b2c3", t=7, a="c", v=value).pack()
        assert Press.unpack(pack_press("a1b2c3", 7, "c", value)).v == value


def _generic_unpack(data: str) -> Any:
    from aiogram.filters.callback_data import CallbackData

    from handlers.views import Press

    try:
        return CallbackData.unpack.__func__(Press, data)  # type: ignore[attr-defined]
    except (TypeError, ValueError) as error:
        return type(error), str(error)


def test_fast_press_parsing_matches_the_generic_parser() -> None:
    import itertools
    import random

    from handlers.views import Press

    parts = {
        "prefix": ["q", "Q", "", "q ", "p"],
        "nonce": ["a1b2c3", "", "x" * 16, "x" * 17, " a", "ё"],
        "turn": [
            "0",
            "7",
            "00",
            "07",
            "+7",
            "-1",
            " 7",
            "7 ",
            "1_0",
            "٣",
            "1000000",
            "1000001",
            "9999999",
            "12345678",
            "",
            "x",
            "7.0",
        ],
        "action": ["r", "", "rr", "ё"],
        "value": ["", "5", "yes", "v" * 64, "v" * 65, "да"],
    }
    cases = [":".join(combo) for combo in itertools.product(*parts.values())]
    cases += ["q", "q:a:1:r", "q:a:1:r:5:6", "", ":::::", "q:a:1:r:5:"]
    alphabet = "q:0123456789+-_ a"
    chance = random.Random(15)
    cases += ["".join(chance.choices(alphabet, k=chance.randint(0, 14))) for _ in range(3000)]
    for data in cases:
        expected = _generic_unpack(data)
        try:
            got: Any = Press.unpack(data)
        except (TypeError, ValueError) as error:
            got = type(error), str(error)
        assert got == expected, data
        if isinstance(expected, Press):
            assert type(got) is Press
            assert got.model_fields_set == expected.model_fields_set, data
            assert got.__dict__ == expected.__dict__, data
            assert type(got.t) is int


def test_a_copied_step_markup_is_the_validated_markup() -> None:
    from aiogram.types import InlineKeyboardMarkup

    from handlers.views import pack_press, step_button, step_markup

    buttons = [
        step_button(str(score), pack_press("a1b2c3", 7, "r", str(score))) for score in range(6)
    ]
    for rows in ([buttons[:5]], [[button] for button in buttons], [buttons[:3], buttons[3:]]):
        made = step_markup(rows)
        validated = InlineKeyboardMarkup(inline_keyboard=rows)
        assert made == validated
        assert type(made) is InlineKeyboardMarkup
        assert made.__dict__ == validated.__dict__
        assert made.model_fields_set == validated.model_fields_set
        assert made.__pydantic_extra__ == validated.__pydantic_extra__
        assert made.__pydantic_private__ == validated.__pydantic_private__
        assert made.model_dump_json() == validated.model_dump_json()
        # The rows are copies (as validation makes them); the buttons are the same.
        assert made.inline_keyboard is not rows and made.inline_keyboard[0] is not rows[0]
        assert made.inline_keyboard[0][0] is rows[0][0]
    one, other = step_markup([buttons[:1]]), step_markup([buttons[:1]])
    assert one.__pydantic_private__ is not other.__pydantic_private__
    assert one.__pydantic_extra__ is not other.__pydantic_extra__
    assert one.model_fields_set is not other.model_fields_set


def test_a_copied_step_button_is_the_validated_button() -> None:
    from aiogram.types import InlineKeyboardButton

    from handlers.views import pack_press, step_button

    for text, data in (("5", pack_press("a1b2c3", 7, "r", "5")), ("Да ✅", "q:x:0:c:yes")):
        made = step_button(text, data)
        validated = InlineKeyboardButton(text=text, callback_data=data)
        assert made == validated
        assert made.model_fields_set == validated.model_fields_set
        assert made.model_dump(exclude_unset=True) == {"text": text, "callback_data": data}
        assert type(made) is InlineKeyboardButton
        assert made.__dict__ == validated.__dict__
        assert made.__pydantic_extra__ == validated.__pydantic_extra__
        assert made.__pydantic_private__ == validated.__pydantic_private__
        assert made.model_dump_json() == validated.model_dump_json()
    # Copies share nothing mutable: one button never changes another.
    one, other = step_button("a", "q:a"), step_button("b", "q:b")
    assert one.text == "a" and other.text == "b"
    assert one.__dict__ is not other.__dict__
    assert one.model_fields_set is not other.model_fields_set
    assert one.__pydantic_private__ is not other.__pydantic_private__
    assert one.__pydantic_extra__ is not other.__pydantic_extra__


def test_the_thanks_view_is_the_validated_view() -> None:
    """The end of a dialog draws its buttons as copies of validated models: every field, the
    fields set and the request it makes are what validating them gives."""
    from aiogram.types import InlineKeyboardButton, InlineKeyboardMarkup

    from handlers.texts import tr
    from handlers.views import OPT_IN_NO, OPT_IN_YES, ServiceNewsPress, thanks_view
    from questionnaires.schema import Language

    for language in Language:
        for service, title in ((None, None), ("licensing", "Лицензии"), ("x" * 70, None)):
            view = thanks_view("Спасибо <3", language, service, title)
            rows = [
                [
                    InlineKeyboardButton(
                        text=tr(language, "bot.optin_yes"), callback_data=OPT_IN_YES
                    )
                ]
            ]
            rows.append(
                [InlineKeyboardButton(text=tr(language, "bot.optin_no"), callback_data=OPT_IN_NO)]
            )
            if service is not None and len(service) < 60:
                label = tr(language, "bot.news_service", service=title or service)
                data = ServiceNewsPress(service=service).pack()
                rows.insert(1, [InlineKeyboardButton(text=label, callback_data=data)])
            validated = InlineKeyboardMarkup(inline_keyboard=rows)
            assert view.markup == validated
            assert view.markup is not None
            assert view.markup.model_dump_json() == validated.model_dump_json()
            assert view.markup.model_fields_set == validated.model_fields_set
            for made, expected in zip(
                (b for row in view.markup.inline_keyboard for b in row),
                (b for row in rows for b in row),
                strict=True,
            ):
                assert made.__dict__ == expected.__dict__
                assert made.model_fields_set == expected.model_fields_set
            assert view.text.startswith("Спасибо &lt;3\n\n")
    # A second drawing is a new markup: one dialog's keyboard never changes another's.
    one, other = (
        thanks_view("a", Language.RU, "licensing"),
        thanks_view("a", Language.RU, "licensing"),
    )
    assert one.markup is not None and other.markup is not None
    assert one.markup is not other.markup
    assert one.markup.inline_keyboard[1][0] is not other.markup.inline_keyboard[1][0]


async def test_funnel_counts_starts_completions_cancels_and_where_people_stopped(
    world: World,
) -> None:
    from datetime import date

    from reports.funnel import drop_off
    from reports.model import Period, QuestionnaireRoles, Scope

    for person_id in range(1, 8):  # seven people start
        person = world.harness.person(5000 + person_id)
        await person.send(LINK)
        await person.click("5")
        if person_id <= 3:  # three finish
            await person.click("Да")
            await person.click("1")
            await person.click("Пропустить")
        elif person_id == 4:  # one cancels
            await person.send("/cancel")
        # three stay at "solved"
    await world.funnel.flush()
    questionnaires = world.feedback._questionnaires
    roles = QuestionnaireRoles.from_questionnaires(questionnaires)
    day = date(2026, 11, 23)
    result = await drop_off(world.sessions, Period(day, day), Scope(), roles, min_group=1)
    assert result is not None
    assert (result.started, result.completed) == (7, 3)
    quits = {point.question_id: point.quits for point in result.quit_points}
    assert quits.get("solved") == 3


# ---- issue 9: a dialog never gets stuck, every press gets exactly one answer ---------------


def _answers_per_press(world: World) -> Counter[str]:
    return Counter(m.callback_query_id for m in world.harness.sent(AnswerCallbackQuery))


def _server_error(method: type[TelegramMethod[Any]]) -> TelegramServerError:
    return TelegramServerError(method=method.model_construct(), message="Internal Server Error")


async def test_press_on_an_older_step_redraws_the_current_step_on_that_message(
    world: World,
) -> None:
    anna = world.harness.person(1001)
    await anna.send(LINK)
    mid, _, first_markup = anna.live_message()
    assert first_markup is not None
    old_three = first_markup.inline_keyboard[0][2].callback_data
    assert old_three is not None
    await anna.click("2")
    await anna.click("Частично")
    await anna.press_data(old_three, mid)  # a button of question 1, long answered
    assert anna.alerts()[-1] == "Ответ уже учтён"
    current_id, text, _ = anna.live_message()
    assert current_id == mid and "Что помешало?" in text  # redrawn, not left behind
    await anna.click("Долгое ожидание")
    await anna.click("Готово")
    await anna.click("2")
    await anna.click("Пропустить")
    assert "Спасибо!" in anna.last_text()
    answers = {(a["question_id"], a["number"]) for a in await world.rows("answers")}
    assert ("overall", 2) in answers  # the old press changed nothing


async def test_failed_edit_after_the_state_was_saved_recovers_on_the_next_press(
    world: World, caplog: pytest.LogCaptureFixture
) -> None:
    """Regression (issue 9): the state moved on, the screen did not, every press then said
    "Ответ уже учтён" forever."""
    anna = world.harness.person(1001)
    await anna.send(LINK)
    world.harness.session.fail_next(EditMessageText, _server_error(EditMessageText))
    with caplog.at_level(logging.WARNING):
        await anna.click("4")  # saved, answered, but the edit fails (retries exhausted)
    assert "Вопрос 1 из" in anna.live_message()[1]  # the screen still shows question 1
    assert "временно недоступен" in anna.last_text()  # told once, as a message
    assert " ERROR" not in caplog.text and not any(
        r.levelno >= logging.ERROR for r in caplog.records
    )
    await anna.click("4")  # the same button again
    assert "Ваш вопрос решён?" in anna.live_message()[1]
    await anna.click("Да")
    await anna.click("1")
    await anna.click("Пропустить")
    assert "Спасибо!" in anna.last_text()
    assert len(await world.rows("responses")) == 1
    answers = {(a["question_id"], a["number"]) for a in await world.rows("answers")}
    assert ("overall", 4) in answers
    assert set(_answers_per_press(world).values()) == {1}


async def test_an_edit_refused_for_good_sends_the_step_as_a_new_message(world: World) -> None:
    anna = world.harness.person(1001)
    await anna.send(LINK)
    old_id, _, _ = anna.live_message()
    world.harness.session.fail_next(
        EditMessageText,
        TelegramBadRequest(
            method=EditMessageText(text="x"), message="Bad Request: message can't be edited"
        ),
    )
    await anna.click("5")
    new_id, text, _ = anna.live_message()
    assert new_id > old_id and "Ваш вопрос решён?" in text
    data = await world.storage.get_data(_key(world, 1001))
    assert data["m"] == new_id  # later text answers and redraws follow the new message
    await anna.click("Да")
    assert anna.live_message()[0] == new_id and "Вопрос 3 из" in anna.live_message()[1]


async def test_message_not_modified_is_success_without_error_or_second_answer(
    world: World, caplog: pytest.LogCaptureFixture
) -> None:
    anna = world.harness.person(1001)
    await anna.send("/start")
    mid, _, markup = anna.live_message()
    assert markup is not None
    service = markup.inline_keyboard[0][0].callback_data
    assert service is not None
    await anna.press_data(service, mid)
    world.harness.session.fail_next(
        EditMessageText,
        TelegramBadRequest(
            method=EditMessageText(text="x"),
            message="Bad Request: message is not modified: specified new message content and "
            "reply markup are exactly the same",
        ),
    )
    with caplog.at_level(logging.INFO):
        await anna.press_data(service, mid)  # the double tap on the picker
    assert not any(r.levelno >= logging.ERROR for r in caplog.records), caplog.text
    assert set(_answers_per_press(world).values()) == {1}
    assert len(await world.rows("fsm_states")) == 1  # one dialog, not two


@pytest.mark.parametrize(
    "data",
    [
        "zzz",
        ":",
        "",
        "q:abc:notanint:r:1",
        "q:abcdef:99999999999999999999999:r:1",
        "q:abcdef:1:r:" + "9" * 60,
        "p:-5:",
        "p:99999999999999999999:",
        "w:99999999999999999999",
        "w:-1",
        "o:maybe",
        "rep:1:w:",
        "wa:close:1",
        "wa:drop:x",
    ],
)
async def test_every_forged_or_foreign_press_is_answered_once_politely(
    world: World, caplog: pytest.LogCaptureFixture, data: str
) -> None:
    anna = world.harness.person(1001)
    await anna.send(LINK)
    with caplog.at_level(logging.INFO):
        await anna.press_data(data, anna.live_message()[0])
    assert not any(r.levelno >= logging.ERROR for r in caplog.records), caplog.text
    assert list(_answers_per_press(world).values()) == [1]
    [answer] = world.harness.sent(AnswerCallbackQuery)
    assert answer.text in ("Эта кнопка больше не активна", "Ответ уже учтён") or (
        "завершённому или старому" in str(answer.text)
    )
    assert "Вопрос 1 из" in anna.live_message()[1]  # the dialog is untouched


async def test_english_user_gets_the_inactive_button_answer_in_english(world: World) -> None:
    john = world.harness.person(2002, language="en")
    await john.send("/start")
    await john.press_data("zzz", john.live_message()[0])
    assert john.alerts() == ["This button is no longer active"]


async def test_error_after_the_press_was_answered_is_told_by_message_not_a_second_answer(
    world: World,
) -> None:
    anna = world.harness.person(1001)
    await anna.send(LINK)
    world.harness.session.fail_next(EditMessageText, _server_error(EditMessageText))
    world.harness.session.fail_next(SendMessage, _server_error(SendMessage))
    await anna.click("3")  # edit fails, then the fallback send fails too
    assert set(_answers_per_press(world).values()) == {1}


async def test_officer_sees_translated_errors_never_exception_text(world: World) -> None:
    officer = world.harness.person(OFFICER_ID)
    await officer.send("/help")
    mid = officer.live_message()[0]
    for data in ("wa:close:abc", "wa:close:999", "wa:close:99999999999999999999", "wa:open:nope"):
        await officer.press_data(data, mid)
    alerts = officer.alerts()
    assert len(alerts) == 4
    for alert in alerts:
        assert not any(word in alert for word in ("no window", "no campaign", "invalid literal"))
        assert any("а" <= char <= "я" for char in alert), alert
    await officer.send("/invite hr 5000")
    assert "от 1 до 1000 кодов за раз" in officer.last_text()
    await officer.send("/invite hr 99999999999999999999")
    assert "нет в каталоге" in officer.last_text()
    assert "ask for" not in officer.last_text()


async def test_invisible_comment_is_refused_and_control_characters_never_stored(
    world: World,
) -> None:
    anna = world.harness.person(1001)
    await anna.send(LINK)
    await anna.click("5")
    await anna.click("Да")
    await anna.click("1")
    await anna.send("\u200b\u2800")
    assert "нет видимых символов" in anna.last_text()
    await anna.send("Всё\x00 хорошо\x07")
    assert "Спасибо!" in anna.last_text()
    [comment] = [a["text"] for a in await world.rows("answers") if a["question_id"] == "comment"]
    assert comment == "Всё хорошо"


async def test_retry_middleware_sits_out_flood_control_on_the_answer_path(world: World) -> None:
    sleeps: list[float] = []

    async def sleep(delay: float) -> None:
        sleeps.append(delay)

    world.harness.session.middleware(RetryRequests(sleep=sleep))
    anna = world.harness.person(1001)
    await anna.send(LINK)
    failing: list[TelegramMethod[Any]] = [
        EditMessageText(text="x"),
        AnswerCallbackQuery(callback_query_id="x"),
    ]
    for method in failing:
        world.harness.session.fail_next(
            type(method),
            TelegramRetryAfter(method=method, message="Too Many Requests", retry_after=2),
        )
    await anna.click("5")
    assert sleeps == [2.0, 2.0]
    assert "Ваш вопрос решён?" in anna.live_message()[1]
    assert list(_answers_per_press(world).values()) == [2]  # refused once, then answered


def _key(world: World, user_id: int) -> StorageKey:
    return StorageKey(bot_id=BOT_ID, chat_id=user_id, user_id=user_id)
