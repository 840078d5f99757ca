"""Fake web respondents in poll windows (review of 30 November, the residual of issue 13).

``/w/<window>`` is open to any browser, so an officer who knows that one citizen answered a
window through Telegram can answer it 4 times through the web form, see the window shown as 5
and subtract their own 4. By default (``REPORTS__POOL_WEB_WITH_MESSENGERS=false``) a window's
web answers count only among at least the threshold of web answers, and so do the messengers'
(reports.windows.counted_sides): every window output (the officers' results, the publication,
the public site's window figures, parameters and key drivers, staff and deep-poll results of
Appendix 2, the poll's complaint questions) sums only the counted sides. The control, with the
web pooled, gives the genuine answer back.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from typing import Final
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from questionnaires.fronts import Front
from questionnaires.results import AnswerRow, CompletedResponse, ResponseContext
from questionnaires.schema import Questionnaire
from reports.appeals import build_monitoring
from reports.disclosure import DisclosurePolicy, pool_web_with_messengers, web_pooled
from reports.model import Period, Scope
from reports.parameters import internal_report, parameter_section
from reports.periods import calendar_previous
from reports.windows import (
    OTHER_DEPARTMENTS,
    GroupCounts,
    counted_tallies,
    window_departments,
    windows_of,
)
from storage.appeals import AppealStore
from storage.campaigns import Tally
from storage.responses import ResponseStore
from tests.anonymity.test_window_differencing import DEPARTMENTS, ROLES_W
from tests.campaigns.conftest import (
    CampaignWorld,
    calendar,
    campaign_file,
    complete,
    local,
    migrated_template,
    questionnaires,
    sqlite_engine,
    staff_polls_topic,
    world,
)
from tests.reports.conftest import add_window
from tests.storage.conftest import database, engine, sessions

__all__ = [  # fixtures: the storage's on both backends, the campaign world's on SQLite
    "calendar",
    "campaign_file",
    "database",
    "engine",
    "migrated_template",
    "questionnaires",
    "sessions",
    "sqlite_engine",
    "staff_polls_topic",
    "world",
]

K: Final = 5
OWN: Final = 4  # the officer's fake web answers
GENUINE: Final = 1  # the score (and parameter) of the one genuine Telegram answer
FAKE: Final = 5  # the officer's
NOVEMBER: Final = Period(date(2026, 11, 1), date(2026, 11, 30))
OCTOBER: Final = Period(date(2026, 10, 1), date(2026, 10, 31))
WINDOW: Final = 7
NOVEMBER_ZONE: Final = ZoneInfo("UTC")


@pytest.fixture
def pooling() -> Iterator[None]:
    before = web_pooled()
    try:
        yield
    finally:
        pool_web_with_messengers(before)


def _deep(day: date, overall: int, front: Front, *answers: AnswerRow) -> CompletedResponse:
    return CompletedResponse(
        questionnaire_id="deep",
        questionnaire_version=1,
        kind="deep",
        audience="external",
        context=ResponseContext(None, None, None),
        submitted_on=day,
        answers=(AnswerRow("overall", number=overall), *answers),
        window_id=WINDOW,
        front=front,
    )


@pytest.fixture
async def padded(sessions: async_sessionmaker[AsyncSession], pooling: None) -> None:
    """A deep-poll window of November: one genuine Telegram answer (overall and speed 1) and
    the officer's 4 web answers (5 and 5)."""
    await add_window(sessions, WINDOW, "deep", NOVEMBER.start, NOVEMBER.end)
    store = ResponseStore(sessions)
    day = date(2026, 11, 10)
    await store.save(_deep(day, GENUINE, Front.TELEGRAM, AnswerRow("speed", number=GENUINE)))
    for _ in range(OWN):
        await store.save(_deep(day, FAKE, Front.WEB, AnswerRow("speed", number=FAKE)))


async def _speed(sessions: async_sessionmaker[AsyncSession]) -> tuple[int, ...] | None:
    """The window's parameter as the report shows it: respondents per score 1–5, or None."""
    section = await parameter_section(
        sessions,
        roles=ROLES_W,
        period=NOVEMBER,
        previous=OCTOBER,
        scope=Scope(audience="external"),
        min_group=K,
    )
    assert section is not None
    [row] = section.rows
    if row.current.suppressed:
        return None
    return tuple(row.current.distribution.get(score, 0) for score in range(1, 6))


@pytest.mark.usefixtures("padded")
async def test_fake_web_answers_do_not_show_a_window_of_one_genuine_answer(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    pool_web_with_messengers(False)  # the default
    [shown] = await windows_of(sessions, ["deep"], [NOVEMBER], K, NOVEMBER_ZONE)
    assert shown == []  # neither side reaches 5: the window is hidden, counted nowhere
    assert await _speed(sessions) is None


@pytest.mark.usefixtures("padded")
async def test_control_pooled_the_window_gives_the_genuine_answer_back(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    pool_web_with_messengers(True)  # the risk taken
    shown = await _speed(sessions)
    assert shown is not None
    rest = list(shown)
    rest[FAKE - 1] -= OWN
    assert rest == [int(score == GENUINE) for score in range(1, 6)]


@pytest.mark.usefixtures("padded")
async def test_a_window_with_enough_of_each_side_sums_only_the_counted_sides(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    """Four more genuine Telegram answers (5 in all, shown) and a fifth fake one (the web's 5
    shown too): the window counts all 10. With a sixth web answer removed from the picture,
    3 web answers beside 5 Telegram ones are counted nowhere."""
    pool_web_with_messengers(False)
    store = ResponseStore(sessions)
    day = date(2026, 11, 11)
    for _ in range(4):
        await store.save(_deep(day, 3, Front.TELEGRAM, AnswerRow("speed", number=3)))
    [[window]] = await windows_of(sessions, ["deep"], [NOVEMBER], K, NOVEMBER_ZONE)
    assert (window.respondents, window.sides) == (5, frozenset({"messengers"}))
    assert await _speed(sessions) == (1, 0, 4, 0, 0)  # the 4 fake ones in no figure
    await store.save(_deep(day, FAKE, Front.WEB, AnswerRow("speed", number=FAKE)))
    [[window]] = await windows_of(sessions, ["deep"], [NOVEMBER], K, NOVEMBER_ZONE)
    assert window.respondents == 10
    assert await _speed(sessions) == (1, 0, 4, 0, 5)


# --- the officers' results, the publication and the site (services.windows) -----------------


async def _answer_window(
    world: CampaignWorld, questionnaires: dict[str, Questionnaire], fronts: list[Front]
) -> None:
    await world.tick(local(2026, 4, 27, 10, 0))
    [window] = await world.service.open_windows("external")
    deep = questionnaires["deep_external"]
    for person, front in enumerate(fronts):
        genuine = front is not Front.WEB
        answered = complete(
            deep,
            overall=GENUINE if genuine else FAKE,
            comment="Подлинный отзыв" if genuine else "Мой отзыв",
        )
        await world.service.store_answer(window.id, 9000 + person, answered, front=front)
    await world.tick(local(2026, 5, 13, 10, 0))


async def test_window_results_hide_one_genuine_answer_padded_with_web_ones(
    world: CampaignWorld, questionnaires: dict[str, Questionnaire], pooling: None
) -> None:
    pool_web_with_messengers(False)
    await world.opt_in(103, "changes")
    await _answer_window(world, questionnaires, [Front.TELEGRAM, *[Front.WEB] * OWN])
    [(_, text)] = world.results.texts
    assert "меньше 5" in text and "CSAT" not in text
    assert "Подлинный отзыв" not in text and "Мой отзыв" not in text
    [published] = [t for _, t in world.sent if "Результаты опроса" in t]
    assert "слишком мало" in published and "%" not in published
    [result] = await world.service.window_results()
    assert result.counts is None


async def test_control_pooled_window_results_give_the_genuine_answer_back(
    world: CampaignWorld, questionnaires: dict[str, Questionnaire], pooling: None
) -> None:
    pool_web_with_messengers(True)
    await _answer_window(world, questionnaires, [Front.TELEGRAM, *[Front.WEB] * OWN])
    [(_, text)] = world.results.texts
    assert "Ответов: 5" in text and "Подлинный отзыв" in text
    [result] = await world.service.window_results()
    assert result.counts is not None
    assert result.counts.by_score[GENUINE - 1] == 1  # 5 − own 4 at score 5: the genuine 1


async def test_window_results_of_enough_messengers_leave_a_few_web_answers_out(
    world: CampaignWorld, questionnaires: dict[str, Questionnaire], pooling: None
) -> None:
    """5 Telegram answers are shown; 2 web ones beside them count in no figure, and their
    comments stay out, so the officer's 2 change nothing they can subtract."""
    pool_web_with_messengers(False)
    await _answer_window(world, questionnaires, [*[Front.TELEGRAM] * 5, Front.WEB, Front.WEB])
    [(_, text)] = world.results.texts
    assert "Ответов: 5" in text and "Подлинный отзыв" in text and "Мой отзыв" not in text
    [result] = await world.service.window_results()
    assert result.counts is not None and result.counts.respondents == 5
    assert result.counts.by_score[FAKE - 1] == 0


# --- departments (pure: the rule the results, staff results and the internal report share) ----


def _tally(department: str | None, scores: dict[int, int], *, web: bool = False) -> Tally:
    by_score = tuple(scores.get(score, 0) for score in range(1, 6))
    return Tally(department, sum(by_score), by_score, 0, web=web)


#: Messengers: departments a, b, d with 5 each (scores 3) and c with the genuine one (score 1).
#: The officer's web answers: 4 in c (to pad it to 5) and 1 in e (to make the web side 5).
DEPARTMENT_TALLIES: Final = [
    _tally("a", {3: 5}),
    _tally("b", {3: 5}),
    _tally("d", {3: 5}),
    _tally("c", {GENUINE: 1}),
    _tally("c", {FAKE: 4}, web=True),
    _tally("e", {FAKE: 1}, web=True),
]


def _own_in(title: str) -> int:
    return {"c": 4, "e": 1}.get(title, 0)


def test_fake_web_answers_do_not_pad_a_department_of_one_genuine_answer() -> None:
    counted = counted_tallies(DEPARTMENT_TALLIES, K, pooled=False)
    groups = window_departments(counted, K, pooled=False)
    assert groups  # the messengers' departments are still shown
    assert "c" not in {group.title for group in groups}
    own_total = 0
    for group in groups:
        own = OWN + 1 if group.merged else _own_in(group.title)
        own_total += own
        genuine = group.counts.respondents - own
        assert genuine == 0 or genuine >= K, group
    assert own_total == OWN + 1  # every fake answer is somewhere the officer can subtract it
    total = sum((GroupCounts.of(t) for t in counted), GroupCounts())
    assert total.respondents == 21


def test_control_pooled_departments_give_the_genuine_answer_back() -> None:
    counted = counted_tallies(DEPARTMENT_TALLIES, K, pooled=True)
    groups = window_departments(counted, K, pooled=True)
    [padded] = [group for group in groups if group.title == "c"]
    assert padded.counts.respondents - _own_in("c") == 1
    assert padded.counts.by_score[GENUINE - 1] == 1
    assert OTHER_DEPARTMENTS in {group.title for group in groups}


# --- the deep poll's complaint questions (reports.appeals) -----------------------------------

Q3: Final = Period(date(2026, 7, 1), date(2026, 9, 30))
POLL_WINDOW: Final = 41


async def _complaint(
    sessions: async_sessionmaker[AsyncSession], said: str, front: Front, times: int = 1
) -> None:
    store = ResponseStore(sessions)
    response = CompletedResponse(
        questionnaire_id="deep_external",
        questionnaire_version=1,
        kind="deep",
        audience="external",
        context=ResponseContext("s1", "c1", None),
        submitted_on=date(2026, 8, 10),
        answers=(AnswerRow("complained", option_id=said),),
        window_id=POLL_WINDOW,
        front=front,
    )
    for _ in range(times):
        await store.save(response)


@pytest.fixture
async def complaint_window(sessions: async_sessionmaker[AsyncSession], pooling: None) -> None:
    """One genuine Telegram answer "I complained" and the officer's 4 web "yes"."""
    await add_window(sessions, POLL_WINDOW, "deep_external", date(2026, 8, 3), date(2026, 8, 14))
    await _complaint(sessions, "yes", Front.TELEGRAM)
    await _complaint(sessions, "yes", Front.WEB, OWN)


@pytest.mark.usefixtures("complaint_window")
async def test_fake_web_answers_do_not_reveal_a_genuine_complaint(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    pool_web_with_messengers(False)
    poll = (await build_monitoring(AppealStore(sessions), Q3, DisclosurePolicy(min_group=K))).poll
    assert poll is not None and poll.hidden and poll.complained is None


@pytest.mark.usefixtures("complaint_window")
async def test_control_pooled_complaints_give_the_genuine_answer_back(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    pool_web_with_messengers(True)
    poll = (await build_monitoring(AppealStore(sessions), Q3, DisclosurePolicy(min_group=K))).poll
    assert poll is not None and not poll.hidden
    assert poll.complained is not None and poll.complained.count - OWN == 1  # they said yes


@pytest.mark.usefixtures("complaint_window")
async def test_complaints_of_enough_messengers_leave_a_few_web_answers_out(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    pool_web_with_messengers(False)
    await _complaint(sessions, "no", Front.TELEGRAM, 4)
    await _complaint(sessions, "no", Front.TELEGRAM, 5)
    poll = (await build_monitoring(AppealStore(sessions), Q3, DisclosurePolicy(min_group=K))).poll
    assert poll is not None and not poll.hidden
    assert poll.answered == 10  # the messengers' 10; the web's 4 in no figure
    # The genuine "yes" is 1 of the messengers' 10: too few to show, and so is every option.
    assert poll.complained is not None and poll.complained.hidden


# --- the internal report (staff windows: overall, aspects and department rows) --------------

MARCH: Final = Period(date(2026, 3, 1), date(2026, 3, 31))
STAFF_WINDOW: Final = 51


async def _staff(
    sessions: async_sessionmaker[AsyncSession],
    department: str,
    front: Front,
    times: int,
    overall: int = 4,
) -> None:
    store = ResponseStore(sessions)
    for _ in range(times):
        await store.save(
            CompletedResponse(
                questionnaire_id="staff",
                questionnaire_version=1,
                kind="staff",
                audience="internal",
                context=ResponseContext(None, None, None),
                submitted_on=date(2026, 3, 2),
                answers=(AnswerRow("overall", number=overall), AnswerRow("tools", number=overall)),
                window_id=STAFF_WINDOW,
                department=department,
                front=front,
            )
        )


async def _internal(sessions: async_sessionmaker[AsyncSession]) -> tuple[int, list[str | None]]:
    report = await internal_report(
        sessions,
        roles=ROLES_W,
        period=MARCH,
        previous=calendar_previous(MARCH),
        department_titles=DEPARTMENTS,
        min_group=K,
    )
    return report.overall.n, [row.key for row in report.departments]


async def test_the_internal_report_counts_only_a_staff_windows_counted_sides(
    sessions: async_sessionmaker[AsyncSession], pooling: None
) -> None:
    """Telegram: «a» 5, «b» 5 and «c»'s genuine 1; the web: 4 in «c». Apart, the window
    counts the messengers' 11 and departments a and b (c merged into the rest of 1 + a's 5),
    never 5 in «c»; with a fifth web answer both sides count and the department rows, whose
    aspects would mix them, are withheld. Pooled (the control), «c» shows 5: minus own 4."""
    await add_window(sessions, STAFF_WINDOW, "staff", date(2026, 3, 2), date(2026, 3, 6))
    await _staff(sessions, "a", Front.TELEGRAM, 5)
    await _staff(sessions, "b", Front.TELEGRAM, 5)
    await _staff(sessions, "c", Front.TELEGRAM, 1, overall=GENUINE)
    await _staff(sessions, "c", Front.WEB, OWN, overall=FAKE)
    pool_web_with_messengers(False)
    n, departments = await _internal(sessions)
    assert n == 11 and "c" not in departments
    pool_web_with_messengers(True)
    assert await _internal(sessions) == (15, ["a", "b", "c"])
    pool_web_with_messengers(False)
    await _staff(sessions, "d", Front.WEB, 1, overall=FAKE)
    assert await _internal(sessions) == (16, [])
