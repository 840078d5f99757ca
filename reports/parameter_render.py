"""Renderers of parameters, key drivers and the internal (staff) report.

One read model (reports.parameters), the same renderers as the officer's report: Telegram
HTML lines, workbook sheets and JSON. A suppressed score carries no figure in any of them.
"""

from __future__ import annotations

import html
import io
from collections.abc import Sequence
from typing import Final, TypedDict

from openpyxl import Workbook

from questionnaires.i18n import N_, tr
from questionnaires.schema import Language
from reports.figures import band_text, is_hidden
from reports.model import Score
from reports.painmap_import import PainMapLine
from reports.painmap_sheet import add_pain_map_sheet
from reports.parameters import (
    DepartmentRow,
    DriverRow,
    InternalReport,
    ParameterRow,
    ParameterSection,
)
from reports.sheet import COUNT as _COUNT
from reports.sheet import MEAN as _MEAN
from reports.sheet import PERCENT as _PERCENT
from reports.sheet import Sheet as _Sheet
from reports.sheet import Value as _Value
from reports.sheet import band_word, hidden, points_format
from reports.splitting import split_message

PARAMETERS_SHEET: Final = N_("workbook.sheet.parameters")
DRIVERS_SHEET: Final = N_("workbook.sheet.drivers")
DEPARTMENTS_SHEET: Final = N_("workbook.sheet.departments")
_TOP_DRIVERS: Final = 3


#: Short names of the shipped parameters (§3.1) and staff aspects (§4.2); other questions are
#: named by their text.
SHORT_NAMES: Final[dict[str, str]] = {
    "info_clarity": N_("parameters.name.info_clarity"),
    "applying": N_("parameters.name.applying"),
    "queue_time": N_("parameters.name.queue_time"),
    "result_time": N_("parameters.name.result_time"),
    "politeness": N_("parameters.name.politeness"),
    "competence": N_("parameters.name.competence"),
    "premises": N_("parameters.name.premises"),
    "online_services": N_("parameters.name.online_services"),
    "decision_clarity": N_("parameters.name.decision_clarity"),
    "complaint_handling": N_("parameters.name.complaint_handling"),
    "equipment": N_("parameters.name.equipment"),
    "automation": N_("parameters.name.automation"),
    "regulations": N_("parameters.name.regulations"),
    "other_departments": N_("parameters.name.other_departments"),
    "manager": N_("parameters.name.manager"),
    "colleagues": N_("parameters.name.colleagues"),
    "training": N_("parameters.name.training"),
    "career": N_("parameters.name.career"),
    "hr_service": N_("parameters.name.hr_service"),
    "working_conditions": N_("parameters.name.working_conditions"),
}
_HEADINGS: Final = {"parameters": N_("parameters.parameters"), "aspects": N_("parameters.aspects")}


def short_name(question_id: str, title: str, language: Language = Language.RU) -> str:
    key = SHORT_NAMES.get(question_id)
    return title if key is None else tr(language, key)


def _number(value: float, digits: int, language: Language) -> str:
    text = f"{value:.{digits}f}"
    return text if language == Language.EN else text.replace(".", ",")


def _percent(value: float | None, language: Language) -> str:
    return "—" if value is None else f"{_number(value, 0, language)}%"


def _change(change: float | None, language: Language) -> str:
    if change is None or round(change) == 0:
        return ""
    points = "pp" if language == Language.EN else "п.п."
    return f" {'↑' if change > 0 else '↓'}{_number(abs(change), 0, language)} {points}"


def _esc(text: str) -> str:
    return html.escape(" ".join(text.split()), quote=False)


def _row_line(row: ParameterRow, min_group: int, language: Language) -> str:
    title = _esc(short_name(row.question_id, row.title, language))
    score = row.current
    if is_hidden(score, min_group) or score.mean is None:
        return tr(language, "parameters.row_hidden", title=title)
    return tr(
        language,
        "parameters.row",
        title=title,
        mean=_number(score.mean, 2, language),
        share=_percent(score.csat, language),
        n=score.n,
        change=_change(row.share_change, language),
    )


def _driver_line(driver: DriverRow, language: Language) -> str:
    quadrant = driver.quadrant.label(language) if driver.quadrant is not None else "—"
    return tr(
        language,
        "parameters.driver",
        title=_esc(short_name(driver.question_id, driver.title, language)),
        rho=_number(driver.spearman or 0.0, 2, language),
        n=driver.pairs,
        quadrant=quadrant,
    )


def parameter_lines(
    section: ParameterSection | None,
    language: Language = Language.RU,
    *,
    heading: str = "parameters",
    top_drivers: int = _TOP_DRIVERS,
) -> list[str]:
    """The short block of the officer's message: parameters with a score, then the strongest
    drivers; nothing when no questionnaire asks parameters or nobody answered them."""
    asked = [row for row in section.rows if row.asked] if section is not None else []
    if section is None or not asked:
        return []
    # Weakest first; hidden rows last by title, so their order says nothing of their size.
    shown = [row for row in asked if not is_hidden(row.current, section.min_group)]
    shown.sort(key=lambda row: (row.current.mean or 0.0, row.title))
    hidden = sorted(
        (row for row in asked if is_hidden(row.current, section.min_group)),
        key=lambda row: row.title,
    )
    lines = [f"<b>{tr(language, _HEADINGS[heading])}</b>"]
    lines += [_row_line(row, section.min_group, language) for row in (*shown, *hidden)]
    drivers = section.shown_drivers[:top_drivers]
    lines.append(f"<b>{tr(language, 'parameters.drivers')}</b>")
    if drivers:
        lines += [_driver_line(driver, language) for driver in drivers]
    else:
        lines.append(tr(language, "parameters.no_drivers", n=section.min_pairs))
    return lines


# --- the internal report ----------------------------------------------------------------------


def _score_line(score: Score, previous: Score, min_group: int, language: Language) -> str:
    if is_hidden(score, min_group) or score.mean is None or score.band is None:
        return tr(language, "parameters.hidden")
    change = None
    if not is_hidden(previous, min_group) and previous.csat is not None and score.csat is not None:
        change = score.csat - previous.csat
    return tr(
        language,
        "parameters.overall_line",
        n=score.n,
        share=_percent(score.csat, language),
        change=_change(change, language),
        mean=_number(score.mean, 2, language),
        band=band_text(score.band, language),
    )


def _weakest(row: DepartmentRow, report: InternalReport, language: Language) -> str | None:
    titles = {r.question_id: r.title for r in report.aspects.rows}
    scored = [
        (score.mean, question)
        for question, score in row.aspects
        if not is_hidden(score, report.min_group) and score.mean is not None
    ]
    if not scored:
        return None
    scored.sort()
    names = [
        f"{_esc(short_name(q, titles.get(q, q), language))} {_number(mean, 1, language)}"
        for mean, q in scored[:2]
    ]
    return tr(language, "parameters.weakest", aspects=", ".join(names))


def render_internal_text(report: InternalReport, language: Language = Language.RU) -> str:
    k = report.min_group
    sections: list[list[str]] = [
        [
            f"<b>👥 {_esc(report.title)}</b>",
            tr(
                language,
                "parameters.period",
                period=str(report.period),
                previous=str(report.compared_with),
            ),
        ],
        [
            f"<b>{tr(language, 'parameters.overall')}</b>",
            _score_line(report.overall, report.overall_previous, k, language),
        ],
        parameter_lines(report.aspects, language, heading="aspects"),
    ]
    if report.departments:
        lines = [f"<b>{tr(language, 'parameters.departments')}</b>"]
        for row in report.departments:
            line = _score_line(row.overall, row.overall_previous, k, language)
            lines.append(tr(language, "parameters.department", title=_esc(row.title), line=line))
            weakest = _weakest(row, report, language)
            if weakest:
                lines.append(weakest)
        sections.append(lines)
    elif report.departments_withheld:
        sections.append([tr(language, "parameters.departments_withheld")])
    sections.append(
        [f"<i>{tr(language, 'parameters.threshold', k=k, pairs=report.aspects.min_pairs)}</i>"]
    )
    return "\n\n".join("\n".join(lines) for lines in sections if lines)


def render_internal_report(report: InternalReport, language: Language = Language.RU) -> list[str]:
    return split_message(render_internal_text(report, language))


# --- workbook ---------------------------------------------------------------------------------

PARAMETER_COLUMNS: Final = (
    N_("workbook.parameter.name"),
    N_("workbook.parameter.question"),
    N_("workbook.responses_n"),
    N_("workbook.mean"),
    N_("workbook.parameter.share"),
    N_("workbook.band"),
    N_("workbook.cannot_rate"),
    N_("workbook.parameter.share_previous"),
    N_("workbook.parameter.share_change"),
    N_("workbook.parameter.mean_previous"),
)
DRIVER_COLUMNS: Final = (
    N_("workbook.parameter.name"),
    N_("workbook.driver.pairs"),
    N_("workbook.driver.spearman"),
    N_("workbook.driver.pearson"),
    N_("workbook.driver.performance"),
    N_("workbook.parameter.share"),
    N_("workbook.driver.quadrant"),
)

_Row = list[_Value | tuple[_Value, str]]


def _titles(keys: Sequence[str], language: Language) -> tuple[str, ...]:
    return tuple(tr(language, key) for key in keys)


def parameter_rows(section: ParameterSection, language: Language = Language.RU) -> list[_Row]:
    rows: list[_Row] = []
    k = section.min_group
    word = hidden(language)
    for row in section.rows:
        name = short_name(row.question_id, row.title, language)
        now, before = row.current, row.previous
        if is_hidden(now, k):
            figures: _Row = [word, word, word, None, word]
        else:
            figures = [
                (now.n, _COUNT),
                (now.mean, _MEAN),
                (None if now.csat is None else now.csat / 100, _PERCENT),
                band_word(now.band, language),
                (now.cannot_rate, _COUNT),
            ]
        if is_hidden(before, k):
            past: _Row = [word, None, word]
        else:
            past = [
                (None if before.csat is None else before.csat / 100, _PERCENT),
                (row.share_change, points_format(language)),
                (before.mean, _MEAN),
            ]
        rows.append([name, row.title, *figures, *past])
    return rows


def driver_rows(section: ParameterSection, language: Language = Language.RU) -> list[_Row]:
    rows: list[_Row] = []
    word = hidden(language)
    for driver in section.drivers:
        name = short_name(driver.question_id, driver.title, language)
        if driver.suppressed or driver.spearman is None:
            rows.append([name, word, word, word, None, None, None])
            continue
        rows.append(
            [
                name,
                (driver.pairs, _COUNT),
                (driver.spearman, "0.00"),
                (driver.pearson, "0.00"),
                (driver.performance, _MEAN),
                (
                    None if driver.share_satisfied is None else driver.share_satisfied / 100,
                    _PERCENT,
                ),
                driver.quadrant.label(language) if driver.quadrant is not None else None,
            ]
        )
    return rows


def add_parameter_sheets(
    book: Workbook, section: ParameterSection | None, language: Language = Language.RU
) -> None:
    """The sheets «Параметры» and «Ключевые факторы» (nothing without parameters)."""
    if section is None or not section.rows:
        return
    _Sheet(
        book,
        tr(language, PARAMETERS_SHEET),
        _titles(PARAMETER_COLUMNS, language),
        parameter_rows(section, language),
        wide={1: 60},
    )
    _Sheet(
        book,
        tr(language, DRIVERS_SHEET),
        _titles(DRIVER_COLUMNS, language),
        driver_rows(section, language),
        wide={0: 35, 6: 28},
    )


def _department_rows(report: InternalReport, language: Language) -> tuple[list[str], list[_Row]]:
    names = [short_name(r.question_id, r.title, language) for r in report.aspects.rows]
    header = [
        *_titles(
            (
                N_("workbook.department"),
                N_("workbook.responses_n"),
                N_("workbook.parameter.share"),
                N_("workbook.mean"),
            ),
            language,
        ),
        *names,
    ]
    word = hidden(language)
    rows: list[_Row] = []
    for department in report.departments:
        overall = department.overall
        if is_hidden(overall, report.min_group):
            figures: _Row = [word, word, word]
        else:
            figures = [
                (overall.n, _COUNT),
                (None if overall.csat is None else overall.csat / 100, _PERCENT),
                (overall.mean, _MEAN),
            ]
        aspects: _Row = [
            word if is_hidden(score, report.min_group) else (score.mean, _MEAN)
            for _, score in department.aspects
        ]
        rows.append([department.title, *figures, *aspects])
    return header, rows


def build_internal_workbook(
    report: InternalReport,
    pain_map: Sequence[PainMapLine] | None = None,
    language: Language = Language.RU,
) -> bytes:
    """The staff report as XLSX: summary, aspects, key drivers, departments; with
    ``pain_map`` (the staff process's persisted pains) the «Проблемы» sheet of the round trip.
    Every sheet name, header and label in ``language``."""
    book = Workbook(write_only=True)
    k = report.min_group
    word = hidden(language)
    summary: list[_Row] = [
        [tr(language, "workbook.summary.period"), str(report.period), str(report.compared_with)]
    ]
    for label, score in (
        (tr(language, "workbook.summary.current"), report.overall),
        (tr(language, "workbook.staff.previous"), report.overall_previous),
    ):
        if is_hidden(score, k):
            summary.append([label, word, word])
        else:
            summary.append(
                [
                    label,
                    (None if score.csat is None else score.csat / 100, _PERCENT),
                    (score.mean, _MEAN),
                ]
            )
    _Sheet(
        book,
        tr(language, "workbook.sheet.summary"),
        _titles(
            (
                N_("workbook.summary.indicator"),
                N_("workbook.staff.share"),
                N_("workbook.staff.mean"),
            ),
            language,
        ),
        summary,
    )
    add_parameter_sheets(book, report.aspects, language)
    if report.departments:
        header, rows = _department_rows(report, language)
        _Sheet(book, tr(language, DEPARTMENTS_SHEET), header, rows, wide={0: 35})
    if pain_map is not None:
        add_pain_map_sheet(book, pain_map, language)
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


# --- JSON -------------------------------------------------------------------------------------


class ParameterScoreJson(TypedDict, total=False):
    suppressed: bool
    n: int
    mean: float | None
    share_4_5: float | None
    band: str | None
    cannot_rate: int


class ParameterJson(TypedDict):
    questionnaire_id: str
    question_id: str
    name: str
    title: str
    current: ParameterScoreJson
    previous: ParameterScoreJson
    share_change: float | None


class DriverJson(TypedDict, total=False):
    question_id: str
    name: str
    suppressed: bool
    pairs: int
    spearman: float | None
    pearson: float | None
    performance: float | None
    quadrant: str | None


class ParametersJson(TypedDict):
    min_group: int
    min_pairs: int
    importance_split: float | None
    parameters: list[ParameterJson]
    drivers: list[DriverJson]


def _score_json(score: Score, k: int) -> ParameterScoreJson:
    if is_hidden(score, k):
        return {"suppressed": True}
    return {
        "suppressed": False,
        "n": score.n,
        "mean": score.mean,
        "share_4_5": score.csat,
        "band": score.band.value if score.band is not None else None,
        "cannot_rate": score.cannot_rate,
    }


def parameters_json(section: ParameterSection | None) -> ParametersJson | None:
    if section is None:
        return None
    k = section.min_group
    drivers: list[DriverJson] = []
    for driver in section.drivers:
        name = short_name(driver.question_id, driver.title)
        if driver.suppressed or driver.spearman is None:
            drivers.append({"question_id": driver.question_id, "name": name, "suppressed": True})
            continue
        drivers.append(
            {
                "question_id": driver.question_id,
                "name": name,
                "suppressed": False,
                "pairs": driver.pairs,
                "spearman": driver.spearman,
                "pearson": driver.pearson,
                "performance": driver.performance,
                "quadrant": driver.quadrant.value if driver.quadrant is not None else None,
            }
        )
    return {
        "min_group": k,
        "min_pairs": section.min_pairs,
        "importance_split": section.importance_split,
        "parameters": [
            {
                "questionnaire_id": row.questionnaire_id,
                "question_id": row.question_id,
                "name": short_name(row.question_id, row.title),
                "title": row.title,
                "current": _score_json(row.current, k),
                "previous": _score_json(row.previous, k),
                "share_change": row.share_change
                if not (is_hidden(row.current, k) or is_hidden(row.previous, k))
                else None,
            }
            for row in section.rows
        ],
        "drivers": drivers,
    }


def internal_json(report: InternalReport) -> dict[str, object]:
    """The staff report as JSON-ready values (``otklik report --audience internal``)."""
    k = report.min_group
    return {
        "schema_version": 1,
        "audience": "internal",
        "title": report.title,
        "period": {"start": report.period.start.isoformat(), "end": report.period.end.isoformat()},
        "compared_with": {
            "start": report.compared_with.start.isoformat(),
            "end": report.compared_with.end.isoformat(),
        },
        "min_group": k,
        "overall": _score_json(report.overall, k),
        "overall_previous": _score_json(report.overall_previous, k),
        "aspects": parameters_json(report.aspects),
        "departments": [
            {
                "key": row.key,
                "title": row.title,
                "merged": row.merged,
                "overall": _score_json(row.overall, k),
                "overall_previous": _score_json(row.overall_previous, k),
                "aspects": {q: _score_json(score, k) for q, score in row.aspects},
            }
            for row in report.departments
        ],
        "departments_withheld": report.departments_withheld,
    }
