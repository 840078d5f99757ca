"""The reports' copy of the answers: written with each response, backfilled by revision 0015."""

from __future__ import annotations

import uuid
from datetime import date, timedelta

from sqlalchemy import Date, Uuid, column, delete, insert, select, table
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from questionnaires.results import CANNOT_RATE, AnswerRow, CompletedResponse, ResponseContext
from reports.periods import segment_of
from storage.models import Answer, Response
from storage.models_reporting import ReportAnswer
from storage.report_answers import month_start, segment_start
from storage.responses import ResponseStore
from tests.storage.conftest import ScratchDatabase

ANSWERS = (
    AnswerRow("overall", number=2),
    AnswerRow("obstacles", option_id="queue"),
    AnswerRow("obstacles", option_id="other", text="не работал сайт"),
    AnswerRow("comment", text="долго"),
)


def _response(day: date, *answers: AnswerRow, window: int | None = None) -> CompletedResponse:
    return CompletedResponse(
        questionnaire_id="post_service",
        questionnaire_version=3,
        kind="rating",
        audience="external",
        context=ResponseContext(service="passport", channel="mfc", life_situation="birth"),
        submitted_on=day,
        answers=answers,
        window_id=window,
        department="it" if window else None,
    )


def test_month_and_segment_starts_match_the_report_periods() -> None:
    day = date(2025, 1, 1)
    for offset in range(800):  # every weekday at every month edge, leap year included
        current = day + timedelta(days=offset)
        assert month_start(current) == current.replace(day=1)
        assert segment_start(current) == segment_of(current).start


async def _copies(sessions: async_sessionmaker[AsyncSession]) -> list[ReportAnswer]:
    async with sessions() as session:
        return list(await session.scalars(select(ReportAnswer)))


async def test_every_answer_is_copied_with_its_responses_day_and_context(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    store = ResponseStore(sessions)
    sunday = date(2026, 3, 1)  # a Sunday: its week piece starts on the 1st, not on a Monday
    await store.save(_response(sunday, *ANSWERS, window=7))
    await store.save(_response(date(2026, 3, 4), AnswerRow("overall", option_id=CANNOT_RATE)))

    async with sessions() as session:
        answers = {a.id: a for a in await session.scalars(select(Answer))}
        responses = {r.id: r for r in await session.scalars(select(Response))}
    copies = await _copies(sessions)
    assert {c.id for c in copies} == set(answers)
    for copy in copies:
        answer, response = answers[copy.id], responses[copy.response_id]
        assert answer.response_id == copy.response_id
        assert (copy.question_id, copy.option_id, copy.number) == (
            answer.question_id,
            answer.option_id,
            answer.number,
        )
        assert (
            copy.questionnaire_id,
            copy.audience,
            copy.service_code,
            copy.channel_code,
            copy.life_situation_code,
            copy.submitted_on,
            copy.window_id,
            copy.department,
        ) == (
            response.questionnaire_id,
            response.audience,
            response.service_code,
            response.channel_code,
            response.life_situation_code,
            response.submitted_on,
            response.window_id,
            response.department,
        )
        assert copy.month_on == response.submitted_on.replace(day=1)
        assert copy.segment_on == segment_of(response.submitted_on).start
        # Which answers have a text (revision 0030): the open answers are read by this flag.
        assert copy.has_text is (answer.text is not None)
    # The free text stays in answers only.
    assert not hasattr(ReportAnswer, "text")
    assert sum(copy.has_text for copy in copies) == 2
    by_day = {c.submitted_on: c.segment_on for c in copies}
    assert by_day[sunday] == sunday and by_day[date(2026, 3, 4)] == date(2026, 3, 2)


async def test_copies_go_with_their_response(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    store = ResponseStore(sessions)
    await store.save(_response(date(2026, 3, 4), *ANSWERS))
    await store.save(_response(date(2026, 3, 5), AnswerRow("overall", number=5)))
    async with sessions.begin() as session:
        await session.execute(delete(Response).where(Response.submitted_on == date(2026, 3, 4)))
    assert [(c.submitted_on, c.number) for c in await _copies(sessions)] == [(date(2026, 3, 5), 5)]


#: The tables as revision 0015 found and made them: the models have columns added since.
_RESPONSES_0011 = table(
    "responses",
    column("id", Uuid),
    column("questionnaire_id"),
    column("questionnaire_version"),
    column("kind"),
    column("audience"),
    column("service_code"),
    column("submitted_on", Date),
    column("window_id"),
)
_ANSWERS_0011 = table(
    "answers",
    column("id", Uuid),
    column("response_id", Uuid),
    column("question_id"),
    column("number"),
    column("text"),
)
_COPIES_0015 = table(
    "report_answers",
    column("id", Uuid),
    column("response_id", Uuid),
    column("question_id"),
    column("number"),
    column("service_code"),
    column("submitted_on", Date),
    column("month_on", Date),
    column("segment_on", Date),
    column("window_id"),
)


async def test_0015_copies_the_answers_already_stored(database: ScratchDatabase) -> None:
    await database.upgrade("0011")
    engine = database.engine()
    expected: set[tuple[uuid.UUID, uuid.UUID, str, int | None]] = set()
    try:
        days = [date(2026, 2, 28), date(2026, 3, 1), date(2026, 3, 2), date(2026, 12, 31)]
        async with engine.begin() as connection:
            for number, day in enumerate(days, start=1):
                response_id = uuid.uuid4()
                await connection.execute(
                    insert(_RESPONSES_0011).values(
                        id=response_id,
                        questionnaire_id="post_service",
                        questionnaire_version=1,
                        kind="rating",
                        audience="external",
                        service_code="passport",
                        submitted_on=day,
                        window_id=number,
                    )
                )
                for question, value, free_text in (
                    ("overall", number, None),
                    ("comment", None, "текст"),
                ):
                    answer_id = uuid.uuid4()
                    await connection.execute(
                        insert(_ANSWERS_0011).values(
                            id=answer_id,
                            response_id=response_id,
                            question_id=question,
                            number=value,
                            text=free_text,
                        )
                    )
                    expected.add((answer_id, response_id, question, value))
    finally:
        await engine.dispose()

    await database.upgrade("0015")
    engine = database.engine()
    try:
        async with engine.connect() as connection:
            copies = (await connection.execute(select(_COPIES_0015))).all()
    finally:
        await engine.dispose()
    assert {(c.id, c.response_id, c.question_id, c.number) for c in copies} == expected
    for copy in copies:
        assert copy.month_on == copy.submitted_on.replace(day=1)
        assert copy.segment_on == segment_of(copy.submitted_on).start
        assert copy.service_code == "passport" and copy.window_id is not None


async def test_the_hourly_reshuffle_keeps_the_copies_and_the_officers_re_tags(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    # Review: the PostgreSQL reshuffle deletes and rewrites recent responses; the answers'
    # re-tags (open_answer_tags, ON DELETE CASCADE) were not written back, so an officer's
    # confirmed re-tag of a comment from today or yesterday vanished within the hour.
    from storage.open_answers import OpenAnswerStore

    store = ResponseStore(sessions)
    await store.save(_response(date(2026, 3, 4), *ANSWERS))
    async with sessions() as session:
        comment = await session.scalar(select(Answer.id).where(Answer.question_id == "comment"))
    assert comment is not None
    tags = OpenAnswerStore(sessions)
    assert await tags.retag(comment, ["queue"])
    before = sorted((c.id, c.number) for c in await _copies(sessions))
    await store.reshuffle(date(2026, 3, 3))
    assert await tags.tags_of(comment) == {"queue"}
    assert sorted((c.id, c.number) for c in await _copies(sessions)) == before


async def test_every_copy_carries_its_responses_overall_score_written_with_it(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    # Issue 15 item 3 (revision 0031): the problems' mean overall score is read from the
    # option's own copy; "cannot rate" is 0 (answered, no score), no overall answer NULL.
    store = ResponseStore(sessions, overall={"post_service": "overall"})
    await store.save(_response(date(2026, 3, 2), *ANSWERS))
    await store.save(_response(date(2026, 3, 3), AnswerRow("overall", option_id=CANNOT_RATE)))
    await store.save(_response(date(2026, 3, 4), AnswerRow("obstacles", option_id="queue")))

    by_response: dict[uuid.UUID, set[tuple[int | None, bool]]] = {}
    for copy in await _copies(sessions):
        by_response.setdefault(copy.response_id, set()).add((copy.overall_score, copy.scored))
    assert sorted(by_response.values(), key=repr) == sorted(
        [{(2, True)}, {(0, True)}, {(None, True)}], key=repr
    )


async def test_copies_written_without_the_roles_wait_unscored_for_the_backfill(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    await ResponseStore(sessions).save(_response(date(2026, 3, 2), *ANSWERS))

    assert {(c.overall_score, c.scored) for c in await _copies(sessions)} == {(None, False)}
