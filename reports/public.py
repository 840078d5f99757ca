"""What the public sees (Procedure §3.11, §3.13(2)): plain values the site and /results render.

Built by services.publication.PublicationService; rendered by reports.site. Every report in it
is protected (reports.telegram.protect) and of a closed period; a window's or a measure's
figures are None when the disclosure rules hide them.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from questionnaires.catalog import Catalog
from questionnaires.schema import Language, Text
from reports.disclosure import PeriodKind
from reports.model import Report


@dataclass(frozen=True, slots=True)
class DoneMeasure:
    """A measure taken on a problem people named («вы сказали — мы сделали»).

    `before`/`after` are the figure of `metric` before the measure and after it, each already
    through the disclosure policy: None when it may not be shown (or was not measured).
    """

    problem: str
    process: str
    measure: str
    done_on: date
    metric: str = "CSAT, %"
    before: float | None = None
    after: float | None = None
    #: The problem and the process in English (the site's ``en/`` tree), where known; the
    #: measure itself stays as the officer typed it.
    problem_en: str = ""
    process_en: str = ""

    def problem_in(self, language: Language) -> str:
        return self.problem_en or self.problem if language == Language.EN else self.problem

    def process_in(self, language: Language) -> str:
        return self.process_en or self.process if language == Language.EN else self.process


@dataclass(frozen=True, slots=True)
class MeasureNews:
    """A public done measure as «вы сказали — мы сделали» tells of it: its id (the
    announcements' ledger) and the service it was taken for (None for a life situation)."""

    measure_id: str
    service: str | None
    measure: DoneMeasure


@dataclass(frozen=True, slots=True)
class PublicWindow:
    """A closed poll window of citizens whose results were published; no figure when hidden."""

    window_id: int
    title: Text
    opens_on: date
    closes_on: date  # the last day it ran
    respondents: int | None = None
    n: int | None = None  # scores 1–5
    csat: float | None = None
    mean: float | None = None

    @property
    def hidden(self) -> bool:
        return self.respondents is None or self.csat is None or self.mean is None


@dataclass(frozen=True, slots=True)
class Asked:
    """What a questionnaire asks for the satisfaction figure (the methodology page)."""

    questionnaire: Text
    overall_question: Text


@dataclass(frozen=True, slots=True)
class SiteContent:
    """Everything the public site shows."""

    body_name: str
    generated_on: date
    min_group: int
    main: Report  # the last closed quarter: all services, with breakdowns
    #: Overall satisfaction in the last closed month, quarter, … (finest first).
    periods: tuple[tuple[PeriodKind, Report], ...]
    services: tuple[Report, ...]  # one per citizen service of the catalog, in `main.period`
    windows: tuple[PublicWindow, ...]
    measures: tuple[DoneMeasure, ...]
    asked: tuple[Asked, ...]
    catalog: Catalog
