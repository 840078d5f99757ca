"""Officers' other commands in MAX (issue 13): /comments, /topics, /appeals, /results,
/poll_open, /poll_close, /invite and /help, each for its role only; anyone else's command is
any text, anyone else's button any stale one, and every press is answered exactly once."""

from __future__ import annotations

import itertools
from collections import Counter
from datetime import date

from aiogram.fsm.storage.memory import MemoryStorage

from bot.content import load_content
from bot.max import max_dialog_states
from bot.settings import ContentSettings
from max_front.api import View
from max_front.front import MaxFront
from max_front.officer import MaxOfficers
from max_front.persons import max_key
from questionnaires.i18n import tr
from questionnaires.messengers import max_chat
from questionnaires.open_answers import load_categories
from questionnaires.results import AnswerRow, CompletedResponse, ResponseContext
from questionnaires.schema import Language
from reports.disclosure import DisclosurePolicy
from reports.model import QuestionnaireRoles
from services.appeals import EXAMPLE_MAPPING, AppealsService, load_mapping
from services.open_answers import OpenAnswersService
from services.reporting import ReportingPolicy, ReportingService
from storage.appeals import AppealStore
from storage.open_answers import OpenAnswerStore
from storage.responses import ResponseStore
from tests.appeals.generate import FIXTURES
from tests.dialog.conftest import PEPPER, Desk
from tests.max_front.conftest import Chat, RecordingApi

OFFICER = 9101  # body-wide, MAX__OFFICER_IDS
INTERNAL = 9102  # MAX__INTERNAL_OFFICER_IDS only
CITIZEN = 9103
STALE = tr(Language.RU, "bot.stale_button")
COMMENTS = ("Огромная очередь", "Вежливый сотрудник", "Ждали час", "Лишняя справка", "Сайт")


def officers_front(desk: Desk, api: RecordingApi, *, appeals: bool = False) -> MaxFront:
    defaults = ContentSettings()
    content = load_content(
        defaults.questionnaires_dir, defaults.catalog_path, defaults.campaigns_path
    )
    roles = QuestionnaireRoles.from_questionnaires(content.questionnaires)
    reporting = ReportingService(
        sessions=desk.sessions,
        roles=roles,
        catalog=content.catalog,
        policy=ReportingPolicy(
            officer_ids=frozenset({max_chat(OFFICER)}),
            internal_officer_ids=frozenset({max_chat(INTERNAL)}),
            disclosure=DisclosurePolicy(min_group=5, min_comment_group=5, weekly=True),
        ),
    )
    open_answers = OpenAnswersService(
        reporting=reporting,
        sessions=desk.sessions,
        store=OpenAnswerStore(desk.sessions),
        categoriser=load_categories(),
        roles=roles,
        catalog=content.catalog,
        internal_officers=frozenset({max_chat(INTERNAL)}),
    )
    reporting.extras = open_answers
    # The desk's windows know no body-wide officer; the composition root names the same ones.
    desk.campaigns._officer_ids = frozenset({max_chat(OFFICER)})
    desk.campaigns._max_bot_name = "otklik_bot"  # MAX__BOT_NAME
    officers = MaxOfficers(
        api=api,
        reporting=reporting,
        feedback=desk.feedback,
        windows=desk.campaigns,
        open_answers=open_answers,
        appeals=(
            AppealsService(AppealStore(desk.sessions), load_mapping(EXAMPLE_MAPPING))
            if appeals
            else None
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
        officers=officers,
    )


#: Callback ids unique over the whole module, so "answered once" counts each press.
_CALLBACKS = itertools.count(1)


def chat(user: int, locale: str = "ru") -> Chat:
    return Chat(user, locale, callbacks=_CALLBACKS)


def last_text(api: RecordingApi) -> str:
    return api.timeline[-1].text


def answered_once(api: RecordingApi) -> bool:
    return all(n == 1 for n in Counter(callback for callback, _, _ in api.answers).values())


async def press(
    front: MaxFront, api: RecordingApi, user: int, label: str, locale: str = "ru"
) -> None:
    await front.handle(chat(user, locale).press(api.payload(label), shown=api.timeline[-1]))


async def unknown_answer(desk: Desk, text: str) -> str:
    """What a citizen gets for ``text``."""
    api = RecordingApi()
    await officers_front(desk, api).handle(chat(CITIZEN).text(text))
    [(_, view)] = api.sent
    return view.text


async def _seed(desk: Desk) -> None:
    store = ResponseStore(desk.sessions)
    for text in COMMENTS:
        await store.save(
            CompletedResponse(
                questionnaire_id="post_service",
                questionnaire_version=1,
                kind="post_service",
                audience="external",
                context=ResponseContext(service="licensing", channel="office"),
                submitted_on=date(2026, 11, 18),  # last week: the desk's clock says 2026-11-23
                answers=(
                    AnswerRow("overall", number=4),
                    AnswerRow("solved", option_id="yes"),
                    AnswerRow("comment", text=text),
                ),
            )
        )


async def test_help_lists_what_the_max_officer_has_in_their_language(desk: Desk) -> None:
    api = RecordingApi()
    front = officers_front(desk, api)
    await front.handle(chat(OFFICER, locale="en").text("/help"))
    text = last_text(api)
    for command in (
        "/report",
        "/comments",
        "/appeals",
        "/poll_open",
        "/invite",
        "/results",
        "/pains",
    ):
        assert f"\n{command} — " in text
    assert "/topics" not in text  # not their role
    assert "MAX id" in text and "Telegram" not in text
    await front.handle(chat(INTERNAL).text("/help"))
    assert "/topics — " in last_text(api) and "/appeals" not in last_text(api)
    assert "/report — " in last_text(api)  # the staff report (max_front.reports)
    await front.handle(chat(CITIZEN).text("/help"))
    assert "/start — " in last_text(api) and "/comments" not in last_text(api)


async def test_comments_in_max_period_service_counts_and_retag(desk: Desk) -> None:
    await _seed(desk)
    api = RecordingApi()
    front = officers_front(desk, api)
    await front.handle(chat(OFFICER).text("/comments"))
    await press(front, api, OFFICER, "Прошлая неделя")
    await press(front, api, OFFICER, "Все услуги")
    counts = api.answers[-1][1]
    assert counts is not None and counts.html and "5" in counts.text
    page = api.timeline[-1]
    assert not page.html and page.text.startswith("Комментарий 1 из 5")
    assert sorted(COMMENTS)[0] in page.text  # alphabetical, not the order answers came in
    payloads = [b.payload for row in page.keyboard for b in row]
    assert all(p.startswith("oa:") and len(p) < 64 for p in payloads)
    tag = next(p for p in payloads if ":t:" in p)
    await front.handle(chat(OFFICER).press(tag, shown=page))
    retagged = api.timeline[-1]
    assert any(b.text.startswith("✓ ") for row in retagged.keyboard for b in row)
    await press(front, api, OFFICER, "▶")
    assert sorted(COMMENTS)[1] in last_text(api)
    assert answered_once(api)


async def test_comments_refused_to_a_citizen_and_their_forged_button_is_stale(
    desk: Desk,
) -> None:
    assert await unknown_answer(desk, "/comments") == await unknown_answer(desk, "/whatever")
    api = RecordingApi()
    front = officers_front(desk, api)
    await front.handle(chat(CITIZEN).press("oc:w:*"))
    await front.handle(chat(CITIZEN).press("zz:forged"))
    [(_, _, forged), (_, _, unknown)] = api.answers
    assert forged == unknown == STALE
    assert api.sent == []


async def test_a_stale_comment_button_is_answered_clearly_once(desk: Desk) -> None:
    api = RecordingApi()
    front = officers_front(desk, api)
    await front.handle(chat(OFFICER).press("oa:abcdefgh:0:g"))
    await front.handle(chat(OFFICER).press("oc:x"))
    await front.handle(chat(OFFICER).press("oc:w:no_such_service"))
    stale, forbidden = tr(Language.RU, "comments.stale"), tr(Language.RU, "comments.forbidden")
    assert [n for _, _, n in api.answers] == [stale, stale, forbidden]
    assert api.sent == []
    assert answered_once(api)


async def test_topics_for_the_internal_officer_only(desk: Desk) -> None:
    api = RecordingApi()
    front = officers_front(desk, api)
    await front.handle(chat(INTERNAL, locale="en").text("/topics"))
    await press(front, api, INTERNAL, "Last week", "en")
    tally = api.answers[-1][1]
    assert tally is not None and tally.html and "Staff messages" in tally.text
    # The body-wide (external) officer never sees internal staff data.
    assert await unknown_answer(desk, "/topics") == await unknown_answer(desk, "/whatever")
    officer = RecordingApi()
    front = officers_front(desk, officer)
    await front.handle(chat(OFFICER).text("/topics"))
    await front.handle(chat(OFFICER).press("ot:w"))
    assert officer.answers[-1][2] == STALE and len(officer.sent) == 1
    assert "Прошлая неделя" not in officer.sent[0][1].text


async def test_appeals_monitoring_and_workbook_for_the_body_officer(desk: Desk) -> None:
    api = RecordingApi()
    front = officers_front(desk, api, appeals=True)
    await front.handle(chat(OFFICER).text("/appeals"))
    first = api.timeline[-1].keyboard[0][0]
    assert first.payload == "aq:2026:3"
    await front.handle(chat(OFFICER).press(first.payload, shown=api.timeline[-1]))
    shown = api.answers[-1][1]
    assert shown is not None and shown.html
    [(user, name, data, _)] = api.files
    assert user == OFFICER and name == "appeals-2026Q3.xlsx" and data.startswith(b"PK")
    await front.handle(chat(OFFICER).press("aq:2031:1"))  # a quarter not yet closed
    assert api.answers[-1][2] and len(api.files) == 1
    assert answered_once(api)
    assert await unknown_answer(desk, "/appeals") == await unknown_answer(desk, "/whatever")
    internal = RecordingApi()
    await officers_front(desk, internal).handle(chat(INTERNAL).text("/appeals"))
    assert "квартал" not in internal.sent[0][1].text.lower()


def register_file(url: str, name: str = "register_utf8.csv") -> list[dict[str, object]]:
    """A `file` attachment as MAX sends it in a message (payload url and token, name, size)."""
    size = len((FIXTURES / name).read_bytes()) if (FIXTURES / name).exists() else 1
    return [{"type": "file", "payload": {"url": url, "token": "t"}, "filename": name,
             "size": size}]  # fmt: skip


async def test_a_register_file_sent_in_max_is_imported_for_the_body_officer(
    desk: Desk,
) -> None:
    api = RecordingApi()
    api.downloads["https://files.max.test/1"] = (FIXTURES / "register_utf8.csv").read_bytes()
    front = officers_front(desk, api, appeals=True)
    await front.handle(
        chat(OFFICER).text("", attachments=register_file("https://files.max.test/1"))
    )
    reply = api.timeline[-1]
    assert reply.html and "register_utf8.csv" in reply.text and "добавлено" in reply.text
    assert len(await desk.rows("appeals")) > 0
    # MAX did not give the file: the officer is told, nothing is imported twice.
    await front.handle(
        chat(OFFICER).text("", attachments=register_file("https://files.max.test/2"))
    )
    assert last_text(api) == tr(Language.RU, "max.appeals.no_file")
    await front.handle(chat(OFFICER).text("", attachments=register_file("u", "register.pdf")))
    assert last_text(api) == tr(Language.RU, "appeals.type")


async def test_a_citizens_file_in_max_is_unsupported_content_as_before(desk: Desk) -> None:
    api = RecordingApi()
    api.downloads["https://files.max.test/1"] = (FIXTURES / "register_utf8.csv").read_bytes()
    front = officers_front(desk, api, appeals=True)
    for user in (CITIZEN, INTERNAL):
        await front.handle(
            chat(user).text("", attachments=register_file("https://files.max.test/1"))
        )
        assert last_text(api) == tr(Language.RU, "bot.unsupported_content")
    assert await desk.rows("appeals") == []


async def test_poll_open_and_close_for_the_body_officer(desk: Desk) -> None:
    api = RecordingApi()
    front = officers_front(desk, api)
    await front.handle(chat(OFFICER).text("/poll_open"))
    campaign = api.timeline[-1].keyboard[0][0]
    await front.handle(chat(OFFICER).press(campaign.payload, shown=api.timeline[-1]))
    opened = api.answers[-1][1]
    assert opened is not None and "https://max.ru/otklik_bot?start=w" in opened.text
    await front.handle(chat(OFFICER).text("/poll_close"))
    window = api.timeline[-1].keyboard[0][0]
    assert window.payload.startswith("wc:")
    await front.handle(chat(OFFICER).press(window.payload, shown=api.timeline[-1]))
    closed = api.answers[-1][1]
    assert closed is not None and closed.text != opened.text
    await front.handle(chat(OFFICER).press(window.payload))  # pressed again: still closed
    assert api.answers[-1][1] == closed
    await front.handle(chat(OFFICER).press("wc:99999999999"))
    assert api.answers[-1][2] not in (None, "✓")
    assert answered_once(api)
    assert await unknown_answer(desk, "/poll_open") == await unknown_answer(desk, "/whatever")
    internal = RecordingApi()
    await officers_front(desk, internal).handle(chat(INTERNAL).text("/poll_close"))
    await officers_front(desk, internal).handle(chat(INTERNAL).press(window.payload))
    assert internal.answers[-1][2] == STALE


async def test_invite_codes_for_the_body_officer(desk: Desk) -> None:
    api = RecordingApi()
    front = officers_front(desk, api)
    await front.handle(chat(OFFICER).text("/invite 2"))
    department = api.timeline[-1].keyboard[0][0]
    assert department.payload.endswith(":2")
    await front.handle(chat(OFFICER).press(department.payload, shown=api.timeline[-1]))
    codes = api.answers[-1][1]
    assert codes is not None and not codes.html and "<code>" not in codes.text
    code = codes.text.strip().splitlines()[-1]
    await front.handle(chat(CITIZEN).text(f"/join {code}"))
    assert "MAX" in last_text(api)  # the code works in MAX (max.enroll_ok)
    await front.handle(chat(OFFICER).press("iv:no_such:1"))
    assert api.answers[-1][2] not in (None, "✓")
    assert answered_once(api)
    assert await unknown_answer(desk, "/invite 2") == await unknown_answer(desk, "/whatever")


async def test_results_in_max_for_anyone(desk: Desk) -> None:
    api = RecordingApi()
    await officers_front(desk, api).handle(chat(CITIZEN).text("/results"))
    assert api.sent == [(CITIZEN, View(tr(Language.RU, "polls.no_results")))]
