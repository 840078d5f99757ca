"""The poll window renderers speak Russian by default and English when asked (issue 12, item 2)."""

from __future__ import annotations

from datetime import date

from questionnaires.campaigns import WindowOrigin, WindowStatus
from questionnaires.schema import Language
from reports.window_results import render_officer_results, render_publication
from reports.windows import DepartmentGroup, GroupCounts
from storage.campaigns import WindowRow

WINDOW = WindowRow(
    id=7,
    campaign_id="staff_annual",
    questionnaire_id="staff",
    audience="staff",
    opens_on=date(2026, 3, 2),
    closes_on=date(2026, 3, 13),
    status=WindowStatus.CLOSED,
    origin=WindowOrigin.OFFICER,
    opened_at=None,
    closed_at=None,
    invited_at=None,
    reminders_done=0,
    results_sent_at=None,
    published_at=None,
)
TOTAL = GroupCounts(respondents=12, by_score=(0, 1, 1, 4, 6), cannot_rate=1)
DEPARTMENTS = [
    DepartmentGroup("Кадры", GroupCounts(respondents=6, by_score=(0, 0, 1, 2, 3))),
    DepartmentGroup("Бухгалтерия", GroupCounts(respondents=6, by_score=(0, 1, 0, 2, 3))),
]


def _officer(language: Language) -> str:
    return render_officer_results(
        title="Опрос сотрудников",
        window=WINDOW,
        total=TOTAL,
        departments=DEPARTMENTS,
        department_note=True,
        comments=[],
        comments_hidden=True,
        min_group=5,
        language=language,
    )


def test_officer_results_in_english_carry_the_same_figures() -> None:
    english = _officer(Language.EN)
    assert english.startswith("<b>Results of the poll “Опрос сотрудников”</b>")
    assert "The poll ran 02.03.2026–13.03.2026 (opened by hand)." in english
    assert "CSAT 83.3% · mean score 4.25 of 5 — high" in english
    assert "<b>By department</b>" in english
    assert "Comments are not shown" in english


def test_officer_results_stay_russian_by_default() -> None:
    russian = render_officer_results(
        title="Опрос сотрудников",
        window=WINDOW,
        total=TOTAL,
        departments=DEPARTMENTS,
        department_note=True,
        comments=[],
        comments_hidden=True,
        min_group=5,
    )
    assert russian == _officer(Language.RU)
    assert "CSAT 83,3% · средняя оценка 4,25 из 5 — высокий" in russian


def test_publication_in_english() -> None:
    english = render_publication(
        title="Poll",
        window=WINDOW,
        total=TOTAL,
        departments=DEPARTMENTS,
        min_group=5,
        language=Language.EN,
    )
    assert "83.3% of those who answered are satisfied; mean score 4.25 of 5." in english
    assert "• Кадры — 83.3% satisfied" in english
    assert english.endswith("We will report the decisions taken after the poll separately.")
