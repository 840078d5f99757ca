"""Every workbook in English carries no word of Russian of its own (issue 12 item 2): the
renderers take every sheet name, header, label and note from the catalogue. The data here is
English, so any Cyrillic found is a renderer's word that missed the catalogue; the same
workbooks in Russian prove the scan sees Cyrillic where there is some."""

from __future__ import annotations

import io
import re
from collections.abc import Callable
from dataclasses import replace
from datetime import date

import pytest
from openpyxl import load_workbook

from bot.content import load_content
from bot.settings import ContentSettings
from questionnaires.schema import Language
from reports.model import (
    DepartmentRow,
    DriverRow,
    InternalReport,
    ParameterRow,
    ParameterSection,
    ProblemRow,
    Quadrant,
    QuestionnaireRoles,
    QuitPoint,
    Report,
    TrendPoint,
)
from reports.open_answers import (
    CategoryCount,
    OpenAnswerCounts,
    ReportExtras,
    SituationRow,
    SituationService,
)
from reports.open_answers_output import extras_sheets
from reports.painmap_import import PainMapLine
from reports.parameter_render import build_internal_workbook
from reports.workbook import build_workbook
from tests.reports_output.factories import PERIOD, full_report, hidden, score

CYRILLIC = re.compile(r"[\u0400-\u04ff]")
TITLES = {
    "licensing": "Licensing",
    "appeals": "Appeals",
    "secret": "Rare service",
    "office": "Office",
    "site": "Website",
    "move": "Moving house",
}


def _section() -> ParameterSection:
    return ParameterSection(
        period=PERIOD,
        compared_with=PERIOD.previous(),
        min_group=5,
        min_pairs=30,
        rows=(
            ParameterRow(
                "q", "queue_time", "How long did you wait?", score(40, 70, 3.9), hidden()
            ),
            ParameterRow("q", "own", "Was the room warm?", score(40, 90, 4.5), score(30, 80, 4)),
            ParameterRow("q", "politeness", "Were they polite?", hidden(), hidden()),
        ),
        drivers=(
            DriverRow(
                "q", "queue_time", "How long?", 40, 0.6, 0.55, 3.9, 70.0, Quadrant.IMPROVE_FIRST
            ),
            DriverRow("q", "politeness", "Polite?", 0, suppressed=True),
        ),
    )


def english_report() -> Report:
    report = full_report(
        title="Report: housing inspection",
        problems=(
            ProblemRow("hindered", "queue", "Long wait", 48, 0.2, 2.5, 0.5),
            ProblemRow("hindered", "rude", "Rudeness", 12, 0.05, 1.2, 0.19),
        ),
        comments=("All good, thanks",),
        parameters=_section(),
    )
    groups = tuple(replace(g, title=TITLES[g.key or ""]) for g in report.groups)
    assert report.drop_off is not None
    drop_off = replace(report.drop_off, quit_points=(QuitPoint("hindered", "What hindered?", 35),))
    return replace(report, groups=groups, drop_off=drop_off)


def _extras() -> ReportExtras:
    counts = OpenAnswerCounts(
        period=PERIOD,
        scope=english_report().scope,
        threshold=5,
        respondents=30,
        categories=(
            CategoryCount("queue", "Queues", 12),
            CategoryCount("staff", "Staff", 0, suppressed=True),
        ),
    )
    situation = SituationRow(
        "move",
        "Moving house",
        score(20, 60, 3.5),
        hidden(),
        (SituationService("licensing", "Licensing", score(20, 60, 3.5)),),
    )
    return ReportExtras(counts, (situation,))


LINES = (
    PainMapLine(
        "Licensing",
        "Long wait",
        "rating_problem",
        "a" * 32,
        "01.10.2024–31.10.2024",
        hidden=False,
        respondents=48,
        prevalence=0.2,
        mean_overall=2.5,
        priority=0.5,
    ),
    PainMapLine(
        "Licensing",
        "Long wait",
        "rating_problem",
        "a" * 32 + "." + "b" * 32,
        measure="E-queue",
        responsible="Head of unit",
        deadline=date(2025, 3, 31),
        status="in_progress",
    ),
    PainMapLine("Appeals", "Lost letters", "appeal_reason", "c" * 32, touchpoint="Website"),
    PainMapLine("Work with the internal client", "Equipment", "staff_aspect", "d" * 32),
)


def _report_workbook(language: Language) -> bytes:
    report = english_report()
    responses = [
        {"no": 1, "date": date(2024, 10, 1), "service": "Licensing", "overall": 4, "q2": True},
        {"no": 2, "date": date(2024, 10, 1), "service": "Appeals", "overall": 2, "q2": False},
    ]
    trend = [
        TrendPoint("licensing", date(2024, 10, 1), score(150, 91.3, 4.4)),
        TrendPoint(None, date(2024, 10, 1), hidden()),
    ]
    return build_workbook(
        report,
        responses,
        trend=trend,
        headings={"q2": "Was it solved?"},
        pain_map=LINES,
        extra_sheets=extras_sheets(_extras(), language),
        language=language,
    )


def _internal_workbook(language: Language) -> bytes:
    section = _section()
    report = InternalReport(
        title="Staff poll",
        period=PERIOD,
        compared_with=PERIOD.previous(),
        min_group=5,
        overall=score(40, 70, 3.9),
        overall_previous=hidden(),
        aspects=section,
        departments=(
            DepartmentRow(
                "it", "IT", score(20, 70, 3.9), hidden(), (("queue_time", score(20, 70, 3.9)),)
            ),
            DepartmentRow(
                None, "Other departments", hidden(), hidden(), (("queue_time", hidden()),)
            ),
        ),
    )
    return build_internal_workbook(report, LINES, language)


def _russian_words(data: bytes) -> list[str]:
    """Every sheet name, cell text and number format with Cyrillic in it, located."""
    book = load_workbook(io.BytesIO(data))
    found: list[str] = []
    for sheet in book.worksheets:
        if CYRILLIC.search(sheet.title):
            found.append(f"sheet {sheet.title!r}")
        for row in sheet.iter_rows():
            for cell in row:
                if isinstance(cell.value, str) and CYRILLIC.search(cell.value):
                    found.append(f"{sheet.title}!{cell.coordinate}: {cell.value!r}")
                if CYRILLIC.search(cell.number_format or ""):
                    found.append(f"{sheet.title}!{cell.coordinate}: {cell.number_format!r}")
    return found


@pytest.mark.parametrize("build", [_report_workbook, _internal_workbook])
def test_an_english_workbook_has_no_russian_word_of_its_own(
    build: Callable[[Language], bytes],
) -> None:
    assert _russian_words(build(Language.EN)) == []
    # The scan is not blind: the Russian workbook of the same data is full of Russian labels.
    assert len(_russian_words(build(Language.RU))) > 20


def test_the_english_workbook_names_its_sheets_and_labels_in_english() -> None:
    book = load_workbook(io.BytesIO(_report_workbook(Language.EN)))
    assert book.sheetnames[:6] == [
        "Summary",
        "Services",
        "Channels",
        "Life situations",
        "Messengers",
        "Problems",
    ]
    assert {"Parameters", "Key drivers", "Trend", "Responses", "Comments"} <= set(book.sheetnames)
    services = list(book["Services"].iter_rows(values_only=True))
    assert services[0][:3] == ("Name", "Responses (n)", "CSAT")
    assert services[3][:4] == ("Rare service", "hidden", "hidden", "hidden")
    assert book["Services"]["G2"].number_format.endswith('" pp"')
    problems = list(book["Problems"].iter_rows(values_only=True))
    assert problems[2][8] == "in progress" and problems[1][12] == "ratings"
    assert problems[1][14] == "all channels" and problems[3][14] == "Website"
    responses = list(book["Responses"].iter_rows(values_only=True))
    assert responses[0] == ("No.", "Month", "Service", "Overall score", "Was it solved?")
    assert responses[1][-1] == "yes"


def test_the_report_workbook_is_russian_by_default() -> None:
    report = english_report()
    book = load_workbook(io.BytesIO(build_workbook(report, [])))
    assert book.sheetnames[:6] == [
        "Сводка",
        "Услуги",
        "Каналы",
        "Жизненные ситуации",
        "Мессенджеры",
        "Проблемы",
    ]


def test_the_roles_of_an_english_report_name_every_option_and_question_in_english() -> None:
    """The report model takes option titles (problems, answers in the Responses sheet) and
    question titles (parameters, quit points) from the roles: in English every one that the
    questionnaire YAML gives in English is English; Russian ones stay for Russian reports."""
    settings = ContentSettings()
    questionnaires = load_content(
        settings.questionnaires_dir, settings.catalog_path, settings.campaigns_path
    ).questionnaires
    roles = QuestionnaireRoles.from_questionnaires(questionnaires)
    english = roles.in_language(Language.EN)
    with_english = {
        (qid, question.id, option.id)
        for qid, questionnaire in questionnaires.items()
        for question in questionnaire.questions
        for option in getattr(question, "options", ())
        if option.text.en
    }
    assert len(with_english) > 20
    russian_left = {k: v for k, v in english.option_titles.items() if k in with_english}
    assert [v for v in russian_left.values() if CYRILLIC.search(v)] == []
    assert english.option_titles[("post_service", "obstacles", "queue")] == (
        "Long wait in a queue or on the line"
    )
    assert english.question_titles[("post_service", "solved")] == "Has your issue been resolved?"
    assert english.language == Language.EN
    # Russian stays the default: the same object, Russian titles.
    assert roles.in_language(Language.RU) is roles
    assert roles.option_titles[("post_service", "obstacles", "queue")] == (
        "Долгое ожидание в очереди или на линии"
    )
