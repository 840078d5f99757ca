"""Fake web dialogs in the drop-off (review of 30 November, the residual of issue 13).

The funnel's counters had no front, so its rule (started, completed and stopped each 0 or at
least the threshold, a question's quits too) pooled the web with the messengers. The attack:
an officer who knows that six people began a service's rating in Telegram this month and five
finished starts it 4 times in the web form and stops each at the same question: the month
shows 5 stopped there; minus their own 4, the sixth person stopped there too. Now the counters
carry the front (revision 0034) and the web's dialogs pass the rule only among themselves
(reports.funnel): the messengers' 1 stays hidden, and a web side too small counts nowhere.
The control, with the web pooled, gives the genuine stop back.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import date
from itertools import pairwise
from typing import Final

import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from questionnaires.fronts import Front
from questionnaires.results import ResponseContext
from reports.disclosure import pool_web_with_messengers, web_pooled
from reports.funnel import drop_off, protected_drop_off
from reports.model import DropOff, Period, Scope
from services.dialog import Finished, Question, Rating
from services.funnel import FunnelRecorder
from storage.funnel import CANCELLED, COMPLETED, STARTED
from tests.dialog.conftest import RU, Desk, desk, dialog_template
from tests.dialog.test_fronts import CARLA
from tests.dialog.test_service import ANNA, BORIS, LINK, answer_all
from tests.reports.conftest import ROLES
from tests.storage.conftest import database, engine, sessions

__all__ = ["database", "desk", "dialog_template", "engine", "sessions"]

K: Final = 5
OWN: Final = 4
MARCH: Final = Period(date(2025, 3, 1), date(2025, 3, 31))
DAY: Final = date(2025, 3, 10)
SITE: Final = ResponseContext(service="s1", channel="site")
QUESTIONS: Final = ["overall", "solved", "obstacles", "comment"]
STOP: Final = "obstacles"


def _dialog(recorder: FunnelRecorder, front: Front, *, stop_at: str | None = None) -> None:
    recorder.started("rating", SITE, QUESTIONS[0], DAY, front)
    for previous, question in pairwise(QUESTIONS):
        if previous == stop_at:
            break
        recorder.moved("rating", SITE, DAY, previous, question, front)
    if stop_at is None:
        recorder.completed("rating", SITE, DAY, QUESTIONS[-1], front)


@pytest.fixture
async def padded(sessions: async_sessionmaker[AsyncSession]) -> AsyncIterator[FunnelRecorder]:
    """5 Telegram dialogs finished, 1 stopped at «obstacles»; the officer's 4 web dialogs
    stopped there too."""
    recorder = FunnelRecorder(sessions)
    for _ in range(5):
        _dialog(recorder, Front.TELEGRAM)
    _dialog(recorder, Front.TELEGRAM, stop_at=STOP)
    for _ in range(OWN):
        _dialog(recorder, Front.WEB, stop_at=STOP)
    await recorder.flush()
    before = web_pooled()
    try:
        yield recorder
    finally:
        pool_web_with_messengers(before)


async def _views(sessions: async_sessionmaker[AsyncSession]) -> list[DropOff]:
    """Every drop-off the officer can ask for here: the month, all services and s1, through
    the report (the plan's check first) and the funnel's own reading."""
    found: list[DropOff] = []
    for scope in (Scope(), Scope(service="s1"), Scope(service="s1", channel="site")):
        async with sessions() as session:
            shown = await protected_drop_off(session, MARCH, scope, ROLES, min_group=K)
        assert shown is not None
        found.append(shown)
        plain = await drop_off(sessions, MARCH, scope, ROLES, min_group=K)
        assert plain is not None
        found.append(plain)
    return found


def _genuine_stops(view: DropOff) -> set[int]:
    """What the officer reads of the genuine stops: every shown figure minus their own 4."""
    if view.suppressed:
        return set()
    found = {view.started - view.completed - OWN}
    found |= {p.quits - OWN for p in view.quit_points if not p.suppressed}
    return found


@pytest.mark.usefixtures("padded")
async def test_fake_web_dialogs_do_not_reveal_where_one_person_stopped(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    pool_web_with_messengers(False)  # the default
    for view in await _views(sessions):
        assert view.suppressed  # the messengers' 6 with 1 stopped: hidden, the web's 4 nowhere
        assert 1 not in _genuine_stops(view)


@pytest.mark.usefixtures("padded")
async def test_control_pooled_the_drop_off_gives_the_genuine_stop_back(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    pool_web_with_messengers(True)  # the risk taken
    views = await _views(sessions)
    assert all(not view.suppressed for view in views)
    assert all(1 in _genuine_stops(view) for view in views)
    assert all((p.question_id, p.quits) == (STOP, 5) for view in views for p in view.quit_points)


async def test_enough_messenger_dialogs_are_shown_without_a_few_web_ones(
    sessions: async_sessionmaker[AsyncSession], padded: FunnelRecorder
) -> None:
    """4 more Telegram stops (5 in all): the messengers' drop-off is shown, the web's 4 are
    counted in none of its figures; with a fifth web stop and 5 web dialogs finished, the
    web's pass the rule on their own and are shown beside them."""
    pool_web_with_messengers(False)
    for _ in range(4):
        _dialog(padded, Front.TELEGRAM, stop_at=STOP)
    await padded.flush()
    for view in await _views(sessions):
        assert (view.started, view.completed) == (10, 5)
        assert [(p.question_id, p.quits) for p in view.quit_points] == [(STOP, 5)]
    _dialog(padded, Front.WEB, stop_at=STOP)
    for _ in range(5):
        _dialog(padded, Front.WEB)
    await padded.flush()
    for view in await _views(sessions):
        assert (view.started, view.completed) == (20, 10)
        assert [(p.question_id, p.quits) for p in view.quit_points] == [(STOP, 10)]


async def test_every_funnel_counter_of_a_web_dialog_carries_the_web_front(desk: Desk) -> None:
    """The dialog service passes the dialog's front to every counter it moves: started,
    moved, completed and cancelled (a web dialog counted as Telegram's would pad the
    messengers' side again)."""
    for person, front in ((ANNA, Front.WEB), (BORIS, Front.TELEGRAM)):
        step = await desk.service.start(desk.state(person), person, RU, Rating(LINK), front=front)
        assert isinstance(step, Question)
        assert isinstance(await answer_all(desk, person, step), Finished)
    step = await desk.service.start(desk.state(CARLA), CARLA, RU, Rating(LINK), front=Front.WEB)
    assert isinstance(step, Question)
    await desk.service.cancel(desk.state(CARLA))
    await desk.funnel.flush()
    by_front: dict[str, dict[str, int]] = {}
    for row in await desk.rows("dialog_funnel"):
        steps = by_front.setdefault(str(row["front"]), {})
        steps[str(row["step"])] = steps.get(str(row["step"]), 0) + int(str(row["count"]))
    assert set(by_front) == {"web", "telegram"}
    assert (by_front["web"][STARTED], by_front["web"][COMPLETED]) == (2, 1)
    assert by_front["web"][CANCELLED] == 1
    assert (by_front["telegram"][STARTED], by_front["telegram"][COMPLETED]) == (1, 1)
    assert CANCELLED not in by_front["telegram"]
    # Every question's gauge nets out per front: what is parked is only the web's 0.
    assert all(
        count == 0 for steps in by_front.values() for step, count in steps.items() if "@" in step
    )
