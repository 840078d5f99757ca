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

from questionnaires.i18n import N_, tr
from questionnaires.schema import Language
from reports.model import Dimension, Report, Score, TrendPoint
from reports.painmap_import import PainMapLine
from reports.painmap_sheet import add_pain_map_sheet as add_pain_map_sheet
from reports.painmap_sheet import all_touchpoints, pain_map_rows, pain_map_sheet, source_title
from reports.parameter_render import add_parameter_sheets
from reports.sheet import COUNT as _COUNT
from reports.sheet import DATE as _DATE
from reports.sheet import MEAN as _MEAN
from reports.sheet import PERCENT as _PERCENT
from reports.sheet import Sheet as _Sheet
from reports.sheet import Value as _Value
from reports.sheet import band_word, hidden, points_format
from reports.telegram import csat_change, is_hidden, protect, sorted_groups, sorted_problems

SUMMARY: Final = N_("workbook.sheet.summary")
SHEETS: Final[dict[Dimension, str]] = {
    Dimension.SERVICE: N_("workbook.sheet.services"),
    Dimension.CHANNEL: N_("workbook.sheet.channels"),
    Dimension.LIFE_SITUATION: N_("workbook.sheet.life_situations"),
    Dimension.FRONT: N_("workbook.sheet.fronts"),
}
TREND: Final = N_("workbook.sheet.trend")
RESPONSES: Final = N_("workbook.sheet.responses")
COMMENTS: Final = N_("workbook.sheet.comments")

GROUP_COLUMNS: Final = (
    N_("workbook.name"),
    N_("workbook.responses_n"),
    N_("workbook.csat"),
    N_("workbook.mean"),
    N_("workbook.band"),
    N_("workbook.csat_previous"),
    N_("workbook.csat_change"),
)
#: The fixed columns of reports.metrics.anonymised_responses; question columns are named by
#: their questions.
RESPONSE_COLUMNS: Final[dict[str, str]] = {
    "no": N_("workbook.column.no"),
    "date": N_("workbook.column.date"),
    "questionnaire": N_("workbook.column.questionnaire"),
    "service": N_("workbook.column.service"),
    "channel": N_("workbook.column.channel"),
    "life_situation": N_("workbook.column.life_situation"),
    "overall": N_("workbook.column.overall"),
    "problems": N_("workbook.column.problems"),
    "comments": N_("workbook.column.comments"),
}


def response_columns(language: Language = Language.RU) -> dict[str, str]:
    """The headings of the fixed response columns in ``language``."""
    return {key: tr(language, text) for key, text in RESPONSE_COLUMNS.items()}


def _titles(keys: tuple[str, ...], language: Language) -> tuple[str, ...]:
    return tuple(tr(language, key) for key in keys)


def _percent(value: float | None) -> tuple[_Value, str]:
    return (None if value is None else value / 100.0, _PERCENT)


def _score_cells(
    score: Score, min_group: int, language: Language
) -> list[_Value | tuple[_Value, str]]:
    """n, CSAT, mean, band: «скрыто» in place of every figure of a hidden group (not «<N»: a
    group may be hidden because other views would single out a smaller one)."""
    if is_hidden(score, min_group):
        word = hidden(language)
        return [word, word, word, None]
    return [
        (score.n, _COUNT),
        _percent(score.csat),
        (score.mean, _MEAN),
        band_word(score.band, language),
    ]


def _previous_csat(
    score: Score, min_group: int, language: Language
) -> _Value | tuple[_Value, str]:
    if is_hidden(score, min_group):
        return hidden(language)
    return _percent(score.csat)


def _group_rows(
    report: Report, dimension: Dimension, language: Language
) -> list[list[_Value | tuple[_Value, str]]]:
    rows: list[list[_Value | tuple[_Value, str]]] = []
    points = points_format(language)
    for row in sorted_groups(report.by(dimension), report.min_group):
        rows.append(
            [
                row.title,
                *_score_cells(row.current, report.min_group, language),
                _previous_csat(row.previous, report.min_group, language),
                (csat_change(row.current, row.previous, report.min_group), points),
            ]
        )
    return rows


def _summary_rows(report: Report, language: Language) -> list[list[_Value | tuple[_Value, str]]]:
    current, previous, min_group = report.overall, report.overall_previous, report.min_group
    hidden_now, hidden_before = is_hidden(current, min_group), is_hidden(previous, min_group)
    now = _score_cells(current, min_group, language)
    before = _score_cells(previous, min_group, language)
    word = hidden(language)

    mean_change: float | None = None
    if (
        not (hidden_now or hidden_before)
        and current.mean is not None
        and previous.mean is not None
    ):
        mean_change = current.mean - previous.mean

    def cannot_rate(score: Score, hidden_score: bool) -> _Value:
        return word if hidden_score else score.cannot_rate

    def count(score: Score, hidden_score: bool, k: int) -> _Value:
        return word if hidden_score else score.distribution.get(k, 0)

    change = (csat_change(current, previous, min_group), points_format(language))
    rows: list[list[_Value | tuple[_Value, str]]] = [
        [tr(language, "workbook.summary.report"), report.title],
        [tr(language, "workbook.summary.period"), str(report.period), str(report.compared_with)],
        [tr(language, "workbook.responses_n"), now[0], before[0]],
        [
            tr(language, "workbook.cannot_rate"),
            cannot_rate(current, hidden_now),
            cannot_rate(previous, hidden_before),
        ],
        [tr(language, "workbook.csat"), now[1], before[1], change],
        [tr(language, "workbook.mean"), now[2], before[2], (mean_change, "+0.00;-0.00;0.00")],
        [tr(language, "workbook.band"), now[3], before[3]],
    ]
    rows += [
        [
            tr(language, "workbook.summary.score", k=k),
            count(current, hidden_now, k),
            count(previous, hidden_before, k),
        ]
        for k in range(5, 0, -1)
    ]
    nps = report.nps
    if nps is not None:
        rows.append([])
        if nps.suppressed or 0 < nps.n < min_group or nps.value is None:
            rows.append(["NPS", word])
        else:
            rows += [
                ["NPS", (nps.value, "+0;-0;0")],
                [tr(language, "workbook.summary.nps_n"), nps.n],
                [tr(language, "workbook.summary.promoters"), nps.promoters],
                [tr(language, "workbook.summary.passives"), nps.passives],
                [tr(language, "workbook.summary.detractors"), nps.detractors],
            ]
    drop_off = report.drop_off
    if drop_off is not None and drop_off.suppressed:
        rows += [[], [tr(language, "workbook.summary.started"), word]]
    elif drop_off is not None:
        rows += [
            [],
            [tr(language, "workbook.summary.started"), drop_off.started],
            [tr(language, "workbook.summary.completed"), drop_off.completed],
            [tr(language, "workbook.summary.completion_rate"), _percent(drop_off.completion_rate)],
        ]
        for point in sorted(drop_off.quit_points, key=lambda q: (-q.quits, q.title)):
            quits: _Value = word if point.suppressed else point.quits
            rows.append([tr(language, "workbook.summary.quit_at", title=point.title), quits])
    rows.append([])
    if report.comments_suppressed:
        rows.append(
            [
                tr(language, "workbook.sheet.comments"),
                tr(language, "workbook.summary.comments_hidden"),
            ]
        )
    else:
        rows.append([tr(language, "workbook.sheet.comments"), len(report.comments)])
    rows.append(
        [
            tr(language, "workbook.summary.threshold"),
            tr(language, "workbook.summary.threshold_note", k=min_group, hidden=word),
        ]
    )
    return rows


def process_title(report: Report, language: Language = Language.RU) -> str:
    """The process a pain map row belongs to: the report's service, else all of them."""
    service = report.scope.service
    if service is None:
        return tr(language, "workbook.all_services")
    for row in report.by(Dimension.SERVICE):
        if row.key == service:
            return row.title
    return service


def touchpoint_title(report: Report, language: Language = Language.RU) -> str:
    """The touchpoint of a report's problems: its channel, else every channel."""
    channel = report.scope.channel
    if channel is None:
        return all_touchpoints(language)
    for row in report.by(Dimension.CHANNEL):
        if row.key == channel:
            return row.title
    return channel


def _problem_rows(report: Report, language: Language) -> list[list[_Value | tuple[_Value, str]]]:
    """The report's own problems, for a workbook made without the persisted map."""
    if is_hidden(report.overall, report.min_group):
        return []
    process = process_title(report, language)
    rows: list[list[_Value | tuple[_Value, str]]] = []
    shown = [p for p in sorted_problems(report.problems) if not p.suppressed]
    for number, problem in enumerate(shown, start=1):
        rows.append(
            [
                number,
                process,
                problem.title,
                (problem.prevalence, _PERCENT),
                band_word(problem.priority_band, language),
                None,  # measures, responsible, deadline, status: the officer fills them in
                None,
                (None, _DATE),
                None,
                problem.respondents,
                (problem.mean_overall, _MEAN),
                (problem.priority, "0.00"),
                source_title("rating_problem", language),
                str(report.period),
                touchpoint_title(report, language),
                None,
            ]
        )
    return rows


def _trend_rows(
    trend: Sequence[TrendPoint],
    titles: Mapping[str | None, str],
    min_group: int,
    language: Language,
) -> list[list[_Value | tuple[_Value, str]]]:
    rows: list[list[_Value | tuple[_Value, str]]] = []
    ordered = sorted(trend, key=lambda p: (p.bucket_start, titles.get(p.service, p.service or "")))
    for point in ordered:
        title = titles.get(point.service) or point.service or tr(language, "workbook.no_service")
        cells = _score_cells(point.score, min_group, language)[:3]
        rows.append([point.bucket_start, title, *cells])
    return rows


def _response_value(value: object, language: Language) -> _Value:
    if value is None or isinstance(value, str | int | float):
        if isinstance(value, bool):
            return tr(language, "workbook.yes" if value else "workbook.no")
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
        return "; ".join(str(_response_value(item, language) or "") for item in value)
    return str(value)


def _response_rows(
    responses: Sequence[Mapping[str, object]], headings: Mapping[str, str], language: Language
) -> tuple[list[str], list[list[_Value | tuple[_Value, str]]]]:
    columns: dict[str, None] = {}
    for response in responses:
        columns.update(dict.fromkeys(str(key) for key in response))
    keys = list(columns)
    rows: list[list[_Value | tuple[_Value, str]]] = [
        [_response_value(response.get(key), language) for key in keys] for response in responses
    ]
    return [headings.get(key, key) for key in keys], rows


def build_workbook(
    report: Report,
    responses: Sequence[Mapping[str, object]],
    *,
    trend: Sequence[TrendPoint] = (),
    headings: Mapping[str, str] | None = None,
    pain_map: Sequence[PainMapLine] | None = None,
    extra_sheets: Sequence[tuple[str, Sequence[str], Sequence[Sequence[_Value]]]] = (),
    language: Language = Language.RU,
) -> bytes:
    """The report as XLSX bytes; `responses` are already anonymised and filtered by the caller.

    `headings` names the question columns of the responses (keys are question ids; the fixed
    columns are named here unless `headings` names them too); `pain_map` is the persisted
    map (services.painmap), else the report's problems are shown. Every sheet name, header
    and label is in ``language``; the caller gives the data (group titles, questions, the
    map's rows) in it too."""
    report = protect(report)
    book = Workbook(write_only=True)

    _Sheet(
        book,
        tr(language, SUMMARY),
        _titles(
            (
                N_("workbook.summary.indicator"),
                N_("workbook.summary.current"),
                N_("workbook.summary.previous"),
                N_("workbook.summary.change"),
            ),
            language,
        ),
        _summary_rows(report, language),
        wide={0: 45, 1: 30, 2: 30, 3: 14},
    )
    for dimension, title in SHEETS.items():
        _Sheet(
            book,
            tr(language, title),
            _titles(GROUP_COLUMNS, language),
            _group_rows(report, dimension, language),
        )
    pain_map_sheet(
        book,
        _problem_rows(report, language) if pain_map is None else pain_map_rows(pain_map, language),
        language,
    )
    add_parameter_sheets(book, report.parameters, language)
    if trend:
        titles: dict[str | None, str] = {
            row.key: row.title for row in report.by(Dimension.SERVICE)
        }
        _Sheet(
            book,
            tr(language, TREND),
            _titles(
                (
                    N_("workbook.trend.start"),
                    N_("workbook.column.service"),
                    N_("workbook.responses_n"),
                    N_("workbook.csat"),
                    N_("workbook.mean"),
                ),
                language,
            ),
            _trend_rows(trend, titles, report.min_group, language),
        )
    names = {**response_columns(language), **(headings or {})}
    header, rows = _response_rows(responses, names, language)
    _Sheet(book, tr(language, RESPONSES), header, rows)
    if report.comments:
        _Sheet(
            book,
            tr(language, COMMENTS),
            _titles((N_("workbook.column.no"), N_("workbook.comment")), language),
            [[number, text] for number, text in enumerate(report.comments, start=1)],
            wide={0: 6, 1: 100},
        )
    # Sections of other modules, already protected and in ``language`` (e.g.
    # reports.open_answers_output).
    for title, columns, cells in extra_sheets:
        _Sheet(book, title, columns, cells)
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()
