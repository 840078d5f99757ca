"""Officers in MAX (issue 13): a body-wide officer named in MAX__OFFICER_IDS asks for the
report (message and charts, as files) or the workbook; anyone else's /report is any text.
Period and service buttons, typed ranges, the staff report: tests/max_front/test_reports.py."""

from __future__ import annotations

from aiogram.fsm.storage.memory import MemoryStorage

from bot.content import load_content
from bot.max import max_dialog_states
from bot.settings import ContentSettings
from max_front.front import MaxFront
from max_front.persons import max_key
from max_front.reports import MaxReports
from questionnaires.messengers import max_chat
from questionnaires.schema import Language
from reports.disclosure import DisclosurePolicy
from reports.model import QuestionnaireRoles
from services.officer_languages import OfficerLanguages
from services.reporting import ReportingPolicy, ReportingService
from storage.officer_languages import OfficerLanguageStore
from tests.dialog.conftest import PEPPER, Desk
from tests.max_front.conftest import Chat, RecordingApi

OFFICER = 9001


def officer_front(desk: Desk, api: RecordingApi) -> MaxFront:
    defaults = ContentSettings()
    content = load_content(
        defaults.questionnaires_dir, defaults.catalog_path, defaults.campaigns_path
    )
    reporting = ReportingService(
        sessions=desk.sessions,
        roles=QuestionnaireRoles.from_questionnaires(content.questionnaires),
        catalog=content.catalog,
        policy=ReportingPolicy(
            officer_ids=frozenset({7, max_chat(OFFICER)}), disclosure=DisclosurePolicy()
        ),
    )
    return MaxFront(
        api=api,
        dialog=desk.service,
        feedback=desk.feedback,
        windows=desk.campaigns,
        state_for=max_dialog_states(MemoryStorage()),
        person_key=max_key(PEPPER),
        reporting=reporting,
        reports=MaxReports(api=api, reporting=reporting, feedback=desk.feedback),
    )


async def press(front: MaxFront, api: RecordingApi, label: str) -> None:
    await front.handle(Chat(OFFICER).press(api.payload(label), shown=api.timeline[-1]))


async def test_a_max_officer_gets_the_report_and_the_workbook_in_max(desk: Desk) -> None:
    api = RecordingApi()
    front = officer_front(desk, api)
    await front.handle(Chat(OFFICER).text("/report"))
    await press(front, api, "Прошлый месяц")
    await press(front, api, "Все услуги")
    assert api.answers[-1][2] == "Готовлю…"
    texts = [view for user, view in api.sent if user == OFFICER]
    assert len(texts) > 1 and all(view.html for view in texts[1:])
    assert all(user == OFFICER and name.endswith(".png") for user, name, _, _ in api.files)
    charts = len(api.files)
    await front.handle(Chat(OFFICER).text("/export"))
    await press(front, api, "Прошлый месяц")
    await press(front, api, "Все услуги")
    [(user, name, data, caption)] = api.files[charts:]
    assert user == OFFICER and name.endswith(".xlsx") and data.startswith(b"PK")
    assert caption


async def test_a_telegram_officer_of_the_same_number_or_a_citizen_gets_no_report(
    desk: Desk,
) -> None:
    api = RecordingApi()
    front = officer_front(desk, api)
    await front.handle(Chat(7).text("/report"))  # Telegram officer 7 is not MAX user 7
    await front.handle(Chat(8).text("/export"))
    assert api.files == []
    assert all("Готовлю" not in view.text for _, view in api.sent)


def language_front(desk: Desk, api: RecordingApi) -> MaxFront:
    front = officer_front(desk, api)
    front.officer_languages = OfficerLanguages(
        OfficerLanguageStore(desk.sessions), {7, max_chat(OFFICER)}
    )
    return front


async def test_a_max_officers_locale_is_learned_and_language_overrides_it(desk: Desk) -> None:
    # Issue 12: MAX officers' deliveries follow the locale MAX reports with their commands,
    # until /language chooses; the row is the MAX chat's, never Telegram user 9001's.
    api = RecordingApi()
    front = language_front(desk, api)
    await front.handle(Chat(OFFICER, locale="en").text("/whoami"))
    assert [
        (r["messenger"], r["chat_id"], r["language"]) for r in await desk.rows("officer_languages")
    ] == [("max", OFFICER, "en")]
    await front.handle(Chat(OFFICER, locale="en").text("/language ru"))
    assert api.sent[-1][1].text.startswith("Готово")
    await front.handle(Chat(OFFICER, locale="en").text("/report"))
    assert await front.officer_languages.of(max_chat(OFFICER)) == Language.RU  # type: ignore[union-attr]


async def test_a_max_citizens_commands_write_no_language(desk: Desk) -> None:
    api = RecordingApi()
    front = language_front(desk, api)
    for command in ("/start", "/language en", "/report", "/whoami"):
        await front.handle(Chat(8, locale="en").text(command))
    assert await desk.rows("officer_languages") == []
    # Telegram officer 7 is not MAX user 7.
    await front.handle(Chat(7, locale="en").text("/language en"))
    assert await desk.rows("officer_languages") == []
