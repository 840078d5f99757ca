"""Report figures against hand-computed fixtures, on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from questionnaires.results import AnswerRow
from reports.metrics import build_report
from reports.model import Band, Dimension, GroupRow, Period, Report, Scope
from tests.reports.conftest import ROLES, Responses, titles

WEEK = Period(date(2025, 3, 10), date(2025, 3, 16))  # Monday to Sunday
MONDAY, TUESDAY, SUNDAY = WEEK.start, date(2025, 3, 11), WEEK.end
LAST_WEEK = date(2025, 3, 5)
OUTSIDE = date(2025, 3, 17)


async def report(
    sessions: async_sessionmaker[AsyncSession],
    scope: Scope | None = None,
    *,
    min_group: int = 5,
    min_comment_group: int = 5,
    period: Period = WEEK,
    weekly: bool = True,
) -> Report:
    """The report of a week (by default): weeks show figures only with weekly figures on."""
    return await build_report(
        sessions,
        roles=ROLES,
        titles=titles,
        period=period,
        scope=scope or Scope(),
        min_group=min_group,
        min_comment_group=min_comment_group,
        title="test",
        weekly=weekly,
    )


def row(result: Report, dimension: Dimension, key: str | None) -> GroupRow:
    matches = [r for r in result.by(dimension) if r.key == key]
    assert len(matches) == 1, f"{dimension} {key}: {result.by(dimension)}"
    return matches[0]


# --- the overall score ------------------------------------------------------------------


async def test_without_weekly_figures_a_week_shows_none_and_its_month_shows_them(
    sessions: async_sessionmaker[AsyncSession], responses: Responses
) -> None:
    await responses.scores(MONDAY, [5, 5, 4, 3, 2, 1])

    week = await report(sessions, weekly=False)
    month = await report(
        sessions, period=Period(date(2025, 3, 1), date(2025, 3, 31)), weekly=False
    )

    assert week.overall.suppressed and all(row.current.suppressed for row in week.groups)
    assert month.overall.n == 6 and not row(month, Dimension.SERVICE, "s1").current.suppressed


async def test_csat_mean_band_distribution_and_n_match_the_hand_computed_figures(
    sessions: async_sessionmaker[AsyncSession], responses: Responses
) -> None:
    # Scores 5 5 4 3 2 1 and one "cannot rate": n = 6, CSAT = 3/6, mean = 20/6.
    await responses.scores(MONDAY, [5, 5, 4, 3, 2, 1])
    await responses.add(SUNDAY, cannot_rate=True)
    await responses.add(OUTSIDE, 1)  # the day after the period: not counted

    overall = (await report(sessions)).overall

    assert overall.n == 6
    assert overall.csat == pytest.approx(50.0)
    assert overall.mean == pytest.approx(20 / 6)
    assert overall.band == Band.MEDIUM
    assert overall.distribution == {1: 1, 2: 1, 3: 1, 4: 1, 5: 2}
    assert overall.cannot_rate == 1
    assert not overall.suppressed


async def test_cannot_rate_is_counted_apart_and_left_out_of_csat_and_mean(
    sessions: async_sessionmaker[AsyncSession], responses: Responses
) -> None:
    await responses.scores(TUESDAY, [5, 5, 5, 4, 1])
    await responses.add(TUESDAY, cannot_rate=True, times=3)

    overall = (await report(sessions)).overall

    assert (overall.n, overall.cannot_rate) == (5, 3)
    assert overall.csat == pytest.approx(80.0)
    assert overall.mean == pytest.approx(4.0)
    assert overall.band == Band.HIGH


async def test_an_empty_period_is_suppressed_without_dividing_by_zero(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    result = await report(sessions)

    assert result.overall.suppressed and result.overall.n == 0
    assert result.overall.csat is None and result.overall.mean is None
    assert result.overall.distribution == {}
    assert result.overall_previous.suppressed
    assert result.groups == () and result.problems == ()
    assert result.comments == () and result.comments_suppressed
    assert result.nps is not None and result.nps.suppressed


async def test_the_change_is_taken_against_the_previous_equal_period(
    sessions: async_sessionmaker[AsyncSession], responses: Responses
) -> None:
    await responses.scores(MONDAY, [5, 5, 5, 4, 2])  # CSAT 80 %
    await responses.scores(LAST_WEEK, [5, 4, 2, 2, 1])  # CSAT 40 %

    result = await report(sessions)

    assert result.overall.csat == pytest.approx(80.0)
    assert result.overall_previous.csat == pytest.approx(40.0)
    assert result.overall_previous.n == 5
    service = row(result, Dimension.SERVICE, "s1")
    assert service.csat_change == pytest.approx(40.0)
    assert service.previous.mean == pytest.approx(14 / 5)


async def test_a_band_is_low_below_three(
    sessions: async_sessionmaker[AsyncSession], responses: Responses
) -> None:
    await responses.scores(MONDAY, [1, 2, 3, 3, 4])

    overall = (await report(sessions)).overall

    assert overall.mean == pytest.approx(2.6)
    assert overall.band == Band.LOW


# --- breakdowns and the anonymity threshold ----------------------------------------------


async def test_a_group_of_four_is_hidden_and_a_group_of_five_is_shown(
    sessions: async_sessionmaker[AsyncSession], responses: Responses
) -> None:
    await responses.scores(MONDAY, [5, 4, 4, 3, 1], service="five")
    await responses.scores(MONDAY, [5, 5, 5, 5], service="four")
    await responses.scores(MONDAY, [1, 1, 1, 1], service="other_four")

    result = await report(sessions)

    shown = row(result, Dimension.SERVICE, "five").current
    assert (shown.n, shown.suppressed) == (5, False)
    assert shown.csat == pytest.approx(60.0)
    for hidden_key in ("four", "other_four"):
        hidden = row(result, Dimension.SERVICE, hidden_key).current
        assert hidden.suppressed
        assert (hidden.n, hidden.csat, hidden.mean, hidden.distribution) == (0, None, None, {})
    # The four hidden ones add up to eight: subtracting the shown group reveals no one.
    assert result.overall.n == 13


async def test_secondary_suppression_hides_the_smallest_shown_group_of_a_breakdown(
    sessions: async_sessionmaker[AsyncSession], responses: Responses
) -> None:
    await responses.scores(MONDAY, [5] * 10, service="big")
    await responses.scores(MONDAY, [4] * 6, service="middle")
    await responses.scores(MONDAY, [1] * 3, service="small")

    result = await report(sessions)

    # 19 − 10 − 6 = 3 would give the hidden group of three away: "middle" goes too.
    assert not row(result, Dimension.SERVICE, "big").current.suppressed
    assert row(result, Dimension.SERVICE, "middle").current.suppressed
    assert row(result, Dimension.SERVICE, "small").current.suppressed
    assert result.overall.n == 19
    # The other breakdowns are one group each, equal to the total: nothing to derive there.
    assert row(result, Dimension.CHANNEL, "c1").current.n == 19


async def test_cannot_rate_answers_count_towards_what_a_subtraction_could_reveal(
    sessions: async_sessionmaker[AsyncSession], responses: Responses
) -> None:
    await responses.scores(MONDAY, [5] * 8, service="big")
    await responses.scores(MONDAY, [3] * 6, service="middle")
    await responses.add(MONDAY, cannot_rate=True, service="tiny", times=2)

    result = await report(sessions)

    # Scores alone leave nothing hidden, but two people of "tiny" said "cannot rate":
    # the total's cannot_rate minus the shown groups' would tell.
    assert row(result, Dimension.SERVICE, "tiny").current.suppressed
    assert row(result, Dimension.SERVICE, "middle").current.suppressed
    assert not row(result, Dimension.SERVICE, "big").current.suppressed


async def test_responses_without_a_code_form_their_own_group_in_each_breakdown(
    sessions: async_sessionmaker[AsyncSession], responses: Responses
) -> None:
    await responses.scores(MONDAY, [5] * 5, channel="site", life_situation="moving")
    await responses.scores(MONDAY, [2] * 5, channel=None, life_situation=None)

    result = await report(sessions)

    assert row(result, Dimension.CHANNEL, "site").current.csat == pytest.approx(100.0)
    unknown = row(result, Dimension.CHANNEL, None)
    assert unknown.current.csat == pytest.approx(0.0)
    assert unknown.title == "channel:-"
    assert row(result, Dimension.LIFE_SITUATION, "moving").title == "life_situation:moving"
    assert row(result, Dimension.LIFE_SITUATION, None).current.n == 5
    # The groups without a code come last.
    assert [r.key for r in result.by(Dimension.CHANNEL)] == ["site", None]


async def test_a_group_seen_only_in_the_previous_period_is_listed_with_a_hidden_current(
    sessions: async_sessionmaker[AsyncSession], responses: Responses
) -> None:
    await responses.scores(MONDAY, [5] * 6, service="now")
    await responses.scores(LAST_WEEK, [4] * 6, service="before")

    before = row(await report(sessions), Dimension.SERVICE, "before")

    assert before.current.suppressed and before.previous.n == 6
    assert before.csat_change is None


async def test_a_scope_reports_only_its_service_channel_and_audience(
    sessions: async_sessionmaker[AsyncSession], responses: Responses
) -> None:
    await responses.scores(MONDAY, [5] * 5, service="a", channel="site")
    await responses.scores(MONDAY, [1] * 5, service="a", channel="office")
    await responses.scores(MONDAY, [3] * 5, service="b", channel="site")
    await responses.add(MONDAY, 1, service="a", channel="site", questionnaire="staff", times=5)

    by_service = await report(sessions, Scope(service="a"))
    by_channel = await report(sessions, Scope(service="a", channel="site"))
    staff = await report(sessions, Scope(audience="internal"))

    assert by_service.overall.n == 10 and by_service.overall.csat == pytest.approx(50.0)
    assert [r.key for r in by_service.by(Dimension.SERVICE)] == ["a"]
    assert by_channel.overall.n == 5 and by_channel.overall.csat == pytest.approx(100.0)
    assert staff.overall.n == 5 and staff.overall.mean == pytest.approx(1.0)


async def test_the_overall_questions_of_all_questionnaires_are_pooled(
    sessions: async_sessionmaker[AsyncSession], responses: Responses
) -> None:
    await responses.scores(MONDAY, [5, 5, 5])
    await responses.add(MONDAY, 1, questionnaire="deep", times=2)

    overall = (await report(sessions)).overall

    assert overall.n == 5 and overall.csat == pytest.approx(60.0)


# --- problems -------------------------------------------------------------------------------


async def test_problem_prevalence_mean_and_priority_and_the_order_of_ties(
    sessions: async_sessionmaker[AsyncSession], responses: Responses
) -> None:
    # 20 respondents. "queue": 10 of them, all scoring 4: prevalence 0.5, priority 0.5 × 1.
    # "rude" and "slow": 5 each, scoring 3: prevalence 0.25, priority 0.25 × 2 = 0.5 too.
    await responses.add(MONDAY, 4, problems=["queue"], times=5)
    await responses.add(MONDAY, 4, problems=["queue", "unclear"], times=4)
    await responses.add(MONDAY, 4, problems=["queue"])
    await responses.add(MONDAY, 3, problems=["rude", "slow"], times=5)
    await responses.add(MONDAY, 5, times=5)
    # Asked in another questionnaire (no problems question): not part of the base.
    await responses.add(MONDAY, 5, questionnaire="deep", times=7)

    problems = (await report(sessions)).problems

    assert [(p.option_id, p.respondents) for p in problems] == [
        ("queue", 10),  # same priority as the next two, more widespread
        ("rude", 5),  # tie on priority and prevalence: by title, "Грубость" < "Долго"
        ("slow", 5),
        ("unclear", 0),  # named by four: suppressed, last
    ]
    queue, rude, slow, unclear = problems
    assert queue.prevalence == pytest.approx(0.5)
    assert queue.mean_overall == pytest.approx(4.0)
    assert queue.priority == pytest.approx(0.5)
    assert rude.prevalence == pytest.approx(0.25) and rude.priority == pytest.approx(0.5)
    assert (rude.title, slow.title) == ("Грубость", "Долго")
    assert unclear.suppressed
    assert (unclear.prevalence, unclear.mean_overall, unclear.priority) == (0.0, None, None)


async def test_the_mean_of_a_problem_leaves_out_those_who_could_not_rate(
    sessions: async_sessionmaker[AsyncSession], responses: Responses
) -> None:
    await responses.add(MONDAY, 2, problems=["queue"], times=4)
    await responses.add(MONDAY, cannot_rate=True, problems=["queue"], times=2)
    await responses.add(MONDAY, 5, times=4)

    (queue,) = (await report(sessions)).problems

    # Base 10 (cannot rate included: they were asked), named by 6, mean of the four scores.
    assert queue.respondents == 6
    assert queue.prevalence == pytest.approx(0.6)
    assert queue.mean_overall == pytest.approx(2.0)
    assert queue.priority == pytest.approx(0.6 * 3)


async def test_problems_of_a_scope_below_the_threshold_are_not_shown(
    sessions: async_sessionmaker[AsyncSession], responses: Responses
) -> None:
    await responses.add(MONDAY, 1, problems=["queue"], times=4)

    result = await report(sessions)

    assert result.overall.suppressed
    assert result.problems == ()


# --- comments and NPS ---------------------------------------------------------------------


async def test_comments_are_shown_only_from_the_comment_threshold_in_alphabetical_order(
    sessions: async_sessionmaker[AsyncSession], responses: Responses
) -> None:
    await responses.add(MONDAY, 5, comment="в понедельник", times=8)
    await responses.add(TUESDAY, 4, comment="во вторник")

    below = await report(sessions, min_comment_group=10)
    await responses.add(SUNDAY, 3, comment="")  # an empty text is no comment
    at = await report(sessions, min_comment_group=10)

    assert below.comments == () and below.comments_suppressed
    assert not at.comments_suppressed
    # Not newest first: the order would say which one came on the last day.
    assert at.comments == (*["в понедельник"] * 8, "во вторник")


async def test_comments_come_from_every_questionnaire_of_the_audience_only(
    sessions: async_sessionmaker[AsyncSession], responses: Responses
) -> None:
    await responses.add(MONDAY, 5, comment="рейтинг", times=5)
    await responses.add(TUESDAY, 5, comment="углублённый", questionnaire="deep")
    await responses.add(TUESDAY, 5, comment="сотрудник", questionnaire="staff", times=5)

    comments = (await report(sessions)).comments

    assert sorted(set(comments)) == ["рейтинг", "углублённый"]
    assert list(comments) == sorted(comments, key=str.casefold)


async def test_nps_is_promoters_minus_detractors_among_the_nps_answers(
    sessions: async_sessionmaker[AsyncSession], responses: Responses
) -> None:
    for score in (10, 9, 9, 8, 7, 6, 0):
        await responses.add(
            MONDAY, 5, questionnaire="deep", extra=[AnswerRow("recommend", number=score)]
        )

    nps = (await report(sessions)).nps

    assert nps is not None
    assert (nps.n, nps.promoters, nps.passives, nps.detractors) == (7, 3, 2, 2)
    assert nps.value == pytest.approx(100 * (3 - 2) / 7)


async def test_nps_is_none_without_an_nps_questionnaire_and_hidden_below_the_threshold(
    sessions: async_sessionmaker[AsyncSession], responses: Responses
) -> None:
    for score in (10, 9, 0):
        await responses.add(
            MONDAY, 5, questionnaire="deep", extra=[AnswerRow("recommend", number=score)]
        )

    external = await report(sessions)
    staff = await report(sessions, Scope(audience="internal"))

    assert external.nps is not None and external.nps.suppressed and external.nps.value is None
    assert staff.nps is None


# --- the query plan on SQLite ----------------------------------------------------------------


async def test_sqlite_reads_the_breakdown_through_covering_indexes_without_sorting(
    sessions: async_sessionmaker[AsyncSession], responses: Responses
) -> None:
    """Not a timing: the plan of the main query, so a lost index shows up as a failure."""
    from sqlalchemy import text
    from sqlalchemy.dialects import sqlite

    from reports.metrics import _atoms

    async with sessions() as session:
        if session.get_bind().dialect.name != "sqlite":
            pytest.skip("SQLite's plan")
        captured: list[str] = []
        original = session.execute

        async def capture(statement, *args, **kwargs):  # type: ignore[no-untyped-def]
            captured.append(
                str(
                    statement.compile(
                        dialect=sqlite.dialect(), compile_kwargs={"literal_binds": True}
                    )
                )
            )
            return await original(statement, *args, **kwargs)

        session.execute = capture  # type: ignore[method-assign]
        await _atoms(session, ROLES, "external", Period(WEEK.previous().start, WEEK.end))
        session.execute = original  # type: ignore[method-assign]
        plan = [
            str(step[3])
            for step in await session.execute(text("EXPLAIN QUERY PLAN " + captured[0]))
        ]

    assert all("COVERING INDEX" in step for step in plan if step.startswith("SEARCH")), plan
    assert not any(step.startswith("SCAN") or "TEMP B-TREE" in step for step in plan), plan


async def test_sqlite_reads_the_problems_and_their_overall_scores_from_one_covering_index(
    sessions: async_sessionmaker[AsyncSession], responses: Responses
) -> None:
    """Issue 15 item 3: with the overall score on the copies (revision 0031) the problems are
    one range of the options index, without a lookup of each response's overall answer."""
    from sqlalchemy import text
    from sqlalchemy.dialects import sqlite

    from reports.metrics import COPY_OPTIONS_INDEX, _problems

    await responses.add(MONDAY, 2, problems=["queue"], times=3)
    async with sessions() as session:
        if session.get_bind().dialect.name != "sqlite":
            pytest.skip("SQLite's plan")
        captured: list[str] = []
        original = session.execute

        async def capture(statement, *args, **kwargs):  # type: ignore[no-untyped-def]
            captured.append(
                str(
                    statement.compile(
                        dialect=sqlite.dialect(), compile_kwargs={"literal_binds": True}
                    )
                )
            )
            return await original(statement, *args, **kwargs)

        session.execute = capture  # type: ignore[method-assign]
        named = await _problems(session, ROLES, "external", WEEK)
        session.execute = original  # type: ignore[method-assign]
        plan = [
            str(step[3])
            for step in await session.execute(text("EXPLAIN QUERY PLAN " + captured[-1]))
        ]

    assert [(item.option_id, item.respondents, item.score_sum) for item in named] == [
        ("queue", 3, 6)
    ]
    assert len(plan) == 1, plan
    assert f"COVERING INDEX {COPY_OPTIONS_INDEX}" in plan[0], plan


def test_counts_are_summed_column_by_column() -> None:
    import random

    from reports.metrics import Counts, _sum

    rng = random.Random(15)
    items = [Counts([rng.randrange(7) for _ in range(5)], rng.randrange(3)) for _ in range(2_000)]
    expected = Counts()
    for item in items:
        expected.add(item)
    assert _sum(iter(items)) == expected
    assert _sum(items[:1]) == items[0] and _sum(items[:1]) is not items[0]
    assert _sum([]) == Counts()
