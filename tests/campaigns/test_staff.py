"""Staff polls: enrollment with one-time codes, answers under an HMAC only, departments merged
below the anonymity threshold."""

from __future__ import annotations

from datetime import date

import pytest

from max_front.persons import max_key, person_of
from questionnaires.campaigns import EnrollStatus, Verdict
from questionnaires.messengers import max_chat
from questionnaires.schema import Questionnaire
from reports.windows import OTHER_DEPARTMENTS, department_groups
from services.enrolment import CODE_ALPHABET, EnrollResult, normalize_code
from storage.campaigns import Tally
from tests.campaigns.conftest import OFFICER, PEPPER, CampaignWorld, complete, local

STAFF_INVITED = "Открыт анонимный опрос сотрудников"


async def staff_window(world: CampaignWorld) -> int:
    [window] = await world.service.open_windows("staff")
    return window.id


def tally(department: str | None, scores: int, score: int = 4) -> Tally:
    by_score = [0] * 5
    by_score[score - 1] = scores
    return Tally(department, scores, tuple(by_score), 0)


# --- enrollment --------------------------------------------------------------------------------


async def test_invite_codes_are_readable_and_only_their_hashes_are_stored(
    world: CampaignWorld,
) -> None:
    codes = await world.service.enrolment.create_invite_codes("control", 3)
    assert len(set(codes)) == 3
    for code in codes:
        assert len(code) == 9 and code[4] == "-"
        assert set(code.replace("-", "")) <= set(CODE_ALPHABET)
    stored = await world.rows("invite_codes")
    assert {row["department"] for row in stored} == {"control"}
    hashes = " ".join(str(row["code_hash"]) for row in stored)
    assert not any(code.replace("-", "") in hashes for code in codes)
    assert normalize_code(codes[0].lower().replace("-", " ")) == codes[0].replace("-", "")
    assert normalize_code("O0O0-1I1I") is None  # look-alikes are never in a code
    with pytest.raises(ValueError, match="no department"):
        await world.service.enrolment.create_invite_codes("   ", 1)
    with pytest.raises(ValueError, match="no department"):  # a title, not a code
        await world.service.enrolment.create_invite_codes("Отдел контроля", 1)
    with pytest.raises(ValueError):
        await world.service.enrolment.create_invite_codes("control", 0)


async def test_a_code_enrolls_once_and_a_used_code_is_refused(world: CampaignWorld) -> None:
    first, second = await world.service.enrolment.create_invite_codes("hr", 2)
    assert await world.service.enrolment.enroll(first.lower(), 111_222_333) == EnrollResult(
        EnrollStatus.OK, "hr"
    )
    assert await world.service.enrolment.enroll(first, 444_555_666) == EnrollResult(
        EnrollStatus.USED
    )
    assert await world.service.enrolment.enroll("ZZZZ-ZZZZ", 444_555_666) == EnrollResult(
        EnrollStatus.UNKNOWN
    )
    assert await world.service.enrolment.enroll("not a code", 444_555_666) == EnrollResult(
        EnrollStatus.UNKNOWN
    )
    # Enrolled already: the second code stays unused for somebody else.
    assert await world.service.enrolment.enroll(second, 111_222_333) == EnrollResult(
        EnrollStatus.ALREADY_ENROLLED, "hr"
    )
    assert (await world.service.enrolment.enroll(second, 444_555_666)).status == EnrollStatus.OK
    assert await world.service.enrolment.department_of(111_222_333) == "hr"
    assert await world.service.enrolment.department_of(777) is None


async def test_only_enrolled_staff_may_answer_and_their_answer_carries_the_department(
    world: CampaignWorld, questionnaires: dict[str, Questionnaire]
) -> None:
    await world.tick(local(2026, 11, 2, 9, 0))
    window_id = await staff_window(world)
    staff = questionnaires["staff"]
    assert await world.service.may_answer(window_id, 111_222_333) == Verdict.NOT_ENROLLED
    assert await world.service.store_answer(window_id, 111_222_333, complete(staff)) == (
        Verdict.NOT_ENROLLED
    )
    codes = await world.service.enrolment.create_invite_codes("control", 5)
    await world.service.enrolment.enroll(codes[0], 111_222_333)
    assert await world.service.may_answer(window_id, 111_222_333) == Verdict.OK
    assert await world.service.store_answer(window_id, 111_222_333, complete(staff)) == Verdict.OK
    assert await world.service.store_answer(window_id, 111_222_333, complete(staff)) == (
        Verdict.ALREADY_ANSWERED
    )
    [response] = await world.rows("responses")
    # One member enrolled in the department: too few to name it, even in the database.
    assert (response["window_id"], response["department"], response["audience"]) == (
        window_id,
        None,
        "internal",
    )
    for n, code in enumerate(codes[1:], start=1):
        await world.service.enrolment.enroll(code, 111_222_333 + n)
    person = 111_222_334
    assert await world.service.store_answer(window_id, person, complete(staff)) == Verdict.OK
    departments = sorted(str(row["department"]) for row in await world.rows("responses"))
    assert departments == ["None", "control"]  # five enrolled now: the department may show


async def test_after_enrolling_and_answering_no_telegram_id_is_stored_anywhere(
    world: CampaignWorld, questionnaires: dict[str, Questionnaire]
) -> None:
    person = 987_654_321
    await world.tick(local(2026, 11, 2, 10, 0))
    window_id = await staff_window(world)
    [code] = await world.service.enrolment.create_invite_codes("control", 1)
    assert (await world.service.enrolment.enroll(code, person)).status == EnrollStatus.OK
    assert await world.service.store_answer(
        window_id, person, complete(questionnaires["staff"])
    ) == (Verdict.OK)
    await world.tick(local(2026, 11, 5, 10, 0))  # reminders went out meanwhile
    found: list[str] = []
    for table in await world.table_names():
        for row in await world.rows(table):
            for column, value in row.items():
                if value == person or str(person) in str(value):
                    found.append(f"{table}.{column}")
    assert found == []
    [member] = await world.rows("staff_members")
    assert len(str(member["member_key"])) == 64  # HMAC-SHA256 in hex, nothing else
    assert set(member) == {"member_key", "department", "enrolled_on"}


async def enrolled(world: CampaignWorld, *people: int, department: str = "records") -> None:
    for person, code in zip(
        people,
        await world.service.enrolment.create_invite_codes(department, len(people)),
        strict=True,
    ):
        assert (await world.service.enrolment.enroll(code, person)).status == EnrollStatus.OK


async def test_staff_invitations_go_to_enrolled_staff_poll_subscribers_only(
    world: CampaignWorld,
) -> None:
    await enrolled(world, 201)
    await world.opt_in(201, "staff_polls")
    await world.opt_in(101, "polls")
    # Subscribed to the staff topic without being enrolled (a forged button, an old row):
    # staff invitations and results are not theirs to read.
    await world.opt_in(202, "staff_polls")
    await world.tick(local(2026, 11, 2, 10, 0))
    assert world.sent_to(STAFF_INVITED) == [201]


async def test_staff_invitations_reach_staff_enrolled_in_max_by_their_max_chat(
    world: CampaignWorld,
) -> None:
    """Issue 13: a staff member who enrolled with /join in MAX (the MAX front's keyed person)
    and asked for staff invitations there is invited in MAX; the Telegram chat of the same
    number, not enrolled, is not."""
    await enrolled(world, person_of(max_key(PEPPER), 301), 201)
    await world.opt_in(max_chat(301), "staff_polls")
    await world.opt_in(301, "staff_polls")  # Telegram user 301: another person, not staff
    await world.opt_in(201, "staff_polls")
    await world.opt_in(max_chat(201), "staff_polls")  # MAX user 201: not the Telegram member
    await world.tick(local(2026, 11, 2, 10, 0))
    assert sorted(world.sent_to(STAFF_INVITED)) == sorted([201, max_chat(301)])


# --- departments below the threshold --------------------------------------------------------


def test_departments_below_the_threshold_are_merged_into_other_departments() -> None:
    groups = department_groups(
        [tally("A", 9), tally("B", 7), tally("C", 5), tally("D", 3), tally("E", 2)], 5
    )
    assert [(g.title, g.counts.respondents, g.merged) for g in groups] == [
        ("A", 9, False),
        ("B", 7, False),
        ("C", 5, False),
        (OTHER_DEPARTMENTS, 5, True),
    ]


def test_a_small_remainder_pulls_the_smallest_department_into_the_merged_group() -> None:
    # D alone (3) would be total minus the shown ones: C joins it.
    groups = department_groups([tally("A", 9), tally("B", 7), tally("C", 5), tally("D", 3)], 5)
    assert [(g.title, g.counts.respondents) for g in groups] == [
        ("A", 9),
        ("B", 7),
        (OTHER_DEPARTMENTS, 8),
    ]


def test_no_breakdown_when_fewer_than_two_departments_reach_the_threshold() -> None:
    assert department_groups([tally("A", 30), tally("B", 4), tally("C", 4)], 5) == []
    assert department_groups([tally("A", 6), tally("B", 3)], 5) == []  # B would join: A alone
    assert department_groups([tally(None, 40)], 5) == []
    assert len(department_groups([tally("A", 5), tally("B", 5)], 5)) == 2


async def test_staff_results_merge_small_departments_and_hide_comments_below_ten(
    world: CampaignWorld, questionnaires: dict[str, Questionnaire]
) -> None:
    await enrolled(world, 201)
    await world.opt_in(201, "staff_polls")
    await world.opt_in(202, "staff_polls")  # not enrolled: gets no staff results
    await world.tick(local(2026, 11, 2, 10, 0))
    window_id = await staff_window(world)
    people = iter(range(500_000_001, 500_000_100))
    for department, count, score in (("control", 5, 5), ("licensing", 3, 2)):
        codes = await world.service.enrolment.create_invite_codes(department, count)
        for code in codes:
            person = next(people)
            await world.service.enrolment.enroll(code, person)
            answered = complete(questionnaires["staff"], overall=score)
            assert await world.service.store_answer(window_id, person, answered) == Verdict.OK
    await world.tick(local(2026, 11, 10, 10, 0))
    [(officer, text)] = world.results.texts
    assert officer == OFFICER
    assert "Ответов: 8" in text
    # Two departments would show the small one by subtraction: no breakdown at all.
    assert "Лицензирование" not in text and "Отдел контроля —" not in text
    assert "Разбивка по подразделениям не показана" in text
    assert "Комментарии не показаны" in text and "Нужно больше окон" not in text
    [published] = [
        message for chat, message in world.sent if chat == 201 and "Результаты" in message
    ]
    assert "Ответили: 8." in published and "Лицензирование" not in published
    assert [chat for chat, _ in world.sent if chat == 202] == []
    # Staff results are never citizens' news: not through the news port, no site link.
    assert world.news == [] and "polls.html" not in published
    # Published to staff, never to the public site (services.publication).
    assert await world.service.window_results() == []


async def test_staff_results_show_departments_that_reach_the_threshold(
    world: CampaignWorld, questionnaires: dict[str, Questionnaire]
) -> None:
    await world.tick(local(2026, 11, 2, 10, 0))
    window_id = await staff_window(world)
    people = iter(range(600_000_001, 600_000_100))
    staff: list[int] = []
    # Staff enrol before the poll: an answer carries its department only if enough staff are
    # enrolled in it when the answer is stored.
    for department, count in (("control", 6), ("licensing", 5), ("it", 2), ("hr", 3)):
        for code in await world.service.enrolment.create_invite_codes(department, count):
            staff.append(next(people))
            await world.service.enrolment.enroll(code, staff[-1])
    for person in staff:
        await world.service.store_answer(window_id, person, complete(questionnaires["staff"]))
    await world.tick(local(2026, 11, 10, 10, 0))
    [(_, text)] = world.results.texts
    assert "• Отдел контроля — 6 отв." in text and "• Лицензирование — 5 отв." in text
    assert f"• {OTHER_DEPARTMENTS} — 5 отв." in text
    assert "• ИТ" not in text and "• Отдел кадров" not in text
    assert "<b>Комментарии</b>" in text  # 16 staff respondents: above the staff threshold of 10
    assert date(2026, 11, 9).strftime("%d.%m.%Y") in text


async def test_a_windows_answer_carries_its_overall_score_in_the_reports_copy(
    world: CampaignWorld, questionnaires: dict[str, Questionnaire]
) -> None:
    # Issue 15 item 3 (revision 0031): written in the response's transaction, as
    # ResponseStore does, so a window's answers never wait for the start-up backfill.
    await world.tick(local(2026, 11, 2, 9, 0))
    window_id = await staff_window(world)
    codes = await world.service.enrolment.create_invite_codes("control", 1)
    await world.service.enrolment.enroll(codes[0], 111_222_333)
    staff = questionnaires["staff"]
    assert await world.service.store_answer(window_id, 111_222_333, complete(staff, 2)) == (
        Verdict.OK
    )
    copies = await world.rows("report_answers")
    assert copies and {(c["overall_score"], bool(c["scored"])) for c in copies} == {(2, True)}
