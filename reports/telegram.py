"""Officer messages in Telegram HTML: the report summary, negative-feedback alerts, splitting."""

from __future__ import annotations

import html
from collections.abc import Sequence
from dataclasses import replace
from typing import Final

from questionnaires.i18n import N_, tr
from questionnaires.schema import Language
from reports.figures import band_text as band_text
from reports.figures import is_hidden as is_hidden
from reports.model import (
    Dimension,
    GroupRow,
    NegativeGroup,
    Nps,
    Period,
    ProblemRow,
    Report,
    Score,
)
from reports.parameter_render import parameter_lines
from reports.splitting import MESSAGE_LIMIT as MESSAGE_LIMIT
from reports.splitting import split_message as split_message

_TOP_GROUPS: Final = 10
_TOP_PROBLEMS: Final = 10
_TOP_QUIT_POINTS: Final = 3
_REPORT_COMMENTS: Final = 5
_REPORT_COMMENT_CHARS: Final = 300
_ALERT_COMMENT_CHARS: Final = 1500
_TITLE_CHARS: Final = 120


_DIMENSIONS: Final = {
    Dimension.SERVICE: N_("report.service"),
    Dimension.CHANNEL: N_("report.channel"),
    Dimension.LIFE_SITUATION: N_("report.life_situation"),
    Dimension.FRONT: N_("report.front"),
}


def _quoted(text: str, language: Language) -> str:
    return f"«{text}»" if language == Language.RU else f"“{text}”"


# --- numbers ---------------------------------------------------------------------------------


def _number(value: float, digits: int, language: Language) -> str:
    text = f"{value:.{digits}f}"
    return text.replace(".", ",") if language == Language.RU else text


def _percent(value: float, language: Language) -> str:
    return f"{_number(value, 1, language)}%"


def _change(change: float | None, language: Language) -> str:
    if change is None:
        return ""
    rounded = round(change, 1)
    arrow = "▲" if rounded > 0 else "▼" if rounded < 0 else "="
    return f"{arrow} {_number(abs(rounded), 1, language)} {tr(language, 'report.pp')}"


_HIDDEN: Final = Score(n=0, suppressed=True)


def _complement(
    rows: Sequence[GroupRow], overall: Score, min_group: int, *, previous: bool
) -> set[int]:
    """Indexes of shown groups to hide so that overall minus the shown groups does not give
    away the hidden ones (fewer than `min_group` respondents left unaccounted for)."""

    def pick(row: GroupRow) -> Score:
        return row.previous if previous else row.current

    if is_hidden(overall, min_group) or not any(is_hidden(pick(r), min_group) for r in rows):
        return set()
    shown = sorted(
        (i for i, row in enumerate(rows) if not is_hidden(pick(row), min_group)),
        key=lambda i: (pick(rows[i]).n, rows[i].title),
    )
    residual = overall.n - sum(pick(rows[i]).n for i in shown)
    extra: set[int] = set()
    while shown and 0 < residual < min_group:
        index = shown.pop(0)
        extra.add(index)
        residual += pick(rows[index]).n
    return extra


def protect(report: Report) -> Report:
    """The report with complementary suppression applied to each breakdown, in both periods.

    The SQL side suppresses small groups; this is the second line of defence the message and
    the workbook share: if the overall n minus the shown groups of a dimension leaves fewer
    than the threshold, the smallest shown groups are hidden too until it does not.
    """
    groups = list(report.groups)
    for dimension in Dimension:
        positions = [i for i, row in enumerate(groups) if row.dimension == dimension]
        rows = [groups[i] for i in positions]
        for previous, overall in ((False, report.overall), (True, report.overall_previous)):
            for index in _complement(rows, overall, report.min_group, previous=previous):
                row = rows[index]
                rows[index] = (
                    replace(row, previous=_HIDDEN) if previous else replace(row, current=_HIDDEN)
                )
        for position, row in zip(positions, rows, strict=True):
            groups[position] = row
    protected = tuple(groups)
    return report if protected == report.groups else replace(report, groups=protected)


def _visible_csat(score: Score, min_group: int) -> float | None:
    return None if is_hidden(score, min_group) else score.csat


def csat_change(current: Score, previous: Score, min_group: int) -> float | None:
    """Change of CSAT in percentage points, None unless both periods may show figures."""
    now = _visible_csat(current, min_group)
    before = _visible_csat(previous, min_group)
    return None if now is None or before is None else now - before


# --- escaping and texts ----------------------------------------------------------------------


def _shorten(text: str, limit: int) -> str:
    """Whitespace collapsed and cut to `limit` characters; done before escaping, so no entity
    is ever cut."""
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def _esc(text: str, limit: int = _TITLE_CHARS) -> str:
    return html.escape(_shorten(text, limit), quote=False)


def _hidden_text(min_group: int, language: Language) -> str:
    return html.escape(tr(language, "report.too_few", n=min_group), quote=False)


# --- the report --------------------------------------------------------------------------------


def _overall_lines(report: Report, language: Language) -> list[str]:
    score, previous, min_group = report.overall, report.overall_previous, report.min_group
    header = f"<b>{tr(language, 'report.overall')}</b>"
    if is_hidden(score, min_group):
        return [f"{header}: {_hidden_text(min_group, language)}"]
    if score.n == 0:
        return [header, tr(language, "report.no_answers")]
    answers = tr(language, "report.answers", n=score.n)
    if score.cannot_rate:
        answers += tr(language, "report.cannot_rate", n=score.cannot_rate)
    lines = [header, answers]
    if score.csat is not None:
        change = csat_change(score, previous, min_group)
        details: list[str] = []
        if change is not None and previous.csat is not None:
            details.append(_change(change, language))
            details.append(tr(language, "report.was", value=_percent(previous.csat, language)))
        elif is_hidden(previous, min_group):
            details.append(tr(language, "report.previous_hidden"))
        suffix = f" ({'; '.join(details)})" if details else ""
        lines.append(
            tr(language, "report.csat_line", csat=_percent(score.csat, language), change=suffix)
        )
    if score.mean is not None and score.band is not None:
        lines.append(
            tr(
                language,
                "report.mean_line",
                mean=_number(score.mean, 2, language),
                band=band_text(score.band, language),
            )
        )
    if score.distribution:
        parts = [f"{k}★ {score.distribution.get(k, 0)}" for k in range(5, 0, -1)]
        lines.append(tr(language, "report.distribution", line=" · ".join(parts)))
    return lines


def sorted_groups(rows: Sequence[GroupRow], min_group: int) -> list[GroupRow]:
    """Groups with figures first, largest first; hidden groups last by title, so their order
    reveals nothing about their size."""
    shown = [row for row in rows if not is_hidden(row.current, min_group)]
    hidden = [row for row in rows if is_hidden(row.current, min_group)]
    shown.sort(key=lambda row: (-row.current.n, row.title.casefold()))
    hidden.sort(key=lambda row: row.title.casefold())
    return shown + hidden


def _group_line(row: GroupRow, min_group: int, language: Language) -> str:
    title = _esc(row.title)
    score = row.current
    if is_hidden(score, min_group):
        return f"• {title} — {_hidden_text(min_group, language)}"
    if score.csat is None or score.mean is None:
        return tr(language, "report.group_empty", title=title)
    change = _change(csat_change(score, row.previous, min_group), language)
    return tr(
        language,
        "report.group_line",
        title=title,
        n=score.n,
        csat=_percent(score.csat, language),
        change=f" ({change})" if change else "",
        mean=_number(score.mean, 2, language),
    )


def _group_section(report: Report, dimension: Dimension, language: Language) -> list[str]:
    rows = sorted_groups(report.by(dimension), report.min_group)
    if not rows:
        return []
    lines = [f"<b>{tr(language, _DIMENSIONS[dimension])}</b>"]
    lines += [_group_line(row, report.min_group, language) for row in rows[:_TOP_GROUPS]]
    if len(rows) > _TOP_GROUPS:
        # No figures for the rest: a sum next to the shown groups could reveal a hidden one.
        lines.append(tr(language, "report.more_groups", k=len(rows) - _TOP_GROUPS))
    return lines


def sorted_problems(problems: Sequence[ProblemRow]) -> list[ProblemRow]:
    """Highest priority first (unknown priority last), then the most widespread."""
    return sorted(
        problems,
        key=lambda p: (p.priority is None, -(p.priority or 0.0), -p.prevalence, p.title),
    )


def _problem_section(report: Report, language: Language) -> list[str]:
    if not report.problems or is_hidden(report.overall, report.min_group):
        return []
    # A problem named by fewer people than the threshold shows no figures: it is left out.
    rows = [p for p in sorted_problems(report.problems) if not p.suppressed]
    if not rows:
        return []
    lines = [f"<b>{tr(language, 'report.problems')}</b>"]
    for problem in rows[:_TOP_PROBLEMS]:
        values = {
            "title": _esc(problem.title),
            "prevalence": _percent(100.0 * problem.prevalence, language),
            "n": problem.respondents,
        }
        band = problem.priority_band
        if band is None:
            lines.append(tr(language, "report.problem_line_no_priority", **values))
        else:
            lines.append(
                tr(language, "report.problem_line", band=band_text(band, language), **values)
            )
    if len(rows) > _TOP_PROBLEMS:
        lines.append(tr(language, "report.more_problems", k=len(rows) - _TOP_PROBLEMS))
    return lines


def _nps_lines(nps: Nps | None, min_group: int, language: Language) -> list[str]:
    if nps is None or nps.n == 0:
        return []
    if nps.suppressed or nps.n < min_group or nps.value is None:
        return [tr(language, "report.nps_hidden", hidden=_hidden_text(min_group, language))]
    value = round(nps.value)
    return [
        tr(
            language,
            "report.nps",
            value=f"+{value}" if value > 0 else str(value),
            n=nps.n,
            p=nps.promoters,
            m=nps.passives,
            d=nps.detractors,
        )
    ]


def _drop_off_lines(report: Report, language: Language) -> list[str]:
    drop_off = report.drop_off
    if drop_off is None or drop_off.suppressed or drop_off.started == 0:
        return []
    rate = drop_off.completion_rate
    lines = [
        f"<b>{tr(language, 'report.drop_off')}</b>",
        tr(
            language,
            "report.drop_off_line",
            started=drop_off.started,
            completed=drop_off.completed,
            rate=_percent(rate, language) if rate is not None else "—",
        ),
    ]
    quits = sorted(drop_off.quit_points, key=lambda q: (-q.quits, q.title))[:_TOP_QUIT_POINTS]
    if quits:
        items = "; ".join(
            f"{_quoted(_esc(q.title, 80), language)} — {q.quits}"
            for q in quits
            if q.quits > 0 and not q.suppressed
        )
        if items:
            lines.append(tr(language, "report.quit_points", items=items))
    return lines


def _comment_lines(report: Report, language: Language) -> list[str]:
    if report.comments_suppressed:
        return [tr(language, "report.comments_hidden")]
    if not report.comments:
        return []
    shown = report.comments[:_REPORT_COMMENTS]
    count = ""
    if len(report.comments) > len(shown):
        count = tr(language, "report.comments_count", shown=len(shown), total=len(report.comments))
    lines = [f"<b>{tr(language, 'report.comments')}</b>{count}"]
    lines += [f"— {_quoted(_esc(text, _REPORT_COMMENT_CHARS), language)}" for text in shown]
    return lines


def _anything_hidden(report: Report) -> bool:
    scores = [report.overall, *(row.current for row in report.groups)]
    if any(is_hidden(score, report.min_group) for score in scores):
        return True
    nps = report.nps
    return nps is not None and nps.n > 0 and (nps.suppressed or nps.n < report.min_group)


def _parameter_lines(report: Report, language: Language) -> list[str]:
    return parameter_lines(report.parameters, language)


def render_report_text(report: Report, language: Language = Language.RU) -> str:
    """The whole report as one HTML text whose every line is self-contained."""
    report = protect(report)
    period = tr(
        language, "report.period", period=str(report.period), previous=str(report.compared_with)
    )
    sections: list[list[str]] = [
        [f"<b>📊 {_esc(report.title, 200)}</b>", period],
        _overall_lines(report, language),
        *(_group_section(report, dimension, language) for dimension in Dimension),
        _problem_section(report, language),
        _parameter_lines(report, language),
        _nps_lines(report.nps, report.min_group, language),
        _drop_off_lines(report, language),
        _comment_lines(report, language),
    ]
    if _anything_hidden(report):
        sections.append([f"<i>{tr(language, 'report.threshold_note', n=report.min_group)}</i>"])
    return "\n\n".join("\n".join(lines) for lines in sections if lines)


def render_report(report: Report, language: Language = Language.RU) -> list[str]:
    """The report as Telegram HTML messages, each within the message limit."""
    return split_message(render_report_text(report, language))


# --- alerts -------------------------------------------------------------------------------------


def render_negative_digest(
    groups: Sequence[NegativeGroup],
    period: Period,
    *,
    threshold: int,
    min_group: int,
    language: Language = Language.RU,
) -> list[str]:
    """The batch of strongly negative ratings of a closed period; no message when empty.

    Services come in title order, comments alphabetically (as read): nothing follows arrival.
    """
    if not groups:
        return []
    scores = "1" if threshold <= 1 else f"1–{threshold}"
    title = tr(language, "report.alert_title", scores=scores, period=str(period))
    blocks = [f"<b>{html.escape(title)}</b>"]
    for group in sorted(groups, key=lambda g: g.title.casefold()):
        lines = [tr(language, "report.alert_service", title=_esc(group.title), n=group.negatives)]
        if group.problems:
            items = "; ".join(f"{_esc(title)} — {count}" for title, count in group.problems)
            lines.append(tr(language, "report.alert_problems", items=items))
        if group.comments:
            lines.append(tr(language, "report.alert_comments"))
            lines += [
                f"— {_quoted(_esc(text, _ALERT_COMMENT_CHARS), language)}"
                for text in group.comments
            ]
        blocks.append("\n".join(lines))
    blocks.append(f"<i>{tr(language, 'report.alert_note', n=min_group)}</i>")
    return split_message("\n\n".join(blocks))


# --- splitting ----------------------------------------------------------------------------------
