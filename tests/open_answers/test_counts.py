"""Open answers counted per category through the database (SQLite and PostgreSQL), re-tags,
initiative topics, life situations as a whole; and the differencing attack on the counts."""

from __future__ import annotations

import random
import re
import uuid
from collections.abc import Mapping
from dataclasses import replace
from datetime import date
from itertools import product
from typing import Any

import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from questionnaires.fronts import Front
from questionnaires.open_answers import OTHER, Categoriser
from questionnaires.results import AnswerRow, CompletedResponse, ResponseContext
from questionnaires.schema import Language, Text
from reports import disclosure, open_answers, periods
from reports.disclosure import Atom, Plan
from reports.model import Dimension, Period, QuestionnaireRoles, Scope
from reports.open_answers import OpenAnswerCounts, count_categories
from storage.open_answers import OpenAnswerStore
from storage.responses import ResponseStore
from tests.open_answers.conftest import SITUATION_ROLES, Responses, build

CYRILLIC = re.compile(r"[\u0400-\u04ff]")

OCTOBER = Period(date(2026, 10, 1), date(2026, 10, 31))
Q4 = Period(date(2026, 10, 1), date(2026, 12, 31))


async def _seed_october(responses: Responses) -> None:
    for day in (3, 9, 14, 20, 27, 30):
        await responses.add(date(2026, 10, day), 4, service="s1", comment="Большая очередь")
    for day in (2, 5, 8):
        await responses.add(date(2026, 10, day), 2, service="s2", comment="Стояли в очереди")
    for day in (11, 15, 22):
        await responses.add(date(2026, 10, day), 5, service="s2", comment="Спасибо, всё хорошо")


def _shown(counts: OpenAnswerCounts) -> dict[str, int | None]:
    rows = counts.categories
    return {row.category: None if row.suppressed else row.respondents for row in rows}


async def test_counts_per_category_show_only_whole_blocks_of_the_comment_threshold(
    sessions: async_sessionmaker[AsyncSession], responses: Responses, categoriser: Categoriser
) -> None:
    await _seed_october(responses)
    reporting, service = build(sessions, categoriser)
    everything = await service.counts(OCTOBER, Scope(), published=True)
    assert everything.respondents == 12
    # s2's three about queues are too few alone: they join s1's block, so "queue" shows for
    # all services (9) and for neither service, and s2's three thanks never show.
    assert _shown(everything) == {"queue": 9, "gratitude": None}
    s1 = await service.counts(OCTOBER, Scope(service="s1"), published=True)
    s2 = await service.counts(OCTOBER, Scope(service="s2"), published=True)
    assert s1.respondents == 6 and _shown(s1) == {"queue": None}
    assert s2.respondents == 6 and _shown(s2) == {"queue": None, "gratitude": None}
    # A group the report hides shows no count at all.
    hidden = await service.counts(OCTOBER, Scope(), published=False)
    assert hidden.suppressed and hidden.categories == () and hidden.respondents == 0
    # The report's own sections carry the same counts, Telegram and workbook alike.
    report = await reporting.report(OCTOBER, Scope())
    messages = await service.messages(report, "ru")  # type: ignore[arg-type]
    assert "Очереди и ожидание: 9" in messages[-1] and "Благодарности: —" in messages[-1]
    [sheet, *_] = await service.sheets(report)
    assert ["Очереди и ожидание", 9] in sheet[2] and ["Благодарности", "скрыто"] in sheet[2]


async def test_an_officer_re_tag_is_stored_by_answer_and_counted(
    sessions: async_sessionmaker[AsyncSession], responses: Responses, categoriser: Categoriser
) -> None:
    await _seed_october(responses)
    for day in (12, 13):
        await responses.add(date(2026, 10, day), 5, service="s2", comment="Спасибо большое")
    _, service = build(sessions, categoriser)
    assert _shown(await service.counts(OCTOBER, Scope(), published=True))["gratitude"] == 5
    store = OpenAnswerStore(sessions)
    [thanks, *_] = [
        a
        for a in await store.answers(
            audience="external",
            start=OCTOBER.start,
            end=OCTOBER.end,
            comment_questions={"rating": ("comment",)},
        )
        if "Спасибо большое" in a.text
    ]
    assert await store.retag(thanks.answer_id, {"queue"})
    assert await store.tags_of(thanks.answer_id) == {"queue"}
    counts = _shown(await service.counts(OCTOBER, Scope(), published=True))
    assert counts == {"queue": 10, "gratitude": None}  # 4 thanks left: below the threshold
    assert await store.retag(thanks.answer_id, ())  # back to the rules
    assert await store.tags_of(thanks.answer_id) is None
    assert not await store.retag(uuid.uuid4(), {"queue"})  # no such answer: nothing written
    rows = await _tag_rows(sessions)
    assert rows == []


async def _tag_rows(sessions: async_sessionmaker[AsyncSession]) -> list[tuple[object, ...]]:
    from sqlalchemy import text

    async with sessions() as session:
        return [tuple(r) for r in await session.execute(text("SELECT * FROM open_answer_tags"))]


async def test_other_follow_ups_and_initiative_messages_are_open_answers_too(
    sessions: async_sessionmaker[AsyncSession], responses: Responses, categoriser: Categoriser
) -> None:
    for day in range(1, 6):
        await responses.add(
            date(2026, 10, day),
            2,
            service="s1",
            problems=(),
            extra=(AnswerRow("obstacles", option_id="other", text="Не дозвониться до инспекции"),),
        )
    _, service = build(sessions, categoriser)
    assert _shown(await service.counts(OCTOBER, Scope(), published=True)) == {"queue": 5}
    store = ResponseStore(sessions)
    topics = ["equipment"] * 6 + ["career"] * 2
    for index, topic in enumerate(topics):
        await store.save(
            CompletedResponse(
                questionnaire_id="initiative",
                questionnaire_version=1,
                kind="initiative",
                audience="internal",
                context=ResponseContext(),
                submitted_on=date(2026, 10, 1 + index),
                answers=(
                    AnswerRow("topic", option_id=topic),
                    AnswerRow("message", text="Сканер не работает, нужен новый принтер"),
                ),
            )
        )
    _, staff_service = build(sessions, categoriser)
    staff_service._roles = _initiative_roles()
    tally = await staff_service.initiative_tally(OCTOBER)
    assert tally.messages == 8
    assert [(t.topic, t.respondents, t.suppressed) for t in tally.topics] == [
        ("equipment", 6, False),
        ("career", 0, True),
    ]
    # Staff texts need the staff comment threshold (10): 8 messages show no categories.
    assert tally.categories.suppressed
    # The same answers a quarter later: a closed quarter shows what its months show.
    assert (await staff_service.initiative_tally(Q4)).messages == 8
    # Topics by their option titles in the reader's language (issue 12 item 2).
    assert [t.title for t in tally.topics] == ["Техническое оснащение", "Должностной рост"]
    english = await staff_service.initiative_tally(OCTOBER, "en")
    assert [t.title for t in english.topics] == ["Equipment", "Career growth"]


def _initiative_roles() -> QuestionnaireRoles:
    return replace(
        SITUATION_ROLES,
        comments={**SITUATION_ROLES.comments, "initiative": ("message",)},
        option_titles={
            **SITUATION_ROLES.option_titles,
            ("initiative", "topic", "equipment"): "Техническое оснащение",
            ("initiative", "topic", "career"): "Должностной рост",
        },
        option_texts={
            ("initiative", "topic", "equipment"): Text(ru="Техническое оснащение", en="Equipment"),
            ("initiative", "topic", "career"): Text(ru="Должностной рост", en="Career growth"),
        },
        audiences={**SITUATION_ROLES.audiences, "initiative": "internal"},
    )


async def test_life_situations_as_a_whole_beside_their_services(
    sessions: async_sessionmaker[AsyncSession], responses: Responses, categoriser: Categoriser
) -> None:
    # Six from a link naming "license", five from the deep poll choosing "buying", two more
    # choosing "repairs": too few alone, they hide "buying" with them.
    for day, score in zip(range(1, 7), (5, 4, 4, 3, 5, 2), strict=True):
        await responses.add(
            date(2026, 10, day),
            4,
            life_situation="license",
            extra=(AnswerRow("whole", number=score),),
        )
    for day, situation in [(d, "buying") for d in range(10, 15)] + [
        (16, "repairs"),
        (17, "repairs"),
    ]:
        await responses.add(
            date(2026, 10, day),
            3,
            questionnaire="deep",
            life_situation=None,
            extra=(AnswerRow("situation", option_id=situation), AnswerRow("whole", number=4)),
        )
    reporting, service = build(sessions, categoriser)
    report = await reporting.report(OCTOBER, Scope())
    rows = {row.code: row for row in await service.situations(report)}
    assert set(rows) == {"license", "buying", "repairs"}
    whole = rows["license"].as_a_whole
    assert not whole.suppressed and whole.n == 6 and whole.mean == 23 / 6
    assert whole.csat is not None and round(whole.csat, 1) == 66.7
    assert rows["buying"].as_a_whole.suppressed and rows["repairs"].as_a_whole.suppressed
    # The services the catalog links to the life situation, with their own report figures.
    assert [s.code for s in rows["license"].services] == [
        "licensing",
        "license-register",
        "site-info",
    ]
    assert rows["license"].overall.n == 6  # the life situation's group of the report
    text = "\n".join(await service.messages(report, "ru"))  # type: ignore[arg-type]
    assert "Жизненные ситуации в целом" in text and "3,83 (CSAT 66,7%, n=6)" in text
    # Read in English, life situations and their services take the catalog's English titles
    # (issue 12 item 2), as the report's own groups do.
    english = {row.code: row for row in await service.situations(report, Language.EN)}
    catalog = {s.code: s.title for s in reporting.catalog.services}
    assert [s.title for s in english["license"].services] == [
        catalog[code].get(Language.EN) for code in ("licensing", "license-register", "site-info")
    ]
    assert english["license"].title == reporting.title(
        Dimension.LIFE_SITUATION, "license", Language.EN
    )
    assert not any(CYRILLIC.search(s.title) for s in english["license"].services)
    assert not CYRILLIC.search(english["license"].title)


def test_category_counts_cannot_be_differenced_to_isolate_a_comment(
    categoriser: Categoriser,
) -> None:
    """The attack: every view an officer can ask for (each month and the quarter, all
    services and each service), every count shown; whatever shown parts are taken from a shown
    whole (services from all, months from the quarter), the rest is 0 or at least k."""
    k = 5
    services = ("s1", "s2", "s3")
    categories = [*[c for c in categoriser.ids if c != OTHER][:4], OTHER]
    months = [Period(date(2026, m, 1), date(2026, m, (31, 30, 31)[m - 10])) for m in (10, 11, 12)]
    for seed in range(150):
        rng = random.Random(seed)
        by_response: dict[uuid.UUID, tuple[Atom, frozenset[str]]] = {}
        for _ in range(rng.randint(5, 60)):
            month = rng.choice(months)
            day = date(2026, month.start.month, rng.randint(1, month.end.day))
            cell = (rng.choice(services), "c1", None)
            chosen = frozenset(rng.sample(categories, rng.choice((1, 1, 2))))
            by_response[uuid.uuid4()] = ((day, cell), chosen)

        def shown(
            period: Period,
            service: str | None,
            by_response: dict[uuid.UUID, tuple[Atom, frozenset[str]]] = by_response,
        ) -> dict[str, int]:
            counts = count_categories(
                by_response,
                categoriser,
                period=period,
                scope=Scope(service=service),
                threshold=k,
                published=True,
            )
            return {r.category: r.respondents for r in counts.categories if not r.suppressed}

        for period in (*months, Q4):
            whole = shown(period, None)
            parts = [shown(period, s) for s in services]
            for category, total in whole.items():
                taken = sum(part.get(category, 0) for part in parts)
                assert total - taken == 0 or total - taken >= k, (seed, period, category)
            for part in (whole, *parts):
                assert all(value >= k for value in part.values())
        quarter = shown(Q4, None)
        by_month = [shown(m, None) for m in months]
        for category, total in quarter.items():
            taken = sum(month.get(category, 0) for month in by_month)
            assert total - taken == 0 or total - taken >= k, (seed, category)


def test_counts_plan_month_atoms_and_show_what_day_atoms_would(
    categoriser: Categoriser, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A month (or week piece) is the finest unit a plan places, so the counts fold the days
    of a cell into its month before planning: a year is 12 atoms a cell, not 365. The figures
    are those of the plans over single days, for every scope and period."""
    services = ("s1", "s2", "s3")
    categories = [*[c for c in categoriser.ids if c != OTHER][:3], OTHER]
    planned: list[set[date]] = []
    monthly: list[date] = []  # the atoms' days planned for whole months, weeks not shown
    real_plan = disclosure.plan

    def spied(period: Period, sizes: Mapping[Atom, int], k: int, *, weekly: bool = False) -> Plan:
        planned.append({atom[0] for atom in sizes})
        return real_plan(period, sizes, k, weekly=weekly)

    for seed in range(40):
        rng = random.Random(seed)
        by_response: dict[uuid.UUID, tuple[Atom, frozenset[str]]] = {}
        for _ in range(rng.randint(5, 80)):
            day = date(2026, rng.choice((10, 11, 12)), rng.randint(1, 30))
            cell = (rng.choice(services), rng.choice(("c1", "c2")), None)
            chosen = frozenset(rng.sample(categories, rng.choice((1, 1, 2))))
            by_response[uuid.uuid4()] = ((day, cell), chosen)
        for period, scope, weekly in product(
            (OCTOBER, Q4, Period(date(2026, 10, 5), date(2026, 10, 18))),
            (Scope(), Scope(service="s1"), Scope(channel="c2")),
            (False, True),
        ):

            def counted(
                by_response: dict[uuid.UUID, tuple[Atom, frozenset[str]]] = by_response,
                period: Period = period,
                scope: Scope = scope,
                weekly: bool = weekly,
            ) -> OpenAnswerCounts:
                return count_categories(
                    by_response,
                    categoriser,
                    period=period,
                    scope=scope,
                    threshold=4,
                    published=True,
                    weekly=weekly,
                )

            monkeypatch.setattr(open_answers, "plan", spied)
            folded = counted()
            if not weekly and period in (OCTOBER, Q4):
                monthly.extend(day for days in planned for day in days)
            planned.clear()
            monkeypatch.setattr(open_answers, "_coarsener", lambda period, weekly: lambda a: a)
            monkeypatch.setattr(open_answers, "plan", real_plan)
            assert counted() == folded, (seed, period, scope, weekly)
            monkeypatch.undo()
    assert monthly and all(day.day == 1 for day in monthly)


async def test_re_tags_are_read_from_the_tags_not_from_the_periods_responses(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    """Not a timing: the plan. A join read every response of the period to find the few
    re-tagged answers (most of a /report's time over a million answers)."""
    from sqlalchemy import event

    captured: list[tuple[str, Any]] = []
    engine = sessions.kw["bind"]
    if engine.dialect.name != "sqlite":
        pytest.skip("SQLite's plan")

    def capture(*args: Any) -> None:
        captured.append((args[2], args[3]))

    event.listen(engine.sync_engine, "before_cursor_execute", capture)
    try:
        await OpenAnswerStore(sessions).tags(audience="external", start=Q4.start, end=Q4.end)
    finally:
        event.remove(engine.sync_engine, "before_cursor_execute", capture)
    [(statement, parameters)] = [item for item in captured if "open_answer_tags" in item[0]]
    async with engine.connect() as connection:
        result = await connection.exec_driver_sql("EXPLAIN QUERY PLAN " + statement, parameters)
        plan = [str(step[3]) for step in result]
    assert plan[0] == "SCAN open_answer_tags", plan
    assert all("PRIMARY KEY" in step for step in plan if step.startswith("SEARCH")), plan


async def _october_statements(
    sessions: async_sessionmaker[AsyncSession], responses: Responses, read: str
) -> list[tuple[str, Any]]:
    """The statements (with their parameters) that ``OpenAnswerStore.<read>`` of October's
    seeded external answers runs; it finds the 12 answers with a text."""
    from sqlalchemy import event

    await _seed_october(responses)
    captured: list[tuple[str, Any]] = []
    engine = sessions.kw["bind"]

    def capture(*args: Any) -> None:
        captured.append((args[2], args[3]))

    event.listen(engine.sync_engine, "before_cursor_execute", capture)
    try:
        found = await getattr(OpenAnswerStore(sessions), read)(
            audience="external",
            start=OCTOBER.start,
            end=OCTOBER.end,
            comment_questions=SITUATION_ROLES.comments,
        )
    finally:
        event.remove(engine.sync_engine, "before_cursor_execute", capture)
    assert len(found) == 12
    return captured


async def test_texts_are_read_from_the_copies_with_a_text_then_by_answer_id(
    sessions: async_sessionmaker[AsyncSession], responses: Responses
) -> None:
    """Not a timing: the plan (issue 15 item 3). Read from the responses, every answer of the
    period was read to find the few per cent with a text (~4 s of a /report over a million
    answers); now the period's range of the copies' partial index of answers with a text, then
    each text by its answer's id."""
    engine = sessions.kw["bind"]
    captured = await _october_statements(sessions, responses, "answers")
    [(statement, parameters)] = [item for item in captured if "answers" in item[0]]
    async with engine.connect() as connection:
        if engine.dialect.name == "sqlite":
            result = await connection.exec_driver_sql(
                "EXPLAIN QUERY PLAN " + statement, parameters
            )
            plan = [str(step[3]) for step in result]
            assert plan == [
                "SEARCH report_answers USING COVERING INDEX ix_report_answers_texts"
                " (audience=? AND submitted_on>? AND submitted_on<?)",
                "SEARCH answers USING PRIMARY KEY (id=?)",
            ], plan
        else:
            # PostgreSQL's choice depends on its statistics: the partial index must at least
            # be one it can use for the statement (its condition implied by the WHERE).
            await connection.exec_driver_sql("SET LOCAL enable_seqscan = off")
            await connection.exec_driver_sql("SET LOCAL enable_bitmapscan = off")
            result = await connection.exec_driver_sql("EXPLAIN " + statement, parameters)
            plan = [str(step[0]) for step in result]
            assert any("ix_report_answers_texts" in step for step in plan), plan


async def test_the_open_answers_keys_are_one_range_of_the_texts_index_alone(
    sessions: async_sessionmaker[AsyncSession], responses: Responses
) -> None:
    """Not a timing: the plan (issue 15 item 3). The keys the counting reads (responses,
    answers, days, cells) are all in the partial index of answers with a text since revision
    0035: without the front and the flag in it SQLite looked each row up in the table (35,000
    random reads of a half-year at 1M answers, most of a warm /report)."""
    engine = sessions.kw["bind"]
    captured = await _october_statements(sessions, responses, "answer_keys")
    [(statement, parameters)] = [item for item in captured if "report_answers" in item[0]]
    async with engine.connect() as connection:
        if engine.dialect.name == "sqlite":
            result = await connection.exec_driver_sql(
                "EXPLAIN QUERY PLAN " + statement, parameters
            )
            plan = [str(step[3]) for step in result]
            assert plan == [
                "SEARCH report_answers USING COVERING INDEX ix_report_answers_texts"
                " (audience=? AND submitted_on>? AND submitted_on<?)",
            ], plan
        else:
            # The statistics decide PostgreSQL's plan: an index-only scan must be possible.
            await connection.exec_driver_sql("SET LOCAL enable_seqscan = off")
            await connection.exec_driver_sql("SET LOCAL enable_bitmapscan = off")
            await connection.exec_driver_sql("SET LOCAL enable_indexscan = off")
            result = await connection.exec_driver_sql("EXPLAIN " + statement, parameters)
            plan = [str(step[0]) for step in result]
            assert any("Index Only Scan using ix_report_answers_texts" in s for s in plan), plan


async def test_web_answers_too_few_for_a_web_block_are_not_in_a_situations_score_as_a_whole(
    sessions: async_sessionmaker[AsyncSession], responses: Responses, categoriser: Categoriser
) -> None:
    """Review of 30 November: the life situation's plan keeps the web apart like the report's:
    six Telegram answers are shown, two web answers beside them are counted nowhere."""
    for day, score in zip(range(1, 7), (5, 4, 4, 3, 5, 2), strict=True):
        await responses.add(
            date(2026, 10, day),
            4,
            life_situation="license",
            extra=(AnswerRow("whole", number=score),),
        )
    for day in (8, 9):
        await responses.add(
            date(2026, 10, day),
            4,
            life_situation="license",
            extra=(AnswerRow("whole", number=1),),
            front=Front.WEB,
        )
    reporting, service = build(sessions, categoriser)
    report = await reporting.report(OCTOBER, Scope())
    rows = {row.code: row for row in await service.situations(report)}
    whole = rows["license"].as_a_whole
    assert not whole.suppressed and whole.n == 6 and whole.mean == 23 / 6
    assert rows["license"].overall.n == 6  # the report's group: the same six


def test_issue15_counting_finds_each_days_month_once(
    categoriser: Categoriser, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A half-year's open answers are tens of thousands of responses on at most 184 days: the
    month of each day is found once, not once per response (a third of the counting's time)."""
    asked: list[date] = []

    def month_of(day: date) -> Period:
        asked.append(day)
        return periods.month_of(day)

    by_response: dict[uuid.UUID, tuple[Atom, frozenset[str]]] = {
        uuid.uuid4(): ((date(2026, 10, 1 + i % 3), ("s1", "c1", None)), frozenset({OTHER}))
        for i in range(60)
    }
    monkeypatch.setattr(open_answers, "month_of", month_of)
    counts = count_categories(
        by_response, categoriser, period=Q4, scope=Scope(), threshold=4, published=True
    )
    assert sorted(asked) == [date(2026, 10, 1), date(2026, 10, 2), date(2026, 10, 3)]
    assert counts.respondents == 60
    assert [(row.category, row.respondents) for row in counts.categories] == [(OTHER, 60)]


@pytest.mark.parametrize("pooled", [False, True])
def test_counts_leave_out_the_web_answers_their_plan_drops(
    categoriser: Categoriser, pooled: bool
) -> None:
    """6 Telegram respondents and 2 web ones wrote about the same category: with the web kept
    apart (the default) the 2 join no web block of k and count in no figure, the total
    included, as in the report; with the web pooled with the messengers all 8 count."""
    category = next(c for c in categoriser.ids if c != OTHER)
    day = date(2026, 10, 14)
    by_response: dict[uuid.UUID, tuple[Atom, frozenset[str]]] = {}
    for front, times in ((Front.TELEGRAM, 6), (Front.WEB, 2)):
        for _ in range(times):
            atom: Atom = (day, ("s1", "c1", None, front.value))
            by_response[uuid.uuid4()] = (atom, frozenset({category}))
    before = disclosure.web_pooled()
    disclosure.pool_web_with_messengers(pooled)
    try:
        counts = count_categories(
            by_response,
            categoriser,
            period=OCTOBER,
            scope=Scope(service="s1"),
            threshold=5,
            published=True,
        )
    finally:
        disclosure.pool_web_with_messengers(before)
    expected = 8 if pooled else 6
    assert counts.respondents == expected
    assert _shown(counts) == {category: expected}


async def test_texts_keep_response_ids_as_stored_and_answer_ids_as_uuids(
    sessions: async_sessionmaker[AsyncSession], responses: Responses
) -> None:
    """The response's id only groups a respondent's texts: it is not converted to a UUID per
    row (~6 µs each under load, issue 15), yet it groups exactly as the responses' ids; the
    answer's id, by which officers re-tag, is the answer's UUID."""
    import uuid

    from sqlalchemy import select

    from storage.models import Answer

    await _seed_october(responses)
    found = await OpenAnswerStore(sessions).answers(
        audience="external",
        start=OCTOBER.start,
        end=OCTOBER.end,
        comment_questions=SITUATION_ROLES.comments,
    )
    async with sessions() as session:
        rows = (await session.execute(select(Answer.id, Answer.response_id))).all()
    owner = {row[0]: row[1] for row in rows}
    assert found and all(isinstance(item.answer_id, uuid.UUID) for item in found)
    by_key: dict[object, set[uuid.UUID]] = {}
    for item in found:
        by_key.setdefault(item.response_id, set()).add(owner[item.answer_id])
    # One key per response, one response per key.
    assert all(len(owners) == 1 for owners in by_key.values())
    assert len(by_key) == len({owner[item.answer_id] for item in found})
    if sessions.kw["bind"].dialect.name == "sqlite":
        assert not any(isinstance(item.response_id, uuid.UUID) for item in found)
        # Nor the answer's id, until asked for (a re-tag): as stored, the same answer.
        assert not any(isinstance(item.answer_key, uuid.UUID) for item in found)
    assert all(item.answer_id.hex == str(item.answer_key).replace("-", "") for item in found)
