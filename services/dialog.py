"""The dialog use case behind every front: start, press, text, back, skip, cancel -> a Step.

A front (Telegram handlers, a web form, a MAX bot) turns its events into these calls and the
returned `Step` into its own messages. The service knows no messenger: it reaches the person's
dialog through a `DialogState` port (load, save, clear of `DialogData`) and names the person by
an opaque number used only inside keyed hashes (the ballot-stuffing guard, poll participation,
staff membership); nothing that names the person is stored next to an answer.

Order of effects, so that a crash or a failed call loses nothing acknowledged:
- the dialog state is saved *before* the step is returned (and so before it is shown): a
  button on screen always finds its dialog;
- a completed dialog is stored first and its state cleared only after the write succeeded;
  if the write fails, the state stays and the same press can be repeated;
- funnel counts are in-memory additions made after the state they describe is durable.
"""

from __future__ import annotations

import dataclasses
import enum
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from typing import Final, NotRequired, Protocol, TypeAlias, TypedDict

from questionnaires import engine
from questionnaires.campaigns import Verdict
from questionnaires.engine import Asked, Completed, Outcome, Progress, Reason, Rejected
from questionnaires.fronts import Front, front_of
from questionnaires.render import fill, question_text
from questionnaires.results import ResponseContext
from questionnaires.schema import (
    Audience,
    Kind,
    Language,
    MultiChoiceQuestion,
    NpsQuestion,
    Questionnaire,
    ScaleQuestion,
    SingleChoiceQuestion,
    TextQuestion,
    YesNoQuestion,
)
from services.feedback import FeedbackService, Stored
from services.funnel import FunnelRecorder
from services.windows import WindowService

#: One person of one front, as a number (Telegram: the user id; a web front: a number drawn
#: from its session). Used only inside keyed hashes; never stored, never logged.
Person: TypeAlias = int

#: The deep poll's question naming the service rated when the invitation named none; its
#: option ids are catalog service codes with '-' written '_' (deep_external.yaml).
SERVICE_RATED: Final = "service_rated"


# --- the dialog's state, as every front stores it -----------------------------------------


class DialogData(TypedDict):
    """What the service keeps per person between two inputs (JSON-safe).

    The one-letter keys are those the Telegram FSM data always had, so dialogs saved before
    this type existed load unchanged. A front may keep keys of its own beside these (Telegram
    keeps the dialog message's id under "m"); the service never reads or writes them.
    """

    p: Progress  # the engine's progress
    n: str  # the dialog's random nonce: a button of another dialog is stale
    d: NotRequired[str]  # ISO day the dialog started: its funnel counters are kept by it
    w: NotRequired[int]  # the poll window the finished dialog is stored in
    k: NotRequired[str]  # Kind.INITIATIVE: staff feedback, carries the member's department
    #: The front the dialog runs in (questionnaires.fronts.Front), stored on the response.
    #: Absent in dialogs saved before fronts were recorded: those ran in Telegram.
    f: NotRequired[str]
    #: The dialog's completion id (128 random bits, never shown in a button): its response is
    #: stored once even when the dialog is repeated after a store whose state was not cleared
    #: (a worker killed between the two). Absent in dialogs saved before it existed, and in
    #: poll windows (their participation key already refuses a second answer).
    a: NotRequired[str]


class DialogState(Protocol):
    """The per-person store of one dialog; a front adapts its own session storage to it.

    `save` must return only once the data is durable: the step returned next is shown to the
    person, and its buttons must find this state after a crash.
    """

    async def load(self) -> DialogData | None: ...

    async def save(self, data: DialogData) -> None: ...

    async def clear(self) -> None: ...


# --- what a front sends -----------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Back:
    """Return to the previous question."""


@dataclass(frozen=True, slots=True)
class Skip:
    """Skip an optional question (or the follow-up text of "other")."""


#: What one button of a step does: an answer (the engine's inputs) or a move.
Action: TypeAlias = engine.Input | Back | Skip


@dataclass(frozen=True, slots=True)
class Rating:
    """Start the post-service rating for a context (a deep link, the service picker)."""

    context: ResponseContext


@dataclass(frozen=True, slots=True)
class Window:
    """Start the questionnaire of a poll window (deep or staff poll)."""

    window_id: int


@dataclass(frozen=True, slots=True)
class Initiative:
    """Start the initiative feedback of a staff member (/feedback)."""


Origin: TypeAlias = Rating | Window | Initiative


# --- what a front shows -----------------------------------------------------------------


class QuestionKind(enum.StrEnum):
    """One renderer per kind."""

    SCALE = "scale"  # a scale or NPS: points as buttons
    SINGLE = "single"  # one option (single choice, yes/no)
    MULTI = "multi"  # several options, then Done
    TEXT = "text"  # free text
    OTHER_TEXT = "other_text"  # the follow-up text of a chosen "other" option


@dataclass(frozen=True, slots=True)
class StepProgress:
    number: int  # 1-based position among the questions shown
    total: int  # questions that will be shown, as far as the answers so far tell


@dataclass(frozen=True, slots=True)
class Choice:
    """A button: an option (its id) or a scale point (its number as text)."""

    value: str
    label: str
    marked: bool  # the earlier answer (after Back), or toggled on (multiple choice)


@dataclass(frozen=True, slots=True)
class ScaleEnds:
    """A scale's end labels ("" where the questionnaire gives none)."""

    min: int
    max: int
    min_label: str
    max_label: str


@dataclass(frozen=True, slots=True)
class Rejection:
    """Why the last input was refused; the front words it (e.g. `reason_text`)."""

    reason: Reason
    limit: int | None = None


@dataclass(frozen=True, slots=True)
class Question:
    """The dialog waits for an answer to this question."""

    dialog: str  # the nonce: every button of this step carries it …
    turn: int  # … and this turn, so a stale or repeated press is told apart
    question_id: str
    kind: QuestionKind
    text: str  # the wording, placeholders filled (plain text, not escaped)
    hint: str | None
    progress: StepProgress
    choices: tuple[Choice, ...] = ()  # options or scale points, in order
    scale: ScaleEnds | None = None  # a scale with end labels
    cannot_rate: bool = False  # a scale offers "cannot rate"
    max_choices: int | None = None  # multiple choice: at most this many
    max_length: int | None = None  # TEXT / OTHER_TEXT: at most this many characters
    other_label: str | None = None  # OTHER_TEXT: the wording of the "other" option
    can_go_back: bool = False
    can_skip: bool = False
    #: The input was refused and nothing changed (a press: say why; a text: show it again).
    rejection: Rejection | None = None
    #: A press on an older step of this dialog (a double tap, a lost edit): nothing changed,
    #: the current step is drawn again.
    repeated: bool = False
    #: The questionnaire's introduction, shown before the first question only.
    intro: str | None = None


class Refusal(enum.StrEnum):
    ALREADY_RATED = "already_rated"  # the guard: this service was rated today by this person
    NOT_STAFF = "not_staff"  # initiative feedback is for enrolled staff
    WINDOW = "window"  # the poll window refused (see `Refused.verdict`)


@dataclass(frozen=True, slots=True)
class Refused:
    """Nothing was started or stored; at completion the dialog is over all the same."""

    refusal: Refusal
    verdict: Verdict | None = None  # for Refusal.WINDOW


@dataclass(frozen=True, slots=True)
class Finished:
    """The response is stored and the dialog forgotten."""

    outro: str  # plain text, placeholders filled
    offer_opt_in: bool  # citizens are offered news of what changes; staff are not
    #: The rated service whose own news may be offered beside (a citizen service, or None);
    #: the offer only: nothing of the response goes with the subscription.
    news_service: str | None = None
    news_service_title: str | None = None


@dataclass(frozen=True, slots=True)
class Stale:
    """The press belongs to no live dialog (an older dialog, or none): nothing changed."""


@dataclass(frozen=True, slots=True)
class Cancelled:
    """The dialog was dropped; nothing of it is stored."""

    had_dialog: bool


Step: TypeAlias = Question | Refused | Finished | Stale | Cancelled


# --- the service ------------------------------------------------------------------------


class DialogService:
    """Runs dialogs for every front; see the module docstring for the order of effects."""

    def __init__(
        self, *, feedback: FeedbackService, campaigns: WindowService, funnel: FunnelRecorder
    ) -> None:
        self._feedback = feedback
        self._campaigns = campaigns
        self._funnel = funnel

    # --- start ----------------------------------------------------------------------

    async def start(
        self,
        state: DialogState,
        person: Person,
        language: Language,
        origin: Origin,
        *,
        front: Front = Front.TELEGRAM,
    ) -> Question | Refused:
        """Begin a dialog, replacing any dialog the person had; its first question.

        ``front`` (where the dialog runs) is kept with the dialog and stored on its response.
        """
        data: DialogData
        if isinstance(origin, Rating):
            if not await self._feedback.may_rate(person, origin.context.service):
                await state.clear()
                return Refused(Refusal.ALREADY_RATED)
            outcome = self._feedback.start(origin.context)
            questionnaire = self._feedback.questionnaire_for(outcome.progress)
            data = {"p": outcome.progress, "n": _nonce(), "a": _completion_id()}
        elif isinstance(origin, Window):
            window = await self._campaigns.window_for_start(origin.window_id)
            verdict = (
                await self._campaigns.may_answer(origin.window_id, person)
                if window is not None
                else Verdict.UNKNOWN
            )
            if window is None or verdict is not Verdict.OK:
                return Refused(Refusal.WINDOW, verdict)
            questionnaire = self._campaigns.questionnaire_of(window)
            outcome = engine.start(questionnaire, ResponseContext())
            data = {"p": outcome.progress, "n": _nonce(), "w": window.id}
        else:
            if not await self._campaigns.enrolment.is_staff(person):
                return Refused(Refusal.NOT_STAFF)
            questionnaire = self._feedback.questionnaire(Kind.INITIATIVE.value)
            outcome = engine.start(questionnaire, ResponseContext())
            data = {
                "p": outcome.progress,
                "n": _nonce(),
                "k": Kind.INITIATIVE.value,
                "a": _completion_id(),
            }
        assert isinstance(outcome, Asked), "a questionnaire always has a first question"
        today = self._feedback.today()
        data["d"] = today.isoformat()
        if front is not Front.TELEGRAM:
            # Telegram's dialogs keep the shape they always had (no key = Telegram).
            data["f"] = front.value
        # Durable before shown: the buttons of the step always find their dialog.
        await state.save(data)
        context = ResponseContext(**outcome.progress["ctx"])
        self._funnel.started(questionnaire.id, context, outcome.question.id, today, front)
        intro = questionnaire.intro
        titles = self._feedback.titles(context, language)
        return dataclasses.replace(
            self._question(questionnaire, outcome, data["n"], language),
            intro=fill(intro, language, titles) if intro is not None else None,
        )

    # --- inputs ---------------------------------------------------------------------

    async def press(
        self,
        state: DialogState,
        person: Person,
        language: Language,
        dialog: str,
        turn: int,
        action: Action,
    ) -> Step:
        """A button of the step drawn for (`dialog`, `turn`) was pressed."""
        data = await state.load()
        if data is None or data.get("n") != dialog:
            return Stale()
        progress = data["p"]
        questionnaire = self._feedback.questionnaire_for(progress)
        if progress["turn"] != turn:
            # A double tap, a press on an older step of this dialog, or on a step whose
            # display never happened (a front's fault, a crash after the save): the current
            # step is drawn again, so the dialog goes on from wherever the person is.
            asked = engine.current(questionnaire, progress)
            return dataclasses.replace(
                self._question(questionnaire, asked, data["n"], language), repeated=True
            )
        outcome: Outcome
        if isinstance(action, Back):
            outcome = engine.back(questionnaire, progress)
        elif isinstance(action, Skip):
            outcome = engine.skip(questionnaire, progress)
        else:
            outcome = engine.answer(questionnaire, progress, action)
        return await self._apply(state, person, language, data, questionnaire, outcome)

    async def back(
        self, state: DialogState, person: Person, language: Language, dialog: str, turn: int
    ) -> Step:
        return await self.press(state, person, language, dialog, turn, Back())

    async def skip(
        self, state: DialogState, person: Person, language: Language, dialog: str, turn: int
    ) -> Step:
        return await self.press(state, person, language, dialog, turn, Skip())

    async def text(
        self, state: DialogState, person: Person, language: Language, text: str
    ) -> Step:
        """The person typed `text` while a dialog waits (an answer, or a button's words)."""
        data = await state.load()
        if data is None:
            return Stale()
        progress = data["p"]
        questionnaire = self._feedback.questionnaire_for(progress)
        outcome = engine.answer(questionnaire, progress, engine.TextInput(text))
        return await self._apply(state, person, language, data, questionnaire, outcome)

    async def current(self, state: DialogState, language: Language) -> Question | Stale:
        """The step the live dialog waits for (to show it again), or Stale without one."""
        data = await state.load()
        if data is None:
            return Stale()
        questionnaire = self._feedback.questionnaire_for(data["p"])
        asked = engine.current(questionnaire, data["p"])
        return self._question(questionnaire, asked, data["n"], language)

    async def cancel(self, state: DialogState) -> Cancelled:
        """Drop the dialog on purpose; the funnel counts a cancellation at its question."""
        data = await state.load()
        await state.clear()
        if data is None:
            return Cancelled(had_dialog=False)
        progress = data["p"]
        current = progress.get("cur")
        if current:
            self._funnel.cancelled(
                progress["qn"],
                ResponseContext(**progress["ctx"]),
                started_on(data),
                current,
                front_of(data.get("f")),
            )
        return Cancelled(had_dialog=True)

    # --- internals ------------------------------------------------------------------

    async def _apply(
        self,
        state: DialogState,
        person: Person,
        language: Language,
        data: DialogData,
        questionnaire: Questionnaire,
        outcome: Outcome,
    ) -> Step:
        if isinstance(outcome, Rejected):
            return dataclasses.replace(
                self._question(questionnaire, outcome.asked, data["n"], language),
                rejection=Rejection(outcome.reason, outcome.limit),
            )
        if isinstance(outcome, Completed):
            return await self._complete(state, person, language, data, outcome)
        before = data["p"]
        await state.save({**data, "p": outcome.progress})
        after_question = outcome.progress["cur"]
        if before["cur"] is not None and after_question is not None:
            self._funnel.moved(
                before["qn"],
                ResponseContext(**before["ctx"]),
                started_on(data),
                before["cur"],
                after_question,
                front_of(data.get("f")),
            )
        return self._question(questionnaire, outcome, data["n"], language)

    async def _complete(
        self,
        state: DialogState,
        person: Person,
        language: Language,
        data: DialogData,
        outcome: Completed,
    ) -> Finished | Refused:
        """Store the response where the dialog belongs, then forget the dialog; a failure
        keeps it, so the same input can be repeated."""
        last_question = data["p"]["cur"] or ""
        window_id = data.get("w")
        front = front_of(data.get("f"))
        refused: Refused | None = None
        if window_id is not None:
            outcome = self._with_service_rated(outcome)
            verdict = await self._campaigns.store_answer(
                int(window_id), person, outcome, front=front
            )
            if verdict is not Verdict.OK:
                refused = Refused(Refusal.WINDOW, verdict)
        else:
            department = None
            if data.get("k") == Kind.INITIATIVE:
                # Staff feedback carries the member's department (only while enough staff
                # are enrolled in it to show it), never who the member is.
                department = await self._campaigns.enrolment.reported_department(person)
            stored = await self._feedback.complete(
                outcome,
                person=person,
                department=department,
                front=front,
                attempt=data["n"],
                completion=data.get("a"),
            )
            if stored is Stored.REFUSED:
                refused = Refused(Refusal.ALREADY_RATED)
            elif stored is Stored.BEFORE:
                # Stored by another run of this very input: one that died before the state
                # was cleared, or a double submit beside this one in another process (without
                # a shared Redis lock, the person's lock is per process). Thanked, nothing
                # written twice, and the funnel left as it is: counted here too, a double
                # submit would count two completions and take its last question below zero
                # (review).
                await state.clear()
                return self._finished(outcome, language)
        await state.clear()
        day = started_on(data)
        if refused is not None:
            # Finished but not stored (a repeat, a closed window): not a quit at the last
            # question, and not a completion either.
            self._funnel.cancelled(
                outcome.questionnaire.id, outcome.context, day, last_question, front
            )
            return refused
        self._funnel.completed(
            outcome.questionnaire.id, outcome.context, day, last_question, front
        )
        return self._finished(outcome, language)

    def _finished(self, outcome: Completed, language: Language) -> Finished:
        titles = self._feedback.titles(outcome.context, language)
        outro = fill(outcome.questionnaire.outro, language, titles)
        # The "what will change" opt-in is for citizens; staff (the staff poll, /feedback)
        # hear about changes inside the body (issue 10, item 8).
        external = outcome.questionnaire.audience == Audience.EXTERNAL
        service = self._feedback.news_service(outcome.context.service) if external else None
        return Finished(
            outro,
            offer_opt_in=external,
            news_service=service.code if service else None,
            news_service_title=titles["service"] if service else None,
        )

    def _with_service_rated(self, outcome: Completed) -> Completed:
        """A deep poll reached without a service names it in `service_rated`: the response
        carries that service, as if the link had named it."""
        if outcome.context.service is not None:
            return outcome
        chosen = next(
            (row.option_id for row in outcome.answers if row.question_id == SERVICE_RATED),
            None,
        )
        if chosen is None:
            return outcome
        code = chosen.replace("_", "-")
        service = self._feedback.catalog.service(code)
        if service is None or service.internal:
            return outcome
        context = dataclasses.replace(outcome.context, service=code)
        return dataclasses.replace(outcome, context=context)

    def _question(
        self, questionnaire: Questionnaire, asked: Asked, nonce: str, language: Language
    ) -> Question:
        context = ResponseContext(**asked.progress["ctx"])
        titles = self._feedback.titles(context, language)
        return question_step(questionnaire, asked, nonce, language, titles)


def question_step(
    questionnaire: Questionnaire,
    asked: Asked,
    nonce: str,
    language: Language,
    titles: Mapping[str, str | None],
) -> Question:
    """The messenger-neutral step of an asked question: words resolved, nothing escaped."""
    question = asked.question
    kind = QuestionKind.TEXT
    choices: tuple[Choice, ...] = ()
    scale = None
    max_choices: int | None = None
    max_length: int | None = None
    other_label: str | None = None
    cannot_rate = False
    if asked.awaiting_other:
        assert isinstance(question, SingleChoiceQuestion | MultiChoiceQuestion)
        kind = QuestionKind.OTHER_TEXT
        other_label = next(o for o in question.options if o.other).text.get(language)
        max_length = question.other_max_length
    elif isinstance(question, ScaleQuestion | NpsQuestion):
        kind = QuestionKind.SCALE
        scale = _scale_ends(question, language)
        cannot_rate = question.cannot_rate
        choices = tuple(
            Choice(str(value), str(value), asked.prefill == value)
            for value in range(question.min, question.max + 1)
        )
    elif isinstance(question, MultiChoiceQuestion):
        kind = QuestionKind.MULTI
        max_choices = question.max_choices
        choices = tuple(
            Choice(option.id, option.text.get(language), option.id in asked.selected)
            for option in question.options
        )
    elif isinstance(question, SingleChoiceQuestion | YesNoQuestion):
        kind = QuestionKind.SINGLE
        choices = tuple(
            Choice(option.id, option.text.get(language), asked.prefill == option.id)
            for option in question.options
        )
    else:
        assert isinstance(question, TextQuestion)
        max_length = question.max_length
    return Question(
        dialog=nonce,
        turn=asked.turn,
        question_id=question.id,
        kind=kind,
        text=question_text(questionnaire, asked, language, titles),
        hint=question.hint.get(language) if question.hint else None,
        progress=StepProgress(asked.number, asked.total),
        choices=choices,
        scale=scale,
        cannot_rate=cannot_rate,
        max_choices=max_choices,
        max_length=max_length,
        other_label=other_label,
        can_go_back=asked.can_go_back,
        can_skip=asked.can_skip,
    )


def _scale_ends(question: ScaleQuestion | NpsQuestion, language: Language) -> ScaleEnds | None:
    labels = question.labels
    if not labels or not (labels.min or labels.max):
        return None
    return ScaleEnds(
        question.min,
        question.max,
        labels.min.get(language) if labels.min else "",
        labels.max.get(language) if labels.max else "",
    )


def started_on(data: DialogData) -> date:
    """The day the dialog started (its funnel counters are kept by that day)."""
    try:
        return date.fromisoformat(str(data["d"]))
    except (KeyError, ValueError):
        return date.min  # a dialog saved before this was recorded: counted apart, not lost


def _nonce() -> str:
    return secrets.token_hex(3)


def _completion_id() -> str:
    return secrets.token_hex(16)
