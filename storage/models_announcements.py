"""«Вы сказали — мы сделали»: which done measures were announced to the citizens who opted in.

An announcement is one broadcast (services.broadcast) listing the measures done since the
previous one; each measure is announced once (its id is the key of ``announced_measures``).
Nothing here names a chat: who got the message is the broadcast outbox's business.
"""

from __future__ import annotations

from datetime import date

from sqlalchemy import ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from storage.models_base import Base

KEY_LENGTH = 32


class Announcement(Base):
    """One message to everyone opted in to the results topic."""

    __tablename__ = "announcements"
    __table_args__ = ({"sqlite_with_rowid": False},)

    key: Mapped[str] = mapped_column(String(KEY_LENGTH), primary_key=True)
    broadcast_id: Mapped[int] = mapped_column(Integer)
    created_on: Mapped[date]
    #: Every chat has an outcome (sent, blocked, failed or unknown): nothing to resume.
    finished: Mapped[bool]


class AnnouncedMeasure(Base):
    """A done measure and the announcement that told of it (at most one)."""

    __tablename__ = "announced_measures"
    __table_args__ = ({"sqlite_with_rowid": False},)

    measure_id: Mapped[str] = mapped_column(String(32), primary_key=True)
    announcement: Mapped[str] = mapped_column(
        String(KEY_LENGTH), ForeignKey("announcements.key", ondelete="CASCADE"), index=True
    )


class AnnouncementBroadcast(Base):
    """Every broadcast of an announcement (revision 0027): the body-wide one
    (``Announcement.broadcast_id``) and one per set of measures told to subscribers of services
    only. Names no chat."""

    __tablename__ = "announcement_broadcasts"
    __table_args__ = ({"sqlite_with_rowid": False},)

    announcement: Mapped[str] = mapped_column(
        String(KEY_LENGTH), ForeignKey("announcements.key", ondelete="CASCADE"), primary_key=True
    )
    broadcast_id: Mapped[int] = mapped_column(Integer, primary_key=True)
