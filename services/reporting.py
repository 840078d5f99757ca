"""Officer use cases: who is an officer, reports, exports and batches of negative ratings.

Every figure goes through one disclosure policy (reports.disclosure), built once from settings.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Literal, Protocol

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from questionnaires.catalog import Catalog, Service
from questionnaires.schema import Language
from reports.charts import csat_trend_png, distribution_png
from reports.disclosure import DisclosurePolicy, PeriodKind
from reports.metrics import (
    ANONYMISED_COLUMNS_RU,
    anonymised_responses,
    build_report,
    csat_trend,
    negative_batch,
)
from reports.model import Dimension, Period, QuestionnaireRoles, Report, Scope
from reports.periods import calendar_previous
from reports.telegram import render_negative_digest, render_report
from reports.workbook import build_workbook

_Value = str | int | float | date | None

logger = logging.getLogger(__name__)


#: Send the trend by week when the period is short, by month otherwise.
WEEKLY_TREND_UP_TO_DAYS = 92


@dataclass(frozen=True, slots=True)
class ReportFiles:
    messages: list[str]
    charts: list[tuple[str, bytes]]  # file name, PNG


@dataclass(frozen=True, slots=True)
class ReportingPolicy:
    officer_ids: frozenset[int] = frozenset()
    disclosure: DisclosurePolicy = field(default_factory=DisclosurePolicy)
    alert_threshold: int = 2  # an overall score at or below it counts as strongly negative

    @property
    def min_group(self) -> int:
        return self.disclosure.min_group


class ReportSections(Protocol):
    """Sections another use case adds to every report (services.open_answers fits)."""

    async def messages(self, report: Report, language: Language) -> list[str]: ...

    async def sheets(
        self, report: Report
    ) -> Sequence[tuple[str, Sequence[str], Sequence[Sequence[_Value]]]]: ...


class ReportingService:
    """Reports for officers; the same calls serve commands, schedules and alerts."""

    #: Open answers by category and life situations (attached by bot.app.wire).
    extras: ReportSections | None = None

    def __init__(
        self,
        *,
        sessions: async_sessionmaker[AsyncSession],
        roles: QuestionnaireRoles,
        catalog: Catalog,
        policy: ReportingPolicy,
    ) -> None:
        self._sessions = sessions
        self._roles = roles
        self.catalog = catalog
        self._policy = policy

    # --- officers -----------------------------------------------------------------------

    def is_officer(self, user_id: int) -> bool:
        return user_id in self._policy.officer_ids or any(
            s.officer == user_id for s in self.catalog.services
        )

    def services_of(self, officer_id: int) -> list[Service]:
        """Services whose reports this officer may see: all for a settings officer."""
        if officer_id in self._policy.officer_ids:
            return list(self.catalog.services)
        return [s for s in self.catalog.services if s.officer == officer_id]

    def may_see(self, officer_id: int, scope: Scope) -> bool:
        if officer_id in self._policy.officer_ids:
            return True
        own = {s.code for s in self.services_of(officer_id)}
        return scope.service is not None and scope.service in own

    def officers_for(self, service: str | None) -> set[int]:
        """Who hears about a service: every settings officer and the service's own officer."""
        recipients = set(self._policy.officer_ids)
        entry = self.catalog.service(service) if service else None
        if entry is not None and entry.officer is not None:
            recipients.add(entry.officer)
        return recipients

    def all_officers(self) -> set[int]:
        return set(self._policy.officer_ids) | {
            s.officer for s in self.catalog.services if s.officer is not None
        }

    # --- reports ------------------------------------------------------------------------

    def title(self, dimension: Dimension, code: str | None) -> str:
        lookup = {
            Dimension.SERVICE: self.catalog.service,
            Dimension.CHANNEL: self.catalog.channel,
            Dimension.LIFE_SITUATION: self.catalog.life_situation,
        }[dimension]
        entry = lookup(code) if code else None
        if entry is not None:
            return entry.title.ru
        return code or "не указано"

    @property
    def disclosure(self) -> DisclosurePolicy:
        return self._policy.disclosure

    def period_kinds(self) -> list[PeriodKind]:
        """What an officer may choose: closed calendar periods from the finest with figures."""
        kinds = list(PeriodKind)
        return kinds[kinds.index(self._policy.disclosure.finest) :]

    async def report(self, period: Period, scope: Scope, title: str = "") -> Report:
        return await build_report(
            self._sessions,
            roles=self._roles,
            titles=self.title,
            period=period,
            scope=scope,
            min_group=self._policy.min_group,
            weekly=self._policy.disclosure.weekly,
            min_comment_group=self._policy.disclosure.comment_threshold(scope.audience),
            title=title or self.default_title(scope),
            # A month, quarter or half-year is compared with the previous one of its kind.
            previous=calendar_previous(period),
        )

    def default_title(self, scope: Scope) -> str:
        if scope.service:
            return f"Отчёт: {self.title(Dimension.SERVICE, scope.service)}"
        return "Отчёт по всем услугам"

    async def report_files(
        self, period: Period, scope: Scope, language: Language, title: str = ""
    ) -> ReportFiles:
        """The message and charts an officer receives for one period and scope."""
        report = await self.report(period, scope, title)
        # Week points show figures only with weekly figures on (reports.disclosure).
        weekly = self._policy.disclosure.weekly and period.days <= WEEKLY_TREND_UP_TO_DAYS
        bucket: Literal["week", "month"] = "week" if weekly else "month"
        trend = await csat_trend(
            self._sessions,
            roles=self._roles,
            period=period,
            scope=scope,
            bucket=bucket,
            min_group=self._policy.min_group,
            weekly=self._policy.disclosure.weekly,
        )
        titles: dict[str | None, str] = {
            s.code: s.title.get(language) for s in self.catalog.services
        }
        titles[None] = "—"
        # Drawing is CPU work: keep the event loop answering other people meanwhile.
        trend_png, distribution = await asyncio.gather(
            asyncio.to_thread(
                csat_trend_png,
                trend,
                titles,
                period_label=str(period),
                min_group=self._policy.min_group,
                language=language,
            ),
            asyncio.to_thread(
                distribution_png,
                report.overall,
                title=report.title,
                min_group=self._policy.min_group,
                language=language,
            ),
        )
        messages = render_report(report, language)
        if self.extras is not None:
            messages += await self.extras.messages(report, language)
        return ReportFiles(
            messages=messages,
            charts=[("csat_trend.png", trend_png), ("distribution.png", distribution)],
        )

    async def workbook(self, period: Period, scope: Scope) -> bytes:
        report = await self.report(period, scope)
        rows = await anonymised_responses(
            self._sessions,
            roles=self._roles,
            period=period,
            scope=scope,
            min_group=self._policy.min_group,
            weekly=self._policy.disclosure.weekly,
            min_comment_group=self._policy.disclosure.comment_threshold(scope.audience),
            include_comments=not report.comments_suppressed,
            titles=self.title,
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
        headings = {
            question: title for (_, question), title in self._roles.question_titles.items()
        }
        headings.update(ANONYMISED_COLUMNS_RU)
        sheets = await self.extras.sheets(report) if self.extras is not None else ()
        return await asyncio.to_thread(
            build_workbook, report, rows, trend=trend, headings=headings, extra_sheets=sheets
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
            roles=self._roles,
            period=period,
            scope=scope,
            threshold=self._policy.alert_threshold,
            titles=self.title,
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
