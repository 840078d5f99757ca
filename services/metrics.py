"""Prometheus metrics of one bot process (prometheus_client, a registry of our own).

No metric names anybody: labels are update types and job names, never a user, chat, service or
answer. Responses stored are added once an hour with the hour's totals (scheduler.jobs.
hourly_privacy), like the log line: a counter that moved with each response would date every
response to the scrape interval. Updates and handler latency say when somebody pressed
something, which Telegram knows anyway; they carry no answer.

``METRICS__PORT`` serves the registry with prometheus_client's own HTTP server
(:func:`serve_metrics`); the web server can mount :func:`exposition` at ``/metrics`` instead.
Each process has its own registry: with several workers, scrape each (its own port).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Final

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
    start_http_server,
)

from storage.responses import STORED_RESPONSES

logger = logging.getLogger(__name__)

REGISTRY: Final = CollectorRegistry(auto_describe=True)

#: Update types are a fixed vocabulary (Telegram's); anything else is counted as "other".
UPDATE_TYPES: Final = frozenset(
    {
        "message",
        "edited_message",
        "callback_query",
        "my_chat_member",
        "chat_member",
        "inline_query",
        "channel_post",
        "edited_channel_post",
        "chat_join_request",
        "pre_checkout_query",
        "poll",
        "poll_answer",
    }
)

UPDATES: Final = Counter(
    "otklik_updates", "Updates handled, by type.", ["type"], registry=REGISTRY
)
HANDLER_SECONDS: Final = Histogram(
    "otklik_handler_seconds",
    "Time from an update's arrival in the dispatcher to the end of its handling.",
    ["type"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0),
    registry=REGISTRY,
)
HANDLER_ERRORS: Final = Counter(
    "otklik_handler_errors", "Updates whose handling raised.", ["type"], registry=REGISTRY
)
RESPONSES_STORED: Final = Counter(
    "otklik_responses_stored",
    "Responses stored; added hourly with the hour's total, never one at a time.",
    registry=REGISTRY,
)
BROADCAST_QUEUE: Final = Gauge(
    "otklik_broadcast_queue",
    "Messages waiting to be sent by the broadcasts this process runs.",
    registry=REGISTRY,
)
BROADCAST_FLOOD_WAITS: Final = Counter(
    "otklik_broadcast_flood_waits",
    "429 (flood control) answers to broadcast messages.",
    registry=REGISTRY,
)
SCHEDULER_LEADER: Final = Gauge(
    "otklik_scheduler_leader",
    "1 while this process is the scheduler leader (runs the body's jobs).",
    registry=REGISTRY,
)
REPORT_SECONDS: Final = Histogram(
    "otklik_report_seconds",
    "Time to build one report (ReportingService.report).",
    buckets=(0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0),
    registry=REGISTRY,
)


def update_type(name: str | None) -> str:
    return name if name in UPDATE_TYPES else "other"


@dataclass(frozen=True, slots=True)
class _UpdateSeries:
    """The labelled children of one update type, looked up once (``labels()`` takes a lock
    and builds its key on every call, on every update)."""

    updates: Counter
    seconds: Histogram
    errors: Counter


_SERIES: Final[dict[str, _UpdateSeries]] = {}


def _series(kind: str | None) -> _UpdateSeries:
    label = update_type(kind)  # a fixed vocabulary: the cache stays small
    series = _SERIES.get(label)
    if series is None:
        series = _SERIES[label] = _UpdateSeries(
            UPDATES.labels(label), HANDLER_SECONDS.labels(label), HANDLER_ERRORS.labels(label)
        )
    return series


def observe_update(kind: str | None, seconds: float, *, failed: bool = False) -> None:
    series = _series(kind)
    series.updates.inc()
    series.seconds.observe(seconds)
    if failed:
        series.errors.inc()


def add_hourly_activity(counts: Mapping[str, int]) -> None:
    """The hour's totals of storage.activity.ActivityCounter.report()."""
    stored = counts.get(STORED_RESPONSES, 0)
    if stored > 0:
        RESPONSES_STORED.inc(stored)


def set_leader(leading: bool) -> None:
    SCHEDULER_LEADER.set(1 if leading else 0)


def exposition() -> tuple[bytes, str]:
    """The registry in the text format, with its content type: for a ``/metrics`` handler."""
    return generate_latest(REGISTRY), CONTENT_TYPE_LATEST


def serve_metrics(port: int, host: str = "127.0.0.1") -> None:
    """Serve ``/metrics`` on ``host:port`` in a thread of prometheus_client's own."""
    start_http_server(port, addr=host, registry=REGISTRY)
    logger.info("Metrics on http://%s:%d/metrics", host, port)
