"""The MAX front: start links, the picker, the dialog edited in place, typed answers, stale and
forged presses answered once, other content, languages, and persons of their own."""

from __future__ import annotations

import pytest
from aiogram.fsm.storage.base import StorageKey

from bot.max import MAX_BOT_ID
from max_front.front import MaxDialogState
from max_front.persons import MAX_PERSONS, max_key, person_of
from max_front.polling import handle_batch
from questionnaires.deeplinks import max_start_link as start_link
from questionnaires.i18n import tr
from questionnaires.schema import Language
from services.dialog import DialogData
from storage.fsm import FsmCommitError
from tests.dialog.conftest import PEPPER
from tests.max_front.conftest import Chat, Setup

LINK = "licensing_office"


async def rate_five_and_finish(setup: Setup, chat: Chat) -> None:
    front, api = setup.front, setup.api
    await front.handle(chat.started(LINK))
    await front.handle(chat.press(api.payload("5")))
    await front.handle(chat.press(api.payload("Да")))
    await front.handle(chat.press(api.payload("1")))
    await front.handle(chat.text("Всё хорошо"))
    assert "Спасибо" in api.timeline[-1].text


def test_start_link_is_max_format() -> None:
    assert start_link("otklik_bot", LINK) == "https://max.ru/otklik_bot?start=licensing_office"


def test_max_persons_are_a_namespace_of_their_own() -> None:
    key = max_key(PEPPER)
    person = person_of(key, 42)
    assert person != 42 and person >= MAX_PERSONS > 2**63  # never a Telegram id, never a web one
    assert person == person_of(key, 42) != person_of(key, 43)
    assert person_of(max_key(b"another-pepper-0123456789"), 42) != person


async def test_telegram_user_42_and_max_user_42_are_different_people(max_setup: Setup) -> None:
    await rate_five_and_finish(max_setup, Chat(42))
    feedback = max_setup.desk.feedback
    assert not await feedback.may_rate(max_setup.front.person(42), "licensing")
    assert await feedback.may_rate(42, "licensing")  # Telegram user 42 has not rated
    [response] = await max_setup.desk.rows("responses")
    assert (response["service_code"], response["channel_code"]) == ("licensing", "office")
    assert response["front"] == "max"  # issue 13: the response records its messenger


async def test_start_link_opens_the_rating_and_presses_edit_it_in_place(
    max_setup: Setup,
) -> None:
    front, api = max_setup.front, max_setup.api
    chat = Chat(7001)
    await front.handle(chat.started(LINK))
    [(user, first)] = api.sent
    assert user == 7001 and "Вопрос 1 из" in first.text
    await front.handle(chat.press(api.payload("4")))
    assert api.sent == [(7001, first)]  # no new message: the answer replaced the pressed one
    [(_, view, _)] = api.answers
    assert view is not None and "Ваш вопрос решён?" in view.text


async def test_unknown_or_missing_payload_shows_the_service_picker(max_setup: Setup) -> None:
    front, api = max_setup.front, max_setup.api
    chat = Chat(7002)
    await front.handle(chat.started("no_such_link"))
    picker = api.timeline[-1]
    assert "ссылк" in picker.text.lower() and picker.keyboard
    await front.handle(chat.press(picker.keyboard[0][0].payload))
    assert "Вопрос 1 из" in api.timeline[-1].text
    await front.handle(chat.text("/start"))
    assert api.timeline[-1].keyboard and api.timeline[-1].keyboard[0][0].payload.startswith("p:")


async def test_typed_answer_moves_the_dialog_down_and_old_buttons_go(max_setup: Setup) -> None:
    front, api = max_setup.front, max_setup.api
    chat = Chat(7003)
    await front.handle(chat.started(LINK))
    await front.handle(chat.text("пять"))  # a button question: refused, said why
    assert "⚠️" in api.sent[-1][1].text and "Вопрос 1 из" in api.sent[-1][1].text
    assert api.edits == []
    live = api.sent[-1]
    await front.handle(chat.press(api.payload("2"), mid=f"mid.{len(api.sent)}"))
    await front.handle(chat.press(api.payload("Нет"), mid=f"mid.{len(api.sent)}"))
    await front.handle(chat.press(api.payload("▫️ Невежливые"), mid=f"mid.{len(api.sent)}"))
    assert "☑️ Невежливые сотрудники" in [b.text for r in api.timeline[-1].keyboard for b in r]
    await front.handle(chat.press(api.payload("Готово"), mid=f"mid.{len(api.sent)}"))
    await front.handle(chat.press(api.payload("2"), mid=f"mid.{len(api.sent)}"))
    assert "Что пошло не так" in api.timeline[-1].text and api.sent[-1] == live
    await front.handle(chat.text("Долго ждала"))
    assert "Спасибо" in api.sent[-1][1].text
    # The message that showed the dialog keeps no buttons: one live keyboard at a time.
    assert [(mid, view.keyboard) for mid, view in api.edits] == [("mid.2", ())]


async def test_back_and_skip_move_through_the_dialog(max_setup: Setup) -> None:
    front, api = max_setup.front, max_setup.api
    chat = Chat(7004)
    await front.handle(chat.started(LINK))
    await front.handle(chat.press(api.payload("3")))
    await front.handle(chat.press(api.payload("← Назад")))
    assert "Вопрос 1 из" in api.timeline[-1].text
    assert "• 3 •" in [b.text for row in api.timeline[-1].keyboard for b in row]
    await front.handle(chat.press(api.payload("5")))
    await front.handle(chat.press(api.payload("Да")))
    await front.handle(chat.press(api.payload("1")))
    await front.handle(chat.press(api.payload("Пропустить")))
    assert "Спасибо" in api.timeline[-1].text


async def test_every_press_is_answered_exactly_once(max_setup: Setup) -> None:
    front, api = max_setup.front, max_setup.api
    chat = Chat(7005)
    await front.handle(chat.started(LINK))
    old = api.payload("4")
    await front.handle(chat.press(old))
    await front.handle(chat.press(old))  # a double tap: already counted, the step drawn again
    assert "Ваш вопрос решён?" in api.timeline[-1].text
    await front.handle(chat.press("q:ffffff:0:r:5"))  # another dialog's button
    await front.handle(chat.press("q:not-a-press"))  # forged
    await front.handle(chat.press("w:99"))  # no such poll window
    ids = [callback for callback, _, _ in api.answers]
    assert len(ids) == len(set(ids)) == 5
    assert all(notification for _, _, notification in api.answers[2:])  # said, not silent


async def test_an_edit_max_refuses_sends_the_step_as_a_new_message(max_setup: Setup) -> None:
    front, api = max_setup.front, max_setup.api
    chat = Chat(7006)
    await front.handle(chat.started(LINK))
    api.refuse_replacements = 1
    await front.handle(chat.press(api.payload("4")))
    [(_, none, notification)] = api.answers  # still answered, once
    assert none is None and notification
    assert len(api.sent) == 2 and "Ваш вопрос решён?" in api.sent[-1][1].text
    state = max_setup.storage
    person = front.person(7006)
    data = await state.get_data(StorageKey(MAX_BOT_ID, person, person))
    assert data["max_m"] == "mid.2"  # the new message is the live one


async def test_stickers_and_other_content_are_answered_clearly(max_setup: Setup) -> None:
    front, api = max_setup.front, max_setup.api
    await front.handle(Chat(7007).text("", [{"type": "sticker", "payload": {"code": "x"}}]))
    assert api.sent[-1][1].text and not api.sent[-1][1].keyboard
    await front.handle(Chat(7007).text("просто текст без опроса"))
    assert api.sent[-1][1].text and len(api.sent) == 2


async def test_english_locale_gets_english(max_setup: Setup) -> None:
    front, api = max_setup.front, max_setup.api
    await front.handle(Chat(7008, locale="en-GB").started(LINK))
    assert "Question 1 of" in api.timeline[-1].text


async def test_staff_feedback_needs_an_invite_code(max_setup: Setup) -> None:
    front, api = max_setup.front, max_setup.api
    chat = Chat(7009)
    await front.handle(chat.text("/feedback"))
    assert "Вопрос" not in api.sent[-1][1].text
    [code] = await max_setup.desk.campaigns.enrolment.create_invite_codes("licensing", 1)
    await front.handle(chat.text(f"/join {code}"))
    assert "Отдел лицензирования" in api.sent[-1][1].text and "MAX" in api.sent[-1][1].text
    await front.handle(chat.text("/feedback"))
    assert "Вопрос 1 из" in api.sent[-1][1].text
    assert await max_setup.desk.campaigns.enrolment.is_staff(front.person(7009))
    assert not await max_setup.desk.campaigns.enrolment.is_staff(7009)


async def test_a_failing_update_does_not_stop_the_others_and_order_is_kept() -> None:
    seen: list[str] = []

    async def handle(update: dict[str, object]) -> None:
        seen.append(str(update["n"]))
        if update["n"] == "a1":
            raise RuntimeError("boom")

    def message(user: int, n: str) -> dict[str, object]:
        return {"update_type": "message_created", "n": n,
                "message": {"sender": {"user_id": user}}}  # fmt: skip

    await handle_batch(
        [message(1, "a1"), message(2, "b1"), message(1, "a2"), message(2, "b2")], handle
    )
    assert seen.index("a1") < seen.index("a2") and seen.index("b1") < seen.index("b2")
    assert sorted(seen) == ["a1", "a2", "b1", "b2"]


@pytest.mark.parametrize("payload", ["", "q:abc:1:r", "q:abc:x:r:5", "q::1:r:5", "q:a:1:z:5"])
def test_forged_step_payloads_are_not_steps(payload: str) -> None:
    from max_front.views import parse_step

    assert parse_step(payload) is None


async def test_a_storage_outage_is_told_and_the_press_still_answered_once(
    max_setup: Setup,
) -> None:
    front, api = max_setup.front, max_setup.api
    chat = Chat(7010)
    await front.handle(chat.started(LINK))
    healthy = front.state_for

    class Down:
        """The dialog state store while the database is down."""

        def __init__(self, inner: MaxDialogState) -> None:
            self.inner = inner

        async def load(self) -> DialogData | None:
            return await self.inner.load()

        async def save(self, data: DialogData) -> None:
            raise FsmCommitError("database is locked", ConnectionError())

        async def clear(self) -> None:
            raise FsmCommitError("database is locked", ConnectionError())

        async def message_id(self) -> str | None:
            return await self.inner.message_id()

        async def set_message_id(self, message_id: str | None) -> None:
            raise FsmCommitError("database is locked", ConnectionError())

    four = api.payload("4")
    front.state_for = lambda person: Down(healthy(person))
    press = chat.press(four)
    await front.handle(press)
    assert [callback for callback, _, _ in api.answers] == [press["callback"]["callback_id"]]
    assert api.sent[-1][1].text == tr(Language.RU, "bot.try_later")
    front.state_for = healthy  # the database is back: the same button works
    await front.handle(chat.press(four))
    assert "Ваш вопрос решён?" in api.timeline[-1].text
