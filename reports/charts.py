"""PNG charts for officers: CSAT trend by service and the 1–5 distribution (matplotlib, Agg).

Figures are built with `matplotlib.figure.Figure` and an Agg canvas, never pyplot, so no global
figure state is shared between threads. Rendering takes a few hundred milliseconds: call these
from `asyncio.to_thread` in async code.
"""

from __future__ import annotations

import io
import itertools
import math
import textwrap
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Final

from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator

from questionnaires.i18n import tr
from questionnaires.schema import Language
from reports.model import Score, TrendPoint

#: Bundled with matplotlib, so Cyrillic renders on any machine without system fonts.
FONT: Final = "DejaVu Sans"
#: 1200×700 px: readable on a phone once Telegram scales it to the screen width.
SIZE_INCHES: Final = (12.0, 7.0)
DPI: Final = 100
#: zlib level of the PNGs: 1 instead of Pillow's 6 takes a quarter off writing a chart
#: (compressing was about a tenth of drawing one) for files a fifth larger (~80 KB), with
#: the same pixels.
PNG_COMPRESS_LEVEL: Final = 1
MAX_SERIES: Final = 6
#: Legend entries wrap at this width (two columns fit 1200 px at 14 pt) and are never cut
#: short of _LEGEND_MAX_CHARS, so a service's full catalog name shows (issue 10, item 8).
_LEGEND_WRAP: Final = 44
_LEGEND_MAX_CHARS: Final = 200
_COLOURS: Final = ("#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b")
_SCORE_COLOURS: Final = {1: "#d62728", 2: "#f28e2b", 3: "#bab0ac", 4: "#8cd17d", 5: "#2ca02c"}


def _legend_label(text: str) -> str:
    """A service name for the legend: whole, wrapped onto lines of at most _LEGEND_WRAP."""
    label = _label(text, _LEGEND_MAX_CHARS)
    return "\n".join(textwrap.wrap(label, _LEGEND_WRAP, break_on_hyphens=False)) or label


def _label(text: str, limit: int) -> str:
    """A catalog string made safe for matplotlib: no mathtext, no hidden legend entry."""
    text = " ".join(text.split())
    if len(text) > limit:
        text = text[: limit - 1].rstrip() + "…"
    text = text.replace("$", r"\$")
    # Legend entries starting with "_" are silently dropped by matplotlib.
    return "\u200b" + text if text.startswith("_") else text


@dataclass(frozen=True, slots=True)
class TrendSeries:
    """What the trend chart plots; None is a gap (a suppressed or missing bucket)."""

    buckets: tuple[date, ...]
    lines: tuple[tuple[str, tuple[float | None, ...]], ...]  # (label, CSAT per bucket)
    omitted: int  # services left out: beyond the top ones, or without a single visible bucket


def _shown(score: Score, min_group: int) -> bool:
    return not score.suppressed and score.n >= min_group and score.csat is not None


def trend_series(
    points: Sequence[TrendPoint],
    titles: Mapping[str | None, str],
    *,
    min_group: int,
    max_series: int = MAX_SERIES,
    language: Language = Language.RU,
) -> TrendSeries:
    """The series of the trend chart: top services by visible answers, hidden buckets as gaps."""
    buckets = tuple(sorted({point.bucket_start for point in points}))
    position = {bucket: index for index, bucket in enumerate(buckets)}
    services: dict[str | None, list[float | None]] = {}
    weight: dict[str | None, int] = {}
    for point in points:
        values = services.setdefault(point.service, [None] * len(buckets))
        weight.setdefault(point.service, 0)
        if _shown(point.score, min_group):
            values[position[point.bucket_start]] = point.score.csat
            # Ranked by visible answers only, so a hidden bucket does not move a service up.
            weight[point.service] += point.score.n
    visible = [service for service in services if weight[service] > 0]
    visible.sort(key=lambda s: (-weight[s], titles.get(s, s or "")))
    chosen = visible[:max_series]
    lines = tuple(
        (
            _legend_label(titles.get(service) or service or tr(language, "chart.unknown_service")),
            tuple(services[service]),
        )
        for service in chosen
    )
    return TrendSeries(buckets, lines, omitted=len(services) - len(chosen))


def _bucket_labels(buckets: Sequence[date]) -> list[str]:
    gaps = [(b - a).days for a, b in itertools.pairwise(buckets)]
    monthly = bool(gaps) and min(gaps) >= 28
    return [f"{b:%m.%Y}" if monthly else f"{b:%d.%m}" for b in buckets]


def _new_figure() -> Figure:
    figure = Figure(figsize=SIZE_INCHES, dpi=DPI, layout="constrained")
    FigureCanvasAgg(figure)
    return figure


def _png(figure: Figure) -> bytes:
    buffer = io.BytesIO()
    # No bbox_inches="tight": the size stays exactly SIZE_INCHES × DPI.
    figure.savefig(
        buffer, format="png", dpi=DPI, pil_kwargs={"compress_level": PNG_COMPRESS_LEVEL}
    )
    return buffer.getvalue()


def _message_png(title: str, message: str) -> bytes:
    figure = _new_figure()
    figure.suptitle(_label(title, 90), fontfamily=FONT, fontsize=22)
    figure.text(
        0.5, 0.5, _label(message, 120), ha="center", va="center", fontfamily=FONT, fontsize=20
    )
    return _png(figure)


def csat_trend_png(
    points: Sequence[TrendPoint],
    titles: Mapping[str | None, str],
    *,
    period_label: str,
    min_group: int,
    language: Language = Language.RU,
) -> bytes:
    """CSAT % by week or month, one line per service (top 6 by answers), gaps where hidden."""
    series = trend_series(points, titles, min_group=min_group, language=language)
    title = tr(language, "chart.trend_title", period=period_label)
    if not series.lines:
        return _message_png(title, tr(language, "chart.no_data", n=min_group))
    return _png(trend_figure(series, title=title, min_group=min_group, language=language))


def trend_figure(
    series: TrendSeries, *, title: str, min_group: int, language: Language = Language.RU
) -> Figure:
    """The trend chart of non-empty ``series``; the legend sits below the axes, wrapped."""
    figure = _new_figure()
    axes = figure.add_subplot()
    x = list(range(len(series.buckets)))
    for index, (label, values) in enumerate(series.lines):
        # NaN breaks the line, so a hidden bucket is a gap, never an interpolated value.
        y = [math.nan if value is None else value for value in values]
        axes.plot(
            x,
            y,
            label=label,
            color=_COLOURS[index % len(_COLOURS)],
            linewidth=3,
            marker="o",
            markersize=8,
        )
    axes.set_ylim(0, 100)
    axes.set_xlim(-0.5, len(x) - 0.5)
    axes.set_ylabel("CSAT, %", fontfamily=FONT, fontsize=16)
    axes.set_title(_label(title, 90), fontfamily=FONT, fontsize=20)
    axes.grid(True, axis="y", alpha=0.3)
    labels = _bucket_labels(series.buckets)
    step = max(1, math.ceil(len(x) / 12))
    axes.set_xticks(x[::step], labels[::step], fontfamily=FONT, fontsize=14)
    axes.tick_params(axis="y", labelsize=14, labelfontfamily=FONT)
    note = tr(language, "chart.omitted", k=series.omitted) if series.omitted else ""
    note += tr(language, "chart.gaps", n=min_group)
    # As the x label, so constrained layout keeps it clear of the ticks and the legend.
    axes.set_xlabel(note, fontfamily=FONT, fontsize=13, color="#555555", loc="left")
    figure.legend(
        loc="outside lower center",
        ncols=min(2, len(series.lines)),
        prop={"family": FONT, "size": 14},
        frameon=False,
    )
    return figure


def distribution_bars(score: Score, min_group: int) -> tuple[int, int, int, int, int] | None:
    """Respondents per score 1–5, or None when the group may show no figures."""
    if score.suppressed or score.n < min_group:
        return None
    d = score.distribution
    return (d.get(1, 0), d.get(2, 0), d.get(3, 0), d.get(4, 0), d.get(5, 0))


def distribution_png(
    score: Score, *, title: str, min_group: int, language: Language = Language.RU
) -> bytes:
    """Bar chart of the 1–5 distribution, or a "too few answers" placeholder when hidden."""
    bars = distribution_bars(score, min_group)
    if bars is None:
        return _message_png(title, tr(language, "chart.too_few", n=min_group))
    figure = _new_figure()
    axes = figure.add_subplot()
    scores = [1, 2, 3, 4, 5]
    drawn = axes.bar(scores, bars, color=[_SCORE_COLOURS[k] for k in scores], width=0.7)
    total = sum(bars)
    labels = [f"{count} ({100 * count / total:.0f}%)" if total else "0" for count in bars]
    axes.bar_label(drawn, labels=labels, fontsize=14, fontfamily=FONT, padding=4)
    axes.set_xticks(scores, [str(k) for k in scores], fontfamily=FONT, fontsize=16)
    axes.set_xlabel(tr(language, "chart.score"), fontfamily=FONT, fontsize=16)
    axes.set_ylabel(tr(language, "chart.answers"), fontfamily=FONT, fontsize=16)
    axes.yaxis.set_major_locator(MaxNLocator(integer=True))
    axes.set_ylim(0, max(max(bars), 1) * 1.15)
    axes.tick_params(axis="y", labelsize=14, labelfontfamily=FONT)
    axes.set_title(f"{_label(title, 80)} (n = {score.n})", fontfamily=FONT, fontsize=20)
    axes.spines[["top", "right"]].set_visible(False)
    return _png(figure)
