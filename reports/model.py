"""What a report says: periods, scores, groups, problems, drop-off; plain values, no I/O."""

from __future__ import annotations

import enum
from dataclasses import dataclass, field, replace
from datetime import date, timedelta
from typing import Final

from questionnaires.i18n import N_, tr
from questionnaires.schema import Language, Questionnaire, Role, Text

#: Groups with fewer respondents show no figures (domain brief: anonymity threshold).
DEFAULT_MIN_GROUP: Final = 5
#: Free-text comments of staff need a larger group.
DEFAULT_MIN_COMMENT_GROUP_STAFF: Final = 10


class Band(enum.StrEnum):
    """Mean-score band: ≥ 4.0 high, 3.0–3.99 medium, < 3.0 low."""

    HIGH = "high"
    MEDIUM = "medium"
    LOW = "low"

    @classmethod
    def of(cls, mean: float) -> Band:
        if mean >= 4.0:
            return cls.HIGH
        if mean >= 3.0:
            return cls.MEDIUM
        return cls.LOW


class Dimension(enum.StrEnum):
    SERVICE = "service"
    CHANNEL = "channel"
    LIFE_SITUATION = "life_situation"
    FRONT = "front"  # the messenger or web form (questionnaires.fronts.Front)


@dataclass(frozen=True, slots=True)
class Period:
    """An inclusive range of calendar days in the body's time zone."""

    start: date
    end: date

    def __post_init__(self) -> None:
        if self.end < self.start:
            raise ValueError(f"period ends ({self.end}) before it starts ({self.start})")

    @property
    def days(self) -> int:
        return (self.end - self.start).days + 1

    def previous(self) -> Period:
        """The equal period right before this one (for the change against it)."""
        end = self.start - timedelta(days=1)
        return Period(end - timedelta(days=self.days - 1), end)

    def __str__(self) -> str:
        return f"{self.start:%d.%m.%Y}–{self.end:%d.%m.%Y}"


@dataclass(frozen=True, slots=True)
class Scope:
    """Which responses a report covers; None means "all"."""

    service: str | None = None
    channel: str | None = None
    life_situation: str | None = None
    audience: str = "external"


@dataclass(frozen=True, slots=True)
class Score:
    """Satisfaction on the 1–5 overall question of a group of responses.

    `n` counts respondents who gave a score 1–5; "cannot rate" is counted apart and excluded.
    A suppressed score (n below the threshold) carries no figures at all, only the fact.
    """

    n: int
    csat: float | None = None  # share of 4–5 among 1–5, in percent
    mean: float | None = None
    distribution: dict[int, int] = field(default_factory=dict)  # score -> respondents
    cannot_rate: int = 0
    suppressed: bool = False

    @property
    def band(self) -> Band | None:
        return Band.of(self.mean) if self.mean is not None else None


@dataclass(frozen=True, slots=True)
class Nps:
    """Net promoter score: % of 9–10 minus % of 0–6."""

    n: int
    promoters: int = 0
    passives: int = 0
    detractors: int = 0
    suppressed: bool = False

    @property
    def value(self) -> float | None:
        if self.suppressed or not self.n:
            return None
        return 100.0 * (self.promoters - self.detractors) / self.n


@dataclass(frozen=True, slots=True)
class GroupRow:
    """One group of a breakdown (a service, a channel, a life situation) in two periods."""

    dimension: Dimension
    key: str | None  # the code; None groups responses without it
    title: str
    current: Score
    previous: Score

    @property
    def csat_change(self) -> float | None:
        if self.current.csat is None or self.previous.csat is None:
            return None
        return self.current.csat - self.previous.csat


@dataclass(frozen=True, slots=True)
class ProblemRow:
    """A problem (an option of a `problems` question) and how much it hurts.

    prevalence = respondents naming it / respondents of that scope;
    priority = prevalence × (5 − mean overall score of those naming it).
    """

    question_id: str
    option_id: str
    title: str
    respondents: int
    prevalence: float  # 0..1
    mean_overall: float | None
    priority: float | None
    # Fewer respondents than the threshold named it: no figures (respondents 0, prevalence 0.0).
    suppressed: bool = False

    @property
    def priority_band(self) -> Band | None:
        return priority_band(self.priority)


def priority_band(priority: float | None) -> Band | None:
    """A pain's priority as a band: ≥ 1.0 high, ≥ 0.4 medium (read inversely: large is bad)."""
    if priority is None:
        return None
    if priority >= 1.0:
        return Band.HIGH
    if priority >= 0.4:
        return Band.MEDIUM
    return Band.LOW


@dataclass(frozen=True, slots=True)
class QuitPoint:
    question_id: str
    title: str
    quits: int
    questionnaire_id: str = ""
    suppressed: bool = False  # fewer quits than the threshold: quits is 0


@dataclass(frozen=True, slots=True)
class DropOff:
    """Dialogs started and completed in the period, and where people stopped."""

    started: int
    completed: int
    quit_points: tuple[QuitPoint, ...] = ()
    cancelled: int = 0
    suppressed: bool = False  # fewer dialogs started than the threshold: all counts are 0

    @property
    def completion_rate(self) -> float | None:
        return 100.0 * self.completed / self.started if self.started else None


@dataclass(frozen=True, slots=True)
class TrendPoint:
    """CSAT of one service in one week or month (for the trend chart)."""

    service: str | None
    bucket_start: date
    score: Score


# --- parameters and key drivers (reports.parameters builds them) ---------------------------


class Quadrant(enum.StrEnum):
    """Importance × performance: where a parameter sits and what to do about it."""

    KEEP = "keep"  # important and good
    IMPROVE_FIRST = "improve_first"  # important and weak
    IMPROVE_LATER = "improve_later"  # less important and weak
    DO_NOT_OVERINVEST = "do_not_overinvest"  # less important and good

    def label(self, language: Language = Language.RU) -> str:
        return tr(language, _QUADRANTS[self])


_QUADRANTS: Final = {
    Quadrant.KEEP: N_("parameters.quadrant.keep"),
    Quadrant.IMPROVE_FIRST: N_("parameters.quadrant.improve_first"),
    Quadrant.IMPROVE_LATER: N_("parameters.quadrant.improve_later"),
    Quadrant.DO_NOT_OVERINVEST: N_("parameters.quadrant.do_not_overinvest"),
}
#: (Russian, English) of each quadrant; the texts are in the catalogues.
QUADRANT_LABELS: Final = {
    quadrant: (quadrant.label(Language.RU), quadrant.label(Language.EN)) for quadrant in Quadrant
}


@dataclass(frozen=True, slots=True)
class ParameterRow:
    """One parameter (or staff aspect) in the period and the period compared with."""

    questionnaire_id: str
    question_id: str
    title: str
    current: Score  # n, mean, share of 4–5 (csat), band, "cannot rate" apart
    previous: Score
    #: Anyone in the whole audience answered it in the period (a fact about everyone, not
    #: about the scope): messages leave out what nobody was asked, e.g. before a deep poll.
    asked: bool = True

    @property
    def share_change(self) -> float | None:
        """Change of the share of 4–5 in percentage points, when both periods show it."""
        if self.current.suppressed or self.previous.suppressed:
            return None
        if self.current.csat is None or self.previous.csat is None:
            return None
        return self.current.csat - self.previous.csat

    @property
    def mean_change(self) -> float | None:
        if self.current.suppressed or self.previous.suppressed:
            return None
        if self.current.mean is None or self.previous.mean is None:
            return None
        return self.current.mean - self.previous.mean


@dataclass(frozen=True, slots=True)
class DriverRow:
    """How strongly one parameter moves overall satisfaction (current period)."""

    questionnaire_id: str
    question_id: str
    title: str
    pairs: int  # respondents with both scores 1–5; 0 when suppressed
    spearman: float | None = None
    pearson: float | None = None
    performance: float | None = None  # the parameter's mean, when shown
    share_satisfied: float | None = None  # the parameter's share of 4–5, when shown
    quadrant: Quadrant | None = None
    #: Not a union of blocks of the pairs' plan, or fewer pairs than MIN_DRIVER_PAIRS.
    suppressed: bool = False


@dataclass(frozen=True, slots=True)
class ParameterSection:
    """Parameters and key drivers of one scope and period: the read API of every renderer."""

    period: Period
    compared_with: Period
    min_group: int
    min_pairs: int
    rows: tuple[ParameterRow, ...]
    drivers: tuple[DriverRow, ...]  # strongest first, suppressed last
    importance_split: float | None = None  # the median ρ of the shown drivers

    @property
    def shown_drivers(self) -> tuple[DriverRow, ...]:
        return tuple(d for d in self.drivers if not d.suppressed and d.spearman is not None)


@dataclass(frozen=True, slots=True)
class DepartmentRow:
    """Staff results of one department (or of the merged rest) in the period."""

    key: str | None  # the department code; None for «другие подразделения»
    title: str
    overall: Score
    overall_previous: Score
    aspects: tuple[tuple[str, Score], ...]  # question id -> score, in questionnaire order

    @property
    def merged(self) -> bool:
        return self.key is None


@dataclass(frozen=True, slots=True)
class InternalReport:
    """The internal officer's report on the staff poll (§4.2, §4.4; due by 31 December, §3.2)."""

    title: str
    period: Period
    compared_with: Period
    min_group: int
    overall: Score
    overall_previous: Score
    aspects: ParameterSection
    departments: tuple[DepartmentRow, ...] = ()
    #: Departments answered, but fewer than two groups could be shown: no breakdown at all.
    departments_withheld: bool = False


@dataclass(frozen=True, slots=True)
class Report:
    """Everything the officer's message, chart and workbook show for one scope and period."""

    title: str
    period: Period
    scope: Scope
    overall: Score
    overall_previous: Score
    groups: tuple[GroupRow, ...]
    problems: tuple[ProblemRow, ...]
    nps: Nps | None
    drop_off: DropOff | None
    comments: tuple[str, ...]  # only from groups at or above the comment threshold
    comments_suppressed: bool
    min_group: int
    #: The period the "previous" figures cover; every label of the comparison names it
    #: (issue 10, item 8: a label computed apart named a different period than the figures).
    compared_with: Period
    #: Parameters of the deep poll (§3.1) and their key drivers; None when not computed.
    parameters: ParameterSection | None = None
    #: Whether the comments include the web's: false when some web answers of the scope were
    #: dropped (reports.disclosure), so every listing of them leaves the web's out as well.
    comments_web: bool = True

    def by(self, dimension: Dimension) -> tuple[GroupRow, ...]:
        return tuple(row for row in self.groups if row.dimension == dimension)


@dataclass(frozen=True, slots=True)
class NegativeGroup:
    """Strongly negative ratings of one service in one closed period, as an alert shows them."""

    service: str | None
    title: str
    negatives: int
    problems: tuple[tuple[str, int], ...]  # option title, negative respondents naming it
    comments: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class QuestionnaireRoles:
    """Which question ids play which analysis role, per questionnaire, from the YAML files."""

    overall: dict[str, str]  # questionnaire id -> overall question id
    problems: dict[str, str]
    nps: dict[str, str]
    comments: dict[str, tuple[str, ...]]
    #: (questionnaire, question, option) and (questionnaire, question) -> title, in Russian
    #: unless the roles were taken ``in_language``.
    option_titles: dict[tuple[str, str, str], str]
    question_titles: dict[tuple[str, str], str]
    audiences: dict[str, str] = field(default_factory=dict)  # questionnaire id -> audience
    #: Questions rated 1–5 as parameters (§3.1) or staff aspects (§4.2), in questionnaire order.
    parameters: dict[str, tuple[str, ...]] = field(default_factory=dict)
    #: Satisfaction with the life situation as a whole (Role.SITUATION), and the question naming
    #: the life situation when the link did not (Role.SITUATION_CHOICE), per questionnaire.
    situation: dict[str, str] = field(default_factory=dict)
    situation_choice: dict[str, str] = field(default_factory=dict)
    #: Every question's wording in all its languages, for outputs in the reader's language
    #: (the workbook's response columns); ``question_titles`` keeps one language's.
    question_texts: dict[tuple[str, str], Text] = field(default_factory=dict)
    #: Every option's wording in all its languages; ``option_titles`` keeps one language's.
    option_texts: dict[tuple[str, str, str], Text] = field(default_factory=dict)
    #: The language the titles above are in: a report read with these roles uses it for the
    #: words it adds to the data (the comment mask, «other departments», the staff title).
    language: Language = Language.RU

    def in_language(self, language: Language) -> QuestionnaireRoles:
        """These roles with option and question titles in ``language`` (Russian where a text
        has none), for a report read in it: every title the metrics pick then is in it."""
        if language == Language.RU:
            return self
        options = {
            key: text.get(language) if (text := self.option_texts.get(key)) else title
            for key, title in self.option_titles.items()
        }
        questions = {key: self.question_title(key, language) for key in self.question_titles}
        return replace(self, option_titles=options, question_titles=questions, language=language)

    def option_title(self, question: str, option: str) -> str | None:
        """An option's title by its question and option ids (the first questionnaire's that
        has it, as the problems of a report are merged across questionnaires)."""
        return next(
            (
                title
                for (_, q, o), title in self.option_titles.items()
                if (q, o) == (question, option)
            ),
            None,
        )

    def question_title(self, key: tuple[str, str], language: Language) -> str:
        """A question's wording in ``language`` (Russian when it has no such text)."""
        text = self.question_texts.get(key)
        return text.get(language) if text is not None else self.question_titles.get(key, key[1])

    @classmethod
    def from_questionnaires(cls, questionnaires: dict[str, Questionnaire]) -> QuestionnaireRoles:
        overall: dict[str, str] = {}
        problems: dict[str, str] = {}
        nps: dict[str, str] = {}
        comments: dict[str, tuple[str, ...]] = {}
        option_titles: dict[tuple[str, str, str], str] = {}
        question_titles: dict[tuple[str, str], str] = {}
        question_texts: dict[tuple[str, str], Text] = {}
        option_texts: dict[tuple[str, str, str], Text] = {}
        audiences: dict[str, str] = {}
        parameters: dict[str, tuple[str, ...]] = {}
        situation: dict[str, str] = {}
        situation_choice: dict[str, str] = {}
        for qid, questionnaire in questionnaires.items():
            audiences[qid] = str(questionnaire.audience)
            for question in questionnaire.questions:
                question_titles[(qid, question.id)] = question.text.ru
                question_texts[(qid, question.id)] = question.text
                if question.role == Role.OVERALL:
                    overall[qid] = question.id
                elif question.role == Role.PROBLEMS and qid not in problems:
                    problems[qid] = question.id
                if question.type == "nps" and qid not in nps:
                    nps[qid] = question.id
                if question.role == Role.COMMENT:
                    comments[qid] = (*comments.get(qid, ()), question.id)
                if question.role == Role.PARAMETER and question.type == "scale":
                    parameters[qid] = (*parameters.get(qid, ()), question.id)
                if question.role == Role.SITUATION:
                    situation.setdefault(qid, question.id)
                if question.role == Role.SITUATION_CHOICE:
                    situation_choice.setdefault(qid, question.id)
                for option in getattr(question, "options", ()):
                    option_titles[(qid, question.id, option.id)] = option.text.ru
                    option_texts[(qid, question.id, option.id)] = option.text
        return cls(
            overall,
            problems,
            nps,
            comments,
            option_titles,
            question_titles,
            audiences,
            parameters,
            situation,
            situation_choice,
            question_texts,
            option_texts,
        )
