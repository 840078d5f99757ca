"""The internal officer's staff report through the dispatcher: /report → «Сотрудники»."""

from __future__ import annotations

import io
from datetime import date

from aiogram.methods import SendDocument, SendPhoto
from openpyxl import load_workbook

from handlers.officer import StaffPress
from questionnaires.results import AnswerRow, CompletedResponse, ResponseContext
from storage.models_campaigns import PollWindow, StaffMember
from storage.responses import ResponseStore
from tests.bot.conftest import INTERNAL_OFFICER_ID, OFFICER_ID, World


async def _staff(world: World, department: str, count: int, equipment: int) -> None:
    """Answers of enrolled staff in the closed staff window 3 (10–14 November 2025): staff
    figures are sums over whole shown windows, departments named as the window's results
    name them (only while enough staff are enrolled in them)."""
    async with world.sessions.begin() as session:
        if await session.get(PollWindow, 3) is None:
            session.add(
                PollWindow(
                    id=3,
                    campaign_id="staff",
                    questionnaire_id="staff",
                    audience="staff",
                    opens_on=date(2025, 11, 10),
                    closes_on=date(2025, 11, 14),
                    status="closed",
                    origin="schedule",
                )
            )
        for index in range(count):
            session.add(
                StaffMember(
                    member_key=f"{department}-{index}",
                    department=department,
                    enrolled_on=date(2025, 11, 1),
                )
            )
    store = ResponseStore(world.sessions)
    for _ in range(count):
        await store.save(
            CompletedResponse(
                questionnaire_id="staff",
                questionnaire_version=1,
                kind="staff",
                audience="internal",
                context=ResponseContext(),
                submitted_on=date(2025, 11, 12),  # the clock says 2026-11-23
                answers=(
                    AnswerRow("overall", number=4),
                    AnswerRow("equipment", number=equipment),
                ),
                window_id=3,
                department=department,
            )
        )


async def test_the_internal_officer_gets_the_staff_report_by_aspect_and_department(
    world: World,
) -> None:
    await _staff(world, "licensing", 6, equipment=2)
    await _staff(world, "control", 6, equipment=5)
    internal = world.harness.person(INTERNAL_OFFICER_ID)
    await internal.send("/report")
    # Not an officer of any service: only the staff choices.
    assert internal.buttons() == [
        "Сотрудники: прошлый квартал",
        "Сотрудники: прошлое полугодие",
        "Сотрудники: прошлый год",
    ]
    await internal.click("Сотрудники: прошлый год")
    text = "\n".join(world.harness.texts(INTERNAL_OFFICER_ID))
    assert "01.01.2025–31.12.2025" in text and "сравнение с 01.01.2024–31.12.2024" in text
    assert "Ответов: 12" in text
    assert "Техническое оснащение — 3,50" in text
    assert "Отдел лицензирования" in text and "Отдел контроля и надзора" in text
    photos = [p for p in world.harness.sent(SendPhoto) if int(p.chat_id) == INTERNAL_OFFICER_ID]
    assert len(photos) == 1

    await internal.send("/export")
    await internal.click("Сотрудники: прошлый год")
    [document] = world.harness.sent(SendDocument)
    assert document.document.filename == "otklik-staff-20250101-20251231.xlsx"
    book = load_workbook(io.BytesIO(document.document.data))
    assert {"Параметры", "Ключевые факторы", "Подразделения"} <= set(book.sheetnames)


async def test_a_typed_range_offers_the_staff_report_to_the_internal_officer(
    world: World,
) -> None:
    await _staff(world, "licensing", 6, equipment=3)
    internal = world.harness.person(INTERNAL_OFFICER_ID)
    await internal.send("/report 01.10.2025–31.12.2025")
    assert internal.buttons() == ["Сотрудники"]
    await internal.click("Сотрудники")
    text = "\n".join(world.harness.texts(INTERNAL_OFFICER_ID))
    assert "Ответов: 6" in text and "Техническое оснащение — 3,00" in text
    # Not whole quarters: no staff choice (a poll window's results would cut against it).
    await internal.send("/report 01.11.2025–31.12.2025")
    assert "целые кварталы" in internal.last_text()


async def test_other_officers_are_not_offered_the_staff_report_and_forged_presses_fail(
    world: World,
) -> None:
    await _staff(world, "licensing", 6, equipment=3)
    officer = world.harness.person(OFFICER_ID)
    await officer.send("/report")
    assert not [b for b in officer.buttons() if b.startswith("Сотрудники")]
    mid, _, _ = officer.live_message()
    await officer.press_data(StaffPress(export=False, period="y").pack(), mid)
    assert officer.alerts()[-1] == "Отчёт по сотрудникам — только для ответственного"
    assert "Ответов: 6" not in "\n".join(world.harness.texts(OFFICER_ID))
    # A forged period code is answered as a stale button.
    internal = world.harness.person(INTERNAL_OFFICER_ID)
    await internal.send("/report")
    mid, _, _ = internal.live_message()
    await internal.press_data(StaffPress(export=False, period="w").pack(), mid)
    assert internal.alerts()[-1] == "Кнопка устарела"
