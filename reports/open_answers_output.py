"""Open answers by category and life situations as a whole, rendered for every output: the
Telegram report, a workbook sheet each, JSON and HTML export. Figures come already protected
(reports.open_answers); a suppressed one shows as hidden, never as a number."""

from __future__ import annotations

from collections.abc import Sequence
from html import escape
from typing import Final, TypedDict

from questionnaires.i18n import N_, tr
from questionnaires.schema import Language
from reports.model import Score
from reports.open_answers import (
    InitiativeTally,
    OpenAnswerCounts,
    ReportExtras,
    SituationRow,
)
from reports.telegram import split_message

CATEGORIES_SHEET: Final = N_("workbook.sheet.comment_categories")
SITUATIONS_SHEET: Final = N_("workbook.sheet.situations")

SheetValue = str | int | float | None
Sheet = tuple[str, tuple[str, ...], list[list[SheetValue]]]


def _score(score: Score, min_group: int, language: Language) -> str:
    if score.suppressed or score.mean is None or score.csat is None:
        return f"— ({tr(language, 'open_answers.hidden', k=min_group)})"
    mean = f"{score.mean:.2f}"
    csat = f"{score.csat:.1f}"
    if language == Language.RU:
        mean, csat = mean.replace(".", ","), csat.replace(".", ",")
    return f"{mean} (CSAT {csat}%, n={score.n})"


def category_lines(counts: OpenAnswerCounts, language: Language) -> list[str]:
    lines = [f"<b>{escape(tr(language, 'open_answers.categories'))}</b>"]
    if counts.suppressed:
        lines.append(escape(tr(language, "open_answers.hidden", k=counts.threshold)))
        return lines
    lines.append(escape(tr(language, "open_answers.respondents", n=counts.respondents)))
    for row in counts.categories:
        value = "—" if row.suppressed else str(row.respondents)
        lines.append(f"• {escape(row.title)}: {value}")
    if any(row.suppressed for row in counts.categories):
        lines.append(escape(f"— {tr(language, 'open_answers.hidden', k=counts.threshold)}"))
    return lines


def situation_lines(rows: Sequence[SituationRow], min_group: int, language: Language) -> list[str]:
    if not rows:
        return []
    lines = [f"<b>{escape(tr(language, 'open_answers.situations'))}</b>"]
    for row in rows:
        lines.append(f"• {escape(row.title)}")
        lines.append(
            f"  {escape(tr(language, 'open_answers.as_a_whole'))}: "
            f"{escape(_score(row.as_a_whole, min_group, language))}"
        )
        lines.append(
            f"  {escape(tr(language, 'open_answers.overall'))}: "
            f"{escape(_score(row.overall, min_group, language))}"
        )
        for service in row.services:
            lines.append(
                f"    – {escape(service.title)}: "
                f"{escape(_score(service.score, min_group, language))}"
            )
    return lines


def render_extras(
    extras: ReportExtras, language: Language, min_group: int | None = None
) -> list[str]:
    """The sections as Telegram HTML paragraphs (one message each when short enough)."""
    k = min_group if min_group is not None else extras.open_answers.threshold
    text = "\n".join(category_lines(extras.open_answers, language))
    situations = situation_lines(extras.situations, k, language)
    if situations:
        text += "\n\n" + "\n".join(situations)
    return split_message(text)


def extras_html(extras: ReportExtras, language: Language, min_group: int) -> str:
    """The same text for the HTML export (already escaped)."""
    parts = ["\n".join(category_lines(extras.open_answers, language))]
    situations = situation_lines(extras.situations, min_group, language)
    if situations:
        parts.append("\n".join(situations))
    return "\n\n".join(parts)


def _cells(score: Score, language: Language) -> list[SheetValue]:
    if score.suppressed or score.mean is None or score.csat is None:
        return [tr(language, "workbook.hidden"), None, None]
    return [score.n, round(score.mean, 2), round(score.csat / 100, 3)]


def extras_sheets(extras: ReportExtras, language: Language = Language.RU) -> list[Sheet]:
    """A sheet of category counts and one of life situations (workbook), in ``language``."""
    counts = extras.open_answers
    word = tr(language, "workbook.hidden")
    if counts.suppressed:
        category_rows: list[list[SheetValue]] = [
            [tr(language, "workbook.categories.too_few", k=counts.threshold), None]
        ]
    else:
        category_rows = [[tr(language, "workbook.categories.total"), counts.respondents]]
        category_rows += [
            [row.title, word if row.suppressed else row.respondents] for row in counts.categories
        ]
    columns = (tr(language, "workbook.categories.category"), tr(language, "workbook.respondents"))
    sheets: list[Sheet] = [(tr(language, CATEGORIES_SHEET), columns, category_rows)]
    situation_rows: list[list[SheetValue]] = []
    as_a_whole = tr(language, "workbook.situations.as_a_whole")
    overall = tr(language, "workbook.situations.overall")
    for row in extras.situations:
        situation_rows.append([row.title, as_a_whole, *_cells(row.as_a_whole, language)])
        situation_rows.append([row.title, overall, *_cells(row.overall, language)])
        for service in row.services:
            situation_rows.append([row.title, service.title, *_cells(service.score, language)])
    if situation_rows:
        keys = (
            N_("workbook.column.life_situation"),
            N_("workbook.summary.indicator"),
            N_("workbook.responses_n"),
            N_("workbook.mean"),
            N_("workbook.csat"),
        )
        sheets.append(
            (
                tr(language, SITUATIONS_SHEET),
                tuple(tr(language, key) for key in keys),
                situation_rows,
            )
        )
    return sheets


class ScoreJson(TypedDict, total=False):
    suppressed: bool
    n: int
    mean: float
    csat: float


def _score_json(score: Score) -> ScoreJson:
    if score.suppressed or score.mean is None or score.csat is None:
        return {"suppressed": True}
    return {"n": score.n, "mean": round(score.mean, 4), "csat": round(score.csat, 4)}


def extras_json(extras: ReportExtras) -> dict[str, object]:
    """JSON-ready values: hidden groups are ``{"suppressed": true}`` only."""
    counts = extras.open_answers
    open_answers: dict[str, object] = (
        {"suppressed": True, "threshold": counts.threshold}
        if counts.suppressed
        else {
            "threshold": counts.threshold,
            "respondents": counts.respondents,
            "categories": [
                {"category": row.category, "title": row.title, "suppressed": True}
                if row.suppressed
                else {"category": row.category, "title": row.title, "respondents": row.respondents}
                for row in counts.categories
            ],
        }
    )
    return {
        "open_answers": open_answers,
        "life_situations": [
            {
                "life_situation": row.code,
                "title": row.title,
                "as_a_whole": _score_json(row.as_a_whole),
                "overall": _score_json(row.overall),
                "services": [
                    {"service": s.code, "title": s.title, "overall": _score_json(s.score)}
                    for s in row.services
                ],
            }
            for row in extras.situations
        ],
    }


def render_counts(counts: OpenAnswerCounts, language: Language) -> str:
    """The category counts of /comments (HTML), as the report message shows them; every
    messenger's /comments shows these."""
    lines = category_lines(counts, language)
    lines[0] = f"<b>{escape(tr(language, 'comments.counts', period=counts.period))}</b>"
    return "\n".join(lines)


def render_tally(tally: InitiativeTally, min_group: int, language: Language) -> str:
    """Initiative feedback of a closed period by topic and category (HTML)."""
    lines = [f"<b>{escape(tr(language, 'comments.topics', period=tally.period))}</b>"]
    if tally.suppressed:
        lines.append(escape(tr(language, "comments.few_messages", k=min_group)))
        return "\n".join(lines)
    lines.append(escape(tr(language, "comments.messages", n=tally.messages)))
    for row in tally.topics:
        lines.append(f"• {escape(row.title)}: {'—' if row.suppressed else row.respondents}")
    return "\n".join(lines) + "\n\n" + "\n".join(category_lines(tally.categories, language))
