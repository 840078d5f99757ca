"""Property tests: random valid answer sequences always finish, never show a hidden question,
never leave a required visible question unanswered."""

from __future__ import annotations

import json

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from questionnaires import engine
from questionnaires.engine import (
    Asked,
    Completed,
    Rejected,
    context_values,
    effective_answers,
    is_visible,
)
from questionnaires.loader import DEFINITIONS_DIR, load_folder
from questionnaires.results import CANNOT_RATE, ResponseContext
from questionnaires.schema import (
    MultiChoiceQuestion,
    NpsQuestion,
    Questionnaire,
    ScaleQuestion,
    TextQuestion,
)
from tests.engine_helpers import branching

QUESTIONNAIRES = [branching(), *load_folder(DEFINITIONS_DIR).questionnaires.values()]
CHANNELS = ["office", "mfc", "site", "phone", None]


def _assert_visible_now(questionnaire: Questionnaire, asked: Asked) -> None:
    index = questionnaire.index_of(asked.question.id)
    answers = effective_answers(questionnaire, asked.progress, upto=index)
    assert is_visible(asked.question, answers, context_values(asked.progress)), asked.question.id
    assert 1 <= asked.number <= asked.total


def _valid_input(data: st.DataObject, asked: Asked, allow_back: bool) -> engine.Input | str:
    """A valid move for the asked question: an answer, or "back"/"skip" where allowed."""
    question = asked.question
    moves = ["answer"] * 4
    if asked.can_go_back and allow_back:
        moves.append("back")
    if asked.can_skip:
        moves.append("skip")
    move = data.draw(st.sampled_from(moves))
    if move != "answer":
        return move
    if asked.awaiting_other or isinstance(question, TextQuestion):
        limit = question.max_length if isinstance(question, TextQuestion) else 200
        # Valid means something visible is left once cleaned (issue 9: invisible text refused).
        text = data.draw(
            st.text(min_size=1, max_size=min(limit, 30)).filter(
                lambda t: engine.has_visible(engine.clean_text(t))
            )
        )
        return engine.TextInput(text)
    if isinstance(question, ScaleQuestion | NpsQuestion):
        if question.cannot_rate and data.draw(st.booleans()):
            return engine.CannotRate()
        return engine.Rate(data.draw(st.integers(question.min, question.max)))
    ids = [o.id for o in question.options]
    if isinstance(question, MultiChoiceQuestion):
        most = question.max_choices or len(ids)
        chosen = data.draw(st.lists(st.sampled_from(ids), min_size=1, max_size=most, unique=True))
        return engine.ChooseMany(tuple(chosen))
    return engine.Choose(data.draw(st.sampled_from(ids)))


@pytest.mark.parametrize("questionnaire", QUESTIONNAIRES, ids=lambda q: q.id)
@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_random_valid_dialogs_finish_and_respect_conditions(
    questionnaire: Questionnaire, data: st.DataObject
) -> None:
    context = ResponseContext(service="svc", channel=data.draw(st.sampled_from(CHANNELS)))
    outcome: Asked | Rejected | Completed = engine.start(questionnaire, context)
    backs = 0
    for _ in range(len(questionnaire.questions) * 3 + 20):
        if isinstance(outcome, Completed):
            break
        assert isinstance(outcome, Asked), outcome
        _assert_visible_now(questionnaire, outcome)
        # Bounded Back presses keep every dialog finite.
        move = _valid_input(data, outcome, allow_back=backs < 5)
        if move == "back":
            backs += 1
            outcome = engine.back(questionnaire, outcome.progress)
        elif move == "skip":
            outcome = engine.skip(questionnaire, outcome.progress)
        else:
            assert not isinstance(move, str)
            outcome = engine.answer(questionnaire, outcome.progress, move)
        assert not isinstance(outcome, Rejected), outcome
        json.dumps(outcome.progress)  # always JSON-safe
    assert isinstance(outcome, Completed), "dialog did not finish"

    answered = {row.question_id for row in outcome.answers}
    final = effective_answers(questionnaire, outcome.progress)
    for question in questionnaire.questions:
        visible = is_visible(question, final, context_values(outcome.progress))
        if not visible:
            assert question.id not in answered, f"hidden {question.id} has an answer"
        elif question.required:
            assert question.id in answered, f"required {question.id} was skipped"
    for row in outcome.answers:
        question = questionnaire.question(row.question_id)
        if isinstance(question, ScaleQuestion | NpsQuestion) and row.option_id != CANNOT_RATE:
            assert row.number is not None and question.min <= row.number <= question.max
