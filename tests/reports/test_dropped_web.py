"""The web's dropped answers count in no figure and show in no listing (review of "web apart").

With the web kept apart (the default), web answers that join no web block of ``k`` are dropped
(reports.disclosure ``Plan.dropped``): the report leaves them out of every figure and its
comments. Two other outputs read the same answers and must leave them out the same way, or a
comparison with the report gives the dropped group (fewer than ``k``) back: Appendix 2's problem
shares (their base) and the ``/comments`` listing. On SQLite and PostgreSQL.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date

import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from questionnaires.fronts import Front
from reports.disclosure import clear_plan_cache, pool_web_with_messengers, web_pooled
from reports.metrics import build_report, problems_by_service
from reports.model import Period, Report, Scope
from storage.open_answers import OpenAnswerStore
from tests.reports.conftest import ROLES, Responses, responses, titles
from tests.storage.conftest import database, engine, sessions

__all__ = ["database", "engine", "responses", "sessions"]

MARCH = Period(date(2025, 3, 1), date(2025, 3, 31))
FEB = Period(date(2025, 2, 1), date(2025, 2, 28))
DAY = date(2025, 3, 12)


@pytest.fixture(autouse=True)
def web_apart() -> Iterator[None]:
    before = web_pooled()
    pool_web_with_messengers(False)  # the default; clears the plan cache
    try:
        yield
    finally:
        pool_web_with_messengers(before)
        clear_plan_cache()


async def _report(sessions: async_sessionmaker[AsyncSession]) -> Report:
    return await build_report(
        sessions,
        roles=ROLES,
        titles=titles,
        period=MARCH,
        scope=Scope(service="s1"),
        previous=FEB,
    )


async def test_appendix2_problem_shares_have_the_report_base(
    sessions: async_sessionmaker[AsyncSession], responses: Responses
) -> None:
    # 10 Telegram answers, 6 naming "queue"; 2 web answers, dropped (fewer than k=5 web).
    await responses.add(DAY, 2, service="s1", problems=["queue"], times=6)
    await responses.add(DAY, 4, service="s1", times=4)
    await responses.add(DAY, 5, service="s1", front=Front.WEB, times=2)

    report = await _report(sessions)
    by_service = await problems_by_service(
        sessions, roles=ROLES, period=MARCH, audience="external", services=["s1"], previous=FEB
    )

    assert report.overall.n == 10  # the 2 web answers count in no figure
    assert [(r.option_id, r.respondents, r.prevalence) for r in report.problems] == [
        ("queue", 6, 0.6)
    ]
    # The same share: dividing the count by it gives the same base (10), not 12 with the
    # dropped web answers, whose number the difference would be.
    assert [(r.option_id, r.respondents, r.prevalence) for r in by_service["s1"]] == [
        ("queue", 6, 0.6)
    ]


async def test_appendix2_counts_the_web_when_its_answers_form_a_block(
    sessions: async_sessionmaker[AsyncSession], responses: Responses
) -> None:
    """Control: 5 web answers make a web block of their own, counted by both."""
    await responses.add(DAY, 2, service="s1", problems=["queue"], times=6)
    await responses.add(DAY, 4, service="s1", times=4)
    await responses.add(DAY, 5, service="s1", front=Front.WEB, times=5)

    report = await _report(sessions)
    by_service = await problems_by_service(
        sessions, roles=ROLES, period=MARCH, audience="external", services=["s1"], previous=FEB
    )

    assert report.overall.n == 15
    assert [r.prevalence for r in report.problems] == [0.4]
    assert [r.prevalence for r in by_service["s1"]] == [0.4]


async def _listed(sessions: async_sessionmaker[AsyncSession], report: Report) -> set[str]:
    found = await OpenAnswerStore(sessions).comments(
        scope=Scope(service="s1"),
        start=MARCH.start,
        end=MARCH.end,
        comment_questions={"rating": ("comment",)},
        limit=50,
        web=report.comments_web,
    )
    return {item.text for item in found}


async def test_the_comments_listing_leaves_out_the_web_the_report_dropped(
    sessions: async_sessionmaker[AsyncSession], responses: Responses
) -> None:
    await responses.add(DAY, 4, service="s1", comment="телеграм", times=6)
    await responses.add(DAY, 5, service="s1", front=Front.WEB, comment="с сайта", times=2)

    report = await _report(sessions)

    assert set(report.comments) == {"телеграм"}
    assert not report.comments_web
    assert await _listed(sessions, report) == {"телеграм"}


async def test_the_comments_listing_keeps_the_web_the_report_counts(
    sessions: async_sessionmaker[AsyncSession], responses: Responses
) -> None:
    """Control: with a web block of 5 the report and the listing both show the web's."""
    await responses.add(DAY, 4, service="s1", comment="телеграм", times=6)
    await responses.add(DAY, 5, service="s1", front=Front.WEB, comment="с сайта", times=5)

    report = await _report(sessions)

    assert set(report.comments) == {"телеграм", "с сайта"}
    assert report.comments_web
    assert await _listed(sessions, report) == {"телеграм", "с сайта"}
