"""The drop-off funnel: in-memory counters, flushed as additive upserts, read back per period."""

from __future__ import annotations

import random
from datetime import date
from itertools import pairwise

import pytest
from sqlalchemy import select
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from questionnaires.results import ResponseContext
from reports.funnel import _started, drop_off
from reports.model import Period, QuitPoint, Scope
from services.funnel import FunnelRecorder
from storage.database import create_session_factory
from storage.funnel import STARTED, FunnelStore
from storage.models import FunnelCount
from tests.reports.conftest import ROLES, add_window
from tests.storage.conftest import ScratchDatabase

DAY = date(2025, 3, 10)
PERIOD = Period(DAY, date(2025, 3, 16))
SITE = ResponseContext(service="s1", channel="site")
OFFICE = ResponseContext(service="s2", channel="office")
QUESTIONS = ["overall", "solved", "obstacles", "comment"]


def run_dialog(
    recorder: FunnelRecorder,
    context: ResponseContext = SITE,
    *,
    stop_at: str | None = None,
    cancel: bool = False,
    day: date = DAY,
) -> None:
    """One dialog through the rating questions: finished, abandoned at a question, or cancelled."""
    recorder.started("rating", context, QUESTIONS[0], day)
    for previous, question in pairwise(QUESTIONS):
        if previous == stop_at:
            break
        recorder.moved("rating", context, day, previous, question)
    last = stop_at or QUESTIONS[-1]
    if cancel:
        recorder.cancelled("rating", context, day, last)
    elif stop_at is None:
        recorder.completed("rating", context, day, last)


async def counts(sessions: async_sessionmaker[AsyncSession]) -> dict[str, int]:
    async with sessions() as session:
        rows = await session.execute(select(FunnelCount.step, FunnelCount.count))
        return {step: count for step, count in rows if count}


async def test_recording_only_gathers_deltas_until_a_flush(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    recorder = FunnelRecorder(sessions)

    run_dialog(recorder)

    assert recorder.pending > 0
    assert await counts(sessions) == {}


async def test_two_flushes_add_up_instead_of_overwriting(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    recorder = FunnelRecorder(sessions)
    for _ in range(3):
        run_dialog(recorder)
    run_dialog(recorder, stop_at="obstacles")
    assert await recorder.flush() > 0
    assert recorder.pending == 0

    for _ in range(2):
        run_dialog(recorder)
    run_dialog(recorder, stop_at="obstacles")
    run_dialog(recorder, stop_at="solved", cancel=True)
    await recorder.flush()

    assert await counts(sessions) == {
        "*started": 8,
        "*completed": 5,
        "*cancelled": 1,
        "@obstacles": 2,  # the gauges of every other question net out to zero
    }
    assert await recorder.flush() == 0  # nothing pending: no transaction at all


async def test_a_dialog_moving_across_two_flushes_keeps_the_gauges_right(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    recorder = FunnelRecorder(sessions)
    recorder.started("rating", SITE, "overall", DAY)
    recorder.moved("rating", SITE, DAY, "overall", "solved")
    await recorder.flush()
    recorder.moved("rating", SITE, DAY, "solved", "overall")  # Back
    recorder.moved("rating", SITE, DAY, "overall", "overall")  # redrawn: no move
    await recorder.flush()

    assert await counts(sessions) == {"*started": 1, "@overall": 1}


async def test_a_failed_flush_keeps_its_deltas_for_the_next_one(
    database: ScratchDatabase,
) -> None:
    engine = database.engine()
    try:
        sessions = create_session_factory(engine)
        recorder = FunnelRecorder(sessions)
        run_dialog(recorder)
        with pytest.raises(SQLAlchemyError):
            await recorder.flush()  # no table yet
        run_dialog(recorder)  # recorded meanwhile
        await database.upgrade()

        await recorder.flush()

        assert (await counts(sessions))["*completed"] == 2
    finally:
        await engine.dispose()


async def test_drop_off_counts_dialogs_started_in_the_period_and_where_the_rest_stopped(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    recorder = FunnelRecorder(sessions)
    for _ in range(10):
        run_dialog(recorder)
    for _ in range(6):
        run_dialog(recorder, stop_at="obstacles")
    for _ in range(2):
        run_dialog(recorder, stop_at="solved")
    run_dialog(recorder, stop_at="overall", cancel=True)
    for _ in range(5):
        run_dialog(recorder, day=date(2025, 3, 17))  # started after the period
    await recorder.flush()

    result = await drop_off(sessions, PERIOD, Scope(), ROLES)

    assert result is not None and not result.suppressed
    assert (result.started, result.completed) == (19, 10)
    assert result.completion_rate == pytest.approx(100 * 10 / 19)
    # Two stopped at "solved": hidden. Showing "obstacles — 6" and one cancel beside 19 − 10
    # would give the two back by subtraction, so every part of who stopped is hidden.
    assert result.cancelled == 0
    assert set(result.quit_points) == {
        QuitPoint("obstacles", "Что помешало?", 0, "rating", suppressed=True),
        QuitPoint("solved", "Вопрос решён?", 0, "rating", suppressed=True),
    }


async def test_quit_points_show_when_no_part_of_who_stopped_is_small(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    recorder = FunnelRecorder(sessions)
    for _ in range(10):
        run_dialog(recorder)
    for _ in range(6):
        run_dialog(recorder, stop_at="obstacles")
    for _ in range(5):
        run_dialog(recorder, stop_at="solved")
    await recorder.flush()

    result = await drop_off(sessions, PERIOD, Scope(), ROLES)

    assert result is not None and (result.started, result.completed) == (21, 10)
    assert result.quit_points == (
        QuitPoint("obstacles", "Что помешало?", 6, "rating"),
        QuitPoint("solved", "Вопрос решён?", 5, "rating"),
    )


@pytest.mark.parametrize(("completed", "stopped"), [(3, 9), (9, 3)])
async def test_drop_off_is_hidden_when_those_who_finished_or_stopped_are_few(
    sessions: async_sessionmaker[AsyncSession], completed: int, stopped: int
) -> None:
    # Review of issue 8: "completed — 3" sized a group of responses the report hides.
    recorder = FunnelRecorder(sessions)
    for _ in range(completed):
        run_dialog(recorder)
    for _ in range(stopped):
        run_dialog(recorder, stop_at="obstacles")
    await recorder.flush()

    result = await drop_off(sessions, PERIOD, Scope(), ROLES)

    assert result is not None and result.suppressed
    assert (result.started, result.completed, result.quit_points) == (0, 0, ())


async def test_drop_off_follows_the_scope_and_hides_small_funnels(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    recorder = FunnelRecorder(sessions)
    for _ in range(5):
        run_dialog(recorder, SITE)
    for _ in range(4):
        run_dialog(recorder, OFFICE)
    recorder.started("staff", SITE, "overall", DAY)  # an internal poll: not external
    await recorder.flush()

    everything = await drop_off(sessions, PERIOD, Scope(), ROLES)
    site = await drop_off(sessions, PERIOD, Scope(service="s1", channel="site"), ROLES)
    office = await drop_off(sessions, PERIOD, Scope(service="s2"), ROLES)
    by_situation = await drop_off(sessions, PERIOD, Scope(life_situation="moving"), ROLES)

    assert everything is not None and everything.started == 9
    assert site is not None and (site.started, site.completed) == (5, 5)
    assert office is not None and office.suppressed and office.started == 0
    assert by_situation is None  # the funnel does not record life situations


async def test_dialogs_of_a_questionnaire_served_in_poll_windows_are_left_out(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    """The counters do not tell a window's dialog from another: a month's completions of the
    deep poll against the window's respondents would give the few answers beside them, so the
    drop-off leaves out every questionnaire that runs in windows."""
    recorder = FunnelRecorder(sessions)
    for _ in range(10):
        run_dialog(recorder)
    for _ in range(7):
        recorder.started("deep", SITE, "overall", DAY)
        recorder.completed("deep", SITE, DAY, "overall")
    await recorder.flush()
    before = await drop_off(sessions, PERIOD, Scope(), ROLES)
    assert before is not None and (before.started, before.completed) == (17, 17)

    await add_window(sessions, 5, "deep", DAY, date(2025, 3, 14))
    result = await drop_off(sessions, PERIOD, Scope(), ROLES)
    assert result is not None and (result.started, result.completed) == (10, 10)


async def test_a_first_window_leaves_the_drop_off_of_earlier_periods_as_it_was(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    """Review of 30 November: a questionnaire's first window used to take its counters out of
    every period, closed ones too, so a report asked again after it differed from the one sent
    before. Now only dialogs started from the first window's opening day on are left out."""
    recorder = FunnelRecorder(sessions)
    earlier = Period(date(2025, 3, 3), date(2025, 3, 9))
    for _ in range(6):
        run_dialog(recorder, day=earlier.start)
        recorder.started("deep", SITE, "overall", earlier.start)
        recorder.completed("deep", SITE, earlier.start, "overall")
    for _ in range(5):
        run_dialog(recorder)
        recorder.started("deep", SITE, "overall", DAY)
        recorder.completed("deep", SITE, DAY, "overall")
    await recorder.flush()
    before = await drop_off(sessions, earlier, Scope(), ROLES)
    assert before is not None and (before.started, before.completed) == (12, 12)

    await add_window(sessions, 5, "deep", DAY, date(2025, 3, 14))
    after = await drop_off(sessions, earlier, Scope(), ROLES)
    assert after == before  # the closed week's figures stand
    week = await drop_off(sessions, PERIOD, Scope(), ROLES)
    assert week is not None and (week.started, week.completed) == (5, 5)  # deep left out
    both = await drop_off(sessions, Period(earlier.start, PERIOD.end), Scope(), ROLES)
    assert both is not None and (both.started, both.completed) == (17, 17)


@pytest.mark.parametrize("weekly", [False, True])
async def test_the_funnel_plans_atoms_are_its_days_summed_by_month_without_weekly_figures(
    sessions: async_sessionmaker[AsyncSession], weekly: bool
) -> None:
    """Summed by month in SQL (reports.funnel._started): the days' counters folded by hand."""
    rnd = random.Random(15)
    deltas: dict[tuple[date, str, str, str, str, str], int] = {}
    for _ in range(300):
        day = date(2025, rnd.randint(1, 7), rnd.randint(1, 28))
        key = (
            day,
            rnd.choice(["rating", "deep", "staff"]),  # staff: another audience
            rnd.choice(["s1", "s2"]),
            rnd.choice(["c1", ""]),
            rnd.choice([STARTED, "*completed"]),
            rnd.choice(["telegram", "web"]),
        )
        deltas[key] = deltas.get(key, 0) + rnd.randint(-1, 4)
    await FunnelStore(sessions).add(deltas)
    half = Period(date(2025, 1, 1), date(2025, 6, 30))
    expected: dict[tuple[date, tuple[str, str, None, str]], int] = {}
    for (day, questionnaire, service, channel, step, front), delta in deltas.items():
        if step != STARTED or questionnaire == "staff" or not half.start <= day <= half.end:
            continue
        atom = (day if weekly else day.replace(day=1), (service, channel, None, front))
        expected[atom] = expected.get(atom, 0) + delta
    async with sessions() as session:
        found = await _started(session, half, Scope(), ROLES, weekly=weekly)
    assert found == {atom: n for atom, n in expected.items() if n > 0}
