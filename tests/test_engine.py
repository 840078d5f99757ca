"""The pure engine: steps, counting, conditions, Back, Skip, bad input, results."""

from __future__ import annotations

import json
from typing import Any

import pytest

from questionnaires import engine
from questionnaires.engine import (
    Asked,
    CannotRate,
    Choose,
    ChooseMany,
    Completed,
    Done,
    Rate,
    Reason,
    Rejected,
    TextInput,
    Toggle,
)
from questionnaires.errors import DialogFinishedError, StaleProgressError
from questionnaires.render import question_text
from questionnaires.results import CANNOT_RATE, AnswerRow, ResponseContext
from questionnaires.schema import SingleChoiceQuestion, YesNoQuestion
from tests.engine_helpers import branching

Q = branching()
OFFICE = ResponseContext(service="licensing", channel="office")


def _asked(outcome: object) -> Asked:
    assert isinstance(outcome, Asked), outcome
    return outcome


def _go(*inputs: engine.Input, context: ResponseContext = OFFICE) -> Asked | Completed:
    outcome: Asked | Completed = engine.start(Q, context)
    for given in inputs:
        result = engine.answer(Q, _asked(outcome).progress, given)
        assert not isinstance(result, Rejected), result
        outcome = result
    return outcome


def test_start_asks_the_first_question_counting_only_visible_ones() -> None:
    asked = _asked(engine.start(Q, OFFICE))
    assert asked.question.id == "overall"
    # overall, solved, nps, called_back, comment: obstacles and queue are hidden so far
    assert (asked.number, asked.total) == (1, 5)
    assert not asked.can_go_back


def test_low_score_reveals_the_obstacles_question_and_the_total_grows() -> None:
    asked = _asked(_go(Rate(2)))
    assert asked.question.id == "solved"
    assert (asked.number, asked.total) == (2, 6)
    asked = _asked(_go(Rate(2), Choose("no")))
    assert asked.question.id == "obstacles"
    assert (asked.number, asked.total) == (3, 6)


def test_high_score_and_solved_skip_conditional_questions() -> None:
    asked = _asked(_go(Rate(5), Choose("yes")))
    assert asked.question.id == "nps"
    asked = _asked(_go(Rate(5), Choose("yes"), Rate(9)))
    assert asked.question.id == "comment"  # called_back needs overall < 4


def test_condition_on_context_channel() -> None:
    steps = (Rate(2), Choose("no"), ChooseMany(("queue",)))
    assert _asked(_go(*steps)).question.id == "queue_minutes"
    online = ResponseContext(service="licensing", channel="site")
    assert _asked(_go(*steps, context=online)).question.id == "nps"


def test_multi_toggles_respect_max_choices_and_done_confirms() -> None:
    asked = _asked(_go(Rate(2), Choose("no")))
    asked = _asked(engine.answer(Q, asked.progress, Toggle("queue")))
    asked = _asked(engine.answer(Q, asked.progress, Toggle("time")))
    assert asked.selected == ("queue", "time")
    rejected = engine.answer(Q, asked.progress, Toggle("rude"))
    assert isinstance(rejected, Rejected)
    assert (rejected.reason, rejected.limit) == (Reason.TOO_MANY_CHOICES, 2)
    asked = _asked(engine.answer(Q, asked.progress, Toggle("queue")))  # off again
    assert asked.selected == ("time",)
    asked = _asked(engine.answer(Q, asked.progress, Done()))
    assert asked.question.id == "nps"


def test_done_with_nothing_selected_on_a_required_multi_is_refused() -> None:
    asked = _asked(_go(Rate(2), Choose("no")))
    rejected = engine.answer(Q, asked.progress, Done())
    assert isinstance(rejected, Rejected) and rejected.reason == Reason.NOTHING_SELECTED


def test_other_option_asks_a_follow_up_text_stored_with_the_option() -> None:
    asked = _asked(_go(Rate(1)))
    asked = _asked(engine.answer(Q, asked.progress, Choose("other")))
    assert asked.question.id == "solved" and asked.awaiting_other
    assert asked.can_skip and asked.can_go_back
    too_long = engine.answer(Q, asked.progress, TextInput("x" * 201))
    assert isinstance(too_long, Rejected) and too_long.limit == 200
    asked = _asked(engine.answer(Q, asked.progress, TextInput("  жду ответа  ")))
    assert asked.question.id == "obstacles"
    done = _finish(asked)
    assert AnswerRow("solved", option_id="other", text="жду ответа") in done.answers


def _finish(asked: Asked) -> Completed:
    outcome: Asked | Rejected | Completed = asked
    while isinstance(outcome, Asked):
        question = outcome.question
        if outcome.awaiting_other or question.type == "text":
            outcome = engine.answer(Q, outcome.progress, TextInput("ok"))
        elif question.type in ("scale", "nps"):
            outcome = engine.answer(Q, outcome.progress, Rate(question.min))
        elif question.type == "multi":
            outcome = engine.answer(Q, outcome.progress, ChooseMany(("time",)))
        else:
            assert isinstance(question, SingleChoiceQuestion | YesNoQuestion)
            outcome = engine.answer(Q, outcome.progress, Choose(question.options[0].id))
    assert isinstance(outcome, Completed), outcome
    return outcome


def test_text_where_a_choice_is_due_is_refused_and_the_question_repeats() -> None:
    asked = _asked(_go(Rate(3)))
    rejected = engine.answer(Q, asked.progress, TextInput("не знаю"))
    assert isinstance(rejected, Rejected)
    assert rejected.reason == Reason.EXPECTS_CHOICE
    assert rejected.asked.question.id == "solved"
    assert rejected.asked.progress == asked.progress


def test_typed_number_answers_a_scale_and_typed_wording_answers_a_choice() -> None:
    asked = _asked(engine.start(Q, OFFICE))
    asked = _asked(engine.answer(Q, asked.progress, TextInput(" 4 ")))
    assert asked.progress["ans"]["overall"] == 4
    asked = _asked(engine.answer(Q, asked.progress, TextInput("частично")))
    assert asked.progress["ans"]["solved"] == "partly"


def test_out_of_range_rating_and_unknown_option_are_refused() -> None:
    asked = _asked(engine.start(Q, OFFICE))
    rejected = engine.answer(Q, asked.progress, Rate(6))
    assert isinstance(rejected, Rejected) and rejected.reason == Reason.OUT_OF_RANGE
    rejected = engine.answer(Q, asked.progress, CannotRate())
    assert isinstance(rejected, Rejected)
    assert rejected.reason == Reason.CANNOT_RATE_NOT_OFFERED
    asked = _asked(engine.answer(Q, asked.progress, Rate(2)))
    rejected = engine.answer(Q, asked.progress, Choose("maybe"))
    assert isinstance(rejected, Rejected) and rejected.reason == Reason.UNKNOWN_OPTION


def test_cannot_rate_is_stored_as_the_reserved_option() -> None:
    asked = _asked(_go(Rate(2), Choose("no"), ChooseMany(("queue",))))
    assert asked.question.id == "queue_minutes"
    asked = _asked(engine.answer(Q, asked.progress, CannotRate()))
    done = _finish(asked)
    assert AnswerRow("queue_minutes", option_id=CANNOT_RATE) in done.answers


def test_skip_works_only_on_optional_questions() -> None:
    asked = _asked(engine.start(Q, OFFICE))
    rejected = engine.skip(Q, asked.progress)
    assert isinstance(rejected, Rejected) and rejected.reason == Reason.REQUIRED
    asked = _asked(_go(Rate(5), Choose("yes")))
    assert asked.question.id == "nps" and asked.can_skip
    asked = _asked(engine.skip(Q, asked.progress))
    assert asked.question.id == "comment"
    done = engine.skip(Q, asked.progress)
    assert isinstance(done, Completed)
    assert [row.question_id for row in done.answers] == ["overall", "solved"]


def test_back_returns_to_the_previous_question_with_its_answer_prefilled() -> None:
    asked = _asked(_go(Rate(2), Choose("no"), Toggle("queue"), Toggle("rude")))
    asked = _asked(engine.answer(Q, asked.progress, Done()))
    assert asked.question.id == "queue_minutes"
    asked = _asked(engine.back(Q, asked.progress))
    assert asked.question.id == "obstacles"
    assert asked.selected == ("queue", "rude")
    asked = _asked(engine.back(Q, asked.progress))
    assert asked.question.id == "solved" and asked.prefill == "no" and asked.selected == ()
    asked = _asked(engine.back(Q, asked.progress))
    assert asked.question.id == "overall" and asked.prefill == 2
    rejected = engine.back(Q, asked.progress)
    assert isinstance(rejected, Rejected) and rejected.reason == Reason.NOTHING_TO_GO_BACK


def test_changing_an_answer_after_back_drops_answers_of_questions_now_hidden() -> None:
    asked = _asked(_go(Rate(2), Choose("no"), ChooseMany(("queue",)), Rate(3)))
    assert asked.question.id == "nps"
    for _ in range(4):
        asked = _asked(engine.back(Q, asked.progress))
    assert asked.question.id == "overall"
    asked = _asked(engine.answer(Q, asked.progress, Rate(5)))
    asked = _asked(engine.answer(Q, asked.progress, Choose("yes")))
    assert asked.question.id == "nps"  # obstacles and queue_minutes are hidden now
    done = engine.skip(Q, engine.skip(Q, asked.progress).progress)  # type: ignore[union-attr]
    assert isinstance(done, Completed)
    assert {row.question_id for row in done.answers} == {"overall", "solved"}


def test_back_from_the_other_text_returns_to_the_choice() -> None:
    asked = _asked(_go(Rate(1), Choose("other")))
    assert asked.awaiting_other
    asked = _asked(engine.back(Q, asked.progress))
    assert asked.question.id == "solved" and not asked.awaiting_other


def test_text_answer_length_is_checked_and_trimmed() -> None:
    asked = _asked(_go(Rate(5), Choose("yes"), Rate(10)))
    assert asked.question.id == "comment"
    rejected = engine.answer(Q, asked.progress, TextInput("я" * 51))
    assert isinstance(rejected, Rejected)
    assert (rejected.reason, rejected.limit) == (Reason.TOO_LONG, 50)
    rejected = engine.answer(Q, asked.progress, TextInput("   "))
    assert isinstance(rejected, Rejected) and rejected.reason == Reason.EMPTY_TEXT
    rejected = engine.answer(Q, asked.progress, Rate(3))
    assert isinstance(rejected, Rejected) and rejected.reason == Reason.EXPECTS_TEXT
    done = engine.answer(Q, asked.progress, TextInput("  быстрее  "))
    assert isinstance(done, Completed)
    assert done.answers[-1] == AnswerRow("comment", text="быстрее")


def test_completed_response_carries_context_and_no_identity() -> None:
    done = _finish(_asked(engine.start(Q, OFFICE)))
    from datetime import date

    response = done.to_response(date(2026, 11, 23))
    assert response.questionnaire_id == "branching" and response.questionnaire_version == 3
    assert response.context == OFFICE
    assert response.kind == "post_service" and response.audience == "external"


def test_progress_round_trips_through_json() -> None:
    asked = _asked(_go(Rate(2), Choose("no"), Toggle("queue")))
    restored = json.loads(json.dumps(asked.progress))
    again = engine.current(Q, restored)
    assert again.question.id == "obstacles" and again.selected == ("queue",)
    assert engine.answer(Q, restored, Done()) == engine.answer(Q, asked.progress, Done())


def test_answer_does_not_mutate_the_given_progress() -> None:
    asked = _asked(engine.start(Q, OFFICE))
    before = json.dumps(asked.progress, sort_keys=True)
    engine.answer(Q, asked.progress, Rate(3))
    assert json.dumps(asked.progress, sort_keys=True) == before


def test_progress_of_another_version_is_stale() -> None:
    asked = _asked(engine.start(Q, OFFICE))
    old = asked.progress.copy()
    old["ver"] = 2
    with pytest.raises(StaleProgressError):
        engine.answer(Q, old, Rate(3))
    with pytest.raises(StaleProgressError):
        engine.answer(Q, {"garbage": True}, Rate(3))  # type: ignore[typeddict-item, typeddict-unknown-key]


def test_input_after_completion_is_an_error() -> None:
    done = _finish(_asked(engine.start(Q, OFFICE)))
    with pytest.raises(DialogFinishedError):
        engine.answer(Q, done.progress, Rate(3))


def test_turn_counter_changes_on_every_accepted_step() -> None:
    first = _asked(engine.start(Q, OFFICE))
    second = _asked(engine.answer(Q, first.progress, Rate(3)))
    assert second.turn > first.turn
    toggled = _asked(engine.answer(Q, _asked(_go(Rate(2), Choose("no"))).progress, Toggle("time")))
    assert toggled.turn > _asked(_go(Rate(2), Choose("no"))).turn


def test_wording_variant_and_placeholders_render_from_answers_and_context() -> None:
    asked = _asked(
        _go(Rate(3), Choose("no"), ChooseMany(("queue", "rude")), CannotRate(), Rate(7))
    )
    assert asked.question.id == "called_back"
    asked = _asked(engine.answer(Q, asked.progress, Choose("no")))
    titles = {"service": "Лицензирование", "channel": "Офис"}
    assert question_text(Q, asked, "ru", titles) == "Что улучшить? Вы выбрали: Очередь, Грубость"
    assert question_text(Q, asked, "en", titles) == "What to improve? You chose: Queue, Rudeness"
    low = _asked(_go(Rate(1), Choose("no"), ChooseMany(("time",)), Rate(0), Choose("yes")))
    assert question_text(Q, low, "ru", titles) == "Что пошло не так?"
    first = _asked(engine.start(Q, OFFICE))
    assert question_text(Q, first, "ru", titles) == "Оцените услугу «Лицензирование»"


def test_progress_copies_share_nothing_mutable_with_the_original() -> None:
    from questionnaires.engine import _copy_progress

    original: Any = {
        "ans": {"q1": [1, {"x": ["y"]}], "q2": "text"},
        "hist": [0, 1],
        "ctx": {"service": None, "n": 1.5, "ok": True},
        "odd": ({"inner": [1]},),  # not JSON: copied the slow, general way
    }
    copied: Any = _copy_progress(original)
    assert copied == original
    copied["ans"]["q1"][1]["x"].append("z")
    copied["hist"].append(2)
    copied["ctx"]["n"] = 0
    copied["odd"][0]["inner"].append(2)
    assert original == {
        "ans": {"q1": [1, {"x": ["y"]}], "q2": "text"},
        "hist": [0, 1],
        "ctx": {"service": None, "n": 1.5, "ok": True},
        "odd": ({"inner": [1]},),
    }
