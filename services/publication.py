"""The public results (Procedure §3.11, §3.13(2), Concept §6.4): what the site and /results show.

One model, :class:`reports.public.SiteContent`, built here from the officer's report model (so
every figure has passed the disclosure policy of `ReportingService.report`, closed periods
only), the published poll windows of citizens, and the measures done ("вы сказали — мы
сделали").
`reports/site.py` renders it as static pages; `reports/site.py::results_text` as the bot's
/results message. Never in it: appeals statistics (§3.6, internal), staff results and comments,
free text of any kind, groups below the threshold.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import replace
from datetime import date
from pathlib import Path
from typing import Protocol

from questionnaires.schema import Questionnaire, Role
from reports.disclosure import PeriodKind, last_closed
from reports.model import Period, Report, Scope
from reports.public import Asked, DoneMeasure, PublicWindow, SiteContent
from reports.telegram import protect
from reports.window_results import WindowResult
from services.reporting import ReportingService

__all__ = [
    "DoneMeasure",  # the value a DoneMeasures provider gives, re-exported for providers
    "DoneMeasures",
    "NoDoneMeasures",
    "PublicationService",
    "SiteContent",
]

logger = logging.getLogger(__name__)

#: The period the pages by service, life situation and touchpoint cover.
MAIN_PERIOD = PeriodKind.QUARTER


class DoneMeasures(Protocol):
    """Where the done measures come from (the pain map with measures: services/painmap.py)."""

    async def done_measures(self) -> Sequence[DoneMeasure]: ...


class PainMapMeasures:
    """The pain map's done measures (services.painmap.PainMapService.public_measures)."""

    def __init__(self, source: Callable[[], Awaitable[Sequence[DoneMeasure]]]) -> None:
        self._source = source

    async def done_measures(self) -> Sequence[DoneMeasure]:
        return await self._source()


class NoDoneMeasures:
    """No measures yet: the page says so."""

    async def done_measures(self) -> Sequence[DoneMeasure]:
        return ()


class WindowResults(Protocol):
    """Published poll windows of citizens (services.windows.WindowService fits)."""

    async def window_results(self) -> list[WindowResult]: ...


class PublicationService:
    """Builds the public content and writes the site; one instance per process."""

    def __init__(
        self,
        *,
        reporting: ReportingService,
        windows: WindowResults,
        measures: DoneMeasures,
        questionnaires: dict[str, Questionnaire],
        body_name: str,
        today: Callable[[], date],
        url: str | None = None,
    ) -> None:
        self._reporting = reporting
        self._windows = windows
        self._measures = measures
        self._questionnaires = questionnaires
        self._body_name = body_name
        self._today = today
        #: Where the site is published (PUBLISH__URL): /results links to it.
        self.url = url
        self._cached: SiteContent | None = None
        self._written: tuple[object, ...] | None = None

    async def content(self) -> SiteContent:
        """The content as of today: the reports are rebuilt only when a period closed, the
        windows and measures are read each time (a few rows)."""
        today = self._today()
        windows = tuple(_public(result) for result in await self._windows.window_results())
        measures = tuple(await self._measures.done_measures())
        cached = self._cached
        if cached is not None and self._periods(cached.generated_on) == self._periods(today):
            content = replace(
                cached,
                windows=windows,
                measures=_newest_first(measures),
            )
            self._cached = content
            return content
        content = await self._build(today, windows, measures)
        self._cached = content
        return content

    async def _build(
        self,
        today: date,
        windows: tuple[PublicWindow, ...],
        measures: tuple[DoneMeasure, ...],
    ) -> SiteContent:
        reporting = self._reporting
        main_period = last_closed(MAIN_PERIOD, today)
        main = await reporting.report(main_period, Scope(), title="")
        periods: list[tuple[PeriodKind, Report]] = []
        for kind in self._kinds():
            report = main
            if kind != MAIN_PERIOD:
                report = await reporting.report(last_closed(kind, today), Scope())
            periods.append((kind, report))
        services = [
            await reporting.report(main_period, Scope(service=service.code))
            for service in reporting.catalog.services
            if not service.internal
        ]
        return SiteContent(
            body_name=self._body_name,
            generated_on=today,
            min_group=reporting.disclosure.min_group,
            main=protect(main),
            periods=tuple((kind, protect(report)) for kind, report in periods),
            services=tuple(protect(report) for report in services),
            windows=windows,
            measures=_newest_first(measures),
            asked=self._asked(),
            catalog=reporting.catalog,
        )

    def _periods(self, today: date) -> tuple[Period, ...]:
        """The closed periods the content shows as of `today`."""
        kinds = [*self._kinds(), MAIN_PERIOD]
        return tuple(last_closed(kind, today) for kind in kinds)

    def _kinds(self) -> list[PeriodKind]:
        return [kind for kind in self._reporting.period_kinds() if kind != PeriodKind.WEEK]

    def _asked(self) -> tuple[Asked, ...]:
        asked = []
        for questionnaire in self._questionnaires.values():
            if str(questionnaire.audience) != "external":
                continue
            overall = next((q for q in questionnaire.questions if q.role == Role.OVERALL), None)
            if overall is not None:
                asked.append(Asked(questionnaire.title, overall.text))
        return tuple(asked)

    async def publish(self, out: Path) -> list[Path]:
        """Write the site into `out` (both languages); returns the files written."""
        from reports.site import write_site

        content = await self.content()
        written = await asyncio.to_thread(write_site, content, out)
        self._written = _fingerprint(content)
        return written

    async def refresh(self, out: Path) -> bool:
        """Rewrite the site when what it shows changed (a window published, a period closed,
        a measure done); False when it was up to date."""
        content = await self.content()
        if self._written == _fingerprint(content):
            return False
        await self.publish(out)
        logger.info("Public site regenerated")
        return True


def _public(result: WindowResult) -> PublicWindow:
    counts = result.counts
    window = PublicWindow(result.window_id, result.title, result.opens_on, result.closes_on)
    if counts is None or counts.csat is None or counts.mean is None:
        return window
    return replace(
        window, respondents=counts.respondents, n=counts.n, csat=counts.csat, mean=counts.mean
    )


def _newest_first(measures: Sequence[DoneMeasure]) -> tuple[DoneMeasure, ...]:
    return tuple(sorted(measures, key=lambda m: m.done_on, reverse=True))


def _fingerprint(content: SiteContent) -> tuple[object, ...]:
    periods = tuple(report.period for _, report in content.periods)
    return (periods, content.windows, content.measures)
