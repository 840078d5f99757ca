"""The officer's XLSX workbook: summary, breakdowns, pain map, anonymised answers (openpyxl).

Sheets are written in openpyxl's write-only mode, which streams rows instead of keeping a cell
object per value, so a period with tens of thousands of answers stays small in memory.
"""

from __future__ import annotations

import enum
import io
import math
from collections.abc import Iterable, Mapping, Sequence
from datetime import date, datetime
from typing import Final

from openpyxl import Workbook

from reports.model import Dimension, Report, Score, TrendPoint
from reports.painmap_import import PainMapLine
from reports.painmap_sheet import ALL_TOUCHPOINTS, pain_map_rows, pain_map_sheet
from reports.painmap_sheet import (
    PAIN_MAP_COLUMNS as PAIN_MAP_COLUMNS,
)
from reports.painmap_sheet import (
    PROBLEMS as PROBLEMS,
)
from reports.painmap_sheet import (
    add_pain_map_sheet as add_pain_map_sheet,
)
from reports.parameter_render import add_parameter_sheets
from reports.sheet import BANDS as _BANDS
from reports.sheet import COUNT as _COUNT
from reports.sheet import DATE as _DATE
from reports.sheet import HIDDEN
from reports.sheet import MEAN as _MEAN
from reports.sheet import PERCENT as _PERCENT
from reports.sheet import PP as _PP
from reports.sheet import Sheet as _Sheet
from reports.sheet import Value as _Value
from reports.telegram import csat_change, is_hidden, protect, sorted_groups, sorted_problems

SUMMARY: Final = "Сводка"
SHEETS: Final[dict[Dimension, str]] = {
    Dimension.SERVICE: "Услуги",
    Dimension.CHANNEL: "Каналы",
    Dimension.LIFE_SITUATION: "Жизненные ситуации",
    Dimension.FRONT: "Мессенджеры",
}
TREND: Final = "Динамика"
RESPONSES: Final = "Ответы"
COMMENTS: Final = "Комментарии"

GROUP_COLUMNS: Final = (
    "Название",
    "Ответов (n)",
    "CSAT",
    "Средняя оценка",
    "Уровень",
    "CSAT, пред. период",
    "Изменение CSAT, п.п.",
)


def _hidden(min_group: int) -> str:
    # Not "<N": a group may be hidden because other views would single out a smaller one.
    return HIDDEN


def _percent(value: float | None) -> tuple[_Value, str]:
    return (None if value is None else value / 100.0, _PERCENT)


def _score_cells(score: Score, min_group: int) -> list[_Value | tuple[_Value, str]]:
    """n, CSAT, mean, band: «<N» text in place of every figure of a hidden group."""
    if is_hidden(score, min_group):
        hidden = _hidden(min_group)
        return [hidden, hidden, hidden, None]
    band = score.band
    return [
        (score.n, _COUNT),
        _percent(score.csat),
        (score.mean, _MEAN),
        _BANDS[band] if band is not None else None,
    ]


def _previous_csat(score: Score, min_group: int) -> _Value | tuple[_Value, str]:
    if is_hidden(score, min_group):
        return _hidden(min_group)
    return _percent(score.csat)


def _group_rows(report: Report, dimension: Dimension) -> list[list[_Value | tuple[_Value, str]]]:
    rows: list[list[_Value | tuple[_Value, str]]] = []
    for row in sorted_groups(report.by(dimension), report.min_group):
        rows.append(
            [
                row.title,
                *_score_cells(row.current, report.min_group),
                _previous_csat(row.previous, report.min_group),
                (csat_change(row.current, row.previous, report.min_group), _PP),
            ]
        )
    return rows


def _summary_rows(report: Report) -> list[list[_Value | tuple[_Value, str]]]:
    current, previous, min_group = report.overall, report.overall_previous, report.min_group
    hidden_now, hidden_before = is_hidden(current, min_group), is_hidden(previous, min_group)
    now = _score_cells(current, min_group)
    before = _score_cells(previous, min_group)
    mean_change: float | None = None
    if (
        not (hidden_now or hidden_before)
        and current.mean is not None
        and previous.mean is not None
    ):
        mean_change = current.mean - previous.mean

    def cannot_rate(score: Score, hidden: bool) -> _Value:
        return _hidden(min_group) if hidden else score.cannot_rate

    def count(score: Score, hidden: bool, k: int) -> _Value:
        return _hidden(min_group) if hidden else score.distribution.get(k, 0)

    rows: list[list[_Value | tuple[_Value, str]]] = [
        ["Отчёт", report.title],
        ["Период", str(report.period), str(report.compared_with)],
        ["Ответов (n)", now[0], before[0]],
        [
            "Затруднились оценить",
            cannot_rate(current, hidden_now),
            cannot_rate(previous, hidden_before),
        ],
        ["CSAT", now[1], before[1], (csat_change(current, previous, min_group), _PP)],
        ["Средняя оценка", now[2], before[2], (mean_change, "+0.00;-0.00;0.00")],
        ["Уровень", now[3], before[3]],
    ]
    rows += [
        [f"Оценка {k}", count(current, hidden_now, k), count(previous, hidden_before, k)]
        for k in range(5, 0, -1)
    ]
    nps = report.nps
    if nps is not None:
        rows.append([])
        if nps.suppressed or 0 < nps.n < min_group or nps.value is None:
            rows.append(["NPS", _hidden(min_group)])
        else:
            rows += [
                ["NPS", (nps.value, "+0;-0;0")],
                ["NPS: ответов", nps.n],
                ["Промоутеры (9–10)", nps.promoters],
                ["Нейтральные (7–8)", nps.passives],
                ["Критики (0–6)", nps.detractors],
            ]
    drop_off = report.drop_off
    if drop_off is not None and drop_off.suppressed:
        rows += [[], ["Начали опрос", _hidden(min_group)]]
    elif drop_off is not None:
        rows += [
            [],
            ["Начали опрос", drop_off.started],
            ["Завершили опрос", drop_off.completed],
            ["Доля завершивших", _percent(drop_off.completion_rate)],
        ]
        for point in sorted(drop_off.quit_points, key=lambda q: (-q.quits, q.title)):
            quits: _Value = _hidden(min_group) if point.suppressed else point.quits
            rows.append([f"Прекратили на вопросе «{point.title}»", quits])
    rows.append([])
    if report.comments_suppressed:
        rows.append(["Комментарии", "не показаны: мало ответов для анонимности"])
    else:
        rows.append(["Комментарии", len(report.comments)])
    rows.append(
        [
            "Порог анонимности",
            f"группы, где меньше {min_group} ответов, и те, что вместе с другими отчётами"
            f" выделили бы такую группу, показаны как «{_hidden(min_group)}»",
        ]
    )
    return rows


def process_title(report: Report) -> str:
    """The process a pain map row belongs to: the report's service, else all of them."""
    service = report.scope.service
    if service is None:
        return "Все услуги"
    for row in report.by(Dimension.SERVICE):
        if row.key == service:
            return row.title
    return service


def touchpoint_title(report: Report) -> str:
    """The touchpoint of a report's problems: its channel, else every channel."""
    channel = report.scope.channel
    if channel is None:
        return ALL_TOUCHPOINTS
    for row in report.by(Dimension.CHANNEL):
        if row.key == channel:
            return row.title
    return channel


def _problem_rows(report: Report) -> list[list[_Value | tuple[_Value, str]]]:
    """The report's own problems, for a workbook made without the persisted map."""
    if is_hidden(report.overall, report.min_group):
        return []
    process = process_title(report)
    rows: list[list[_Value | tuple[_Value, str]]] = []
    shown = [p for p in sorted_problems(report.problems) if not p.suppressed]
    for number, problem in enumerate(shown, start=1):
        band = problem.priority_band
        rows.append(
            [
                number,
                process,
                problem.title,
                (problem.prevalence, _PERCENT),
                _BANDS[band] if band is not None else None,
                None,  # measures, responsible, deadline, status: the officer fills them in
                None,
                (None, _DATE),
                None,
                problem.respondents,
                (problem.mean_overall, _MEAN),
                (problem.priority, "0.00"),
                "оценки",
                str(report.period),
                touchpoint_title(report),
                None,
            ]
        )
    return rows


def _trend_rows(
    trend: Sequence[TrendPoint], titles: Mapping[str | None, str], min_group: int
) -> list[list[_Value | tuple[_Value, str]]]:
    rows: list[list[_Value | tuple[_Value, str]]] = []
    ordered = sorted(trend, key=lambda p: (p.bucket_start, titles.get(p.service, p.service or "")))
    for point in ordered:
        title = titles.get(point.service) or point.service or "Без услуги"
        rows.append([point.bucket_start, title, *_score_cells(point.score, min_group)[:3]])
    return rows


def _response_value(value: object) -> _Value:
    if value is None or isinstance(value, str | int | float):
        if isinstance(value, bool):
            return "да" if value else "нет"
        if isinstance(value, float) and not math.isfinite(value):
            return None
        return value
    if isinstance(value, datetime):
        # Answers are dated to the day; a time of day would help to identify a person.
        return value.date()
    if isinstance(value, date):
        return value
    if isinstance(value, enum.Enum):
        return str(value.value)
    if isinstance(value, Iterable) and not isinstance(value, bytes | Mapping):
        return "; ".join(str(_response_value(item) or "") for item in value)
    return str(value)


def _response_rows(
    responses: Sequence[Mapping[str, object]], headings: Mapping[str, str]
) -> tuple[list[str], list[list[_Value | tuple[_Value, str]]]]:
    columns: dict[str, None] = {}
    for response in responses:
        columns.update(dict.fromkeys(str(key) for key in response))
    keys = list(columns)
    rows: list[list[_Value | tuple[_Value, str]]] = [
        [_response_value(response.get(key)) for key in keys] for response in responses
    ]
    return [headings.get(key, key) for key in keys], rows


def _add_parameter_sheets(book: Workbook, report: Report) -> None:
    add_parameter_sheets(book, report.parameters)


def build_workbook(
    report: Report,
    responses: Sequence[Mapping[str, object]],
    *,
    trend: Sequence[TrendPoint] = (),
    headings: Mapping[str, str] | None = None,
    pain_map: Sequence[PainMapLine] | None = None,
    extra_sheets: Sequence[tuple[str, Sequence[str], Sequence[Sequence[_Value]]]] = (),
) -> bytes:
    """The report as XLSX bytes; `responses` are already anonymised and filtered by the caller.

    `headings` names the response columns (keys are column keys, e.g. question ids);
    `pain_map` is the persisted map (services.painmap), else the report's problems are shown."""
    report = protect(report)
    book = Workbook(write_only=True)
    _Sheet(
        book,
        SUMMARY,
        ("Показатель", "Текущий период", "Предыдущий период", "Изменение"),
        _summary_rows(report),
        wide={0: 45, 1: 30, 2: 30, 3: 14},
    )
    for dimension, title in SHEETS.items():
        _Sheet(book, title, GROUP_COLUMNS, _group_rows(report, dimension))
    pain_map_sheet(book, _problem_rows(report) if pain_map is None else pain_map_rows(pain_map))
    _add_parameter_sheets(book, report)
    if trend:
        titles: dict[str | None, str] = {
            row.key: row.title for row in report.by(Dimension.SERVICE)
        }
        _Sheet(
            book,
            TREND,
            ("Начало периода", "Услуга", "Ответов (n)", "CSAT", "Средняя оценка"),
            _trend_rows(trend, titles, report.min_group),
        )
    header, rows = _response_rows(responses, headings or {})
    _Sheet(book, RESPONSES, header, rows)
    if report.comments:
        _Sheet(
            book,
            COMMENTS,
            ("№", "Комментарий"),
            [[number, text] for number, text in enumerate(report.comments, start=1)],
            wide={0: 6, 1: 100},
        )
    # Sections of other modules, already protected (e.g. reports.open_answers_output).
    for title, columns, cells in extra_sheets:
        _Sheet(book, title, columns, cells)
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()
