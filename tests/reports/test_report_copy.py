"""The report queries read the reports' copy of the answers (storage.models_reporting): on
random data their figures equal a plain reference computed from ``responses`` and ``answers``."""

from __future__ import annotations

import asyncio
import random
from collections import Counter
from collections.abc import Callable
from dataclasses import replace
from datetime import date, timedelta

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from questionnaires.fronts import Front
from questionnaires.results import CANNOT_RATE, AnswerRow, CompletedResponse, ResponseContext
from reports import metrics
from reports.disclosure import Atom, plan
from reports.model import Nps, Period, QuestionnaireRoles, Scope
from reports.periods import month_of, segment_of
from storage.report_scores import any_unscored, score_unscored
from storage.responses import ResponseStore
from tests.reports.conftest import ROLES

#: The same roles with a different overall question per questionnaire: the CASE branch.
MIXED_ROLES = replace(
    ROLES, overall={"rating": "overall", "deep": "deep_overall", "staff": "overall"}
)
SPAN = Period(date(2026, 1, 1), date(2026, 6, 30))
#: The questionnaires of the folder (_random_responses draws from them).
SERVED = frozenset({"rating", "deep", "staff"})
#: questionnaire, audience, cell, day, question, option, number, response id
Cell = tuple[str | None, ...]  # service, channel, life situation, front (issue 13)
Stored = tuple[str, str, Cell, date, str, str | None, int | None, str]


def _random_responses(rnd: random.Random, roles: QuestionnaireRoles) -> list[CompletedResponse]:
    made: list[CompletedResponse] = []
    for _ in range(400):
        questionnaire = rnd.choice(["rating", "rating", "deep", "staff"])
        overall = roles.overall[questionnaire]
        answers: list[AnswerRow] = []
        roll = rnd.random()
        if roll < 0.8:
            answers.append(AnswerRow(overall, number=rnd.randint(1, 5)))
        elif roll < 0.9:
            answers.append(AnswerRow(overall, option_id=CANNOT_RATE))
        if questionnaire in roles.problems:
            for option in rnd.sample(["queue", "rude", "slow", "other"], rnd.randint(0, 2)):
                answers.append(AnswerRow(roles.problems[questionnaire], option_id=option))
        if questionnaire == "deep" and rnd.random() < 0.7:
            answers.append(AnswerRow("recommend", number=rnd.randint(0, 10)))
        answers.append(AnswerRow("solved", option_id=rnd.choice(["yes", "no"])))
        if rnd.random() < 0.3:
            answers.append(AnswerRow("comment", text="текст"))
        made.append(
            CompletedResponse(
                questionnaire_id=questionnaire,
                questionnaire_version=1,
                kind=questionnaire,
                audience=roles.audiences[questionnaire],
                context=ResponseContext(
                    rnd.choice(["s1", "s2", None]),
                    rnd.choice(["c1", "c2", None]),
                    rnd.choice(["l1", None]),
                ),
                # A few days outside the span: they must be left out.
                submitted_on=date(2025, 12, 20) + timedelta(days=rnd.randrange(200)),
                answers=tuple(answers),
                front=rnd.choice(list(Front)),
            )
        )
    return made


async def _stored(sessions: async_sessionmaker[AsyncSession]) -> list[Stored]:
    async with sessions() as session:
        rows = await session.execute(
            text(
                "SELECT r.questionnaire_id, r.audience, r.service_code, r.channel_code,"
                " r.life_situation_code, r.submitted_on, a.question_id, a.option_id, a.number,"
                " r.id, r.front FROM responses r JOIN answers a ON a.response_id = r.id"
            )
        )
        return [
            (
                str(row[0]),
                str(row[1]),
                (row[2], row[3], row[4], str(row[10])),
                row[5] if isinstance(row[5], date) else date.fromisoformat(str(row[5])),
                str(row[6]),
                row[7],
                row[8],
                str(row[9]),
            )
            for row in rows
        ]


Grain = metrics.Grain
STARTS: dict[str, Callable[[date], date]] = {
    "day": lambda day: day,
    "segment": lambda day: segment_of(day).start,
    "month": lambda day: month_of(day).start,
}


def _atom(day: date, cell: Cell, span: Period, grain: str) -> Atom:
    return (max(STARTS[grain](day), span.start), cell)


def _expected_atoms(
    stored: list[Stored], roles: QuestionnaireRoles, audience: str, span: Period, grain: str
) -> tuple[dict[Atom, tuple[list[int], int]], dict[Atom, int]]:
    counts: dict[Atom, tuple[list[int], int]] = {}
    base: Counter[Atom] = Counter()
    for questionnaire, aud, cell, day, question, option, number, _ in stored:
        if aud != audience or not span.start <= day <= span.end:
            continue
        if roles.overall.get(questionnaire) != question:
            continue
        atom = _atom(day, cell, span, grain)
        scores, cannot = counts.get(atom, ([0] * 5, 0))
        if number is not None and 1 <= number <= 5:
            scores[number - 1] += 1
        if option == CANNOT_RATE:
            cannot += 1
        counts[atom] = (scores, cannot)
        if questionnaire in roles.problems:
            base[atom] += 1
    kept = {atom: value for atom, value in counts.items() if sum(value[0]) + value[1]}
    return kept, {atom: base[atom] for atom in kept}


def _expected_problems(
    stored: list[Stored],
    roles: QuestionnaireRoles,
    audience: str,
    period: Period,
    grain: str,
    threshold: int,
) -> dict[tuple[str, str, Atom], tuple[int, int, int, int]]:
    by_response: dict[str, list[Stored]] = {}
    for row in stored:
        by_response.setdefault(row[7], []).append(row)
    found: dict[tuple[str, str, Atom], tuple[int, int, int, int]] = {}
    for rows in by_response.values():
        questionnaire, aud, cell, day = rows[0][:4]
        if aud != audience or not period.start <= day <= period.end:
            continue
        if questionnaire not in roles.problems:
            continue
        overall = [r for r in rows if r[4] == roles.overall.get(questionnaire)]
        for row in rows:
            if row[4] != roles.problems[questionnaire] or row[5] is None:
                continue
            for score in overall:
                key = (row[4], str(row[5]), _atom(day, cell, period, grain))
                n, scored, total, negative = found.get(key, (0, 0, 0, 0))
                number = score[6]
                good = number is not None and 1 <= number <= 5
                found[key] = (
                    n + 1,
                    scored + good,
                    total + (number if good and number is not None else 0),
                    negative + (number is not None and 1 <= number <= threshold),
                )
    return found


def _expected_nps(
    stored: list[Stored], roles: QuestionnaireRoles, scope: Scope, period: Period, grain: str
) -> Nps | None:
    if not roles.nps:
        return None
    counts: dict[Atom, list[int]] = {}
    for questionnaire, aud, cell, day, question, _, number, _ in stored:
        if aud != scope.audience or not period.start <= day <= period.end or number is None:
            continue
        if roles.nps.get(questionnaire) != question:
            continue
        bucket = counts.setdefault(_atom(day, cell, period, grain), [0, 0, 0])
        bucket[0 if number >= 9 else 1 if number >= 7 else 2] += 1
    nps_plan = plan(period, {atom: sum(c) for atom, c in counts.items()}, 3)
    members = [atom for atom in counts if scope.service is None or atom[1][0] == scope.service]
    promoters, passives, detractors = (sum(counts[a][i] for a in members) for i in range(3))
    n = promoters + passives + detractors
    if n < 3 or not nps_plan.publishable(members):
        return Nps(n=0, suppressed=True)
    return Nps(n, promoters, passives, detractors)


@pytest.mark.parametrize(
    "roles", [ROLES, MIXED_ROLES], ids=["one overall id", "overall per questionnaire"]
)
@pytest.mark.parametrize(
    "scoring", ["written", "unscored", "backfilled", "folder lacks staff", "folder fixed"]
)
async def test_report_queries_on_the_copy_equal_the_reference_on_random_data(
    sessions: async_sessionmaker[AsyncSession], roles: QuestionnaireRoles, scoring: str
) -> None:
    # Issue 15 item 3: the copies carry each response's overall score, written with the
    # response, or (copies from before revision 0031) left unscored, when the problems read
    # the overall answers from ``answers``, until the start-up backfill scores them.
    # A start whose folder lacks a questionnaire ("staff") leaves its copies unscored (not
    # scored with no score), so the reports keep the fallback until a start with it fixed.
    rnd = random.Random(15)
    store = ResponseStore(sessions, overall=roles.overall if scoring == "written" else None)
    made = _random_responses(rnd, roles)
    # Saved side by side: they share group commits, as under load.
    await asyncio.gather(*(store.save(response) for response in made))
    staff = sum(response.questionnaire_id == "staff" for response in made)
    assert 0 < staff < 400
    if scoring == "backfilled":
        # Small batches: the loop over them is exercised too.
        assert await score_unscored(sessions, roles.overall, served=SERVED, batch=7) == 400
    elif scoring in ("folder lacks staff", "folder fixed"):
        lacking = {q: o for q, o in roles.overall.items() if q != "staff"}
        assert await score_unscored(sessions, lacking, served=set(lacking), batch=7) == 400 - staff
        if scoring == "folder fixed":
            assert await score_unscored(sessions, roles.overall, served=SERVED, batch=7) == staff
    async with sessions() as session:
        assert await any_unscored(session) is (scoring in ("unscored", "folder lacks staff"))
    stored = await _stored(sessions)

    for grain in ("day", "segment", "month"):
        for audience in ("external", "internal"):
            async with sessions() as session:
                atoms = await metrics._atoms(session, roles, audience, SPAN, grain)
                named = await metrics._problems(session, roles, audience, SPAN, 2, grain)
                nps = await metrics._nps(
                    session, roles, Scope(audience=audience), SPAN, 3, False, grain
                )
            counts, base = _expected_atoms(stored, roles, audience, SPAN, grain)
            assert {a: (c.by_score, c.cannot_rate) for a, c in atoms.counts.items()} == counts
            assert atoms.problem_base == base
            assert {
                (item.question_id, item.option_id, item.atom): (
                    item.respondents,
                    item.scored,
                    item.score_sum,
                    item.negative,
                )
                for item in named
            } == _expected_problems(stored, roles, audience, SPAN, grain, 2)
            expected_nps = _expected_nps(stored, roles, Scope(audience=audience), SPAN, grain)
            assert nps == (expected_nps if audience == "external" else None)
    assert any(count for count in counts)  # the data was not empty
