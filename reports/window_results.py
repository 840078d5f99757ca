"""The results of a closed poll window as officers and the public read them (Telegram HTML).

Beside reports.windows, which holds the window rule (who is counted, which departments may be
named): this module only renders what that rule lets through, with the same thresholds.
"""

from __future__ import annotations

import html
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from typing import Final

from questionnaires.campaigns import CampaignAudience, WindowOrigin
from questionnaires.i18n import tr
from questionnaires.schema import Language, Text
from reports.model import Band
from reports.telegram import band_text
from reports.windows import DepartmentGroup, GroupCounts
from storage.campaigns import WindowRow

#: Published results go out as one message: keep the department list short.
MAX_PUBLISHED_DEPARTMENTS: Final = 20
SCORES: Final = (1, 2, 3, 4, 5)


@dataclass(frozen=True, slots=True)
class Publication:
    """Published anonymised results of one window."""

    window_id: int
    campaign_id: str
    audience: CampaignAudience
    title: Text
    opens_on: date
    closes_on: date
    text_html: str
    published_on: date


@dataclass(frozen=True, slots=True)
class WindowResult:
    """The public figures of one published window (the site and /results render them): the
    same rule as its publication text, so `counts` is None when they may not be shown."""

    window_id: int
    title: Text
    opens_on: date
    closes_on: date  # the last day it ran
    counts: GroupCounts | None


def _number(value: float, digits: int = 1, language: Language = Language.RU) -> str:
    text = f"{value:.{digits}f}"
    return text if language == Language.EN else text.replace(".", ",")


def _esc(text: str) -> str:
    return html.escape(" ".join(text.split()), quote=False)


def _period(opens_on: date, closes_on: date) -> str:
    return f"{opens_on:%d.%m.%Y}–{closes_on:%d.%m.%Y}"


def _score_line(counts: GroupCounts, language: Language) -> str:
    csat, mean = counts.csat, counts.mean
    assert csat is not None and mean is not None
    return tr(
        language,
        "campaign.score_line",
        csat=_number(csat, 1, language),
        mean=_number(mean, 2, language),
        band=band_text(Band.of(mean), language),
    )


def _group_line(group: DepartmentGroup, min_group: int, language: Language) -> str:
    title, n = _esc(group.title), group.counts.respondents
    if group.counts.n < min_group:
        return tr(language, "campaign.group_few", title=title, n=n)
    line = _score_line(group.counts, language)
    return tr(language, "campaign.group", title=title, n=n, line=line)


def render_officer_results(
    *,
    title: str,
    window: WindowRow,
    total: GroupCounts,
    departments: Sequence[DepartmentGroup],
    department_note: bool,
    comments: Sequence[str],
    comments_hidden: bool,
    min_group: int,
    language: Language = Language.RU,
) -> str:
    """The officers' message about a closed window (Telegram HTML, may need splitting)."""
    origin = tr(
        language,
        "campaign.origin_officer"
        if window.origin == WindowOrigin.OFFICER
        else "campaign.origin_schedule",
    )
    period = _period(window.opens_on, window.closes_on)
    lines = [
        tr(language, "campaign.results_title", title=_esc(title)),
        tr(language, "campaign.ran", period=period, origin=origin),
    ]
    if total.respondents < min_group:
        lines.append(tr(language, "campaign.too_few", k=min_group))
        return "\n".join(lines)
    lines.append(tr(language, "campaign.answers", n=total.respondents))
    if total.n >= min_group:
        lines.append(_score_line(total, language))
        scores = " · ".join(f"{s} — {total.by_score[s - 1]}" for s in reversed(SCORES))
        lines.append(tr(language, "campaign.scores", scores=scores, cannot_rate=total.cannot_rate))
    else:
        lines.append(tr(language, "campaign.scores_few"))
    if departments:
        lines += ["", tr(language, "campaign.by_department")]
        lines += [_group_line(group, min_group, language) for group in departments]
    elif department_note:
        lines += ["", tr(language, "campaign.departments_withheld", k=min_group)]
    if comments:
        lines += ["", tr(language, "campaign.comments", n=len(comments))]
        lines += [f"• {_esc(comment)}" for comment in comments]
    elif comments_hidden:
        lines += ["", tr(language, "campaign.comments_hidden")]
    return "\n".join(lines)


def render_publication(
    *,
    title: str,
    window: WindowRow,
    total: GroupCounts,
    departments: Sequence[DepartmentGroup],
    min_group: int,
    language: Language = Language.RU,
) -> str:
    """The public, anonymised results of a closed window: figures only, never free text."""
    lines = [
        tr(language, "campaign.public_title", title=_esc(title)),
        tr(language, "campaign.public_ran", period=_period(window.opens_on, window.closes_on)),
    ]
    if total.respondents < min_group or total.n < min_group:
        lines.append(tr(language, "campaign.public_too_few"))
    else:
        lines.append(tr(language, "campaign.public_answered", n=total.respondents))
        csat, mean = total.csat, total.mean
        assert csat is not None and mean is not None
        lines.append(
            tr(
                language,
                "campaign.public_satisfied",
                csat=_number(csat, 1, language),
                mean=_number(mean, 2, language),
            )
        )
        shown = [g for g in departments if g.counts.n >= min_group][:MAX_PUBLISHED_DEPARTMENTS]
        if len(shown) >= 2:
            lines += ["", tr(language, "campaign.by_department")]
            for group in shown:
                group_csat = _number(group.counts.csat or 0.0, 1, language)
                lines.append(
                    tr(language, "campaign.public_group", title=_esc(group.title), csat=group_csat)
                )
    lines += ["", tr(language, "campaign.public_thanks")]
    return "\n".join(lines)
