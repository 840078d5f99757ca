"""Scheduler factory and the housekeeping job that forgets what anonymity says to forget."""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import date
from typing import Protocol
from zoneinfo import ZoneInfo

from apscheduler.schedulers.asyncio import AsyncIOScheduler
from apscheduler.triggers.cron import CronTrigger

logger = logging.getLogger(__name__)

HOUSEKEEPING_JOB = "housekeeping"


class DedupPurger(Protocol):
    async def purge_expired_dedup_keys(self, today: date) -> int: ...


class ExpiringStorage(Protocol):
    async def purge_expired(self) -> int: ...


async def housekeeping(
    responses: DedupPurger, fsm: ExpiringStorage | None, today: Callable[[], date]
) -> tuple[int, int]:
    """Delete expired ballot-stuffing keys and abandoned dialogs; return both counts."""
    keys = await responses.purge_expired_dedup_keys(today())
    dialogs = await fsm.purge_expired() if fsm is not None else 0
    logger.info("Housekeeping: %d expired keys and %d abandoned dialogs removed", keys, dialogs)
    return keys, dialogs


def create_scheduler(
    zone: ZoneInfo,
    *,
    responses: DedupPurger,
    fsm: ExpiringStorage | None,
    today: Callable[[], date],
) -> AsyncIOScheduler:
    """An AsyncIOScheduler in the body's zone with the nightly housekeeping job."""
    scheduler = AsyncIOScheduler(timezone=zone)
    scheduler.add_job(
        housekeeping,
        CronTrigger(hour=3, minute=17, timezone=zone),
        id=HOUSEKEEPING_JOB,
        kwargs={"responses": responses, "fsm": fsm, "today": today},
        coalesce=True,
        misfire_grace_time=None,
        replace_existing=True,
    )
    return scheduler
