"""§3.5 figures of the sample register against the generator's counts, computed by hand."""

from __future__ import annotations

import io
import re
from datetime import date

import pytest
from openpyxl import load_workbook
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from questionnaires.results import AnswerRow, CompletedResponse, ResponseContext
from questionnaires.schema import Language
from reports.appeals import (
    AppealsMonitoring,
    Line,
    build_monitoring,
    monitoring_workbook,
    render_monitoring,
)
from reports.disclosure import DisclosurePolicy
from reports.model import Period
from services.appeals import AppealsMapping, AppealsService
from storage.appeals import AppealStore
from storage.responses import ResponseStore
from tests.appeals.generate import FIXTURES
from tests.reports.conftest import add_window

Q3 = Period(date(2026, 7, 1), date(2026, 9, 30))
POLICY = DisclosurePolicy(min_group=5)


@pytest.fixture
async def imported(service: AppealsService, mapping: AppealsMapping) -> None:
    name = "register_cp1251.csv"
    await service.import_register(name, (FIXTURES / name).read_bytes(), mapping)


async def _monitoring(store: AppealStore) -> AppealsMonitoring:
    return await build_monitoring(store, Q3, POLICY)


@pytest.mark.usefixtures("imported")
async def test_quarterly_figures_are_the_generators_counts(store: AppealStore) -> None:
    m = await _monitoring(store)
    total = 1000 + 600 + 300 + 200 + 100
    assert (m.now.total, m.before.total) == (total, 500 + 300)
    # Counts by channel with shares; October's 50 phone complaints belong to no quarter here.
    assert m.by_channel == (
        Line("gosuslugi", 1000, 1000 / total),
        Line("pos", 600, 600 / total),
        Line("email", 300, 300 / total),
        Line("in_person", 200, 200 / total),
        Line("phone", 100, 100 / total),
    )
    assert dict(m.previous_by_channel) == {"gosuslugi": 500, "pos": 300}
    # Main reasons (100 appeals name none) and counts by topic.
    assert [(line.code, line.count) for line in m.reasons] == [
        ("deadline", 900),
        ("quality", 600),
        ("billing", 400),
        ("inaction", 200),
    ]
    assert m.reasons[0].share == pytest.approx(900 / 2200)
    assert [(line.code, line.count) for line in m.by_topic] == [
        ("capital_repair", 800),
        ("common_property", 700),
        ("utility_bills", 500),
        ("management_company", 200),
    ]
    # Satisfied and rejected complaints among all complaints of the quarter.
    assert (m.now.complaints, m.now.satisfied, m.now.rejected) == (700, 210, 280)
    assert m.now.satisfied_share == pytest.approx(210 / 700)
    assert m.now.rejected_share == pytest.approx(280 / 700)
    # The trend's base: the 2nd quarter.
    assert (m.before.complaints, m.before.satisfied, m.before.rejected) == (400, 100, 200)
    assert dict(m.by_kind) == {"complaint": 700, "appeal": 1300, "suggestion": 200}


@pytest.mark.usefixtures("imported")
async def test_the_message_and_the_sheet_show_the_figures(
    store: AppealStore, mapping: AppealsMapping
) -> None:
    m = await _monitoring(store)
    message = render_monitoring(m, mapping.titles())
    assert "Мониторинг обращений и жалоб за 3 кв. 2026" in message
    assert "не публикуется" in message
    assert "Поступило всего: <b>2200</b> (2 кв. 2026: 800, +175,0%)" in message
    assert "• Портал Госуслуг: 1000 (45,5%; было 500)" in message
    assert "• Нарушение сроков: 900 (40,9%)" in message
    assert "• Капитальный ремонт: 800" in message
    assert "Удовлетворено: <b>210</b> (30,0%; +5,0 п.п.)" in message
    assert "Отказано: <b>280</b> (40,0%; -10,0 п.п.)" in message
    sheet = load_workbook(io.BytesIO(monitoring_workbook(m, mapping.titles())))["Обращения"]
    rows: list[tuple[object, ...]] = [
        tuple(round(v, 6) if isinstance(v, float) else v for v in row)
        for row in sheet.iter_rows(values_only=True)
    ]
    assert ("Поступило всего", 2200, None, 800) in rows
    assert ("Удовлетворено жалоб", 210, 0.3, 100) in rows
    assert ("Отказано по жалобам", 280, 0.4, 200) in rows
    assert ("Электронная почта", 300, round(300 / 2200, 6), 0) in rows


async def test_an_empty_register_reports_zeros_without_failing(store: AppealStore) -> None:
    m = await _monitoring(store)
    assert (m.now.total, m.now.satisfied_share, m.by_channel) == (0, None, ())
    assert "Поступило всего: <b>0</b>" in render_monitoring(m)


#: The deep poll's windows: its answers count only in whole shown windows inside the quarter.
AUGUST_WINDOW = 31
SMALL_WINDOW = 32  # fewer respondents than the threshold: hidden, counts nowhere
EDGE_WINDOW = 33  # across the quarter's end: in no quarter


@pytest.fixture(autouse=True)
async def _windows(sessions: async_sessionmaker[AsyncSession]) -> None:
    for window, opens_on, closes_on in (
        (AUGUST_WINDOW, date(2026, 8, 3), date(2026, 8, 14)),
        (SMALL_WINDOW, date(2026, 8, 17), date(2026, 8, 21)),
        (EDGE_WINDOW, date(2026, 9, 28), date(2026, 10, 9)),
    ):
        await add_window(sessions, window, "deep_external", opens_on, closes_on)


async def _poll(
    responses: ResponseStore,
    day: date,
    answers: list[AnswerRow],
    times: int,
    service: str = "s1",
    window: int | None = AUGUST_WINDOW,
) -> None:
    response = CompletedResponse(
        questionnaire_id="deep_external",
        questionnaire_version=1,
        kind="deep",
        audience="external",
        context=ResponseContext(service, "c1", None),
        submitted_on=day,
        answers=tuple(answers),
        window_id=window,
    )
    for _ in range(times):
        await responses.save(response)


async def test_only_whole_shown_windows_inside_the_quarter_count(
    store: AppealStore, sessions: async_sessionmaker[AsyncSession]
) -> None:
    responses = ResponseStore(sessions)
    yes, no = AnswerRow("complained", option_id="yes"), AnswerRow("complained", option_id="no")
    await _poll(responses, date(2026, 8, 10), [yes], 6)
    await _poll(responses, date(2026, 8, 10), [no], 5)
    # Three in a hidden window, five outside any window, six in a window across the edge:
    # counted, each would come back as the difference against the shown window's results.
    await _poll(responses, date(2026, 8, 18), [yes], 3, window=SMALL_WINDOW)
    await _poll(responses, date(2026, 8, 25), [yes], 5, window=None)
    await _poll(responses, date(2026, 9, 29), [yes], 6, window=EDGE_WINDOW)
    poll = (await _monitoring(store)).poll
    assert poll is not None and not poll.hidden
    assert poll.answered == 11
    assert poll.complained is not None and poll.complained.count == 6


async def test_a_window_closed_early_counts_in_the_quarter_of_its_actual_last_day(
    store: AppealStore, sessions: async_sessionmaker[AsyncSession]
) -> None:
    """Review of 30 November: the monitoring decided a window's quarter by its planned days,
    reports/windows.py by the day it actually ended, so Appendix 2's figures disagreed. A window
    planned across the quarter's end but closed on 30 September (the body's day) is in Q3,
    as its results and the other window figures have it; closed on 1 October, in none."""
    from datetime import UTC, datetime
    from zoneinfo import ZoneInfo

    from sqlalchemy import update

    from storage.models_campaigns import PollWindow

    responses = ResponseStore(sessions)
    yes, no = AnswerRow("complained", option_id="yes"), AnswerRow("complained", option_id="no")
    await _poll(responses, date(2026, 9, 29), [yes], 6, window=EDGE_WINDOW)
    await _poll(responses, date(2026, 9, 30), [no], 5, window=EDGE_WINDOW)
    closed_at = datetime(2026, 9, 30, 20, 0, tzinfo=UTC)  # 1 October 05:00 in Yakutsk
    async with sessions.begin() as session:
        await session.execute(
            update(PollWindow).where(PollWindow.id == EDGE_WINDOW).values(closed_at=closed_at)
        )
    poll = (await build_monitoring(store, Q3, POLICY)).poll
    assert poll is not None and not poll.hidden
    assert poll.answered == 11 and poll.complained is not None and poll.complained.count == 6
    yakutsk = await build_monitoring(store, Q3, POLICY, zone=ZoneInfo("Asia/Yakutsk"))
    assert yakutsk.poll is not None and yakutsk.poll.hidden  # ended 1 October there


async def test_the_polls_complaint_answers_pass_the_disclosure_policy(
    store: AppealStore, sessions: async_sessionmaker[AsyncSession]
) -> None:
    responses = ResponseStore(sessions)
    day = date(2026, 8, 10)
    yes = AnswerRow("complained", option_id="yes")
    await _poll(responses, day, [yes, AnswerRow("complaint_outcome", option_id="rejected")], 6)
    await _poll(responses, day, [yes, AnswerRow("complaint_outcome", option_id="satisfied")], 5)
    await _poll(responses, day, [AnswerRow("complained", option_id="no")], 5)
    poll = (await _monitoring(store)).poll
    assert poll is not None and not poll.hidden
    assert poll.answered == 16
    assert poll.complained is not None
    assert poll.complained.count == 11
    assert poll.complained.share == pytest.approx(11 / 16)
    outcomes = {option.option: option for option in poll.outcomes}
    assert outcomes["rejected"].count == 6
    assert outcomes["rejected"].share == pytest.approx(6 / 11)
    assert outcomes["satisfied"].count == 5
    message = render_monitoring(await _monitoring(store))
    assert "Подавали жалобу: 11 (68,8%)" in message
    assert "• отказали: 6 (54,5%)" in message
    # Two more with another outcome: shown beside the total, those two could be subtracted
    # from it, so no outcome of this question shows; the question before it still does.
    await _poll(responses, day, [yes, AnswerRow("complaint_outcome", option_id="partly")], 2)
    poll = (await _monitoring(store)).poll
    assert poll is not None and poll.complained is not None and poll.complained.count == 13
    assert [(o.option, o.hidden, o.count) for o in poll.outcomes] == [
        ("satisfied", True, 0),
        ("partly", True, 0),
        ("rejected", True, 0),
    ]
    assert "• отказали: скрыто (&lt;5)" in render_monitoring(await _monitoring(store))


async def test_a_small_no_hides_the_yes_beside_the_total(
    store: AppealStore, sessions: async_sessionmaker[AsyncSession]
) -> None:
    responses = ResponseStore(sessions)
    day = date(2026, 8, 10)
    await _poll(responses, day, [AnswerRow("complained", option_id="yes")], 8)
    await _poll(responses, day, [AnswerRow("complained", option_id="no")], 2)
    poll = (await _monitoring(store)).poll
    assert poll is not None and poll.answered == 10
    assert poll.complained is not None and poll.complained.hidden


async def test_too_few_poll_answers_hide_the_whole_section(
    store: AppealStore, sessions: async_sessionmaker[AsyncSession]
) -> None:
    responses = ResponseStore(sessions)
    await _poll(responses, date(2026, 8, 10), [AnswerRow("complained", option_id="yes")], 4)
    poll = (await _monitoring(store)).poll
    assert poll is not None and poll.hidden and poll.answered == 0
    assert "мало ответов (&lt;5)" in render_monitoring(await _monitoring(store))


async def test_a_corrected_register_moves_its_counts(
    service: AppealsService, store: AppealStore, mapping: AppealsMapping
) -> None:
    from tests.appeals.generate import Record, csv_bytes

    first = Record(
        "N-1", date(2026, 6, 30), "complaint", "in_progress", "pos", "capital_repair", None
    )
    corrected = Record(
        "N-1", date(2026, 7, 1), "complaint", "satisfied", "pos", "capital_repair", None
    )
    await service.import_register(
        "a.csv", csv_bytes([first], encoding="utf-8", delimiter=";", bad=False), mapping
    )
    m = await _monitoring(store)
    assert (m.before.complaints, m.now.complaints, m.now.satisfied) == (1, 0, 0)
    await service.import_register(
        "a.csv", csv_bytes([corrected], encoding="utf-8", delimiter=";", bad=False), mapping
    )
    m = await _monitoring(store)
    assert (m.before.complaints, m.now.complaints, m.now.satisfied) == (0, 1, 1)
    assert m.by_channel == (Line("pos", 1, 1.0),)


@pytest.mark.usefixtures("imported")
async def test_an_english_reader_gets_the_mappings_english_titles(
    store: AppealStore, mapping: AppealsMapping
) -> None:
    m = await _monitoring(store)
    titles = mapping.titles(Language.EN)
    message = render_monitoring(m, titles, Language.EN)
    assert "• Gosuslugi portal: 1000" in message
    assert "• Missed deadline: 900" in message
    assert "• Major repairs: 800" in message
    assert not re.search("[А-Яа-яЁё]", message), message
    sheet = load_workbook(io.BytesIO(monitoring_workbook(m, titles, Language.EN))).active
    assert sheet is not None
    cells = [str(v) for row in sheet.iter_rows(values_only=True) for v in row if v is not None]
    assert "E-mail" in cells
    assert not [cell for cell in cells if re.search("[А-Яа-яЁё]", cell)]
    # Russian readers keep the register's own words.
    assert mapping.titles()["reason"]["deadline"] == "Нарушение сроков"


def test_a_code_without_an_english_title_is_shown_as_the_code() -> None:
    bare = AppealsMapping.model_validate(
        {
            "source": "register",
            "columns": {"register_no": "№", "date": "Дата", "kind": "Вид", "reason": "Причина"},
            "values": {
                "kind": {"Жалоба": "complaint"},
                "reason": {"Нарушение сроков": "deadline", "Грубость": "rudeness"},
            },
            "english": {"reason": {"deadline": "Missed deadline"}},
        }
    )
    assert bare.titles(Language.EN)["reason"] == {
        "deadline": "Missed deadline",
        "rudeness": "rudeness",
    }


def test_english_titles_for_codes_no_value_map_gives_are_refused() -> None:
    with pytest.raises(ValueError, match=r"reason\.typo"):
        AppealsMapping.model_validate(
            {
                "source": "register",
                "columns": {"register_no": "№", "date": "Дата", "kind": "Вид", "reason": "П"},
                "values": {"kind": {"Жалоба": "complaint"}, "reason": {"Срок": "deadline"}},
                "english": {"reason": {"typo": "Missed deadline"}},
            }
        )
