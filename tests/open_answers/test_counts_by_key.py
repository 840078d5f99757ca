"""The category counts from each answer's remembered categories (issue 15 item 3) equal the
counts from the texts categorised again, re-tags included, on SQLite and PostgreSQL; a report
of a period already counted reads no text again, and its counts are reused while nothing they
are counted from changed."""

from __future__ import annotations

import random
from datetime import date
from typing import Any

import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

import services.open_answers as open_answers_service
from questionnaires.fronts import Front
from questionnaires.open_answers import Categoriser, CategoryFile, load_categories
from questionnaires.results import AnswerRow
from reports import disclosure
from reports.model import Period, Scope
from reports.open_answers import OpenAnswerCounts, categories_by_response, count_categories
from services.open_answers import OpenAnswersService
from storage.open_answers import OpenAnswerStore
from tests.open_answers.conftest import SITUATION_ROLES, Responses, build
from tests.reports.conftest import add_window

Q4 = Period(date(2026, 10, 1), date(2026, 12, 31))
NOVEMBER = Period(date(2026, 11, 1), date(2026, 11, 30))
WORDS = [
    "очередь",
    "долго",
    "ждали",
    "талон",
    "срок",
    "задержка",
    "непонятно",
    "информация",
    "грубо",
    "сотрудник",
    "спасибо",
    "портал",
    "ошибка",
    "окно",
    "вопрос",
    "сегодня",
    "опять",
]
SCOPES = [
    Scope(),
    Scope(service="s1"),
    Scope(service="s2"),
    Scope(channel="c2"),
    Scope(service="s1", channel="c1"),
]


def _text(rng: random.Random) -> str:
    return " ".join(rng.choice(WORDS) for _ in range(rng.randint(1, 4))) + f" {rng.randint(1, 9)}"


async def _seed(responses: Responses, rng: random.Random, count: int) -> None:
    for _ in range(count):
        extra: list[AnswerRow] = []
        if rng.random() < 0.2:  # an "other: …" follow-up, beside the comment or alone
            extra.append(AnswerRow("obstacles", option_id="other", text=_text(rng)))
        await responses.add(
            date(2026, rng.randint(10, 12), rng.randint(1, 28)),
            rng.randint(1, 5),
            service=rng.choice(["s1", "s2", "s3"]),
            channel=rng.choice(["c1", "c2"]),
            comment=_text(rng) if rng.random() < 0.85 else None,
            questionnaire=rng.choice(["rating", "rating", "deep"]),
            extra=extra,
            front=rng.choice([Front.TELEGRAM, Front.TELEGRAM, Front.MAX, Front.WEB]),
            window=1 if rng.random() < 0.05 else None,
        )


async def _old_counts(
    service: OpenAnswersService, store: OpenAnswerStore, period: Period, scope: Scope
) -> OpenAnswerCounts:
    """The counts as they were made before: every text read and categorised again."""
    answers = await store.answers(
        audience=scope.audience,
        start=period.start,
        end=period.end,
        comment_questions=SITUATION_ROLES.comments,
    )
    tags = await store.tags(audience=scope.audience, start=period.start, end=period.end)
    disclosure = service._reporting.disclosure
    return count_categories(
        categories_by_response(answers, tags, service.categoriser),
        service.categoriser,
        period=period,
        scope=scope,
        threshold=disclosure.comment_threshold(scope.audience),
        published=True,
        weekly=disclosure.weekly,
    )


async def _assert_same(service: OpenAnswersService, store: OpenAnswerStore) -> None:
    for period in (Q4, NOVEMBER):
        for scope in SCOPES:
            new = await service.counts(period, scope, published=True)
            assert new == await _old_counts(service, store, period, scope), (period, scope)


async def test_counts_by_remembered_categories_equal_the_texts_categorised_again(
    sessions: async_sessionmaker[AsyncSession], responses: Responses, categoriser: Categoriser
) -> None:
    rng = random.Random(15)
    await add_window(sessions, 1, "rating", date(2026, 10, 1), date(2026, 12, 31))
    await _seed(responses, rng, 160)
    _, service = build(sessions, categoriser, min_group=3)
    store = OpenAnswerStore(sessions)
    await _assert_same(service, store)  # nothing remembered yet
    shown = (await service.counts(Q4, Scope(), published=True)).categories
    assert sum(not row.suppressed for row in shown) >= 3  # the comparison compares figures
    await _assert_same(service, store)  # everything remembered
    # Re-tags override the remembered categories: to another category, to several, to
    # "other", to a category the file no longer has.
    answers = await store.answers(
        audience="external",
        start=Q4.start,
        end=Q4.end,
        comment_questions=SITUATION_ROLES.comments,
    )
    choices: list[set[str]] = [{"queue"}, {"terms", "information"}, {"other"}, {"gone"}]
    for answer in rng.sample(answers, 30):
        assert await store.retag(answer.answer_id, rng.choice(choices))
    await _assert_same(service, store)
    # New answers are read and categorised; the remembered ones still count.
    await _seed(responses, rng, 40)
    await _assert_same(service, store)
    # Another categoriser: nothing remembered under the old one counts.
    service.categoriser = _without_queue(categoriser)
    await _assert_same(service, store)
    assert not any(
        row.category == "queue"
        for row in (await service.counts(Q4, Scope(), published=True)).categories
    )


def _without_queue(categoriser: Categoriser) -> Categoriser:
    kept = tuple(c for c in categoriser.file.categories if c.id != "queue")
    return Categoriser.of(CategoryFile(version=categoriser.file.version, categories=kept))


async def test_a_period_already_counted_reads_no_text_again(
    sessions: async_sessionmaker[AsyncSession], responses: Responses
) -> None:
    from sqlalchemy import event

    await _seed(responses, random.Random(3), 40)
    _, service = build(sessions, load_categories())
    engine = sessions.kw["bind"]
    statements: list[str] = []

    def capture(*args: Any) -> None:
        statements.append(args[2])

    event.listen(engine.sync_engine, "before_cursor_execute", capture)
    try:
        first = await service.counts(Q4, Scope(), published=True)
        read = [s for s in statements if "answers.text" in s]
        statements.clear()
        again = await service.counts(Q4, Scope(), published=True)
        warm = [s for s in statements if "answers.text" in s]
        service.forget()
        statements.clear()
        await service.counts(Q4, Scope(), published=True)
        forgotten = [s for s in statements if "answers.text" in s]
    finally:
        event.remove(engine.sync_engine, "before_cursor_execute", capture)
    assert first == again
    assert read and not warm
    assert forgotten  # forget() drops them: read again


async def test_counts_are_reused_only_for_the_same_inputs(
    sessions: async_sessionmaker[AsyncSession],
    responses: Responses,
    categoriser: Categoriser,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A report counted again with nothing changed reuses its counts (no categorising, no
    plan: at 1M answers the plans of every category cost more than the read, issue 15); a
    new answer, a re-tag, another categoriser, another language or the web counted another
    way counts again, with the figures of the texts categorised again."""
    rng = random.Random(36)
    await _seed(responses, rng, 120)
    _, service = build(sessions, categoriser, min_group=3)
    store = OpenAnswerStore(sessions)
    counted: list[Period] = []

    def counting(by_response: Any, categoriser: Categoriser, **kwargs: Any) -> OpenAnswerCounts:
        counted.append(kwargs["period"])
        return count_categories(by_response, categoriser, **kwargs)

    monkeypatch.setattr(open_answers_service, "count_categories", counting)

    async def check(expected_counts: int) -> None:
        assert await service.counts(Q4, Scope(), published=True) == await _old_counts(
            service, store, Q4, Scope()
        )
        assert len(counted) == expected_counts

    await check(1)
    await check(1)  # reused
    await service.counts(Q4, Scope(), published=True, language="en")
    assert len(counted) == 2  # the titles differ
    await check(2)  # the Russian counts are still kept beside the English
    one = Scope(service="s1")
    first = await service.counts(Q4, one, published=True)
    assert first == await service.counts(Q4, one, published=True)
    assert first == await _old_counts(service, store, Q4, one)
    assert len(counted) == 3  # another scope: counted once, then kept beside the others
    await service.counts(NOVEMBER, Scope(), published=True)
    assert len(counted) == 4  # another period
    counted.clear()
    await check(0)  # kept beside the other period's
    await _seed(responses, rng, 5)  # late answers
    await check(1)
    answers = await store.answers(
        audience="external", start=Q4.start, end=Q4.end, comment_questions=SITUATION_ROLES.comments
    )
    assert await store.retag(answers[0].answer_id, {"terms"})
    await check(2)
    await check(2)
    assert await store.retag(answers[0].answer_id, ())  # back to the keywords' categories
    await check(3)
    service.categoriser = _without_queue(categoriser)
    await check(4)
    before = disclosure.web_pooled()
    disclosure.pool_web_with_messengers(not before)
    try:
        await check(5)
    finally:
        disclosure.pool_web_with_messengers(before)
    await check(6)
    service.forget()
    await check(7)


async def test_a_warm_count_reads_the_days_not_the_answers_and_a_deleted_answer_counts_again(
    sessions: async_sessionmaker[AsyncSession], responses: Responses, categoriser: Categoriser
) -> None:
    """Issue 15: a period counted before is checked by its open answers per day (a few hundred
    rows), not by reading its 35,000 answers' keys again; a deleted answer changes its day's
    number, so the counts are counted again, as after a late answer."""
    import uuid

    from sqlalchemy import delete, event

    from storage.models import Response

    await _seed(responses, random.Random(41), 120)
    _, service = build(sessions, categoriser, min_group=3)
    store = OpenAnswerStore(sessions)
    engine = sessions.kw["bind"]
    statements: list[str] = []

    def capture(*args: Any) -> None:
        statements.append(args[2])

    def keys_read() -> list[str]:
        return [
            s
            for s in statements
            if "FROM report_answers" in s and "GROUP BY" not in s and "open_answer_tags" not in s
        ]

    first = await service.counts(Q4, Scope(), published=True)
    assert first == await _old_counts(service, store, Q4, Scope())
    event.listen(engine.sync_engine, "before_cursor_execute", capture)
    try:
        assert await service.counts(Q4, Scope(), published=True) == first
        assert not keys_read()  # warm: the days only
        assert any("GROUP BY" in s for s in statements)
        # A respondent's answers go (a response deleted, its copies with it).
        [gone, *_] = await store.answers(
            audience="external",
            start=Q4.start,
            end=Q4.end,
            comment_questions=SITUATION_ROLES.comments,
        )
        async with sessions.begin() as session:
            await session.execute(
                delete(Response).where(Response.id == uuid.UUID(str(gone.response_id)))
            )
        statements.clear()
        after = await service.counts(Q4, Scope(), published=True)
        assert keys_read()  # read again
    finally:
        event.remove(engine.sync_engine, "before_cursor_execute", capture)
    assert after == await _old_counts(service, store, Q4, Scope())
    assert after.respondents == first.respondents - 1
