"""/report and /export in MAX as in Telegram (issue 13): period buttons, the service choice
(a service's own officer sees their services only), typed ranges, the internal officer's staff
report and the Appendix 2 document; every press answered once, stale or forged ones answered,
anyone else's command any text and their button any stale one."""

from __future__ import annotations

import itertools
from collections import Counter
from typing import cast

from aiogram.fsm.storage.memory import MemoryStorage

from bot.content import load_content
from bot.max import max_dialog_states
from bot.settings import ContentSettings
from max_front.api import Button
from max_front.front import MaxFront
from max_front.persons import max_key
from max_front.reports import MaxReports, service_rows
from questionnaires.i18n import tr
from questionnaires.messengers import max_chat
from questionnaires.schema import Language
from reports.disclosure import DisclosurePolicy
from reports.model import Period, QuestionnaireRoles
from services.appendix2 import Appendix2Service
from services.reporting import ReportingPolicy, ReportingService
from tests.dialog.conftest import PEPPER, Desk
from tests.max_front.conftest import Chat, RecordingApi

OFFICER = 9201  # body-wide, MAX__OFFICER_IDS
INTERNAL = 9202  # MAX__INTERNAL_OFFICER_IDS only
SERVICE_OFFICER = 9203  # the catalog's officer of one service, as a MAX chat
CITIZEN = 9204
OWN_SERVICE = "licensing"
STALE = tr(Language.RU, "officer.stale")
_CALLBACKS = itertools.count(1)


class FakeAppendix2:
    """Records the documents asked for (the document itself: tests/bot/test_appendix2_bot)."""

    def __init__(self) -> None:
        self.asked: list[tuple[Period, Period | None, Language]] = []

    async def docx(
        self, period: Period, beside: Period | None = None, language: Language = Language.RU
    ) -> bytes:
        self.asked.append((period, beside, language))
        return b"PK docx"


def reports_front(
    desk: Desk, api: RecordingApi, appendix2: FakeAppendix2 | None = None
) -> MaxFront:
    defaults = ContentSettings()
    content = load_content(
        defaults.questionnaires_dir, defaults.catalog_path, defaults.campaigns_path
    )
    catalog = content.catalog
    services = tuple(
        s.model_copy(update={"officer": max_chat(SERVICE_OFFICER)}) if s.code == OWN_SERVICE else s
        for s in catalog.services
    )
    catalog = catalog.model_copy(update={"services": services})
    reporting = ReportingService(
        sessions=desk.sessions,
        roles=QuestionnaireRoles.from_questionnaires(content.questionnaires),
        catalog=catalog,
        policy=ReportingPolicy(
            officer_ids=frozenset({max_chat(OFFICER)}),
            internal_officer_ids=frozenset({max_chat(INTERNAL)}),
            disclosure=DisclosurePolicy(weekly=True),
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
        reports=MaxReports(
            api=api,
            reporting=reporting,
            feedback=desk.feedback,
            appendix2=cast(Appendix2Service, appendix2),
        ),
    )


def chat(user: int, locale: str = "ru") -> Chat:
    return Chat(user, locale, callbacks=_CALLBACKS)


async def press(
    front: MaxFront, api: RecordingApi, user: int, label: str, locale: str = "ru"
) -> None:
    await front.handle(chat(user, locale).press(api.payload(label), shown=api.timeline[-1]))


def labels(api: RecordingApi) -> list[str]:
    return [b.text for row in api.timeline[-1].keyboard for b in row]


def answered_once(api: RecordingApi) -> bool:
    return all(n == 1 for n in Counter(callback for callback, _, _ in api.answers).values())


def notifications(api: RecordingApi) -> list[str | None]:
    return [notification for _, _, notification in api.answers]


async def test_period_and_service_buttons_give_the_report_and_its_charts(desk: Desk) -> None:
    api = RecordingApi()
    front = reports_front(desk, api)
    await front.handle(chat(OFFICER).text("/report"))
    assert labels(api)[:3] == ["Прошлая неделя", "Прошлый месяц", "Прошлый квартал"]
    assert not any(label.startswith("Сотрудники") for label in labels(api))  # not internal
    await press(front, api, OFFICER, "Прошлый месяц")
    assert api.timeline[-1].text == "Выберите услугу"
    assert labels(api)[0] == "Все услуги" and len(labels(api)) > 2
    await press(front, api, OFFICER, "Все услуги")
    shown = api.answers[-1][1]
    assert shown is not None and shown.text.startswith("Прошлый месяц: 01.10.2026–31.10.2026")
    assert notifications(api)[-1] == "Готовлю…"
    reports = [view for user, view in api.sent if user == OFFICER][1:]
    assert reports and all(view.html and len(view.text) <= 4000 for view in reports)
    assert api.files and all(name.endswith(".png") for _, name, _, _ in api.files)
    assert answered_once(api)


async def test_export_gives_the_workbook_of_the_chosen_service_in_english(desk: Desk) -> None:
    api = RecordingApi()
    front = reports_front(desk, api)
    await front.handle(chat(OFFICER, "en").text("/export"))
    await press(front, api, OFFICER, "Last month", "en")
    await press(front, api, OFFICER, "Licens", "en")
    [(user, name, data, caption)] = api.files
    assert user == OFFICER and name == "otklik-20261001-20261031.xlsx" and data.startswith(b"PK")
    assert caption == tr(Language.EN, "officer.workbook_caption", period="01.10.2026–31.10.2026")
    assert answered_once(api)


async def test_a_service_officer_chooses_among_their_own_services_only(desk: Desk) -> None:
    api = RecordingApi()
    front = reports_front(desk, api)
    await front.handle(chat(SERVICE_OFFICER).text("/report"))
    await press(front, api, SERVICE_OFFICER, "Прошлый месяц")
    own = api.timeline[-1].keyboard
    assert len(own) == 1 and own[0][0].payload == f"rp:r:m:{OWN_SERVICE}"
    # Forged buttons for every service or another one are refused and build nothing.
    for payload in ("rp:r:m:*", "rp:r:m:passports", "rr:r:20260101:20260630:*"):
        await front.handle(chat(SERVICE_OFFICER).press(payload))
    assert notifications(api)[-3:] == [tr(Language.RU, "officer.forbidden")] * 3
    assert api.files == []
    await front.handle(chat(SERVICE_OFFICER).press(f"rp:r:m:{OWN_SERVICE}"))
    assert api.files  # their own service's charts
    assert answered_once(api)


async def test_a_typed_range_offers_the_services_and_reports_that_range(desk: Desk) -> None:
    api = RecordingApi()
    front = reports_front(desk, api)
    await front.handle(chat(OFFICER).text("/export 01.01.2026–30.06.2026"))
    assert api.timeline[-1].text.startswith("Период 01.01.2026–30.06.2026")
    assert labels(api)[0] == "Все услуги" and "Сотрудники" not in labels(api)
    await press(front, api, OFFICER, "Все услуги")
    [(_, name, _, _)] = api.files
    assert name == "otklik-20260101-20260630.xlsx"
    for typed, key in (
        ("/report когда-нибудь", "officer.range.format"),
        ("/report 01.11.2026–30.11.2026", "officer.range.open"),  # not yet over
        ("/report 03.01.2026–17.02.2026", "officer.range.weeks"),  # no whole weeks
    ):
        await front.handle(chat(OFFICER).text(typed))
        assert api.sent[-1] == (OFFICER, api.timeline[-1])
        assert api.timeline[-1].text == tr(Language.RU, key)
    assert answered_once(api)


async def test_the_internal_officers_staff_report_by_period_and_by_typed_quarters(
    desk: Desk,
) -> None:
    api = RecordingApi()
    front = reports_front(desk, api)
    await front.handle(chat(INTERNAL).text("/report"))
    assert labels(api) == [
        "Сотрудники: прошлый квартал",
        "Сотрудники: прошлое полугодие",
        "Сотрудники: прошлый год",
    ]
    await press(front, api, INTERNAL, "Сотрудники: прошлый квартал")
    shown = api.answers[-1][1]
    assert shown is not None and "01.07.2026–30.09.2026" in shown.text
    assert [name for _, name, _, _ in api.files] == ["staff_drivers.png"]
    assert [view.html for user, view in api.sent[1:]] and all(v.html for _, v in api.sent[1:])
    await front.handle(chat(INTERNAL).text("/export 01.01.2026–30.06.2026"))
    assert labels(api) == ["Сотрудники"]
    await press(front, api, INTERNAL, "Сотрудники")
    assert api.files[-1][1] == "otklik-staff-20260101-20260630.xlsx"
    # Only whole quarters: a finer range could leave a few people's answers to subtract.
    await front.handle(chat(INTERNAL).text("/report 01.01.2026–31.01.2026"))
    assert api.timeline[-1].text == tr(Language.RU, "officer.staff_range")
    assert answered_once(api)


async def test_staff_buttons_refused_to_anyone_but_the_internal_officer(desk: Desk) -> None:
    api = RecordingApi()
    front = reports_front(desk, api)
    await front.handle(chat(OFFICER).press("rs:r:q"))
    await front.handle(chat(OFFICER).press("rr:e:20260101:20260630:@staff"))
    await front.handle(chat(INTERNAL).press("rr:e:20260101:20260131:@staff"))  # no quarter
    await front.handle(chat(INTERNAL).press("rp:r:m"))  # no service of theirs
    only = tr(Language.RU, "officer.staff_only")
    assert notifications(api) == [only, only, STALE, tr(Language.RU, "officer.forbidden")]
    assert api.sent == [] and api.files == []


async def test_stale_or_forged_report_buttons_are_answered_once_and_build_nothing(
    desk: Desk,
) -> None:
    api = RecordingApi()
    front = reports_front(desk, api)
    for payload in (
        "rp:x:m",  # neither report nor export
        "rp:r:z",  # no such period
        "rs:r:w",  # the staff report has no weeks
        "rr:r:20261101:20261130:*",  # a range not yet over
        "rr:r:2026:x:*",
        "rr:r:20260101:20260630",  # no service
        "rd:20260101:20260630",  # no Appendix 2 here
        "rp:r:m:no_such_service",
    ):
        await front.handle(chat(OFFICER).press(payload))
    forbidden = tr(Language.RU, "officer.forbidden")
    assert notifications(api) == [STALE] * 7 + [forbidden]
    assert api.sent == [] and api.files == []
    assert answered_once(api)


async def test_a_citizens_report_is_any_text_and_their_report_button_any_stale_one(
    desk: Desk,
) -> None:
    api = RecordingApi()
    front = reports_front(desk, api)
    await front.handle(chat(CITIZEN).text("/report"))
    await front.handle(chat(CITIZEN).text("/whatever"))
    [(_, report), (_, whatever)] = api.sent
    assert report == whatever
    for payload in ("rp:r:m:*", "rs:r:q", "rr:r:20260101:20260630:*", "rd:20260101:20260630"):
        await front.handle(chat(CITIZEN).press(payload))
    assert notifications(api) == [tr(Language.RU, "bot.stale_button")] * 4
    assert api.files == [] and len(api.sent) == 2


async def test_the_appendix_2_document_under_a_body_wide_report(desk: Desk) -> None:
    api = RecordingApi()
    appendix2 = FakeAppendix2()
    front = reports_front(desk, api, appendix2)
    await front.handle(chat(OFFICER).text("/report"))
    await press(front, api, OFFICER, "Прошлое полугодие")
    await press(front, api, OFFICER, "Все услуги")
    shown = api.answers[-1][1]
    assert shown is not None
    [[button]] = shown.keyboard
    assert button.payload == "rd:20260101:20260630"
    await front.handle(chat(OFFICER).press(button.payload))
    assert notifications(api)[-1] == tr(Language.RU, "officer.preparing_document")
    name, data = api.files[-1][1:3]
    assert name == "otklik-appendix2-20260101-20260630.docx" and data == b"PK docx"
    assert [period.start.month for period, _, _ in appendix2.asked] == [1]
    # Not under one service's report, nor for the service's own officer.
    await front.handle(chat(OFFICER).press(f"rp:r:m:{OWN_SERVICE}"))
    assert api.answers[-1][1] is not None and api.answers[-1][1].keyboard == ()
    await front.handle(chat(SERVICE_OFFICER).press(button.payload))
    assert notifications(api)[-1] == tr(Language.RU, "officer.forbidden_all")
    assert len(appendix2.asked) == 1
    assert answered_once(api)


async def test_a_refused_edit_shows_the_report_header_as_a_new_message(desk: Desk) -> None:
    api = RecordingApi()
    front = reports_front(desk, api)
    await front.handle(chat(OFFICER).text("/report"))
    await press(front, api, OFFICER, "Прошлый месяц")
    api.refuse_replacements = 1
    await press(front, api, OFFICER, "Все услуги")
    assert notifications(api)[-1] == "Готовлю…"
    assert any(view.text.startswith("Прошлый месяц: ") for _, view in api.sent)
    assert answered_once(api)


def test_a_long_catalog_still_fits_maxs_keyboard_of_thirty_rows() -> None:
    def buttons(n: int) -> list[Button]:
        return [Button(f"s{i}", f"rp:r:m:s{i}") for i in range(n)]

    assert [len(row) for row in service_rows(buttons(8))] == [1] * 8  # one a row, as Telegram
    rows = service_rows(buttons(45))
    assert len(rows) <= 30 and sum(map(len, rows)) == 45 and max(map(len, rows)) == 2
    rows = service_rows(buttons(300))
    assert len(rows) == 30 and all(len(row) == 7 for row in rows)
    assert rows[0][0].payload == "rp:r:m:s0"  # "all services" comes first and stays
