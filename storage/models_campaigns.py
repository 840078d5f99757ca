"""Tables of the campaigns feature (registered on storage.models.Base)."""

from __future__ import annotations

from datetime import date, datetime
from typing import Final

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    Date,
    ForeignKey,
    SmallInteger,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from storage.models_base import CODE_LENGTH, DEDUP_KEY_LENGTH, Base
from storage.types import BigIntPK, UtcDateTime

WINDOW_STATUSES: Final = ("scheduled", "open", "closed")
WINDOW_ORIGINS: Final = ("schedule", "officer")
CAMPAIGN_AUDIENCES: Final = ("external", "staff")
DEPARTMENT_LENGTH: Final = 64


def _in(column: str, values: tuple[str, ...]) -> str:
    return "{} IN ({})".format(column, ", ".join(f"'{value}'" for value in values))


class PollWindow(Base):
    """One run of a campaign: open from the start of `opens_on` to the end of `closes_on`.

    The markers record what went out, so a tick after a crash or downtime sends nothing twice.
    """

    __tablename__ = "poll_windows"
    __table_args__ = (
        CheckConstraint(_in("status", WINDOW_STATUSES), name="status"),
        CheckConstraint(_in("origin", WINDOW_ORIGINS), name="origin"),
        CheckConstraint(_in("audience", CAMPAIGN_AUDIENCES), name="audience"),
        CheckConstraint("closes_on >= opens_on", name="span"),
        # One run of a campaign per opening day: opening again finds the same row.
        UniqueConstraint("campaign_id", "opens_on"),
    )

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=True)
    campaign_id: Mapped[str] = mapped_column(String(CODE_LENGTH))
    questionnaire_id: Mapped[str] = mapped_column(String(CODE_LENGTH))
    audience: Mapped[str] = mapped_column(String(16))
    # Days in the body's time zone; closes_on is the last day, inclusive.
    opens_on: Mapped[date] = mapped_column(Date)
    closes_on: Mapped[date] = mapped_column(Date)
    status: Mapped[str] = mapped_column(String(16))
    origin: Mapped[str] = mapped_column(String(16))
    opened_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    closed_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    invited_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    # Reminders handled (sent, or skipped after downtime), in order: reminder k is done iff
    # reminders_done >= k.
    reminders_done: Mapped[int] = mapped_column(SmallInteger, default=0)
    results_sent_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    published_at: Mapped[datetime | None] = mapped_column(UtcDateTime)


class StaffMember(Base):
    """An enrolled staff member: only HMAC(pepper, Telegram user id) and a coarse department."""

    __tablename__ = "staff_members"
    # No rowid on SQLite: the file keeps the rows in key order, not in enrolment order.
    __table_args__ = ({"sqlite_with_rowid": False},)

    member_key: Mapped[str] = mapped_column(String(DEDUP_KEY_LENGTH), primary_key=True)
    department: Mapped[str] = mapped_column(String(DEPARTMENT_LENGTH))
    enrolled_on: Mapped[date] = mapped_column(Date)


class InviteCode(Base):
    """A one-time enrollment code handed to a staff member; only its keyed hash is kept."""

    __tablename__ = "invite_codes"
    # No rowid on SQLite: the file keeps the codes in hash order, not in the order made.
    __table_args__ = ({"sqlite_with_rowid": False},)

    code_hash: Mapped[str] = mapped_column(String(DEDUP_KEY_LENGTH), primary_key=True)
    department: Mapped[str] = mapped_column(String(DEPARTMENT_LENGTH))
    created_on: Mapped[date] = mapped_column(Date)
    used_on: Mapped[date | None] = mapped_column(Date)


class Publication(Base):
    """The anonymised results of a closed window as published (Procedure §3.13)."""

    __tablename__ = "publications"

    window_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("poll_windows.id", ondelete="CASCADE"), primary_key=True
    )
    text_html: Mapped[str] = mapped_column(Text)
    published_on: Mapped[date] = mapped_column(Date)


class InitiativeItem(Base):
    """Initiative feedback of a staff member waiting for the daily batch (Procedure §4.5).

    Deleted once delivered. The id is random and the day is the only time kept; the table has
    no rowid on SQLite, so neither the key nor the file's row order follows arrival.
    """

    __tablename__ = "initiative_queue"
    __table_args__ = ({"sqlite_with_rowid": False},)

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    received_on: Mapped[date] = mapped_column(Date)
    # The department as it may be shown on arrival (None: merged or not a member's).
    department: Mapped[str | None] = mapped_column(String(DEPARTMENT_LENGTH))
    body_html: Mapped[str] = mapped_column(Text)
