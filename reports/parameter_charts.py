"""The importance × performance chart of key drivers (matplotlib, Agg, as reports.charts).

x: performance (the parameter's mean score 1–5); y: importance (Spearman's ρ with the overall
score). The vertical line is the "high" band (mean 4.0), the horizontal one the median ρ of the
parameters shown; each quadrant is labelled with what to do. Only drivers the disclosure policy
shows are drawn (reports.parameters). A chart is drawn once per distinct content: the scheduled
and the requested report of the same period share it.
"""

from __future__ import annotations

import functools
import textwrap
from typing import Final

from questionnaires.i18n import tr
from questionnaires.schema import Language
from reports.charts import FONT, _message_png, _new_figure, _png
from reports.parameters import (
    GOOD_PERFORMANCE,
    ParameterSection,
    Quadrant,
)

_QUADRANT_COLOURS: Final = {
    Quadrant.KEEP: "#2ca02c",
    Quadrant.IMPROVE_FIRST: "#d62728",
    Quadrant.IMPROVE_LATER: "#ff7f0e",
    Quadrant.DO_NOT_OVERINVEST: "#7f7f7f",
}

Point = tuple[str, float, float, str]  # title, performance, importance, quadrant


def drivers_png(
    section: ParameterSection | None, title: str = "", language: Language = Language.RU
) -> bytes:
    """PNG of the shown drivers, or a message picture when none may be shown."""
    points: list[Point] = []
    if section is not None:
        for driver in section.shown_drivers:
            if driver.performance is None or driver.spearman is None or driver.quadrant is None:
                continue
            points.append(
                (driver.title, driver.performance, driver.spearman, driver.quadrant.value)
            )
    split = section.importance_split if section is not None else None
    min_pairs = section.min_pairs if section is not None else 0
    return _drivers_png(tuple(points), split, title, min_pairs, language)


@functools.lru_cache(maxsize=16)
def _drivers_png(
    points: tuple[Point, ...],
    split: float | None,
    title: str,
    min_pairs: int,
    language: Language,
) -> bytes:
    heading = tr(language, "parameter_chart.title") + (f" — {title}" if title else "")
    if not points or split is None:
        return _message_png(heading, tr(language, "parameter_chart.none", n=min_pairs))
    figure = _new_figure()
    axes = figure.add_subplot()
    axes.set_title(textwrap.shorten(heading, 90), fontfamily=FONT, fontsize=18)
    importances = [point[2] for point in points]
    axes.set_xlim(1.0, 5.0)
    axes.set_ylim(min(0.0, split, *importances) - 0.05, max(split, *importances) + 0.12)
    axes.axvline(GOOD_PERFORMANCE, color="#555555", linewidth=1, linestyle="--")
    axes.axhline(split, color="#555555", linewidth=1, linestyle="--")
    top, bottom = axes.get_ylim()[1], axes.get_ylim()[0]
    corners = (
        (Quadrant.IMPROVE_FIRST, 1.05, top, "left", "top"),
        (Quadrant.KEEP, 4.95, top, "right", "top"),
        (Quadrant.IMPROVE_LATER, 1.05, bottom, "left", "bottom"),
        (Quadrant.DO_NOT_OVERINVEST, 4.95, bottom, "right", "bottom"),
    )
    for quadrant, x, y, ha, va in corners:
        axes.text(
            x,
            y,
            quadrant.label(language),
            ha=ha,
            va=va,
            fontfamily=FONT,
            fontsize=13,
            color=_QUADRANT_COLOURS[quadrant],
            fontweight="bold",
        )
    for name, performance, importance, where in points:
        colour = _QUADRANT_COLOURS[Quadrant(where)]
        axes.scatter([performance], [importance], s=90, color=colour, zorder=3)
        axes.annotate(
            textwrap.shorten(name, 40, placeholder="…"),
            (performance, importance),
            xytext=(6, 4),
            textcoords="offset points",
            fontfamily=FONT,
            fontsize=11,
        )
    axes.set_xlabel(tr(language, "parameter_chart.x"), fontfamily=FONT, fontsize=13)
    axes.set_ylabel(tr(language, "parameter_chart.y"), fontfamily=FONT, fontsize=13)
    axes.grid(alpha=0.2)
    return _png(figure)
