"""One answer per person and window across processes (issue 14, the known gap): two service
stacks, each with its own engine, share PostgreSQL and Redis as two workers do. A person who
completed a window on one is refused on the other at once, before any batch of participation
keys reaches the database, and a race of two completions stores exactly one response."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Callable
from datetime import UTC, date, datetime

import pytest
from redis.asyncio import Redis

from questionnaires.campaigns import CampaignFile, Verdict
from questionnaires.schema import Questionnaire
from scheduler.calendar import ProductionCalendar
from storage.campaigns import CampaignStore
from storage.database import create_session_factory
from storage.participation_redis import WORKING_TTL, RedisParticipationClaims
from tests.campaigns.conftest import CampaignWorld, build_world, complete, local
from tests.storage.conftest import ScratchDatabase
from tests.storage.test_fsm_redis import redis  # noqa: F401  (fixture)

pytestmark = [pytest.mark.redis, pytest.mark.postgres]

Worlds = Callable[[RedisParticipationClaims | None], CampaignWorld]


@pytest.fixture
def prefix() -> str:
    return f"otklik-test-participation-{uuid.uuid4().hex[:12]}"


@pytest.fixture
async def claims_of(
    redis: Redis,  # noqa: F811
    prefix: str,
) -> AsyncIterator[Callable[[], RedisParticipationClaims]]:
    """Claims under a prefix private to the test (other runs share the Redis database)."""
    yield lambda: RedisParticipationClaims(redis, prefix=prefix)
    names = [name async for name in redis.scan_iter(f"{prefix}:*")]
    if names:
        await redis.delete(*names)


@pytest.fixture
async def workers(
    database: ScratchDatabase,
    questionnaires: dict[str, Questionnaire],
    calendar: ProductionCalendar,
    campaign_file: CampaignFile,
) -> AsyncIterator[Worlds]:
    """Service stacks on one migrated database, each with an engine (a process) of its own."""
    await database.upgrade("head")
    engines = []

    def world(claims: RedisParticipationClaims | None) -> CampaignWorld:
        engine = database.engine()
        engines.append(engine)
        return build_world(
            engine,
            create_session_factory(engine),
            questionnaires,
            calendar,
            campaign_file,
            start=local(2026, 4, 27, 9, 0),
            claims=claims,
        )

    yield world
    for engine in engines:
        await engine.dispose()


postgres_only = pytest.mark.parametrize("database", ["postgresql"], indirect=True)


async def _open(one: CampaignWorld, two: CampaignWorld) -> int:
    await one.tick(local(2026, 4, 27, 9, 0))
    two.clock[0] = one.clock[0]
    [window] = await one.service.open_windows("external")
    return window.id


@postgres_only
async def test_a_second_completion_on_another_worker_is_refused_and_one_response_stored(
    workers: Worlds,
    claims_of: Callable[[], RedisParticipationClaims],
    questionnaires: dict[str, Questionnaire],
) -> None:
    one, two = workers(claims_of()), workers(claims_of())
    window_id = await _open(one, two)
    deep = questionnaires["deep_external"]
    # Both workers let the person start (neither has seen an answer yet).
    assert await one.service.may_answer(window_id, 4242) == Verdict.OK
    assert await two.service.may_answer(window_id, 4242) == Verdict.OK
    assert await one.service.store_answer(window_id, 4242, complete(deep)) == Verdict.OK
    # No batch has reached the database: the key waits in the first worker's memory only.
    assert await one.rows("dedup_keys") == []
    # The other worker refuses a new start and a completion with the same verdict (the same
    # "already answered" message of handlers.texts).
    assert await two.service.may_answer(window_id, 4242) == Verdict.ALREADY_ANSWERED
    assert await two.service.store_answer(window_id, 4242, complete(deep)) == (
        Verdict.ALREADY_ANSWERED
    )
    assert await two.service.store_answer(window_id, 4343, complete(deep)) == Verdict.OK
    assert len(await one.rows("responses")) == 2


@postgres_only
async def test_without_shared_claims_the_other_worker_would_store_a_second_answer(
    workers: Worlds, questionnaires: dict[str, Questionnaire]
) -> None:
    """The gap itself (one process's memory), so the test above proves the claims close it."""
    one, two = workers(None), workers(None)
    window_id = await _open(one, two)
    deep = questionnaires["deep_external"]
    assert await one.service.store_answer(window_id, 4242, complete(deep)) == Verdict.OK
    assert await two.service.store_answer(window_id, 4242, complete(deep)) == Verdict.OK
    assert len(await one.rows("responses")) == 2


@postgres_only
async def test_two_completions_at_once_on_two_workers_store_exactly_one(
    workers: Worlds,
    claims_of: Callable[[], RedisParticipationClaims],
    questionnaires: dict[str, Questionnaire],
) -> None:
    one, two = workers(claims_of()), workers(claims_of())
    window_id = await _open(one, two)
    deep = questionnaires["deep_external"]
    for person in range(1, 21):
        verdicts = await asyncio.gather(
            one.service.store_answer(window_id, person, complete(deep)),
            two.service.store_answer(window_id, person, complete(deep)),
        )
        assert sorted(verdicts) == sorted([Verdict.OK, Verdict.ALREADY_ANSWERED])
    assert len(await one.rows("responses")) == 20


@postgres_only
async def test_a_response_not_stored_gives_its_claim_back(
    workers: Worlds,
    claims_of: Callable[[], RedisParticipationClaims],
    questionnaires: dict[str, Questionnaire],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The database failing after the claim: the person is not locked out, and may finish on
    any worker once it is back."""
    one, two = workers(claims_of()), workers(claims_of())
    window_id = await _open(one, two)
    deep = questionnaires["deep_external"]
    real = CampaignStore._store_answer
    failures = [ConnectionError("database down")]

    async def failing(self: CampaignStore, *args: object) -> Verdict:
        if failures:
            raise failures.pop()
        return await real(self, *args)  # type: ignore[arg-type]

    monkeypatch.setattr(CampaignStore, "_store_answer", failing)
    with pytest.raises(ConnectionError):
        await one.service.store_answer(window_id, 4242, complete(deep))
    assert await two.service.may_answer(window_id, 4242) == Verdict.OK
    assert await two.service.store_answer(window_id, 4242, complete(deep)) == Verdict.OK
    assert len(await one.rows("responses")) == 1


@postgres_only
async def test_closing_a_window_deletes_its_shared_keys_and_no_other(
    workers: Worlds,
    claims_of: Callable[[], RedisParticipationClaims],
    questionnaires: dict[str, Questionnaire],
    redis: Redis,  # noqa: F811
    prefix: str,
) -> None:
    one, two = workers(claims_of()), workers(claims_of())
    window_id = await _open(one, two)
    deep = questionnaires["deep_external"]
    assert await one.service.store_answer(window_id, 4242, complete(deep)) == Verdict.OK
    other = RedisParticipationClaims(redis, prefix=prefix)
    assert await other.claim(f"window:{window_id}7", "f" * 64)  # window 17 beside window 1
    names = [name async for name in redis.scan_iter(f"{prefix}:*")]
    assert len(names) == 2
    await one.tick(local(2026, 5, 13, 0, 0))  # the window closes
    remaining = [name async for name in redis.scan_iter(f"{prefix}:*")]
    assert remaining == [f"{prefix}:window:{window_id}7:{'f' * 64}".encode()]


async def test_claims_expire_quickly_until_confirmed_then_two_days_after_the_window(
    redis: Redis,  # noqa: F811
    claims_of: Callable[[], RedisParticipationClaims],
    prefix: str,
) -> None:
    """A worker killed between the claim and its commit frees the person within minutes; a
    confirmed key lasts to the end of its expiry day, and names no person."""
    now = datetime(2026, 4, 27, 12, 0, tzinfo=UTC)
    claims = RedisParticipationClaims(redis, prefix=prefix, now=lambda: now)
    key = "a" * 64
    assert await claims.claim("window:3", key)
    assert not await claims.claim("window:3", key)
    name = f"{prefix}:window:3:{key}"
    assert 0 < await redis.ttl(name) <= WORKING_TTL.total_seconds()
    await claims.confirm("window:3", key, date(2026, 5, 14))
    assert await redis.ttl(name) == pytest.approx(18 * 86400 - 12 * 3600, abs=5)
    assert await claims.held("window:3", key)
    await claims.release("window:3", key)
    assert not await claims.held("window:3", key)
