"""The living pain map (Procedure §3.6–3.8, Appendix 1): refresh, measures, reminders, and the
comparison before and after a measure (Concept §4.2.4, monitoring after reengineering).

Figures come from the officer's report (``ReportingService.report``), which has already passed
the disclosure policy: a problem the report hides is recorded as hidden, never counted here.
Appeal reasons come from the register (documents, not people: no threshold, reports.appeals).
Staff aspects come from the internal report of whole quarters, for the internal officer only.
"""

from __future__ import annotations

import asyncio
import enum
import logging
import re
import secrets
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime
from html import escape
from typing import Final, Protocol
from zoneinfo import ZoneInfo

from questionnaires.engine import clean_text, has_visible
from questionnaires.i18n import N_, tr
from questionnaires.measures import MEASURE_STATUSES, MEASURE_TEXT_LENGTH, RESPONSIBLE_LENGTH
from questionnaires.schema import Language
from reports.appendix2 import PainRow
from reports.disclosure import PeriodKind, last_closed
from reports.model import Dimension, InternalReport, Period, Report, Scope, Score
from reports.painmap_import import (
    DEADLINE,
    KEY,
    MEASURE,
    RESPONSIBLE,
    CellError,
    PainMapLine,
    SheetRow,
    read_sheet,
    status_title,
)
from reports.periods import local_today, quarter_of
from reports.public import DoneMeasure as PublicMeasure
from reports.public import MeasureNews
from services.officer_languages import FixedLanguages, OfficerLanguageReader
from services.reporting import ReportingService
from storage.painmap import (
    DONE,
    PLANNED,
    Figures,
    FoundPain,
    MeasureEdit,
    NewMeasure,
    PainMapStore,
    PainRecord,
    ProcessKey,
    Satisfaction,
    Span,
)

# The records the service returns belong to its API: fronts take them from here.
from storage.painmap import FigureRecord as FigureRecord
from storage.painmap import MeasureRecord as MeasureRecord
from storage.painmap import SatisfactionRecord as SatisfactionRecord

logger = logging.getLogger(__name__)

RATING_PROBLEM: Final = "rating_problem"
APPEAL_REASON: Final = "appeal_reason"
STAFF_ASPECT: Final = "staff_aspect"
SERVICE: Final = "service"
LIFE_SITUATION: Final = "life_situation"
#: The one internal process of the map: staff rate aspects of their work body-wide (§4.2, §4.4),
#: «взаимодействие с внутренним клиентом» of the Appendix 2 form.
STAFF_PROCESS: Final = ProcessKey("internal", "staff")
STAFF_PROCESS_TITLE: Final = "Взаимодействие с внутренним клиентом"
#: Its name in every language (the Russian one above is the Procedure's wording).
STAFF_PROCESS_KEY: Final = N_("painmap.staff_process")
#: The ledgers in ``deliveries``: a refresh per period, a reminder per measure, day and officer.
REFRESH_KIND: Final = "painmap_refresh"
REMINDER_KIND: Final = "measure_overdue"
#: Periods refreshed when they close: every month and every quarter.
REFRESHED_KINDS: Final = (PeriodKind.MONTH, PeriodKind.QUARTER)
#: The before/after comparison and the list's priority read monthly figures.
MONTH_DAYS: Final = 31
DATE_FORMAT: Final = "%d.%m.%Y"
#: The shape of a measure's id (storage.painmap: 32 hex digits).
_MEASURE_KEY: Final = re.compile(r"[0-9a-f]{32}")


class Problem(enum.StrEnum):
    """Why a measure's value is refused; handlers and the import word it."""

    EMPTY = "empty"
    TOO_LONG = "too_long"
    BAD_DATE = "bad_date"
    PAST_DATE = "past_date"
    BAD_STATUS = "bad_status"


class MeasureError(ValueError):
    def __init__(self, problem: Problem, limit: int = 0) -> None:
        super().__init__(problem.value)
        self.problem = problem
        self.limit = limit


def draft_key() -> str:
    """A new measure's id, chosen when its typing begins and kept in the draft, so that the
    draft stored twice is one measure (``PainMapService.add_measure``)."""
    return secrets.token_hex(16)


def check_text(value: str, limit: int = MEASURE_TEXT_LENGTH) -> str:
    """Typed text cleaned as answers are (control characters, invisible ends), then bounded."""
    text = clean_text(value)
    if not text or not has_visible(text):
        raise MeasureError(Problem.EMPTY)
    if len(text) > limit:
        raise MeasureError(Problem.TOO_LONG, limit)
    return text


def check_responsible(value: str) -> str:
    return check_text(value, RESPONSIBLE_LENGTH)


def parse_deadline(value: str, today: date) -> date:
    """dd.mm.yyyy, today or later."""
    try:
        day = datetime.strptime(value.strip(), DATE_FORMAT).date()
    except ValueError:
        raise MeasureError(Problem.BAD_DATE) from None
    if day < today:
        raise MeasureError(Problem.PAST_DATE)
    return day


def check_status(value: str) -> str:
    if value not in MEASURE_STATUSES:
        raise MeasureError(Problem.BAD_STATUS)
    return value


@dataclass(frozen=True, slots=True)
class Comparison:
    """A pain and its process before and after the day a measure was done (closed months)."""

    before: FigureRecord | None
    after: FigureRecord | None
    csat_before: SatisfactionRecord | None
    csat_after: SatisfactionRecord | None


@dataclass(frozen=True, slots=True)
class PainView:
    """One pain as an officer sees it: its latest disclosed month, history and measures."""

    pain: PainRecord
    process_title: str  # the service or life situation, without the touchpoint
    latest: FigureRecord | None
    history: tuple[FigureRecord, ...]
    measures: tuple[MeasureRecord, ...]
    comparisons: Mapping[str, Comparison] = field(default_factory=dict)  # done measure id ->
    #: The channel's title when the pain is of one touchpoint ('' for the whole process).
    touchpoint_title: str = ""

    @property
    def full_title(self) -> str:
        """The process with its touchpoint, as one name (Appendix 2, the site, reminders)."""
        return with_touchpoint(self.process_title, self.touchpoint_title)

    @property
    def priority(self) -> float | None:
        figures = self.latest.figures if self.latest else None
        return figures.priority if figures is not None and not figures.hidden else None


def with_touchpoint(process: str, touchpoint: str) -> str:
    return f"{process} ({touchpoint})" if touchpoint else process


@dataclass(frozen=True, slots=True)
class DoneMeasure:
    """A done measure for the publication site ("you said — we did"): plain values only."""

    measure_id: str
    process_kind: str
    process_code: str
    process_title: str
    problem: str
    measure: str
    done_on: date
    comparison: Comparison
    #: The process and the problem in English for the site's ``en/`` tree (issue 12): the
    #: catalog's and the questionnaire's wording, else the Russian one recorded.
    process_title_en: str = ""
    problem_en: str = ""


class Sender(Protocol):
    async def text(self, chat_id: int, html: str) -> None: ...


class Ledger(Protocol):
    """storage.deliveries.DeliveryStore: claims make a send happen once."""

    async def claim(
        self, kind: str, period_key: str, recipient: int, now: datetime, due_at: datetime
    ) -> bool: ...

    async def finish(
        self, kind: str, period_key: str, recipient: int, now: datetime, *, ok: bool
    ) -> None: ...

    async def failed(self, kind: str) -> list[str]: ...


def _refresh_period(key: str) -> Period | None:
    """The period of a refresh's ledger key (``20261001-20261031``), None if not one."""
    start, _, end = key.partition("-")
    try:
        period = Period(
            datetime.strptime(start, "%Y%m%d").date(), datetime.strptime(end, "%Y%m%d").date()
        )
    except ValueError:
        return None
    return period


def monthly(records: Sequence[FigureRecord]) -> list[FigureRecord]:
    return [r for r in records if (r.period.end - r.period.start).days < MONTH_DAYS]


def compare(
    done_on: date,
    figures: Sequence[FigureRecord],
    csat: Sequence[SatisfactionRecord],
    *,
    quarterly: bool = False,
) -> Comparison:
    """The latest closed month ending before ``done_on`` against the latest starting after.

    ``quarterly``: the staff process, whose figures exist only for the quarters its shown poll
    windows closed in (a window is never cut into months), compares those quarters instead."""

    def wanted(period: Span) -> bool:
        return ((period.end - period.start).days < MONTH_DAYS) != quarterly

    months = [r for r in figures if wanted(r.period)]
    csat_months = [r for r in csat if wanted(r.period)]
    before = [r for r in months if r.period.end < done_on]
    after = [r for r in months if r.period.start > done_on]
    csat_before = [r for r in csat_months if r.period.end < done_on]
    csat_after = [r for r in csat_months if r.period.start > done_on]
    return Comparison(
        before[-1] if before else None,
        after[-1] if after else None,
        csat_before[-1] if csat_before else None,
        csat_after[-1] if csat_after else None,
    )


def _shown(score: Score, min_group: int) -> bool:
    """Whether the report shows figures for a group (never a group below the threshold)."""
    return not score.suppressed and score.n >= min_group


def _figures(report: Report) -> tuple[Satisfaction, list[FoundPain]]:
    overall = report.overall
    shown = _shown(overall, report.min_group)
    satisfaction = (
        Satisfaction(False, overall.n, overall.csat, overall.mean)
        if shown
        else Satisfaction(hidden=True)
    )
    found = [
        FoundPain(
            RATING_PROBLEM,
            f"{row.question_id}:{row.option_id}",
            row.title,
            Figures(hidden=True)
            if row.suppressed or not shown
            else Figures(False, row.respondents, row.prevalence, row.mean_overall, row.priority),
        )
        for row in report.problems
    ]
    return satisfaction, found


def _staff_figures(
    report: InternalReport, known: set[str]
) -> tuple[Satisfaction, list[FoundPain]]:
    """Staff aspects scored below 4 by some as pains: prevalence = share of 1–3 among 1–5,
    from the report's disclosed share of 4–5 (never its counts). An aspect everyone scored 4–5
    is a pain only when it already was one (its prevalence fell to 0)."""
    overall = report.overall
    shown = not overall.suppressed and overall.n >= report.min_group
    satisfaction = (
        Satisfaction(False, overall.n, overall.csat, overall.mean)
        if shown
        else Satisfaction(hidden=True)
    )
    found: list[FoundPain] = []
    for row in report.aspects.rows:
        code = f"{row.questionnaire_id}:{row.question_id}"
        score = row.current
        if score.suppressed or score.csat is None or score.mean is None:
            found.append(FoundPain(STAFF_ASPECT, code, row.title, Figures(hidden=True)))
        elif score.csat < 100 or code in known:
            prevalence = max(0.0, 1 - score.csat / 100)
            priority = prevalence * (5 - score.mean)
            figures = Figures(False, score.n, prevalence, score.mean, priority)
            found.append(FoundPain(STAFF_ASPECT, code, row.title, figures))
    return satisfaction, found


def whole_quarters(period: Period) -> bool:
    """Staff results only for whole calendar quarters, as /report gives them
    (handlers.officer): a poll window's results show it whole, a finer cut could be subtracted."""
    return (
        quarter_of(period.start).start == period.start and quarter_of(period.end).end == period.end
    )


def sort_key(view: PainView) -> tuple[bool, float, float, str]:
    """Highest priority first, then the most widespread; pains without figures last."""
    figures = view.latest.figures if view.latest else None
    prevalence = figures.prevalence if figures and figures.prevalence is not None else -1.0
    priority = view.priority
    return (priority is None, -(priority or 0.0), -prevalence, view.pain.title)


class PainMapService:
    def __init__(
        self,
        *,
        store: PainMapStore,
        reporting: ReportingService,
        zone: ZoneInfo,
        ledger: Ledger | None = None,
        send: Sender | None = None,
        appeal_titles: Callable[[Language], Mapping[str, str]] = lambda _language: {},
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
        remind_from_hour: int = 0,
        languages: OfficerLanguageReader | None = None,
    ) -> None:
        # Overdue reminders reach each officer in their language (services.officer_languages).
        self._languages: OfficerLanguageReader = languages or FixedLanguages()
        #: Overdue reminders wait for this local hour (REPORTS__ALERT_HOUR): not at midnight.
        self.remind_from_hour = remind_from_hour
        self.store = store
        self.reporting = reporting
        self._zone = zone
        self._ledger = ledger
        self._send = send
        self._appeal_titles = appeal_titles
        self._clock = clock

    def today(self) -> date:
        return local_today(self._clock(), self._zone)

    # --- processes and who sees them ---------------------------------------------------

    def processes(self) -> list[ProcessKey]:
        """Every process the map covers: citizen services and life situations."""
        catalog = self.reporting.catalog
        return [ProcessKey(SERVICE, s.code) for s in catalog.public_services()] + [
            ProcessKey(LIFE_SITUATION, s.code) for s in catalog.life_situations
        ]

    def visible(self, officer_id: int) -> list[ProcessKey]:
        """A service's officer sees her services; body-wide officers see every citizen
        process; the internal officer, like the staff report, the staff process."""
        staff = [STAFF_PROCESS] if self.reporting.is_internal_officer(officer_id) else []
        if self.reporting.may_see(officer_id, Scope()):
            return self.processes() + staff
        own = {s.code for s in self.reporting.services_of(officer_id)}
        return [p for p in self.processes() if p.kind == SERVICE and p.code in own] + staff

    def may_see(self, officer_id: int, pain: PainRecord) -> bool:
        return any(
            p.kind == pain.process.kind and p.code == pain.process.code
            for p in self.visible(officer_id)
        )

    def process_title(self, process: ProcessKey, language: Language = Language.RU) -> str:
        if process == STAFF_PROCESS:
            return tr(language, STAFF_PROCESS_KEY)
        catalog = self.reporting.catalog
        entry = (
            catalog.service(process.code)
            if process.kind == SERVICE
            else catalog.life_situation(process.code)
        )
        return entry.title.get(language) if entry is not None else process.code

    def problem_title(self, pain: PainRecord, language: Language = Language.RU) -> str:
        """A pain's problem in ``language``: a rating problem or a staff aspect by its wording
        in the questionnaire, found by the pain's source code; the recorded (Russian) title
        when it has no such text. An appeal reason is named by the appeals mapping's title in
        ``language`` (its ``english:`` titles, else the code)."""
        if language == Language.RU:
            return pain.title
        roles = self.reporting.roles(language)
        found: str | None = None
        if pain.source == RATING_PROBLEM:
            question, _, option = pain.source_code.partition(":")
            found = roles.option_title(question, option)
        elif pain.source == STAFF_ASPECT:
            questionnaire, _, question = pain.source_code.partition(":")
            found = roles.question_titles.get((questionnaire, question))
        elif pain.source == APPEAL_REASON:
            found = self._appeal_titles(language).get(pain.source_code)
        return found or pain.title

    def touchpoint_title(self, process: ProcessKey, language: Language = Language.RU) -> str:
        """The touchpoint's title ('' for a pain of the whole process)."""
        if not process.touchpoint:
            return ""
        channel = self.reporting.catalog.channel(process.touchpoint)
        return channel.title.get(language) if channel is not None else process.touchpoint

    def full_title(self, process: ProcessKey, language: Language = Language.RU) -> str:
        return with_touchpoint(
            self.process_title(process, language), self.touchpoint_title(process, language)
        )

    def _scope(self, process: ProcessKey) -> Scope:
        if process.kind == SERVICE:
            return Scope(service=process.code, channel=process.touchpoint or None)
        return Scope(life_situation=process.code, channel=process.touchpoint or None)

    # --- refresh -----------------------------------------------------------------------

    async def refresh(self, period: Period) -> int:
        """Record every process's disclosed figures for one closed period; pains recorded."""
        appeal_titles = self._appeal_titles(Language.RU)
        by_process: dict[ProcessKey, list[FoundPain]] = {}
        for count in await self.store.appeal_reasons(Span(period.start, period.end)):
            by_process.setdefault(count.process, []).append(
                FoundPain(
                    APPEAL_REASON,
                    count.reason,
                    appeal_titles.get(count.reason, count.reason),
                    Figures(False, count.count, count.count / count.total),
                )
            )
        recorded = 0
        today = self.today()
        touchpoints: dict[str, set[str]] = {}
        for pain in await self.store.pains():
            if pain.process.kind == SERVICE and pain.process.touchpoint:
                touchpoints.setdefault(pain.process.code, set()).add(pain.process.touchpoint)
        for process in self.processes():
            # The parameter section is not read here: left out, it costs nothing.
            report = await self.reporting.report(period, self._scope(process), parameters=False)
            satisfaction, found = _figures(report)
            found += by_process.get(process, [])
            ids = await self.store.save_period(
                process,
                Span(period.start, period.end),
                satisfaction,
                found,
                absent={
                    # The report's renderers do not tell "nobody named it" from "too few did",
                    # and neither does the map: both are hidden.
                    RATING_PROBLEM: Figures(hidden=True),
                    # Register documents, not people: none is a count like any other.
                    APPEAL_REASON: Figures(False, 0, 0.0),
                },
                today=today,
            )
            recorded += len(ids)
            if process.kind == SERVICE:
                known = touchpoints.get(process.code, set())
                recorded += await self._refresh_touchpoints(period, process, report, known, today)
        if whole_quarters(period):
            recorded += await self._refresh_staff(period, today)
        return recorded

    async def _refresh_touchpoints(
        self,
        period: Period,
        service: ProcessKey,
        report: Report,
        known: set[str],
        today: date,
    ) -> int:
        """A service's pains per touchpoint (Procedure §3.7: grouped by touchpoint), each from
        the service × channel report an officer can ask for. A channel the service's report
        hides is not asked for: it yields no figure, and its known pains are recorded hidden.
        A service reached through one channel only gets no touchpoint pains of its own."""
        channels = {
            row.key: row.current for row in report.by(Dimension.CHANNEL) if row.key is not None
        }
        shown = {key for key, score in channels.items() if _shown(score, report.min_group)}
        if not _shown(report.overall, report.min_group):
            shown = set()
        if len(channels) < 2:
            # Reached through one channel only: its pains are the service's, listed once
            # (a touchpoint already in the map keeps its own history).
            shown &= known
        recorded = 0
        for channel in sorted(shown | known):
            process = replace(service, touchpoint=channel)
            if channel in shown:
                satisfaction, found = _figures(
                    await self.reporting.report(period, self._scope(process), parameters=False)
                )
            else:
                satisfaction, found = Satisfaction(hidden=True), []
            ids = await self.store.save_period(
                process,
                Span(period.start, period.end),
                satisfaction,
                found,
                absent={RATING_PROBLEM: Figures(hidden=True)},
                today=today,
            )
            recorded += len(ids)
        return recorded

    async def _refresh_staff(self, period: Period, today: date) -> int:
        """The staff process from the internal report (its disclosure policy already passed)."""
        known = {
            p.source_code
            for p in await self.store.pains([STAFF_PROCESS])
            if p.source == STAFF_ASPECT
        }
        # Each shown staff window once, under the quarter it closed in (a window across a
        # quarter's edge would otherwise be in no quarter).
        report = await self.reporting.internal_report(period, closing=True)
        satisfaction, found = _staff_figures(report, known)
        ids = await self.store.save_period(
            STAFF_PROCESS,
            Span(period.start, period.end),
            satisfaction,
            found,
            # An aspect the report no longer lists was not asked: no figures to show.
            absent={STAFF_ASPECT: Figures(hidden=True)},
            today=today,
        )
        return len(ids)

    @staticmethod
    def closed_periods(today: date) -> list[Period]:
        return [last_closed(kind, today) for kind in REFRESHED_KINDS]

    async def tick(self, now: datetime | None = None) -> int:
        """Refresh the periods that closed, once each, and again any whose refresh failed
        (an outage, or revision 0021, which removed the figures stored before poll windows
        left the calendar figures); then remind of overdue measures."""
        now = now or self._clock()
        today = local_today(now, self._zone)
        if self._ledger is not None:
            periods = self.closed_periods(today)
            for failed in await self._ledger.failed(REFRESH_KIND):
                period = _refresh_period(failed)
                if period is not None and period.end < today and period not in periods:
                    periods.append(period)
            for period in periods:
                key = f"{period.start:%Y%m%d}-{period.end:%Y%m%d}"
                if not await self._ledger.claim(REFRESH_KIND, key, 0, now, now):
                    continue
                ok = False
                try:
                    await self.refresh(period)
                    ok = True
                finally:
                    await self._ledger.finish(REFRESH_KIND, key, 0, now, ok=ok)
        return await self.remind(now)

    # --- reading -----------------------------------------------------------------------

    async def _views(self, pains: Sequence[PainRecord]) -> list[PainView]:
        ids = [p.id for p in pains]
        history = await self.store.figures(ids)
        measures: dict[str, list[MeasureRecord]] = {}
        for measure in await self.store.measures(ids):
            measures.setdefault(measure.pain_id, []).append(measure)
        views: list[PainView] = []
        csat_of: dict[ProcessKey, list[SatisfactionRecord]] = {}
        for pain in pains:
            records = history.get(pain.id, [])
            months = monthly(records)
            comparisons: dict[str, Comparison] = {}
            for measure in measures.get(pain.id, []):
                if measure.status == DONE and measure.done_on is not None:
                    process = ProcessKey(pain.process.kind, pain.process.code)
                    if process not in csat_of:
                        csat_of[process] = await self.store.satisfaction(process)
                    comparisons[measure.id] = compare(
                        measure.done_on,
                        records,
                        csat_of[process],
                        quarterly=process == STAFF_PROCESS,
                    )
            views.append(
                PainView(
                    pain=pain,
                    process_title=self.process_title(pain.process),
                    latest=months[-1] if months else (records[-1] if records else None),
                    history=tuple(records),
                    measures=tuple(measures.get(pain.id, [])),
                    comparisons=comparisons,
                    touchpoint_title=self.touchpoint_title(pain.process),
                )
            )
        return views

    async def pains_for(self, officer_id: int) -> list[PainView]:
        """The pains this officer may see, highest priority first."""
        views = await self._views(await self.store.pains(self.visible(officer_id)))
        return sorted(views, key=sort_key)

    async def card(self, officer_id: int, pain_id: str) -> PainView | None:
        """One pain, or None when it is unknown or not this officer's to see."""
        pain = await self.store.pain(pain_id)
        if pain is None or not self.may_see(officer_id, pain):
            return None
        [view] = await self._views([pain])
        return view

    # --- measures ----------------------------------------------------------------------

    async def measure_for(self, officer_id: int, measure_id: str) -> MeasureRecord | None:
        """One measure, or None when it is unknown or its pain not this officer's to see."""
        measure = await self.store.measure(measure_id)
        if measure is None:
            return None
        pain = await self.store.pain(measure.pain_id)
        return measure if pain is not None and self.may_see(officer_id, pain) else None

    async def add_measure(
        self,
        officer_id: int,
        pain_id: str,
        text: str,
        responsible: str,
        deadline: date,
        key: str | None = None,
    ) -> MeasureRecord | None:
        """Store a typed measure. ``key`` is its draft's (``draft_key``): the same draft saved
        again (a process killed after the commit, before the draft was cleared, and the last
        step sent again) returns the measure already stored instead of adding a second one."""
        pain = await self.store.pain(pain_id)
        if pain is None or not self.may_see(officer_id, pain):
            return None
        if key is not None and not _MEASURE_KEY.fullmatch(key):
            key = None  # a draft begun before drafts carried a key: stored as before
        measure = NewMeasure(
            pain_id, check_text(text), check_responsible(responsible), deadline, key=key
        )
        stored = await self.store.measure(await self.store.add_measure(measure, self.today()))
        return stored if stored is not None and stored.pain_id == pain_id else None

    async def set_status(
        self, officer_id: int, measure_id: str, status: str
    ) -> MeasureRecord | None:
        """Change a measure's status; None when it is unknown or not this officer's."""
        measure = await self.store.measure(measure_id)
        if measure is None:
            return None
        pain = await self.store.pain(measure.pain_id)
        if pain is None or not self.may_see(officer_id, pain):
            return None
        await self.store.edit(MeasureEdit(measure_id, status=check_status(status)), self.today())
        return await self.store.measure(measure_id)

    async def overdue(self, today: date | None = None) -> list[MeasureRecord]:
        return await self.store.overdue(today or self.today())

    async def remind(self, now: datetime) -> int:
        """Tell the officers of each overdue measure's process, once a day per measure."""
        if self._ledger is None or self._send is None:
            return 0
        if now.astimezone(self._zone).hour < self.remind_from_hour:
            return 0
        today = local_today(now, self._zone)
        sent = 0
        for measure in await self.store.overdue(today):
            pain = await self.store.pain(measure.pain_id)
            if pain is None:
                continue
            officers = sorted(self._officers_of(pain.process))
            languages = await self._languages.of_many(officers)
            texts = {
                language: reminder_text(
                    measure,
                    pain,
                    self.full_title(pain.process, language),
                    language,
                    self.problem_title(pain, language),
                )
                for language in set(languages.values())
            }
            for officer in officers:
                key = f"{measure.id}:{today:%Y%m%d}"
                if not await self._ledger.claim(REMINDER_KIND, key, officer, now, now):
                    continue
                ok = False
                try:
                    await self._send.text(officer, texts[languages[officer]])
                    ok = True
                    sent += 1
                except Exception as error:
                    logger.warning("Overdue reminder not sent: %s", type(error).__name__)
                finally:
                    await self._ledger.finish(REMINDER_KIND, key, officer, now, ok=ok)
        return sent

    def _officers_of(self, process: ProcessKey) -> set[int]:
        """Who hears of a process's overdue measures: whoever sees its pains."""
        if process == STAFF_PROCESS:
            return self.reporting.internal_officers()
        service = process.code if process.kind == SERVICE else None
        return self.reporting.officers_for(service)

    async def done_measures(self) -> list[DoneMeasure]:
        """Done measures with their problem and before/after figures (publication site)."""
        done = await self.store.done()
        wanted = {m.pain_id for m in done}
        pains = [p for p in await self.store.pains() if p.id in wanted]
        views = {v.pain.id: v for v in await self._views(pains)}
        result: list[DoneMeasure] = []
        for measure in done:
            view = views[measure.pain_id]
            assert measure.done_on is not None
            result.append(
                DoneMeasure(
                    measure_id=measure.id,
                    process_kind=view.pain.process.kind,
                    process_code=view.pain.process.code,
                    process_title=view.full_title,
                    problem=view.pain.title,
                    measure=measure.text,
                    done_on=measure.done_on,
                    comparison=view.comparisons[measure.id],
                    process_title_en=self.full_title(view.pain.process, Language.EN),
                    problem_en=self.problem_title(view.pain, Language.EN),
                )
            )
        return result

    async def public_measures(self) -> list[PublicMeasure]:
        """Done measures as the public site shows them («вы сказали — мы сделали»): the
        process's CSAT in the last closed month before the measure and the latest after it,
        each as the reports disclosed it (None when it was hidden or not measured)."""
        return [news.measure for news in await self.public_measures_by_id()]

    async def public_measures_by_id(self) -> list[MeasureNews]:
        """:meth:`public_measures` with each measure's id (the announcements' ledger) and the
        service it was taken for (its subscribers hear of it)."""

        def csat(record: SatisfactionRecord | None) -> float | None:
            if record is None or record.satisfaction.hidden:
                return None
            return record.satisfaction.csat

        return [
            MeasureNews(
                done.measure_id,
                done.process_code if done.process_kind == SERVICE else None,
                PublicMeasure(
                    problem=done.problem,
                    process=done.process_title,
                    measure=done.measure,
                    done_on=done.done_on,
                    metric="CSAT, %",
                    before=csat(done.comparison.csat_before),
                    after=csat(done.comparison.csat_after),
                    problem_en=done.problem_en,
                    process_en=done.process_title_en,
                ),
            )
            for done in await self.done_measures()
            # Staff results are the internal officer's (§4.5): not for the public site.
            if (done.process_kind, done.process_code) != (STAFF_PROCESS.kind, STAFF_PROCESS.code)
        ]

    async def appendix2_rows(
        self, period: Period, language: Language = Language.RU
    ) -> list[PainRow]:
        """The pain map table of the Appendix 2 report: every process, each pain with its
        disclosed figures of ``period`` (or the latest month) and each of its measures."""
        return _pain_rows(await self.sheet_lines(period, Scope(), language), language)

    async def appendix2_staff_rows(
        self, period: Period, language: Language = Language.RU
    ) -> list[PainRow]:
        """The staff process's pains for Appendix 2's internal section, read from the map."""
        return _pain_rows(await self.staff_sheet_lines(period, language), language)

    # --- the workbook round trip -------------------------------------------------------

    async def sheet_lines(
        self, period: Period, scope: Scope, language: Language = Language.RU
    ) -> list[PainMapLine]:
        """The pain map sheet of a workbook: every process of a body-wide scope, or the
        scope's service, each pain with the figures of ``period`` when it was refreshed, else
        of the latest month (callers check that the officer may see the scope); processes and
        touchpoints named in ``language``."""
        processes = [
            p
            for p in self.processes()
            if scope.service is None or (p.kind == SERVICE and p.code == scope.service)
        ]
        return await self._lines(period, processes, language)

    async def staff_sheet_lines(
        self, period: Period, language: Language = Language.RU
    ) -> list[PainMapLine]:
        """The staff process's pains for the internal officer's staff workbook (round trip:
        only internal officers may send its measures back, PainMapService.may_see)."""
        return await self._lines(period, [STAFF_PROCESS], language)

    async def _lines(
        self, period: Period, processes: Sequence[ProcessKey], language: Language
    ) -> list[PainMapLine]:
        views = sorted(await self._views(await self.store.pains(processes)), key=sort_key)
        lines: list[PainMapLine] = []
        for view in views:
            exact = [r for r in view.history if r.period == Span(period.start, period.end)]
            record = exact[-1] if exact else view.latest
            figures = record.figures if record else Figures(hidden=True)
            process = view.pain.process
            base = PainMapLine(
                process=self.process_title(process, language),
                problem=self.problem_title(view.pain, language),
                source=view.pain.source,
                touchpoint=self.touchpoint_title(process, language),
                key=view.pain.id,
                figures_period=(
                    f"{record.period.start:%d.%m.%Y}–{record.period.end:%d.%m.%Y}"
                    if record
                    else ""
                ),
                hidden=figures.hidden,
                respondents=figures.respondents,
                prevalence=figures.prevalence,
                mean_overall=figures.mean_overall,
                priority=figures.priority,
            )
            lines.append(base)
            lines += [
                replace(
                    base,
                    key=f"{view.pain.id}.{m.id}",
                    measure=m.text,
                    responsible=m.responsible,
                    deadline=m.deadline,
                    status=m.status,
                )
                for m in view.measures
            ]
        return lines

    async def import_sheet(self, officer_id: int, data: bytes) -> SheetImport:
        """Apply the measures of a pain map sheet sent back; every bad cell is reported and
        then nothing is written. Raises NotAPainMap for a file without the sheet."""
        rows, errors = await asyncio.to_thread(read_sheet, data)
        result = SheetImport(errors=errors)
        today = self.today()
        pains = {p.id: p for p in await self.store.pains()}
        measures = {m.id: m for m in await self.store.measures(list(pains))}
        new: list[NewMeasure] = []
        edits: list[MeasureEdit] = []
        for row in rows:
            pain = pains.get(row.pain_id)
            if pain is None:
                result.errors.append(_error(row, KEY, "unknown_pain", row.pain_id))
                continue
            if not self.may_see(officer_id, pain):
                result.errors.append(_error(row, KEY, "not_yours", row.pain_id))
                continue
            if row.measure_id is None and not (
                row.text or row.responsible or row.deadline or row.status
            ):
                continue  # a pain with no measure yet
            try:
                change = self._row_change(row, measures, today)
            except _RowError as refused:
                result.errors += refused.errors
                continue
            if isinstance(change, NewMeasure):
                new.append(change)
            elif isinstance(change, MeasureEdit):
                edits.append(change)
            else:
                result.unchanged += 1
        if result.errors:
            return result
        await self.store.apply(new, edits, today)
        result.added, result.changed = len(new), len(edits)
        return result

    @staticmethod
    def _row_change(
        row: SheetRow, measures: Mapping[str, MeasureRecord], today: date
    ) -> NewMeasure | MeasureEdit | None:
        errors: list[CellError] = []
        existing = measures.get(row.measure_id) if row.measure_id else None
        if row.measure_id and (existing is None or existing.pain_id != row.pain_id):
            raise _RowError([_error(row, KEY, "unknown_measure", row.measure_id)])
        if existing is None:
            same = [
                m
                for m in measures.values()
                if m.pain_id == row.pain_id and m.text.casefold() == row.text.casefold()
            ]
            if same:
                return None  # sent again: the measure was added by the earlier import
        text = _checked(row, MEASURE, row.text, MEASURE_TEXT_LENGTH, errors)
        responsible = _checked(row, RESPONSIBLE, row.responsible, RESPONSIBLE_LENGTH, errors)
        if row.deadline is None:
            errors.append(_error(row, DEADLINE, "no_date"))
        elif row.deadline < today and (existing is None or existing.deadline != row.deadline):
            errors.append(_error(row, DEADLINE, "past_date", f"{row.deadline:%d.%m.%Y}"))
        if errors:
            raise _RowError(errors)
        assert text is not None and responsible is not None and row.deadline is not None
        if existing is None:
            return NewMeasure(row.pain_id, text, responsible, row.deadline, row.status or PLANNED)
        edit = MeasureEdit(
            existing.id,
            text=text if text != existing.text else None,
            responsible=responsible if responsible != existing.responsible else None,
            deadline=row.deadline if row.deadline != existing.deadline else None,
            status=row.status if row.status and row.status != existing.status else None,
        )
        if edit == MeasureEdit(existing.id):
            return None
        return edit


@dataclass
class SheetImport:
    """What a pain map sheet sent back did: everything or nothing is applied."""

    added: int = 0
    changed: int = 0
    unchanged: int = 0
    errors: list[CellError] = field(default_factory=list)

    @property
    def applied(self) -> bool:
        return not self.errors


class _RowError(Exception):
    def __init__(self, errors: list[CellError]) -> None:
        super().__init__(len(errors))
        self.errors = errors


def _error(row: SheetRow, column: str, problem: str, value: str = "") -> CellError:
    return row.error(column, problem, value)


def _checked(
    row: SheetRow, column: str, value: str, limit: int, errors: list[CellError]
) -> str | None:
    try:
        return check_text(value, limit)
    except MeasureError as refused:
        errors.append(_error(row, column, refused.problem.value, value))
        return None


def _pain_rows(lines: Sequence[PainMapLine], language: Language) -> list[PainRow]:
    return [
        PainRow(
            process=with_touchpoint(line.process, line.touchpoint),
            problem=line.problem,
            prevalence=None if line.hidden else line.prevalence,
            priority=None if line.hidden else line.priority,
            measures=line.measure or "",
            responsible=line.responsible or "",
            deadline=line.deadline,
            status=status_title(line.status, language) if line.status else "",
        )
        for line in lines
    ]


def reminder_text(
    measure: MeasureRecord,
    pain: PainRecord,
    process: str,
    language: Language = Language.RU,
    problem: str | None = None,
) -> str:
    """An overdue measure's reminder in the reader's ``language`` (``problem``: the pain's
    title in it; the recorded one by default)."""
    return tr(
        language,
        "painmap.reminder",
        process=escape(process),
        pain=escape(problem if problem is not None else pain.title),
        measure=escape(measure.text),
        responsible=escape(measure.responsible),
        deadline=f"{measure.deadline:%d.%m.%Y}",
    )
