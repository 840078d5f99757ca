"""Poll campaigns in YAML: which questionnaire runs for whom, when, how long, with reminders."""

# A campaign is a recurring poll (Procedure §6.2): the deep poll of external clients at least
# twice a year for about 10 working days, the staff poll at least once a year for about 5. Each
# run is a *window* that opens on a day (moved to the next working day when it falls on a day
# off) and stays open a number of working days of the production calendar; the calendar lives in
# scheduler.calendar and reaches this pure module through the WorkingDays protocol.

from __future__ import annotations

import calendar as gregorian
import difflib
import enum
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from pathlib import Path as FsPath
from typing import Annotated, Final, Literal, Protocol

from pydantic import BaseModel, ConfigDict, Field, StrictBool, StrictInt, model_validator

from questionnaires.errors import Defect, DefinitionError, OtklikError, Path
from questionnaires.i18n import N_
from questionnaires.loader import model_keys
from questionnaires.schema import Audience, Identifier, Questionnaire, Text
from questionnaires.yaml_source import YamlDocument, parse_yaml, read_text, validate_model

CAMPAIGNS_FILE: Final = FsPath(__file__).parent / "campaigns.yaml"

#: Procedure §6.2: external online polls last about 10 working days, staff polls about 5.
DEFAULT_DURATION: Final = {"external": 10, "staff": 5}
DEFAULT_REMINDERS: Final = {"external": (3, 7), "staff": (2, 4)}
#: Windows open on these days unless `starts` says otherwise; a day off moves to the next
#: working day, so 1 January becomes the first working day after the New Year holidays.
DEFAULT_STARTS: Final[dict[str, tuple[tuple[int, int], ...]]] = {
    "twice_a_year": ((4, 1), (10, 1)),
    "quarterly": ((1, 1), (4, 1), (7, 1), (10, 1)),
    "yearly": ((10, 1),),
}
STARTS_PER_YEAR: Final = {"twice_a_year": 2, "quarterly": 4, "yearly": 1}
#: No poll needs longer; a longer run is a typo that would keep a window open for months.
MAX_DURATION: Final = 60
DEFAULT_SEND_FROM_HOUR: Final = 10


class CampaignAudience(enum.StrEnum):
    """Who is invited: citizens and organisations, or the body's own staff."""

    EXTERNAL = "external"
    STAFF = "staff"

    @property
    def questionnaire_audience(self) -> Audience:
        return Audience.EXTERNAL if self is CampaignAudience.EXTERNAL else Audience.INTERNAL

    @property
    def invitation_topic(self) -> str:
        """The opt-in topic whose chats are invited (and reminded)."""
        return "polls" if self is CampaignAudience.EXTERNAL else "staff_polls"

    @property
    def publication_topic(self) -> str:
        """The opt-in topic whose chats hear the published results."""
        return "changes" if self is CampaignAudience.EXTERNAL else "staff_polls"


class WindowStatus(enum.StrEnum):
    SCHEDULED = "scheduled"  # the next run, known in advance so a link can point at it
    OPEN = "open"
    CLOSED = "closed"


class WindowOrigin(enum.StrEnum):
    SCHEDULE = "schedule"  # opened by the campaign's recurrence
    OFFICER = "officer"  # opened by hand, e.g. the extra quarterly poll of Procedure §3.3


class Verdict(enum.StrEnum):
    """Whether a person may answer (or has just answered) in a window."""

    OK = "ok"
    UNKNOWN = "unknown"  # no such window
    NOT_OPEN = "not_open"  # scheduled, opens later
    CLOSED = "closed"
    ALREADY_ANSWERED = "already_answered"
    NOT_ENROLLED = "not_enrolled"  # a staff window and the person has no invite code used


class EnrollStatus(enum.StrEnum):
    OK = "ok"
    UNKNOWN = "unknown"  # no such code
    USED = "used"  # the code was used already (one-time)
    ALREADY_ENROLLED = "already_enrolled"


class CampaignError(OtklikError):
    """A campaign operation cannot be done as asked."""


class UnknownCampaignError(CampaignError, LookupError):
    """No campaign with that id is configured."""


class UnknownWindowError(CampaignError, LookupError):
    """No poll window with that id."""


class WindowConflictError(CampaignError):
    """A window of the campaign already ran today and was closed; it cannot open again today."""


_ERROR_KEYS: Final[dict[type[CampaignError], str]] = {
    UnknownCampaignError: N_("bot.campaign_error.unknown_campaign_error"),
    UnknownWindowError: N_("bot.campaign_error.unknown_window_error"),
    WindowConflictError: N_("bot.campaign_error.window_conflict_error"),
}


def error_key(error: CampaignError) -> str:
    """The catalogue key that tells an officer why a poll action failed, in every front;
    never the exception's own (English) text."""
    for kind, key in _ERROR_KEYS.items():
        if isinstance(error, kind):
            return key
    return N_("bot.campaign_error.other")


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class MonthDay(_Strict):
    """A day of the year on which a window opens (before moving off a day off)."""

    month: Annotated[StrictInt, Field(ge=1, le=12)]
    day: Annotated[StrictInt, Field(ge=1, le=31)]

    @model_validator(mode="after")
    def _exists_every_year(self) -> MonthDay:
        # 1999 is not a leap year: 29 February would silently skip three years out of four.
        last = gregorian.monthrange(1999, self.month)[1]
        if self.day > last:
            raise ValueError(
                f"day {self.day} does not exist in month {self.month} every year (at most {last})"
            )
        return self


Recurrence = Literal["twice_a_year", "quarterly", "yearly", "dates"]
ResultsTo = Literal["officers"]


class Campaign(_Strict):
    """One recurring poll of one questionnaire for one audience."""

    id: Identifier
    questionnaire: Identifier = Field(description="Id of the questionnaire to run.")
    audience: CampaignAudience
    title: Text | None = Field(
        default=None, description="Shown in invitations; the questionnaire title by default."
    )
    recurrence: Recurrence
    starts: tuple[MonthDay, ...] | None = Field(
        default=None,
        description="Opening days per year; defaults: twice_a_year 1 Apr and 1 Oct, quarterly "
        "1 Jan/Apr/Jul/Oct, yearly 1 Oct. A day off moves to the next working day.",
    )
    dates: tuple[date, ...] | None = Field(
        default=None, description="Explicit opening days (recurrence: dates)."
    )
    duration_working_days: Annotated[StrictInt, Field(ge=1, le=MAX_DURATION)] | None = Field(
        default=None, description="Working days a window stays open; 10 external, 5 staff."
    )
    reminders_after_working_days: tuple[Annotated[StrictInt, Field(ge=1)], ...] | None = Field(
        default=None,
        description="A reminder goes on the next working day after this many working days "
        "of the window; defaults: external [3, 7], staff [2, 4].",
    )
    results_to: ResultsTo | tuple[Annotated[StrictInt, Field(gt=0)], ...] = Field(
        default="officers",
        description="'officers' (every configured officer) or a list of Telegram ids.",
    )
    publish_results: StrictBool = Field(
        default=True, description="Publish anonymised results when a window closes (§3.13)."
    )
    send_from_hour: Annotated[StrictInt, Field(ge=0, le=23)] = Field(
        default=DEFAULT_SEND_FROM_HOUR,
        description="Local hour before which nothing is sent (invitations, reminders, results).",
    )

    @property
    def duration(self) -> int:
        if self.duration_working_days is not None:
            return self.duration_working_days
        return DEFAULT_DURATION[self.audience]

    @property
    def reminders(self) -> tuple[int, ...]:
        if self.reminders_after_working_days is not None:
            return self.reminders_after_working_days
        return tuple(n for n in DEFAULT_REMINDERS[self.audience] if n < self.duration)

    @property
    def start_days(self) -> tuple[tuple[int, int], ...]:
        if self.starts is not None:
            return tuple((start.month, start.day) for start in self.starts)
        return DEFAULT_STARTS.get(self.recurrence, ())

    def display_title(self, questionnaire: Questionnaire | None) -> Text:
        if self.title is not None:
            return self.title
        if questionnaire is not None:
            return questionnaire.title
        return Text(ru=self.id)


class CampaignFile(_Strict):
    """The campaigns file: every recurring poll of the body."""

    campaigns: tuple[Campaign, ...] = Field(min_length=1)

    def get(self, campaign_id: str) -> Campaign | None:
        return next((c for c in self.campaigns if c.id == campaign_id), None)


# --- the schedule (pure, given the production calendar) ---------------------------------


class WorkingDays(Protocol):
    """The part of scheduler.calendar.ProductionCalendar the schedule needs."""

    def next_working_day(self, day: date) -> date: ...

    def add_working_days(self, start: date, count: int) -> date: ...


@dataclass(frozen=True, slots=True)
class Occurrence:
    """One scheduled run: open from the start of `opens_on` to the end of `closes_on`."""

    campaign_id: str
    opens_on: date
    closes_on: date

    def overlaps(self, opens_on: date, closes_on: date) -> bool:
        return self.opens_on <= closes_on and opens_on <= self.closes_on


def window_span(campaign: Campaign, day: date, calendar: WorkingDays) -> tuple[date, date]:
    """Opening (moved off a day off) and last day of a window nominally opening on `day`."""
    opens_on = calendar.next_working_day(day)
    return opens_on, calendar.add_working_days(opens_on, campaign.duration)


def occurrences(
    campaign: Campaign, calendar: WorkingDays, first_year: int, last_year: int
) -> list[Occurrence]:
    """Scheduled runs whose nominal opening day falls in the years given, oldest first."""
    nominal: list[date] = []
    if campaign.recurrence == "dates":
        nominal = [d for d in campaign.dates or () if first_year <= d.year <= last_year]
    else:
        for year in range(first_year, last_year + 1):
            nominal += [date(year, month, day) for month, day in campaign.start_days]
    found: dict[date, Occurrence] = {}
    for day in sorted(nominal):
        opens_on, closes_on = window_span(campaign, day, calendar)
        # Two nominal days moved onto the same working day are one run.
        found.setdefault(opens_on, Occurrence(campaign.id, opens_on, closes_on))
    return list(found.values())


def reminder_days(opens_on: date, reminders: Sequence[int], calendar: WorkingDays) -> list[date]:
    """The day of each reminder: the working day after `n` working days of the window."""
    return [calendar.add_working_days(opens_on, n + 1) for n in reminders]


# --- checks and loading -----------------------------------------------------------------


def check_campaigns(
    campaigns: CampaignFile | Sequence[Campaign],
    questionnaires: Mapping[str, Questionnaire] | None,
    file: str = "campaigns.yaml",
) -> list[Defect]:
    """Every semantic defect of structurally valid campaigns; `questionnaires` are the loaded
    ones (None skips the questionnaire checks)."""
    items = campaigns.campaigns if isinstance(campaigns, CampaignFile) else tuple(campaigns)
    defects: list[Defect] = []
    first: dict[str, int] = {}
    for index, campaign in enumerate(items):
        at: Path = ("campaigns", index)
        if campaign.id in first:
            defects.append(
                Defect(
                    file,
                    (*at, "id"),
                    f"duplicate campaign id '{campaign.id}'",
                    hint=f"campaigns[{first[campaign.id]}] already uses it; ids must be unique",
                )
            )
        first.setdefault(campaign.id, index)
        if questionnaires is not None:
            defects += _questionnaire_defects(campaign, questionnaires, file, at)
        defects += _recurrence_defects(campaign, file, at)
        defects += _reminder_defects(campaign, file, at)
    return defects


def _questionnaire_defects(
    campaign: Campaign, questionnaires: Mapping[str, Questionnaire], file: str, at: Path
) -> list[Defect]:
    questionnaire = questionnaires.get(campaign.questionnaire)
    if questionnaire is None:
        known = sorted(questionnaires)
        close = difflib.get_close_matches(campaign.questionnaire, known, n=1)
        return [
            Defect(
                file,
                (*at, "questionnaire"),
                f"unknown questionnaire '{campaign.questionnaire}'",
                expected="one of " + ", ".join(known) if known else None,
                hint=f"did you mean '{close[0]}'?"
                if close
                else "the questionnaire must load without defects (otklik validate)",
            )
        ]
    wanted = campaign.audience.questionnaire_audience
    if questionnaire.audience != wanted:
        return [
            Defect(
                file,
                (*at, "audience"),
                f"audience '{campaign.audience}' does not fit questionnaire "
                f"'{questionnaire.id}' (audience '{questionnaire.audience}')",
                expected=f"a questionnaire with audience '{wanted}'",
            )
        ]
    return []


def _recurrence_defects(campaign: Campaign, file: str, at: Path) -> list[Defect]:
    defects: list[Defect] = []
    if campaign.recurrence == "dates":
        if not campaign.dates:
            defects.append(
                Defect(
                    file,
                    (*at, "recurrence"),
                    "recurrence 'dates' needs a list of opening days",
                    hint="add dates: [2026-04-01, 2026-10-01]",
                )
            )
        if campaign.starts is not None:
            defects.append(
                Defect(
                    file,
                    (*at, "starts"),
                    "'starts' is for twice_a_year, quarterly and yearly",
                    hint="with recurrence 'dates', list the days under 'dates'",
                )
            )
        if campaign.dates and len(set(campaign.dates)) != len(campaign.dates):
            defects.append(Defect(file, (*at, "dates"), "a day is listed twice"))
        return defects
    if campaign.dates is not None:
        defects.append(
            Defect(
                file,
                (*at, "dates"),
                f"'dates' is only for recurrence 'dates', not '{campaign.recurrence}'",
                hint="use 'starts' for month and day, or set recurrence: dates",
            )
        )
    if campaign.starts is not None:
        wanted = STARTS_PER_YEAR[campaign.recurrence]
        days = campaign.start_days
        if len(days) != wanted:
            defects.append(
                Defect(
                    file,
                    (*at, "starts"),
                    f"{campaign.recurrence} needs {wanted} opening day(s) a year, "
                    f"{len(days)} given",
                )
            )
        elif list(days) != sorted(set(days)):
            defects.append(
                Defect(
                    file,
                    (*at, "starts"),
                    "opening days must be different and in calendar order",
                )
            )
    return defects


def _reminder_defects(campaign: Campaign, file: str, at: Path) -> list[Defect]:
    reminders = campaign.reminders
    where: Path = (*at, "reminders_after_working_days")
    if list(reminders) != sorted(set(reminders)):
        return [Defect(file, where, "reminders must be different and in increasing order")]
    late = [n for n in reminders if n >= campaign.duration]
    if late:
        return [
            Defect(
                file,
                where,
                f"a reminder after {late[0]} working day(s) falls after the window closes "
                f"({campaign.duration} working days)",
                expected=f"numbers below {campaign.duration}",
            )
        ]
    return []


def parse_campaigns(
    text: str, file: str, questionnaires: Mapping[str, Questionnaire] | None = None
) -> CampaignFile:
    """Parse and fully check a campaigns file; DefinitionError lists every defect, located."""
    document = parse_yaml(text, file)
    parsed = validate_model(
        document, CampaignFile, lambda p: model_keys(CampaignFile, document.data, p)
    )
    defects = [_located(document, d) for d in check_campaigns(parsed, questionnaires, file)]
    if defects:
        defects.sort(key=lambda d: (d.line or 0, d.column or 0))
        raise DefinitionError(defects)
    return parsed


def _located(document: YamlDocument, defect: Defect) -> Defect:
    line, column = document.locate(defect.path)
    return defect.located(line, column)


def load_campaigns(
    path: FsPath = CAMPAIGNS_FILE, questionnaires: Mapping[str, Questionnaire] | None = None
) -> CampaignFile:
    """Load a campaigns file (the shipped example by default)."""
    return parse_campaigns(read_text(path), str(path), questionnaires)
