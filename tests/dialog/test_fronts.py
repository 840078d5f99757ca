"""Issue 13: a dialog keeps the front it runs in and its response records it, on every path."""

from __future__ import annotations

from questionnaires.fronts import Front, front_of
from services.dialog import Finished, Initiative, Question, Rating, Window
from tests.dialog.conftest import RU, Desk
from tests.dialog.test_service import ANNA, BORIS, LINK, answer_all, open_deep_poll

CARLA = 1003


async def test_a_rating_records_the_front_it_ran_in(desk: Desk) -> None:
    for person, front in ((ANNA, Front.MAX), (BORIS, Front.WEB), (CARLA, Front.TELEGRAM)):
        step = await desk.service.start(desk.state(person), person, RU, Rating(LINK), front=front)
        assert isinstance(step, Question)
        assert isinstance(await answer_all(desk, person, step), Finished)
    fronts = sorted(str(row["front"]) for row in await desk.rows("responses"))
    assert fronts == ["max", "telegram", "web"]
    # The reports' copy carries it too, in the response's own transaction.
    copies = {str(row["front"]) for row in await desk.rows("report_answers")}
    assert copies == {"max", "telegram", "web"}


async def test_the_front_is_kept_in_the_dialog_under_f_and_telegram_keeps_the_old_shape(
    desk: Desk,
) -> None:
    await desk.service.start(desk.state(ANNA), ANNA, RU, Rating(LINK), front=Front.MAX)
    data = desk.state(ANNA).data
    assert data is not None and data["f"] == "max"
    await desk.service.start(desk.state(BORIS), BORIS, RU, Rating(LINK))
    data = desk.state(BORIS).data
    assert data is not None and "f" not in data  # no key = Telegram, as before issue 13


async def test_a_dialog_saved_without_a_front_completes_as_telegram(desk: Desk) -> None:
    """A live dialog saved before issue 13 has no "f": it ran in Telegram."""
    state = desk.state(ANNA)
    state.stored = (
        '{"p": {"qn": "post_service", "ver": 1, "ctx": {"service": "licensing", "channel": '
        '"site", "life_situation": null}, "ans": {"overall": 5}, "oth": {}, "hist": '
        '["overall"], "cur": "solved", "stage": "ask", "draft": [], "turn": 2}, '
        '"n": "a1b2c3", "d": "2026-11-23", "m": 77}'
    )
    step = await desk.service.current(state, RU)
    assert isinstance(step, Question)
    assert isinstance(await answer_all(desk, ANNA, step), Finished)
    [response] = await desk.rows("responses")
    assert response["front"] == "telegram"


async def test_a_poll_window_answer_records_its_front(desk: Desk) -> None:
    window_id = await open_deep_poll(desk)
    step = await desk.service.start(desk.state(ANNA), ANNA, RU, Window(window_id), front=Front.WEB)
    assert isinstance(step, Question)
    end = await answer_all(desk, ANNA, step, {"service_rated": "license_register"})
    assert isinstance(end, Finished)
    [response] = await desk.rows("responses")
    assert response["window_id"] == window_id and response["front"] == "web"


async def test_initiative_feedback_records_its_front(desk: Desk) -> None:
    [code] = await desk.campaigns.enrolment.create_invite_codes("licensing", 1)
    await desk.campaigns.enrolment.enroll(code, ANNA)
    step = await desk.service.start(desk.state(ANNA), ANNA, RU, Initiative(), front=Front.MAX)
    assert isinstance(step, Question)
    assert isinstance(await answer_all(desk, ANNA, step), Finished)
    [response] = await desk.rows("responses")
    assert response["kind"] == "initiative" and response["front"] == "max"


def test_front_of_reads_what_the_enum_reads_and_telegram_otherwise() -> None:
    """``front_of`` looks the value up instead of letting the enum refuse it (the refusal was
    most of its cost on every Telegram press): the same front as ``Front(str(value))``, and
    Telegram wherever that raises."""

    def by_enum(value: object) -> Front:
        try:
            return Front(str(value))
        except ValueError:
            return Front.TELEGRAM

    class Named:
        def __str__(self) -> str:
            return "web"

    values: list[object] = [None, "", "telegram", "max", "web", "MAX", " max", "max ", "None"]
    values += [*Front, 0, 1, 2.5, True, b"max", ["max"], Named(), object()]
    for value in values:
        assert front_of(value) is by_enum(value), value
