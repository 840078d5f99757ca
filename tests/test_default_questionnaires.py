"""Tests for the shipped default questionnaires: they load, follow the design, and stay short."""

from __future__ import annotations

import string
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import Any

import pytest
from pydantic import BaseModel

from questionnaires.catalog import ServiceGroup, load_catalog
from questionnaires.engine import (
    Asked,
    CannotRate,
    Choose,
    ChooseMany,
    Completed,
    Input,
    Outcome,
    Rate,
    TextInput,
    answer,
    skip,
    start,
)
from questionnaires.loader import DEFINITIONS_DIR, load_folder
from questionnaires.render import fill, question_text
from questionnaires.results import ResponseContext
from questionnaires.schema import (
    DEFAULT_OUTRO,
    Kind,
    MultiChoiceQuestion,
    Question,
    Questionnaire,
    Role,
    ScaleQuestion,
    SingleChoiceQuestion,
    Text,
    TextQuestion,
    YesNoQuestion,
)

#: None stands for "skip" in a list of inputs to try.
Step = Input | None

STAFF_ASPECTS = (
    "equipment",
    "automation",
    "regulations",
    "other_departments",
    "manager",
    "colleagues",
    "training",
    "career",
    "hr_service",
    "working_conditions",
)
DEEP_PARAMETERS = (
    "info_clarity",
    "applying",
    "queue_time",
    "result_time",
    "politeness",
    "competence",
    "premises",
    "online_services",
    "decision_clarity",
)
LINK = ResponseContext(service="licensing", channel="mfc", life_situation="license")
LINK_WITHOUT_SITUATION = ResponseContext(service="licensing", channel="site")
TITLES = {"service": "Лицензирование деятельности по управлению многоквартирными домами"}
MAX_OPTION_LENGTH = 48  # longer option texts wrap or get cut on a phone screen


@pytest.fixture(scope="module")
def shipped() -> dict[str, Questionnaire]:
    result = load_folder(DEFINITIONS_DIR)
    assert result.ok, "\n".join(str(d) for d in result.defects)
    return result.questionnaires


# --- helpers ------------------------------------------------------------------------------


def walk(
    questionnaire: Questionnaire,
    context: ResponseContext,
    steps: Callable[[Question], Sequence[Step]],
) -> Iterator[Completed]:
    """Every completed dialog when each shown question is answered in each of `steps` ways."""

    def go(outcome: object) -> Iterator[Completed]:
        if isinstance(outcome, Completed):
            yield outcome
            return
        assert isinstance(outcome, Asked), outcome
        if outcome.awaiting_other:
            yield from go(answer(questionnaire, outcome.progress, TextInput("другое")))
            return
        for step in steps(outcome.question):
            progress = outcome.progress
            yield from go(
                skip(questionnaire, progress)
                if step is None
                else answer(questionnaire, progress, step)
            )

    yield from go(start(questionnaire, context))


def every_way(question: Question) -> list[Step]:
    """All answers of a question (each option alone for a multiple choice), and skip."""
    ways: list[Step] = []
    if isinstance(question, ScaleQuestion):
        ways += [Rate(v) for v in range(question.min, question.max + 1)]
        ways += [CannotRate()] if question.cannot_rate else []
    elif isinstance(question, MultiChoiceQuestion):
        ways += [ChooseMany((o.id,)) for o in question.options]
    elif isinstance(question, SingleChoiceQuestion | YesNoQuestion):
        ways += [Choose(o.id) for o in question.options]
    elif isinstance(question, TextQuestion):
        ways.append(TextInput("Комментарий"))
    if not question.required:
        ways.append(None)
    return ways


def one_way(question: Question) -> list[Step]:
    """A single typical answer."""
    if isinstance(question, ScaleQuestion):
        return [Rate(3)]
    if isinstance(question, MultiChoiceQuestion):
        return [ChooseMany((question.options[0].id,))]
    if isinstance(question, SingleChoiceQuestion | YesNoQuestion):
        return [Choose(question.options[0].id)]
    return [TextInput("Комментарий")]


def shown(completed: Completed) -> list[str]:
    return list(completed.progress["hist"])


def reach(
    questionnaire: Questionnaire,
    context: ResponseContext,
    target: str,
    steps: Callable[[Question], Sequence[Step]],
) -> Asked:
    """Answer with the first of `steps` until `target` is asked."""
    outcome: Outcome = start(questionnaire, context)
    while True:
        assert isinstance(outcome, Asked), outcome
        if outcome.question.id == target and not outcome.awaiting_other:
            return outcome
        if outcome.awaiting_other:
            outcome = answer(questionnaire, outcome.progress, TextInput("другое"))
            continue
        step = steps(outcome.question)[0]
        progress = outcome.progress
        outcome = (
            skip(questionnaire, progress)
            if step is None
            else answer(questionnaire, progress, step)
        )


def texts(node: object, where: str = "") -> Iterator[tuple[str, Text]]:
    """Every Text inside a model, with a readable location."""
    if isinstance(node, Text):
        yield where, node
    elif isinstance(node, BaseModel):
        for name in type(node).model_fields:
            yield from texts(getattr(node, name), f"{where}.{name}")
    elif isinstance(node, tuple):
        for index, item in enumerate(node):
            yield from texts(item, f"{where}[{index}]")


def placeholders(value: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(value) if name is not None}


# --- all shipped files ----------------------------------------------------------------------


def test_every_shipped_questionnaire_loads_without_defects(
    shipped: dict[str, Questionnaire],
) -> None:
    assert {q.id: q.kind for q in shipped.values()} == {
        "post_service": Kind.POST_SERVICE,
        "deep_external": Kind.DEEP,
        "staff": Kind.STAFF,
        "initiative": Kind.INITIATIVE,
    }


def test_every_shipped_questionnaire_is_version_one_with_own_intro_and_outro(
    shipped: dict[str, Questionnaire],
) -> None:
    for questionnaire in shipped.values():
        assert questionnaire.version == 1
        assert questionnaire.intro is not None
        assert "аноним" in questionnaire.intro.ru
        assert questionnaire.outro != DEFAULT_OUTRO


def test_every_text_has_an_english_version_with_the_same_placeholders(
    shipped: dict[str, Questionnaire],
) -> None:
    for questionnaire in shipped.values():
        for where, text in texts(questionnaire):
            assert text.en, f"{questionnaire.id}{where} has no English text"
            assert placeholders(text.ru) == placeholders(text.en), f"{questionnaire.id}{where}"


def test_option_texts_fit_a_phone_screen(shipped: dict[str, Questionnaire]) -> None:
    for questionnaire in shipped.values():
        for question in questionnaire.questions:
            if isinstance(question, SingleChoiceQuestion | MultiChoiceQuestion):
                for option in question.options:
                    assert len(option.text.ru) <= MAX_OPTION_LENGTH, option.text.ru


def test_russian_texts_use_guillemets_not_straight_quotes(
    shipped: dict[str, Questionnaire],
) -> None:
    for questionnaire in shipped.values():
        for where, text in texts(questionnaire):
            assert '"' not in text.ru, f"{questionnaire.id}{where}"


def test_each_multiple_choice_with_other_asks_for_it_last(
    shipped: dict[str, Questionnaire],
) -> None:
    for questionnaire in shipped.values():
        for question in questionnaire.questions:
            if isinstance(question, MultiChoiceQuestion | SingleChoiceQuestion):
                others = [o.id for o in question.options if o.other]
                assert others in ([], [question.options[-1].id]), question.id


# --- comparability of the overall question ------------------------------------------------


def test_overall_question_is_worded_the_same_after_a_service_and_in_the_deep_poll(
    shipped: dict[str, Questionnaire],
) -> None:
    post = shipped["post_service"].question("overall")
    deep = shipped["deep_external"].question("overall")
    assert isinstance(post, ScaleQuestion) and isinstance(deep, ScaleQuestion)
    assert post.role == deep.role == Role.OVERALL
    assert (post.min, post.max, post.labels, post.hint) == (
        deep.min,
        deep.max,
        deep.labels,
        deep.hint,
    )
    assert post.text == deep.text
    # The deep poll's only variant names the service the person chose when the link had none.
    assert not post.variants
    assert [v.show_if for v in deep.variants] == ["not answered(service)"]
    # Both name the service through the placeholder, so with the same link they read the same
    # and each names the service being rated.
    assert placeholders(post.text.ru) == {"service"}
    title = TITLES["service"]
    rendered = {fill(q.text, "ru", TITLES) for q in (post, deep)}
    assert rendered == {f"Насколько вы в целом удовлетворены услугой «{title}»?"}


def test_overall_question_has_labelled_ends(shipped: dict[str, Questionnaire]) -> None:
    for questionnaire in shipped.values():
        for question in questionnaire.with_role(Role.OVERALL):
            assert isinstance(question, ScaleQuestion)
            assert question.labels is not None
            assert question.labels.min is not None and question.labels.max is not None


# --- post-service rating ------------------------------------------------------------------


def test_post_service_questions_follow_the_design(shipped: dict[str, Questionnaire]) -> None:
    post = shipped["post_service"]
    assert post.audience == "external"
    assert [q.id for q in post.questions] == [
        "overall",
        "solved",
        "obstacles",
        "contacts",
        "situation_overall",
        "comment",
    ]
    solved = post.question("solved")
    assert isinstance(solved, SingleChoiceQuestion)
    assert [o.id for o in solved.options] == ["yes", "partly", "no", "in_progress"]
    obstacles = post.question("obstacles")
    assert isinstance(obstacles, MultiChoiceQuestion)
    assert obstacles.role == Role.PROBLEMS
    assert obstacles.show_if == "overall <= 3 or solved in [partly, no]"
    assert len(obstacles.options) == 10
    assert [o.id for o in obstacles.options if o.other] == ["other"]
    contacts = post.question("contacts")
    assert isinstance(contacts, SingleChoiceQuestion)
    assert [o.id for o in contacts.options] == ["one", "two", "three", "four_plus"]
    comment = post.question("comment")
    assert isinstance(comment, TextQuestion)
    assert comment.role == Role.COMMENT and not comment.required
    assert "{service}" in post.question("overall").text.ru


def test_post_service_shows_at_most_six_questions_on_every_path(
    shipped: dict[str, Questionnaire],
) -> None:
    post = shipped["post_service"]
    lengths = set()
    paths = 0
    for completed in walk(post, LINK, every_way):
        paths += 1
        questions = shown(completed)
        lengths.add(len(questions))
        overall = completed.progress["ans"]["overall"]
        solved = completed.progress["ans"]["solved"]
        assert isinstance(overall, int)
        expect_obstacles = overall <= 3 or solved in ("partly", "no")
        assert ("obstacles" in questions) == expect_obstacles, (overall, solved)
    assert paths > 5 * 4  # every score with every "solved" answer, and more
    assert max(lengths) <= 6
    # The link names a life situation: its question as a whole is the one more.
    assert lengths == {5, 6}
    without = {len(shown(c)) for c in walk(post, LINK_WITHOUT_SITUATION, every_way)}
    assert without == {4, 5}


def asked(outcome: object) -> Asked:
    assert isinstance(outcome, Asked), outcome
    return outcome


def test_post_service_obstacle_other_asks_for_a_short_text(
    shipped: dict[str, Questionnaire],
) -> None:
    post = shipped["post_service"]
    step = asked(start(post, LINK))
    step = asked(answer(post, step.progress, Rate(2)))
    step = asked(answer(post, step.progress, Choose("no")))
    assert step.question.id == "obstacles"
    step = asked(answer(post, step.progress, ChooseMany(("queue", "other"))))
    assert step.awaiting_other
    step = asked(answer(post, step.progress, TextInput("Не работал терминал")))
    assert step.question.id == "contacts"


@pytest.mark.parametrize(
    ("score", "beginning"),
    [
        (1, "Что пошло не так?"),
        (3, "Что пошло не так?"),
        (4, "Что можно улучшить?"),
        (5, "Что вам понравилось"),
    ],
)
def test_post_service_comment_wording_depends_on_the_score(
    shipped: dict[str, Questionnaire], score: int, beginning: str
) -> None:
    post = shipped["post_service"]
    step = asked(start(post, LINK_WITHOUT_SITUATION))
    for given in (Rate(score), Choose("yes"), Choose("one")):
        step = asked(answer(post, step.progress, given))
        if step.question.id == "obstacles":
            step = asked(answer(post, step.progress, ChooseMany(("queue",))))
    assert step.question.id == "comment"
    assert question_text(post, step, "ru", TITLES).startswith(beginning)


# --- deep poll ----------------------------------------------------------------------------


def deep_paths(
    questionnaire: Questionnaire, context: ResponseContext, channels: tuple[str, ...]
) -> Iterator[Completed]:
    def steps(question: Question) -> Sequence[Step]:
        if question.id == "channels_used":
            return [ChooseMany(channels)]
        if question.id == "complained":
            return [Choose("yes"), Choose("no")]
        return one_way(question)

    return walk(questionnaire, context, steps)


def test_deep_poll_has_nine_parameters_with_cannot_rate(
    shipped: dict[str, Questionnaire],
) -> None:
    deep = shipped["deep_external"]
    parameters = [q for q in deep.with_role(Role.PARAMETER) if q.id in DEEP_PARAMETERS]
    assert [q.id for q in parameters] == list(DEEP_PARAMETERS)
    for question in parameters:
        assert isinstance(question, ScaleQuestion)
        assert (question.min, question.max, question.cannot_rate) == (1, 5, True)
    improvements = deep.question("improvements")
    assert isinstance(improvements, MultiChoiceQuestion) and improvements.max_choices == 3


@pytest.mark.parametrize(
    ("channels", "visible", "hidden"),
    [
        (("site",), {"online_services"}, {"queue_time", "premises", "waiting"}),
        (("post",), set(), {"queue_time", "premises", "waiting", "online_services"}),
        (("phone",), {"queue_time", "waiting"}, {"premises", "online_services"}),
        (("office",), {"queue_time", "premises", "waiting"}, {"online_services"}),
        (("mfc", "gosuslugi"), {"queue_time", "premises", "waiting", "online_services"}, set()),
    ],
)
def test_deep_poll_asks_channel_parameters_only_of_those_who_used_the_channel(
    shipped: dict[str, Questionnaire],
    channels: tuple[str, ...],
    visible: set[str],
    hidden: set[str],
) -> None:
    for completed in deep_paths(shipped["deep_external"], LINK, channels):
        questions = set(shown(completed))
        assert visible <= questions
        assert not hidden & questions


def test_deep_poll_asks_about_complaint_handling_only_after_a_complaint(
    shipped: dict[str, Questionnaire],
) -> None:
    seen = 0
    for completed in deep_paths(shipped["deep_external"], LINK, ("site",)):
        questions = set(shown(completed))
        complained = completed.progress["ans"]["complained"] == "yes"
        assert ({"complaint_handling", "complaint_outcome"} <= questions) == complained
        assert not ({"complaint_handling", "complaint_outcome"} & questions) or complained
        seen += 1
    assert seen == 2


def test_deep_poll_asks_the_life_situation_only_when_the_link_lacks_it(
    shipped: dict[str, Questionnaire],
) -> None:
    deep = shipped["deep_external"]
    with_situation = next(deep_paths(deep, LINK, ("site",)))
    without = next(deep_paths(deep, LINK_WITHOUT_SITUATION, ("site",)))
    assert "situation" not in shown(with_situation)
    assert shown(without)[0] == "situation"


INVITATION = ResponseContext()  # an invitation to the poll names no service (issue 10, item 8)


def test_issue10_deep_poll_from_an_invitation_asks_which_service_and_names_it(
    shipped: dict[str, Questionnaire],
) -> None:
    deep = shipped["deep_external"]
    chosen = deep.question("service_rated")
    assert isinstance(chosen, SingleChoiceQuestion)
    # The options are the catalog's external services, in its order ('-' written '_'),
    # titled for a button.
    external = [s for s in load_catalog().services if s.group != ServiceGroup.INTERNAL]
    assert [o.id for o in chosen.options] == [s.code.replace("-", "_") for s in external]

    def until(step: Asked, question_id: str) -> Asked:
        while step.question.id != question_id:
            typical = one_way(step.question)[0]
            assert typical is not None
            step = asked(answer(deep, step.progress, typical))
        return step

    step = until(asked(start(deep, INVITATION)), "service_rated")
    step = until(asked(answer(deep, step.progress, Choose("inspections"))), "overall")
    for language, title in (("ru", "Проверки управляющих организаций"), ("en", "Inspections")):
        text = question_text(deep, step, language, {"service": None})
        assert title in text and "—" not in text
    # A link with a service neither asks it nor changes the wording.
    for completed in deep_paths(deep, LINK, ("site",)):
        assert "service_rated" not in shown(completed)


def test_deep_poll_shows_between_sixteen_and_twenty_three_questions(
    shipped: dict[str, Questionnaire],
) -> None:
    deep = shipped["deep_external"]
    lengths = set()
    for context in (LINK, LINK_WITHOUT_SITUATION):
        for channels in (("post",), ("site",), ("office",), ("office", "site")):
            lengths |= {len(shown(c)) for c in deep_paths(deep, context, channels)}
    assert min(lengths) == 16
    assert max(lengths) == 23


# --- staff poll and initiative feedback ---------------------------------------------------


def test_staff_poll_rates_the_ten_aspects_with_cannot_rate(
    shipped: dict[str, Questionnaire],
) -> None:
    staff = shipped["staff"]
    assert staff.audience == "internal"
    aspects = staff.with_role(Role.PARAMETER)
    assert tuple(q.id for q in aspects) == STAFF_ASPECTS
    for question in aspects:
        assert isinstance(question, ScaleQuestion)
        assert (question.min, question.max, question.cannot_rate) == (1, 5, True)
    department = staff.question("department")
    assert isinstance(department, SingleChoiceQuestion) and not department.required
    assert staff.questions[0].id == "department"
    overall = staff.with_role(Role.OVERALL)
    assert [q.id for q in overall] == ["overall"]


def test_staff_poll_obstacles_allow_three_and_other(shipped: dict[str, Questionnaire]) -> None:
    obstacles = shipped["staff"].question("obstacles")
    assert isinstance(obstacles, MultiChoiceQuestion)
    assert obstacles.role == Role.PROBLEMS and obstacles.max_choices == 3
    assert [o.id for o in obstacles.options if o.other] == ["other"]


def test_staff_poll_ends_with_an_optional_comment_on_low_rated_aspects(
    shipped: dict[str, Questionnaire],
) -> None:
    staff = shipped["staff"]
    last = staff.questions[-1]
    assert isinstance(last, TextQuestion)
    assert last.role == Role.COMMENT and not last.required

    def rating(scores: Mapping[str, int | None]) -> Callable[[Question], Sequence[Step]]:
        def steps(question: Question) -> Sequence[Step]:
            if isinstance(question, ScaleQuestion):
                score = scores.get(question.id, 4)
                return [CannotRate() if score is None else Rate(score)]
            return one_way(question)

        return steps

    context = ResponseContext()
    low = reach(staff, context, last.id, rating({"equipment": 5, "career": 2}))
    assert "3 и ниже" in question_text(staff, low, "ru", {})
    high = reach(staff, context, last.id, rating({"overall": 2, "career": None}))
    assert question_text(staff, high, "ru", {}) == last.text.ru


def test_staff_poll_can_be_answered_skipping_every_optional_question(
    shipped: dict[str, Questionnaire],
) -> None:
    staff = shipped["staff"]

    def steps(question: Question) -> Sequence[Step]:
        if not question.required:
            return [None]
        if isinstance(question, ScaleQuestion) and question.cannot_rate:
            return [CannotRate()]
        return one_way(question)

    (completed,) = walk(staff, ResponseContext(), steps)
    assert "department" not in {row.question_id for row in completed.answers}
    assert len(shown(completed)) == len(staff.questions)


def test_initiative_asks_a_topic_then_a_required_text(shipped: dict[str, Questionnaire]) -> None:
    initiative = shipped["initiative"]
    topic, message = initiative.questions
    assert isinstance(topic, SingleChoiceQuestion) and topic.id == "topic"
    assert len(topic.options) >= 9
    assert isinstance(message, TextQuestion)
    assert message.required and message.role == Role.COMMENT and message.max_length == 2000
    (completed,) = walk(initiative, ResponseContext(), one_way)
    assert [row.question_id for row in completed.answers] == ["topic", "message"]


def test_fill_gives_what_formatting_with_every_answer_label_gives(
    shipped: dict[str, Questionnaire],
) -> None:
    """``fill`` returns a text without braces as it is instead of formatting it with the labels
    of every earlier answer: the same string as before for every shipped text, and a text
    with placeholders (or a stray brace) still goes through the formatting."""
    from questionnaires.render import _Values, answer_label

    def formatted(text: Text, language: str, answers: Mapping[str, Any], q: Questionnaire) -> str:
        values = _Values({k: v for k, v in TITLES.items() if v})
        for question_id, value in answers.items():
            values[question_id] = answer_label(q.question(question_id), value, language)
        return text.get(language).format_map(values)

    checked = 0
    for questionnaire in shipped.values():
        answers = {
            question.id: (question.options[0].id if hasattr(question, "options") else 3)
            for question in questionnaire.questions
            if not isinstance(question, TextQuestion)
        }
        for _, text in texts(questionnaire):
            for language in ("ru", "en"):
                expected = formatted(text, language, answers, questionnaire)
                assert fill(text, language, TITLES, answers, questionnaire) == expected
                checked += 1
    assert checked > 100
    braces = Text(ru="{service}: {{нет}} {overall}", en="x")
    overall = next(iter(shipped.values())).questions[0]
    filled = fill(braces, "ru", TITLES, {overall.id: 4}, next(iter(shipped.values())))
    assert filled.startswith(f"{TITLES['service']}: {{нет}} ")
    with pytest.raises(ValueError):
        fill(Text(ru="a } b", en="x"), "ru", TITLES)
