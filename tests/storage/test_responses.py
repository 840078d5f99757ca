"""ResponseStore: one transaction per response, dedup claims, purge of expired keys."""

from __future__ import annotations

import asyncio
import uuid
from datetime import date, timedelta

import pytest
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlalchemy.orm import selectinload

from questionnaires.results import CANNOT_RATE, AnswerRow, CompletedResponse, ResponseContext
from storage.models import Answer, DedupKey, Response
from storage.responses import DedupClaim, ResponseStore

TODAY = date(2025, 3, 14)

EVERY_KIND_OF_ANSWER = (
    AnswerRow("overall", number=4),  # scale
    AnswerRow("nps", number=0),  # nps: zero is a value, not "missing"
    AnswerRow("politeness", option_id=CANNOT_RATE),  # scale, "cannot rate"
    AnswerRow("solved", option_id="partly"),  # single choice
    AnswerRow("obstacles", option_id="queue"),  # multiple choice: one row per option
    AnswerRow("obstacles", option_id="other", text="Не работал терминал"),  # … "other" + text
    AnswerRow("comment", text="Спасибо, всё быстро 👍\nВторая строка"),  # free text
)


def _response(
    *answers: AnswerRow, service: str | None = "passport", on: date = TODAY
) -> CompletedResponse:
    return CompletedResponse(
        questionnaire_id="post_service",
        questionnaire_version=3,
        kind="rating",
        audience="external",
        context=ResponseContext(service=service, channel="mfc", life_situation="birth"),
        submitted_on=on,
        answers=answers,
    )


def _claim(key: str = "a" * 64, expires_on: date = TODAY + timedelta(days=30)) -> DedupClaim:
    return DedupClaim(key=key, scope="rating", expires_on=expires_on)


async def _count(sessions: async_sessionmaker[AsyncSession], model: type) -> int:
    async with sessions() as session:
        return (await session.scalar(select(func.count()).select_from(model))) or 0


async def test_saved_response_reads_back_with_every_kind_of_answer(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    store = ResponseStore(sessions)

    assert await store.save(_response(*EVERY_KIND_OF_ANSWER)) is True

    async with sessions() as session:
        stored = (
            await session.scalars(select(Response).options(selectinload(Response.answers)))
        ).one()
    assert isinstance(stored.id, uuid.UUID) and stored.id.version == 4
    assert (stored.questionnaire_id, stored.questionnaire_version) == ("post_service", 3)
    assert (stored.kind, stored.audience) == ("rating", "external")
    assert (stored.service_code, stored.channel_code, stored.life_situation_code) == (
        "passport",
        "mfc",
        "birth",
    )
    assert stored.submitted_on == TODAY and type(stored.submitted_on) is date
    read_back = tuple(
        AnswerRow(a.question_id, option_id=a.option_id, number=a.number, text=a.text)
        for a in stored.answers
    )
    assert read_back == EVERY_KIND_OF_ANSWER


async def test_response_without_context_or_answers_is_stored(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    store = ResponseStore(sessions)
    response = CompletedResponse("staff", 1, "staff_poll", "internal", ResponseContext(), TODAY)

    assert await store.save(response) is True

    async with sessions() as session:
        stored = (await session.scalars(select(Response))).one()
    assert (stored.service_code, stored.channel_code, stored.life_situation_code) == (
        None,
        None,
        None,
    )
    assert await _count(sessions, Answer) == 0


async def test_second_claim_of_the_same_key_returns_false_and_stores_nothing(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    store = ResponseStore(sessions)

    assert await store.save(_response(AnswerRow("overall", number=5)), dedup=_claim()) is True
    assert await store.save(_response(AnswerRow("overall", number=1)), dedup=_claim()) is False

    assert await _count(sessions, Response) == 1
    async with sessions() as session:
        assert list(await session.scalars(select(Answer.number))) == [5]
        assert (await session.scalars(select(DedupKey))).one().key == "a" * 64


async def test_different_keys_are_independent_claims(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    store = ResponseStore(sessions)

    assert await store.save(_response(AnswerRow("overall", number=5)), dedup=_claim("a" * 64))
    assert await store.save(_response(AnswerRow("overall", number=4)), dedup=_claim("b" * 64))

    assert await _count(sessions, Response) == 2
    assert await _count(sessions, DedupKey) == 2


async def test_claim_still_holds_on_its_expiry_day(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    store = ResponseStore(sessions)
    await store.save(_response(AnswerRow("overall", number=5)), dedup=_claim(expires_on=TODAY))

    again = await store.save(_response(AnswerRow("overall", number=2)), dedup=_claim())

    assert again is False
    assert await _count(sessions, Response) == 1


async def test_expired_key_not_yet_purged_does_not_block_a_new_answer(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    store = ResponseStore(sessions)
    yesterday = TODAY - timedelta(days=1)
    await store.save(
        _response(AnswerRow("overall", number=5), on=yesterday - timedelta(days=30)),
        dedup=_claim(expires_on=yesterday),
    )

    renewed = _claim(expires_on=TODAY + timedelta(days=30))
    assert await store.save(_response(AnswerRow("overall", number=3)), dedup=renewed) is True

    assert await _count(sessions, Response) == 2
    async with sessions() as session:
        assert (await session.scalars(select(DedupKey))).one().expires_on == renewed.expires_on


async def test_concurrent_claims_of_one_key_store_exactly_one_response(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    store = ResponseStore(sessions)

    results = await asyncio.gather(
        *(store.save(_response(AnswerRow("overall", number=n)), dedup=_claim()) for n in (1, 5))
    )

    assert sorted(results) == [False, True]
    assert await _count(sessions, Response) == 1
    assert await _count(sessions, Answer) == 1


async def test_failing_answer_insert_rolls_back_the_response_and_the_claim(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    store = ResponseStore(sessions)
    broken = _response(
        AnswerRow("overall", number=4),
        AnswerRow("solved", option_id="yes"),
        AnswerRow("comment"),  # no value at all: violates ck_answers_has_value
        AnswerRow("contacts", option_id="2"),
    )

    with pytest.raises(IntegrityError):
        await store.save(broken, dedup=_claim())

    assert await _count(sessions, Response) == 0
    assert await _count(sessions, Answer) == 0
    assert await _count(sessions, DedupKey) == 0
    # The claim was rolled back with everything else, so the person can still answer.
    assert await store.save(_response(AnswerRow("overall", number=4)), dedup=_claim()) is True


async def test_purge_removes_only_keys_expired_before_today(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    store = ResponseStore(sessions)
    for key, expires_on in (
        ("1" * 64, TODAY - timedelta(days=400)),
        ("2" * 64, TODAY - timedelta(days=1)),
        ("3" * 64, TODAY),
        ("4" * 64, TODAY + timedelta(days=1)),
    ):
        await store.save(_response(AnswerRow("overall", number=5)), dedup=_claim(key, expires_on))

    assert await store.purge_expired_dedup_keys(TODAY) == 2
    assert await store.purge_expired_dedup_keys(TODAY) == 0

    async with sessions() as session:
        left = set(await session.scalars(select(DedupKey.key)))
    assert left == {"3" * 64, "4" * 64}
    assert await _count(sessions, Response) == 4  # purging keys never touches responses


@pytest.mark.parametrize("key", ["", "f" * 65])
def test_dedup_claim_with_an_impossible_key_is_rejected(key: str) -> None:
    with pytest.raises(ValueError, match="dedup key"):
        DedupClaim(key=key, scope="rating", expires_on=TODAY)
