"""Officer use cases: who is an officer, reports, exports and batches of negative ratings.

Every figure goes through one disclosure policy (reports.disclosure), built once from settings.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field, replace
from datetime import date
from typing import Literal, Protocol
from zoneinfo import ZoneInfo

from questionnaires.catalog import Catalog, Service
from questionnaires.departments import shown_departments
from questionnaires.fronts import front_title
from questionnaires.i18n import tr
from questionnaires.schema import Language
from reports.chart_cache import drawn
from reports.charts import csat_trend_png, distribution_png
from reports.disclosure import DisclosurePolicy, PeriodKind
from reports.metrics import (
    anonymised_responses,
    csat_trend,
    negative_batch,
    problems_by_service,
    report_and_trend,
)
from reports.model import (
    Dimension,
    Period,
    ProblemRow,
    QuestionnaireRoles,
    Report,
    Scope,
    TrendPoint,
)
from reports.painmap_import import PainMapLine
from reports.parameter_charts import drivers_png
from reports.parameter_render import (
    build_internal_workbook,
    render_internal_report,
)
from reports.parameters import InternalReport, internal_report, parameter_section
from reports.periods import calendar_previous
from reports.telegram import render_negative_digest, render_report
from reports.workbook import RESPONSE_COLUMNS, build_workbook
from services import metrics
from storage.database import Sessions
from storage.staff import StaffStore

_Value = str | int | float | date | None

logger = logging.getLogger(__name__)


#: The persisted pain map's rows of a period and scope, named in a language
#: (services.painmap.sheet_lines).
PainMapLines = Callable[[Period, Scope, Language], Awaitable[Sequence[PainMapLine]]]
#: The staff process's rows of a period (services.painmap.staff_sheet_lines).
StaffPainMapLines = Callable[[Period, Language], Awaitable[Sequence[PainMapLine]]]

#: Send the trend by week when the period is short, by month otherwise.
WEEKLY_TREND_UP_TO_DAYS = 92


@dataclass(frozen=True, slots=True)
class ReportFiles:
    messages: list[str]
    charts: list[tuple[str, bytes]]  # file name, PNG


@dataclass(frozen=True, slots=True)
class ReportDelivery:
    """A report's messages, ready, and its charts still being drawn (off the event loop):
    a front sends the text first and awaits ``charts`` after, so the officer reads the
    figures while the pictures are drawn (issue 15)."""

    messages: list[str]
    charts: asyncio.Future[list[tuple[str, bytes]]]  # file name, PNG

    async def files(self) -> ReportFiles:
        return ReportFiles(messages=self.messages, charts=await self.charts)


@dataclass(frozen=True, slots=True)
class ReportingPolicy:
    officer_ids: frozenset[int] = frozenset()
    disclosure: DisclosurePolicy = field(default_factory=DisclosurePolicy)
    alert_threshold: int = 2  # an overall score at or below it counts as strongly negative
    #: Internal officers (§4.5): the staff report (/report → «Сотрудники») and nothing else.
    internal_officer_ids: frozenset[int] = frozenset()
    #: The body's zone: the day a poll window closed early is that zone's day.
    zone: ZoneInfo = field(default_factory=lambda: ZoneInfo("UTC"))

    @property
    def min_group(self) -> int:
        return self.disclosure.min_group


class ReportSections(Protocol):
    """Sections another use case adds to every report (services.open_answers fits)."""

    async def messages(self, report: Report, language: Language) -> list[str]: ...

    async def sheets(
        self, report: Report, language: Language
    ) -> Sequence[tuple[str, Sequence[str], Sequence[Sequence[_Value]]]]: ...


class ReportingService:
    """Reports for officers; the same calls serve commands, schedules and alerts."""

    #: Open answers by category and life situations (attached by bot.app.wire).
    extras: ReportSections | None = None

    def __init__(
        self,
        *,
        sessions: Sessions,
        roles: QuestionnaireRoles,
        catalog: Catalog,
        policy: ReportingPolicy,
    ) -> None:
        self._sessions = sessions
        self._roles = roles
        # Option and question titles in each language, taken once (reports read in it).
        self._roles_in = {language: roles.in_language(language) for language in Language}
        self.catalog = catalog
        self._policy = policy
        self._pain_map: PainMapLines | None = None
        self._staff_pain_map: StaffPainMapLines | None = None

    # --- officers -----------------------------------------------------------------------

    def is_officer(self, user_id: int) -> bool:
        return (
            user_id in self._policy.officer_ids
            or self.is_internal_officer(user_id)
            or any(user_id in s.officer_chats for s in self.catalog.services)
        )

    def is_internal_officer(self, user_id: int) -> bool:
        """Who may see the staff report (BOT__INTERNAL_OFFICER_IDS)."""
        return user_id in self._policy.internal_officer_ids

    def internal_officers(self) -> set[int]:
        return set(self._policy.internal_officer_ids)

    def services_of(self, officer_id: int) -> list[Service]:
        """Services whose reports this officer may see: all for a settings officer."""
        if officer_id in self._policy.officer_ids:
            return list(self.catalog.services)
        return [s for s in self.catalog.services if officer_id in s.officer_chats]

    def may_see(self, officer_id: int, scope: Scope) -> bool:
        if officer_id in self._policy.officer_ids:
            return True
        own = {s.code for s in self.services_of(officer_id)}
        return scope.service is not None and scope.service in own

    def officers_for(self, service: str | None) -> set[int]:
        """Who hears about a service: every settings officer and the service's own officer."""
        recipients = set(self._policy.officer_ids)
        entry = self.catalog.service(service) if service else None
        if entry is not None:
            recipients |= entry.officer_chats
        return recipients

    def all_officers(self) -> set[int]:
        return set(self._policy.officer_ids).union(
            *(s.officer_chats for s in self.catalog.services)
        )

    # --- reports ------------------------------------------------------------------------

    def title(
        self, dimension: Dimension, code: str | None, language: Language = Language.RU
    ) -> str:
        """A group's name from the catalog, in `language` (Russian when it has no English);
        a front's from the gettext catalogue."""
        if dimension == Dimension.FRONT:
            return front_title(code, language) if code else tr(language, "report.unspecified")
        lookup = {
            Dimension.SERVICE: self.catalog.service,
            Dimension.CHANNEL: self.catalog.channel,
            Dimension.LIFE_SITUATION: self.catalog.life_situation,
        }[dimension]
        entry = lookup(code) if code else None
        if entry is not None:
            return entry.title.get(language)
        return code or tr(language, "report.unspecified")

    @property
    def disclosure(self) -> DisclosurePolicy:
        return self._policy.disclosure

    def period_kinds(self) -> list[PeriodKind]:
        """What an officer may choose: closed calendar periods from the finest with figures."""
        kinds = list(PeriodKind)
        return kinds[kinds.index(self._policy.disclosure.finest) :]

    async def report(
        self,
        period: Period,
        scope: Scope,
        title: str = "",
        language: Language = Language.RU,
        *,
        parameters: bool = True,
    ) -> Report:
        """The protected report of one period and scope, its title and group names in
        ``language``; ``parameters=False`` leaves out the parameter section (the costliest
        part) for callers that read only scores and problems (the pain map)."""
        with metrics.REPORT_SECONDS.time():
            report, _ = await self._report(period, scope, title, language, parameters=parameters)
            return report

    async def _report(
        self,
        period: Period,
        scope: Scope,
        title: str,
        language: Language,
        *,
        parameters: bool,
        trend: bool = False,
    ) -> tuple[Report, list[TrendPoint]]:
        """The report and, with ``trend``, its trend chart's points from the same reading."""
        previous = calendar_previous(period)
        roles = self._roles_in[language]
        report, points = await report_and_trend(
            self._sessions,
            roles=roles,
            titles=lambda dimension, code: self.title(dimension, code, language),
            period=period,
            scope=scope,
            min_group=self._policy.min_group,
            weekly=self._policy.disclosure.weekly,
            min_comment_group=self._policy.disclosure.comment_threshold(scope.audience),
            title=title or self.default_title(scope, language),
            # A month, quarter or half-year is compared with the previous one of its kind.
            previous=previous,
            bucket=self._trend_bucket(period) if trend else None,
        )
        if not parameters:
            return report, points
        section = await parameter_section(
            self._sessions,
            roles=roles,
            period=period,
            previous=report.compared_with,
            scope=scope,
            min_group=self._policy.min_group,
            weekly=self._policy.disclosure.weekly,
            zone=self._policy.zone,
        )
        return replace(report, parameters=section), points

    async def internal_report(
        self, period: Period, *, closing: bool = False, language: Language = Language.RU
    ) -> InternalReport:
        """Staff results by aspect and department (§4.2, §4.4), against the previous period
        of the same kind, over the shown staff windows that ran inside it (``closing``: that
        closed in it, as the pain map files each window under its closing quarter); aspect
        titles in ``language``."""
        return await internal_report(
            self._sessions,
            roles=self._roles_in[language],
            period=period,
            previous=calendar_previous(period),
            department_titles=await self._shown_departments(language),
            min_group=self._policy.min_group,
            weekly=self._policy.disclosure.weekly,
            zone=self._policy.zone,
            closing=closing,
        )

    async def _shown_departments(self, language: Language) -> dict[str, str]:
        """The departments window results may name (services.enrolment: catalog titles of the
        departments the enrolment rule shows), so the internal report groups a window the way
        its results did; titles in ``language``."""
        catalog = {d.code: d for d in self.catalog.departments}
        shown = shown_departments(
            await StaffStore(self._sessions).member_counts(), self._policy.min_group, catalog
        )
        return {code: catalog[code].title.get(language) for code, kept in shown.items() if kept}

    async def internal_report_files(self, period: Period, language: Language) -> ReportFiles:
        """The staff report as messages and the aspects' importance × performance chart."""
        report = await self.internal_report(period, language=language)
        chart = await asyncio.to_thread(drivers_png, report.aspects, report.title, language)
        return ReportFiles(
            messages=render_internal_report(report, language),
            charts=[("staff_drivers.png", chart)],
        )

    async def internal_workbook(self, period: Period, language: Language = Language.RU) -> bytes:
        """The staff report as XLSX, every label in ``language`` (the officer's)."""
        report = await self.internal_report(period, language=language)
        pain_map = await self._staff_pain_map(period, language) if self._staff_pain_map else None
        return await asyncio.to_thread(build_internal_workbook, report, pain_map, language)

    def use_staff_pain_map(self, lines: StaffPainMapLines) -> None:
        """Give the staff workbook the staff process's «Проблемы» sheet (round trip)."""
        self._staff_pain_map = lines

    async def problems_by_service(
        self,
        period: Period,
        audience: str,
        services: Sequence[str],
        language: Language = Language.RU,
    ) -> dict[str, tuple[ProblemRow, ...]]:
        """The problems each service's own report lists, read once for all of them, titled
        in ``language``."""
        return await problems_by_service(
            self._sessions,
            roles=self._roles_in[language],
            period=period,
            audience=audience,
            services=services,
            previous=calendar_previous(period),
            min_group=self._policy.min_group,
            weekly=self._policy.disclosure.weekly,
        )

    def roles(self, language: Language = Language.RU) -> QuestionnaireRoles:
        """The questionnaires' roles with their option and question titles in ``language``."""
        return self._roles_in[language]

    def default_title(self, scope: Scope, language: Language = Language.RU) -> str:
        if scope.service:
            service = self.title(Dimension.SERVICE, scope.service, language)
            return tr(language, "report.title_service", service=service)
        return tr(language, "report.title_all")

    async def report_files(
        self, period: Period, scope: Scope, language: Language, title: str = ""
    ) -> ReportFiles:
        """The message and charts an officer receives for one period and scope."""
        delivery = await self.report_delivery(period, scope, language, title)
        return await delivery.files()

    async def report_delivery(
        self, period: Period, scope: Scope, language: Language, title: str = ""
    ) -> ReportDelivery:
        """As :meth:`report_files`, with the charts still being drawn when the messages are
        ready: they are drawn (in worker threads) while the open answers' sections are read
        and while the front sends the text."""
        # The trend is folded from the atoms the report reads (reports.metrics.report_and_trend).
        with metrics.REPORT_SECONDS.time():
            report, trend = await self._report(
                period, scope, title, language, parameters=True, trend=True
            )
        charts = asyncio.ensure_future(self._draw(report, trend, language))
        try:
            messages = render_report(report, language)
            if self.extras is not None:
                messages += await self.extras.messages(report, language)
        except BaseException:
            charts.cancel()
            raise
        return ReportDelivery(messages=messages, charts=charts)

    async def charts(self, report: Report, language: Language) -> list[tuple[str, bytes]]:
        """The charts of a report already built, as (file name, PNG)."""
        trend = await self._trend(report.period, report.scope)
        return await self._draw(report, trend, language)

    def _trend_bucket(self, period: Period) -> Literal["week", "month"]:
        # Week points show figures only with weekly figures on (reports.disclosure).
        weekly = self._policy.disclosure.weekly and period.days <= WEEKLY_TREND_UP_TO_DAYS
        return "week" if weekly else "month"

    async def _trend(self, period: Period, scope: Scope) -> list[TrendPoint]:
        return await csat_trend(
            self._sessions,
            roles=self._roles,
            period=period,
            scope=scope,
            bucket=self._trend_bucket(period),
            min_group=self._policy.min_group,
            weekly=self._policy.disclosure.weekly,
        )

    async def _draw(
        self, report: Report, trend: Sequence[TrendPoint], language: Language
    ) -> list[tuple[str, bytes]]:
        """The trend, distribution and (when shown) key-driver charts, as (file name, PNG)."""
        titles: dict[str | None, str] = {
            s.code: s.title.get(language) for s in self.catalog.services
        }
        titles[None] = "—"
        # Drawing is CPU work: in worker threads, and once per picture (reports.chart_cache).
        trend_png, distribution = await asyncio.gather(
            drawn(
                csat_trend_png,
                trend,
                titles,
                period_label=str(report.period),
                min_group=self._policy.min_group,
                language=language,
            ),
            drawn(
                distribution_png,
                report.overall,
                title=report.title,
                min_group=self._policy.min_group,
                language=language,
            ),
        )
        charts = [("csat_trend.png", trend_png), ("distribution.png", distribution)]
        if report.parameters is not None and report.parameters.shown_drivers:
            drivers = await asyncio.to_thread(
                drivers_png, report.parameters, report.title, language
            )
            charts.append(("key_drivers.png", drivers))
        return charts

    def use_pain_map(self, lines: PainMapLines) -> None:
        """Fill every workbook's pain map sheet from the persisted map (services.painmap)."""
        self._pain_map = lines

    async def workbook(
        self,
        period: Period,
        scope: Scope,
        pain_map: Sequence[PainMapLine] | None = None,
        language: Language = Language.RU,
    ) -> bytes:
        """The report as XLSX: every sheet name, header, label and group title in
        ``language`` (the officer's; Russian for deliveries)."""
        # The map is per service or life situation of citizens: other scopes keep the
        # report's own problems.
        by_process = scope.audience == "external" and not (scope.channel or scope.life_situation)
        if pain_map is None and self._pain_map is not None and by_process:
            pain_map = await self._pain_map(period, scope, language)
        report = await self.report(period, scope, language=language)
        rows = await anonymised_responses(
            self._sessions,
            roles=self._roles_in[language],
            period=period,
            scope=scope,
            min_group=self._policy.min_group,
            weekly=self._policy.disclosure.weekly,
            min_comment_group=self._policy.disclosure.comment_threshold(scope.audience),
            include_comments=not report.comments_suppressed,
            titles=lambda dimension, code: self.title(dimension, code, language),
        )
        trend = await csat_trend(
            self._sessions,
            roles=self._roles,
            period=period,
            scope=scope,
            bucket="month",
            min_group=self._policy.min_group,
            weekly=self._policy.disclosure.weekly,
        )
        # The fixed columns (month, service, overall score, ...) keep the workbook's names.
        headings = {
            key[1]: self._roles.question_title(key, language)
            for key in self._roles.question_titles
            if key[1] not in RESPONSE_COLUMNS
        }
        sheets = await self.extras.sheets(report, language) if self.extras is not None else ()
        return await asyncio.to_thread(
            build_workbook,
            report,
            rows,
            trend=trend,
            headings=headings,
            pain_map=pain_map,
            extra_sheets=sheets,
            language=language,
        )

    # --- alerts -------------------------------------------------------------------------

    async def negative_digest(
        self, period: Period, scope: Scope, language: Language = Language.RU
    ) -> list[str]:
        """Strongly negative ratings of a closed period by service and problem, as messages;
        none when no service may show them (see reports.metrics.negative_batch)."""
        disclosure = self._policy.disclosure
        groups = await negative_batch(
            self._sessions,
            roles=self._roles_in[language],
            period=period,
            scope=scope,
            threshold=self._policy.alert_threshold,
            titles=lambda dimension, code: self.title(dimension, code, language),
            min_group=disclosure.min_group,
            min_comment_group=disclosure.comment_threshold(scope.audience),
            weekly=disclosure.weekly,
        )
        return render_negative_digest(
            groups,
            period,
            threshold=self._policy.alert_threshold,
            min_group=disclosure.min_group,
            language=language,
        )
