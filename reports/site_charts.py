"""SVG charts of the public site (matplotlib's SVG backend), each with <title> and <desc>.

Charts are a picture of a table printed next to them on the page: the table is the text
alternative, the chart's <title>/<desc> (and the page's ``alt``) say what it shows. Output is
deterministic (fixed hash salt, no date), so regenerating an unchanged site changes no file.
Glyphs are drawn as paths: the SVG needs no font on the reader's machine.
"""

from __future__ import annotations

import contextlib
import io
import re
from collections.abc import Sequence
from html import escape
from typing import Final

import matplotlib
from matplotlib.backends.backend_svg import FigureCanvasSVG
from matplotlib.figure import Figure

from reports.charts import FONT

_BAR: Final = "#1f5f9e"  # 7:1 against white
_TEXT: Final = "#1a1a1a"
_SCORE_COLOURS: Final = {1: "#b3261e", 2: "#c4581b", 3: "#6b6b6b", 4: "#3d7a2a", 5: "#1e5e20"}
_SVG_OPEN: Final = re.compile(r"<svg\b[^>]*>")
_METADATA: Final = re.compile(r"\s*<metadata>.*?</metadata>", re.DOTALL)


def _style() -> contextlib.AbstractContextManager[None]:
    """Deterministic ids, glyphs as paths, the bundled font (Cyrillic everywhere)."""
    return matplotlib.rc_context(
        {"svg.hashsalt": "otklik-site", "svg.fonttype": "path", "font.family": FONT}
    )


def _label(text: str, limit: int = 60) -> str:
    text = " ".join(text.split())
    if len(text) > limit:
        text = text[: limit - 1].rstrip() + "…"
    return text.replace("$", r"\$")  # no mathtext from catalog titles


def _svg(figure: Figure, title: str, description: str) -> bytes:
    """The figure as SVG with an accessible name: <title> and <desc> first in the root."""
    buffer = io.BytesIO()
    FigureCanvasSVG(figure)
    figure.savefig(buffer, format="svg", metadata={"Date": None, "Creator": None})
    text = buffer.getvalue().decode()
    text = text[text.index("<svg") :]  # no XML prolog or DOCTYPE: also valid inline
    text = _METADATA.sub("", text)  # RDF naming matplotlib: nothing a reader needs
    opening = _SVG_OPEN.search(text)
    assert opening is not None
    tag = opening.group(0)
    named = tag[:-1] + ' role="img" aria-labelledby="chart-title chart-desc">'
    accessible = (
        f'{named}<title id="chart-title">{escape(title)}</title>'
        f'<desc id="chart-desc">{escape(description)}</desc>'
    )
    return (text[: opening.start()] + accessible + text[opening.end() :]).encode()


def csat_bars_svg(bars: Sequence[tuple[str, float]], *, title: str, description: str) -> bytes:
    """Horizontal bars of CSAT, %, one per group (only groups that may show figures)."""
    with _style():
        height = 1.2 + 0.45 * max(len(bars), 1)
        figure = Figure(figsize=(8.0, height), dpi=100, layout="constrained")
        axes = figure.add_subplot()
        labels = [_label(label) for label, _ in bars][::-1]
        values = [value for _, value in bars][::-1]
        drawn = axes.barh(range(len(values)), values, color=_BAR)
        axes.bar_label(drawn, labels=[f"{v:.1f}" for v in values], padding=3, color=_TEXT)
        axes.set_yticks(range(len(values)), labels=labels, color=_TEXT)
        axes.set_xlim(0, 110)
        axes.set_xlabel("CSAT, %", color=_TEXT)
        axes.spines[["top", "right"]].set_visible(False)
        return _svg(figure, title, description)


def distribution_svg(
    counts: dict[int, int], *, title: str, description: str, axis_label: str
) -> bytes:
    """Columns of respondents per score 1–5."""
    with _style():
        figure = Figure(figsize=(6.0, 3.2), dpi=100, layout="constrained")
        axes = figure.add_subplot()
        scores = list(range(1, 6))
        values = [counts.get(score, 0) for score in scores]
        drawn = axes.bar(scores, values, color=[_SCORE_COLOURS[s] for s in scores])
        axes.bar_label(drawn, padding=2, color=_TEXT)
        axes.set_xticks(scores)
        axes.set_xlabel(axis_label, color=_TEXT)
        axes.set_ylim(0, max([*values, 1]) * 1.18)
        axes.spines[["top", "right"]].set_visible(False)
        return _svg(figure, title, description)
