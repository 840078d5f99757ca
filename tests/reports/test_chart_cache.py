"""Charts are drawn once per picture, off the event loop, and redrawn when a figure changes."""

from __future__ import annotations

import threading

from reports import chart_cache
from reports.chart_cache import clear_chart_cache, drawn
from reports.model import Score

calls: list[tuple[Score, str, int]] = []


def draw(score: Score, *, title: str) -> bytes:
    calls.append((score, title, threading.get_ident()))
    return f"{title}:{score.n}".encode()


async def test_the_same_figures_are_drawn_once_in_a_worker_thread() -> None:
    clear_chart_cache()
    calls.clear()
    score = Score(n=7, csat=57.1, mean=3.9, distribution={4: 4, 5: 0, 3: 3})
    first = await drawn(draw, score, title="Отчёт")
    again = await drawn(
        draw, Score(n=7, csat=57.1, mean=3.9, distribution={4: 4, 5: 0, 3: 3}), title="Отчёт"
    )
    assert first == again == b"\xd0\x9e\xd1\x82\xd1\x87\xd1\x91\xd1\x82:7"
    assert len(calls) == 1
    assert calls[0][2] != threading.get_ident()


async def test_a_changed_figure_or_title_is_drawn_anew() -> None:
    clear_chart_cache()
    calls.clear()
    await drawn(draw, Score(n=7, csat=57.1, mean=3.9), title="Отчёт")
    # A late answer for a closed day: one more respondent.
    assert await drawn(draw, Score(n=8, csat=62.5, mean=4.0), title="Отчёт") == "Отчёт:8".encode()
    await drawn(draw, Score(n=7, csat=57.1, mean=3.9), title="Report")
    assert len(calls) == 3


async def test_the_cache_stays_small() -> None:
    clear_chart_cache()
    for n in range(3 * chart_cache.CHART_CACHE_SIZE):
        await drawn(draw, Score(n=n), title="t")
    assert len(chart_cache._charts) == chart_cache.CHART_CACHE_SIZE
