"""The CSAT trend by week and month, and the anonymised rows of the workbook."""

from __future__ import annotations

from datetime import date
from typing import Any, Literal

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from questionnaires.results import CANNOT_RATE, AnswerRow, CompletedResponse, ResponseContext
from reports import metrics
from reports.metrics import anonymised_responses, build_report, csat_trend, report_and_trend
from reports.model import Period, Scope
from storage.models import Response
from tests.reports.conftest import ROLES, Responses, titles

MARCH = Period(date(2025, 3, 1), date(2025, 3, 31))
QUARTER = Period(date(2025, 1, 1), date(2025, 3, 31))


async def test_the_trend_buckets_days_into_monday_weeks_in_sql(
    sessions: async_sessionmaker[AsyncSession], responses: Responses
) -> None:
    await responses.add(date(2025, 3, 5), 5, times=5)  # Wednesday: week of Monday 3 March
    await responses.add(date(2025, 3, 10), 4, times=3)  # Monday
    await responses.add(date(2025, 3, 16), 2, times=3)  # Sunday of the same week
    await responses.add(date(2025, 3, 17), 1, times=5)  # the next Monday

    trend = await csat_trend(
        sessions,
        roles=ROLES,
        period=MARCH,
        scope=Scope(),
        bucket="week",
        min_group=5,
        weekly=True,  # weeks show figures only with weekly figures on
    )

    assert [(p.service, p.bucket_start, p.score.n) for p in trend] == [
        ("s1", date(2025, 3, 3), 5),
        ("s1", date(2025, 3, 10), 6),
        ("s1", date(2025, 3, 17), 5),
    ]
    assert [p.score.csat for p in trend] == pytest.approx([100.0, 50.0, 0.0])


async def test_the_trend_buckets_days_into_calendar_months_per_service(
    sessions: async_sessionmaker[AsyncSession], responses: Responses
) -> None:
    await responses.add(date(2025, 1, 31), 5, times=5, service="a")
    await responses.add(date(2025, 2, 1), 4, times=5, service="a")
    await responses.add(date(2025, 2, 28), 3, times=5, service="a")
    await responses.add(date(2025, 3, 1), 5, times=5, service="b")
    await responses.add(date(2025, 3, 31), 1, times=5, service="b")

    trend = await csat_trend(
        sessions, roles=ROLES, period=QUARTER, scope=Scope(), bucket="month", min_group=5
    )

    assert [(p.service, p.bucket_start, p.score.n) for p in trend] == [
        ("a", date(2025, 1, 1), 5),
        ("a", date(2025, 2, 1), 10),
        ("b", date(2025, 3, 1), 10),
    ]
    assert [p.score.mean for p in trend] == pytest.approx([5.0, 3.5, 3.0])


async def test_a_small_trend_point_is_hidden_and_cannot_be_derived_from_the_total(
    sessions: async_sessionmaker[AsyncSession], responses: Responses
) -> None:
    await responses.add(date(2025, 3, 3), 5, times=10)
    await responses.add(date(2025, 3, 10), 4, times=10)
    await responses.add(date(2025, 3, 17), 1, times=3)

    trend = await csat_trend(
        sessions,
        roles=ROLES,
        period=MARCH,
        scope=Scope(),
        bucket="week",
        min_group=5,
        weekly=True,  # weeks show figures only with weekly figures on
    )

    hidden = {p.bucket_start for p in trend if p.score.suppressed}
    assert hidden == {date(2025, 3, 17)}
    assert all(p.score.n == 0 and p.score.csat is None for p in trend if p.score.suppressed)
    # The weeks were shown as they closed, so the month (23 − 20 = the three) hides instead.
    month = await build_report(
        sessions,
        roles=ROLES,
        titles=titles,
        period=MARCH,
        scope=Scope(),
        min_group=5,
        weekly=True,
    )
    assert month.overall.suppressed


async def test_anonymised_rows_number_responses_and_leave_out_hidden_services(
    sessions: async_sessionmaker[AsyncSession], responses: Responses
) -> None:
    solved = AnswerRow("solved", option_id="yes")
    await responses.add(date(2025, 3, 4), 5, service="a", extra=[solved], times=5)
    await responses.add(
        date(2025, 3, 3),
        2,
        service="a",
        problems=["queue", "rude"],
        comment="Долго ждал, звоните +7 912 345-67-89",
        extra=[AnswerRow("obstacles", option_id="other", text="сломан терминал")],
    )
    await responses.add(date(2025, 3, 5), cannot_rate=True, service="a")
    await responses.add(date(2025, 3, 5), 4, service="b", times=5)
    await responses.add(date(2025, 3, 5), 1, service="c", times=2)

    plain = await anonymised_responses(
        sessions, roles=ROLES, period=MARCH, scope=Scope(), min_group=5, include_comments=False
    )
    with_texts = await anonymised_responses(
        sessions,
        roles=ROLES,
        period=MARCH,
        scope=Scope(),
        min_group=5,
        include_comments=True,
        titles=titles,
    )

    # "c" (two) joins the smallest block of its week, "b": neither leaves as rows.
    assert [row["no"] for row in plain] == [1, 2, 3, 4, 5, 6, 7]
    assert {row["service"] for row in plain} == {"a"}
    # Month precision only, and no order by day within it.
    assert {row["date"] for row in plain} == {"03.2025"}
    first = next(row for row in plain if row["overall"] == 2)
    assert first == {
        "no": first["no"],
        "date": "03.2025",
        "questionnaire": "rating",
        "service": "a",
        "channel": "c1",
        "life_situation": None,
        "overall": 2,
        "problems": ("Очередь", "Грубость", "Другое"),
    }
    assert sum(row.get("solved") == "Да" for row in plain) == 5
    assert sum(row["overall"] == CANNOT_RATE for row in plain) == 1
    assert all("comments" not in row for row in plain)
    # No random response id leaves the database, in any form.
    async with sessions() as session:
        ids = (await session.execute(select(Response.id))).scalars().all()
    dumped = repr(with_texts) + repr(plain)
    assert not any(str(rid) in dumped or rid.hex in dumped for rid in ids)

    commented = next(row for row in with_texts if row["overall"] == 2)
    assert commented["service"] == "service:a"
    assert commented["comments"] == ("Долго ждал, звоните [скрыто]",)
    assert commented["problems"] == ("Очередь", "Грубость", "Другое: сломан терминал")
    assert all(row["comments"] == () for row in with_texts if row is not commented)


async def test_no_anonymised_rows_for_a_scope_below_the_threshold(
    sessions: async_sessionmaker[AsyncSession], responses: Responses
) -> None:
    await responses.add(date(2025, 3, 4), 5, times=4)

    rows = await anonymised_responses(
        sessions, roles=ROLES, period=MARCH, scope=Scope(), min_group=5, include_comments=True
    )

    assert rows == []


async def test_answers_to_a_poll_window_leave_only_with_the_windows_results(
    sessions: async_sessionmaker[AsyncSession], responses: Responses
) -> None:
    await responses.add(date(2025, 3, 4), 5, service="a", comment="обычный", times=5)
    polled = CompletedResponse(
        questionnaire_id="rating",
        questionnaire_version=1,
        kind="rating",
        audience="external",
        context=ResponseContext("a", "c1", None),
        submitted_on=date(2025, 3, 5),
        answers=(AnswerRow("overall", number=4), AnswerRow("comment", text="из опроса")),
        window_id=7,
    )
    for _ in range(5):
        await responses.store.save(polled)

    rows = await anonymised_responses(
        sessions, roles=ROLES, period=MARCH, scope=Scope(), include_comments=True
    )
    month = await build_report(
        sessions, roles=ROLES, titles=titles, period=MARCH, scope=Scope(), min_group=5
    )

    # Neither figures nor rows nor comments count them: a window is reported as that window
    # only (docs/anonymity.md, "Poll windows and calendar figures").
    assert month.overall.n == 5
    assert len(rows) == 5 and all(row["comments"] == ("обычный",) for row in rows)
    assert "из опроса" not in month.comments and "обычный" in month.comments


@pytest.mark.parametrize(
    ("previous", "bucket", "weekly", "reads"),
    [
        # Months compared with months: the trend is folded from the report's own atoms.
        (Period(date(2024, 10, 1), date(2024, 12, 31)), "month", False, 2),
        # A comparison of odd days makes the report read days: the trend reads its months.
        (Period(date(2024, 12, 10), date(2024, 12, 31)), "month", False, 3),
        # Weekly figures: both fold week pieces, week buckets too.
        (Period(date(2024, 10, 1), date(2024, 12, 31)), "week", True, 2),
    ],
)
async def test_the_report_and_its_trend_read_the_atoms_once(
    sessions: async_sessionmaker[AsyncSession],
    responses: Responses,
    monkeypatch: pytest.MonkeyPatch,
    previous: Period,
    bucket: Literal["week", "month"],
    weekly: bool,
    reads: int,
) -> None:
    for day, service, score in [
        (date(2025, 1, 31), "a", 5),
        (date(2025, 2, 1), "a", 4),
        (date(2025, 2, 28), "b", 3),
        (date(2025, 3, 1), "b", 5),
        (date(2025, 3, 17), "a", 1),
        (date(2024, 12, 20), "a", 2),
    ]:
        await responses.add(day, score, times=3, service=service)
    await responses.add(date(2025, 3, 2), 4, times=6, service="c")
    calls: list[Period] = []
    real = metrics._atoms_of  # every read of atoms (_atoms too)

    async def counted(*args: Any, **kwargs: Any) -> Any:
        calls.append(args[3])
        return await real(*args, **kwargs)

    monkeypatch.setattr(metrics, "_atoms_of", counted)
    report, trend = await report_and_trend(
        sessions,
        roles=ROLES,
        titles=titles,
        period=QUARTER,
        scope=Scope(),
        previous=previous,
        min_group=5,
        weekly=weekly,
        bucket=bucket,
    )
    # The report itself reads its atoms once and its sections once beside them.
    assert len(calls) == reads - 1
    alone = await csat_trend(
        sessions,
        roles=ROLES,
        period=QUARTER,
        scope=Scope(),
        bucket=bucket,
        min_group=5,
        weekly=weekly,
    )
    assert trend == alone
    assert weekly or any(not point.score.suppressed for point in trend)
    assert report == await build_report(
        sessions,
        roles=ROLES,
        titles=titles,
        period=QUARTER,
        scope=Scope(),
        previous=previous,
        min_group=5,
        weekly=weekly,
    )
