"""Tests for the `show_if` condition language: parsing, evaluation and load-time checks."""

from __future__ import annotations

from collections.abc import Mapping

import pytest
from hypothesis import given
from hypothesis import strategies as st

from questionnaires.conditions import (
    AnswerValue,
    Condition,
    ConditionProblem,
    ConditionSyntaxError,
    Symbol,
    SymbolKind,
    parse_condition,
)

NO_CONTEXT: Mapping[str, str | None] = {}

SYMBOLS: Mapping[str, Symbol] = {
    "overall": Symbol(SymbolKind.NUMBER, minimum=1, maximum=5),
    "nps": Symbol(SymbolKind.NUMBER, minimum=0, maximum=10),
    "solved": Symbol(SymbolKind.CHOICE, options=frozenset({"yes", "partly", "no"})),
    "obstacles": Symbol(SymbolKind.MULTI, options=frozenset({"queue", "time", "other"})),
    "comment": Symbol(SymbolKind.TEXT),
    "channel": Symbol(SymbolKind.CONTEXT),
    "service": Symbol(SymbolKind.CONTEXT),
}


def holds(
    source: str, context: Mapping[str, str | None] = NO_CONTEXT, **answers: AnswerValue
) -> bool:
    return parse_condition(source).evaluate(answers, context)


def syntax_error(source: str) -> ConditionSyntaxError:
    with pytest.raises(ConditionSyntaxError) as caught:
        parse_condition(source)
    return caught.value


def problems(source: str) -> list[ConditionProblem]:
    return parse_condition(source).check(SYMBOLS)


# --- parsing and the documented examples -------------------------------------------------


@pytest.mark.parametrize(
    "source",
    [
        "overall <= 3 or solved in [partly, no]",
        "channel in [office, mfc] and not (overall >= 4)",
        "obstacles has other",
        "obstacles has [queue, time]",
        "solved != yes",
        "nps < 7",
        'service == "housing-01"',
        "consent == yes",
        "answered(comment)",
        "not answered(comment)",
    ],
)
def test_documented_examples_parse(source: str) -> None:
    assert parse_condition(source).source == source


def test_references_lists_every_name_once() -> None:
    condition = parse_condition("overall <= 3 or (solved in [no] and not answered(overall))")
    assert condition.references() == frozenset({"overall", "solved"})


def test_bare_identifier_on_the_right_is_an_option_not_a_reference() -> None:
    assert parse_condition("solved == partly").references() == frozenset({"solved"})


def test_identifiers_may_contain_dashes_and_digits() -> None:
    assert parse_condition("q-2_b == opt-1").evaluate({"q-2_b": "opt-1"}, NO_CONTEXT)


def test_conditions_compare_by_source() -> None:
    assert Condition("nps < 7") == parse_condition("nps < 7")
    assert hash(Condition("nps < 7")) == hash(parse_condition("nps < 7"))


# --- precedence and parentheses ------------------------------------------------------------


def test_and_binds_tighter_than_or() -> None:
    # a or (b and c): with a true the result is true whatever b and c are.
    assert holds("a == 1 or b == 1 and c == 1", a=1, b=0, c=0)
    assert not holds("a == 1 or b == 1 and c == 1", a=0, b=1, c=0)


def test_parentheses_override_precedence() -> None:
    assert not holds("(a == 1 or b == 1) and c == 1", a=1, b=0, c=0)


def test_not_binds_tighter_than_and() -> None:
    assert holds("not a == 1 and b == 1", a=0, b=1)
    assert not holds("not a == 1 and b == 1", a=1, b=1)


def test_double_not_cancels() -> None:
    assert holds("not not a == 1", a=1)


# --- operators -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ("nps == 6", True),
        ("nps != 6", False),
        ("nps < 7", True),
        ("nps < 6", False),
        ("nps <= 6", True),
        ("nps > 5", True),
        ("nps > 6", False),
        ("nps >= 6", True),
        ("nps in [5, 6]", True),
        ("nps in [7]", False),
        ("nps not in [7]", True),
    ],
)
def test_number_operators(source: str, expected: bool) -> None:
    assert holds(source, nps=6) is expected


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ("solved == partly", True),
        ("solved == 'partly'", True),
        ('solved == "partly"', True),
        ("solved != yes", True),
        ("solved != partly", False),
        ("solved in [partly, no]", True),
        ("solved in [yes]", False),
        ("solved not in [yes]", True),
        ("solved not in [partly, no]", False),
    ],
)
def test_choice_operators(source: str, expected: bool) -> None:
    assert holds(source, solved="partly") is expected


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ("obstacles has other", True),
        ("obstacles has time", False),
        ("obstacles has [queue, time]", True),
        ("obstacles has [time]", False),
        ("obstacles in [time, other]", True),
        ("obstacles not in [time]", True),
        ("obstacles not in [other]", False),
    ],
)
def test_multi_choice_contains_any(source: str, expected: bool) -> None:
    assert holds(source, obstacles=["queue", "other"]) is expected


def test_has_on_empty_multi_choice_is_false() -> None:
    assert not holds("obstacles has [queue, other]", obstacles=[])


def test_context_keys_are_read_from_the_context() -> None:
    context = {"channel": "mfc", "service": "housing-01", "life_situation": None}
    assert holds("channel in [office, mfc]", context)
    assert holds('service == "housing-01"', context)
    assert not holds("life_situation != birth", context)


def test_an_answer_shadows_a_context_key_of_the_same_name() -> None:
    assert holds("channel == mine", {"channel": "mfc"}, channel="mine")


def test_answered_is_true_only_for_present_answers() -> None:
    assert holds("answered(comment)", comment="")
    assert not holds("answered(comment)")
    assert holds("not answered(comment)")


# --- unanswered and cannot_rate ------------------------------------------------------------


@pytest.mark.parametrize(
    "source",
    [
        "x == 1",
        "x != 1",
        "x < 1",
        "x >= 1",
        "x in [a]",
        "x not in [a]",
        "x has a",
    ],
)
def test_every_comparison_on_an_unanswered_reference_is_false(source: str) -> None:
    assert not holds(source)


def test_unless_is_written_with_not_around_the_comparison() -> None:
    assert holds("not (x == 1)")


def test_context_key_set_to_none_counts_as_unanswered() -> None:
    assert not holds("channel != office", {"channel": None})
    assert not holds("channel not in [office]", {"channel": None})


@pytest.mark.parametrize("source", ["overall < 3", "overall >= 1", "overall == 3"])
def test_cannot_rate_never_satisfies_a_numeric_comparison(source: str) -> None:
    assert not holds(source, overall="cannot_rate")


def test_cannot_rate_can_be_tested_directly() -> None:
    assert holds("overall == cannot_rate", overall="cannot_rate")
    assert holds("overall != cannot_rate", overall=4)


def test_equality_is_strict_about_types() -> None:
    assert not holds('overall == "3"', overall=3)
    assert not holds("code == 3", code="3")
    assert not holds("obstacles == queue", obstacles=["queue"])


# --- syntax errors -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("source", "column", "fragment"),
    [
        ("(overall == 1", 0, "never closed"),
        ("(overall == 1 solved == no", 14, "expected ')'"),
        ("overall <=", 10, "expected a value after '<='"),
        ("overall == 1 solved == no", 13, "unexpected 'solved'"),
        ("overall == 1)", 12, "unexpected ')'"),
        ("", 0, "empty"),
        ("   ", 0, "empty"),
        ('service == "housing', 11, "unterminated string"),
        ("service == 'housing", 11, "unterminated string"),
        ("== 1", 0, "question id before '=='"),
        ("3 == overall", 0, "left side"),
        ("overall", 7, "expected an operator"),
        ("overall = 1", 8, "unknown operator '='"),
        ("a == 1 && b == 1", 7, "unknown operator '&'"),
        ("a == 1 and", 10, "after 'and'"),
        ("solved in partly", 10, "needs a list"),
        ("solved == [yes]", 10, "one value"),
        ("overall < high", 10, "needs a number"),
        ("overall < [1]", 10, "needs a number"),
        ("solved in []", 10, "empty list"),
        ("solved in [yes no]", 15, "expected ']'"),
        ("solved in [yes,", 15, "expected a value after ','"),
        ("solved in [yes", 10, "'[' is never closed"),
        ("solved not yes", 11, "expected 'in'"),
        ("answered comment", 9, "expected '('"),
        ("answered(comment", 8, "never closed"),
        ("answered(3)", 9, "left side"),
        ("1st == yes", 0, "neither a number nor an identifier"),
        ("solved == in", 10, "expected a value"),
        ("and == 1", 0, "expected a question id"),
        ("решено == да", 0, "unexpected character"),
    ],
)
def test_syntax_errors_point_at_the_problem(source: str, column: int, fragment: str) -> None:
    error = syntax_error(source)
    assert fragment in error.message
    assert error.column == column
    assert str(column) in str(error)


def test_uppercase_keyword_gets_a_lowercase_hint() -> None:
    assert syntax_error("a == 1 AND b == 1").hint == "keywords are lowercase: 'and'"


def test_assignment_gets_a_double_equals_hint() -> None:
    assert syntax_error("a = 1").hint == "use '=='"


def test_syntax_error_is_a_value_error() -> None:
    assert isinstance(syntax_error("=="), ValueError)


def test_deep_nesting_is_a_syntax_error_not_a_recursion_error() -> None:
    assert "nested too deeply" in syntax_error("(" * 500 + "a == 1" + ")" * 500).message
    assert "nested too deeply" in syntax_error("not " * 500 + "a == 1").message


# --- load-time checks ----------------------------------------------------------------------


def test_well_typed_conditions_have_no_problems() -> None:
    source = (
        "overall <= 3 or solved in [partly, no] or obstacles has [queue, time] or "
        "channel in [office, mfc] or not answered(comment) or overall == cannot_rate "
        "or nps >= 9 or service != 'housing-01'"
    )
    assert problems(source) == []


def test_unknown_reference_suggests_the_closest_id() -> None:
    assert problems("overal <= 3") == [
        ConditionProblem("unknown reference 'overal'", 0, "did you mean 'overall'?")
    ]


def test_unknown_reference_without_a_close_match_has_no_hint() -> None:
    assert problems("zzz == 1")[0].hint is None


@pytest.mark.parametrize("source", ["solved < 3", "obstacles >= 1", "channel > 2"])
def test_numeric_comparison_on_a_non_number_is_a_problem(source: str) -> None:
    [problem] = problems(source)
    assert "compares numbers" in problem.message
    assert problem.column == source.index(source.split()[1])


def test_option_outside_the_question_options_lists_the_valid_ids() -> None:
    [problem] = problems("solved in [yes, maybe]")
    assert problem == ConditionProblem(
        "'maybe' is not an option of 'solved'", 16, "valid options: no, partly, yes"
    )


def test_unknown_option_after_has_is_a_problem() -> None:
    [problem] = problems("obstacles has [queue, weather]")
    assert problem.column == 22


def test_integer_literal_outside_the_scale_is_a_problem() -> None:
    [problem] = problems("overall >= 6")
    assert problem.column == 11
    assert "outside" in problem.message
    assert problem.hint == "use a number from 1 to 5"


def test_has_on_a_single_choice_is_a_problem() -> None:
    [problem] = problems("solved has yes")
    assert problem.column == 7
    assert "multiple-choice" in problem.message


def test_identifiers_in_a_number_list_are_a_problem() -> None:
    [problem] = problems("overall in [1, low]")
    assert problem.column == 15


def test_free_text_can_only_be_tested_with_answered() -> None:
    [problem] = problems('comment == "bad"')
    assert problem.column == 8
    assert problem.hint == "answered(comment)"
    assert problems("answered(comment)") == []


def test_answered_on_a_context_key_is_allowed_because_links_may_omit_it() -> None:
    assert problems("answered(service)") == []
    assert problems("not answered(channel)") == []


def test_context_keys_take_codes_not_numbers() -> None:
    [problem] = problems("service == 5")
    assert problem.column == 11


def test_equality_on_a_multi_choice_is_a_problem() -> None:
    [problem] = problems("obstacles == queue")
    assert problem.hint == "use obstacles has ..."


def test_check_reports_all_problems_in_source_order() -> None:
    found = problems("overal < 3 or solved in [maybe, nope] or comment == x or nps > 11")
    assert [problem.column for problem in found] == [0, 25, 32, 49, 63]


# --- properties ----------------------------------------------------------------------------

_ALPHABET = st.sampled_from(
    [
        *"abcxyz019_-()[],'\" =!<>&|ж\t",
        " and ",
        " or ",
        " not ",
        " in ",
        " has ",
        "answered",
        " == ",
        " <= ",
    ]
)


@given(st.text() | st.lists(_ALPHABET).map("".join))
def test_parse_raises_only_condition_syntax_error(source: str) -> None:
    try:
        condition = parse_condition(source)
    except ConditionSyntaxError as error:
        assert 0 <= error.column <= len(source)
    else:
        condition.check(SYMBOLS)


_VALUES = st.one_of(
    st.integers(-3, 12),
    st.sampled_from(["yes", "no", "cannot_rate", ""]),
    st.lists(st.sampled_from(["queue", "time", "other"])),
)


@given(
    answers=st.dictionaries(st.sampled_from([*sorted(SYMBOLS), "x"]), _VALUES),
    channel=st.none() | st.sampled_from(["office", "mfc"]),
)
def test_evaluate_on_random_answers_never_raises(
    answers: dict[str, AnswerValue], channel: str | None
) -> None:
    source = (
        "overall <= 3 or solved in [partly, no] or obstacles has [queue, time] or "
        "not (channel in [office]) and answered(comment) or nps != 7 or x not in [1, a]"
    )
    result = parse_condition(source).evaluate(answers, {"channel": channel})
    assert isinstance(result, bool)
