"""Officer use cases: who is an officer, building reports, exports and negative-score alerts."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Literal

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from questionnaires.catalog import Catalog, Service
from questionnaires.results import CompletedResponse
from questionnaires.schema import Language
from reports.charts import csat_trend_png, distribution_png
from reports.metrics import (
    ANONYMISED_COLUMNS_RU,
    anonymised_responses,
    build_report,
    csat_trend,
)
from reports.model import Dimension, Period, QuestionnaireRoles, Report, Scope
from reports.periods import calendar_previous
from reports.telegram import AlertItem, render_alert, render_report
from reports.workbook import build_workbook

logger = logging.getLogger(__name__)

INITIATIVE = "initiative"

#: Send the trend by week when the period is short, by month otherwise.
WEEKLY_TREND_UP_TO_DAYS = 92


@dataclass(frozen=True, slots=True)
class ReportFiles:
    messages: list[str]
    charts: list[tuple[str, bytes]]  # file name, PNG


@dataclass(frozen=True, slots=True)
class ReportingPolicy:
    officer_ids: frozenset[int] = frozenset()
    min_group: int = 5
    min_comment_group: int = 5
    min_comment_group_staff: int = 10
    alert_threshold: int = 2  # an overall score at or below it alerts the officer


class ReportingService:
    """Reports for officers; the same calls serve commands, schedules and alerts."""

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

    async def report(self, period: Period, scope: Scope, title: str = "") -> Report:
        return await build_report(
            self._sessions,
            roles=self._roles,
            titles=self.title,
            period=period,
            scope=scope,
            min_group=self._policy.min_group,
            min_comment_group=(
                self._policy.min_comment_group_staff
                if scope.audience == "internal"
                else self._policy.min_comment_group
            ),
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
        bucket: Literal["week", "month"] = (
            "week" if period.days <= WEEKLY_TREND_UP_TO_DAYS else "month"
        )
        trend = await csat_trend(
            self._sessions,
            roles=self._roles,
            period=period,
            scope=scope,
            bucket=bucket,
            min_group=self._policy.min_group,
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
        return ReportFiles(
            messages=render_report(report, language),
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
        )
        headings = {
            question: title for (_, question), title in self._roles.question_titles.items()
        }
        headings.update(ANONYMISED_COLUMNS_RU)
        return await asyncio.to_thread(
            build_workbook, report, rows, trend=trend, headings=headings
        )

    # --- alerts -------------------------------------------------------------------------

    def alert_item(self, response: CompletedResponse) -> AlertItem | None:
        """An anonymised alert for a strongly negative response, or None."""
        overall_id = self._roles.overall.get(response.questionnaire_id)
        if overall_id is None:
            return None
        score = next((a.number for a in response.answers if a.question_id == overall_id), None)
        if score is None or score > self._policy.alert_threshold:
            return None
        qid = response.questionnaire_id
        problems_id = self._roles.problems.get(qid)
        comment_ids = set(self._roles.comments.get(qid, ()))
        problems = tuple(
            self._roles.option_titles.get((qid, a.question_id, a.option_id), a.option_id)
            + (f": {a.text}" if a.text else "")  # the "other" follow-up
            for a in response.answers
            if a.question_id == problems_id and a.option_id
        )
        comment = next(
            (a.text for a in response.answers if a.question_id in comment_ids and a.text), None
        )
        context = response.context
        return AlertItem(
            service_title=self.title(Dimension.SERVICE, context.service),
            channel_title=self.title(Dimension.CHANNEL, context.channel)
            if context.channel
            else None,
            score=score,
            problems=problems,
            comment=comment,
        )


Sender = Callable[[int, str], Awaitable[None]]


def _utc_now() -> datetime:
    return datetime.now(UTC)


@dataclass
class _Queue:
    items: list[AlertItem] = field(default_factory=list)
    last_sent: datetime | None = None
    flusher: asyncio.Task[None] | None = None


class AlertNotifier:
    """Sends strongly negative feedback to the responsible officers at once, and batches a
    burst into one message per minute per officer.

    The queue lives in memory: alerts of the last minute are lost if the process stops, the
    responses themselves are stored and appear in every report.
    """

    def __init__(
        self,
        reporting: ReportingService,
        send: Sender,
        *,
        window_seconds: float = 60.0,
        clock: Callable[[], datetime] = _utc_now,
        today: Callable[[], date] | None = None,
    ) -> None:
        self._reporting = reporting
        self._send = send
        self._window = window_seconds
        self._clock = clock
        self._today = today
        self._queues: dict[int, _Queue] = {}

    async def response_stored(self, response: CompletedResponse) -> None:
        if response.kind == INITIATIVE:
            return  # staff initiative feedback goes to services.initiative, in daily batches
        item = self._reporting.alert_item(response)
        if item is None:
            return
        for officer in sorted(self._reporting.officers_for(response.context.service)):
            await self._enqueue(officer, item)

    async def _enqueue(self, officer: int, item: AlertItem) -> None:
        queue = self._queues.setdefault(officer, _Queue())
        queue.items.append(item)
        now = self._clock()
        if queue.flusher is not None and not queue.flusher.done():
            return  # a batch is already waiting for the end of the minute
        waited = (now - queue.last_sent).total_seconds() if queue.last_sent else None
        if waited is None or waited >= self._window:
            await self._flush(officer)
            return
        queue.flusher = asyncio.create_task(self._flush_later(officer, self._window - waited))

    async def _flush_later(self, officer: int, delay: float) -> None:
        await asyncio.sleep(delay)
        await self._flush(officer)

    async def _flush(self, officer: int) -> None:
        queue = self._queues[officer]
        items, queue.items = queue.items, []
        if not items:
            return
        queue.last_sent = self._clock()
        day = self._today() if self._today else None
        try:
            for text in render_alert(items, Language.RU, day=day):
                await self._send(officer, text)
        except Exception as error:  # an alert must never break a citizen's dialog
            logger.warning("Alert not delivered: %s", type(error).__name__)

    async def drain(self) -> None:
        """Send what is waiting (at shutdown)."""
        for officer, queue in list(self._queues.items()):
            if queue.flusher is not None and not queue.flusher.done():
                queue.flusher.cancel()
            await self._flush(officer)
