"""Staff pains in the outputs of the internal officer (issue 10/11): Appendix 2's internal
section and the staff workbook's «Проблемы» sheet, sent back with measures. Read from the
persisted map only (how staff pains are computed is services.painmap's staff source)."""

from __future__ import annotations

import io
from datetime import date, datetime

from openpyxl import load_workbook

from reports.appendix2 import Table
from reports.model import Period
from services.appendix2 import Appendix2Service, PersistedPainMap
from services.painmap import STAFF_PROCESS
from storage.painmap import Figures, FoundPain, NewMeasure, ProcessKey, Satisfaction, Span
from tests.painmap.conftest import BODY_OFFICER, INTERNAL_OFFICER, Desk

QUARTER = Period(date(2026, 7, 1), date(2026, 9, 30))


async def _staff_pain(desk: Desk) -> str:
    await desk.store.save_period(
        STAFF_PROCESS,
        Span(QUARTER.start, QUARTER.end),
        Satisfaction(False, 12, 75.0, 4.0),
        [
            FoundPain(
                "staff_aspect",
                "staff:tools",
                "Техническое оснащение",
                Figures(False, 12, 0.5, 3.0, 1.0),
            )
        ],
        absent={},
        today=date(2026, 10, 1),
    )
    await desk.store.save_period(
        ProcessKey("service", "licensing"),
        Span(QUARTER.start, QUARTER.end),
        Satisfaction(False, 20, 60.0, 3.5),
        [
            FoundPain(
                "rating_problem", "obstacles:queue", "Очередь", Figures(False, 8, 0.4, 2.0, 1.2)
            )
        ],
        absent={},
        today=date(2026, 10, 1),
    )
    [pain] = await desk.store.pains([STAFF_PROCESS])
    return pain.id


async def test_appendix2_lists_staff_pains_in_the_internal_section_only(desk: Desk) -> None:
    pain_id = await _staff_pain(desk)
    await desk.store.add_measure(
        NewMeasure(pain_id, "Новые ноутбуки", "Хозотдел", date(2027, 2, 1)), date(2026, 12, 1)
    )
    service = Appendix2Service(
        reporting=desk.service.reporting,
        body="Инспекция",
        painmap=PersistedPainMap(desk.service.appendix2_rows),
        staff_pains=PersistedPainMap(desk.service.appendix2_staff_rows),
    )
    document = await service.document(QUARTER)
    data_pains = [p.problem for p in (await desk.service.appendix2_rows(QUARTER))]
    assert data_pains == ["Очередь"]  # the citizens' map has no staff pain
    # The pain's row, then a row per measure (as in the citizens' table).
    pain, staff = await desk.service.appendix2_staff_rows(QUARTER)
    assert (pain.problem, pain.measures) == ("Техническое оснащение", "")
    assert (staff.problem, staff.prevalence, staff.measures, staff.status) == (
        "Техническое оснащение",
        0.5,
        "Новые ноутбуки",
        "запланирована",
    )
    sections = {section.heading: section for section in document.sections}
    internal = next(s for t, s in sections.items() if t.startswith("3."))
    caption = "Карта болей внутренних клиентов"
    [table] = [b for b in internal.blocks if isinstance(b, Table) and b.caption == caption]
    assert [cell.text for cell in table.rows[1]][2:4] == ["Техническое оснащение", "50,0%"]
    assert table.rows[1][5].text == "Новые ноутбуки"
    external = next(s for t, s in sections.items() if t.startswith("5."))
    assert "Техническое оснащение" not in str(external)


async def test_the_staff_workbook_carries_staff_pains_for_the_internal_officers_round_trip(
    desk: Desk,
) -> None:
    pain_id = await _staff_pain(desk)
    reporting = desk.service.reporting
    reporting.use_staff_pain_map(desk.service.staff_sheet_lines)
    book = load_workbook(io.BytesIO(await reporting.internal_workbook(QUARTER)))
    sheet = book["Проблемы"]
    header = [cell.value for cell in sheet[1]]
    [row] = list(sheet.iter_rows(min_row=2))
    assert row[header.index("Ключ")].value == pain_id
    assert row[header.index("Проблема / потенциальная потребность")].value == (
        "Техническое оснащение"
    )
    for name, value in (
        ("Меры", "Новые ноутбуки"),
        ("Ответственный", "Хозотдел"),
        ("Срок", datetime(2027, 2, 1)),
    ):
        row[header.index(name)].value = value
    buffer = io.BytesIO()
    book.save(buffer)
    # A body-wide officer does not see staff pains: refused, nothing written.
    refused = await desk.service.import_sheet(BODY_OFFICER, buffer.getvalue())
    assert [e.problem for e in refused.errors] == ["not_yours"]
    assert await desk.store.measures([pain_id]) == []
    accepted = await desk.service.import_sheet(INTERNAL_OFFICER, buffer.getvalue())
    assert accepted.errors == [] and accepted.added == 1
    [measure] = await desk.store.measures([pain_id])
    assert (measure.text, measure.responsible) == ("Новые ноутбуки", "Хозотдел")
