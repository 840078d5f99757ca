"""One answer per person and window across processes (issue 14, the known gap): two service
stacks, each with its own engine, share PostgreSQL and Redis as two workers do. A person who
completed a window on one is refused on the other at once, before any batch of participation
keys reaches the database, and a race of two completions stores exactly one response."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime, time, timedelta

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


@postgres_only
async def test_an_answer_committed_just_before_the_close_leaves_no_key_after_it(
    workers: Worlds,
    claims_of: Callable[[], RedisParticipationClaims],
    questionnaires: dict[str, Questionnaire],
    redis: Redis,  # noqa: F811
    prefix: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The answer's transaction commits, the window closes on another worker (its keys
    deleted), then the answering worker confirms its claim: the key is not recreated."""
    one, two = workers(claims_of()), workers(claims_of())
    window_id = await _open(one, two)
    deep = questionnaires["deep_external"]
    real = CampaignStore._store_answer
    closed: list[bool] = []

    async def closing_meanwhile(self: CampaignStore, *args: object) -> Verdict:
        verdict = await real(self, *args)  # type: ignore[arg-type]
        await two.tick(local(2026, 5, 13, 0, 0))  # the window closes
        closed.append(True)
        return verdict

    monkeypatch.setattr(CampaignStore, "_store_answer", closing_meanwhile)
    assert await one.service.store_answer(window_id, 4242, complete(deep)) == Verdict.OK
    assert closed == [True]
    assert [name async for name in redis.scan_iter(f"{prefix}:*")] == []


@postgres_only
async def test_every_worker_touches_the_keys_claimed_on_any(
    workers: Worlds,
    claims_of: Callable[[], RedisParticipationClaims],
    questionnaires: dict[str, Questionnaire],
) -> None:
    """The minute job of each process touches every window's keys, not only its own."""
    one, two = workers(claims_of()), workers(claims_of())
    window_id = await _open(one, two)
    deep = questionnaires["deep_external"]
    assert await one.service.store_answer(window_id, 4242, complete(deep)) == Verdict.OK
    assert await one.service.store_answer(window_id, 4343, complete(deep)) == Verdict.OK
    assert await two.service.touch_participation() == 2
    assert await workers(None).service.touch_participation() == 0  # no Redis: nothing


async def test_claims_expire_quickly_until_confirmed_then_two_days_after_the_window(
    redis: Redis,  # noqa: F811
    claims_of: Callable[[], RedisParticipationClaims],
    prefix: str,
) -> None:
    """A worker killed between the claim and its commit frees the person within minutes; a
    confirmed key lasts to the end of its expiry day, and names no person."""
    claims = claims_of()
    key = "a" * 64
    assert await claims.claim("window:3", key)
    assert not await claims.claim("window:3", key)
    name = f"{prefix}:window:3:{key}"
    assert 0 < await redis.ttl(name) <= WORKING_TTL.total_seconds()
    expires_on = datetime.now(UTC).date() + timedelta(days=17)
    assert await claims.confirm("window:3", key, expires_on)
    end = datetime.combine(expires_on + timedelta(days=1), time(), tzinfo=UTC)
    assert await redis.expiretime(name) == int(end.timestamp())
    assert await redis.get(name) == b"done"
    assert await claims.held("window:3", key)
    # A stored response's key is never given back.
    await claims.release("window:3", key)
    assert await claims.held("window:3", key)
    # A response not stored gives its claim back: the person may try again.
    assert await claims.claim("window:3", "b" * 64)
    await claims.release("window:3", "b" * 64)
    assert not await claims.held("window:3", "b" * 64)
    # An expiry day already past (clocks apart): the key still lasts a second, not none.
    assert await claims.claim("window:3", "c" * 64)
    assert await claims.confirm("window:3", "c" * 64, expires_on - timedelta(days=30))
    assert 0 < await redis.pttl(f"{prefix}:window:3:{'c' * 64}") <= 2000


async def test_after_the_minute_touch_redis_times_tell_no_order_of_completions(
    redis: Redis,  # noqa: F811
    claims_of: Callable[[], RedisParticipationClaims],
    prefix: str,
) -> None:
    """The attack (review): with the pepper, an attacker recomputes the keys of candidate
    people, orders them by when their key was written (OBJECT IDLETIME: seconds since the
    last write; PTTL/PEXPIRETIME: a time to live counted from the completion) and pairs them
    with the window's responses in heap order. Three people complete seconds apart; after
    the scheduler's minute touch, neither clock tells them apart."""
    claims = claims_of()
    expires_on = datetime.now(UTC).date() + timedelta(days=16)
    people = ["a" * 64, "b" * 64, "c" * 64]  # in the order they completed
    names = [f"{prefix}:window:5:{key}" for key in people]
    for n, key in enumerate(people):
        if n:
            await asyncio.sleep(1.1)  # Redis keeps idle times in whole seconds
        assert await claims.claim("window:5", key)
        await claims.confirm("window:5", key, expires_on)
    # Until the touch the idle time orders them (the residual of docs/anonymity.md) ...
    before = [await redis.object("idletime", name) for name in names]
    assert before[0] > before[1] > before[2]
    # ... but never the expiry: one whole second for every key of the window.
    expiries = {await redis.pexpiretime(name) for name in names}
    assert len(expiries) == 1 and expiries.pop() % 1000 == 0
    assert await claims.touch_all() == 3  # what the scheduler's job does every minute
    async with redis.pipeline(transaction=True) as pipe:  # one instant for every reading
        for name in names:
            pipe.object("idletime", name)
            pipe.pttl(name)
            pipe.pexpiretime(name)
        readings = await pipe.execute()
    idle, ttl, expiry = readings[0::3], readings[1::3], readings[2::3]
    assert len(set(idle)) == 1
    # One expiry for all; a time to live is that expiry less the clock at each reading, and
    # Redis may read its clock anew between the commands of one transaction (a millisecond
    # apart under load, in any order): equal within that, never seconds apart as completions.
    assert len(set(expiry)) == 1
    assert min(ttl) > 0 and max(ttl) - min(ttl) <= 5
    assert {await redis.get(name) for name in names} == {b"done"}


async def test_a_confirmation_after_the_close_recreates_no_key(
    redis: Redis,  # noqa: F811
    claims_of: Callable[[], RedisParticipationClaims],
    prefix: str,
) -> None:
    """An answer commits just before its window closes; the close deletes the window's keys,
    then the answering worker confirms: nothing may outlive the close."""
    claims = claims_of()
    key = "c" * 64
    assert await claims.claim("window:8", key)
    assert await claims_of().forget("window:8") == 1  # the close, on another worker
    assert not await claims.confirm("window:8", key, datetime.now(UTC).date())
    assert not await claims.held("window:8", key)
    assert [name async for name in redis.scan_iter(f"{prefix}:*")] == []


async def test_a_claim_that_ran_out_and_was_taken_again_stays_the_new_holders(
    redis: Redis,  # noqa: F811
    claims_of: Callable[[], RedisParticipationClaims],
    prefix: str,
) -> None:
    """A worker stalled past the claim's two minutes neither confirms nor gives back the
    claim another worker has taken since."""
    late, holder = claims_of(), claims_of()
    key, name = "d" * 64, f"{prefix}:window:9:{'d' * 64}"
    tomorrow = datetime.now(UTC).date() + timedelta(days=1)
    assert await late.claim("window:9", key)
    await redis.delete(name)  # ran out
    assert await holder.claim("window:9", key)
    theirs = await redis.get(name)
    assert isinstance(theirs, bytes) and theirs.startswith(b"working:")
    assert not await late.confirm("window:9", key, tomorrow)
    assert await redis.get(name) == theirs
    assert 0 < await redis.ttl(name) <= WORKING_TTL.total_seconds()
    assert await late.claim("window:9", "e" * 64)
    await redis.delete(f"{prefix}:window:9:{'e' * 64}")
    assert await holder.claim("window:9", "e" * 64)
    await late.release("window:9", "e" * 64)
    assert await holder.held("window:9", "e" * 64)
    assert await holder.confirm("window:9", key, tomorrow)
    assert await redis.get(name) == b"done"
