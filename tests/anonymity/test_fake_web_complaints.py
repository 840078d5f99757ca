"""The poll's complaint questions with the web apart: no figure gives a dropped web group back.

Review of 30 November (reports/appeals.py, "web apart" for the poll complaints): every figure
of the section (the people who answered, "complained yes", each outcome and its share) was
judged by its own plan, so the base of a question could count a web atom of >= k while an
option's own plan dropped its web part of < k. One answer a person to each question, so the
base minus the shown rows (or "complained yes" minus the outcome rows) was the dropped web
group. The section is now judged with one rule: a figure shows only when its own plan drops
exactly what the section's plan drops; otherwise the question's options are all hidden. The
/appeals message renders the section (Telegram and MAX alike); its sheet and Appendix 2 show
no poll figure.
"""

from __future__ import annotations

from datetime import date
from typing import Final

import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from questionnaires.fronts import Front
from questionnaires.results import AnswerRow, CompletedResponse, ResponseContext
from questionnaires.schema import Language
from reports.appeals import (
    AppealsMonitoring,
    PollComplaints,
    build_monitoring,
    poll_complaints,
    render_monitoring,
)
from reports.disclosure import DisclosurePolicy, pool_web_with_messengers
from storage.appeals import AppealStore, PollCount
from storage.responses import ResponseStore
from tests.anonymity.test_fake_web_windows import POLL_WINDOW, Q3, K, pooling
from tests.reports.conftest import add_window
from tests.storage.conftest import database, engine, sessions

__all__ = ["database", "engine", "pooling", "sessions"]

DAY: Final = date(2026, 8, 10)
#: The review's proof: the messengers' 10 "yes" (5 upheld, 5 rejected) and the web's 7 "yes"
#: (5 upheld, 2 rejected): the web's 2 "rejected" are fewer than k = 5 and dropped.
MESSENGERS: Final = {"satisfied": 5, "rejected": 5}
WEB: Final = {"satisfied": 5, "rejected": 2}
DROPPED: Final = 2


async def _answer(
    sessions: async_sessionmaker[AsyncSession],
    front: Front,
    complained: str,
    outcome: str | None = None,
    times: int = 1,
) -> None:
    answers = [AnswerRow("complained", option_id=complained)]
    if outcome is not None:
        answers.append(AnswerRow("complaint_outcome", option_id=outcome))
    response = CompletedResponse(
        questionnaire_id="deep_external",
        questionnaire_version=1,
        kind="deep",
        audience="external",
        context=ResponseContext("s1", "c1", None),
        submitted_on=DAY,
        answers=tuple(answers),
        window_id=POLL_WINDOW,
        front=front,
    )
    store = ResponseStore(sessions)
    for _ in range(times):
        await store.save(response)


@pytest.fixture
async def window(sessions: async_sessionmaker[AsyncSession], pooling: None) -> None:
    await add_window(sessions, POLL_WINDOW, "deep_external", date(2026, 8, 3), date(2026, 8, 14))


async def _proof(sessions: async_sessionmaker[AsyncSession]) -> None:
    for side, outcomes in ((Front.TELEGRAM, MESSENGERS), (Front.WEB, WEB)):
        for outcome, times in outcomes.items():
            await _answer(sessions, side, "yes", outcome, times)


async def _monitoring(sessions: async_sessionmaker[AsyncSession]) -> AppealsMonitoring:
    return await build_monitoring(AppealStore(sessions), Q3, DisclosurePolicy(min_group=K))


async def _poll(sessions: async_sessionmaker[AsyncSession]) -> PollComplaints:
    poll = (await _monitoring(sessions)).poll
    assert poll is not None
    return poll


def _differences(poll: PollComplaints) -> list[int]:
    """Every group an officer can work out by subtracting the section's shown figures: the
    base of the outcomes (read back from each share) and "complained yes" minus the outcome
    rows. All must be 0: people who answered one question answered the other."""
    shown = [option for option in poll.outcomes if not option.hidden]
    if not shown:
        return []
    rows = sum(option.count for option in shown)
    found = [round(option.count / option.share) - rows for option in shown if option.share]
    if poll.complained is not None and not poll.complained.hidden:
        found.append(poll.complained.count - rows)
    return found


@pytest.mark.usefixtures("window")
async def test_the_outcome_rows_do_not_give_a_dropped_web_group_back(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    pool_web_with_messengers(False)  # the default
    await _proof(sessions)
    poll = await _poll(sessions)
    assert not poll.hidden and poll.answered == 17  # both sides reach k: both counted
    assert DROPPED not in _differences(poll)
    assert all(difference == 0 for difference in _differences(poll))
    # The web's "rejected" would be dropped while the base counts the web: the outcomes hide.
    assert poll.outcomes and all(option.hidden for option in poll.outcomes)
    assert poll.complained is not None and (poll.complained.count, poll.complained.share) == (
        17,
        1.0,
    )
    monitoring = await _monitoring(sessions)
    for language in Language:  # the /appeals message of Telegram and MAX
        text = render_monitoring(monitoring, language=language)
        assert "(58" not in text and "(29" not in text  # no share of the outcomes' base of 17


@pytest.mark.usefixtures("window")
async def test_control_pooled_the_outcome_rows_count_the_web_with_the_messengers(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    """Pooled (the body's accepted risk), nothing is dropped: the web's 2 "rejected" count in
    a row of 7 with the messengers' 5, and every figure adds up."""
    pool_web_with_messengers(True)
    await _proof(sessions)
    poll = await _poll(sessions)
    assert poll.answered == 17
    outcomes = {option.option: (option.count, option.share) for option in poll.outcomes}
    assert outcomes == {"satisfied": (10, 10 / 17), "rejected": (7, 7 / 17)}
    assert _differences(poll) == [0, 0, 0]


@pytest.mark.usefixtures("window")
async def test_the_outcomes_show_when_every_side_of_every_row_reaches_k(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    """Apart, with the web's "rejected" at 5 nothing is dropped: the rows show as before."""
    pool_web_with_messengers(False)
    await _proof(sessions)
    await _answer(sessions, Front.WEB, "yes", "rejected", K - DROPPED)
    poll = await _poll(sessions)
    outcomes = {option.option: (option.count, option.share) for option in poll.outcomes}
    assert outcomes == {"satisfied": (10, 0.5), "rejected": (10, 0.5)}
    assert _differences(poll) == [0, 0, 0]


@pytest.mark.usefixtures("window")
async def test_complained_options_hide_when_a_web_no_would_be_dropped(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    """The same gap one question up: the web's 7 answers counted in "answered" and only 5 of
    them in "yes" (its 2 "no" dropped) would give 17 - 15 = 2 web "no". The options hide, and
    so do the outcomes, whose rows add up to "yes"."""
    pool_web_with_messengers(False)
    await _answer(sessions, Front.TELEGRAM, "yes", "satisfied", 5)
    await _answer(sessions, Front.TELEGRAM, "no", None, 5)
    await _answer(sessions, Front.WEB, "yes", "satisfied", 5)
    await _answer(sessions, Front.WEB, "no", None, DROPPED)
    poll = await _poll(sessions)
    assert poll.answered == 17
    assert poll.complained is not None and poll.complained.hidden
    assert poll.outcomes == ()


@pytest.mark.usefixtures("window")
async def test_outcomes_hide_with_the_complained_options(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    """Messengers only: 10 "yes" (5 upheld, 5 rejected) and 4 "no". "No" is fewer than k, so
    the options of "did you complain" hide; the outcome rows, asked of every "yes", would sum
    to it and give "answered" - 10 = the 4 "no" back. They hide too."""
    pool_web_with_messengers(False)
    for outcome, times in MESSENGERS.items():
        await _answer(sessions, Front.TELEGRAM, "yes", outcome, times)
    await _answer(sessions, Front.TELEGRAM, "no", None, K - 1)
    poll = await _poll(sessions)
    assert poll.answered == 14
    assert poll.complained is not None and poll.complained.hidden
    assert poll.outcomes == ()


@pytest.mark.usefixtures("pooling")
def test_an_option_does_not_count_a_web_atom_the_section_drops() -> None:
    """The other way round: the web's July 7 (2 "yes", 5 "no") make a block of the answers and
    its August 3 "yes" are dropped; the "yes" plan merges its July 2 and August 3 into a
    quarter block of 5 and would count August. "Yes" + "no" = 10 + 10 against 17 answered
    would give the dropped August 3 "yes" back: the options hide."""
    july, august = date(2026, 7, 10), date(2026, 8, 10)

    def count(day: date, front: Front, said: str, n: int) -> PollCount:
        return PollCount(day, "s1", "c1", None, "complained", said, n, front.value)

    counts = [
        count(july, Front.TELEGRAM, "yes", 5),
        count(july, Front.TELEGRAM, "no", 5),
        count(july, Front.WEB, "yes", 2),
        count(july, Front.WEB, "no", 5),
        count(august, Front.WEB, "yes", 3),
    ]
    pool_web_with_messengers(False)
    poll = poll_complaints(Q3, counts, DisclosurePolicy(min_group=K))
    assert poll.answered == 17
    assert poll.complained is not None and poll.complained.hidden
