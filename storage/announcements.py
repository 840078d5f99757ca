"""The ledger of «вы сказали — мы сделали» announcements: one public method, one transaction."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from storage.models_announcements import AnnouncedMeasure, Announcement


@dataclass(frozen=True, slots=True)
class AnnouncementRecord:
    key: str
    broadcast_id: int
    created_on: date
    finished: bool


class AnnouncementStore:
    def __init__(self, sessions: async_sessionmaker[AsyncSession]) -> None:
        self._sessions = sessions

    async def announced(self) -> set[str]:
        """Ids of the measures some announcement already told of."""
        async with self._sessions.begin() as session:
            return set(await session.scalars(select(AnnouncedMeasure.measure_id)))

    async def record(
        self, key: str, broadcast_id: int, measure_ids: Sequence[str], today: date
    ) -> bool:
        """Record the announcement and its measures; False when ``key`` was recorded before
        (a retry after a crash between creating the broadcast and this)."""
        async with self._sessions.begin() as session:
            if await session.get(Announcement, key) is not None:
                return False
            session.add(
                Announcement(key=key, broadcast_id=broadcast_id, created_on=today, finished=False)
            )
            await session.flush()
            session.add_all(
                AnnouncedMeasure(measure_id=measure_id, announcement=key)
                for measure_id in measure_ids
            )
        return True

    async def unfinished(self) -> list[AnnouncementRecord]:
        """Announcements whose broadcast still has chats to try, oldest first."""
        statement = (
            select(Announcement)
            .where(Announcement.finished.is_(False))
            .order_by(Announcement.created_on, Announcement.key)
        )
        async with self._sessions.begin() as session:
            return [
                AnnouncementRecord(row.key, row.broadcast_id, row.created_on, row.finished)
                for row in await session.scalars(statement)
            ]

    async def finish(self, key: str) -> None:
        async with self._sessions.begin() as session:
            await session.execute(
                update(Announcement).where(Announcement.key == key).values(finished=True)
            )

    async def measures_of(self, key: str) -> list[str]:
        async with self._sessions.begin() as session:
            statement = select(AnnouncedMeasure.measure_id).where(
                AnnouncedMeasure.announcement == key
            )
            return sorted(await session.scalars(statement))
