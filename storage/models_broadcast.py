"""Tables of the broadcast feature (registered on storage.models.Base)."""

from __future__ import annotations

from datetime import datetime
from typing import Final

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    ForeignKey,
    Index,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from storage.models_base import Base
from storage.types import BigIntPK, UtcDateTime

#: pending -> running (a run started; still "running" after a crash) -> done (nothing pending).
BROADCAST_STATUSES: Final = ("pending", "running", "done")
#: pending -> sending (claimed, about to go out) -> sent | blocked | failed | unknown.
#: "unknown" is a row that may or may not have reached Telegram (a crash or a lost answer left
#: it in "sending"); it is never re-sent automatically, see services.broadcast.
OUTBOX_STATUSES: Final = ("pending", "sending", "sent", "blocked", "failed", "unknown")


def _status_check(statuses: tuple[str, ...]) -> str:
    return "status IN ({})".format(", ".join(f"'{status}'" for status in statuses))


class Broadcast(Base):
    """One message for many chats (an invitation, a reminder, published results).

    ``(kind, key)`` names it, so creating it again finds the same row. The text is frozen at
    creation: a broadcast resumed after a crash must say the same thing to its second half.
    """

    __tablename__ = "broadcasts"
    __table_args__ = (
        CheckConstraint(_status_check(BROADCAST_STATUSES), name="status"),
        UniqueConstraint("kind", "key"),
    )

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=True)
    kind: Mapped[str] = mapped_column(String(32))  # invitation | reminder | results | …
    key: Mapped[str] = mapped_column(String(64))  # campaign or window, e.g. deep-2026-H1
    text: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)
    status: Mapped[str] = mapped_column(String(16))


class OutboxMessage(Base):
    """One chat's copy of a broadcast and how its delivery went.

    The chat is an invitee who opted in, never a respondent: nothing here says who answered.
    The primary key (broadcast_id, chat_id) is what keeps one broadcast from reaching a chat twice.
    """

    __tablename__ = "broadcast_outbox"
    __table_args__ = (
        CheckConstraint(_status_check(OUTBOX_STATUSES), name="status"),
        # Claiming walks one broadcast's pending rows in chat order without a scan or a sort.
        Index(None, "broadcast_id", "status", "chat_id"),
        # unreachable_chat_ids(): the blocked rows, and a later success per chat.
        Index(None, "status", "chat_id"),
    )

    broadcast_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("broadcasts.id", ondelete="CASCADE"), primary_key=True
    )
    chat_id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    status: Mapped[str] = mapped_column(String(16))
    attempts: Mapped[int] = mapped_column(default=0)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime)
