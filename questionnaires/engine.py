"""The pure dialog engine: progress in, outcome out; no messenger, database, clock or I/O.

Progress (the `Progress` TypedDict) is JSON-safe so any FSM storage can hold it between updates:

    {"qn": id, "ver": version, "ctx": {service, channel, life_situation},
     "ans": {question id: int | str | [str]}, "oth": {question id: "other" text},
     "hist": [ids of questions already shown, in order], "cur": id | None,
     "stage": "ask" | "other", "draft": [option ids toggled on a multi question], "turn": n}

Answers of questions that later became hidden (after Back and a changed answer) stay in
``ans`` only as a pre-fill; visibility is recomputed from the start on every step, so a hidden
question is never asked and its stale answer never reaches the result.
"""

from __future__ import annotations

import copy
import enum
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from functools import lru_cache
from typing import Any, Final, Literal, TypeAlias, TypedDict, cast

from questionnaires.conditions import AnswerValue, Condition, parse_condition
from questionnaires.errors import DialogFinishedError, StaleProgressError
from questionnaires.results import (
    CANNOT_RATE,
    AnswerRow,
    CompletedResponse,
    ResponseContext,
)
from questionnaires.schema import (
    MultiChoiceQuestion,
    NpsQuestion,
    Option,
    Question,
    Questionnaire,
    ScaleQuestion,
    SingleChoiceQuestion,
    TextQuestion,
    YesNoQuestion,
)

STAGE_ASK: Final = "ask"
STAGE_OTHER: Final = "other"


class ContextData(TypedDict):
    """A ``ResponseContext`` as JSON (``ResponseContext.as_mapping``)."""

    service: str | None
    channel: str | None
    life_situation: str | None


class Progress(TypedDict):
    """Where a dialog stands; the keys are the JSON stored by every FSM storage, unchanged
    since progress was a plain dict, so live dialogs load as they are."""

    qn: str  # questionnaire id
    ver: int  # questionnaire version
    ctx: ContextData
    ans: dict[str, AnswerValue]  # question id -> answer
    oth: dict[str, str]  # question id -> the follow-up text of its "other" option
    hist: list[str]  # ids of questions already shown, in order
    cur: str | None  # the question waited for; None once completed
    stage: Literal["ask", "other"]
    draft: list[str]  # options toggled on the current multiple choice question
    turn: int  # bumped on every step shown: a button carries the turn it was drawn for


# --- inputs -------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Choose:
    """Pick one option of a single choice or yes/no question."""

    option_id: str


@dataclass(frozen=True, slots=True)
class ChooseMany:
    """Answer a multiple choice question at once (preview, tests)."""

    option_ids: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Toggle:
    """Switch one option of a multiple choice question on or off."""

    option_id: str


@dataclass(frozen=True, slots=True)
class Done:
    """Confirm the toggled options of a multiple choice question."""


@dataclass(frozen=True, slots=True)
class Rate:
    value: int


@dataclass(frozen=True, slots=True)
class CannotRate:
    pass


@dataclass(frozen=True, slots=True)
class TextInput:
    text: str


Input: TypeAlias = Choose | ChooseMany | Toggle | Done | Rate | CannotRate | TextInput


# --- outcomes -----------------------------------------------------------------------------


class Reason(enum.StrEnum):
    """Why an input was not accepted; the caller words it for the person."""

    EXPECTS_CHOICE = "expects_choice"
    EXPECTS_TEXT = "expects_text"
    UNKNOWN_OPTION = "unknown_option"
    OUT_OF_RANGE = "out_of_range"
    CANNOT_RATE_NOT_OFFERED = "cannot_rate_not_offered"
    EMPTY_TEXT = "empty_text"
    INVISIBLE_TEXT = "invisible_text"
    TOO_LONG = "too_long"
    TOO_MANY_CHOICES = "too_many_choices"
    NOTHING_SELECTED = "nothing_selected"
    REQUIRED = "required"
    NOTHING_TO_GO_BACK = "nothing_to_go_back"


@dataclass(frozen=True, slots=True)
class Asked:
    """The dialog waits for an answer to `question`."""

    progress: Progress
    question: Question
    number: int  # 1-based position among the questions shown
    total: int  # questions that will be shown, as far as the answers so far tell
    selected: tuple[str, ...] = ()  # multi choice: options toggled on
    awaiting_other: bool = False  # the follow-up text of an "other" option is due
    prefill: AnswerValue | None = None  # the earlier answer, after Back

    @property
    def can_go_back(self) -> bool:
        return self.awaiting_other or bool(self.progress["hist"])

    @property
    def can_skip(self) -> bool:
        return self.awaiting_other or not self.question.required

    @property
    def turn(self) -> int:
        return int(self.progress["turn"])


@dataclass(frozen=True, slots=True)
class Rejected:
    """The input was refused; `asked` is the unchanged question to show again."""

    asked: Asked
    reason: Reason
    limit: int | None = None


@dataclass(frozen=True, slots=True)
class Completed:
    """All shown questions are answered; `answers` is what gets stored."""

    progress: Progress
    questionnaire: Questionnaire
    context: ResponseContext
    answers: tuple[AnswerRow, ...]

    def to_response(self, submitted_on: date) -> CompletedResponse:
        return CompletedResponse(
            questionnaire_id=self.questionnaire.id,
            questionnaire_version=self.questionnaire.version,
            kind=str(self.questionnaire.kind),
            audience=str(self.questionnaire.audience),
            context=self.context,
            submitted_on=submitted_on,
            answers=self.answers,
        )


Outcome: TypeAlias = Asked | Rejected | Completed


# --- conditions ---------------------------------------------------------------------------


@lru_cache(maxsize=1024)
def compiled(source: str) -> Condition:
    """Conditions are parsed once per process; questionnaires are immutable."""
    return parse_condition(source)


def effective_answers(
    questionnaire: Questionnaire, progress: Progress, upto: int | None = None
) -> dict[str, AnswerValue]:
    """Answers of the questions that are visible under the answers before them."""
    answers: dict[str, AnswerValue] = progress["ans"]
    context = context_values(progress)
    limit = len(questionnaire.questions) if upto is None else upto
    effective: dict[str, AnswerValue] = {}
    for question in questionnaire.questions[:limit]:
        if question.id in answers and is_visible(question, effective, context):
            effective[question.id] = answers[question.id]
    return effective


def context_values(progress: Progress) -> Mapping[str, str | None]:
    """The context of a progress as conditions read it (``service``, ``channel``, …)."""
    return cast("Mapping[str, str | None]", progress["ctx"])


def is_visible(
    question: Question, answers: Mapping[str, AnswerValue], context: Mapping[str, str | None]
) -> bool:
    return question.show_if is None or compiled(question.show_if).evaluate(answers, context)


# --- the engine ---------------------------------------------------------------------------


def start(questionnaire: Questionnaire, context: ResponseContext) -> Asked | Completed:
    """Begin a dialog; returns the first visible question."""
    ctx: ContextData = {
        "service": context.service,
        "channel": context.channel,
        "life_situation": context.life_situation,
    }
    progress: Progress = {
        "qn": questionnaire.id,
        "ver": questionnaire.version,
        "ctx": ctx,
        "ans": {},
        "oth": {},
        "hist": [],
        "cur": None,
        "stage": STAGE_ASK,
        "draft": [],
        "turn": 0,
    }
    return _advance(questionnaire, progress, after=-1)


_IMMUTABLE: Final = (str, int, float, bool, type(None))


def _copied(value: Any) -> Any:
    """A deep copy of a JSON-safe value: dicts and lists copied, scalars shared.

    ``copy.deepcopy`` costs several times more (its memo and dispatch per object) on every
    press; anything that is not JSON still goes through it.
    """
    kind = type(value)
    if kind is dict:
        return {key: _copied(item) for key, item in value.items()}
    if kind is list:
        return [_copied(item) for item in value]
    if kind in _IMMUTABLE:
        return value
    return copy.deepcopy(value)


def _copy_progress(progress: Progress) -> Progress:
    """The progress to change, so that the caller's stays as it was."""
    return cast(Progress, _copied(progress))


def current(questionnaire: Questionnaire, progress: Progress) -> Asked:
    """The question the dialog waits for (to show it again, e.g. after a restart)."""
    _check(questionnaire, progress)
    return _asked(questionnaire, progress)


def answer(questionnaire: Questionnaire, progress: Progress, given: Input) -> Outcome:
    """Apply one input; the given progress is not modified."""
    _check(questionnaire, progress)
    progress = _copy_progress(progress)
    question = _current_question(questionnaire, progress)
    if progress["stage"] == STAGE_OTHER:
        return _answer_other(questionnaire, progress, question, given)
    if isinstance(question, ScaleQuestion | NpsQuestion):
        return _answer_rating(questionnaire, progress, question, given)
    if isinstance(question, MultiChoiceQuestion):
        return _answer_multi(questionnaire, progress, question, given)
    if isinstance(question, SingleChoiceQuestion | YesNoQuestion):
        return _answer_single(questionnaire, progress, question, given)
    return _answer_text(questionnaire, progress, question, given)


def skip(questionnaire: Questionnaire, progress: Progress) -> Outcome:
    """Skip an optional question (or the follow-up text of "other")."""
    _check(questionnaire, progress)
    progress = _copy_progress(progress)
    question = _current_question(questionnaire, progress)
    if progress["stage"] == STAGE_OTHER:
        progress["oth"].pop(question.id, None)
        return _move_on(questionnaire, progress, question)
    if question.required:
        return _reject(questionnaire, progress, Reason.REQUIRED)
    progress["ans"].pop(question.id, None)
    progress["oth"].pop(question.id, None)
    return _move_on(questionnaire, progress, question)


def back(questionnaire: Questionnaire, progress: Progress) -> Asked | Rejected:
    """Return to the previous question shown, keeping its answer as a pre-fill."""
    _check(questionnaire, progress)
    progress = _copy_progress(progress)
    if progress["stage"] == STAGE_OTHER:
        progress["stage"] = STAGE_ASK
        return _asked(questionnaire, progress, bump=True)
    if not progress["hist"]:
        return _reject(questionnaire, progress, Reason.NOTHING_TO_GO_BACK)
    progress["cur"] = progress["hist"].pop()
    progress["draft"] = []
    return _asked(questionnaire, progress, bump=True)


def interpret_text(question: Question, text: str) -> Input:
    """Understand typed text where a button is expected: a number for a rating, an option's
    wording for a choice. Anything else stays text (and is refused with a hint)."""
    stripped = text.strip()
    if isinstance(question, ScaleQuestion | NpsQuestion):
        try:
            return Rate(int(stripped))
        except ValueError:
            return TextInput(text)
    if isinstance(question, SingleChoiceQuestion | YesNoQuestion):
        option = _option_by_wording(question.options, stripped)
        return Choose(option.id) if option else TextInput(text)
    if isinstance(question, MultiChoiceQuestion):
        option = _option_by_wording(question.options, stripped)
        return Toggle(option.id) if option else TextInput(text)
    return TextInput(text)


def _option_by_wording(options: tuple[Option, ...], text: str) -> Option | None:
    wanted = text.casefold()
    for option in options:
        if wanted in {option.text.ru.casefold(), (option.text.en or "").casefold()}:
            return option
    return None


# --- internals ----------------------------------------------------------------------------


def _check(questionnaire: Questionnaire, progress: Progress) -> None:
    try:
        same = progress["qn"] == questionnaire.id and progress["ver"] == questionnaire.version
    except (KeyError, TypeError):
        raise StaleProgressError("progress is not a dialog state") from None
    if not same:
        raise StaleProgressError(
            f"progress of {progress.get('qn')} v{progress.get('ver')} does not match "
            f"{questionnaire.id} v{questionnaire.version}"
        )
    current = progress.get("cur")
    if current is None:
        raise DialogFinishedError(questionnaire.id)
    try:
        questionnaire.question(current)
    except KeyError:
        raise StaleProgressError(f"unknown question {current!r}") from None


def _current_question(questionnaire: Questionnaire, progress: Progress) -> Question:
    current = progress["cur"]
    assert current is not None, "checked by _check"
    return questionnaire.question(current)


def _asked(questionnaire: Questionnaire, progress: Progress, *, bump: bool = False) -> Asked:
    if bump:
        progress["turn"] += 1
    question = _current_question(questionnaire, progress)
    index = questionnaire.index_of(question.id)
    effective = effective_answers(questionnaire, progress, upto=index)
    later = 0
    answers_so_far = dict(effective)
    context = context_values(progress)
    for other in questionnaire.questions[index + 1 :]:
        # Count what will be shown given what is known; a later answer can still reveal more.
        if is_visible(other, answers_so_far, context):
            later += 1
    prefill = progress["ans"].get(question.id)
    if (
        isinstance(question, MultiChoiceQuestion)
        and isinstance(prefill, list)
        and progress["stage"] == STAGE_ASK
        and not progress["draft"]
    ):
        progress["draft"] = list(prefill)
    number = len(progress["hist"]) + 1
    return Asked(
        progress=progress,
        question=question,
        number=number,
        total=number + later,
        selected=tuple(progress["draft"]),
        awaiting_other=progress["stage"] == STAGE_OTHER,
        prefill=prefill,
    )


def _reject(
    questionnaire: Questionnaire, progress: Progress, reason: Reason, limit: int | None = None
) -> Rejected:
    return Rejected(_asked(questionnaire, progress), reason, limit)


def _advance(questionnaire: Questionnaire, progress: Progress, after: int) -> Asked | Completed:
    progress["stage"] = STAGE_ASK
    progress["draft"] = []
    progress["turn"] += 1
    context = context_values(progress)
    for index in range(after + 1, len(questionnaire.questions)):
        question = questionnaire.questions[index]
        effective = effective_answers(questionnaire, progress, upto=index)
        if is_visible(question, effective, context):
            progress["cur"] = question.id
            return _asked(questionnaire, progress)
    progress["cur"] = None
    effective = effective_answers(questionnaire, progress)
    return Completed(
        progress=progress,
        questionnaire=questionnaire,
        context=ResponseContext(**progress["ctx"]),
        answers=_rows(questionnaire, effective, progress["oth"]),
    )


def _move_on(
    questionnaire: Questionnaire, progress: Progress, question: Question
) -> Asked | Completed:
    progress["hist"].append(question.id)
    return _advance(questionnaire, progress, after=questionnaire.index_of(question.id))


def _answer_rating(
    questionnaire: Questionnaire,
    progress: Progress,
    question: ScaleQuestion | NpsQuestion,
    given: Input,
) -> Outcome:
    if isinstance(given, TextInput):
        given = interpret_text(question, given.text)
    if isinstance(given, CannotRate):
        if not question.cannot_rate:
            return _reject(questionnaire, progress, Reason.CANNOT_RATE_NOT_OFFERED)
        progress["ans"][question.id] = CANNOT_RATE
        return _move_on(questionnaire, progress, question)
    if not isinstance(given, Rate):
        return _reject(questionnaire, progress, Reason.EXPECTS_CHOICE)
    if not question.min <= given.value <= question.max:
        return _reject(questionnaire, progress, Reason.OUT_OF_RANGE)
    progress["ans"][question.id] = given.value
    return _move_on(questionnaire, progress, question)


def _answer_single(
    questionnaire: Questionnaire,
    progress: Progress,
    question: SingleChoiceQuestion | YesNoQuestion,
    given: Input,
) -> Outcome:
    if isinstance(given, TextInput):
        given = interpret_text(question, given.text)
    if not isinstance(given, Choose):
        return _reject(questionnaire, progress, Reason.EXPECTS_CHOICE)
    option = next((o for o in question.options if o.id == given.option_id), None)
    if option is None:
        return _reject(questionnaire, progress, Reason.UNKNOWN_OPTION)
    progress["ans"][question.id] = option.id
    if option.other:
        progress["stage"] = STAGE_OTHER
        return _asked(questionnaire, progress, bump=True)
    progress["oth"].pop(question.id, None)
    return _move_on(questionnaire, progress, question)


def _answer_multi(
    questionnaire: Questionnaire,
    progress: Progress,
    question: MultiChoiceQuestion,
    given: Input,
) -> Outcome:
    if isinstance(given, TextInput):
        given = interpret_text(question, given.text)
    valid = [o.id for o in question.options]
    if isinstance(given, Toggle):
        if given.option_id not in valid:
            return _reject(questionnaire, progress, Reason.UNKNOWN_OPTION)
        draft: list[str] = progress["draft"]
        if given.option_id in draft:
            draft.remove(given.option_id)
        else:
            if question.max_choices is not None and len(draft) >= question.max_choices:
                return _reject(
                    questionnaire, progress, Reason.TOO_MANY_CHOICES, question.max_choices
                )
            draft.append(given.option_id)
        return _asked(questionnaire, progress, bump=True)
    if isinstance(given, ChooseMany):
        if any(option_id not in valid for option_id in given.option_ids):
            return _reject(questionnaire, progress, Reason.UNKNOWN_OPTION)
        progress["draft"] = list(dict.fromkeys(given.option_ids))
        given = Done()
    if not isinstance(given, Done):
        return _reject(questionnaire, progress, Reason.EXPECTS_CHOICE)
    chosen = [option_id for option_id in valid if option_id in progress["draft"]]
    if question.max_choices is not None and len(chosen) > question.max_choices:
        return _reject(questionnaire, progress, Reason.TOO_MANY_CHOICES, question.max_choices)
    if not chosen:
        if question.required:
            return _reject(questionnaire, progress, Reason.NOTHING_SELECTED)
        progress["ans"].pop(question.id, None)
        progress["oth"].pop(question.id, None)
        return _move_on(questionnaire, progress, question)
    progress["ans"][question.id] = chosen
    other = next((o for o in question.options if o.other and o.id in chosen), None)
    if other is not None:
        progress["stage"] = STAGE_OTHER
        return _asked(questionnaire, progress, bump=True)
    progress["oth"].pop(question.id, None)
    return _move_on(questionnaire, progress, question)


def _answer_text(
    questionnaire: Questionnaire, progress: Progress, question: TextQuestion, given: Input
) -> Outcome:
    return _store_text(questionnaire, progress, question, given, "ans", question.max_length)


def _answer_other(
    questionnaire: Questionnaire, progress: Progress, question: Question, given: Input
) -> Outcome:
    assert isinstance(question, SingleChoiceQuestion | MultiChoiceQuestion)
    return _store_text(questionnaire, progress, question, given, "oth", question.other_max_length)


def _store_text(
    questionnaire: Questionnaire,
    progress: Progress,
    question: Question,
    given: Input,
    slot: Literal["ans", "oth"],
    limit: int,
) -> Outcome:
    """A free-text answer or an "other" follow-up: trimmed, not empty, within the limit."""
    if not isinstance(given, TextInput):
        return _reject(questionnaire, progress, Reason.EXPECTS_TEXT)
    text = clean_text(given.text)
    if not has_visible(text):
        # Spaces only read as "empty"; zero-width or filler characters need their own words.
        reason = Reason.INVISIBLE_TEXT if given.text.strip() else Reason.EMPTY_TEXT
        return _reject(questionnaire, progress, reason)
    if len(text) > limit:
        return _reject(questionnaire, progress, Reason.TOO_LONG, limit)
    if slot == "ans":
        progress["ans"][question.id] = text
    else:
        progress["oth"][question.id] = text
    return _move_on(questionnaire, progress, question)


# --- text hygiene ---------------------------------------------------------------------------

#: Characters that draw nothing yet are not spaces or format characters in Unicode's own
#: categories: fillers often pasted to send an "empty" message.
_FILLERS: Final = frozenset("\u115f\u1160\u17b4\u17b5\u180e\u2800\u3164\uffa0\u034f\u061c\u00ad")
#: Categories that never show anything on their own (controls, format, separators, lone
#: surrogates, combining marks without a base).
_UNSEEN_CATEGORIES: Final = frozenset({"Cc", "Cf", "Cs", "Zs", "Zl", "Zp", "Mn", "Me"})
_KEPT_CONTROLS: Final = frozenset("\n\t")


def _is_edge_blank(char: str) -> bool:
    # Trimmed at the ends of an answer; combining marks stay (they belong to what precedes).
    return char.isspace() or char in _FILLERS or unicodedata.category(char) in {"Cf", "Zs"}


def clean_text(text: str) -> str:
    """Typed text as stored: line breaks unified, control characters (but newline and tab)
    and lone surrogates dropped, NFC-normalised, blank and invisible ends trimmed."""
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    text = "".join(
        char
        for char in text
        if char in _KEPT_CONTROLS or unicodedata.category(char) not in {"Cc", "Cs"}
    )
    text = unicodedata.normalize("NFC", text)
    start, end = 0, len(text)
    while start < end and _is_edge_blank(text[start]):
        start += 1
    while end > start and _is_edge_blank(text[end - 1]):
        end -= 1
    return text[start:end]


def has_visible(text: str) -> bool:
    """Whether any character of `text` draws something a reader can see."""
    return any(
        char not in _FILLERS and unicodedata.category(char) not in _UNSEEN_CATEGORIES
        for char in text
    )


def _rows(
    questionnaire: Questionnaire,
    answers: Mapping[str, AnswerValue],
    other_texts: Mapping[str, str],
) -> tuple[AnswerRow, ...]:
    rows: list[AnswerRow] = []
    for question in questionnaire.questions:
        if question.id not in answers:
            continue
        value = answers[question.id]
        qid = question.id
        if isinstance(question, ScaleQuestion | NpsQuestion):
            if value == CANNOT_RATE:
                rows.append(AnswerRow(qid, option_id=CANNOT_RATE))
            else:
                assert isinstance(value, int)
                rows.append(AnswerRow(qid, number=value))
        elif isinstance(question, TextQuestion):
            assert isinstance(value, str)
            rows.append(AnswerRow(qid, text=value))
        else:
            chosen = value if isinstance(value, list) else [value]
            other_ids = {o.id for o in question.options if o.other}
            for option_id in chosen:
                assert isinstance(option_id, str)
                text = other_texts.get(qid) if option_id in other_ids else None
                rows.append(AnswerRow(qid, option_id=option_id, text=text))
    return tuple(rows)
