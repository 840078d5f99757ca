"""The officer's workbook read back with openpyxl: sheets, figures, hidden groups, pain map."""

from __future__ import annotations

import io
from datetime import UTC, date, datetime

import pytest
from openpyxl import load_workbook
from openpyxl.workbook.workbook import Workbook
from openpyxl.worksheet.worksheet import Worksheet

from reports.model import Dimension, Scope, Score, TrendPoint
from reports.painmap_sheet import pain_map_columns
from reports.workbook import build_workbook
from tests.reports_output.factories import empty_report, full_report, group, hidden, score

RESPONSES = [
    {"Дата": date(2024, 10, 3), "Услуга": "Лицензирование", "Оценка": 5, "Решён": True},
    {
        "Дата": datetime(2024, 10, 4, 15, 42, tzinfo=UTC),
        "Услуга": "Приём обращений",
        "Оценка": 2,
        "Что мешало": ("Очередь", "Грубость"),
        "Комментарий": '=HYPERLINK("http://evil","клик")',
    },
]


def _open(data: bytes) -> Workbook:
    assert data[:2] == b"PK"  # a zip container
    return load_workbook(io.BytesIO(data))


def _rows(sheet: Worksheet) -> list[list[object]]:
    return [list(row) for row in sheet.iter_rows(values_only=True)]


def _row(sheet: Worksheet, first: str) -> list[object]:
    rows = [row for row in _rows(sheet) if row[0] == first]
    assert len(rows) == 1, first
    return rows[0]


@pytest.fixture
def book() -> Workbook:
    trend = (
        TrendPoint("licensing", date(2024, 10, 1), score(30, 90.0, 4.5)),
        TrendPoint("secret", date(2024, 10, 1), Score(n=2, csat=50.0, mean=3.0, suppressed=True)),
    )
    return _open(build_workbook(full_report(), RESPONSES, trend=trend))


def test_sheets_in_order(book: Workbook) -> None:
    assert book.sheetnames == [
        "Сводка",
        "Услуги",
        "Каналы",
        "Жизненные ситуации",
        "Мессенджеры",
        "Проблемы",
        "Динамика",
        "Ответы",
        "Комментарии",
    ]


def test_every_sheet_has_a_bold_frozen_header_and_widths(book: Workbook) -> None:
    for sheet in book.worksheets:
        assert sheet.freeze_panes == "A2", sheet.title
        assert all(cell.font.b for cell in sheet[1] if cell.value is not None), sheet.title
        assert (sheet.column_dimensions["A"].width or 0) >= 5, sheet.title


def test_summary_has_figures_with_formats(book: Workbook) -> None:
    sheet = book["Сводка"]
    assert _row(sheet, "Ответов (n)")[1:3] == [240, 200]
    csat = _row(sheet, "CSAT")
    assert csat[1] == pytest.approx(0.875) and csat[2] == pytest.approx(0.843)
    assert csat[3] == pytest.approx(3.2)
    cell = next(c for c in sheet["B"] if c.value == pytest.approx(0.875))
    assert cell.number_format == "0.0%"
    assert _row(sheet, "Средняя оценка")[1] == pytest.approx(4.21)
    assert _row(sheet, "Уровень")[1:3] == ["высокий", "высокий"]
    assert _row(sheet, "Оценка 5")[1:3] == [150, 110]
    assert _row(sheet, "NPS")[1] == pytest.approx(100 * 50 / 120)
    assert _row(sheet, "Начали опрос")[1] == 300
    assert _row(sheet, "Доля завершивших")[1] == pytest.approx(0.8)
    assert _row(sheet, "Прекратили на вопросе «Что помешало?»")[1] == 35


def test_group_sheet_rows_and_hidden_group(book: Workbook) -> None:
    rows = _rows(book["Услуги"])
    assert rows[0] == [
        "Название",
        "Ответов (n)",
        "CSAT",
        "Средняя оценка",
        "Уровень",
        "CSAT, пред. период",
        "Изменение CSAT, п.п.",
    ]
    licensing, appeals, secret = rows[1:]
    assert licensing[:5] == ["Лицензирование", 150, pytest.approx(0.913), 4.4, "высокий"]
    assert licensing[5] == pytest.approx(0.88) and licensing[6] == pytest.approx(3.3)
    assert appeals[0] == "Приём обращений" and appeals[6] == pytest.approx(-4.0)
    assert secret == ["Редкая услуга", "скрыто", "скрыто", "скрыто", None, "скрыто", None]


def test_workbook_applies_complementary_suppression() -> None:
    # 240 overall − 150 − 87 shown = 3: the hidden service's size would be readable.
    report = full_report(
        groups=(
            group(Dimension.SERVICE, "l", "Лицензирование", score(150, 91.3, 4.4), hidden()),
            group(Dimension.SERVICE, "a", "Приём обращений", score(87, 80.5, 3.76), hidden()),
            group(Dimension.SERVICE, "s", "Редкая услуга", hidden(), hidden()),
        )
    )
    rows = _rows(_open(build_workbook(report, []))["Услуги"])
    assert rows[1][:2] == ["Лицензирование", 150]
    assert rows[2][:4] == ["Приём обращений", "скрыто", "скрыто", "скрыто"]
    assert rows[3][:4] == ["Редкая услуга", "скрыто", "скрыто", "скрыто"]


@pytest.mark.parametrize(
    "secret",
    [
        Score(n=3, csat=66.7, mean=3.67, distribution={5: 2, 1: 1}, suppressed=True),
        Score(n=3, csat=66.7, mean=3.67, distribution={5: 2, 1: 1}),
    ],
)
def test_hidden_cells_hold_no_number_even_if_figures_leaked(secret: Score) -> None:
    report = full_report(
        groups=(group(Dimension.CHANNEL, "x", "Редкий канал", secret, secret),),
        overall=secret,
        overall_previous=secret,
    )
    book = _open(build_workbook(report, []))
    row = _rows(book["Каналы"])[1]
    assert row[0] == "Редкий канал"
    assert not any(isinstance(value, int | float) for value in row)
    assert row.count("скрыто") == 4
    summary = book["Сводка"]
    for label in ("Ответов (n)", "CSAT", "Средняя оценка", "Оценка 5", "Затруднились оценить"):
        values = _row(summary, label)[1:]
        assert not any(isinstance(value, int | float) for value in values), label
    # With the overall hidden there is no pain map to draw.
    assert _rows(book["Проблемы"])[1:] == []


def test_pain_map_has_the_appendix_columns_with_blanks_for_the_officer(book: Workbook) -> None:
    sheet = book["Проблемы"]
    rows = _rows(sheet)
    assert rows[0][:8] == [
        "№",
        "Процесс",
        "Проблема / потенциальная потребность",
        "Распространённость",
        "Приоритет",
        "Меры",
        "Ответственный",
        "Срок",
    ]
    assert tuple(rows[0]) == pain_map_columns()
    first = rows[1]
    assert first[:5] == [1, "Все услуги", "Долгое ожидание", pytest.approx(0.2), "средний"]
    assert first[5:9] == [None, None, None, None]  # Меры, Ответственный, Срок, Статус
    assert first[9:12] == [48, 2.5, 0.5]
    # Without the persisted map (services.painmap) a row has no key to come back with.
    # The touchpoint (issue 10): a report of every channel names them all.
    assert first[12:] == ["оценки", "01.10.2024–31.10.2024", "все каналы", None]
    assert sheet["D2"].number_format == "0.0%"
    assert [row[0] for row in rows[1:]] == [1, 2, 3]


def test_pain_map_process_is_the_scope_service() -> None:
    report = full_report(scope=Scope(service="licensing"))
    rows = _rows(_open(build_workbook(report, []))["Проблемы"])
    assert {row[1] for row in rows[1:]} == {"Лицензирование"}


def test_responses_are_written_as_given_and_safely(book: Workbook) -> None:
    sheet = book["Ответы"]
    rows = _rows(sheet)
    assert rows[0] == ["Дата", "Услуга", "Оценка", "Решён", "Что мешало", "Комментарий"]
    assert rows[1] == [datetime(2024, 10, 3), "Лицензирование", 5, "да", None, None]
    # A time of day is dropped; a comment looking like a formula stays text.
    assert rows[2][0] == datetime(2024, 10, 4)
    assert rows[2][4] == "Очередь; Грубость"
    assert sheet["F3"].data_type == "s"
    assert sheet["F3"].value == '=HYPERLINK("http://evil","клик")'
    assert sheet["A2"].number_format == "DD.MM.YYYY"


def test_trend_sheet_hides_small_buckets(book: Workbook) -> None:
    rows = _rows(book["Динамика"])
    assert rows[1] == [datetime(2024, 10, 1), "Лицензирование", 30, pytest.approx(0.9), 4.5]
    assert rows[2] == [datetime(2024, 10, 1), "Редкая услуга", "скрыто", "скрыто", "скрыто"]


def test_comments_sheet(book: Workbook) -> None:
    assert _rows(book["Комментарии"]) == [
        ["№", "Комментарий"],
        [1, "Всё отлично, спасибо"],
        [2, "Очередь слишком длинная"],
    ]


def test_empty_report_builds_without_optional_sheets() -> None:
    book = _open(build_workbook(empty_report(), []))
    assert book.sheetnames == [
        "Сводка",
        "Услуги",
        "Каналы",
        "Жизненные ситуации",
        "Мессенджеры",
        "Проблемы",
        "Ответы",
    ]
    assert _row(book["Сводка"], "Ответов (n)")[1] == 0
    assert _rows(book["Услуги"])[1:] == []


def test_control_characters_in_text_do_not_break_the_file() -> None:
    report = full_report(comments=("плохо\x00\x07 очень",))
    book = _open(build_workbook(report, [{"Комментарий": "a\x1bb"}]))
    assert _rows(book["Комментарии"])[1] == [1, "плохо очень"]
    assert _rows(book["Ответы"])[1] == ["ab"]
