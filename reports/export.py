"""Machine-readable renderers of the officer's report: JSON and a self-contained HTML page.

One model (reports.model.Report), several renderers: the Telegram message (reports.telegram),
the workbook (reports.workbook) and these. Every renderer starts from
:func:`reports.telegram.protect`, so a group the message hides is hidden here too: a hidden
score carries only ``"suppressed": true``, never its n, CSAT, mean or distribution.
"""

from __future__ import annotations

import html
from typing import Literal, TypedDict

from questionnaires.schema import Language
from reports.model import DropOff, GroupRow, Nps, Period, ProblemRow, Report, Score
from reports.parameter_render import ParametersJson, parameters_json
from reports.telegram import csat_change, is_hidden, protect, render_report_text

SCHEMA_VERSION = 1


class PeriodJson(TypedDict):
    start: str  # ISO date, inclusive
    end: str


class ScoreJson(TypedDict, total=False):
    suppressed: bool
    n: int
    csat: float | None
    mean: float | None
    distribution: dict[str, int]  # "1".."5" -> respondents
    cannot_rate: int


class GroupJson(TypedDict):
    dimension: str
    key: str | None
    title: str
    current: ScoreJson
    previous: ScoreJson
    csat_change: float | None


class ProblemJson(TypedDict, total=False):
    question_id: str
    option_id: str
    title: str
    suppressed: bool
    respondents: int
    prevalence: float
    mean_overall: float | None
    priority: float | None


class NpsJson(TypedDict, total=False):
    suppressed: bool
    n: int
    promoters: int
    passives: int
    detractors: int
    value: float | None


class QuitJson(TypedDict, total=False):
    questionnaire_id: str
    question_id: str
    title: str
    suppressed: bool
    quits: int


class DropOffJson(TypedDict, total=False):
    suppressed: bool
    started: int
    completed: int
    cancelled: int
    quit_points: list[QuitJson]


class ReportJson(TypedDict):
    schema_version: int
    title: str
    period: PeriodJson
    compared_with: PeriodJson
    scope: dict[str, str | None]
    min_group: int
    overall: ScoreJson
    overall_previous: ScoreJson
    csat_change: float | None
    groups: list[GroupJson]
    problems: list[ProblemJson]
    nps: NpsJson | None
    drop_off: DropOffJson | None
    comments: list[str]
    comments_suppressed: bool
    parameters: ParametersJson | None  # parameters (§3.1) and key drivers


def _period(period: Period) -> PeriodJson:
    return {"start": period.start.isoformat(), "end": period.end.isoformat()}


def _score(score: Score, min_group: int) -> ScoreJson:
    if is_hidden(score, min_group):
        return {"suppressed": True}
    return {
        "suppressed": False,
        "n": score.n,
        "csat": score.csat,
        "mean": score.mean,
        "distribution": {str(k): score.distribution.get(k, 0) for k in range(1, 6)},
        "cannot_rate": score.cannot_rate,
    }


def _group(row: GroupRow, min_group: int) -> GroupJson:
    return {
        "dimension": row.dimension.value,
        "key": row.key,
        "title": row.title,
        "current": _score(row.current, min_group),
        "previous": _score(row.previous, min_group),
        "csat_change": csat_change(row.current, row.previous, min_group),
    }


def _problem(row: ProblemRow, min_group: int) -> ProblemJson:
    if row.suppressed or 0 < row.respondents < min_group:
        return {
            "question_id": row.question_id,
            "option_id": row.option_id,
            "title": row.title,
            "suppressed": True,
        }
    return {
        "question_id": row.question_id,
        "option_id": row.option_id,
        "title": row.title,
        "suppressed": False,
        "respondents": row.respondents,
        "prevalence": row.prevalence,
        "mean_overall": row.mean_overall,
        "priority": row.priority,
    }


def _nps(nps: Nps | None, min_group: int) -> NpsJson | None:
    if nps is None:
        return None
    if nps.suppressed or nps.n < min_group:
        return {"suppressed": True}
    return {
        "suppressed": False,
        "n": nps.n,
        "promoters": nps.promoters,
        "passives": nps.passives,
        "detractors": nps.detractors,
        "value": nps.value,
    }


def _drop_off(drop_off: DropOff | None) -> DropOffJson | None:
    if drop_off is None:
        return None
    if drop_off.suppressed:
        return {"suppressed": True}
    points: list[QuitJson] = []
    for point in drop_off.quit_points:
        entry: QuitJson = {
            "questionnaire_id": point.questionnaire_id,
            "question_id": point.question_id,
            "title": point.title,
            "suppressed": point.suppressed,
        }
        if not point.suppressed:
            entry["quits"] = point.quits
        points.append(entry)
    return {
        "suppressed": False,
        "started": drop_off.started,
        "completed": drop_off.completed,
        "cancelled": drop_off.cancelled,
        "quit_points": points,
    }


def report_json(report: Report) -> ReportJson:
    """The report as JSON-ready values: the figures the officer's message shows, no more."""
    report = protect(report)
    k = report.min_group
    scope = report.scope
    return {
        "schema_version": SCHEMA_VERSION,
        "title": report.title,
        "period": _period(report.period),
        "compared_with": _period(report.compared_with),
        "scope": {
            "service": scope.service,
            "channel": scope.channel,
            "life_situation": scope.life_situation,
            "audience": scope.audience,
        },
        "min_group": k,
        "overall": _score(report.overall, k),
        "overall_previous": _score(report.overall_previous, k),
        "csat_change": csat_change(report.overall, report.overall_previous, k),
        "groups": [_group(row, k) for row in report.groups],
        "problems": [_problem(row, k) for row in report.problems],
        "nps": _nps(report.nps, k),
        "drop_off": _drop_off(report.drop_off),
        "comments": [] if report.comments_suppressed else list(report.comments),
        "comments_suppressed": report.comments_suppressed,
        "parameters": parameters_json(report.parameters),
    }


_PAGE = """<!DOCTYPE html>
<html lang="{lang}">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{title}</title>
<style>
body {{ font-family: system-ui, sans-serif; max-width: 46em; margin: 2em auto;
       padding: 0 1em; line-height: 1.45; white-space: pre-wrap; }}
code {{ font-family: ui-monospace, monospace; }}
</style>
</head>
<body>{body}</body>
</html>
"""


def page_html(title: str, body: str, language: Language = Language.RU) -> str:
    """A self-contained page around an officer message's HTML text."""
    lang: Literal["ru", "en"] = "en" if language == Language.EN else "ru"
    return _PAGE.format(lang=lang, title=html.escape(title), body=body)


def report_html(report: Report, language: Language = Language.RU, extra: str = "") -> str:
    """A self-contained page (no external resource) with the text the officer's message has;
    ``extra`` is further sections, already escaped HTML (reports.open_answers_output)."""
    lang: Literal["ru", "en"] = "en" if language == Language.EN else "ru"
    body = render_report_text(report, language)
    return _PAGE.format(
        lang=lang,
        title=html.escape(f"{report.title} — {report.period}"),
        body=f"{body}\n\n{extra}" if extra else body,
    )
