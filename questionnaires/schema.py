"""Pydantic models of the questionnaire YAML format: the structure, refusing unknown keys."""

from __future__ import annotations

import enum
from typing import Annotated, Final, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

#: Ids go into callback data (64 bytes) and into stored answers, so they are short and stable.
Identifier = Annotated[
    str,
    StringConstraints(pattern=r"^[a-z][a-z0-9_]*$", min_length=1, max_length=32),
    Field(description="Stable id: lowercase latin letters, digits and _; never reword it."),
]

#: Context keys a deep link may carry; show_if and placeholders may use them.
CONTEXT_KEYS: Final = ("service", "channel", "life_situation")

#: A question may never show more buttons than fit a phone screen sensibly.
MAX_SCALE_POINTS: Final = 11
MAX_TEXT_LENGTH: Final = 3500


class Language(enum.StrEnum):
    RU = "ru"
    EN = "en"


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Text(_Strict):
    """A user-facing text: Russian is required, English optional (falls back to Russian)."""

    ru: Annotated[str, StringConstraints(min_length=1, strip_whitespace=True)] = Field(
        description="Russian text (required)."
    )
    en: Annotated[str, StringConstraints(min_length=1, strip_whitespace=True)] | None = Field(
        default=None, description="English text; Russian is shown when it is missing."
    )

    def get(self, language: Language | str) -> str:
        if language == Language.EN and self.en:
            return self.en
        return self.ru


class Kind(enum.StrEnum):
    POST_SERVICE = "post_service"
    DEEP = "deep"
    STAFF = "staff"
    INITIATIVE = "initiative"


class Audience(enum.StrEnum):
    EXTERNAL = "external"
    INTERNAL = "internal"


class Role(enum.StrEnum):
    """What a question means for analysis."""

    OVERALL = "overall"  # the one core satisfaction question, 1-5, asked the same everywhere
    PROBLEMS = "problems"  # its options feed the pain map
    PARAMETER = "parameter"  # a satisfaction parameter rated on a scale
    COMMENT = "comment"  # free text shown to officers above the anonymity threshold
    # Concept §6.2: satisfaction with resolving the life situation as a whole, 1-5.
    SITUATION = "situation"
    # A single choice naming the life situation; its option ids are the catalog's codes.
    SITUATION_CHOICE = "situation_choice"


class Option(_Strict):
    id: Identifier
    text: Text
    other: bool = Field(
        default=False, description="Choosing it asks a short follow-up text ('other: …')."
    )


class TextVariant(_Strict):
    """Alternative wording shown when its condition holds (the first match wins)."""

    show_if: str = Field(alias="if", description="Condition over earlier answers and context.")
    text: Text

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


class _QuestionBase(_Strict):
    id: Identifier
    text: Text = Field(description="The question; may use {service}, {channel}, {<question id>}.")
    hint: Text | None = None
    variants: tuple[TextVariant, ...] = Field(
        default=(), description="Wordings that replace `text` when their condition holds."
    )
    required: bool = True
    show_if: str | None = Field(
        default=None,
        description="Show only when this holds, e.g. `overall <= 3 or solved in [partly, no]`.",
    )
    role: Role | None = None


class ScaleLabels(_Strict):
    min: Text | None = None
    max: Text | None = None


class ScaleQuestion(_QuestionBase):
    type: Literal["scale"]
    min: int = 1
    max: int = 5
    labels: ScaleLabels | None = None
    cannot_rate: bool = Field(default=False, description="Offer 'cannot rate'.")


class NpsQuestion(_QuestionBase):
    """Net promoter question: always 0-10."""

    type: Literal["nps"]
    labels: ScaleLabels | None = None

    @property
    def min(self) -> int:
        return 0

    @property
    def max(self) -> int:
        return 10

    @property
    def cannot_rate(self) -> bool:
        return False


class SingleChoiceQuestion(_QuestionBase):
    type: Literal["single"]
    options: tuple[Option, ...] = Field(min_length=2)
    other_max_length: int = Field(default=200, ge=1, le=MAX_TEXT_LENGTH)


class MultiChoiceQuestion(_QuestionBase):
    type: Literal["multi"]
    options: tuple[Option, ...] = Field(min_length=2)
    max_choices: int | None = Field(default=None, ge=1)
    other_max_length: int = Field(default=200, ge=1, le=MAX_TEXT_LENGTH)


class TextQuestion(_QuestionBase):
    type: Literal["text"]
    max_length: int = Field(default=1000, ge=1, le=MAX_TEXT_LENGTH)


class YesNoQuestion(_QuestionBase):
    """A yes/no question; its answers are the option ids `yes` and `no`."""

    type: Literal["yes_no"]

    @property
    def options(self) -> tuple[Option, ...]:
        return YES_NO_OPTIONS


YES_NO_OPTIONS: Final = (
    Option(id="yes", text=Text(ru="Да", en="Yes")),
    Option(id="no", text=Text(ru="Нет", en="No")),
)

Question = Annotated[
    ScaleQuestion
    | NpsQuestion
    | SingleChoiceQuestion
    | MultiChoiceQuestion
    | TextQuestion
    | YesNoQuestion,
    Field(discriminator="type"),
]
QUESTION_TYPES: Final = frozenset({"scale", "nps", "single", "multi", "text", "yes_no"})
ChoiceQuestion = SingleChoiceQuestion | MultiChoiceQuestion | YesNoQuestion
RatingQuestion = ScaleQuestion | NpsQuestion

DEFAULT_OUTRO: Final = Text(
    ru="Спасибо! Ваш ответ сохранён анонимно и войдёт в анализ качества услуг.",
    en="Thank you! Your answer is stored anonymously and goes into the service quality review.",
)


class Questionnaire(_Strict):
    """One questionnaire file."""

    id: Identifier
    version: int = Field(ge=1, description="Raise it when questions change meaning.")
    kind: Kind
    audience: Audience
    title: Text
    intro: Text | None = Field(default=None, description="Shown before the first question.")
    outro: Text = Field(default=DEFAULT_OUTRO, description="Thank-you: how feedback is used.")
    questions: tuple[Question, ...] = Field(min_length=1)

    model_config = ConfigDict(
        extra="forbid",
        frozen=True,
        json_schema_extra={"title": "Otklik questionnaire"},
    )

    def question(self, question_id: str) -> Question:
        for question in self.questions:
            if question.id == question_id:
                return question
        raise KeyError(question_id)

    def index_of(self, question_id: str) -> int:
        for index, question in enumerate(self.questions):
            if question.id == question_id:
                return index
        raise KeyError(question_id)

    def with_role(self, role: Role) -> tuple[Question, ...]:
        return tuple(q for q in self.questions if q.role == role)
