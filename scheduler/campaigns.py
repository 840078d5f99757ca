"""The campaign job: every minute, and once at start, bring poll windows up to date."""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from typing import Final, Protocol

from apscheduler.schedulers.base import BaseScheduler
from apscheduler.triggers.interval import IntervalTrigger

logger = logging.getLogger(__name__)

CAMPAIGNS_JOB: Final = "campaigns"
INITIATIVE_JOB: Final = "initiative"


class CampaignTicker(Protocol):
    """services.windows.WindowService as the job sees it."""

    async def tick(self, now: datetime | None = None) -> object: ...


async def run_campaign_tick(service: CampaignTicker, now: datetime | None = None) -> bool:
    """One tick; a failure is logged (its type only) and retried on the next tick."""
    try:
        await service.tick(now or datetime.now(UTC))
    except Exception as error:
        logger.error("Campaign tick failed: %s", type(error).__name__, exc_info=error)
        return False
    return True


def add_campaign_jobs(scheduler: BaseScheduler, service: CampaignTicker) -> None:
    """Tick every minute, the first time right at start: a window missed while the bot was
    down opens or closes then, once."""
    _tick_every_minute(scheduler, CAMPAIGNS_JOB, service)


def add_initiative_job(scheduler: BaseScheduler, desk: CampaignTicker) -> None:
    """Look every minute, the first time right at start, whether the daily batch of staff
    initiative feedback is due (services.initiative); a batch missed while down goes then."""
    _tick_every_minute(scheduler, INITIATIVE_JOB, desk)


def _tick_every_minute(scheduler: BaseScheduler, job_id: str, ticker: CampaignTicker) -> None:
    scheduler.add_job(
        run_campaign_tick,
        IntervalTrigger(minutes=1, timezone=scheduler.timezone),
        id=job_id,
        kwargs={"service": ticker},
        coalesce=True,
        max_instances=1,
        replace_existing=True,
        next_run_time=datetime.now(UTC),
    )
