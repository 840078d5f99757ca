"""/comments through the dispatcher: category counts, re-tag buttons, stale and forged presses,
an officer who may not see the service; buttons that say nothing about order or time."""

from __future__ import annotations

import re
from datetime import date

import pytest
from aiogram.types import InlineKeyboardMarkup

from bot.content import load_content
from bot.settings import ContentSettings
from questionnaires.fronts import Front
from questionnaires.open_answers import load_categories
from questionnaires.results import AnswerRow, CompletedResponse, ResponseContext
from questionnaires.schema import Language
from reports.model import Period, QuestionnaireRoles, Scope
from services.open_answers import OpenAnswersService
from storage.open_answers import OpenAnswerStore
from storage.responses import ResponseStore
from tests.bot.conftest import OFFICER_ID, World, migrated_template, world

__all__ = ["migrated_template", "world"]

SERVICE_OFFICER = 600600
INTERNAL_OFFICER = 800800
COMMENTS = (
    "Огромная очередь",
    "Вежливый сотрудник, спасибо",
    "Ждали в очереди час",
    "Попросили лишнюю справку",
    "Погода хорошая",
    "Сайт непонятный",
)
BUTTON = re.compile(r"^oa:[0-9a-f]{8}:\d{1,5}:[tgr]:[a-z_]*$")


async def _seed(world: World, service: str = "licensing") -> None:
    store = ResponseStore(world.sessions)
    for text in COMMENTS:
        await store.save(
            CompletedResponse(
                questionnaire_id="post_service",
                questionnaire_version=1,
                kind="post_service",
                audience="external",
                context=ResponseContext(service=service, channel="office"),
                submitted_on=date(2026, 11, 18),  # last week: the clock says 2026-11-23
                answers=(
                    AnswerRow("overall", number=4),
                    AnswerRow("solved", option_id="yes"),
                    AnswerRow("comment", text=text),
                ),
            )
        )


@pytest.fixture
def desk(world: World) -> OpenAnswersService:
    defaults = ContentSettings()
    content = load_content(defaults.questionnaires_dir, defaults.catalog_path)
    service = OpenAnswersService(
        reporting=world.reporting,
        sessions=world.sessions,
        store=OpenAnswerStore(world.sessions),
        categoriser=load_categories(),
        roles=QuestionnaireRoles.from_questionnaires(content.questionnaires),
        catalog=content.catalog,
        internal_officers=frozenset({INTERNAL_OFFICER}),
    )
    world.reporting.extras = service
    world.harness.dispatcher["open_answers"] = service
    return service


def _officer_of(world: World, service: str) -> None:
    catalog = world.reporting.catalog
    services = tuple(
        s.model_copy(update={"officer": SERVICE_OFFICER if s.code == service else None})
        for s in catalog.services
    )
    world.reporting.catalog = catalog.model_copy(update={"services": services})


def _data(markup: InlineKeyboardMarkup | None) -> list[str]:
    assert markup is not None
    return [str(b.callback_data) for row in markup.inline_keyboard for b in row]


async def _open(world: World, user: int) -> None:
    person = world.harness.person(user)
    await person.send("/comments")
    assert "выберите период" in person.last_text()
    await person.click("Прошлая неделя")


async def test_officer_sees_counts_and_re_tags_a_comment_with_buttons(
    world: World, desk: OpenAnswersService
) -> None:
    await _seed(world)
    officer = world.harness.person(OFFICER_ID)
    await _open(world, OFFICER_ID)
    await officer.click("Все услуги")
    counts = "\n".join(world.harness.texts(OFFICER_ID))
    assert "оставили комментарий: 6" in counts
    page = officer.last_text()
    first = sorted(COMMENTS, key=str.casefold)[0]
    assert "Комментарий 1 из 6" in page and first in page
    _, _, markup = officer.live_message()
    assert all(BUTTON.match(data) for data in _data(markup))  # no id, no day, no order
    assert markup is not None
    assert [b.text for b in markup.inline_keyboard[-1]] == ["▶"]  # navigation on its own row
    # Going through the list shows the comments in alphabetical order, whatever they came in.
    seen = []
    for _ in COMMENTS:
        text = officer.last_text()
        seen.append(next(c for c in COMMENTS if c in text))
        if "▶" in officer.buttons():
            await officer.click("▶")
    assert seen == sorted(COMMENTS, key=str.casefold)
    # On the last one («Сайт непонятный», information) the officer adds "Online services".
    assert "Категории: Информация и разъяснения" in officer.last_text()
    await officer.click("Онлайн-сервисы")
    assert officer.alerts()[-1] == "Сохранено"
    page = officer.last_text()
    assert "Информация и разъяснения, Онлайн-сервисы (изменено вручную)" in page
    assert "✓ Онлайн-сервисы" in officer.buttons()
    [row, other] = sorted(await world.rows("open_answer_tags"), key=lambda r: str(r["category"]))
    assert set(row) == {"answer_id", "category"}  # nothing about the officer or the moment
    assert {row["category"], other["category"]} == {"information", "online"}
    # Both taken away: the comment counts as «Прочее»; "by the rules" restores it.
    await officer.click("✓ Онлайн-сервисы")
    await officer.click("✓ Информация и разъяснения")
    assert "Категории: Прочее (изменено вручную)" in officer.last_text()
    await officer.click("↺ По правилам")
    assert "Категории: Информация и разъяснения\n" in officer.last_text()
    assert await world.rows("open_answer_tags") == []


async def test_stale_and_forged_presses_change_nothing(
    world: World, desk: OpenAnswersService
) -> None:
    await _seed(world)
    officer = world.harness.person(OFFICER_ID)
    await _open(world, OFFICER_ID)
    await officer.click("Все услуги")
    mid, _, markup = officer.live_message()
    token = _data(markup)[0].split(":")[1]
    forged = (
        "oa:deadbeef:0:t:queue",  # a list that does not exist (or was forgotten at a restart)
        f"oa:{token}:99:g:",  # past the end of the list
        f"oa:{token}:0:t:no_such_category",
        f"oa:{token}:0:t:other",  # «Прочее» is what no category means, not a button
    )
    for data in forged:
        await officer.press_data(data, mid)
    assert officer.alerts()[-4:] == ["Список устарел. Откройте его заново: /comments"] * 4
    assert await world.rows("open_answer_tags") == []
    # Another officer pressing this officer's button gets the same answer.
    _officer_of(world, "appeals")
    other = world.harness.person(SERVICE_OFFICER)
    await other.press_data(f"oa:{token}:0:t:queue", mid)
    assert other.alerts()[-1] == "Список устарел. Откройте его заново: /comments"
    assert await world.rows("open_answer_tags") == []


async def test_an_officer_who_may_no_longer_see_the_service_cannot_re_tag(
    world: World, desk: OpenAnswersService
) -> None:
    await _seed(world)
    _officer_of(world, "licensing")
    olga = world.harness.person(SERVICE_OFFICER)
    await _open(world, SERVICE_OFFICER)
    # A per-service officer is offered her service only, and a forged "all" is refused.
    assert olga.buttons() == ["Лицензирование деятельности по управлению многоквартирными домами"]
    mid, _, _ = olga.live_message()
    await olga.press_data("oap:w:*", mid)
    assert olga.alerts()[-1] == "Нет доступа к этой услуге"
    await olga.click("Лицензирование")
    assert "Комментарий 1 из 6" in olga.last_text()
    # The catalog changes: she now answers for another service only.
    _officer_of(world, "appeals")
    await olga.click("Благодарности")
    assert olga.alerts()[-1] == "Нет доступа к этой услуге"
    assert await world.rows("open_answer_tags") == []


async def test_a_group_below_the_threshold_lists_no_comments(
    world: World, desk: OpenAnswersService
) -> None:
    store = ResponseStore(world.sessions)
    for _ in range(3):
        await store.save(
            CompletedResponse(
                questionnaire_id="post_service",
                questionnaire_version=1,
                kind="post_service",
                audience="external",
                context=ResponseContext(service="licensing", channel="office"),
                submitted_on=date(2026, 11, 18),
                answers=(AnswerRow("overall", number=2), AnswerRow("comment", text="Очередь")),
            )
        )
    officer = world.harness.person(OFFICER_ID)
    await _open(world, OFFICER_ID)
    await officer.click("Все услуги")
    texts = "\n".join(world.harness.texts(OFFICER_ID))
    assert "мало ответов (&lt;5)" in texts or "мало ответов (<5)" in texts
    assert "Очередь" not in texts.replace("Очереди", "")
    assert "комментариев, которые можно показать, нет" in officer.last_text()


async def test_the_report_message_carries_the_category_counts(
    world: World, desk: OpenAnswersService
) -> None:
    await _seed(world)
    officer = world.harness.person(OFFICER_ID)
    await officer.send("/report")
    await officer.click("Прошлая неделя")
    await officer.click("Все услуги")
    texts = "\n".join(world.harness.texts(OFFICER_ID))
    assert "Комментарии по категориям" in texts and "оставили комментарий: 6" in texts


async def test_the_internal_officer_gets_initiative_topics_of_a_closed_month(
    world: World, desk: OpenAnswersService
) -> None:
    store = ResponseStore(world.sessions)
    for index, topic in enumerate(["equipment"] * 6 + ["career"] * 2):
        await store.save(
            CompletedResponse(
                questionnaire_id="initiative",
                questionnaire_version=1,
                kind="initiative",
                audience="internal",
                context=ResponseContext(),
                submitted_on=date(2026, 10, 1 + index),
                answers=(
                    AnswerRow("topic", option_id=topic),
                    AnswerRow("message", text="Сканер сломался"),
                ),
            )
        )
    # Body-wide and per-service officers do not read staff feedback: /topics is unknown to them.
    officer = world.harness.person(OFFICER_ID)
    await officer.send("/topics")
    assert "Сообщения сотрудников" not in officer.last_text()
    internal = world.harness.person(INTERNAL_OFFICER)
    await internal.send("/topics")
    await internal.click("Прошлый месяц")
    text = internal.last_text()
    assert "01.10.2026–31.10.2026" in text and "Всего: 8" in text
    assert "Техническое оснащение: 6" in text and "Должностной рост: —" in text
    # Eight staff texts are below the staff comment threshold (10): no categories.
    assert "мало ответов (&lt;10)" in text


async def test_an_english_officer_reads_the_listed_comments_masked_in_english(
    world: World, desk: OpenAnswersService
) -> None:
    """Issue 12 item 2: a contact in a listed comment is masked by the reader's word."""
    await _seed(world)
    await ResponseStore(world.sessions).save(
        CompletedResponse(
            questionnaire_id="post_service",
            questionnaire_version=1,
            kind="post_service",
            audience="external",
            context=ResponseContext(service="licensing", channel="office"),
            submitted_on=date(2026, 11, 18),
            answers=(
                AnswerRow("overall", number=2),
                AnswerRow("comment", text="Позвоните мне: +7 912 345-67-89"),
            ),
        )
    )
    week = Period(date(2026, 11, 16), date(2026, 11, 22))
    listing = await desk.open_listing(OFFICER_ID, week, Scope(), language=Language.EN)
    assert listing is not None
    [call] = [c.text for c in listing.comments if c.text.startswith("Позвоните")]
    assert call == "Позвоните мне: [hidden]"
    russian = await desk.open_listing(
        OFFICER_ID, Period(date(2026, 11, 16), date(2026, 11, 22)), Scope()
    )
    assert russian is not None
    assert "Позвоните мне: [скрыто]" in [c.text for c in russian.comments]


#: Two web answers of last week: fewer than k web answers, dropped from every figure.
WEB_COMMENTS = ("С сайта: очередь огромная", "С сайта: спасибо")


async def _seed_web(world: World) -> None:
    store = ResponseStore(world.sessions)
    for text in WEB_COMMENTS:
        await store.save(
            CompletedResponse(
                questionnaire_id="post_service",
                questionnaire_version=1,
                kind="post_service",
                audience="external",
                context=ResponseContext(service="licensing", channel="office"),
                submitted_on=date(2026, 11, 18),
                answers=(
                    AnswerRow("overall", number=4),
                    AnswerRow("solved", option_id="yes"),
                    AnswerRow("comment", text=text),
                ),
                front=Front.WEB,
            )
        )


async def test_the_listing_leaves_out_the_web_comments_the_report_dropped(
    world: World, desk: OpenAnswersService
) -> None:
    """Review of "web apart": the report leaves the dropped web answers' comments out, and
    /comments (Telegram and MAX share this service) lists none of them either: the listing
    minus the report's comments would be the texts of fewer than k web respondents."""
    await _seed(world)
    await _seed_web(world)
    week = Period(date(2026, 11, 16), date(2026, 11, 22))
    report = await world.reporting.report(week, Scope())
    assert report.overall.n == len(COMMENTS)  # the web's 2 count in no figure
    assert set(report.comments) == set(COMMENTS)
    listing = await desk.open_listing(OFFICER_ID, week, Scope(), report)
    assert listing is not None
    assert sorted(c.text for c in listing.comments) == sorted(COMMENTS)
    # The same without a report at hand: the listing builds it and follows it.
    again = await desk.open_listing(OFFICER_ID, week, Scope())
    assert again is not None
    assert sorted(c.text for c in again.comments) == sorted(COMMENTS)


async def test_the_category_counts_leave_out_the_web_answers_the_report_dropped(
    world: World, desk: OpenAnswersService
) -> None:
    """The counts by category beside /comments and the report: the 2 dropped web answers
    count in none of them (the report counts 6 respondents, so would a count of 8 say that
    2 web respondents commented, and in which categories)."""
    await _seed(world)
    await _seed_web(world)
    week = Period(date(2026, 11, 16), date(2026, 11, 22))
    counts = await desk.counts(week, Scope(), published=True)
    assert not counts.suppressed
    assert counts.respondents == len(COMMENTS)
    telegram_only = await desk.counts(week, Scope(service="licensing"), published=True)
    assert telegram_only.respondents == len(COMMENTS)
