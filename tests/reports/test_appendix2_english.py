"""The Appendix 2 document in English (issue 12 item 2): a faithful translation of the form for
an English-reading officer, with no Russian word of the program's own; Russian stays the
default (the official form)."""

from __future__ import annotations

import io
import re
from dataclasses import replace
from datetime import date

import docx
from docx.document import Document as WordDocument

from questionnaires.schema import Language
from reports.appeals import monitoring_of
from reports.appendix2 import (
    Appendix2Data,
    DepartmentResult,
    PainRow,
    StaffWindowResult,
    build_document,
)
from reports.docx import render_docx
from reports.model import (
    Dimension,
    DriverRow,
    ParameterRow,
    ParameterSection,
    Period,
    Quadrant,
    Scope,
)
from storage.appeals import AppealCount
from tests.reports.test_appendix2 import (
    EMPTY,
    GROUPS,
    H1,
    H2_2025,
    SUPPRESSED,
    _report,
    _row,
    _score,
)

CYRILLIC = re.compile(r"[\u0400-\u04ff]")
BODY = "the Housing Inspectorate of Perm Krai"
YEAR = Period(date(2026, 1, 1), date(2026, 12, 31))
Q1 = Period(date(2026, 1, 1), date(2026, 3, 31))
Q2 = Period(date(2026, 4, 1), date(2026, 6, 30))


def _section() -> ParameterSection:
    return ParameterSection(
        period=H1,
        compared_with=H2_2025,
        min_group=5,
        min_pairs=30,
        rows=(
            ParameterRow(
                "deep", "info_clarity", "Clear information", _score(40, 70.0, 3.9), EMPTY
            ),
            ParameterRow("deep", "politeness", "Politeness", SUPPRESSED, EMPTY),
        ),
        drivers=(
            DriverRow(
                "deep",
                "info_clarity",
                "Clear information",
                40,
                0.61,
                None,
                3.9,
                70.0,
                Quadrant.IMPROVE_FIRST,
            ),
        ),
    )


def english_data(language: Language) -> Appendix2Data:
    """Every part of the document filled, with English data."""
    external = replace(
        _report(
            overall=_score(45, 75.0, 4.1),
            previous=_score(30, 70.0, 3.9),
            groups=(
                _row(Dimension.SERVICE, "appeals", "Appeals", _score(15, 60.0, 3.4), EMPTY),
                _row(Dimension.SERVICE, "inspections", "Inspections", SUPPRESSED, EMPTY),
                _row(Dimension.SERVICE, "licensing", "Licensing", _score(30, 80.0, 4.2), EMPTY),
                _row(Dimension.CHANNEL, "office", "Office", _score(30, 70.0, 4.0), EMPTY),
            ),
        ),
        parameters=_section(),
    )
    internal = _report(
        scope=Scope(audience="internal"),
        overall=_score(12, 50.0, 3.5),
        groups=(_row(Dimension.SERVICE, "hr", "HR", _score(12, 50.0, 3.5), EMPTY),),
    )
    appeals = (
        monitoring_of(
            Q1,
            [
                AppealCount(True, "complaint", "satisfied", "post", "repairs", "delay", 3),
                AppealCount(True, "appeal", None, "email", "fees", None, 6),
            ],
        ),
        monitoring_of(Q2, []),
    )
    window = StaffWindowResult(
        "Staff poll",
        date(2026, 3, 2),
        date(2026, 3, 6),
        12,
        11,
        55.0,
        3.5,
        (DepartmentResult("Supervision", 6, 6, 50.0, 3.0),),
    )
    small = StaffWindowResult("Quick poll", date(2026, 5, 4), date(2026, 5, 8), 0, 0, None, None)
    pains = (
        PainRow("Licensing", "Long wait", 0.2, 0.5, "E-queue", "Head", date(2026, 9, 1), "done"),
        PainRow("Appeals", "Unclear forms", None, None),
    )
    return Appendix2Data(
        body=BODY,
        period=YEAR,
        external=external,
        internal=internal,
        groups=GROUPS,
        beside=replace(external, period=H1),
        pains=pains,
        staff_pains=(PainRow("Work with the internal client", "Equipment", 0.4, 0.8),),
        appeals=appeals,
        appeal_titles={
            "channel": {"post": "Post", "email": "E-mail"},
            "reason": {"delay": "Delay"},
        },
        staff_windows=(window, small),
        deep_windows=(small,),
        language=language,
    )


def _texts(document: WordDocument) -> list[str]:
    found = [p.text for p in document.paragraphs]
    for table in document.tables:
        found += [cell.text for row in table.rows for cell in row.cells]
    found += [document.core_properties.title or ""]
    return found


def test_the_english_document_has_no_russian_word_of_its_own() -> None:
    data = render_docx(build_document(english_data(Language.EN)))
    document = docx.Document(io.BytesIO(data))
    russian = [text for text in _texts(document) if CYRILLIC.search(text)]
    assert russian == []
    assert document.core_properties.language == "en-GB"
    # The scan is not blind: the same data in the official Russian form.
    default = docx.Document(io.BytesIO(render_docx(build_document(english_data(Language.RU)))))
    assert len([text for text in _texts(default) if CYRILLIC.search(text)]) > 50


def test_the_english_form_title_translates_the_procedures_wording() -> None:
    document = build_document(english_data(Language.EN))
    assert document.title == (
        "Report on the collection of feedback in the Housing Inspectorate of Perm Krai on the "
        "processes of providing public services, exercising control and supervisory powers, "
        "handling citizens' appeals, interaction with the internal client"
    )
    assert (
        document.period_line == "Reporting period: 01.01.2026–31.12.2026"
        " (including the half-year 01.01.2026–30.06.2026)"
    )
    # Russian, the official form, unless the language is given.
    default = replace(english_data(Language.EN), language=Language.RU)
    assert build_document(default).title.startswith("Отчет о проведении сбора обратной связи в ")
    fields = {name: getattr(default, name) for name in Appendix2Data.__dataclass_fields__}
    del fields["language"]
    assert build_document(Appendix2Data(**fields)) == build_document(default)
