"""What officers' commands offer in any messenger: the commands by role, the closed periods
the period buttons name, the services and ranges /report and /export offer, the quarters
/appeals offers, the review /comments opens, the results /results shows. Telegram's handlers
and the MAX front both call these."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Final

from questionnaires.campaigns import CampaignAudience
from questionnaires.i18n import N_, tr
from questionnaires.schema import Language
from reports.disclosure import PeriodKind, last_closed
from reports.model import Period, Scope
from reports.open_answers import OpenAnswerCounts
from reports.periods import RangeError, closed_range, parse_range, quarter_of
from reports.window_results import Publication
from services.open_answers import OpenAnswersService, Refusal, Shown
from services.reporting import ReportingService
from services.windows import WindowService

#: Command → the key of its description; the menus below pick from it.
COMMANDS: Final[dict[str, str]] = {
    "start": N_("ops.command.start"),
    "polls": N_("ops.command.polls"),
    "results": N_("ops.command.results"),
    "cancel": N_("ops.command.cancel"),
    "stop": N_("ops.command.stop"),
    "help": N_("ops.command.help"),
    "whoami": N_("ops.command.whoami"),
    "feedback": N_("ops.command.feedback"),
    "report": N_("ops.command.report"),
    "export": N_("ops.command.export"),
    "comments": N_("ops.command.comments"),
    "pains": N_("ops.command.pains"),
    "poll_open": N_("ops.command.poll_open"),
    "poll_close": N_("ops.command.poll_close"),
    "invite": N_("ops.command.invite"),
    "appeals": N_("ops.command.appeals"),
    "topics": N_("ops.command.topics"),
    "language": N_("ops.command.language"),
}

CITIZEN: Final = ("start", "polls", "results", "cancel", "stop", "help", "whoami")
STAFF: Final = (*CITIZEN, "feedback")
SERVICE_OFFICER: Final = (*CITIZEN, "report", "export", "comments", "pains", "language")
BODY_OFFICER: Final = (*SERVICE_OFFICER, "poll_open", "poll_close", "invite", "appeals")
INTERNAL_OFFICER: Final = (*CITIZEN, "report", "export", "topics", "language")


def _union(*menus: Sequence[str]) -> tuple[str, ...]:
    return tuple(dict.fromkeys(name for menu in menus for name in menu))


@dataclass(frozen=True)
class Officers:
    """Who has which officer's menu (chats: Telegram ids and MAX chats alike)."""

    body: frozenset[int]
    service: frozenset[int]  # a service's own officer (catalog)
    internal: frozenset[int]

    @classmethod
    def of(cls, reporting: ReportingService) -> Officers:
        every = reporting.all_officers()
        body = frozenset(i for i in every if reporting.may_see(i, Scope()))
        return cls(
            body=body,
            service=frozenset(every - body),
            internal=frozenset(reporting.internal_officers()),
        )

    def menu_of(self, chat_id: int) -> tuple[str, ...]:
        """The officer's commands; () for anyone who is no officer."""
        parts: list[Sequence[str]] = []
        if chat_id in self.body:
            parts.append(BODY_OFFICER)
        elif chat_id in self.service:
            parts.append(SERVICE_OFFICER)
        if chat_id in self.internal:
            parts.append(INTERNAL_OFFICER)
        return _union(*parts)


#: Only closed calendar periods: a period still running would differ from one day to the
#: next by that day's answers (reports.disclosure).
PERIODS: Final = {
    "w": N_("officer.period.w"),
    "m": N_("officer.period.m"),
    "q": N_("officer.period.q"),
    "h": N_("officer.period.h"),
    "y": N_("officer.period.y"),
}
PERIOD_KINDS: Final[dict[str, PeriodKind]] = {
    "w": PeriodKind.WEEK,
    "m": PeriodKind.MONTH,
    "q": PeriodKind.QUARTER,
    "h": PeriodKind.HALF,
    "y": PeriodKind.YEAR,
}


def offered_periods(reporting: ReportingService) -> dict[str, str]:
    """Period code → label key, for the kinds the disclosure policy shows (weeks only when
    weeks may show figures)."""
    kinds = reporting.period_kinds()
    return {code: key for code, key in PERIODS.items() if PERIOD_KINDS[code] in kinds}


def period_for(code: str, today: date) -> Period:
    """The latest closed calendar period of the kind the button names."""
    return last_closed(PERIOD_KINDS[code], today)


#: A report of every service, in a report button's service slot.
ALL_SERVICES: Final = "*"
#: The staff report (§4.2, §4.4) in a typed range's service slot: no service code starts with "@".
STAFF_REPORT: Final = "@staff"
#: The staff poll runs about once a year (§6.2): shorter periods would mostly be empty.
STAFF_PERIODS: Final = {
    "q": N_("officer.staff_period.q"),
    "h": N_("officer.staff_period.h"),
    "y": N_("officer.staff_period.y"),
}
#: Why a typed range is refused (keys of reports.periods.RangeError).
RANGE_REFUSALS: Final = {
    "format": N_("officer.range.format"),
    "order": N_("officer.range.order"),
    "open": N_("officer.range.open"),
    "months": N_("officer.range.months"),
    "weeks": N_("officer.range.weeks"),
}


def whole_quarters(period: Period) -> bool:
    """The staff report takes whole calendar quarters only: a poll window's results show it
    whole, so a finer cut across its days could leave a small part to subtract."""
    return (
        quarter_of(period.start).start == period.start and quarter_of(period.end).end == period.end
    )


@dataclass(frozen=True, slots=True)
class Offer:
    """One button of a report menu: the code it carries and its label."""

    code: str
    label: str


def report_services(
    reporting: ReportingService,
    officer: int,
    language: Language,
    staff_range: Period | None = None,
) -> list[Offer]:
    """The scopes /report offers an officer: every service (a body-wide officer), each of
    their services, and the staff report when ``staff_range`` is a typed range the internal
    officer may have it for (whole quarters)."""
    services = reporting.services_of(officer)
    offers: list[Offer] = []
    if services and len(services) == len(reporting.catalog.services):
        offers.append(Offer(ALL_SERVICES, tr(language, "officer.all_services")))
    offers += [Offer(s.code, s.title.get(language)) for s in services]
    if (
        staff_range is not None
        and reporting.is_internal_officer(officer)
        and whole_quarters(staff_range)
    ):
        offers.append(Offer(STAFF_REPORT, tr(language, "officer.staff")))
    return offers


def report_scope(reporting: ReportingService, officer: int, code: str) -> Scope | None:
    """The scope a pressed service code names, or None when the officer may not see it or
    no such service is in the catalog (a forged or outdated button)."""
    scope = Scope(service=None if code == ALL_SERVICES else code)
    known = {s.code for s in reporting.catalog.services}
    if scope.service is not None and scope.service not in known:
        return None
    return scope if reporting.may_see(officer, scope) else None


def typed_range(
    reporting: ReportingService, officer: int, typed: str, today: date
) -> Period | str:
    """The closed range an officer typed after /report, or the key of why it is refused
    (the disclosure policy's, or: an internal officer only has the staff report, which
    takes whole quarters)."""
    try:
        period = closed_range(parse_range(typed), today, weekly=reporting.disclosure.weekly)
    except RangeError as refused:
        return RANGE_REFUSALS[refused.reason]
    if not reporting.services_of(officer) and not whole_quarters(period):
        return N_("officer.staff_range")
    return period


def pressed_range(reporting: ReportingService, start: str, end: str, today: date) -> Period | None:
    """The closed range a button carries as two YYYYMMDD days, or None when it is no longer
    (or never was) one."""
    try:
        return closed_range(
            Period(_day(start), _day(end)), today, weekly=reporting.disclosure.weekly
        )
    except ValueError:
        return None


def range_days(period: Period) -> tuple[str, str]:
    """A range as a button carries it: two YYYYMMDD days."""
    return f"{period.start:%Y%m%d}", f"{period.end:%Y%m%d}"


def _day(value: str) -> date:
    if len(value) != 8 or not value.isdigit():
        raise ValueError(value)
    return date(int(value[:4]), int(value[4:6]), int(value[6:]))


#: Closed quarters offered by /appeals.
QUARTERS_OFFERED: Final = 4


def closed_quarters(today: date, count: int = QUARTERS_OFFERED) -> list[Period]:
    """The latest ``count`` quarters that ended before ``today``, newest first."""
    quarters = [last_closed(PeriodKind.QUARTER, today)]
    while len(quarters) < count:
        quarters.append(quarter_of(quarters[-1].start - timedelta(days=1)))
    return quarters


@dataclass(frozen=True, slots=True)
class Review:
    """What /comments shows for a period and scope: the category counts, then the first
    comment of the report's list (None: the report shows no comments)."""

    counts: OpenAnswerCounts
    first: Shown | Refusal | None


async def review(
    reporting: ReportingService,
    open_answers: OpenAnswersService,
    officer: int,
    period: Period,
    scope: Scope,
    language: Language,
) -> Review:
    """The counts of ``scope`` (as published only when the report shows its figures) and the
    officer's listing of the comments the report shows."""
    report = await reporting.report(period, scope)
    counts = await open_answers.counts(
        period, scope, published=not report.overall.suppressed, language=language
    )
    listing = await open_answers.open_listing(officer, period, scope, report, language=language)
    if listing is None:
        return Review(counts, None)
    return Review(counts, await open_answers.show(officer, listing.token, 0))


async def visible_results(campaigns: WindowService, person: int) -> list[Publication]:
    """The poll results a person may read: staff results to enrolled staff only."""
    if await campaigns.enrolment.is_staff(person):
        return await campaigns.published()
    return await campaigns.published(CampaignAudience.EXTERNAL)
