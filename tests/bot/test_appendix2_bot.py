"""Issue 11: the Appendix 2 document from /report (a button under a body-wide report)."""

from __future__ import annotations

import io
from datetime import date

import docx
import pytest
from aiogram.methods import SendDocument

from handlers.officer import DocxPress
from tests.bot.conftest import BODY, OFFICER_ID, World
from tests.bot.test_officer import _seed


async def test_a_body_wide_report_offers_the_appendix_2_document(world: World) -> None:
    await _seed(world, [5, 5, 4, 2, 1, 4], date(2026, 8, 12))
    officer = world.harness.person(OFFICER_ID)
    await officer.send("/report")
    await officer.click("Прошлое полугодие")
    await officer.click("Все услуги")
    assert officer.buttons() == ["Отчёт по форме (DOCX)"]
    await officer.click("Отчёт по форме (DOCX)")
    [sent] = world.harness.sent(SendDocument)
    assert int(sent.chat_id) == OFFICER_ID
    assert sent.document.filename == "otklik-appendix2-20260101-20260630.docx"
    document = docx.Document(io.BytesIO(sent.document.data))
    assert f"в {BODY} по процессам" in document.paragraphs[0].text
    assert document.paragraphs[1].text == "Отчетный период: 01.01.2026–30.06.2026"
    assert "Готовлю документ…" in officer.alerts()  # the press is answered before the work


async def test_no_document_button_under_a_service_report_or_an_export(world: World) -> None:
    officer = world.harness.person(OFFICER_ID)
    await officer.send("/report")
    await officer.click("Прошлый месяц")
    await officer.click("Лицензирование деятельности")
    assert officer.buttons() == []
    await officer.send("/export")
    await officer.click("Прошлый месяц")
    await officer.click("Все услуги")
    assert "Отчёт по форме (DOCX)" not in officer.buttons()


async def test_a_forged_or_stale_document_button_is_answered_and_builds_nothing(
    world: World,
) -> None:
    officer = world.harness.person(OFFICER_ID)
    await officer.send("/report")
    mid, _, _ = officer.live_message()
    # The period has not ended (the clock says 23.11.2026), and a range that is no whole month.
    for start, end in (("20261101", "20261130"), ("20261003", "20261031"), ("20269999", "x" * 8)):
        await officer.press_data(DocxPress(start=start, end=end).pack(), mid)
    assert officer.alerts() == ["Кнопка устарела"] * 3
    assert world.harness.sent(SendDocument) == []


async def test_an_officer_who_may_not_see_every_service_gets_no_document(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    officer = world.harness.person(OFFICER_ID)
    await officer.send("/report")
    mid, _, _ = officer.live_message()
    # A service's own officer: the body-wide document (and its appeals) is not theirs.
    monkeypatch.setattr(world.reporting, "may_see", lambda officer, scope: scope.service)
    await officer.press_data(DocxPress(start="20260101", end="20260630").pack(), mid)
    assert officer.alerts() == ["Нет доступа к отчёту по всем услугам"]
    assert world.harness.sent(SendDocument) == []


async def test_an_english_officer_gets_the_document_in_english(world: World) -> None:
    await _seed(world, [5, 5, 4, 2, 1, 4], date(2026, 8, 12))
    john = world.harness.person(OFFICER_ID, language="en")
    await john.send("/report")
    mid, _, _ = john.live_message()
    await john.press_data(DocxPress(start="20260101", end="20260630").pack(), mid)
    [sent] = world.harness.sent(SendDocument)
    document = docx.Document(io.BytesIO(sent.document.data))
    assert document.paragraphs[0].text.startswith("Report on the collection of feedback in ")
    assert document.paragraphs[1].text == "Reporting period: 01.01.2026–30.06.2026"
    headings = [p.text for p in document.paragraphs if p.style and p.style.name == "Heading 1"]
    assert headings[0] == "1. Methods and channels of feedback collection"
