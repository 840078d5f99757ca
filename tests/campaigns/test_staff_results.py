"""Issue 11: staff windows in the Appendix 2 report show what their officers' results showed."""

from __future__ import annotations

from datetime import date

from questionnaires.schema import Questionnaire
from reports.model import Period
from reports.windows import OTHER_DEPARTMENTS
from services.staff_results import StaffResultsReader
from tests.campaigns.conftest import DEPARTMENTS, ZONE, CampaignWorld, complete, local


def _reader(world: CampaignWorld, questionnaires: dict[str, Questionnaire]) -> StaffResultsReader:
    return StaffResultsReader(
        sessions=world.sessions,
        campaigns=world.service.campaigns,
        questionnaires=questionnaires,
        departments=DEPARTMENTS,
        zone=ZONE,
        min_group=5,
    )


async def test_a_closed_staff_window_by_department_under_the_rule(
    world: CampaignWorld, questionnaires: dict[str, Questionnaire]
) -> None:
    await world.tick(local(2026, 11, 2, 10, 0))
    [window] = await world.service.open_windows("staff")
    people = iter(range(600_000_001, 600_000_100))
    staff: list[tuple[int, int]] = []
    departments = (("control", 6, 5), ("licensing", 5, 2), ("it", 2, 4), ("hr", 3, 4))
    for department, count, score in departments:
        for code in await world.service.enrolment.create_invite_codes(department, count):
            staff.append((next(people), score))
            await world.service.enrolment.enroll(code, staff[-1][0])
    for person, score in staff:
        await world.service.store_answer(
            window.id, person, complete(questionnaires["staff"], score)
        )
    reader = _reader(world, questionnaires)
    second_half = Period(date(2026, 7, 1), date(2026, 12, 31))
    assert await reader.staff_results(second_half) == []  # still open: nothing yet
    await world.tick(local(2026, 11, 10, 10, 0))
    [result] = await reader.staff_results(second_half)
    assert (result.opens_on, result.closes_on) == (date(2026, 11, 2), date(2026, 11, 9))
    assert (result.respondents, result.n) == (16, 16)
    assert result.csat == 100 * 11 / 16  # 6 fives and 5 fours of 16
    # IT (2) and HR (3) are merged into the other departments, as in the officers' message.
    assert [(d.title, d.respondents, d.csat) for d in result.departments] == [
        ("Лицензирование", 5, 0.0),
        ("Отдел контроля", 6, 100.0),
        (OTHER_DEPARTMENTS, 5, 100.0),
    ]
    assert await reader.staff_results(Period(date(2026, 1, 1), date(2026, 6, 30))) == []


async def test_a_window_with_too_few_staff_shows_no_figures(
    world: CampaignWorld, questionnaires: dict[str, Questionnaire]
) -> None:
    await world.tick(local(2026, 11, 2, 10, 0))
    [window] = await world.service.open_windows("staff")
    codes = await world.service.enrolment.create_invite_codes("control", 3)
    for person, code in enumerate(codes, start=700_000_001):
        await world.service.enrolment.enroll(code, person)
        await world.service.store_answer(window.id, person, complete(questionnaires["staff"], 1))
    await world.tick(local(2026, 11, 10, 10, 0))
    [result] = await _reader(world, questionnaires).staff_results(
        Period(date(2026, 7, 1), date(2026, 12, 31))
    )
    assert (result.respondents, result.n, result.csat, result.mean) == (0, 0, None, None)
    assert result.departments == ()


async def test_the_deep_polls_windows_are_read_whole_for_appendix_2(
    world: CampaignWorld, questionnaires: dict[str, Questionnaire]
) -> None:
    await world.tick(local(2026, 4, 27, 10, 0))
    [window] = await world.service.open_windows("external")
    for person in range(800_000_001, 800_000_007):
        await world.service.store_answer(
            window.id, person, complete(questionnaires[window.questionnaire_id], 4)
        )
    reader = _reader(world, questionnaires)
    first_half = Period(date(2026, 1, 1), date(2026, 6, 30))
    assert await reader.deep_results(first_half) == []  # still open: nothing yet
    await world.tick(local(2026, 5, 20, 10, 0))
    [result] = await reader.deep_results(first_half)
    assert (result.respondents, result.n, result.csat, result.departments) == (6, 6, 100.0, ())
    assert await reader.staff_results(first_half) == []  # the staff's are apart
    # Not wholly inside April: in no April figure.
    assert await reader.deep_results(Period(date(2026, 4, 1), date(2026, 4, 30))) == []
