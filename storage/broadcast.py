"""The outbox of broadcasts: one row per (broadcast, chat) and its status.

A row goes ``pending -> sending -> sent`` (or ``blocked``, ``failed``, ``unknown``); the rules
for when a row may change are in ``services.broadcast``. Each method is one transaction, so a
run's claims and the outcomes written beside them commit together.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Final, cast

from sqlalchemy import (
    BigInteger,
    CursorResult,
    Integer,
    String,
    Table,
    bindparam,
    func,
    select,
    update,
)
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from questionnaires.messengers import MAX, MAX_CHATS, TELEGRAM, Messenger
from storage.database import Sessions
from storage.models_broadcast import Broadcast, OutboxMessage
from storage.types import UtcDateTime
from storage.upsert import insert_on_conflict

PENDING: Final = "pending"
SENDING: Final = "sending"
SENT: Final = "sent"
BLOCKED: Final = "blocked"
FAILED: Final = "failed"
UNKNOWN: Final = "unknown"
RUNNING: Final = "running"
DONE: Final = "done"

#: Rows per INSERT statement in create(): bounded memory and bind parameters per statement.
INSERT_CHUNK: Final = 5_000


@dataclass(frozen=True, slots=True)
class Outcome:
    """What became of one claimed row."""

    chat_id: int
    status: str
    attempts: int


@dataclass(frozen=True, slots=True)
class Created:
    """The result of :meth:`BroadcastStore.create`."""

    broadcast_id: int
    new: bool  # False: the broadcast existed and kept its text
    added: int  # chats added by this call
    other_text: bool  # it existed with another text than the one given


@dataclass(frozen=True, slots=True)
class RunStart:
    """A run's starting point: the text, the rows a dead run left in flight, counts by status."""

    text: str
    recovered: int  # rows found "sending", now "unknown"
    counts: dict[str, int]


class BroadcastStore:
    """Broadcasts and their outbox rows."""

    def __init__(self, sessions: Sessions) -> None:
        self._sessions = sessions

    async def create(
        self, kind: str, key: str, text: str, chat_ids: Sequence[int], now: datetime
    ) -> Created:
        """Insert the broadcast ``(kind, key)`` with these chats, or add the chats it lacks."""
        async with self._sessions.begin() as session:
            inserted = await session.scalar(
                insert_on_conflict(session, Broadcast)
                .values(kind=kind, key=key, text=text, created_at=now, status=PENDING)
                .on_conflict_do_nothing(index_elements=[Broadcast.kind, Broadcast.key])
                .returning(Broadcast.id)
            )
            if inserted is not None:
                await _add_recipients(session, inserted, chat_ids, now)
                return Created(int(inserted), new=True, added=len(chat_ids), other_text=False)
            broadcast = (
                await session.scalars(
                    select(Broadcast).where(Broadcast.kind == kind, Broadcast.key == key)
                )
            ).one()
            before = await _count_rows(session, broadcast.id)
            await _add_recipients(session, broadcast.id, chat_ids, now)
            added = await _count_rows(session, broadcast.id) - before
            if added and broadcast.status == DONE:
                broadcast.status = PENDING
            return Created(broadcast.id, new=False, added=added, other_text=broadcast.text != text)

    async def start_run(self, broadcast_id: int, now: datetime) -> RunStart | None:
        """Mark the broadcast running, its rows left "sending" unknown; None if it is not."""
        async with self._sessions.begin() as session:
            broadcast = await session.get(Broadcast, broadcast_id)
            if broadcast is None:
                return None
            result = await session.execute(
                update(_outbox)
                .where(_outbox.c.broadcast_id == broadcast_id, _outbox.c.status == SENDING)
                .values(status=UNKNOWN, updated_at=now)
            )
            broadcast.status = RUNNING
            recovered = cast(CursorResult[Any], result).rowcount
            return RunStart(broadcast.text, recovered, await _status_counts(session, broadcast_id))

    async def record(
        self,
        broadcast_id: int,
        outcomes: Sequence[Outcome],
        now: datetime,
        *,
        claim: int = 0,
        claims: Mapping[Messenger, int] | None = None,
    ) -> list[int]:
        """Write the outcomes and claim up to ``claim`` pending rows of any chat, and up to
        ``claims[m]`` of messenger ``m``'s chats; return the claimed chats (in chat order per
        messenger, Telegram's first)."""
        async with self._sessions.begin() as session:
            await _write_outcomes(session, broadcast_id, outcomes, now)
            claimed = await _claim(session, broadcast_id, claim, now) if claim else []
            for messenger, limit in sorted(
                (claims or {}).items(), key=lambda item: item[0] != TELEGRAM
            ):
                if limit > 0:
                    claimed += await _claim(session, broadcast_id, limit, now, messenger)
            return claimed

    async def finish_run(
        self, broadcast_id: int, outcomes: Sequence[Outcome], now: datetime
    ) -> dict[str, int]:
        """Write the last outcomes; mark the broadcast done if nothing is left; count rows."""
        async with self._sessions.begin() as session:
            await _write_outcomes(session, broadcast_id, outcomes, now)
            counts = await _status_counts(session, broadcast_id)
            if not counts.get(PENDING) and not counts.get(SENDING):
                broadcast = await session.get(Broadcast, broadcast_id)
                if broadcast is not None:
                    broadcast.status = DONE
            return counts

    async def stop_run(
        self,
        broadcast_id: int,
        outcomes: Sequence[Outcome],
        released: Sequence[int],
        now: datetime,
    ) -> None:
        """Write what is known, return the ``released`` chats' rows to pending, and the
        broadcast too: the next run takes over."""
        async with self._sessions.begin() as session:
            await _write_outcomes(session, broadcast_id, outcomes, now)
            await _release(session, broadcast_id, released, now)
            await session.execute(
                update(Broadcast).where(Broadcast.id == broadcast_id).values(status=PENDING)
            )

    async def unreachable_chat_ids(self) -> set[int]:
        """Chats whose latest outcome is ``blocked``: no row sent to them later."""
        blocked = aliased(OutboxMessage)
        later = aliased(OutboxMessage)
        delivered_since = (
            select(later.chat_id)
            .where(
                later.chat_id == blocked.chat_id,
                later.status == SENT,
                later.updated_at > blocked.updated_at,
            )
            .exists()
        )
        statement = select(blocked.chat_id).where(blocked.status == BLOCKED, ~delivered_since)
        async with self._sessions.begin() as session:
            return set(await session.scalars(statement))

    async def requeue_unknown(self, broadcast_id: int, now: datetime) -> int:
        """Make the broadcast's unknown rows pending again; return how many."""
        async with self._sessions.begin() as session:
            result = await session.execute(
                update(OutboxMessage)
                .where(OutboxMessage.broadcast_id == broadcast_id, OutboxMessage.status == UNKNOWN)
                .values(status=PENDING, updated_at=now),
                execution_options={"synchronize_session": False},
            )
        return cast(CursorResult[Any], result).rowcount

    async def counts(self, broadcast_id: int) -> dict[str, int]:
        """Rows of the broadcast by status."""
        async with self._sessions.begin() as session:
            return await _status_counts(session, broadcast_id)


# --- statements staged in the caller's transaction; they never commit ---------------------------

_outbox = cast(Table, OutboxMessage.__table__)
# One executemany for a batch of outcomes. Only rows still "sending" change, so an outcome can
# never overwrite what another run decided.
_WRITE_OUTCOME = (
    update(_outbox)
    .where(
        _outbox.c.broadcast_id == bindparam("b_id", type_=BigInteger()),
        _outbox.c.chat_id == bindparam("c_id", type_=BigInteger()),
        _outbox.c.status == SENDING,
    )
    .values(
        status=bindparam("new_status", type_=String()),
        attempts=_outbox.c.attempts + bindparam("tries", type_=Integer()),
        updated_at=bindparam("at", type_=UtcDateTime()),
    )
)


async def _write_outcomes(
    session: AsyncSession, broadcast_id: int, outcomes: Sequence[Outcome], now: datetime
) -> None:
    if not outcomes:
        return
    await session.execute(
        _WRITE_OUTCOME,
        [
            {
                "b_id": broadcast_id,
                "c_id": outcome.chat_id,
                "new_status": outcome.status,
                "tries": outcome.attempts,
                "at": now,
            }
            for outcome in outcomes
        ],
    )


async def _claim(
    session: AsyncSession,
    broadcast_id: int,
    limit: int,
    now: datetime,
    messenger: Messenger | None = None,
) -> list[int]:
    """Mark up to ``limit`` pending rows "sending" (of ``messenger``'s chats only, when given:
    a range of addresses, questionnaires.messengers) and return their chats, in chat order."""
    query = select(OutboxMessage.chat_id).where(
        OutboxMessage.broadcast_id == broadcast_id, OutboxMessage.status == PENDING
    )
    if messenger == MAX:
        query = query.where(OutboxMessage.chat_id >= MAX_CHATS)
    elif messenger is not None:
        query = query.where(OutboxMessage.chat_id < MAX_CHATS)
    candidates = list(await session.scalars(query.order_by(OutboxMessage.chat_id).limit(limit)))
    if not candidates:
        return []
    # "still pending" makes a concurrent claimer lose the row instead of sharing it.
    claimed = await session.scalars(
        update(_outbox)
        .where(
            _outbox.c.broadcast_id == broadcast_id,
            _outbox.c.chat_id.in_(candidates),
            _outbox.c.status == PENDING,
        )
        .values(status=SENDING, updated_at=now)
        .returning(_outbox.c.chat_id)
    )
    return sorted(claimed)


async def _release(
    session: AsyncSession, broadcast_id: int, chat_ids: Sequence[int], now: datetime
) -> None:
    if not chat_ids:
        return
    await session.execute(
        update(_outbox)
        .where(
            _outbox.c.broadcast_id == broadcast_id,
            _outbox.c.chat_id.in_(chat_ids),
            _outbox.c.status == SENDING,
        )
        .values(status=PENDING, updated_at=now)
    )


async def _status_counts(session: AsyncSession, broadcast_id: int) -> dict[str, int]:
    rows = await session.execute(
        select(OutboxMessage.status, func.count())
        .where(OutboxMessage.broadcast_id == broadcast_id)
        .group_by(OutboxMessage.status)
    )
    return {status: int(count) for status, count in rows}


async def _count_rows(session: AsyncSession, broadcast_id: int) -> int:
    count = await session.scalar(
        select(func.count()).where(OutboxMessage.broadcast_id == broadcast_id)
    )
    return int(count or 0)


async def _add_recipients(
    session: AsyncSession, broadcast_id: int, chat_ids: Sequence[int], now: datetime
) -> None:
    statement = insert_on_conflict(session, OutboxMessage).on_conflict_do_nothing(
        index_elements=[OutboxMessage.broadcast_id, OutboxMessage.chat_id]
    )
    for start in range(0, len(chat_ids), INSERT_CHUNK):
        rows = [
            {
                "broadcast_id": broadcast_id,
                "chat_id": chat_id,
                "status": PENDING,
                "attempts": 0,
                "updated_at": now,
            }
            for chat_id in chat_ids[start : start + INSERT_CHUNK]
        ]
        await session.execute(statement, rows)
