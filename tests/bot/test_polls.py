"""Poll windows and staff through the dispatcher: invitations, answering once, late answers,
enrollment, initiative feedback, published results."""

from __future__ import annotations

from datetime import timedelta

from aiogram.methods import SendMessage

from tests.bot.conftest import OFFICER_ID, World
from tests.bot.harness import Person


async def answer_everything(person: Person, limit: int = 80) -> None:
    """Walk a dialog to its end: skip what may be skipped, else the first choice, else text."""
    for _ in range(limit):
        if "Вопрос" not in person.last_text() and "Question" not in person.last_text():
            return
        buttons = person.buttons()
        if "Пропустить →" in buttons:
            await person.click("Пропустить →")
        elif "Готово ✓" in buttons:
            await person.click(buttons[0])
            await person.click("Готово ✓")
        elif [b for b in buttons if b != "← Назад"]:
            await person.click(next(b for b in buttons if b != "← Назад"))
        else:
            await person.send("Хорошо")
    raise AssertionError("the dialog did not end")


def _texts_to(world: World, chat_id: int) -> list[str]:
    return [str(m.text) for m in world.harness.sent(SendMessage) if int(m.chat_id) == chat_id]


async def _open_deep_poll(world: World) -> int:
    officer = world.harness.person(OFFICER_ID)
    await officer.send("/poll_open")
    await officer.click(officer.buttons()[0])
    [window] = await world.campaigns.open_windows("external")
    return window.id


async def test_officer_opens_a_poll_and_subscribers_are_invited(world: World) -> None:
    anna = world.harness.person(1001)
    await anna.send("/polls")
    await anna.click("🔔 Приглашать меня на опросы")
    window_id = await _open_deep_poll(world)
    world.clock_now[0] = world.clock_now[0].replace(hour=3)  # 12:00 in Yakutsk: sending hours
    await world.campaigns.tick(world.clock_now[0])
    invitations = _texts_to(world, 1001)
    assert any(f"start=w{window_id}" in text for text in invitations)
    stranger = _texts_to(world, 2002)
    assert stranger == []


async def test_a_person_answers_a_window_once(world: World) -> None:
    window_id = await _open_deep_poll(world)
    anna = world.harness.person(1001)
    await anna.send(f"/start w{window_id}")
    await answer_everything(anna)
    assert "Спасибо" in anna.last_text()
    [response] = await world.rows("responses")
    assert response["window_id"] == window_id and response["questionnaire_id"] == "deep_external"
    await anna.send(f"/start w{window_id}")
    assert "уже ответили" in anna.last_text()
    assert len(await world.rows("responses")) == 1


async def test_an_answer_after_closing_is_refused_politely(world: World) -> None:
    window_id = await _open_deep_poll(world)
    anna = world.harness.person(1001)
    await anna.send(f"/start w{window_id}")
    await anna.click(anna.buttons()[0])
    await world.campaigns.close_now(window_id)
    await answer_everything(anna)
    assert "уже завершён" in anna.last_text()
    assert await world.rows("responses") == []
    await anna.send(f"/start w{window_id}")
    assert "уже завершён" in anna.last_text()


async def test_unknown_window_link_gets_a_clear_message(world: World) -> None:
    anna = world.harness.person(1001)
    await anna.send("/start w999")
    assert "Такого опроса нет" in anna.last_text()


async def test_staff_enroll_once_answer_staff_poll_and_stay_anonymous(world: World) -> None:
    officer = world.harness.person(OFFICER_ID)
    await officer.send("/invite Отдел лицензирования 2")
    codes = [
        line.removeprefix("<code>").removesuffix("</code>")
        for line in officer.last_text().splitlines()
        if line.startswith("<code>")
    ]
    assert len(codes) == 2
    ivan = world.harness.person(7770001234, username="ivan_staff")
    await ivan.send(f"/join {codes[0]}")
    assert "Отдел лицензирования" in ivan.last_text()
    petr = world.harness.person(7770005678)
    await petr.send(f"/join {codes[0]}")
    assert "уже использован" in petr.last_text()
    await petr.send("/join NOPE-CODE")
    assert "не найден" in petr.last_text()

    await officer.send("/poll_open")
    await officer.click(next(b for b in officer.buttons() if "сотрудник" in b.lower()))
    [window] = await world.campaigns.open_windows("staff")
    await petr.send(f"/start w{window.id}")
    assert "для сотрудников" in petr.last_text()
    await ivan.send(f"/start w{window.id}")
    await answer_everything(ivan)
    [response] = await world.rows("responses")
    assert response["department"] == "Отдел лицензирования"
    for table in (
        "responses",
        "answers",
        "dedup_keys",
        "fsm_states",
        "staff_members",
        "invite_codes",
    ):
        dump = repr(await world.rows(table))
        assert "7770001234" not in dump and "ivan_staff" not in dump, table


async def test_initiative_feedback_reaches_the_officer_without_identity(world: World) -> None:
    officer = world.harness.person(OFFICER_ID)
    await officer.send("/invite Отдел кадров 1")
    code = next(
        line.removeprefix("<code>").removesuffix("</code>")
        for line in officer.last_text().splitlines()
        if line.startswith("<code>")
    )
    olga = world.harness.person(7770009012, username="olga_hr")
    await olga.send("/feedback")
    assert "для сотрудников" in olga.last_text()
    await olga.send(f"/join {code}")
    await olga.send("/feedback")
    await olga.click(olga.buttons()[0])
    await olga.send("Нужен второй сканер в приёмной")
    forwarded = _texts_to(world, OFFICER_ID)[-1]
    assert "Инициативный отзыв" in forwarded and "второй сканер" in forwarded
    assert "Отдел кадров" in forwarded
    assert "7770009012" not in forwarded and "olga_hr" not in forwarded
    [response] = await world.rows("responses")
    assert response["kind"] == "initiative" and response["department"] == "Отдел кадров"


async def test_results_are_published_after_the_window_closes(world: World) -> None:
    anna = world.harness.person(1001)
    await anna.send("/results")
    assert "не опубликованы" in anna.last_text()
    window_id = await _open_deep_poll(world)
    for person_id in range(3001, 3007):
        person = world.harness.person(person_id)
        await person.send(f"/start w{window_id}")
        await answer_everything(person)
    await world.campaigns.close_now(window_id)
    world.clock_now[0] += timedelta(hours=3)
    await world.campaigns.tick(world.clock_now[0])
    await anna.send("/results")
    assert "Результаты опроса" in anna.last_text() and "Ответили" in anna.last_text()


async def test_non_officer_cannot_open_polls_or_create_codes(world: World) -> None:
    anna = world.harness.person(1001)
    await anna.send("/poll_open")
    assert "Такой команды нет" in anna.last_text()
    await anna.send("/invite Отдел 5")
    assert "Такой команды нет" in anna.last_text()
