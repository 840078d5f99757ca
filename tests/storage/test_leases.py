"""Elections on the database (issue 14): a lease row on both backends, the advisory lock on
PostgreSQL; two contenders, one wins, the other takes over when the first dies or resigns."""

from __future__ import annotations

import asyncio
import sys
import uuid
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select, text
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from storage.database import create_session_factory
from storage.leases import AdvisoryLockElection, LeaseElection, create_election, process_holder
from storage.models_leases import Lease
from tests.storage.conftest import ScratchDatabase

TTL = timedelta(seconds=20)


class Clock:
    def __init__(self) -> None:
        self.now = datetime(2026, 11, 30, 12, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now


def _pair(
    sessions: async_sessionmaker[AsyncSession], clock: Clock, name: str = "scheduler"
) -> tuple[LeaseElection, LeaseElection]:
    return (
        LeaseElection(sessions, name, ttl=TTL, clock=clock),
        LeaseElection(sessions, name, ttl=TTL, clock=clock),
    )


async def test_one_holder_at_a_time_and_takeover_after_expiry(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    clock = Clock()
    first, second = _pair(sessions, clock)
    assert await first.campaign()
    assert not await second.campaign()
    assert second.holder_of_record() == first.holder
    clock.now += TTL / 2
    assert await first.campaign()  # renewed: another half lease
    clock.now += TTL * 0.9
    assert not await second.campaign()  # the renewal counts, not the first grant
    # The first stops renewing (killed elsewhere, frozen): the second takes over after the TTL.
    clock.now += TTL * 0.2
    assert await second.campaign()
    assert not await first.campaign()  # and the first learns it on its next round
    async with sessions() as session:
        lease = (await session.scalars(select(Lease))).one()
    assert (lease.holder, lease.epoch) == (second.holder, 2)


async def test_a_resigned_lease_is_taken_at_once(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    clock = Clock()
    first, second = _pair(sessions, clock)
    assert await first.campaign()
    await first.resign()
    assert await second.campaign()
    await first.resign()  # not its lease any more: nothing changes
    assert await second.campaign()
    assert not await first.campaign()


async def test_roles_are_independent(sessions: async_sessionmaker[AsyncSession]) -> None:
    clock = Clock()
    scheduler, _ = _pair(sessions, clock, "scheduler")
    poller, _ = _pair(sessions, clock, "poller:1")
    assert await scheduler.campaign()
    assert await poller.campaign()


async def test_a_holder_that_died_on_this_host_is_replaced_without_waiting(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    clock = Clock()
    child = await asyncio.create_subprocess_exec(
        sys.executable,
        "-c",
        "from storage.leases import process_holder as p; print(p())",
        stdout=asyncio.subprocess.PIPE,
    )
    out, _ = await child.communicate()  # waited for: its pid is gone, not a zombie
    dead = LeaseElection(sessions, "scheduler", ttl=TTL, clock=clock, holder=out.decode().strip())
    assert await dead.campaign()
    alive = LeaseElection(sessions, "scheduler", ttl=TTL, clock=clock)
    assert await alive.campaign()  # the pid is gone: no need to wait for the lease to expire
    # A live holder of this host (this very test process, another election) is not replaced.
    other = LeaseElection(sessions, "scheduler", ttl=TTL, clock=clock, holder=process_holder())
    assert not await other.campaign()


def test_holders_name_a_process_never_a_person() -> None:
    host, pid, random_part = process_holder().split(":")
    assert host and pid.isdigit() and len(random_part) == 8
    assert process_holder() != process_holder()


@pytest.mark.postgres
@pytest.mark.parametrize("database", ["postgresql"], indirect=True)
async def test_advisory_lock_one_holder_and_takeover_when_its_session_ends(
    database: ScratchDatabase, engine: AsyncEngine
) -> None:
    name = f"scheduler-{uuid.uuid4().hex}"  # the lock is per database: tests must not collide
    first = create_election(engine, create_session_factory(engine), name, ttl=TTL)
    second = AdvisoryLockElection(engine, name)
    assert isinstance(first, AdvisoryLockElection)
    try:
        assert await first.campaign()
        assert not await second.campaign()
        assert await first.campaign()  # still held, checked on its own connection
        # The leader's connection dies (process killed, network cut): the server frees the lock.
        held = first._connection
        assert held is not None
        pid = await held.scalar(text("SELECT pg_backend_pid()"))
        await held.commit()
        async with engine.connect() as admin:
            killed = await admin.scalar(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})
        assert killed is True
        assert await second.campaign()
        assert not await first.campaign()  # it learns it lost the lock
        assert not await first.campaign()  # and cannot take it back while held
        await second.resign()
        assert await first.campaign()
    finally:
        await first.resign()
        await second.resign()
