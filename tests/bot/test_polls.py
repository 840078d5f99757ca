"""Poll windows and staff through the dispatcher: invitations, answering once, late answers,
enrollment, initiative feedback, published results."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta
from typing import Any

from aiogram.methods import SendMessage
from sqlalchemy import text

from questionnaires.schema import Language
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


async def test_issue10_poll_open_confirms_with_a_link_that_can_be_tapped(world: World) -> None:
    window_id = await _open_deep_poll(world)
    confirmation = world.harness.person(OFFICER_ID).last_text()
    assert f"Ссылка: https://t.me/otklik_test_bot?start=w{window_id}" in confirmation
    assert "/start w" not in confirmation


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
    # Ivan is the only one enrolled in his department: it is not named, not even in storage.
    assert response["department"] is None
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


async def test_results_are_published_after_the_window_closes(world: World) -> None:
    anna = world.harness.person(1001)
    await anna.send("/results")
    # The public site's content (services.publication), and no poll window's results yet.
    assert "Результаты обратной связи" in anna.last_text()
    assert "Результаты опроса" not in anna.last_text()
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


# --- authorization (issue 8, item 5) ----------------------------------------------------------

SERVICE_OFFICER = 600600


def with_service_officer(world: World) -> None:
    """The licensing service gets an officer of its own (a per-service officer)."""
    catalog = world.reporting.catalog
    services = tuple(
        service.model_copy(update={"officer": SERVICE_OFFICER})
        if service.code == "licensing"
        else service
        for service in catalog.services
    )
    world.reporting.catalog = catalog.model_copy(update={"services": services})


async def test_a_citizen_forging_the_staff_subscription_button_is_refused(world: World) -> None:
    anna = world.harness.person(1001)
    await anna.send("/polls")
    assert "Присылать приглашения на опросы сотрудников" not in " ".join(anna.buttons())
    mid, _, _ = anna.live_message()
    await anna.press_data("w:0:staff_polls", mid)
    assert any("только для сотрудников" in alert for alert in anna.alerts())
    assert [row for row in await world.rows("opt_ins") if row["topic"] == "staff_polls"] == []
    await anna.send("/results")
    assert "Результаты обратной связи" in anna.last_text()
    assert "Результаты опроса" not in anna.last_text()


async def test_enrolled_staff_may_subscribe_to_staff_invitations(world: World) -> None:
    officer = world.harness.person(OFFICER_ID)
    await officer.send("/invite hr 1")
    [code] = [
        line.removeprefix("<code>").removesuffix("</code>")
        for line in officer.last_text().splitlines()
        if line.startswith("<code>")
    ]
    ivan = world.harness.person(7770001234)
    await ivan.send(f"/join {code}")
    assert "Отдел кадров" in ivan.last_text()
    await ivan.click("🔔 Присылать приглашения на опросы сотрудников")
    assert await world.opt_ins.chat_ids("staff_polls") == [7770001234]
    await world.opt_ins.flush(force=True)  # subscriptions are written in shuffled batches
    assert [row["topic"] for row in await world.rows("opt_ins")] == ["staff_polls"]


async def test_a_per_service_officer_cannot_open_or_close_polls_or_issue_codes(
    world: World,
) -> None:
    with_service_officer(world)
    window_id = await _open_deep_poll(world)  # opened by the body-wide officer
    olga = world.harness.person(SERVICE_OFFICER)
    for command in ("/poll_open", "/poll_close", "/invite hr 3", "/invite"):
        await olga.send(command)
        assert "Такой команды нет" in olga.last_text(), command
    await olga.send("/report")  # her own reports she does get
    assert "выберите период" in olga.last_text()
    mid, _, _ = olga.live_message()
    for forged in (f"wa:close:{window_id}", "wa:open:staff", "inv:hr:3"):
        await olga.press_data(forged, mid)
    assert [w.id for w in await world.campaigns.open_windows("external")] == [window_id]
    assert await world.campaigns.open_windows("staff") == []
    assert await world.rows("invite_codes") == []


async def test_a_per_service_officer_sees_only_her_services_reports(world: World) -> None:
    with_service_officer(world)
    olga = world.harness.person(SERVICE_OFFICER)
    await olga.send("/report")
    await olga.click("Прошлый месяц")
    assert olga.buttons() == ["Лицензирование деятельности по управлению многоквартирными домами"]
    mid, _, _ = olga.live_message()
    for forged in ("rep:0:m:appeals", "rep:0:m:*"):
        await olga.press_data(forged, mid)
    assert olga.alerts()[-2:] == ["Нет доступа к этой услуге"] * 2


# --- departments from the catalog (issue 8, item 5) --------------------------------------------


async def test_invite_refuses_a_look_alike_department_and_offers_the_catalog(
    world: World,
) -> None:
    officer = world.harness.person(OFFICER_ID)
    await officer.send("/invite Отдeл кадров 2")  # a Latin e
    text = officer.last_text()
    assert "нет в каталоге" in text and "похоже на «Отдел кадров»" in text
    assert "<code>" not in text
    assert await world.rows("invite_codes") == []
    assert "Отдел кадров" in officer.buttons() and "Юридический отдел" in officer.buttons()
    await officer.click("Отдел кадров")
    codes = [line for line in officer.last_text().splitlines() if line.startswith("<code>")]
    assert len(codes) == 2
    assert {row["department"] for row in await world.rows("invite_codes")} == {"hr"}


async def test_invite_without_a_department_offers_buttons(world: World) -> None:
    officer = world.harness.person(OFFICER_ID)
    await officer.send("/invite 3")
    assert "Выберите подразделение" in officer.last_text()
    await officer.click("Юридический отдел")
    assert "«Юридический отдел» (3)" in officer.last_text()


# --- initiative feedback: delayed, batched, to the internal officers (issue 8, item 5) -------

INTERNAL_OFFICER = 800800


def initiative_desk(
    world: World, officers: tuple[int, ...] = (INTERNAL_OFFICER,), languages: Any = None
) -> Any:
    from services.initiative import InitiativeDesk
    from storage.deliveries import DeliveryStore
    from storage.staff import StaffStore
    from tests.bot.conftest import ZONE

    class Outbox:
        async def text(self, chat_id: int, html: str) -> None:
            await world.harness.bot.send_message(chat_id, html)

    return InitiativeDesk(
        store=StaffStore(world.sessions),
        deliveries=DeliveryStore(world.sessions),
        departments=world.campaigns.enrolment,
        questionnaires={"initiative": world.feedback.questionnaire("initiative")},
        officer_ids=officers,
        send=Outbox(),
        zone=ZONE,
        hour=10,
        clock=lambda: world.clock_now[0],
        languages=languages,
    )


async def enrol_staff(world: World, department: str, people: list[int]) -> None:
    officer = world.harness.person(OFFICER_ID)
    await officer.send(f"/invite {department} {len(people)}")
    codes = [
        line.removeprefix("<code>").removesuffix("</code>")
        for line in officer.last_text().splitlines()
        if line.startswith("<code>")
    ]
    for person_id, code in zip(people, codes, strict=True):
        await world.harness.person(person_id).send(f"/join {code}")


async def leave_feedback(world: World, person: Person, text: str) -> None:
    await person.send("/feedback")
    await person.click(person.buttons()[0])
    await person.send(text)
    assert "Спасибо" in person.last_text()


OPT_IN_QUESTION = "Хотите узнать, что изменится"


async def test_issue10_staff_are_not_offered_the_citizen_opt_in(world: World) -> None:
    ids = [7770009012, 7770009013, 7770009014, 7770009015, 7770009016]
    await enrol_staff(world, "hr", ids)
    olga = world.harness.person(ids[0])
    await leave_feedback(world, olga, "Нужен второй сканер в приёмной")
    assert OPT_IN_QUESTION not in olga.last_text()
    assert "Да, сообщите мне" not in olga.buttons()
    officer = world.harness.person(OFFICER_ID)
    await officer.send("/poll_open")
    await officer.click(next(b for b in officer.buttons() if "сотрудник" in b.lower()))
    [window] = await world.campaigns.open_windows("staff")
    ivan = world.harness.person(ids[1])
    await ivan.send(f"/start w{window.id}")
    await answer_everything(ivan)
    assert "Спасибо" in ivan.last_text()
    assert OPT_IN_QUESTION not in ivan.last_text()
    assert "Да, сообщите мне" not in ivan.buttons()
    # Citizens still get it after an external questionnaire.
    anna = world.harness.person(1001)
    await anna.send(f"/start {await _deep_poll_payload(world)}")
    await answer_everything(anna)
    assert OPT_IN_QUESTION in anna.last_text()
    assert "Да, сообщите мне" in anna.buttons()


async def _deep_poll_payload(world: World) -> str:
    officer = world.harness.person(OFFICER_ID)
    await officer.send("/poll_open")
    await officer.click(officer.buttons()[0])
    [window] = await world.campaigns.open_windows("external")
    return f"w{window.id}"


async def test_initiative_feedback_waits_for_the_daily_batch_of_the_internal_officer(
    world: World,
) -> None:
    desk = initiative_desk(world)
    world.feedback.queue_initiative_with(desk)
    olga = world.harness.person(7770009012, username="olga_hr")
    await olga.send("/feedback")
    assert "для сотрудников" in olga.last_text()
    await enrol_staff(world, "hr", [7770009012, 7770009013, 7770009014, 7770009015, 7770009016])
    # 2026-11-23 18:30 in Yakutsk: written today, after today's batch hour.
    await leave_feedback(world, olga, "Нужен второй сканер в приёмной")
    sent_before = len(world.harness.sent(SendMessage))
    assert await desk.tick() == 0  # written today: not before tomorrow's batch
    world.clock_now[0] = datetime(2026, 11, 24, 0, 30, tzinfo=UTC)  # 09:30 next day, local
    assert await desk.tick() == 0  # not before the hour
    assert len(world.harness.sent(SendMessage)) == sent_before
    assert not [t for t in _texts_to(world, OFFICER_ID) if "сканер" in t]
    [queued] = await world.rows("initiative_queue")
    assert "сканер" in str(queued["body_html"]) and str(queued["received_on"]) == "2026-11-23"

    # The bot restarts: a new desk finds the message in the database and delivers it at 10:00.
    world.clock_now[0] = datetime(2026, 11, 24, 1, 5, tzinfo=UTC)
    restarted = initiative_desk(world)
    assert await restarted.tick() == 1
    [batch] = _texts_to(world, INTERNAL_OFFICER)
    assert "Инициативные сообщения" in batch and "второй сканер" in batch
    assert "Подразделение: Отдел кадров" in batch  # five enrolled: the department may show
    assert "7770009012" not in batch and "olga_hr" not in batch
    assert re.search(r"\b\d{1,2}:\d{2}\b", batch) is None  # no time of day at all
    assert await world.rows("initiative_queue") == []
    # Body-wide and per-service officers never see it; a second tick sends nothing again.
    assert not [t for t in _texts_to(world, OFFICER_ID) if "сканер" in t]
    assert await restarted.tick() == 0
    assert len(_texts_to(world, INTERNAL_OFFICER)) == 1
    [response] = await world.rows("responses")
    assert response["kind"] == "initiative" and response["department"] == "hr"


async def test_an_english_internal_officer_gets_the_initiative_batch_in_english(
    world: World,
) -> None:
    """Issue 12 item 2: the batch's own words and the department in the officer's language;
    each message stays as it was stored (the staff member's text, its topic line)."""
    from services.officer_languages import FixedLanguages

    desk = initiative_desk(world, languages=FixedLanguages(Language.EN))
    world.feedback.queue_initiative_with(desk)
    await enrol_staff(world, "hr", [7770009012, 7770009013, 7770009014, 7770009015, 7770009016])
    await leave_feedback(world, world.harness.person(7770009012), "Нужен второй сканер")
    world.clock_now[0] = datetime(2026, 11, 24, 1, 5, tzinfo=UTC)  # 10:05 next day, local
    assert await desk.tick() == 1
    [batch] = _texts_to(world, INTERNAL_OFFICER)
    assert "Staff's own messages" in batch and "Received before 24.11.2026: 1." in batch
    assert "Department: HR department" in batch
    assert "Инициативные" not in batch and "Подразделение" not in batch
    assert "Нужен второй сканер" in batch  # the staff member's words, as written
    # Issue 12 (lang2): the topic line too, rendered from the stored topic at delivery.
    assert "Topic: Equipment" in batch
    assert "Тема" not in batch and "Техническое оснащение" not in batch
    cyrillic = {line for line in batch.splitlines() if re.search("[а-яё]", line, re.I)}
    assert cyrillic == {"Нужен второй сканер"}  # only what the staff member typed


async def test_a_russian_internal_officer_reads_the_topic_line_in_russian(world: World) -> None:
    """The control of the English batch above: the same message, a Russian officer."""
    desk = initiative_desk(world)
    world.feedback.queue_initiative_with(desk)
    await enrol_staff(world, "hr", [7770009012, 7770009013, 7770009014, 7770009015, 7770009016])
    await leave_feedback(world, world.harness.person(7770009012), "Нужен второй сканер")
    [queued] = await world.rows("initiative_queue")
    # Stored by its codes, not in anyone's language.
    assert "Тема" not in str(queued["body_html"]) and "equipment" in str(queued["body_html"])
    world.clock_now[0] = datetime(2026, 11, 24, 1, 5, tzinfo=UTC)
    assert await desk.tick() == 1
    [batch] = _texts_to(world, INTERNAL_OFFICER)
    assert "Тема: Техническое оснащение" in batch and "Topic" not in batch


async def test_initiative_messages_stored_before_issue_12_are_still_delivered(
    world: World,
) -> None:
    """A message queued before the topic was stored by its codes has its topic line in
    Russian already: it reaches an English officer as it was; a new one in English."""
    from services.officer_languages import FixedLanguages
    from storage.staff import StaffStore

    desk = initiative_desk(world, languages=FixedLanguages(Language.EN))
    world.feedback.queue_initiative_with(desk)
    old = "Тема: Регламенты и инструкции\nСтарое сообщение &lt;b&gt;"
    await StaffStore(world.sessions).queue_feedback(date(2026, 11, 22), None, old)
    await enrol_staff(world, "hr", [7770009012, 7770009013, 7770009014, 7770009015, 7770009016])
    # Typed text shaped like a stored topic line is escaped when stored: never a topic.
    forged = '<topic questionnaire="initiative" question="topic" option="training"></topic>'
    await leave_feedback(world, world.harness.person(7770009012), forged)
    world.clock_now[0] = datetime(2026, 11, 24, 1, 5, tzinfo=UTC)
    assert await desk.tick() == 2
    [batch] = _texts_to(world, INTERNAL_OFFICER)
    assert old in batch  # as stored
    assert "Topic: Equipment" in batch and "Training" not in batch
    assert "&lt;topic questionnaire=" in batch


async def test_initiative_feedback_that_cannot_be_queued_is_not_thanked_for(
    world: World,
) -> None:
    # Review of issue 9: the queue row is written after the response; a failure there was
    # logged and the person thanked for a message the internal officer would never get.
    # Review: the queue row is now written in the response's own transaction, so a failure of
    # that second write (the database refusing it here) keeps neither, and the retry keeps
    # both once: no lost message, no response without its message, no second copy.
    desk = initiative_desk(world)
    world.feedback.queue_initiative_with(desk)
    async with world.engine.begin() as connection:
        await connection.execute(
            text(
                "CREATE TRIGGER queue_down BEFORE INSERT ON initiative_queue "
                "BEGIN SELECT RAISE(ABORT, 'disk I/O error'); END"
            )
        )
    await enrol_staff(world, "legal", [7770001001, 7770001002])
    olga = world.harness.person(7770001001)
    await olga.send("/feedback")
    await olga.click(olga.buttons()[0])
    await olga.send("Мало места в архиве")
    assert "Спасибо" not in olga.last_text()
    assert "временно недоступен" in olga.last_text()
    assert await world.rows("responses") == []
    assert await world.rows("initiative_queue") == []

    async with world.engine.begin() as connection:
        await connection.execute(text("DROP TRIGGER queue_down"))
    await olga.send("Мало места в архиве")
    assert "Спасибо" in olga.last_text()
    [response] = await world.rows("responses")
    assert response["kind"] == "initiative"
    [queued] = await world.rows("initiative_queue")
    assert "Мало места в архиве" in str(queued["body_html"])


async def test_initiative_feedback_names_no_department_with_too_few_staff(world: World) -> None:
    desk = initiative_desk(world)
    world.feedback.queue_initiative_with(desk)
    await enrol_staff(world, "legal", [7770001001, 7770001002])
    await leave_feedback(world, world.harness.person(7770001001), "Мало места в архиве")
    world.clock_now[0] = datetime(2026, 11, 24, 1, 5, tzinfo=UTC)
    assert await desk.tick() == 1
    [batch] = _texts_to(world, INTERNAL_OFFICER)
    assert "Мало места в архиве" in batch
    assert "Подразделение" not in batch and "Юридический" not in batch
    [response] = await world.rows("responses")
    assert response["department"] is None


async def test_an_officer_who_got_a_batch_is_not_sent_it_again_when_another_failed(
    world: World,
) -> None:
    # Review of issue 9: the items stay queued while one officer lacks them, and the next day's
    # batch went to everybody again, so the officer who had it read the same messages twice.
    second = 800801
    desk = initiative_desk(world, officers=(INTERNAL_OFFICER, second))
    world.feedback.queue_initiative_with(desk)
    real_send = desk._send
    down = {second}

    class Flaky:
        async def text(self, chat_id: int, html: str) -> None:
            if chat_id in down:
                raise OSError("chat unreachable")
            await real_send.text(chat_id, html)

    desk._send = Flaky()
    people = [7770003001, 7770003002, 7770003003, 7770003004, 7770003005]
    await enrol_staff(world, "hr", people)
    await leave_feedback(world, world.harness.person(people[0]), "Первое сообщение")
    world.clock_now[0] = datetime(2026, 11, 24, 1, 5, tzinfo=UTC)  # 10:05 local, next day
    assert await desk.tick() == 0  # one officer lacks it: kept
    assert len(_texts_to(world, INTERNAL_OFFICER)) == 1
    await leave_feedback(world, world.harness.person(people[1]), "Второе сообщение")
    down.clear()
    world.clock_now[0] = datetime(2026, 11, 25, 1, 5, tzinfo=UTC)
    assert await desk.tick() == 2
    first, again = _texts_to(world, INTERNAL_OFFICER)
    assert "Первое сообщение" in first and "Второе" not in first
    assert "Второе сообщение" in again and "Первое" not in again
    [both] = _texts_to(world, second)
    assert "Первое сообщение" in both and "Второе сообщение" in both
    assert await world.rows("initiative_queue") == []


async def test_a_batch_in_random_order_and_kept_until_an_internal_officer_is_set(
    world: World,
) -> None:
    unset = initiative_desk(world, officers=())
    world.feedback.queue_initiative_with(unset)
    people = list(range(7770002001, 7770002011))
    await enrol_staff(world, "support", people)
    for number, person_id in enumerate(people):
        await leave_feedback(world, world.harness.person(person_id), f"Сообщение номер {number}")
    world.clock_now[0] = datetime(2026, 11, 24, 1, 5, tzinfo=UTC)
    assert await unset.tick() == 0
    assert len(await world.rows("initiative_queue")) == 10  # nobody to deliver to: kept
    assert await initiative_desk(world).tick() == 10
    [batch] = _texts_to(world, INTERNAL_OFFICER)
    order = [int(n) for n in re.findall(r"Сообщение номер (\d+)", batch)]
    assert sorted(order) == list(range(10))
    assert order != list(range(10))  # shuffled (a 1 in 3.6 million chance of a false alarm)


async def test_many_invite_codes_are_split_into_messages_that_fit_telegram(world: World) -> None:
    officer = world.harness.person(OFFICER_ID)
    await officer.send("/invite hr 400")
    texts = _texts_to(world, OFFICER_ID)
    assert len(texts) >= 2 and all(len(text) <= 4096 for text in texts)
    assert sum(text.count("<code>") for text in texts) == 400
    await officer.send("/invite hr ²")  # a digit to isdigit(), not to int(): not a count
    assert "нет в каталоге" in officer.last_text()
