"""Departments from the catalog: look-alike letters refused, small departments merged by the
number of staff enrolled (issue 8, item 5)."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from questionnaires.departments import (
    look_alike,
    mixed_script_words,
    resolve,
    shown_departments,
    skeleton,
)
from tests.campaigns.conftest import DEPARTMENTS

HOMOGLYPH = "Отдeл кадров"  # the third letter is a Latin e


def test_a_latin_look_alike_does_not_name_a_department() -> None:
    assert HOMOGLYPH != "Отдел кадров" and skeleton(HOMOGLYPH) == skeleton("Отдел кадров")
    assert resolve(DEPARTMENTS, HOMOGLYPH) is None
    imitated = look_alike(DEPARTMENTS, HOMOGLYPH)
    assert imitated is not None and imitated.code == "hr"
    assert mixed_script_words(HOMOGLYPH) == ["Отдeл"]
    assert mixed_script_words("IT-отдел, ИТ отдел") == []


def test_a_department_is_named_by_its_code_or_exact_title_in_any_case_and_spacing() -> None:
    for typed in ("hr", "HR", "Отдел кадров", "  отдел   КАДРОВ "):
        found = resolve(DEPARTMENTS, typed)
        assert found is not None and found.code == "hr", typed
    assert resolve(DEPARTMENTS, "Отдел") is None
    assert resolve(DEPARTMENTS, "Отдел кадров и ИТ") is None


def test_departments_with_too_few_enrolled_staff_are_merged() -> None:
    shown = shown_departments({"a": 9, "b": 7, "c": 5, "d": 3, "e": 2}, 5)
    assert shown == {"a": "a", "b": "b", "c": "c", "d": None, "e": None}


def test_a_merged_rest_below_the_threshold_pulls_in_the_smallest_shown_department() -> None:
    # d alone (3) would be all staff minus the shown ones: c joins it.
    assert shown_departments({"a": 9, "b": 7, "c": 5, "d": 3}, 5) == {
        "a": "a",
        "b": "b",
        "c": None,
        "d": None,
    }
    # One department of 6 and one of 2: the 6 join the 2, nothing is shown.
    assert shown_departments({"a": 6, "b": 2}, 5) == {"a": None, "b": None}
    # Everybody in one department: naming it reveals nobody.
    assert shown_departments({"a": 7}, 5) == {"a": "a"}


def test_departments_not_in_the_catalog_are_never_shown() -> None:
    shown = shown_departments({"a": 9, "Старый отдел": 8, "b": 6}, 5, known={"a", "b"})
    assert shown == {"a": "a", "Старый отдел": None, "b": "b"}


@given(
    st.dictionaries(st.sampled_from("abcdefgh"), st.integers(min_value=1, max_value=30)),
    st.integers(min_value=1, max_value=10),
)
def test_nothing_under_the_threshold_shows_directly_or_by_subtraction(
    members: dict[str, int], threshold: int
) -> None:
    shown = shown_departments(members, threshold)
    visible = [code for code, value in shown.items() if value is not None]
    assert all(shown[code] == code for code in visible)
    assert all(members[code] >= threshold for code in visible)
    rest = sum(count for code, count in members.items() if shown[code] is None)
    # The merged rest is named («другие подразделения») only beside a shown department; when
    # nothing is shown it is everybody, and no department is named at all.
    assert not visible or rest == 0 or rest >= threshold
