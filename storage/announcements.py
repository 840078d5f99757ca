"""The ledger of «вы сказали — мы сделали» announcements: one public method, one transaction."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from storage.models_announcements import (
    AnnouncedMeasure,
    Announcement,
    AnnouncementBroadcast,
)


@dataclass(frozen=True, slots=True)
class AnnouncementRecord:
    key: str
    broadcast_ids: tuple[int, ...]
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
        self, key: str, broadcast_ids: Sequence[int], measure_ids: Sequence[str], today: date
    ) -> bool:
        """Record the announcement, its broadcasts (the body-wide one first) and its measures;
        False when ``key`` was recorded before (a retry after a crash between creating the
        broadcasts and this)."""
        if not broadcast_ids:
            raise ValueError("an announcement needs its body-wide broadcast")
        async with self._sessions.begin() as session:
            if await session.get(Announcement, key) is not None:
                return False
            session.add(
                Announcement(
                    key=key, broadcast_id=broadcast_ids[0], created_on=today, finished=False
                )
            )
            await session.flush()
            session.add_all(
                AnnouncementBroadcast(announcement=key, broadcast_id=broadcast_id)
                for broadcast_id in dict.fromkeys(broadcast_ids)
            )
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
            rows = list(await session.scalars(statement))
            broadcasts: dict[str, list[int]] = {}
            if rows:
                found = select(
                    AnnouncementBroadcast.announcement, AnnouncementBroadcast.broadcast_id
                ).where(AnnouncementBroadcast.announcement.in_([row.key for row in rows]))
                for key, broadcast_id in await session.execute(found):
                    broadcasts.setdefault(key, []).append(broadcast_id)
        records = []
        for row in rows:
            # The body-wide broadcast first, then the services' in the order they were made.
            others = sorted(b for b in broadcasts.get(row.key, []) if b != row.broadcast_id)
            ids = (row.broadcast_id, *others)
            records.append(AnnouncementRecord(row.key, ids, row.created_on, row.finished))
        return records

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
