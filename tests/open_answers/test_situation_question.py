"""Concept §6.2: satisfaction with the life situation as a whole is asked once, optional, only
when a link or the deep poll names a life situation, and never about «—»."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from questionnaires.catalog import load_catalog
from questionnaires.engine import (
    Asked,
    Choose,
    ChooseMany,
    Completed,
    Rate,
    TextInput,
    answer,
    skip,
    start,
)
from questionnaires.loader import DEFINITIONS_DIR, load_folder
from questionnaires.render import MISSING, question_text
from questionnaires.results import ResponseContext
from questionnaires.schema import (
    MultiChoiceQuestion,
    Question,
    Questionnaire,
    Role,
    ScaleQuestion,
    SingleChoiceQuestion,
    YesNoQuestion,
)

WITH_SITUATION = ResponseContext(service="licensing", channel="mfc", life_situation="license")
WITHOUT = ResponseContext(service="licensing", channel="site")
INVITATION = ResponseContext()
CATALOG = load_catalog()


@pytest.fixture(scope="module")
def shipped() -> dict[str, Questionnaire]:
    result = load_folder(DEFINITIONS_DIR)
    assert result.ok, result.defects
    return result.questionnaires


def _typical(question: Question, choice: dict[str, str]) -> object:
    if question.id in choice:
        return Choose(choice[question.id])
    if isinstance(question, ScaleQuestion):
        return Rate(4)
    if isinstance(question, MultiChoiceQuestion):
        return ChooseMany((question.options[0].id,))
    if isinstance(question, SingleChoiceQuestion | YesNoQuestion):
        return Choose(question.options[0].id)
    return TextInput("Текст")


def _run(
    questionnaire: Questionnaire, context: ResponseContext, choice: dict[str, str] | None = None
) -> Iterator[Asked]:
    """Each step of one dialog, answered typically (``choice`` fixes some options)."""
    step: object = start(questionnaire, context)
    while isinstance(step, Asked):
        yield step
        given = (
            TextInput("Ремонт подъезда")
            if step.awaiting_other
            else _typical(step.question, choice or {})
        )
        step = answer(questionnaire, step.progress, given)  # type: ignore[arg-type]
    assert isinstance(step, Completed), step


def _asked(questionnaire: Questionnaire, context: ResponseContext, **choice: str) -> list[str]:
    return [step.question.id for step in _run(questionnaire, context, choice)]


def _wording(
    questionnaire: Questionnaire, context: ResponseContext, language: str = "ru", **choice: str
) -> str:
    for step in _run(questionnaire, context, choice):
        if step.question.id == "situation_overall":
            return question_text(questionnaire, step, language, CATALOG.titles(context, language))
    raise AssertionError("the life-situation question was not asked")


def test_post_service_asks_about_the_situation_only_when_the_link_names_one(
    shipped: dict[str, Questionnaire],
) -> None:
    post = shipped["post_service"]
    assert _asked(post, WITH_SITUATION).count("situation_overall") == 1
    assert "situation_overall" not in _asked(post, WITHOUT)
    text = _wording(post, WITH_SITUATION)
    situation = CATALOG.life_situation("license")
    assert situation is not None
    assert f"«{situation.title.ru}»" in text and MISSING not in text


def test_deep_poll_asks_it_for_the_linked_or_the_chosen_situation_but_not_for_other(
    shipped: dict[str, Questionnaire],
) -> None:
    deep = shipped["deep_external"]
    assert _asked(deep, WITH_SITUATION).count("situation_overall") == 1
    # No situation in the link: the person names one, and the question names it back.
    assert _asked(deep, WITHOUT, situation="buying").count("situation_overall") == 1
    text = _wording(deep, WITHOUT, situation="buying")
    assert "«Покупка квартиры»" in text and MISSING not in text
    assert "«Buying a flat»" not in text
    assert '"Buying a flat"' in _wording(deep, WITHOUT, "en", situation="buying")
    # "Other" names no situation: nothing to ask about.
    assert "situation_overall" not in _asked(deep, WITHOUT, situation="other")
    # An invitation names neither service nor situation: neither question reads «—».
    for step in _run(deep, INVITATION, {"situation": "repairs", "service_rated": "appeals"}):
        text = question_text(deep, step, "ru", CATALOG.titles(INVITATION, "ru"))
        assert f"«{MISSING}»" not in text, (step.question.id, text)


def test_the_situation_question_is_optional_and_on_the_overall_scale(
    shipped: dict[str, Questionnaire],
) -> None:
    for questionnaire in (shipped["post_service"], shipped["deep_external"]):
        [question] = questionnaire.with_role(Role.SITUATION)
        assert isinstance(question, ScaleQuestion)
        assert (question.min, question.max) == (1, 5) and not question.required
        steps = {s.question.id: s for s in _run(questionnaire, WITH_SITUATION)}
        skipped = skip(questionnaire, steps["situation_overall"].progress)
        assert not (isinstance(skipped, Asked) and skipped.question.id == "situation_overall")
    [choice] = shipped["deep_external"].with_role(Role.SITUATION_CHOICE)
    assert isinstance(choice, SingleChoiceQuestion)
    codes = {situation.code for situation in CATALOG.life_situations}
    assert {o.id for o in choice.options if not o.other} == codes


def test_a_situation_role_on_a_wrong_question_is_a_located_defect() -> None:
    from questionnaires.errors import DefinitionError
    from questionnaires.loader import parse_questionnaire

    text = (
        "id: x\nversion: 1\nkind: post_service\naudience: external\ntitle: {ru: X}\n"
        "questions:\n"
        "  - id: overall\n    type: scale\n    role: overall\n    text: {ru: O}\n"
        "  - id: whole\n    type: text\n    role: situation\n    text: {ru: W}\n"
    )
    with pytest.raises(DefinitionError) as caught:
        parse_questionnaire(text, "x.yaml")
    assert "x.yaml:13:" in str(caught.value) and "1-5 scale" in str(caught.value)
