"""Records scheduled deliveries so a due report is sent once: claimed, then marked sent."""

from __future__ import annotations

import hashlib
import logging
from datetime import date, datetime, timedelta
from typing import Final

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from storage.models import Response
from storage.models_base import LEDGER_KEY_LENGTH
from storage.models_delivery import Delivery, Installation
from storage.upsert import insert_on_conflict

logger = logging.getLogger(__name__)

#: The hex digits that stand for the tail of a key too long for the ledger's column.
_TAIL_DIGITS: Final = 20

CLAIMED = "claimed"
SENT = "sent"
FAILED = "failed"


def fit_key(key: str, length: int = LEDGER_KEY_LENGTH) -> str:
    """`key` as the ledger stores it: itself when it fits the column; else its head with a
    stable digest of the whole key in place of the tail (``2026-H1:<long code>`` keeps
    ``2026-H1:…`` readable), so two long keys stay apart and one key always maps the same."""
    if len(key) <= length:
        return key
    digest = hashlib.blake2b(key.encode(), digest_size=_TAIL_DIGITS // 2).hexdigest()
    return f"{key[: length - _TAIL_DIGITS - 1]}~{digest}"


class DeliveryStore:
    """One row per (kind, period, recipient); the unique key makes a second claim fail."""

    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        *,
        stale_claim: timedelta = timedelta(minutes=30),
    ) -> None:
        self._sessions = sessions
        self._stale_claim = stale_claim

    async def claim(
        self, kind: str, period_key: str, recipient: int, now: datetime, due_at: datetime
    ) -> bool:
        """Take the delivery for sending; False when it was sent or is being sent.

        A failed attempt, or a claim left by a process that died more than `stale_claim` ago,
        may be taken again: a report is re-sent rather than skipped after a crash in the few
        milliseconds between sending and recording it.
        """
        period_key = fit_key(period_key)
        async with self._sessions.begin() as session:
            insert = insert_on_conflict(session, Delivery).values(
                kind=kind,
                period_key=period_key,
                recipient=recipient,
                status=CLAIMED,
                due_at=due_at,
                claimed_at=now,
                attempts=1,
            )
            statement = insert.on_conflict_do_update(
                index_elements=[Delivery.kind, Delivery.period_key, Delivery.recipient],
                set_={
                    "status": CLAIMED,
                    "claimed_at": now,
                    "attempts": Delivery.attempts + 1,
                },
                where=(Delivery.status == FAILED)
                | ((Delivery.status == CLAIMED) & (Delivery.claimed_at < now - self._stale_claim)),
            ).returning(Delivery.id)
            claimed = (await session.execute(statement)).scalar_one_or_none()
        return claimed is not None

    async def finish(
        self, kind: str, period_key: str, recipient: int, now: datetime, *, ok: bool
    ) -> None:
        period_key = fit_key(period_key)
        async with self._sessions.begin() as session:
            await session.execute(
                update(Delivery)
                .where(
                    Delivery.kind == kind,
                    Delivery.period_key == period_key,
                    Delivery.recipient == recipient,
                )
                .values(status=SENT if ok else FAILED, sent_at=now if ok else None)
            )

    async def installed_on(self, today: date) -> date:
        """The installation day, recorded at the first call: ``today``, or on a database that
        already holds answers or deliveries (an upgrade) the earliest day among them."""
        async with self._sessions.begin() as session:
            known: date | None = await session.scalar(select(Installation.installed_on))
            if known is not None:
                return known
            first_answer = await session.scalar(select(func.min(Response.submitted_on)))
            first_due = await session.scalar(select(func.min(Delivery.due_at)))
            days = [today, first_answer, first_due.date() if first_due is not None else None]
            day = min(d for d in days if d is not None)
            await session.execute(
                insert_on_conflict(session, Installation)
                .values(id=1, installed_on=day)
                .on_conflict_do_nothing(index_elements=[Installation.id])
            )
            # Another process may have written it first: its day stands.
            stored: date | None = await session.scalar(select(Installation.installed_on))
        assert stored is not None
        return stored

    async def failed(self, kind: str) -> list[str]:
        """The period keys of this kind whose last attempt failed, in key order (to retry)."""
        async with self._sessions.begin() as session:
            keys = await session.scalars(
                select(Delivery.period_key)
                .where(Delivery.kind == kind, Delivery.status == FAILED)
                .distinct()
                .order_by(Delivery.period_key)
            )
            return list(keys)

    async def last_due(self, kind: str) -> datetime | None:
        """When the newest occurrence of this kind that was ever claimed fell due."""
        async with self._sessions.begin() as session:
            return await session.scalar(
                select(func.max(Delivery.due_at)).where(Delivery.kind == kind)
            )

    async def status(self, kind: str, period_key: str, recipient: int) -> str | None:
        period_key = fit_key(period_key)
        async with self._sessions.begin() as session:
            return await session.scalar(
                select(Delivery.status).where(
                    Delivery.kind == kind,
                    Delivery.period_key == period_key,
                    Delivery.recipient == recipient,
                )
            )

    async def latest_sent(self, kind: str, recipient: int) -> str | None:
        """The greatest period key of this kind already sent to the recipient (keys that sort
        by date, such as ``initiative-2026-11-24``, give the newest one)."""
        async with self._sessions.begin() as session:
            return await session.scalar(
                select(func.max(Delivery.period_key)).where(
                    Delivery.kind == kind,
                    Delivery.recipient == recipient,
                    Delivery.status == SENT,
                )
            )
