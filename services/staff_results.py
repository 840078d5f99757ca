"""Closed staff poll windows of a period with the figures their results showed (Appendix 2).

Read only: the same tallies, enrolment rule and department rule as the officers' window results
(services.windows), so the report shows nothing those results did not. Built apart from
WindowService so the command line can read them without a bot to send through.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date
from zoneinfo import ZoneInfo

from questionnaires import departments as staff_departments
from questionnaires.campaigns import Campaign, CampaignAudience, WindowStatus
from questionnaires.catalog import Department
from questionnaires.schema import Questionnaire, Role
from reports.appendix2 import DepartmentResult, StaffWindowResult
from reports.model import Period
from reports.windows import (
    OTHER_DEPARTMENTS,
    counted_tallies,
    merge_tallies,
    total_of,
    window_departments,
)
from storage.campaigns import CampaignStore, Tally, WindowRow
from storage.database import Sessions
from storage.staff import StaffStore


class StaffResultsReader:
    def __init__(
        self,
        *,
        sessions: Sessions,
        campaigns: Sequence[Campaign],
        questionnaires: Mapping[str, Questionnaire],
        departments: Sequence[Department],
        zone: ZoneInfo,
        min_group: int,
    ) -> None:
        self._store = CampaignStore(sessions)
        self._staff = StaffStore(sessions)
        self._campaigns = {campaign.id: campaign for campaign in campaigns}
        self._questionnaires = questionnaires
        self._departments = {department.code: department for department in departments}
        self._zone = zone
        self._min_group = min_group

    async def staff_results(self, period: Period) -> list[StaffWindowResult]:
        """Staff windows that ran wholly inside ``period``, oldest first; a window with fewer
        respondents than the threshold shows no figures, departments only by the rule of
        reports.windows.department_groups."""
        return await self._results(period, CampaignAudience.STAFF)

    async def deep_results(self, period: Period) -> list[StaffWindowResult]:
        """The citizens' poll windows (the deep poll) that ran wholly inside ``period``, as
        their results showed them: the whole window or nothing (Appendix 2 lists them beside
        the post-service calendar figures, which never count them)."""
        return await self._results(period, CampaignAudience.EXTERNAL)

    async def _results(
        self, period: Period, audience: CampaignAudience
    ) -> list[StaffWindowResult]:
        windows = await self._store.windows(statuses=(WindowStatus.CLOSED,), audience=audience)
        results: list[StaffWindowResult] = []
        for row in windows:
            closes_on = self._last_day(row)
            if period.start <= row.opens_on and closes_on <= period.end:
                results.append(self._result(row, closes_on, await self._tallies(row)))
        return results

    def _last_day(self, row: WindowRow) -> date:
        """The day it actually closed: a window closed early ran until then (issue 10)."""
        if row.closed_at is None:
            return row.closes_on
        closed_on = row.closed_at.astimezone(self._zone).date()
        return max(min(closed_on, row.closes_on), row.opens_on)

    async def _tallies(self, row: WindowRow) -> list[Tally]:
        questionnaire = self._questionnaires.get(row.questionnaire_id)
        overall = None
        if questionnaire is not None:
            overall = next((q.id for q in questionnaire.questions if q.role == Role.OVERALL), None)
        tallies = await self._store.tallies(row.id, overall)
        shown = staff_departments.shown_departments(
            await self._staff.member_counts(), self._min_group, self._departments
        )
        return counted_tallies(  # the web apart: the counted sides only, as the results
            merge_tallies(
                tallies, lambda code: self._title_of(code) if code and shown.get(code) else None
            ),
            self._min_group,
        )

    def _title_of(self, code: str) -> str:
        department = self._departments.get(code)
        return department.title.ru if department is not None else OTHER_DEPARTMENTS

    def _title(self, row: WindowRow) -> str:
        campaign = self._campaigns.get(row.campaign_id)
        questionnaire = self._questionnaires.get(row.questionnaire_id)
        if campaign is not None:
            return campaign.display_title(questionnaire).ru
        return questionnaire.title.ru if questionnaire is not None else row.campaign_id

    def _result(self, row: WindowRow, closes_on: date, tallies: list[Tally]) -> StaffWindowResult:
        total, k = total_of(tallies), self._min_group
        if total.respondents < k:
            return StaffWindowResult(self._title(row), row.opens_on, closes_on, 0, 0, None, None)
        return StaffWindowResult(
            title=self._title(row),
            opens_on=row.opens_on,
            closes_on=closes_on,
            respondents=total.respondents,
            n=total.n,
            csat=total.csat,
            mean=total.mean,
            departments=tuple(
                DepartmentResult(
                    group.title,
                    group.counts.respondents,
                    group.counts.n,
                    group.counts.csat,
                    group.counts.mean,
                )
                for group in window_departments(tallies, k)
            ),
        )
