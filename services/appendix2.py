"""The Appendix 2 report (Procedure §6.5) as a use case: gather the models, build, render.

One service for the semiannual delivery (scheduler.deliveries), the officer's /report and
`otklik report --format docx`. It is body-wide: it covers every process and the appeals
monitoring, which is internal (§3.6), so callers offer it to body-wide officers only.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from datetime import date, timedelta
from typing import Protocol

from questionnaires.i18n import N_, tr
from questionnaires.schema import Language
from reports.appeals import AppealsMonitoring
from reports.appendix2 import (
    Appendix2Data,
    Chart,
    Document,
    PainRow,
    StaffWindowResult,
    build_document,
    pains_of,
)
from reports.model import Dimension, Period, ProblemRow, Report, Scope
from reports.periods import quarter_of
from reports.telegram import protect
from services.reporting import ReportingService

INTERNAL = "internal"


class StaffResults(Protocol):
    """Closed staff poll windows of a period (services.windows.WindowService)."""

    async def staff_results(self, period: Period) -> list[StaffWindowResult]: ...

    async def deep_results(self, period: Period) -> list[StaffWindowResult]: ...


class AppealsMonitor(Protocol):
    """The §3.5 quarterly monitoring (services.appeals.AppealsService)."""

    async def monitoring(self, period: Period) -> AppealsMonitoring: ...

    def titles(self, language: Language = ...) -> dict[str, dict[str, str]]: ...


class PainMapSource(Protocol):
    """Pain map rows of a period with their measures (the persisted pain map plugs in here;
    without one the rows come from the problems of the per-process reports)."""

    async def pains(self, period: Period, language: Language) -> Sequence[PainRow]: ...


class PersistedPainMap:
    """The persisted pain map (services.painmap.PainMapService.appendix2_rows) as the source."""

    def __init__(self, rows: Callable[[Period, Language], Awaitable[Sequence[PainRow]]]) -> None:
        self._rows = rows

    async def pains(self, period: Period, language: Language) -> Sequence[PainRow]:
        return await self._rows(period, language)


def quarters_of(period: Period) -> list[Period]:
    """The calendar quarters lying wholly inside ``period``, in order."""
    quarters: list[Period] = []
    day = period.start
    while day <= period.end:
        quarter = quarter_of(day)
        if period.start <= quarter.start and quarter.end <= period.end:
            quarters.append(quarter)
        day = quarter.end + timedelta(days=1)
    return quarters


def file_name(period: Period) -> str:
    return f"otklik-appendix2-{period.start:%Y%m%d}-{period.end:%Y%m%d}.docx"


class Appendix2Service:
    def __init__(
        self,
        *,
        reporting: ReportingService,
        body: str,
        appeals: AppealsMonitor | None = None,
        staff: StaffResults | None = None,
        painmap: PainMapSource | None = None,
        staff_pains: PainMapSource | None = None,
    ) -> None:
        self._reporting = reporting
        self._body = body
        self._appeals = appeals
        self._staff = staff
        self._painmap = painmap
        #: The staff process's persisted pains, for the internal section (§6.5).
        self._staff_pains = staff_pains

    async def document(
        self, period: Period, beside: Period | None = None, language: Language = Language.RU
    ) -> Document:
        """The report for ``period``; ``beside`` (a half-year inside it) is shown next to it.
        Russian (the official form) unless ``language`` is the officer's English."""
        reporting = self._reporting
        external = await reporting.report(
            period, Scope(), tr(language, "appendix2.external_clients"), language
        )
        internal = await reporting.report(
            period, Scope(audience=INTERNAL), tr(language, "appendix2.internal_clients"), language
        )
        half = (
            await reporting.report(beside, Scope(), language=language)
            if beside is not None
            else None
        )
        charts = await reporting.charts(external, language)
        appeals: tuple[AppealsMonitoring, ...] = ()
        titles: dict[str, dict[str, str]] = {}
        if self._appeals is not None:
            appeals = tuple([await self._appeals.monitoring(q) for q in quarters_of(period)])
            titles = self._appeals.titles(language)
        staff = await self._staff.staff_results(period) if self._staff is not None else []
        deep = await self._staff.deep_results(period) if self._staff is not None else []
        if self._painmap is not None:
            pains = tuple(await self._painmap.pains(period, language))
        else:
            pains = pains_of(
                await self.process_problems(period, external, internal, language=language)
            )
        return build_document(
            Appendix2Data(
                body=self._body,
                period=period,
                external=external,
                internal=internal,
                groups={s.code: s.group for s in reporting.catalog.services},
                beside=half,
                pains=pains,
                staff_pains=(
                    tuple(await self._staff_pains.pains(period, language))
                    if self._staff_pains is not None
                    else ()
                ),
                appeals=appeals,
                appeal_titles=titles,
                staff_windows=tuple(staff),
                deep_windows=tuple(deep),
                charts=tuple(Chart(_caption(name, language), png) for name, png in charts),
                language=language,
            )
        )

    async def docx(
        self, period: Period, beside: Period | None = None, language: Language = Language.RU
    ) -> bytes:
        # python-docx and lxml load when a document is first made, not with every bot start.
        from reports.docx import render_docx

        document = await self.document(period, beside, language)
        # Rendering is CPU work: keep the event loop answering people meanwhile.
        return await asyncio.to_thread(render_docx, document)

    async def process_problems(
        self, period: Period, *audiences: Report, language: Language = Language.RU
    ) -> list[tuple[str, tuple[ProblemRow, ...]]]:
        """Each process the tables show with the problems its own report lists (the pain
        map's rows), read once per audience, titled in ``language``."""
        found: list[tuple[str, tuple[ProblemRow, ...]]] = []
        for report in audiences:
            # As the document's tables show them (complementary suppression included).
            shown = {
                row.key: row.title
                for row in protect(report).by(Dimension.SERVICE)
                if row.key is not None and row.current.n and not row.current.suppressed
            }
            if not shown:
                continue
            problems = await self._reporting.problems_by_service(
                period, report.scope.audience, list(shown), language
            )
            found += [(title, problems[code]) for code, title in shown.items()]
        return found


_CHART_CAPTIONS = {
    "csat_trend.png": N_("appendix2.figure.trend"),
    "distribution.png": N_("appendix2.figure.distribution"),
}


def _caption(name: str, language: Language) -> str:
    key = _CHART_CAPTIONS.get(name)
    return name if key is None else tr(language, key)


def beside_of(period: Period) -> Period | None:
    """The half-year shown beside a calendar year (the 31 December report), else None."""
    if period.start == date(period.start.year, 1, 1) and period.end == date(
        period.start.year, 12, 31
    ):
        return Period(date(period.start.year, 7, 1), period.end)
    return None
