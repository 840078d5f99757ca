"""Rendered charts kept by everything they are drawn from: each picture is drawn once.

Drawing a chart costs more than reading the report's figures (matplotlib, tens to hundreds of
milliseconds of CPU). The key is the full ``repr`` of the drawing function's arguments (the
published figures, titles, labels, language), so a cached picture can never show other figures
than a fresh one would: a late answer that changes a figure changes the key. Only what an
officer may already see is kept, in memory, for the few most recent reports.
"""

from __future__ import annotations

import asyncio
from collections import OrderedDict
from collections.abc import Callable
from typing import Final

CHART_CACHE_SIZE: Final = 32  # PNGs of ~50–150 KB

_charts: OrderedDict[str, bytes] = OrderedDict()


async def drawn(draw: Callable[..., bytes], *args: object, **kwargs: object) -> bytes:
    """``draw(*args, **kwargs)``, drawn in a worker thread (off the event loop) unless the
    same picture was drawn recently."""
    key = repr((draw.__module__, draw.__qualname__, args, sorted(kwargs.items())))
    found = _charts.get(key)
    if found is not None:
        _charts.move_to_end(key)
        return found
    png = await asyncio.to_thread(draw, *args, **kwargs)
    _charts[key] = png
    if len(_charts) > CHART_CACHE_SIZE:
        _charts.popitem(last=False)
    return png


def clear_chart_cache() -> None:
    """Forget the drawn charts (benchmarks time the drawing itself)."""
    _charts.clear()
