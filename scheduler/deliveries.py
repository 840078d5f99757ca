"""Scheduled officer reports: the weekly digest, the semiannual reports and the batches of
strongly negative ratings, with catch-up.

Every period sent is a closed calendar period (reports.disclosure): the digest is the last
Monday–Sunday week, the semiannual report is sent the morning after its half-year ends (the
"as of 31 December" analysis arrives on 1 January and covers the year, with the second
half-year beside it), and the negative ratings come in batches
per closed week piece (a week cut at month end) on the morning after it ends, never one by one.

Every minute (and once at start) `ReportDeliveries.tick` asks which deliveries were due up to
now, claims each in the database and sends it. A report due while the bot was down is sent on
the next tick, once: the claim is unique per kind, period and officer.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Hashable, Iterator
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from functools import partial
from typing import Protocol, TypeVar
from zoneinfo import ZoneInfo

from apscheduler.triggers.cron import CronTrigger

from questionnaires.i18n import N_, tr
from questionnaires.schema import Language
from reports.model import Dimension, Period, Scope
from reports.periods import (
    half_year_as_of,
    last_month,
    last_week,
    month_of,
    segment_of,
    year_of,
)
from services.appendix2 import Appendix2Service
from services.appendix2 import file_name as appendix2_file
from services.delivery_parts import OncePerPart
from services.officer_languages import FixedLanguages, OfficerLanguageReader
from services.reporting import ReportingService

logger = logging.getLogger(__name__)
_T = TypeVar("_T")

DIGEST = "digest"
SEMIANNUAL = "semiannual"
ALERTS = "alerts"
KINDS = (DIGEST, SEMIANNUAL, ALERTS)
#: Each message of a delivery is claimed apart under its kind with this suffix
#: (services.delivery_parts), so a retry sends only the parts still missing.
PART_SUFFIX = "_part"
#: How far back a missed delivery is still worth sending after downtime.
LOOKBACK = {
    DIGEST: timedelta(days=35),
    SEMIANNUAL: timedelta(days=190),
    ALERTS: timedelta(days=35),
}


class DeliveryLedger(Protocol):
    """Which deliveries were claimed and sent (storage.deliveries.DeliveryStore in the app)."""

    async def claim(
        self, kind: str, period_key: str, recipient: int, now: datetime, due_at: datetime
    ) -> bool: ...

    async def finish(
        self, kind: str, period_key: str, recipient: int, now: datetime, *, ok: bool
    ) -> None: ...

    async def status(self, kind: str, period_key: str, recipient: int) -> str | None: ...

    async def installed_on(self, today: date) -> date: ...

    async def last_due(self, kind: str) -> datetime | None: ...


class OfficerOutbox(Protocol):
    """How reports reach an officer's chat (implemented over the Bot in the app)."""

    async def text(self, chat_id: int, html: str) -> None: ...

    async def photo(self, chat_id: int, name: str, png: bytes) -> None: ...

    async def document(self, chat_id: int, name: str, data: bytes, caption: str) -> None: ...


class BatchSender(Protocol):
    """Sends a batch of negative ratings with its "acknowledge" button (services.signals)."""

    async def send_batch(
        self,
        officer: int,
        *,
        key: str,
        period: Period,
        scope: Scope,
        texts: list[str],
        now: datetime,
        language: Language = Language.RU,
    ) -> None: ...


@dataclass(frozen=True, slots=True)
class Due:
    """One scheduled report occurrence."""

    kind: str
    key: str  # stable name of the occurrence, e.g. 2026-11-23 or 2026-H1
    fired_at: datetime
    period: Period


class ReportSchedule:
    """When reports fall due, in the body's time zone."""

    def __init__(
        self, zone: ZoneInfo, digest_cron: str, alert_hour: int = 9, *, weekly: bool = False
    ) -> None:
        self.zone = zone
        # Without weekly figures (reports.disclosure) the digest and the negative batches cover
        # the last closed month instead: a week would show nothing.
        self.weekly = weekly
        self._digest = CronTrigger.from_crontab(digest_cron, timezone=zone)
        # "As of 1 July" and "as of 31 December": the morning after each half-year has ended,
        # so the report covers closed days only and reads the same whenever asked again.
        self._semiannual = (
            CronTrigger(month=7, day=1, hour=9, timezone=zone),
            CronTrigger(month=1, day=1, hour=9, timezone=zone),
        )
        # The morning after a week piece ends: every Monday and every first of a month.
        monthly = CronTrigger(day=1, hour=alert_hour, timezone=zone)
        self._alerts: tuple[CronTrigger, ...] = (monthly,)
        if weekly:
            self._alerts = (
                CronTrigger(day_of_week="mon", hour=alert_hour, timezone=zone),
                monthly,
            )

    def occurrences(self, kind: str, since: datetime, until: datetime) -> list[Due]:
        """Occurrences in (since, until], oldest first."""
        triggers = {
            DIGEST: (self._digest,),
            SEMIANNUAL: self._semiannual,
            ALERTS: self._alerts,
        }[kind]
        found = {
            (due.kind, due.key): due
            for trigger in triggers
            for fired in _fire_times(trigger, since, until)
            for due in [self._due(kind, fired)]
        }
        # A Monday that is also the first of a month fires twice for one piece: sent once.
        return sorted(found.values(), key=lambda due: due.fired_at)

    def _due(self, kind: str, fired: datetime) -> Due:
        day = fired.astimezone(self.zone).date()
        if kind == DIGEST:
            if not self.weekly:
                # The first digest day after a month ends sends it; the key makes it once.
                period = last_month(day)
                return Due(kind, f"m{period.start:%Y-%m}", fired, period)
            # The last closed Monday–Sunday week, whatever day the digest goes out.
            period = last_week(day)
            return Due(kind, day.isoformat(), fired, period)
        if kind == ALERTS:
            yesterday = day - timedelta(days=1)
            period = segment_of(yesterday) if self.weekly else month_of(yesterday)
            return Due(kind, period.start.isoformat(), fired, period)
        period = half_year_as_of(day)
        half = "H1" if period.start.month == 1 else "H2"
        return Due(kind, f"{period.start.year}-{half}", fired, period)


def _fire_times(trigger: CronTrigger, since: datetime, until: datetime) -> Iterator[datetime]:
    previous: datetime | None = None
    moment = since
    while True:
        fired = trigger.get_next_fire_time(previous, moment)
        if fired is None or fired > until:
            return
        if fired > since:
            yield fired
        previous = fired
        moment = fired + timedelta(seconds=1)


class ReportDeliveries:
    """Sends due reports to officers exactly once per period (see DeliveryLedger.claim)."""

    def __init__(
        self,
        *,
        schedule: ReportSchedule,
        store: DeliveryLedger,
        reporting: ReportingService,
        outbox: OfficerOutbox,
        batches: BatchSender | None = None,
        appendix2: Appendix2Service | None = None,
        languages: OfficerLanguageReader | None = None,
    ) -> None:
        self._schedule = schedule
        # Each officer's language (services.officer_languages): learned, chosen or the default.
        self._languages: OfficerLanguageReader = languages or FixedLanguages()
        self._batches = batches
        self._store = store
        self._reporting = reporting
        self._outbox = outbox
        self._appendix2 = appendix2
        # What the delivery under way rendered (reports, workbooks, the Appendix 2 document),
        # by its arguments and language: made once per language, not once per officer.
        self._rendered: dict[Hashable, object] = {}

    async def _once(self, key: Hashable, make: Callable[[], Awaitable[_T]]) -> _T:
        if key not in self._rendered:
            self._rendered[key] = await make()
        return self._rendered[key]  # type: ignore[return-value]

    async def tick(self, now: datetime) -> int:
        """Send whatever is due up to `now`; returns how many deliveries were sent."""
        sent = 0
        # Nothing is due for a period that ended before the installation (issue 10, item 8:
        # a fresh installation in November sent an empty first-half report and digest).
        installed = await self._store.installed_on(now.astimezone(self._schedule.zone).date())
        for kind in KINDS:
            occurrences = [
                due
                for due in self._schedule.occurrences(kind, now - LOOKBACK[kind], now)
                if due.period.end >= installed
            ]
            last_due = await self._store.last_due(kind)
            if last_due is None:
                # A fresh installation starts with the latest report, not a backlog.
                occurrences = occurrences[-1:]
            else:
                # Everything since the newest one handled (itself again, if it failed).
                occurrences = [due for due in occurrences if due.fired_at >= last_due]
            for due in occurrences:
                sent += await self._deliver(due, now)
        return sent

    async def _deliver(self, due: Due, now: datetime) -> int:
        sent = 0
        self._rendered.clear()
        officers = sorted(self._reporting.all_officers())
        languages = await self._languages.of_many(officers)
        for officer in officers:
            language = languages[officer]
            for scope in self._scopes(officer):
                key = f"{due.key}:{scope.service or '*'}"
                if not await self._store.claim(due.kind, key, officer, now, due.fired_at):
                    continue
                outbox = self._parts(due.kind, key, now)
                try:
                    delivered = await self._send(officer, due, scope, now, outbox, language)
                except Exception as error:
                    logger.warning(
                        "Delivery of the %s %s failed (%s); retried next minute",
                        due.kind,
                        due.key,
                        type(error).__name__,
                    )
                    await self._store.finish(due.kind, key, officer, now, ok=False)
                    continue
                await self._store.finish(due.kind, key, officer, now, ok=True)
                sent += delivered
        if due.kind == SEMIANNUAL and due.period.start.month == 7:
            sent += await self._deliver_staff(due, now)
        if sent:
            logger.info("Sent %d %s report(s) for %s", sent, due.kind, due.key)
        return sent

    async def _deliver_staff(self, due: Due, now: datetime) -> int:
        """As of 31 December, the staff report of the year to the internal officers (§3.2:
        staff feedback is analysed by 31 December), once each."""
        year = year_of(due.period.start)
        key = f"{due.key}:staff"
        sent = 0
        officers = sorted(self._reporting.internal_officers())
        languages = await self._languages.of_many(officers)
        for officer in officers:
            if not await self._store.claim(due.kind, key, officer, now, due.fired_at):
                continue
            outbox = self._parts(due.kind, key, now)
            language = languages[officer]
            try:
                files = await self._once(
                    ("staff", year, language),
                    partial(self._reporting.internal_report_files, year, language),
                )
                for text in files.messages:
                    await outbox.text(officer, text)
                for file_name, png in files.charts:
                    await outbox.photo(officer, file_name, png)
                workbook = await self._once(
                    ("staff workbook", year, language),
                    partial(self._reporting.internal_workbook, year, language),
                )
                await outbox.document(
                    officer,
                    f"otklik-staff-{year.start.year}.xlsx",
                    workbook,
                    tr(language, "delivery.staff_file", period=year),
                )
            except Exception as error:
                logger.warning(
                    "Delivery of the staff report %s failed (%s); retried next minute",
                    due.key,
                    type(error).__name__,
                )
                await self._store.finish(due.kind, key, officer, now, ok=False)
                continue
            await self._store.finish(due.kind, key, officer, now, ok=True)
            sent += 1
        return sent

    def _parts(self, kind: str, key: str, now: datetime) -> OncePerPart:
        """The outbox of one delivery: its messages each claimed apart, sent once."""
        return OncePerPart(self._outbox, self._store, kind=kind + PART_SUFFIX, key=key, now=now)

    def _scopes(self, officer: int) -> list[Scope]:
        services = self._reporting.services_of(officer)
        if len(services) == len(self._reporting.catalog.services):
            return [Scope()]  # a body-wide officer gets one report over all services
        return [Scope(service=s.code) for s in services]

    async def _send(
        self,
        officer: int,
        due: Due,
        scope: Scope,
        now: datetime,
        outbox: OfficerOutbox,
        language: Language = Language.RU,
    ) -> bool:
        """Send one delivery through its outbox in the officer's language; False when there was
        nothing to say (an empty batch). The negative batch claims its parts itself
        (services.signals)."""
        if due.kind == ALERTS:
            texts = await self._once(
                ("alerts", due.period, scope, language),
                partial(self._reporting.negative_digest, due.period, scope, language),
            )
            if texts and self._batches is not None:  # acknowledged, or escalated (§3.3)
                key = f"{due.key}:{scope.service or '*'}"
                await self._batches.send_batch(
                    officer,
                    key=key,
                    period=due.period,
                    scope=scope,
                    texts=texts,
                    now=now,
                    language=language,
                )
                return True
            for text in texts:
                await outbox.text(officer, text)
            return bool(texts)
        what = (
            self._reporting.title(Dimension.SERVICE, scope.service, language)
            if scope.service
            else tr(language, "report.title_all")
        )
        if due.kind == DIGEST:
            digest = N_("delivery.weekly") if self._schedule.weekly else N_("delivery.monthly")
            title = tr(language, digest, what=what)
            await self._send_report(outbox, officer, due.period, scope, title, language)
            return True
        # As of 31 December the report covers the year, with the second half-year beside it;
        # as of 30 June (sent on 1 July) the first half-year (issue 10, item 7).
        half = due.period
        if half.start.month == 7:
            year = year_of(half.start)
            title = tr(language, "delivery.annual", what=what)
            await self._send_report(outbox, officer, year, scope, title, language)
            workbook = await self._workbook(year, scope, language)
            caption = tr(language, "delivery.annual_file", period=year)
            await outbox.document(officer, f"otklik-{year.start.year}.xlsx", workbook, caption)
            await self._send_appendix2(outbox, officer, scope, year, half, language)
        else:
            await self._send_appendix2(outbox, officer, scope, half, None, language)
        title = tr(language, "delivery.half", what=what)
        await self._send_report(outbox, officer, half, scope, title, language)
        workbook = await self._workbook(half, scope, language)
        caption = tr(language, "delivery.half_file", period=half)
        await outbox.document(officer, f"otklik-{due.key}.xlsx", workbook, caption)
        return True

    async def _send_appendix2(
        self,
        outbox: OfficerOutbox,
        officer: int,
        scope: Scope,
        period: Period,
        beside: Period | None,
        language: Language = Language.RU,
    ) -> None:
        """The Appendix 2 report to sign (§6.5): body-wide, so to body-wide officers only."""
        appendix2 = self._appendix2
        if appendix2 is None or scope.service is not None:
            return
        data = await self._once(
            ("appendix2", period, beside, language),
            partial(appendix2.docx, period, beside, language),
        )
        caption = tr(language, "officer.docx_caption", period=period)
        await outbox.document(officer, appendix2_file(period), data, caption)

    async def _workbook(self, period: Period, scope: Scope, language: Language) -> bytes:
        return await self._once(
            ("workbook", period, scope, language),
            partial(self._reporting.workbook, period, scope, language=language),
        )

    async def _send_report(
        self,
        outbox: OfficerOutbox,
        officer: int,
        period: Period,
        scope: Scope,
        title: str,
        language: Language = Language.RU,
    ) -> None:
        files = await self._once(
            ("report", period, scope, title, language),
            partial(self._reporting.report_files, period, scope, language, title),
        )
        for text in files.messages:
            await outbox.text(officer, text)
        for file_name, png in files.charts:
            await outbox.photo(officer, file_name, png)
