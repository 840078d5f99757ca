"""The pain map's words for an officer, whichever messenger shows them: the list, a pain's
card, a measure's status choice, refusals of typed steps and the sheet's import result.

Telegram shows them as HTML (``html=True``: what came from people or the catalog escaped, the
pain's title bold); MAX as plain text (``html=False``: nothing escaped, the catalogue's bold
tags dropped), so the two fronts render one card and neither copies the other.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from html import escape
from typing import Final

from questionnaires.i18n import N_, tr
from questionnaires.schema import Language
from reports.model import priority_band
from reports.painmap_import import status_title as sheet_status_title
from reports.telegram import band_text
from services.painmap import (
    Comparison,
    FigureRecord,
    MeasureError,
    MeasureRecord,
    PainView,
    SatisfactionRecord,
    SheetImport,
)

#: Pains listed as buttons; the whole map is in the /export workbook.
LISTED: Final = 30
#: Closed months shown as the pain's trend on its card.
TREND_MONTHS: Final = 6
ERRORS_SHOWN: Final = 15
#: The pain map sheet sent back: at most this big (the workbook of a body is far smaller).
MAX_SHEET_BYTES: Final = 10 * 1024 * 1024
#: A measure's status as its button carries it (one letter: callback data stays short).
STATUS_CODES: Final = {"p": "planned", "i": "in_progress", "d": "done", "x": "dropped"}

_CELL_PROBLEMS: Final = {
    "bad_date": N_("painmap.cell_bad_date"),
    "bad_key": N_("painmap.cell_bad_key"),
    "bad_status": N_("painmap.cell_bad_status"),
    "empty": N_("painmap.cell_empty"),
    "no_date": N_("painmap.cell_no_date"),
    "no_key": N_("painmap.cell_no_key"),
    "not_yours": N_("painmap.cell_not_yours"),
    "past_date": N_("painmap.cell_past_date"),
    "too_long": N_("painmap.cell_too_long"),
    "too_many": N_("painmap.cell_too_many"),
    "twice": N_("painmap.cell_twice"),
    "unknown_measure": N_("painmap.cell_unknown_measure"),
    "unknown_pain": N_("painmap.cell_unknown_pain"),
}
_REFUSALS: Final = {
    "empty": N_("painmap.empty_text"),
    "too_long": N_("painmap.too_long"),
    "bad_date": N_("painmap.bad_date"),
    "past_date": N_("painmap.past_date"),
}
_SOURCES: Final = {
    "rating_problem": N_("painmap.source.rating_problem"),
    "appeal_reason": N_("painmap.source.appeal_reason"),
    "staff_aspect": N_("painmap.source.staff_aspect"),
}
#: The only markup the pain map's catalogue texts carry.
_BOLD: Final = re.compile(r"</?b>")


def short(text: str, limit: int = 40) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _pct(value: float | None) -> str:
    return "—" if value is None else f"{100 * value:.1f}%".replace(".", ",")


def _num(value: float | None) -> str:
    return "—" if value is None else f"{value:.2f}".replace(".", ",")


def _period(record: FigureRecord) -> str:
    return f"{record.period.start:%d.%m.%Y}–{record.period.end:%d.%m.%Y}"


def _t(words: PainMapText, key: str, **values: object) -> str:
    """A catalogue text (the key second, where the extraction looks for it)."""
    text = tr(words.language, key, **values)
    return text if words.html else _BOLD.sub("", text)


@dataclass(frozen=True, slots=True)
class PainMapText:
    """The pain map's texts in one officer's language, as HTML or as plain text."""

    language: Language
    html: bool = True

    def quote(self, value: str) -> str:
        """A value from people or the catalog, safe in this markup."""
        return escape(value) if self.html else value

    def status_title(self, status: str) -> str:
        return sheet_status_title(status, self.language)

    def source(self, source: str) -> str:
        key = _SOURCES.get(source)
        return _t(self, key) if key else source

    def refusal(self, refused: MeasureError) -> str:
        key = _REFUSALS[refused.problem.value]
        return _t(self, key, limit=refused.limit) if key == "painmap.too_long" else _t(self, key)

    # --- the list ------------------------------------------------------------------------

    def list_text(self, views: list[PainView]) -> str:
        if not views:
            return _t(self, "painmap.empty")
        text = _t(self, "painmap.title")
        if len(views) > LISTED:
            text += "\n" + _t(self, "painmap.more", shown=LISTED, total=len(views))
        return text

    def list_label(self, view: PainView) -> str:
        """A pain's button in the list (button texts are never markup)."""
        band = priority_band(view.priority)
        label = f"{short(view.pain.title, 34)} · {short(view.process_title, 20)}"
        if view.touchpoint_title:
            label += f" ({short(view.touchpoint_title, 16)})"
        if band is not None:
            label += f" · {band_text(band, self.language)}"
        return label

    # --- the card ------------------------------------------------------------------------

    def card(self, view: PainView, today: date) -> str:
        q = self.quote
        title = f"<b>{q(view.pain.title)}</b>" if self.html else view.pain.title
        lines = [
            title,
            f"{_t(self, 'painmap.process')}: {q(view.process_title)}",
            f"{_t(self, 'painmap.touchpoint')}: "
            f"{q(view.touchpoint_title) or _t(self, 'painmap.all_touchpoints')}",
            f"{_t(self, 'painmap.source')}: {self.source(view.pain.source)}",
            self._figures_line(view, view.latest),
        ]
        months = [r for r in view.history if (r.period.end - r.period.start).days < 31]
        points = [
            f"{r.period.start:%m.%Y} {'—' if r.figures.hidden else _pct(r.figures.prevalence)}"
            for r in months[-TREND_MONTHS:]
        ]
        if len(points) > 1:
            lines.append(_t(self, "painmap.trend", points=", ".join(points)))
        lines += ["", _t(self, "painmap.measures")]
        if not view.measures:
            lines.append(_t(self, "painmap.no_measures"))
        for measure in view.measures:
            overdue = measure.status in ("planned", "in_progress") and measure.deadline < today
            lines.append(
                _t(
                    self,
                    "painmap.measure",
                    text=q(measure.text),
                    responsible=q(measure.responsible),
                    deadline=f"{measure.deadline:%d.%m.%Y}",
                    status=self.status_title(measure.status),
                    overdue=_t(self, "painmap.overdue") if overdue else "",
                )
            )
            comparison = view.comparisons.get(measure.id)
            if comparison is not None:
                lines.append(self._comparison_line(measure, comparison))
        return "\n".join(lines)

    def status_of_label(self, measure: MeasureRecord) -> str:
        return _t(self, "painmap.status_of", text=short(measure.text))

    def choose_status(self, measure: MeasureRecord) -> str:
        return _t(self, "painmap.choose_status", text=self.quote(short(measure.text, 200)))

    def status_label(self, measure: MeasureRecord, status: str) -> str:
        mark = "✓ " if status == measure.status else ""
        return mark + self.status_title(status)

    def _figures_line(self, view: PainView, record: FigureRecord | None) -> str:
        if record is None:
            return _t(self, "painmap.none")
        figures = record.figures
        if figures.hidden:
            return _t(self, "painmap.hidden", period=_period(record))
        if view.pain.source == "appeal_reason":
            return _t(
                self,
                "painmap.appeal_figures",
                period=_period(record),
                respondents=figures.respondents,
                prevalence=_pct(figures.prevalence),
            )
        band = priority_band(figures.priority)
        return _t(
            self,
            "painmap.staff_figures" if view.pain.source == "staff_aspect" else "painmap.figures",
            period=_period(record),
            prevalence=_pct(figures.prevalence),
            band=band_text(band, self.language) if band else "—",
            priority=_num(figures.priority),
            respondents=figures.respondents,
            mean=_num(figures.mean_overall),
        )

    def _comparison_line(self, measure: MeasureRecord, comparison: Comparison) -> str:
        none = _t(self, "painmap.no_data")

        def prevalence(record: FigureRecord | None) -> str:
            if record is None:
                return none
            hidden = record.figures.hidden
            shown = _t(self, "painmap.hidden_short") if hidden else _pct(record.figures.prevalence)
            return f"{shown} ({_period(record)})"

        def csat(record: SatisfactionRecord | None) -> str:
            if record is None or record.satisfaction.hidden or record.satisfaction.csat is None:
                return none
            return f"{record.satisfaction.csat:.1f}%".replace(".", ",")

        assert measure.done_on is not None
        return _t(
            self,
            "painmap.before_after",
            done=f"{measure.done_on:%d.%m.%Y}",
            before=prevalence(comparison.before),
            after=prevalence(comparison.after),
            csat_before=csat(comparison.csat_before),
            csat_after=csat(comparison.csat_after),
        )

    # --- the sheet sent back -------------------------------------------------------------

    def describe_import(self, result: SheetImport) -> str:
        if result.applied:
            return _t(
                self,
                "painmap.sheet_done",
                added=result.added,
                changed=result.changed,
                unchanged=result.unchanged,
            )
        texts = {problem: _t(self, key) for problem, key in _CELL_PROBLEMS.items()}
        lines = [_t(self, "painmap.sheet_bad", count=len(result.errors))]
        lines += [
            escape(e.describe(texts), quote=False) if self.html else e.describe(texts)
            for e in result.errors[:ERRORS_SHOWN]
        ]
        if len(result.errors) > ERRORS_SHOWN:
            lines.append(_t(self, "painmap.sheet_more", count=len(result.errors) - ERRORS_SHOWN))
        return "\n".join(lines)
