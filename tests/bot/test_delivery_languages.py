"""Scheduled deliveries reach each officer in their own language (issue 12, item 2): digests,
negative batches with their button, the semiannual reports with their workbooks and the
Appendix 2 document, the staff report and escalations. An English officer's deliveries carry no
Cyrillic but the data that has no English (the body's name); a Russian officer's, beside them,
do carry Cyrillic (the scan sees it where there is some)."""

from __future__ import annotations

import io
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from docx import Document
from openpyxl import load_workbook

from bot.composition import Services, build_services
from bot.content import load_content
from questionnaires.results import AnswerRow, CompletedResponse, ResponseContext
from questionnaires.schema import Language
from storage.deliveries import DeliveryStore
from storage.responses import ResponseStore
from tests.bot.conftest import (
    BODY,
    INTERNAL_OFFICER_ID,
    OFFICER_ID,
    PEPPER,
    World,
    handler_settings,
)

ZONE = ZoneInfo("Asia/Yakutsk")
CYRILLIC = re.compile(r"[\u0400-\u04ff]")
RUSSIAN_OFFICER = 500501  # never seen: the default language (Russian)
ESCALATION_OFFICER = 500502


@dataclass
class Sent:
    chat: int
    kind: str  # text | button | photo | document
    text: str = ""
    data: bytes = b""
    name: str = ""


@dataclass
class RecordingOutbox:
    sent: list[Sent] = field(default_factory=list)

    async def text(self, chat_id: int, html: str) -> None:
        self.sent.append(Sent(chat_id, "text", html))

    async def text_with_button(self, chat_id: int, html: str, button: str, data: str) -> None:
        self.sent.append(Sent(chat_id, "text", html))
        self.sent.append(Sent(chat_id, "button", button))

    async def photo(self, chat_id: int, name: str, png: bytes) -> None:
        self.sent.append(Sent(chat_id, "photo", name=name))

    async def document(self, chat_id: int, name: str, data: bytes, caption: str) -> None:
        self.sent.append(Sent(chat_id, "document", caption, data, name))

    def of(self, chat: int) -> list[Sent]:
        return [item for item in self.sent if item.chat == chat]


def _words(item: Sent) -> Iterator[str]:
    """Every text a person reads in one sent item: the message, the button, the caption and
    the file's sheets, cells, paragraphs and table cells."""
    yield item.text
    if item.name.endswith(".xlsx"):
        workbook = load_workbook(io.BytesIO(item.data), read_only=True)
        for sheet in workbook.worksheets:
            yield sheet.title
            for row in sheet.iter_rows(values_only=True):
                yield from (str(value) for value in row if isinstance(value, str))
    elif item.name.endswith(".docx"):
        document = Document(io.BytesIO(item.data))
        yield from (paragraph.text for paragraph in document.paragraphs)
        for table in document.tables:
            for row in table.rows:
                yield from (cell.text for cell in row.cells)


def _russian_words(items: list[Sent]) -> list[str]:
    # The body's name is the settings' own text, with no English: a data value.
    return [
        text for item in items for text in _words(item) if CYRILLIC.search(text.replace(BODY, ""))
    ]


def _rating(score: int, day: date, service: str = "licensing") -> CompletedResponse:
    return CompletedResponse(
        questionnaire_id="post_service",
        questionnaire_version=1,
        kind="post_service",
        audience="external",
        context=ResponseContext(service=service, channel="office"),
        submitted_on=day,
        answers=(AnswerRow("overall", number=score), AnswerRow("obstacles", option_id="queue")),
    )


def _local(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=ZONE)


def _services(world: World, outbox: RecordingOutbox, *more_officers: int) -> Services:
    settings = handler_settings(world.url)
    settings.bot.officer_ids = [OFFICER_ID, RUSSIAN_OFFICER, *more_officers]
    settings.reports.escalation_officer_ids = [ESCALATION_OFFICER]
    content = load_content(
        settings.content.questionnaires_dir,
        settings.content.catalog_path,
        settings.content.campaigns_path,
    )
    return build_services(
        settings,
        content,
        sessions=world.sessions,
        outbox=outbox,
        pepper=PEPPER,
        clock=lambda: world.clock_now[0],
    )


async def _seed(world: World) -> None:
    store = ResponseStore(world.sessions)
    for day, scores in (
        (date(2025, 9, 10), [5, 4, 4, 2, 1, 5, 3]),
        (date(2025, 11, 12), [5, 5, 4, 1, 2, 3]),
        (date(2026, 11, 18), [1, 1, 1, 2, 1, 1, 5, 4]),
    ):
        for score in scores:
            await store.save(_rating(score, day))
    await DeliveryStore(world.sessions).installed_on(date(2025, 7, 1))


@pytest.fixture
async def delivered(world: World) -> tuple[Services, RecordingOutbox]:
    """Every delivery kind: a fresh start on 30.06.2026 sends the semiannual reports as of 31
    December 2025 (year and half-year, their workbooks, the Appendix 2 document) and the staff
    report; on 23.11.2026 the first half-year's, the weeks' digests and the negative batch of
    the week before; then the batch's escalation."""
    await _seed(world)
    outbox = RecordingOutbox()
    services = _services(world, outbox)
    # The English officer's Telegram is Russian, but they chose English: it sticks.
    await services.officer_languages.heard(OFFICER_ID, "ru")
    assert await services.officer_languages.choose(OFFICER_ID, Language.EN)
    await services.officer_languages.heard(OFFICER_ID, "ru")
    # The internal and the escalation officers' Telegram is English: learned.
    await services.officer_languages.heard(INTERNAL_OFFICER_ID, "en-GB")
    await services.officer_languages.heard(ESCALATION_OFFICER, "en")
    for now in (_local(2026, 6, 30, 12, 0), _local(2026, 11, 23, 12, 0)):
        world.clock_now[0] = now
        assert await services.deliveries.tick(now) > 0
    assert await services.signals.escalate(now + timedelta(hours=49)) == 1
    return services, outbox


async def test_an_english_officer_gets_every_scheduled_delivery_in_english(
    delivered: tuple[Services, RecordingOutbox],
) -> None:
    _, outbox = delivered
    english = outbox.of(OFFICER_ID)
    kinds = {item.name for item in english if item.kind == "document"}
    assert kinds == {
        "otklik-2025.xlsx",
        "otklik-2025-H2.xlsx",
        "otklik-appendix2-20250101-20251231.docx",
        "otklik-2026-H1.xlsx",
        "otklik-appendix2-20260101-20260630.docx",
    }
    texts = "\n".join(item.text for item in english)
    assert "Weekly summary" in texts
    assert "Annual report" in texts and "Half-year report" in texts
    assert "Licensing of apartment building management" in texts
    assert [item.text for item in english if item.kind == "button"] == ["Acknowledged"]
    assert _russian_words(english) == []


async def test_a_russian_officer_beside_them_still_gets_russian(
    delivered: tuple[Services, RecordingOutbox],
) -> None:
    _, outbox = delivered
    russian = outbox.of(RUSSIAN_OFFICER)
    texts = "\n".join(item.text for item in russian)
    assert "Еженедельная сводка" in texts and "Годовой отчёт" in texts
    assert [item.text for item in russian if item.kind == "button"] == ["Принято к сведению"]
    # Every file too: the workbooks and the Appendix 2 document are Russian.
    for item in russian:
        if item.kind == "document":
            assert _russian_words([item]), item.name


async def test_the_staff_report_and_the_escalation_follow_their_officers_language(
    delivered: tuple[Services, RecordingOutbox],
) -> None:
    _, outbox = delivered
    staff = outbox.of(INTERNAL_OFFICER_ID)
    assert [item.name for item in staff if item.kind == "document"] == ["otklik-staff-2025.xlsx"]
    assert _russian_words(staff) == []
    escalation = outbox.of(ESCALATION_OFFICER)
    assert escalation and escalation[0].text.startswith("⏰ <b>Escalation")
    assert _russian_words(escalation) == []


async def test_a_delivery_is_rendered_once_per_language_not_once_per_officer(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    await _seed(world)
    outbox = RecordingOutbox()
    services = _services(world, outbox, 500503, 500504)
    await services.officer_languages.choose(OFFICER_ID, Language.EN)
    await services.officer_languages.heard(500503, "en")
    rendered: list[Language] = []
    report_files = services.reporting.report_files

    async def counted(*args: Any, **kwargs: Any) -> Any:
        rendered.append(args[2])
        return await report_files(*args, **kwargs)

    monkeypatch.setattr(services.reporting, "report_files", counted)
    world.clock_now[0] = _local(2026, 11, 23, 9, 30)
    await services.deliveries.tick(world.clock_now[0])
    # Four officers get the week's digest and the half-year's report (a fresh start): two
    # read English, two Russian; each report is rendered once per language.
    digests = [
        item.chat for item in outbox.sent if "summary" in item.text or "сводка" in item.text
    ]
    assert sorted(digests) == sorted([OFFICER_ID, RUSSIAN_OFFICER, 500503, 500504])
    assert sorted(rendered) == [Language.EN, Language.EN, Language.RU, Language.RU]
