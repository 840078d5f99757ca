"""Runs a questionnaire as a terminal dialog on the same engine, so authors can try it first."""

from __future__ import annotations

from collections.abc import Callable, Mapping

from questionnaires import engine
from questionnaires.engine import Asked, Completed, Input, Reason, Rejected
from questionnaires.render import CANNOT_RATE_LABEL, answer_label, fill, question_text
from questionnaires.results import ResponseContext
from questionnaires.schema import (
    Language,
    MultiChoiceQuestion,
    NpsQuestion,
    Questionnaire,
    ScaleQuestion,
    SingleChoiceQuestion,
    TextQuestion,
    YesNoQuestion,
)

BACK = "<"
SKIP = "-"

REASONS: dict[Reason, str] = {
    Reason.EXPECTS_CHOICE: "choose one of the numbers shown",
    Reason.EXPECTS_TEXT: "type your answer as text",
    Reason.UNKNOWN_OPTION: "there is no such option",
    Reason.OUT_OF_RANGE: "the number is outside the scale",
    Reason.CANNOT_RATE_NOT_OFFERED: "this question has no 'cannot rate'",
    Reason.EMPTY_TEXT: "the answer is empty",
    Reason.TOO_LONG: "the text is too long (limit {limit} characters)",
    Reason.TOO_MANY_CHOICES: "at most {limit} options",
    Reason.NOTHING_SELECTED: "choose at least one option",
    Reason.REQUIRED: "this question cannot be skipped",
    Reason.NOTHING_TO_GO_BACK: "this is the first question",
}


class PreviewAborted(Exception):
    """Input ended before the questionnaire was completed."""


def run_preview(
    questionnaire: Questionnaire,
    read: Callable[[str], str],
    write: Callable[[str], None],
    *,
    language: Language = Language.RU,
    context: ResponseContext | None = None,
    titles: Mapping[str, str | None] | None = None,
) -> Completed:
    """Ask every question through `read`/`write` until the questionnaire completes.

    Input: the option number (several, comma-separated, for a multiple choice), a number on a
    scale, 0 for "cannot rate" where offered, `<` to go back, `-` to skip an optional question.
    """
    context = context or ResponseContext(service="demo", channel="site")
    titles = dict(titles or context.as_mapping())
    write(f"== {questionnaire.title.get(language)} ({questionnaire.id} v{questionnaire.version})")
    if questionnaire.intro:
        write(fill(questionnaire.intro, language, titles))
    outcome: Asked | Rejected | Completed = engine.start(questionnaire, context)
    while True:
        if isinstance(outcome, Completed):
            write(fill(questionnaire.outro, language, titles))
            summary: dict[str, list[str]] = {}
            for row in outcome.answers:
                question = questionnaire.question(row.question_id)
                value = row.number if row.number is not None else row.option_id
                shown = answer_label(question, value, language) if value is not None else ""
                extra = f" «{row.text}»" if row.text and value is not None else row.text or ""
                summary.setdefault(row.question_id, []).append(f"{shown}{extra}")
            for question_id, parts in summary.items():
                write(f"  {question_id}: {', '.join(parts)}")
            return outcome
        if isinstance(outcome, Rejected):
            write("! " + REASONS[outcome.reason].format(limit=outcome.limit))
            outcome = outcome.asked
        asked = outcome
        _show(questionnaire, asked, language, titles, write)
        try:
            line = read("> ")
        except EOFError:
            raise PreviewAborted(asked.question.id) from None
        outcome = _apply(questionnaire, asked, line.strip())


def _show(
    questionnaire: Questionnaire,
    asked: Asked,
    language: Language,
    titles: Mapping[str, str | None],
    write: Callable[[str], None],
) -> None:
    question = asked.question
    write(
        f"\n[{asked.number}/{asked.total}] {question_text(questionnaire, asked, language, titles)}"
    )
    if asked.awaiting_other:
        write("  (please specify 'other' as text)")
        return
    if isinstance(question, ScaleQuestion | NpsQuestion):
        ends = ""
        if question.labels:
            low = question.labels.min.get(language) if question.labels.min else ""
            high = question.labels.max.get(language) if question.labels.max else ""
            ends = f"  ({question.min} = {low}, {question.max} = {high})"
        write(f"  {question.min}..{question.max}{ends}")
        if question.cannot_rate:
            write(f"  0 = {CANNOT_RATE_LABEL.get(language)}")
    elif isinstance(question, SingleChoiceQuestion | MultiChoiceQuestion | YesNoQuestion):
        for number, option in enumerate(question.options, start=1):
            mark = "[x] " if option.id in asked.selected else ""
            write(f"  {number}. {mark}{option.text.get(language)}")
    elif isinstance(question, TextQuestion):
        write(f"  (text, up to {question.max_length} characters)")
    hints = [f"{BACK} back"] if asked.can_go_back else []
    if asked.can_skip:
        hints.append(f"{SKIP} skip")
    if hints:
        write("  " + ", ".join(hints))


def _apply(questionnaire: Questionnaire, asked: Asked, line: str) -> Asked | Rejected | Completed:
    progress = asked.progress
    if line == BACK:
        return engine.back(questionnaire, progress)
    if line == SKIP:
        return engine.skip(questionnaire, progress)
    return engine.answer(questionnaire, progress, _input_for(asked, line))


def _input_for(asked: Asked, line: str) -> Input:
    question = asked.question
    if asked.awaiting_other or isinstance(question, TextQuestion):
        return engine.TextInput(line)
    if isinstance(question, ScaleQuestion) and question.cannot_rate and line == "0":
        return engine.CannotRate()
    if isinstance(question, SingleChoiceQuestion | MultiChoiceQuestion | YesNoQuestion):
        try:
            numbers = [int(part) for part in line.replace(" ", "").split(",") if part]
        except ValueError:
            return engine.interpret_text(question, line)
        options = question.options
        if not numbers:
            return engine.TextInput(line)
        # An out-of-range number maps to an id no option has, so the engine says "no such option".
        ids = tuple(options[n - 1].id if 1 <= n <= len(options) else "?" for n in numbers)
        if isinstance(question, MultiChoiceQuestion):
            return engine.ChooseMany(ids)
        return engine.Choose(ids[0]) if len(ids) == 1 else engine.TextInput(line)
    return engine.interpret_text(question, line)
