"""The dialog service on its own: a state port in memory, real stores on SQLite, no messenger."""

from __future__ import annotations

import asyncio
import dataclasses
from datetime import timedelta

import pytest
from sqlalchemy import text

from questionnaires.campaigns import Verdict
from questionnaires.engine import Choose, Done, Rate, Reason, Toggle
from questionnaires.results import ResponseContext
from services.dialog import (
    Action,
    Cancelled,
    Finished,
    Initiative,
    Question,
    QuestionKind,
    Rating,
    Refusal,
    Refused,
    Stale,
    Step,
    Window,
)
from storage.funnel import CANCELLED, COMPLETED, STARTED, at_question
from tests.dialog.conftest import RU, Desk

ANNA = 1001
BORIS = 1002
LINK = ResponseContext(service="licensing", channel="site")


def _action(step: Question, choose: dict[str, str]) -> Action:
    if step.question_id in choose:
        return Choose(choose[step.question_id])
    if step.kind is QuestionKind.SCALE:
        return Rate(int(step.choices[-1].value))
    if step.kind is QuestionKind.MULTI:
        return Done() if any(c.marked for c in step.choices) else Toggle(step.choices[0].value)
    return Choose(step.choices[0].value)


async def answer_all(
    desk: Desk, person: int, step: Step, choose: dict[str, str] | None = None
) -> Step:
    """Answer every question the typical way (top score, first option, some text)."""
    state = desk.state(person)
    for _ in range(80):
        if not isinstance(step, Question):
            return step
        assert step.rejection is None, step.rejection
        if step.kind in (QuestionKind.TEXT, QuestionKind.OTHER_TEXT):
            step = await desk.service.text(state, person, RU, "Всё понятно")
        else:
            action = _action(step, choose or {})
            step = await desk.service.press(state, person, RU, step.dialog, step.turn, action)
    raise AssertionError("the dialog did not end")


async def start_rating(desk: Desk, person: int = ANNA) -> Question:
    step = await desk.service.start(desk.state(person), person, RU, Rating(LINK))
    assert isinstance(step, Question)
    return step


async def open_deep_poll(desk: Desk) -> int:
    window = await desk.campaigns.open_now("deep", desk.clock_now[0])
    return window.id


# --- starting -------------------------------------------------------------------------


async def test_a_rating_starts_with_its_first_question_saved_before_it_is_returned(
    desk: Desk,
) -> None:
    state = desk.state(ANNA)
    step = await start_rating(desk)
    assert step.question_id == "overall" and step.kind is QuestionKind.SCALE
    assert [c.value for c in step.choices] == ["1", "2", "3", "4", "5"]
    assert step.progress.number == 1 and step.turn == 1 and not step.can_go_back
    assert step.intro is not None and not step.repeated
    data = state.data
    assert data is not None and state.log == ["save"]
    assert data["n"] == step.dialog and data["p"]["cur"] == "overall"
    assert data["d"] == "2026-11-23"  # the start day, in the body's zone (Yakutsk)
    assert await desk.funnel_counts() == {STARTED: 1, at_question("overall"): 1}


async def test_a_dialog_whose_state_cannot_be_saved_is_not_shown_nor_counted(
    desk: Desk,
) -> None:
    state = desk.state(ANNA)
    state.fail_saves = 1
    with pytest.raises(ConnectionError):
        await desk.service.start(state, ANNA, RU, Rating(LINK))
    assert state.data is None
    assert await desk.funnel_counts() == {}


async def test_a_second_rating_of_the_same_service_the_same_day_is_refused_at_start(
    desk: Desk,
) -> None:
    assert isinstance(await answer_all(desk, ANNA, await start_rating(desk)), Finished)
    state = desk.state(ANNA)
    state.stored = '{"stale": true}'
    step = await desk.service.start(state, ANNA, RU, Rating(LINK))
    assert step == Refused(Refusal.ALREADY_RATED)
    assert state.data is None  # whatever dialog the person had is gone
    # Another person, or the next day, may rate it.
    assert isinstance(await start_rating(desk, BORIS), Question)
    desk.clock_now[0] += timedelta(days=1)
    assert isinstance(await start_rating(desk), Question)


async def test_initiative_feedback_is_for_enrolled_staff_only(desk: Desk) -> None:
    state = desk.state(ANNA)
    step = await desk.service.start(state, ANNA, RU, Initiative())
    assert step == Refused(Refusal.NOT_STAFF)
    assert state.log == []  # nothing started, nothing replaced


async def test_an_unknown_window_is_refused_with_its_verdict(desk: Desk) -> None:
    step = await desk.service.start(desk.state(ANNA), ANNA, RU, Window(999))
    assert step == Refused(Refusal.WINDOW, Verdict.UNKNOWN)


# --- presses ----------------------------------------------------------------------------


async def test_a_finished_rating_is_stored_then_forgotten_and_counted(desk: Desk) -> None:
    state = desk.state(ANNA)
    end = await answer_all(desk, ANNA, await start_rating(desk))
    assert isinstance(end, Finished) and end.offer_opt_in and end.outro
    assert state.data is None
    [response] = await desk.rows("responses")
    assert response["service_code"] == "licensing" and response["channel_code"] == "site"
    assert str(response["submitted_on"]) == "2026-11-23"
    counts = await desk.funnel_counts()
    assert counts == {STARTED: 1, COMPLETED: 1}  # every gauge netted out


async def test_a_press_of_another_dialog_is_stale_and_changes_nothing(desk: Desk) -> None:
    state = desk.state(ANNA)
    step = await start_rating(desk)
    before = state.stored
    stale = await desk.service.press(state, ANNA, RU, "abcdef", step.turn, Rate(5))
    assert stale == Stale()
    assert state.stored == before
    # Without any dialog too.
    assert await desk.service.press(desk.state(BORIS), BORIS, RU, step.dialog, 0, Rate(5)) == (
        Stale()
    )


async def test_a_repeated_press_redraws_the_current_step_without_counting_twice(
    desk: Desk,
) -> None:
    state = desk.state(ANNA)
    first = await start_rating(desk)
    second = await desk.service.press(state, ANNA, RU, first.dialog, first.turn, Rate(4))
    assert isinstance(second, Question) and second.question_id == "solved"
    saved = state.stored
    again = await desk.service.press(state, ANNA, RU, first.dialog, first.turn, Rate(1))
    assert isinstance(again, Question) and again.repeated
    assert dataclasses.replace(again, repeated=False) == second
    assert state.stored == saved
    assert (await desk.funnel_counts())[at_question("solved")] == 1


async def test_a_refused_press_keeps_the_step_and_says_why(desk: Desk) -> None:
    state = desk.state(ANNA)
    step = await start_rating(desk)
    saved = state.stored
    refused = await desk.service.press(state, ANNA, RU, step.dialog, step.turn, Rate(9))
    assert isinstance(refused, Question)
    assert refused.rejection is not None and refused.rejection.reason is Reason.OUT_OF_RANGE
    assert refused.turn == step.turn and refused.question_id == "overall"
    assert state.stored == saved


async def test_back_returns_with_the_earlier_answer_marked_and_skip_passes_an_optional_one(
    desk: Desk,
) -> None:
    state = desk.state(ANNA)
    first = await start_rating(desk)
    step = await desk.service.press(state, ANNA, RU, first.dialog, first.turn, Rate(2))
    assert isinstance(step, Question) and step.can_go_back
    back = await desk.service.back(state, ANNA, RU, step.dialog, step.turn)
    assert isinstance(back, Question) and back.question_id == "overall"
    assert [c.value for c in back.choices if c.marked] == ["2"]
    step = await desk.service.press(state, ANNA, RU, back.dialog, back.turn, Rate(2))
    assert isinstance(step, Question) and step.question_id == "solved"
    step = await desk.service.press(state, ANNA, RU, step.dialog, step.turn, Choose("no"))
    # A low score asks for obstacles, which may be skipped.
    assert isinstance(step, Question) and step.question_id == "obstacles"
    assert step.kind is QuestionKind.MULTI and step.can_skip
    skipped = await desk.service.skip(state, ANNA, RU, step.dialog, step.turn)
    assert isinstance(skipped, Question) and skipped.question_id == "contacts"
    counts = await desk.funnel_counts()
    assert counts[at_question("contacts")] == 1
    assert at_question("overall") not in counts and at_question("obstacles") not in counts


async def test_typed_text_answers_a_text_question_and_invisible_text_is_refused(
    desk: Desk,
) -> None:
    state = desk.state(ANNA)
    step: Step = await start_rating(desk)
    while isinstance(step, Question) and step.kind is not QuestionKind.TEXT:
        step = await desk.service.press(state, ANNA, RU, step.dialog, step.turn, _action(step, {}))
    assert isinstance(step, Question) and step.question_id == "comment"
    assert step.max_length is not None
    refused = await desk.service.text(state, ANNA, RU, "\u200b\u2800")
    assert isinstance(refused, Question) and refused.rejection is not None
    assert refused.rejection.reason is Reason.INVISIBLE_TEXT
    end = await desk.service.text(state, ANNA, RU, "  Спасибо за консультацию  ")
    assert isinstance(end, Finished)
    [comment] = [row for row in await desk.rows("answers") if row["question_id"] == "comment"]
    assert comment["text"] == "Спасибо за консультацию"


async def test_text_without_a_dialog_is_stale(desk: Desk) -> None:
    assert await desk.service.text(desk.state(ANNA), ANNA, RU, "5") == Stale()


async def test_a_typed_number_answers_a_scale(desk: Desk) -> None:
    state = desk.state(ANNA)
    await start_rating(desk)
    step = await desk.service.text(state, ANNA, RU, " 4 ")
    assert isinstance(step, Question) and step.question_id == "solved"


# --- completion -------------------------------------------------------------------------


async def test_a_failed_write_keeps_the_dialog_and_the_same_press_stores_it_later(
    desk: Desk,
) -> None:
    state = desk.state(ANNA)
    step: Step = await start_rating(desk)
    while isinstance(step, Question) and step.question_id != "comment":
        step = await desk.service.press(state, ANNA, RU, step.dialog, step.turn, _action(step, {}))
    saved = state.stored
    async with desk.engine.begin() as connection:
        await connection.execute(text("ALTER TABLE responses RENAME TO responses_away"))
    with pytest.raises(Exception):  # noqa: B017 - whatever the driver raises for a lost table
        await desk.service.text(state, ANNA, RU, "Готово")
    assert state.stored == saved  # nothing acknowledged, nothing lost
    async with desk.engine.begin() as connection:
        await connection.execute(text("ALTER TABLE responses_away RENAME TO responses"))
    # The guard gave the rating back: the repeat is stored, not refused as a second rating.
    assert isinstance(await desk.service.text(state, ANNA, RU, "Готово"), Finished)
    assert len(await desk.rows("responses")) == 1
    assert state.data is None


class Killed(BaseException):
    """The worker dies (SIGKILL, power): nothing after it runs, not even an except block."""


async def test_a_worker_killed_between_the_reservation_and_the_store_loses_no_rating(
    desk: Desk, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The guard's rating was taken, then the process died before the response's commit and
    before giving the rating back. Telegram redelivers the last answer (to this or another
    worker): the dialog's state is still there, and the same dialog takes its rating again
    instead of being refused "already rated"; exactly one response is stored, and another
    dialog of the same person is still refused."""
    state = desk.state(ANNA)
    step: Step = await start_rating(desk)
    while isinstance(step, Question) and step.question_id != "comment":
        step = await desk.service.press(state, ANNA, RU, step.dialog, step.turn, _action(step, {}))
    saved = state.stored
    guard, responses = desk.feedback._guard, desk.feedback._responses
    store, give_back = responses.save, guard.release

    async def killed(*_args: object, **_kwargs: object) -> None:
        raise Killed

    monkeypatch.setattr(responses, "save", killed)
    monkeypatch.setattr(guard, "release", killed)  # never reached: the process is gone
    with pytest.raises(Killed):
        await desk.service.text(state, ANNA, RU, "Готово")
    assert state.stored == saved
    monkeypatch.setattr(responses, "save", store)
    monkeypatch.setattr(guard, "release", give_back)
    # The redelivered last answer completes the same dialog.
    assert isinstance(await desk.service.text(state, ANNA, RU, "Готово"), Finished)
    assert len(await desk.rows("responses")) == 1
    assert state.data is None
    # A second dialog the same day is refused as before.
    second = desk.states.setdefault(-1, type(state)())
    assert await desk.service.start(second, ANNA, RU, Rating(LINK)) == Refused(
        Refusal.ALREADY_RATED
    )


async def test_a_worker_killed_between_the_store_and_the_clear_stores_one_response(
    desk: Desk, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The response was committed, then the process died before the dialog's state was
    cleared. The redelivered last answer finds the dialog still open: it is thanked, with no
    second response (the funnel is left as the killed run left it: see the double submit)."""
    state = desk.state(ANNA)
    step: Step = await start_rating(desk)
    while isinstance(step, Question) and step.question_id != "comment":
        step = await desk.service.press(state, ANNA, RU, step.dialog, step.turn, _action(step, {}))
    saved = state.stored
    clear = state.clear

    async def killed() -> None:
        raise Killed

    monkeypatch.setattr(state, "clear", killed)
    with pytest.raises(Killed):
        await desk.service.text(state, ANNA, RU, "Готово")
    assert state.stored == saved  # the state outlived the commit
    assert len(await desk.rows("responses")) == 1
    monkeypatch.setattr(state, "clear", clear)
    again = await desk.service.text(state, ANNA, RU, "Готово")
    assert isinstance(again, Finished) and again.outro and again.offer_opt_in
    assert state.data is None
    assert len(await desk.rows("responses")) == 1
    assert len(await desk.rows("answers")) == len(await desk.rows("report_answers"))
    assert (await desk.funnel_counts()).get(COMPLETED) is None
    # Its key is a keyed hash of the dialog's random completion id, nothing of the person.
    [key] = await desk.rows("dedup_keys")
    assert key["scope"] == "completed" and str(ANNA) not in str(key["key"])
    assert len(str(key["key"])) == 64


async def test_a_double_submit_of_the_last_step_stores_and_counts_one_completion(
    desk: Desk,
) -> None:
    """Review: the web has no per-person lock; two submits of the last step both find the
    dialog open. One response, both thanked, one completion and no question below zero."""
    state = desk.state(ANNA)
    step: Step = await start_rating(desk)
    while isinstance(step, Question) and step.question_id != "comment":
        step = await desk.service.press(state, ANNA, RU, step.dialog, step.turn, _action(step, {}))
    results = await asyncio.gather(
        desk.service.text(state, ANNA, RU, "Готово"),
        desk.service.text(state, ANNA, RU, "Готово"),
    )
    assert [type(result) for result in results] == [Finished, Finished]
    assert len(await desk.rows("responses")) == 1
    assert await desk.funnel_counts() == {STARTED: 1, COMPLETED: 1}


async def test_each_dialog_has_its_own_completion_key(desk: Desk) -> None:
    """Two people's dialogs (and a person's next one) never share a completion key: a
    repeat is recognised by its own dialog only."""
    for person in (ANNA, BORIS):
        end = await answer_all(desk, person, await start_rating(desk, person))
        assert isinstance(end, Finished)
    assert len(await desk.rows("responses")) == 2
    assert len({row["key"] for row in await desk.rows("dedup_keys")}) == 2


async def test_two_dialogs_racing_for_one_rating_store_one_and_refuse_the_other(
    desk: Desk,
) -> None:
    first = desk.state(ANNA)
    await start_rating(desk)
    # The same person on a second device (another front, another state): both started
    # before either finished.
    second = desk.states.setdefault(-1, type(first)())
    other = await desk.service.start(second, ANNA, RU, Rating(LINK))
    assert isinstance(other, Question)
    loaded = first.data
    assert loaded is not None
    step = await desk.service.current(first, RU)
    assert isinstance(step, Question)
    assert isinstance(await answer_all(desk, ANNA, step), Finished)
    desk.states[ANNA] = second
    end = await answer_all(desk, ANNA, other)
    assert end == Refused(Refusal.ALREADY_RATED)
    assert second.data is None
    assert len(await desk.rows("responses")) == 1
    counts = await desk.funnel_counts()
    assert counts == {STARTED: 2, COMPLETED: 1, CANCELLED: 1}


async def test_issue12_a_deep_poll_answer_names_the_service_chosen_in_service_rated(
    desk: Desk,
) -> None:
    window_id = await open_deep_poll(desk)
    step = await desk.service.start(desk.state(ANNA), ANNA, RU, Window(window_id))
    assert isinstance(step, Question)
    # The option id writes the catalog code's '-' as '_'.
    end = await answer_all(desk, ANNA, step, {"service_rated": "license_register"})
    assert isinstance(end, Finished) and end.offer_opt_in
    [response] = await desk.rows("responses")
    assert response["window_id"] == window_id
    assert response["service_code"] == "license-register"
    # The person answers a window once.
    again = await desk.service.start(desk.state(ANNA), ANNA, RU, Window(window_id))
    assert again == Refused(Refusal.WINDOW, Verdict.ALREADY_ANSWERED)


async def test_a_window_closed_during_the_dialog_refuses_the_answer_and_forgets_it(
    desk: Desk,
) -> None:
    window_id = await open_deep_poll(desk)
    state = desk.state(ANNA)
    step = await desk.service.start(state, ANNA, RU, Window(window_id))
    await desk.campaigns.close_now(window_id, desk.clock_now[0])
    end = await answer_all(desk, ANNA, step)
    assert end == Refused(Refusal.WINDOW, Verdict.CLOSED)
    assert state.data is None
    assert await desk.rows("responses") == []
    assert (await desk.funnel_counts()).get(CANCELLED) == 1


# --- cancel -----------------------------------------------------------------------------


async def test_cancel_forgets_the_dialog_and_counts_where_it_stopped(desk: Desk) -> None:
    state = desk.state(ANNA)
    step = await start_rating(desk)
    await desk.service.press(state, ANNA, RU, step.dialog, step.turn, Rate(5))
    assert await desk.service.cancel(state) == Cancelled(had_dialog=True)
    assert state.data is None
    assert await desk.funnel_counts() == {STARTED: 1, CANCELLED: 1}
    assert await desk.service.cancel(state) == Cancelled(had_dialog=False)
    assert await desk.rows("responses") == []


# --- stored state -----------------------------------------------------------------------


async def test_a_dialog_saved_before_the_service_existed_goes_on(desk: Desk) -> None:
    """FSM data as handlers/dialog.py wrote it before issue 12 (no start day, Telegram's "m"
    beside it): the same JSON keys, so live dialogs need no migration."""
    state = desk.state(ANNA)
    state.stored = (
        '{"p": {"qn": "post_service", "ver": 1, "ctx": {"service": "licensing", "channel": '
        '"site", "life_situation": null}, "ans": {"overall": 5}, "oth": {}, "hist": '
        '["overall"], "cur": "solved", "stage": "ask", "draft": [], "turn": 2}, '
        '"n": "a1b2c3", "m": 77}'
    )
    step = await desk.service.current(state, RU)
    assert isinstance(step, Question) and step.question_id == "solved" and step.turn == 2
    after = await desk.service.press(state, ANNA, RU, "a1b2c3", 2, Choose("yes"))
    assert isinstance(after, Question)
    data = state.data
    assert data is not None and data["m"] == 77  # a front's own key is kept
    end = await answer_all(desk, ANNA, after)
    assert isinstance(end, Finished)
    assert len(await desk.rows("responses")) == 1
