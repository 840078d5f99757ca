"""Turns questions into the words a person reads: variants, placeholders, option labels."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Final

from questionnaires.conditions import AnswerValue
from questionnaires.engine import Asked, compiled, context_values, effective_answers
from questionnaires.results import CANNOT_RATE
from questionnaires.schema import (
    Language,
    MultiChoiceQuestion,
    NpsQuestion,
    Question,
    Questionnaire,
    ScaleQuestion,
    SingleChoiceQuestion,
    Text,
    YesNoQuestion,
)

MISSING: Final = "—"

CANNOT_RATE_LABEL: Final = Text(ru="Затрудняюсь ответить", en="Cannot rate")


class _Values(dict[str, str]):
    """Placeholder values; a skipped answer renders as a dash instead of failing."""

    def __missing__(self, key: str) -> str:
        return MISSING


def answer_label(question: Question, value: AnswerValue, language: Language | str) -> str:
    """How an answer reads in a text: option wording, a number, or the typed text."""
    if isinstance(value, list):
        return ", ".join(answer_label(question, item, language) for item in value)
    if value == CANNOT_RATE and isinstance(question, ScaleQuestion):
        return CANNOT_RATE_LABEL.get(language)
    if isinstance(question, SingleChoiceQuestion | MultiChoiceQuestion | YesNoQuestion):
        for option in question.options:
            if option.id == value:
                return option.text.get(language)
    return str(value)


def fill(
    text: Text,
    language: Language | str,
    context_titles: Mapping[str, str | None],
    answers: Mapping[str, AnswerValue] | None = None,
    questionnaire: Questionnaire | None = None,
) -> str:
    """A text with its placeholders filled from the context and earlier answers."""
    template = text.get(language)
    if "{" not in template and "}" not in template:
        # No placeholder (most questions): ``format_map`` would give the text back as it is,
        # so the labels of every earlier answer are not looked up (on every press).
        return template
    values = _Values({k: v for k, v in context_titles.items() if v})
    if answers and questionnaire:
        for question_id, value in answers.items():
            values[question_id] = answer_label(
                questionnaire.question(question_id), value, language
            )
    return template.format_map(values)


def question_text(
    questionnaire: Questionnaire,
    asked: Asked,
    language: Language | str,
    context_titles: Mapping[str, str | None],
) -> str:
    """The wording of the asked question: the first matching variant, else the main text."""
    question = asked.question
    answers = effective_answers(
        questionnaire, asked.progress, upto=questionnaire.index_of(question.id)
    )
    text = question.text
    for variant in question.variants:
        if compiled(variant.show_if).evaluate(answers, context_values(asked.progress)):
            text = variant.text
            break
    return fill(text, language, context_titles, answers, questionnaire)


def scale_points(question: ScaleQuestion | NpsQuestion) -> range:
    return range(question.min, question.max + 1)
