"""Aggregate activity counters: what the log may say about responses instead of one line each."""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Callable
from datetime import UTC, datetime

logger = logging.getLogger(__name__)


def _utc_now() -> datetime:
    return datetime.now(UTC)


class ActivityCounter:
    """Counts stored responses and the like in memory; :meth:`report` logs the totals.

    A log line per response would date each response to the second, next to whatever else the
    log holds (a /start, an opt-in); a total per hour says only how busy the hour was.
    """

    def __init__(self, clock: Callable[[], datetime] = _utc_now) -> None:
        self._clock = clock
        self._counts: Counter[str] = Counter()
        self._since = clock()

    def add(self, what: str, count: int = 1) -> None:
        if count > 0:
            self._counts[what] += count

    def report(self) -> dict[str, int]:
        """Log and reset the totals since the last report (nothing is logged when all are 0)."""
        counts, self._counts = dict(self._counts), Counter()
        since, self._since = self._since, self._clock()
        if counts:
            totals = ", ".join(f"{count} {what}" for what, count in sorted(counts.items()))
            # Minutes cut off: the line dates the period, not any one response.
            logger.info(
                "Since %s UTC: %s", since.astimezone(UTC).strftime("%Y-%m-%d %H:00"), totals
            )
        return counts
