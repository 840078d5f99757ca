"""Text hygiene in the engine (issue 9): what a person types is stored clean or refused."""

from __future__ import annotations

import unicodedata

import pytest
from hypothesis import given
from hypothesis import strategies as st

from questionnaires import engine
from questionnaires.engine import (
    Asked,
    Choose,
    Completed,
    Rate,
    Reason,
    Rejected,
    TextInput,
    clean_text,
    has_visible,
)
from questionnaires.results import AnswerRow, ResponseContext
from tests.engine_helpers import branching

Q = branching()
OFFICE = ResponseContext(service="licensing", channel="office")


def _comment_step() -> Asked:
    outcome: object = engine.start(Q, OFFICE)
    for given_input in (Rate(5), Choose("yes"), Rate(10)):
        assert isinstance(outcome, Asked)
        outcome = engine.answer(Q, outcome.progress, given_input)
    assert isinstance(outcome, Asked) and outcome.question.id == "comment"
    return outcome


def _stored_comment(text: str) -> str:
    done = engine.answer(Q, _comment_step().progress, TextInput(text))
    assert isinstance(done, Completed), done
    row = done.answers[-1]
    assert row.question_id == "comment" and row.text is not None
    return row.text


def test_control_characters_are_stripped_but_newline_and_tab_stay() -> None:
    assert _stored_comment("оч\x00ень\x07 дол\x1bго\x7f\nждал\tответа") == (
        "очень долго\nждал\tответа"
    )


def test_carriage_returns_become_newlines() -> None:
    assert _stored_comment("раз\r\nдва\rтри") == "раз\nдва\nтри"


def test_lone_surrogates_never_reach_storage() -> None:
    assert _stored_comment("ok\ud800 fine") == "ok fine"


def test_text_is_normalised_to_nfc() -> None:
    decomposed = "е\u0308лка"  # e + combining diaeresis
    stored = _stored_comment(decomposed)
    assert stored == "ёлка" and unicodedata.is_normalized("NFC", stored)


@pytest.mark.parametrize(
    "text",
    ["\u200b", "\u2800\u2800", "\u3164", "\u200b \u200d\ufeff", "\x00\x01", "\u0301", "\u00ad"],
    ids=["zwsp", "braille-blank", "hangul-filler", "mixed-format", "controls", "mark", "shy"],
)
def test_invisible_only_text_is_refused_with_its_own_reason(text: str) -> None:
    rejected = engine.answer(Q, _comment_step().progress, TextInput(text))
    assert isinstance(rejected, Rejected)
    assert rejected.reason in (Reason.INVISIBLE_TEXT, Reason.EMPTY_TEXT)
    assert rejected.asked.question.id == "comment"


def test_zero_width_text_is_refused_as_invisible_not_as_empty() -> None:
    rejected = engine.answer(Q, _comment_step().progress, TextInput("\u200b\u2800"))
    assert isinstance(rejected, Rejected) and rejected.reason == Reason.INVISIBLE_TEXT


def test_invisible_ends_are_trimmed_and_emoji_sequences_kept() -> None:
    family = "👨\u200d👩\u200d👧"
    assert _stored_comment(f"\u200b{family} ❤️\u2800") == f"{family} ❤️"


def test_other_follow_up_text_is_cleaned_too() -> None:
    outcome = engine.answer(Q, engine.start(Q, OFFICE).progress, Rate(1))
    assert isinstance(outcome, Asked)
    outcome = engine.answer(Q, outcome.progress, Choose("other"))
    assert isinstance(outcome, Asked) and outcome.awaiting_other
    refused = engine.answer(Q, outcome.progress, TextInput("\u3164"))
    assert isinstance(refused, Rejected) and refused.reason == Reason.INVISIBLE_TEXT
    moved = engine.answer(Q, outcome.progress, TextInput("жд\x00у"))
    assert isinstance(moved, Asked)
    assert moved.progress["oth"]["solved"] == "жду"


@given(st.text())
def test_cleaned_text_has_no_controls_and_is_nfc(text: str) -> None:
    cleaned = clean_text(text)
    assert all(c in "\n\t" or unicodedata.category(c) not in ("Cc", "Cs") for c in cleaned)
    assert unicodedata.is_normalized("NFC", cleaned)
    cleaned.encode("utf-8")  # storable: no lone surrogates
    if cleaned:
        assert has_visible(cleaned) or not cleaned.strip() or not has_visible(text)


def test_stored_row_of_a_clean_answer_is_unchanged() -> None:
    done = engine.answer(Q, _comment_step().progress, TextInput("  быстрее  "))
    assert isinstance(done, Completed)
    assert done.answers[-1] == AnswerRow("comment", text="быстрее")
