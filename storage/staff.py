"""Stores of the staff side: enrolled members per department, and the initiative queue."""

from __future__ import annotations

import logging
import uuid
from collections.abc import Collection
from dataclasses import dataclass
from datetime import date

from sqlalchemy import delete, func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from storage.models_campaigns import InitiativeItem, StaffMember

logger = logging.getLogger(__name__)

#: Member keys asked about in one statement (well under every backend's parameter limit).
_CHUNK = 500


@dataclass(frozen=True, slots=True)
class QueuedFeedback:
    id: str
    received_on: date
    department: str | None
    body_html: str


class StaffStore:
    """One public method, one transaction; member keys are HMACs, never Telegram ids."""

    def __init__(self, sessions: async_sessionmaker[AsyncSession]) -> None:
        self._sessions = sessions

    async def member_counts(self) -> dict[str, int]:
        """Enrolled members per department code."""
        async with self._sessions.begin() as session:
            rows = await session.execute(
                select(StaffMember.department, func.count()).group_by(StaffMember.department)
            )
            return {str(department): int(count) for department, count in rows}

    async def enrolled(self, member_keys: Collection[str]) -> set[str]:
        """Those of the member keys that belong to enrolled staff."""
        keys = list(member_keys)
        found: set[str] = set()
        async with self._sessions.begin() as session:
            for start in range(0, len(keys), _CHUNK):
                chunk = keys[start : start + _CHUNK]
                found.update(
                    await session.scalars(
                        select(StaffMember.member_key).where(StaffMember.member_key.in_(chunk))
                    )
                )
        return found

    async def queue_feedback(self, received_on: date, department: str | None, body: str) -> str:
        """Keep one initiative message until its batch goes out; returns its random id."""
        item_id = uuid.uuid4().hex
        async with self._sessions.begin() as session:
            session.add(
                InitiativeItem(
                    id=item_id, received_on=received_on, department=department, body_html=body
                )
            )
        return item_id

    async def due_feedback(self, before: date) -> list[QueuedFeedback]:
        """Messages received before the day, in random key order."""
        async with self._sessions.begin() as session:
            rows = await session.scalars(
                select(InitiativeItem)
                .where(InitiativeItem.received_on < before)
                .order_by(InitiativeItem.id)
            )
            return [
                QueuedFeedback(row.id, row.received_on, row.department, row.body_html)
                for row in rows
            ]

    async def drop_feedback(self, ids: Collection[str]) -> int:
        """Delete delivered messages."""
        if not ids:
            return 0
        async with self._sessions.begin() as session:
            result = await session.execute(
                delete(InitiativeItem).where(InitiativeItem.id.in_(list(ids)))
            )
        return int(getattr(result, "rowcount", 0) or 0)
