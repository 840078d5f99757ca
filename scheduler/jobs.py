"""Scheduler factory and the housekeeping job that forgets what anonymity says to forget."""

from __future__ import annotations

import asyncio
import functools
import logging
from collections.abc import Awaitable, Callable
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Protocol
from zoneinfo import ZoneInfo

from apscheduler.schedulers.asyncio import AsyncIOScheduler
from apscheduler.triggers.base import BaseTrigger
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger
from apscheduler.util import iscoroutinefunction_partial

from services import metrics

logger = logging.getLogger(__name__)

HOUSEKEEPING_JOB = "housekeeping"
REPORTS_JOB = "reports"
FUNNEL_JOB = "funnel"
OPT_INS_JOB = "opt-ins"
PARTICIPATION_JOB = "participation"
ACTIVITY_JOB = "activity"
WAL_JOB = "wal"
PAIN_MAP_JOB = "pain-map"
SIGNALS_JOB = "signals"


class DedupPurger(Protocol):
    async def purge_expired_dedup_keys(self, today: date) -> int: ...


class ExpiringStorage(Protocol):
    async def purge_expired(self) -> int: ...


async def housekeeping(
    responses: DedupPurger,
    fsm: ExpiringStorage | None,
    today: Callable[[], date],
    compact: Callable[[], Awaitable[bool]] | None = None,
) -> tuple[int, int]:
    """Delete expired keys and abandoned dialogs, then rebuild the SQLite file (``compact``,
    storage.database.vacuum); return both counts."""
    keys = await responses.purge_expired_dedup_keys(today())
    dialogs = await fsm.purge_expired() if fsm is not None else 0
    logger.info("Housekeeping: %d expired keys and %d abandoned dialogs removed", keys, dialogs)
    if compact is not None:
        try:
            if not await compact():
                logger.warning("Database file not rebuilt tonight: it was busy")
        except Exception as error:
            logger.warning("Database file not rebuilt tonight: %s", type(error).__name__)
    return keys, dialogs


class DueReports(Protocol):
    async def tick(self, now: datetime) -> int: ...


async def send_due_reports(deliveries: DueReports, now: datetime | None = None) -> int:
    """Send the reports due up to now; a failure is logged and retried on the next tick."""
    try:
        return await deliveries.tick(now or datetime.now(UTC))
    except Exception as error:
        logger.error("Report deliveries failed: %s", type(error).__name__, exc_info=error)
        return 0


class PainMapDesk(Protocol):
    async def tick(self, now: datetime | None = None) -> int: ...


async def tend_pain_map(pain_map: PainMapDesk) -> int:
    """Refresh the pain map for periods that closed and remind of overdue measures
    (services.painmap); both are claimed once, so a failure is retried next hour."""
    try:
        return await pain_map.tick()
    except Exception as error:
        logger.error("Pain map not tended: %s", type(error).__name__, exc_info=error)
        return 0


class Signals(Protocol):
    async def tick(self, now: datetime | None = None) -> int: ...


async def run_signals(signals: Signals, now: datetime | None = None) -> int:
    """§3.3 proposals and escalations due up to now; a failure is retried on the next tick."""
    try:
        return await signals.tick(now or datetime.now(UTC))
    except Exception as error:
        logger.error("Signals failed: %s", type(error).__name__, exc_info=error)
        return 0


class Flushable(Protocol):
    async def flush(self) -> int: ...


async def flush_funnel(funnel: Flushable) -> int:
    """Write the drop-off counters gathered in memory; kept for the next try on failure."""
    try:
        return await funnel.flush()
    except Exception as error:
        logger.warning("Funnel counters not written yet: %s", type(error).__name__)
        return 0


class ParticipationWriter(Protocol):
    async def flush_participation(self, *, force: bool = False) -> int: ...

    async def touch_participation(self) -> int: ...


class RatingToucher(Protocol):
    async def touch_ratings(self) -> int: ...


async def flush_participation(
    windows: ParticipationWriter, ratings: RatingToucher | None = None
) -> int:
    """Write the poll-window participation keys waiting in memory (storage.campaigns), in
    every process that takes answers: a key left in memory lets a restart or another worker
    take a second answer to the same window. Then touch the shared keys in Redis, so that
    within a minute of a completion its key's idle time is its window's others' (whichever
    process took it: each process touches them all); so too the ballot-stuffing guard's keys
    (``ratings``, services.feedback: storage.rating_redis). Each step is tried whatever the
    others did."""
    try:
        written = await windows.flush_participation()
    except Exception as error:
        logger.warning("Participation keys not written yet: %s", type(error).__name__)
        written = 0
    try:
        await windows.touch_participation()
    except Exception as error:
        logger.warning("Participation keys not touched: %s", type(error).__name__)
    if ratings is not None:
        try:
            await ratings.touch_ratings()
        except Exception as error:
            logger.warning("Rating guard keys not touched: %s", type(error).__name__)
    return written


async def flush_opt_ins(opt_ins: Flushable) -> int:
    """Write the subscriptions waiting in memory once enough gathered (storage.opt_ins)."""
    try:
        return await opt_ins.flush()
    except Exception as error:
        logger.warning("Subscriptions not written yet: %s", type(error).__name__)
        return 0


class WalCheckpoint(Protocol):
    async def __call__(self) -> bool: ...


async def checkpoint(wal: WalCheckpoint) -> bool:
    """Empty the SQLite WAL, which keeps recent pages in commit order (storage.database)."""
    try:
        return await wal()
    except Exception as error:
        logger.warning("WAL checkpoint failed: %s", type(error).__name__)
        return False


class ActivityReport(Protocol):
    def report(self) -> dict[str, int]: ...


class Reshuffler(Protocol):
    async def reshuffle(self, since: date) -> int: ...


async def hourly_privacy(
    activity: ActivityReport, reshuffler: Reshuffler | None, today: Callable[[], date]
) -> dict[str, int]:
    """Log the hour's totals (responses stored, …) instead of a line per response, and let the
    database forget in which order today's and yesterday's responses came (PostgreSQL)."""
    if reshuffler is not None:
        try:
            await reshuffler.reshuffle(today() - timedelta(days=1))
        except Exception as error:
            logger.warning("Responses not reshuffled this hour: %s", type(error).__name__)
    counts = activity.report()
    metrics.add_hourly_activity(counts)
    return counts


def create_scheduler(
    zone: ZoneInfo,
    *,
    responses: DedupPurger,
    fsm: ExpiringStorage | None,
    today: Callable[[], date],
    deliveries: DueReports | None = None,
    funnel: Flushable | None = None,
    opt_ins: Flushable | None = None,
    activity: ActivityReport | None = None,
    reshuffler: Reshuffler | None = None,
    wal: WalCheckpoint | None = None,
    compact: Callable[[], Awaitable[bool]] | None = None,
    pain_map: PainMapDesk | None = None,
    signals: Signals | None = None,
    participation: ParticipationWriter | None = None,
    ratings: RatingToucher | None = None,
    housekeep: bool = True,
) -> AsyncIOScheduler:
    """An AsyncIOScheduler in the body's zone: nightly housekeeping (unless ``housekeep`` is
    false: a process that only takes answers, `otklik web`), reports every minute. The
    minute participation job touches the rating guard's keys too (``ratings``)."""
    scheduler = AsyncIOScheduler(timezone=zone)
    every_minute = IntervalTrigger(minutes=1, timezone=zone)
    periodic: list[
        tuple[str, Callable[..., Awaitable[object]], BaseTrigger, dict[str, object]]
    ] = []
    if funnel is not None:
        # Hourly, like the reshuffle: a counter updated every few seconds would time the one
        # completion of a quiet service and channel (PostgreSQL keeps each row's xmin).
        hourly = IntervalTrigger(hours=1, timezone=zone)
        periodic.append((FUNNEL_JOB, flush_funnel, hourly, {"funnel": funnel}))
    if opt_ins is not None:
        periodic.append((OPT_INS_JOB, flush_opt_ins, every_minute, {"opt_ins": opt_ins}))
    if participation is not None:
        periodic.append(
            (
                PARTICIPATION_JOB,
                flush_participation,
                every_minute,
                {"windows": participation, "ratings": ratings},
            )
        )
    if wal is not None:
        periodic.append((WAL_JOB, checkpoint, every_minute, {"wal": wal}))
    if activity is not None:
        on_the_hour = CronTrigger(minute=0, timezone=zone)
        kwargs: dict[str, object] = {
            "activity": activity,
            "reshuffler": reshuffler,
            "today": today,
        }
        periodic.append((ACTIVITY_JOB, hourly_privacy, on_the_hour, kwargs))
    if deliveries is not None:
        periodic.append((REPORTS_JOB, send_due_reports, every_minute, {"deliveries": deliveries}))
    if pain_map is not None:
        every_hour = IntervalTrigger(hours=1, timezone=zone)
        periodic.append((PAIN_MAP_JOB, tend_pain_map, every_hour, {"pain_map": pain_map}))
    if signals is not None:
        periodic.append((SIGNALS_JOB, run_signals, every_minute, {"signals": signals}))
    for job_id, job, trigger, job_kwargs in periodic:
        # One run at a time; runs missed while the loop was busy collapse into one.
        scheduler.add_job(
            job,
            trigger,
            id=job_id,
            kwargs=job_kwargs,
            coalesce=True,
            max_instances=1,
            replace_existing=True,
        )
    if not housekeep:
        return scheduler
    scheduler.add_job(
        housekeeping,
        CronTrigger(hour=3, minute=17, timezone=zone),
        id=HOUSEKEEPING_JOB,
        kwargs={"responses": responses, "fsm": fsm, "today": today, "compact": compact},
        coalesce=True,
        misfire_grace_time=None,
        replace_existing=True,
    )
    return scheduler


PUBLISH_JOB = "publish"


class SitePublisher(Protocol):
    async def refresh(self, out: Path) -> bool: ...


async def publish_site(publisher: SitePublisher, out: Path) -> bool:
    """Rewrite the public site when what it shows changed (services.publication): a window's
    results published, a period closed; a failure is logged and retried on the next run."""
    try:
        return await publisher.refresh(out)
    except Exception as error:
        logger.error("Public site not regenerated: %s", type(error).__name__, exc_info=error)
        return False


def add_publish_job(scheduler: AsyncIOScheduler, publisher: SitePublisher, out: Path) -> None:
    """Check every 15 minutes (PUBLISH__DIR set); the first run is at start."""
    scheduler.add_job(
        publish_site,
        IntervalTrigger(minutes=15, timezone=scheduler.timezone),
        id=PUBLISH_JOB,
        kwargs={"publisher": publisher, "out": out},
        coalesce=True,
        max_instances=1,
        replace_existing=True,
        next_run_time=datetime.now(UTC),
    )


ANNOUNCE_JOB = "announce-measures"


class Announcer(Protocol):
    """services.announcements.ResultsAnnouncer."""

    async def tick(self, now: datetime | None = None) -> int: ...


async def announce_measures(announcer: Announcer) -> int:
    """«Вы сказали — мы сделали»: resume an unfinished announcement, and send the weekly one
    when due; a failure is logged and tried again next hour (each step is claimed once)."""
    try:
        return await announcer.tick()
    except Exception as error:
        logger.error("Measures not announced: %s", type(error).__name__, exc_info=error)
        return 0


def add_announce_job(scheduler: AsyncIOScheduler, announcer: Announcer) -> None:
    """Every hour; the announcer itself decides when the weekly message is due."""
    scheduler.add_job(
        announce_measures,
        IntervalTrigger(hours=1, timezone=scheduler.timezone),
        id=ANNOUNCE_JOB,
        kwargs={"announcer": announcer},
        coalesce=True,
        max_instances=1,
        replace_existing=True,
    )


def stoppable(job: Callable[..., Awaitable[object]]) -> Callable[..., Awaitable[object]]:
    """``job`` that ends quietly when the process stops it mid-run.

    ``scheduler.shutdown(wait=False)`` cancels the jobs still running, and APScheduler logs each
    cancellation as an ERROR with a traceback ("Job ... raised an exception"), which reads as a
    failure at every clean stop. Every job is idempotent (the delivery ledger, window states,
    the broadcast run lease), so a stopped run is taken up at the next start: one INFO line
    says so instead."""

    @functools.wraps(job)
    async def run(*args: object, **kwargs: object) -> object:
        try:
            return await job(*args, **kwargs)
        except asyncio.CancelledError:
            logger.info(
                "A job stopped with the process (%s); it runs again at the next start",
                getattr(job, "__name__", type(job).__name__),
            )
            return None

    run.__dict__["stoppable"] = True
    return run


def make_jobs_stoppable(scheduler: AsyncIOScheduler) -> None:
    """Wrap every coroutine job of ``scheduler`` in :func:`stoppable` (call before start)."""
    for job in scheduler.get_jobs():
        if iscoroutinefunction_partial(job.func) and not getattr(job.func, "stoppable", False):
            job.modify(func=stoppable(job.func))
