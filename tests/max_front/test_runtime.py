"""The MAX poller's runtime against the MAX Bot API emulator (bot/max_runtime.py): one poller
among processes (the `max-poller` lease), the last batch confirmed at a stop, each update handled
once even when MAX sends a batch again after a kill, one person at a time; and MAX alone runs
the body's scheduler and housekeeping."""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import timedelta
from pathlib import Path

import pytest
from aiogram import Bot
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.telegram import TelegramAPIServer
from aiogram.exceptions import TelegramUnauthorizedError
from aiogram.fsm.storage.base import StorageKey
from aiogram.fsm.storage.memory import SimpleEventIsolation
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.max import MAX_BOT_ID
from bot.max_runtime import (
    JOURNAL_BOT_ID,
    LeasedPolling,
    OnceEach,
    ledger_key,
    max_update_ledger,
    update_id_of,
)
from bot.settings import BotSettings, DatabaseSettings, MaxSettings, PrivacySettings, Settings
from max_front.api import Update
from max_front.client import MaxapiClient
from max_front.front import sender_of
from max_front.polling import Poller
from scheduler.leader import LEADER_JOBS, LeaderGate
from storage.database import create_engine, create_session_factory
from storage.fsm import SqlStorage
from storage.leases import LeaseElection
from storage.models_leases import Lease
from storage.update_ledger import MemoryUpdateLedger, UpdateLedger
from tests.maxapi.emulator import MaxApiEmulator

TOKEN = "max-runtime-token"
PEPPER = b"max-runtime-pepper-0123456789abcdef"
KEY = ledger_key(PEPPER)


def text_of(update: Update) -> str:
    return str(update["message"]["body"]["text"])


async def until(condition: Callable[[], bool], seconds: float = 10.0) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + seconds
    while not condition():
        assert loop.time() < deadline, "timed out"
        await asyncio.sleep(0.05)


@pytest.fixture
async def emulator() -> AsyncIterator[MaxApiEmulator]:
    async with MaxApiEmulator(TOKEN) as emulator:
        yield emulator


@pytest.fixture
async def lease_engine(tmp_path: Path) -> AsyncIterator[AsyncEngine]:
    engine = create_engine(f"sqlite+aiosqlite:///{tmp_path / 'leases.db'}")
    async with engine.begin() as connection:
        await connection.run_sync(Lease.__table__.create)  # type: ignore[attr-defined]
    yield engine
    await engine.dispose()


# --- a stop confirms the last batch ---------------------------------------------------------


async def test_a_stop_during_a_batch_confirms_it_so_a_restart_gets_nothing_again(
    emulator: MaxApiEmulator,
) -> None:
    client = MaxapiClient(TOKEN, emulator.base_url)
    handled: list[str] = []
    poller: Poller | None = None

    async def handle(update: Update) -> None:
        handled.append(text_of(update))
        assert poller is not None
        poller.stop()  # SIGTERM while the batch is handled

    try:
        poller = Poller(client, handle, timeout=1)
        emulator.user(4242, "Anna").send("4")
        await asyncio.wait_for(poller.run(), 10)
        assert handled == ["4"]
        assert emulator.confirmed == 1  # the marker went back before the loop ended
        again = await client.updates(None, 0)
        assert again.updates == []  # a restart is not sent the typed "4" again
    finally:
        await client.close()


# --- each update once -----------------------------------------------------------------------


async def test_a_batch_sent_again_after_a_kill_changes_nothing(
    emulator: MaxApiEmulator, tmp_path: Path
) -> None:
    """The process is killed mid-batch (the marker never went back); the restarted process
    gets the batch again and handles only what the dead one had not."""
    url = f"sqlite+aiosqlite:///{tmp_path / 'fsm.db'}"
    from storage.migrate import upgrade_async

    await upgrade_async(url)
    anna, boris = emulator.user(4242, "Anna"), emulator.user(7777, "Boris")
    anna.send("4")
    anna.start("licensing_office")
    boris.send("5")
    client = MaxapiClient(TOKEN, emulator.base_url)
    handled: Counter[str] = Counter()

    async def handle(update: Update) -> None:
        handled[update["update_type"] + ":" + str(sender_of(update))] += 1

    async def process() -> tuple[OnceEach, SqlStorage, AsyncEngine]:
        engine = create_engine(url)
        storage = SqlStorage(create_session_factory(engine), PEPPER)
        once = OnceEach(handle, max_update_ledger(storage), lambda u: update_id_of(KEY, u))
        return once, storage, engine

    try:
        once, storage, engine = await process()
        batch = await client.updates(None, 0)
        assert len(batch.updates) == 3
        for update in batch.updates[:2]:  # killed before the third, marker never sent
            await once(update)
        await storage.close()
        await engine.dispose()

        once, storage, engine = await process()  # started again: memory is empty
        poller = Poller(client, once, timeout=1)
        task = asyncio.create_task(poller.run())
        await until(lambda: emulator.confirmed == 3)
        poller.stop()
        await asyncio.wait_for(task, 10)
        await storage.close()
        await engine.dispose()
    finally:
        await client.close()
    assert handled == {
        "message_created:4242": 1,
        "bot_started:4242": 1,
        "message_created:7777": 1,
    }


def test_update_ids_are_keyed_hashes_of_max_ids() -> None:
    text = {"update_type": "message_created", "message": {"body": {"mid": "mid.1"}}}
    press = {"update_type": "message_callback", "callback": {"callback_id": "cb.1"}}
    start = {"update_type": "bot_started", "user": {"user_id": 42}, "timestamp": 1}
    ids = [update_id_of(KEY, u) for u in (text, press, start)]
    assert all(isinstance(i, int) and 0 <= i < 2**63 for i in ids)
    assert len(set(ids)) == 3
    assert update_id_of(KEY, dict(text)) == ids[0]  # the same update again: the same id
    assert update_id_of(ledger_key(b"another-pepper-0123456789abcdef!"), text) != ids[0]
    assert update_id_of(KEY, {"update_type": "user_added"}) is None


async def test_a_failed_update_is_released_for_its_next_delivery() -> None:
    ledger = MemoryUpdateLedger()
    calls: list[int] = []

    async def handle(update: Update) -> None:
        calls.append(1)
        if len(calls) == 1:
            raise RuntimeError("boom")

    once = OnceEach(handle, ledger, lambda u: 7)
    with pytest.raises(RuntimeError):
        await once({"update_type": "message_created"})
    await once({"update_type": "message_created"})  # delivered again: handled
    await once({"update_type": "message_created"})  # and now done: dropped
    assert len(calls) == 2


async def test_one_person_at_a_time_across_two_handlers_sharing_a_lock() -> None:
    """Two processes' handlers with the shared isolation (Redis in production, here aiogram's
    in-memory one standing for it): one person's updates never overlap; others' do."""
    isolation = SimpleEventIsolation()
    ledger: UpdateLedger = MemoryUpdateLedger()
    running: Counter[int | None] = Counter()
    overlaps: list[int | None] = []

    async def handle(update: Update) -> None:
        user = sender_of(update)
        running[user] += 1
        if running[user] > 1:
            overlaps.append(user)
        await asyncio.sleep(0.05)
        running[user] -= 1

    def lock_key(update: Update) -> StorageKey | None:
        user = sender_of(update)
        return None if user is None else StorageKey(MAX_BOT_ID, user, user)

    handlers = [
        OnceEach(handle, ledger, lambda u: update_id_of(KEY, u), isolation=isolation,
                 lock_key=lock_key)
        for _ in range(2)
    ]  # fmt: skip

    def typed(user: int, mid: str) -> Update:
        return {"update_type": "message_created",
                "message": {"sender": {"user_id": user}, "body": {"mid": mid}}}  # fmt: skip

    await asyncio.gather(
        handlers[0](typed(1, "a")), handlers[1](typed(1, "b")), handlers[1](typed(2, "c"))
    )
    assert overlaps == []


# --- one poller among processes -------------------------------------------------------------


def leased(
    emulator: MaxApiEmulator,
    engine: AsyncEngine,
    handle: Callable[[Update], Awaitable[None]],
    *,
    ttl: float = 1.0,
) -> tuple[LeasedPolling, MaxapiClient, LeaseElection]:
    client = MaxapiClient(TOKEN, emulator.base_url)
    election = LeaseElection(
        create_session_factory(engine), "max-poller", ttl=timedelta(seconds=ttl)
    )
    gate = LeaderGate(election, renew_every=ttl / 4, valid_for=ttl * 0.8, role="MAX poller")
    polling = LeasedPolling(
        gate,
        lambda may_poll: Poller(client, handle, timeout=1, may_poll=may_poll),
        check_every=ttl / 4,
    )
    return polling, client, election


async def test_two_processes_one_poller_each_update_once_and_a_handover(
    emulator: MaxApiEmulator, lease_engine: AsyncEngine
) -> None:
    seen: dict[str, list[str]] = {"A": [], "B": []}

    def recorder(name: str) -> Callable[[Update], Awaitable[None]]:
        async def handle(update: Update) -> None:
            await asyncio.sleep(0.3)  # a dialog step's database work
            seen[name].append(text_of(update))

        return handle

    first, first_client, _ = leased(emulator, lease_engine, recorder("A"))
    second, second_client, _ = leased(emulator, lease_engine, recorder("B"))
    tasks = [asyncio.create_task(first.run())]
    try:
        await until(lambda: first.polling)
        tasks.append(asyncio.create_task(second.run()))
        await asyncio.sleep(0.5)
        assert first.polling and not second.polling
        anna = emulator.user(4242, "Anna")
        for text in ("4", "5", "6"):
            anna.send(text)
        await until(lambda: len(seen["A"]) == 3)
        first.stop()  # a clean stop: the role is given up, the other takes over
        await asyncio.wait_for(tasks[0], 10)
        await until(lambda: second.polling)
        anna.send("7")
        await until(lambda: seen["B"] == ["7"])
        await asyncio.sleep(1.0)  # nothing else comes
    finally:
        first.stop()
        second.stop()
        await asyncio.gather(*tasks, return_exceptions=True)
        await first_client.close()
        await second_client.close()
    assert seen == {"A": ["4", "5", "6"], "B": ["7"]}
    assert emulator.confirmed == 4


class Dying:
    """An election whose holder was killed: it never answers again."""

    def __init__(self, inner: LeaseElection) -> None:
        self.inner = inner
        self.dead = False

    async def campaign(self) -> bool:
        if self.dead:
            raise ConnectionError("killed")
        return await self.inner.campaign()

    async def resign(self) -> None:
        if not self.dead:
            await self.inner.resign()


async def test_a_dead_holder_is_replaced_after_its_lease_and_stops_polling_first(
    emulator: MaxApiEmulator, lease_engine: AsyncEngine
) -> None:
    seen: dict[str, list[str]] = {"A": [], "B": []}

    def recorder(name: str) -> Callable[[Update], Awaitable[None]]:
        async def handle(update: Update) -> None:
            seen[name].append(text_of(update))

        return handle

    client = MaxapiClient(TOKEN, emulator.base_url)
    election = Dying(
        LeaseElection(create_session_factory(lease_engine), "max-poller", ttl=timedelta(seconds=1))
    )
    gate = LeaderGate(election, renew_every=0.25, valid_for=0.8, role="MAX poller")
    first = LeasedPolling(
        gate,
        lambda may_poll: Poller(client, recorder("A"), timeout=1, may_poll=may_poll),
        check_every=0.25,
    )
    second, second_client, _ = leased(emulator, lease_engine, recorder("B"))
    tasks = [asyncio.create_task(first.run())]
    try:
        await until(lambda: first.polling)
        tasks.append(asyncio.create_task(second.run()))
        emulator.user(4242, "Anna").send("1")
        await until(lambda: seen["A"] == ["1"])
        election.dead = True  # cut off from the database: no renewal from now on
        await until(lambda: not first.polling, 5)
        await until(lambda: second.polling, 5)
        emulator.user(4242, "Anna").send("2")
        await until(lambda: seen["B"] == ["2"])
    finally:
        first.stop()
        second.stop()
        await asyncio.gather(*tasks, return_exceptions=True)
        await client.close()
        await second_client.close()
    assert seen == {"A": ["1"], "B": ["2"]}


# --- MAX alone runs the body's jobs ---------------------------------------------------------


async def test_max_alone_runs_the_leader_jobs_and_housekeeping(
    emulator: MaxApiEmulator, tmp_path: Path
) -> None:
    from bot.max import max_alone
    from scheduler.jobs import HOUSEKEEPING_JOB

    settings = Settings(
        _env_file=None,
        bot=BotSettings(token=None, officer_ids=[111]),
        max=MaxSettings(token=TOKEN, api_base_url=emulator.base_url, poll_timeout=1),
        db=DatabaseSettings(url=f"sqlite+aiosqlite:///{tmp_path / 'otklik.db'}"),
        privacy=PrivacySettings(pepper=PEPPER.decode()),
        log_level="WARNING",
    )
    async with max_alone(settings) as running:
        jobs = {job.id: job for job in running.jobs.scheduler.get_jobs()}
        assert running.jobs.scheduler.running
        assert HOUSEKEEPING_JOB in jobs
        assert jobs[HOUSEKEEPING_JOB].func.__dict__.get("leader_only")
        gated = {i for i, job in jobs.items() if job.func.__dict__.get("leader_only")}
        assert {HOUSEKEEPING_JOB, "reports", "campaigns"} <= gated <= LEADER_JOBS
        assert running.jobs.leadership.is_leader  # alone: it leads, and caught up at once
        polling = running.polling
        assert polling is not None  # no MAX__WEBHOOK_URL: long polling
        await until(lambda: polling.polling)


async def test_max_alone_serves_the_metrics_port(emulator: MaxApiEmulator, tmp_path: Path) -> None:
    """METRICS__PORT in MAX alone (no BOT__TOKEN) is served as with Telegram."""
    import socket
    import urllib.request

    from bot.max import max_alone
    from bot.settings import MetricsSettings

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    settings = Settings(
        _env_file=None,
        bot=BotSettings(token=None),
        max=MaxSettings(token=TOKEN, api_base_url=emulator.base_url, poll_timeout=1),
        db=DatabaseSettings(url=f"sqlite+aiosqlite:///{tmp_path / 'otklik.db'}"),
        privacy=PrivacySettings(pepper=PEPPER.decode()),
        metrics=MetricsSettings(port=port),
        log_level="WARNING",
    )

    def scrape() -> tuple[int, bytes]:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as answer:
            return answer.status, answer.read()

    async with max_alone(settings):
        status, body = await asyncio.to_thread(scrape)
    assert status == 200
    assert b"otklik_" in body


async def test_without_a_telegram_bot_a_telegram_call_is_refused_without_a_request() -> None:
    from bot.max import NoTelegram
    from bot.web import PLACEHOLDER_TOKEN

    bot = Bot(PLACEHOLDER_TOKEN, session=AiohttpSession(api=TelegramAPIServer.from_base(
        "http://127.0.0.1:9")))  # fmt: skip
    bot.session.middleware(NoTelegram())
    try:
        with pytest.raises(TelegramUnauthorizedError, match="BOT__TOKEN"):
            await bot.send_message(111, "report")
    finally:
        await bot.session.close()


async def test_with_redis_two_processes_handle_one_update_once(
    emulator: MaxApiEmulator,
) -> None:
    """Two processes' handlers on Redis (their own ledger and lock objects, one Redis), both
    given the same update during a handover: the update is handled once, by one of them."""
    import uuid

    from redis.asyncio import Redis

    from bot.operations import shared_isolation
    from storage.fsm_redis import HashedKeyBuilder, create_redis_storage
    from tests.storage.test_fsm_redis import redis_unavailable, redis_url

    probe = Redis.from_url(redis_url())
    try:
        await probe.ping()
    except Exception as error:
        await probe.aclose()
        redis_unavailable(error)
    prefix = f"otklik-test-{uuid.uuid4().hex[:12]}"
    storages = [create_redis_storage(redis_url(), PEPPER, timedelta(days=1)) for _ in range(2)]
    for storage in storages:
        assert isinstance(storage.key_builder, HashedKeyBuilder)
        storage.key_builder.prefix = prefix
    handled: list[str] = []
    update: Update = {}

    async def handle(update: Update) -> None:
        await asyncio.sleep(0.1)
        handled.append(text_of(update))

    def lock_key(update: Update) -> StorageKey | None:
        user = sender_of(update)
        return None if user is None else StorageKey(MAX_BOT_ID, user, user)

    try:
        handlers = [
            OnceEach(handle, max_update_ledger(storage), lambda u: update_id_of(KEY, u),
                     isolation=shared_isolation(storage), lock_key=lock_key)
            for storage in storages
        ]  # fmt: skip
        emulator.user(uuid.uuid4().int % 10**9, "Anna").send("4")
        client = MaxapiClient(TOKEN, emulator.base_url)
        try:
            [update] = (await client.updates(None, 0)).updates
        finally:
            await client.close()
        await asyncio.gather(handlers[0](update), handlers[1](update))
        await handlers[1](update)  # and once more later
        assert handled == ["4"]
    finally:
        for storage in storages:
            await storage.close()
        names = [name async for name in probe.scan_iter(match=f"{prefix}:*")]
        if handled:
            names.append(f"max-update:{JOURNAL_BOT_ID}:{update_id_of(KEY, update)}")
        if names:
            await probe.delete(*names)
        await probe.aclose()
