"""The campaigns YAML: the shipped file, located defects, and the schedule on the calendar."""

from __future__ import annotations

from datetime import date

import pytest

from questionnaires.campaigns import (
    CAMPAIGNS_FILE,
    Campaign,
    CampaignAudience,
    CampaignFile,
    check_campaigns,
    load_campaigns,
    occurrences,
    parse_campaigns,
    reminder_days,
)
from questionnaires.errors import Defect, DefinitionError, format_path
from questionnaires.schema import Questionnaire
from scheduler.calendar import ProductionCalendar


def defects_of(text: str, questionnaires: dict[str, Questionnaire]) -> list[Defect]:
    with pytest.raises(DefinitionError) as caught:
        parse_campaigns(text, "campaigns.yaml", questionnaires)
    return list(caught.value.defects)


def only(defects: list[Defect], path: str) -> Defect:
    found = [d for d in defects if format_path(d.path) == path]
    assert len(found) == 1, [str(d) for d in defects]
    return found[0]


def one(text: str, questionnaires: dict[str, Questionnaire]) -> Campaign:
    return parse_campaigns(text, "campaigns.yaml", questionnaires).campaigns[0]


# --- the shipped file ---------------------------------------------------------------------


def test_shipped_campaigns_run_the_deep_poll_twice_a_year_and_the_staff_poll_yearly(
    questionnaires: dict[str, Questionnaire],
) -> None:
    shipped = load_campaigns(CAMPAIGNS_FILE, questionnaires)
    deep, staff = shipped.campaigns
    assert (deep.questionnaire, deep.audience, deep.recurrence) == (
        "deep_external",
        CampaignAudience.EXTERNAL,
        "twice_a_year",
    )
    assert (deep.duration, deep.reminders, deep.publish_results) == (10, (3, 7), True)
    assert deep.start_days == ((4, 1), (10, 1))
    assert (staff.questionnaire, staff.audience, staff.recurrence) == (
        "staff",
        CampaignAudience.STAFF,
        "yearly",
    )
    assert staff.duration == 5
    assert all(n < staff.duration for n in staff.reminders)


def test_shipped_deep_poll_opens_on_the_first_working_day_of_april_and_october(
    questionnaires: dict[str, Questionnaire], calendar: ProductionCalendar
) -> None:
    deep = load_campaigns(CAMPAIGNS_FILE, questionnaires).campaigns[0]
    runs = occurrences(deep, calendar, 2026, 2026)
    assert [(r.opens_on, r.closes_on) for r in runs] == [
        (date(2026, 4, 1), date(2026, 4, 14)),
        (date(2026, 10, 1), date(2026, 10, 14)),
    ]


def test_defaults_follow_the_procedure_by_audience(
    questionnaires: dict[str, Questionnaire],
) -> None:
    staff = one(
        "campaigns:\n  - {id: s, questionnaire: staff, audience: staff, recurrence: yearly}\n",
        questionnaires,
    )
    assert (staff.duration, staff.reminders, staff.start_days) == (5, (2, 4), ((10, 1),))
    assert staff.results_to == "officers"
    deep = one(
        "campaigns:\n  - {id: d, questionnaire: deep_external, audience: external, "
        "recurrence: quarterly}\n",
        questionnaires,
    )
    assert (deep.duration, deep.reminders) == (10, (3, 7))
    assert len(deep.start_days) == 4


# --- the schedule on the production calendar ----------------------------------------------


def test_window_opening_before_the_may_holidays_closes_on_the_tenth_working_day(
    questionnaires: dict[str, Questionnaire], calendar: ProductionCalendar
) -> None:
    campaign = one(
        "campaigns:\n  - {id: d, questionnaire: deep_external, audience: external, "
        "recurrence: dates, dates: [2026-04-27]}\n",
        questionnaires,
    )
    [run] = occurrences(campaign, calendar, 2026, 2026)
    # 27–30 April, 4–8 May, 12 May: 1 May and 11 May (Victory Day moved off a Saturday) are off.
    assert (run.opens_on, run.closes_on) == (date(2026, 4, 27), date(2026, 5, 12))
    assert reminder_days(run.opens_on, (3, 7), calendar) == [date(2026, 4, 30), date(2026, 5, 7)]


def test_window_opening_in_late_december_runs_across_the_new_year_holidays(
    questionnaires: dict[str, Questionnaire], calendar: ProductionCalendar
) -> None:
    campaign = one(
        "campaigns:\n  - {id: s, questionnaire: staff, audience: staff, recurrence: dates, "
        "dates: [2026-12-26]}\n",
        questionnaires,
    )
    [run] = occurrences(campaign, calendar, 2026, 2026)
    # Saturday 26 Dec moves to Monday 28; 28, 29, 30 Dec, then 31 Dec–10 Jan are off.
    assert (run.opens_on, run.closes_on) == (date(2026, 12, 28), date(2027, 1, 12))


def test_opening_days_moved_onto_the_same_working_day_are_one_run(
    questionnaires: dict[str, Questionnaire], calendar: ProductionCalendar
) -> None:
    campaign = one(
        "campaigns:\n  - {id: d, questionnaire: deep_external, audience: external, "
        "recurrence: dates, dates: [2026-01-01, 2026-01-05]}\n",
        questionnaires,
    )
    assert [r.opens_on for r in occurrences(campaign, calendar, 2026, 2026)] == [date(2026, 1, 12)]


# --- defects, located -----------------------------------------------------------------------


def test_unknown_questionnaire_is_reported_with_line_and_a_suggestion(
    questionnaires: dict[str, Questionnaire],
) -> None:
    text = """\
campaigns:
  - id: deep
    questionnaire: deep_externl
    audience: external
    recurrence: twice_a_year
"""
    defect = only(defects_of(text, questionnaires), "campaigns[0].questionnaire")
    assert (defect.line, defect.column) == (3, 20)
    assert "unknown questionnaire 'deep_externl'" in defect.message
    assert defect.hint == "did you mean 'deep_external'?"
    assert str(defect).startswith("campaigns.yaml:3:20: campaigns[0].questionnaire:")


def test_bad_recurrence_and_zero_duration_are_both_reported_with_their_lines(
    questionnaires: dict[str, Questionnaire],
) -> None:
    text = """\
campaigns:
  - id: deep
    questionnaire: deep_external
    audience: external
    recurrence: monthly
    duration_working_days: 0
"""
    defects = defects_of(text, questionnaires)
    recurrence = only(defects, "campaigns[0].recurrence")
    assert recurrence.line == 5
    assert "unknown value 'monthly'" in recurrence.message
    assert recurrence.expected is not None and "twice_a_year" in recurrence.expected
    duration = only(defects, "campaigns[0].duration_working_days")
    assert duration.line == 6
    assert "greater than or equal to 1" in duration.message


def test_recurrence_defects_of_a_valid_structure_are_located(
    questionnaires: dict[str, Questionnaire],
) -> None:
    text = """\
campaigns:
  - id: deep
    questionnaire: deep_external
    audience: external
    recurrence: twice_a_year
    starts: [{month: 4, day: 1}]
    reminders_after_working_days: [3, 12]
  - id: extra
    questionnaire: deep_external
    audience: external
    recurrence: dates
  - id: extra
    questionnaire: staff
    audience: external
    recurrence: yearly
    dates: [2026-04-01]
"""
    defects = defects_of(text, questionnaires)
    assert "needs 2 opening day(s) a year, 1 given" in only(defects, "campaigns[0].starts").message
    reminders = only(defects, "campaigns[0].reminders_after_working_days")
    assert reminders.line == 7
    assert "after the window closes" in reminders.message
    assert only(defects, "campaigns[1].recurrence").line == 11
    assert only(defects, "campaigns[2].id").line == 12
    audience = only(defects, "campaigns[2].audience")
    assert "does not fit questionnaire 'staff'" in audience.message
    assert only(defects, "campaigns[2].dates").line == 16
    # Defects come in file order, so an author fixes them top to bottom.
    assert [d.line for d in defects] == sorted(d.line or 0 for d in defects)


def test_impossible_day_and_unknown_key_are_refused_with_hints(
    questionnaires: dict[str, Questionnaire],
) -> None:
    text = """\
campaigns:
  - id: deep
    questionnaire: deep_external
    audience: external
    recurrence: yearly
    starts: [{month: 2, day: 29}]
    publish_result: true
"""
    defects = defects_of(text, questionnaires)
    assert (
        "does not exist in month 2 every year" in only(defects, "campaigns[0].starts[0]").message
    )
    unknown = only(defects, "campaigns[0].publish_result")
    assert (unknown.line, unknown.column) == (7, 5)
    assert unknown.hint == "did you mean 'publish_results'?"


def test_check_campaigns_accepts_a_plain_list(questionnaires: dict[str, Questionnaire]) -> None:
    campaign = Campaign(
        id="deep", questionnaire="missing", audience=CampaignAudience.EXTERNAL, recurrence="yearly"
    )
    [defect] = check_campaigns([campaign], questionnaires)
    assert defect.path == ("campaigns", 0, "questionnaire")
    assert check_campaigns(CampaignFile(campaigns=(campaign,)), None) == []
