"""Staff aspects rated low as pains of the internal process (§4.2, §4.4), from the internal
report: its disclosed figures only, whole quarters only, for the internal officer only."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, date, datetime

import pytest
from sqlalchemy import select

from questionnaires.results import CANNOT_RATE, AnswerRow, CompletedResponse, ResponseContext
from reports.model import Period, Scope
from services.painmap import STAFF_PROCESS, STAFF_PROCESS_TITLE
from storage.models_painmap import PainFigure
from storage.painmap import Span
from storage.responses import ResponseStore
from tests.painmap.conftest import (
    BODY_OFFICER,
    INTERNAL_OFFICER,
    LICENSING_OFFICER,
    Desk,
    day,
)
from tests.reports.conftest import add_window

THIRD_QUARTER = Period(date(2026, 7, 1), date(2026, 9, 30))
SEPTEMBER = Period(date(2026, 9, 1), date(2026, 9, 30))


async def _staff(
    desk: Desk, count: int, *, tools: int, boss: int = 5, canteen: int | None = None
) -> None:
    """Staff answers of the September poll window, as the bot saves them."""
    store = ResponseStore(desk.sessions)
    canteen_answer = (
        AnswerRow("canteen", number=canteen)
        if canteen is not None
        else AnswerRow("canteen", option_id=CANNOT_RATE)
    )
    for _ in range(count):
        await store.save(
            CompletedResponse(
                questionnaire_id="staff",
                questionnaire_version=1,
                kind="staff",
                audience="internal",
                context=ResponseContext(None, "messenger", None),
                submitted_on=day("15.09.2026"),
                answers=(
                    AnswerRow("overall", number=4),
                    AnswerRow("tools", number=tools),
                    AnswerRow("boss", number=boss),
                    canteen_answer,
                ),
                window_id=7,
                department="licensing",
            )
        )


async def _tools_answers(
    desk: Desk, window_id: int, on: date, tools: Sequence[int], *, overall: int
) -> None:
    """One staff response of window ``window_id`` per score of ``tools``, saved as the bot does."""
    store = ResponseStore(desk.sessions)
    for score in tools:
        await store.save(
            CompletedResponse(
                questionnaire_id="staff",
                questionnaire_version=1,
                kind="staff",
                audience="internal",
                context=ResponseContext(None, "messenger", None),
                submitted_on=on,
                answers=(AnswerRow("overall", number=overall), AnswerRow("tools", number=score)),
                window_id=window_id,
                department="licensing",
            )
        )


async def _seed(desk: Desk) -> None:
    """Tools: 3 × 2, 2 × 3, 5 × 5 (10 rated, half below 4, mean 3.7); the boss: all 5;
    the canteen: rated 1 by 3 people only, below the threshold. All in the closed September
    window 7: staff figures are sums over whole shown windows."""
    await add_window(desk.sessions, 7, "staff", day("14.09.2026"), day("18.09.2026"))
    await _staff(desk, 3, tools=2, canteen=1)
    await _staff(desk, 2, tools=3)
    await _staff(desk, 5, tools=5)


async def test_a_staff_aspect_rated_below_4_becomes_a_pain_of_the_internal_process(
    desk: Desk,
) -> None:
    await _seed(desk)
    await desk.service.refresh(THIRD_QUARTER)
    [tools] = await desk.service.pains_for(INTERNAL_OFFICER)
    assert tools.pain.process == STAFF_PROCESS
    assert tools.process_title == STAFF_PROCESS_TITLE
    assert (tools.pain.source, tools.pain.source_code) == ("staff_aspect", "staff:tools")
    assert tools.pain.title == "Техническое оснащение"
    assert tools.latest is not None
    assert tools.latest.period == Span(THIRD_QUARTER.start, THIRD_QUARTER.end)
    figures = tools.latest.figures
    assert not figures.hidden and figures.respondents == 10
    assert figures.prevalence == pytest.approx(0.5)  # 5 of 10 scored 1–3
    assert figures.mean_overall == pytest.approx(3.7)  # (3·2 + 2·3 + 5·5) / 10
    assert figures.priority == pytest.approx(0.5 * (5 - 3.7))
    # The boss (all 4–5) is no pain; the canteen (3 people) is hidden, so not even listed.
    assert {p.source_code for p in await desk.store.pains([STAFF_PROCESS])} == {"staff:tools"}
    # The process's satisfaction for before/after comparisons: the staff overall score.
    [satisfaction] = await desk.store.satisfaction(STAFF_PROCESS)
    assert satisfaction.satisfaction.n == 10
    assert satisfaction.satisfaction.csat == pytest.approx(100.0)


async def test_no_stored_staff_figure_counts_fewer_than_the_threshold(desk: Desk) -> None:
    """The attack: three people rated the canteen 1. Nothing in the map tells of them."""
    await _seed(desk)
    await desk.service.refresh(THIRD_QUARTER)
    async with desk.sessions() as session:
        counts = [row.respondents for row in await session.scalars(select(PainFigure))]
    assert counts and all(c is None or c >= 5 for c in counts)
    assert "Столовая" not in {p.title for p in await desk.store.pains()}


async def test_a_known_staff_pain_rated_all_4_5_later_keeps_its_zero(desk: Desk) -> None:
    await _seed(desk)
    await desk.service.refresh(THIRD_QUARTER)
    await add_window(desk.sessions, 8, "staff", day("09.11.2026"), day("13.11.2026"))
    await _tools_answers(desk, 8, day("10.11.2026"), (4,) * 6, overall=5)
    fourth = Period(date(2026, 10, 1), date(2026, 12, 31))
    await desk.service.refresh(fourth)
    [tools] = await desk.service.pains_for(INTERNAL_OFFICER)
    assert [r.figures.prevalence for r in tools.history] == pytest.approx([0.5, 0.0])
    assert [r.figures.priority for r in tools.history] == pytest.approx([0.65, 0.0])


async def test_staff_pains_come_from_whole_quarters_only(desk: Desk) -> None:
    """As /report: a poll window's results show whole, a month could cut a small part off."""
    await _seed(desk)
    await desk.service.refresh(SEPTEMBER)
    assert await desk.store.pains([STAFF_PROCESS]) == []
    assert await desk.store.satisfaction(STAFF_PROCESS) == []


async def test_only_the_internal_officer_sees_staff_pains(desk: Desk) -> None:
    await _seed(desk)
    await desk.service.refresh(THIRD_QUARTER)
    [pain] = await desk.store.pains([STAFF_PROCESS])
    for officer in (BODY_OFFICER, LICENSING_OFFICER):
        assert await desk.service.pains_for(officer) == []
        assert await desk.service.card(officer, pain.id) is None
        assert (
            await desk.service.add_measure(officer, pain.id, "Мера", "Кто-то", day("31.12.2026"))
            is None
        )
    view = await desk.service.card(INTERNAL_OFFICER, pain.id)
    assert view is not None and view.pain.title == "Техническое оснащение"
    # Nor does the body-wide workbook (and the sheet sent back) carry them.
    lines = await desk.service.sheet_lines(THIRD_QUARTER, Scope())
    assert "Техническое оснащение" not in {line.problem for line in lines}


async def test_a_staff_measure_reminds_the_internal_officer_and_stays_off_the_public_site(
    desk: Desk,
) -> None:
    await _seed(desk)
    await desk.service.refresh(THIRD_QUARTER)
    [pain] = await desk.store.pains([STAFF_PROCESS])
    desk.clock[0] = datetime(2026, 11, 1, 3, tzinfo=UTC)
    overdue = await desk.service.add_measure(
        INTERNAL_OFFICER, pain.id, "Новые ноутбуки", "Хозотдел", day("01.12.2026")
    )
    done = await desk.service.add_measure(
        INTERNAL_OFFICER, pain.id, "Второй принтер", "Хозотдел", day("30.11.2026")
    )
    assert overdue is not None and done is not None
    await desk.service.set_status(INTERNAL_OFFICER, done.id, "done")
    assert await desk.service.remind(datetime(2026, 12, 2, 3, tzinfo=UTC)) == 1
    [(chat, text)] = desk.outbox.sent
    assert chat == INTERNAL_OFFICER and "Новые ноутбуки" in text
    assert STAFF_PROCESS_TITLE in text
    assert await desk.service.public_measures() == []


async def test_a_staff_window_across_a_quarters_edge_counts_in_the_quarter_it_closed(
    desk: Desk,
) -> None:
    """Staff pains are per shown window, filed under the quarter the window closed in: a
    window running 28 September – 2 October belongs to the fourth quarter, whole, and to the
    third not at all."""
    await add_window(desk.sessions, 9, "staff", day("28.09.2026"), day("02.10.2026"))
    await _tools_answers(desk, 9, day("29.09.2026"), (2, 2, 2, 5, 5, 5), overall=4)
    await desk.service.refresh(THIRD_QUARTER)
    assert await desk.store.pains([STAFF_PROCESS]) == []
    fourth = Period(date(2026, 10, 1), date(2026, 12, 31))
    await desk.service.refresh(fourth)
    [tools] = await desk.service.pains_for(INTERNAL_OFFICER)
    assert tools.latest is not None
    assert tools.latest.period == Span(fourth.start, fourth.end)
    assert tools.latest.figures.prevalence == pytest.approx(0.5)


async def test_a_done_staff_measure_compares_the_quarters_of_the_windows_around_it(
    desk: Desk,
) -> None:
    # Staff figures exist only for the quarters shown windows closed in: the comparison of a
    # done measure reads the last such quarter before it and the first wholly after it
    # (issue 10, item 3: before and after a measure).
    await _seed(desk)
    await desk.service.refresh(THIRD_QUARTER)
    [pain] = await desk.store.pains([STAFF_PROCESS])
    desk.clock[0] = datetime(2026, 10, 5, 9, tzinfo=UTC)
    measure = await desk.service.add_measure(
        INTERNAL_OFFICER, pain.id, "Новые ноутбуки", "Хозотдел", day("30.10.2026")
    )
    assert measure is not None
    await desk.service.set_status(INTERNAL_OFFICER, measure.id, "done")
    await add_window(desk.sessions, 8, "staff", day("08.02.2027"), day("12.02.2027"))
    await _tools_answers(desk, 8, day("09.02.2027"), (2, 4, 4, 5, 5, 5), overall=5)
    await desk.service.refresh(Period(date(2027, 1, 1), date(2027, 3, 31)))
    [tools] = await desk.service.pains_for(INTERNAL_OFFICER)
    comparison = tools.comparisons[measure.id]
    assert comparison.before is not None and comparison.after is not None
    assert comparison.before.period == Span(THIRD_QUARTER.start, THIRD_QUARTER.end)
    assert comparison.after.period == Span(date(2027, 1, 1), date(2027, 3, 31))
    assert comparison.before.figures.prevalence == pytest.approx(0.5)
    assert comparison.after.figures.prevalence == pytest.approx(1 / 6)
