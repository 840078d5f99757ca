"""The life situations' atoms read from the reports' copy (issue 15): the same figures as read
from the responses, on random data of both databases; and the plan on SQLite."""

from __future__ import annotations

import random
from datetime import date, timedelta
from typing import Any

from sqlalchemy import and_, case, event, func, literal, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlalchemy.sql import ColumnElement

from questionnaires.fronts import Front
from questionnaires.results import CANNOT_RATE, AnswerRow
from reports.disclosure import Atom
from reports.metrics import (
    _answer_of,
    _audience_questionnaires,
    _calendar,
    _day,
    _scope_terms,
    _score_columns,
    situation_atoms,
)
from reports.model import Period, QuestionnaireRoles, Scope
from storage.models import Answer, Response
from tests.open_answers.conftest import SITUATION_ROLES
from tests.reports.conftest import Responses, add_window

QUARTER = Period(date(2026, 7, 1), date(2026, 9, 30))


async def _from_the_responses(
    sessions: async_sessionmaker[AsyncSession],
    roles: QuestionnaireRoles,
    audience: str,
    period: Period,
) -> dict[Atom, list[int]]:
    """The statement before issue 15's pass, kept as the reference: every response of the
    period, its answer to the situation question, and its choice of life situation."""
    questions = _audience_questionnaires(roles, roles.situation, audience)
    if not questions:
        return {}
    r = Response.__table__.alias("r")
    a = Answer.__table__.alias("a")
    c = Answer.__table__.alias("c")
    choices = [(r.c.questionnaire_id == q, literal(i)) for q, i in roles.situation_choice.items()]
    choice: ColumnElement[Any] = case(*choices, else_=literal(None)) if choices else literal(None)
    situation = func.coalesce(r.c.life_situation_code, c.c.option_id)
    dimensions = (r.c.submitted_on, r.c.service_code, r.c.channel_code, situation, r.c.front)
    joined = r.join(a, and_(a.c.response_id == r.c.id, _answer_of(r, a, questions))).outerjoin(
        c, and_(c.c.response_id == r.c.id, c.c.question_id == choice)
    )
    statement = (
        select(*dimensions, *_score_columns(a))
        .select_from(joined)
        .where(
            *_scope_terms(r, Scope(audience=audience), [period]),
            r.c.questionnaire_id.in_(questions),
            _calendar(r),
        )
        .group_by(*dimensions)
    )
    async with sessions() as session:
        rows = (await session.execute(statement)).all()
    return {
        (_day(row[0]), (row[1], row[2], row[3], row[4])): [int(v or 0) for v in row[5:]]
        for row in rows
    }


async def test_the_situations_atoms_from_the_copies_are_those_from_the_responses(
    sessions: async_sessionmaker[AsyncSession], responses: Responses
) -> None:
    await add_window(sessions, 7, "rating", date(2026, 8, 1), date(2026, 8, 10))
    rnd = random.Random(15)
    for _ in range(160):
        questionnaire = rnd.choice(["rating", "deep", "staff"])
        # Days around the quarter: before, inside, after.
        day = QUARTER.start + timedelta(days=rnd.randrange(-20, 110))
        extra: list[AnswerRow] = []
        if rnd.random() < 0.75:
            if rnd.random() < 0.15:
                extra.append(AnswerRow("whole", option_id=CANNOT_RATE))
            else:
                extra.append(AnswerRow("whole", number=rnd.randint(1, 5)))
        if questionnaire == "deep" and rnd.random() < 0.6:
            extra.append(AnswerRow("situation", option_id=rnd.choice(["buying", "license"])))
        await responses.add(
            day,
            rnd.randint(1, 5),
            questionnaire=questionnaire,
            service=rnd.choice(["s1", "s2", None]),
            channel=rnd.choice(["c1", None]),
            life_situation=rnd.choice(["license", "moving", None, None]),
            extra=extra,
            front=rnd.choice([Front.TELEGRAM, Front.MAX, Front.WEB]),
            window=7 if questionnaire == "rating" and rnd.random() < 0.1 else None,
        )
    for audience in ("external", "internal"):
        for period in (QUARTER, Period(date(2026, 8, 1), date(2026, 8, 31))):
            expected = await _from_the_responses(sessions, SITUATION_ROLES, audience, period)
            found = await situation_atoms(
                sessions, roles=SITUATION_ROLES, audience=audience, period=period
            )
            assert found == expected
            if audience == "external":
                # The data exercises every path: links' and chosen life situations, none.
                assert {atom[1][2] for atom in found} >= {"license", "moving", "buying", None}


async def test_the_situations_atoms_are_one_range_of_the_copies_breakdown_index(
    sessions: async_sessionmaker[AsyncSession], responses: Responses
) -> None:
    """Not a timing: the plan (issue 15). From the responses, every response of the period was
    looked up to find those that answered the situation question (0.3–0.5 s at 1M answers even
    when none did); now the copies' answers to it, the choice looked up by key."""
    engine = sessions.kw["bind"]
    if engine.dialect.name != "sqlite":
        return  # PostgreSQL's plan depends on its statistics
    await responses.add(QUARTER.start, 4, extra=(AnswerRow("whole", number=5),))
    captured: list[tuple[str, Any]] = []

    def capture(*args: Any) -> None:
        captured.append((args[2], args[3]))

    event.listen(engine.sync_engine, "before_cursor_execute", capture)
    try:
        found = await situation_atoms(
            sessions, roles=SITUATION_ROLES, audience="external", period=QUARTER
        )
    finally:
        event.remove(engine.sync_engine, "before_cursor_execute", capture)
    assert sum(sum(counts) for counts in found.values()) == 1
    [(statement, parameters)] = [item for item in captured if "GROUP BY" in item[0]]
    async with engine.connect() as connection:
        result = await connection.exec_driver_sql("EXPLAIN QUERY PLAN " + statement, parameters)
        plan = [str(step[3]) for step in result]
    assert plan[0].startswith(
        "SEARCH s USING COVERING INDEX ix_report_answers_groups (audience=? AND question_id=?"
    ), plan
    assert not any("responses" in step or step.startswith("SCAN") for step in plan), plan
