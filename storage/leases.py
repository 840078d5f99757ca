"""Elections of one process for a role, on the project's database (issue 14).

Two ways, one interface (:class:`Election`):

- :class:`LeaseElection`, a row of ``leases`` with a holder and an expiry, taken with one
  ``INSERT … ON CONFLICT DO UPDATE … WHERE`` (free, expired, or already ours) and renewed by the
  holder well before it expires. Works on SQLite (where there is nothing else) and PostgreSQL.
  A holder that died on this host is replaced at once (its pid is gone); one elsewhere when its
  lease expires.
- :class:`AdvisoryLockElection`, a PostgreSQL session advisory lock held on a connection of its
  own: the server frees it the moment that connection ends (process killed, network cut), and
  the holder learns it lost the lock when its next check of the connection fails.

``campaign()`` is called periodically by whoever wants the role; it answers whether the caller
holds it now. ``resign()`` gives the role up at once (clean shutdown), so nobody waits a lease.
"""

from __future__ import annotations

import hashlib
import logging
import os
import secrets
import socket
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Protocol

from sqlalchemy import case, select, text, update
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, AsyncSession, async_sessionmaker

from storage.models_leases import Lease
from storage.upsert import insert_on_conflict

logger = logging.getLogger(__name__)


def process_holder() -> str:
    """This process's name as a holder: host, pid and a random part (never reused)."""
    return f"{socket.gethostname()[:64]}:{os.getpid()}:{secrets.token_hex(4)}"


def _dead_here(holder: str) -> bool:
    """Whether ``holder`` (host:pid:random) was a process of this host that no longer runs."""
    host, _, rest = holder.partition(":")
    pid_text, _, _random = rest.partition(":")
    if host != socket.gethostname()[:64] or not pid_text.isdigit():
        return False
    pid = int(pid_text)
    if pid == os.getpid():
        return False  # ours with another random part: alive, and replaced by its own choice
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        return False  # alive, another user's
    return False


class Election(Protocol):
    async def campaign(self) -> bool: ...

    async def resign(self) -> None: ...

    def holder_of_record(self) -> str | None: ...


class LeaseElection:
    """A lease row: held while renewed within ``ttl``; see the module docstring."""

    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        name: str,
        *,
        ttl: timedelta,
        holder: str | None = None,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self._sessions = sessions
        self.name = name
        self.holder = holder or process_holder()
        self._ttl = ttl
        self._clock = clock
        self._seen: str | None = None

    def holder_of_record(self) -> str | None:
        """The holder read by the last campaign (ours or another's)."""
        return self._seen

    async def campaign(self) -> bool:
        now = self._clock()
        async with self._sessions.begin() as session:
            holder = await self._take(session, now)
            if holder != self.holder and _dead_here(holder):
                # A process of this host died holding the lease: no need to wait for expiry.
                await session.execute(
                    update(Lease)
                    .where(Lease.name == self.name, Lease.holder == holder)
                    .values(holder=self.holder, expires_at=now + self._ttl, epoch=Lease.epoch + 1)
                )
                holder = await self._read(session)
        self._seen = holder
        return holder == self.holder

    async def _take(self, session: AsyncSession, now: datetime) -> str:
        insert = insert_on_conflict(session, Lease).values(
            name=self.name, holder=self.holder, expires_at=now + self._ttl, epoch=1
        )
        ours = Lease.holder == insert.excluded.holder
        await session.execute(
            insert.on_conflict_do_update(
                index_elements=[Lease.name],
                set_={
                    "holder": insert.excluded.holder,
                    "expires_at": insert.excluded.expires_at,
                    "epoch": case((ours, Lease.epoch), else_=Lease.epoch + 1),
                },
                where=ours | (Lease.expires_at < now),
            )
        )
        return await self._read(session)

    async def _read(self, session: AsyncSession) -> str:
        holder = await session.scalar(select(Lease.holder).where(Lease.name == self.name))
        assert holder is not None  # written or kept by the statement before
        return holder

    async def resign(self) -> None:
        """Let the lease expire now, if it is ours."""
        async with self._sessions.begin() as session:
            await session.execute(
                update(Lease)
                .where(Lease.name == self.name, Lease.holder == self.holder)
                .values(expires_at=self._clock() - timedelta(seconds=1))
            )


def advisory_key(name: str) -> int:
    """A stable signed 64-bit key for ``pg_try_advisory_lock`` from a role's name."""
    digest = hashlib.sha256(f"otklik:{name}".encode()).digest()
    return int.from_bytes(digest[:8], "big", signed=True)


class AdvisoryLockElection:
    """A PostgreSQL session advisory lock on a connection of its own; see the module docstring."""

    def __init__(self, engine: AsyncEngine, name: str, *, holder: str | None = None) -> None:
        if engine.dialect.name != "postgresql":
            raise ValueError("advisory locks are PostgreSQL's")
        self._engine = engine
        self.name = name
        self.holder = holder or process_holder()
        self._key = advisory_key(name)
        self._connection: AsyncConnection | None = None

    def holder_of_record(self) -> str | None:
        return self.holder if self._connection is not None else None

    async def campaign(self) -> bool:
        if self._connection is not None:
            try:  # still ours while the session lives
                await self._connection.execute(text("SELECT 1"))
                await self._connection.commit()
                return True
            except Exception as error:
                logger.warning("Lost the %s lock: %s", self.name, type(error).__name__)
                await self._drop()
                return False
        connection = await self._engine.connect()
        try:
            taken = await connection.scalar(
                text("SELECT pg_try_advisory_lock(:key)"), {"key": self._key}
            )
            # The lock belongs to the session, not to this transaction: end the transaction
            # so the connection never idles inside one.
            await connection.commit()
        except BaseException:
            await connection.close()
            raise
        if not taken:
            await connection.close()
            return False
        self._connection = connection
        return True

    async def _drop(self) -> None:
        connection, self._connection = self._connection, None
        if connection is not None:
            try:
                await connection.invalidate()
            except Exception as error:
                logger.debug("Closing a lost lock connection: %s", type(error).__name__)

    async def resign(self) -> None:
        connection, self._connection = self._connection, None
        if connection is None:
            return
        try:
            await connection.execute(text("SELECT pg_advisory_unlock(:key)"), {"key": self._key})
            await connection.commit()
        except Exception as error:
            logger.warning("Could not unlock %s: %s", self.name, type(error).__name__)
        finally:
            await connection.close()


def create_election(
    engine: AsyncEngine,
    sessions: async_sessionmaker[AsyncSession],
    name: str,
    *,
    ttl: timedelta,
) -> LeaseElection | AdvisoryLockElection:
    """The advisory lock on PostgreSQL, a lease row on SQLite."""
    if engine.dialect.name == "postgresql":
        return AdvisoryLockElection(engine, name)
    return LeaseElection(sessions, name, ttl=ttl)
