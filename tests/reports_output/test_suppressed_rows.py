"""Problems and quit points below the threshold show no figures; workbook headings read."""

from __future__ import annotations

import dataclasses
import io

from openpyxl import load_workbook

from questionnaires.schema import Language
from reports.model import DropOff, ProblemRow, QuitPoint
from reports.telegram import render_report_text
from reports.workbook import build_workbook
from tests.reports_output.factories import full_report

RARE = ProblemRow("hindered", "secret", "Редкая проблема", 0, 0.0, None, None, suppressed=True)


def _report_with_rare_rows() -> object:
    report = full_report()
    return dataclasses.replace(
        report,
        problems=(*report.problems, RARE),
        drop_off=DropOff(
            started=40,
            completed=30,
            quit_points=(
                QuitPoint("solved", "Вопрос решён?", 8),
                QuitPoint("contacts", "Сколько раз", 0, suppressed=True),
            ),
        ),
    )


def test_suppressed_problem_and_quit_point_are_left_out_of_the_message() -> None:
    text = render_report_text(_report_with_rare_rows())  # type: ignore[arg-type]
    assert "Долгое ожидание" in text
    assert "Редкая проблема" not in text
    assert "Сколько раз" not in text and "Вопрос решён?" in text


def test_suppressed_problem_is_not_in_the_pain_map_and_quit_point_shows_no_number() -> None:
    data = build_workbook(_report_with_rare_rows(), [])  # type: ignore[arg-type]
    book = load_workbook(io.BytesIO(data))
    pain_map = [row for row in book["Проблемы"].iter_rows(values_only=True)]
    assert not any("Редкая проблема" in str(cell) for row in pain_map for cell in row)
    summary = {row[0]: row[1] for row in book["Сводка"].iter_rows(values_only=True) if row}
    assert summary["Прекратили на вопросе «Сколько раз»"] == "скрыто"


def test_response_columns_get_readable_headings() -> None:
    rows = [{"no": 1, "date": "2026-11-20", "overall": 4, "solved": "Да", "other": 1}]
    data = build_workbook(
        full_report(), rows, headings={"no": "№", "date": "Дата", "solved": "Вопрос решён?"}
    )
    sheet = load_workbook(io.BytesIO(data))["Ответы"]
    header = next(sheet.iter_rows(values_only=True))
    # The fixed columns are named by the workbook (in its language) unless the caller names
    # them; a column nobody names keeps its key.
    assert header == ("№", "Дата", "Общая оценка", "Вопрос решён?", "other")
    english = build_workbook(full_report(), rows, language=Language.EN)
    header = next(load_workbook(io.BytesIO(english))["Responses"].iter_rows(values_only=True))
    assert header == ("No.", "Month", "Overall score", "solved", "other")
