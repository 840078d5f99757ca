"""The appeals register (Procedure §3.5): what a body's register says about each appeal, and
nothing about who wrote it."""

from __future__ import annotations

from datetime import date

from sqlalchemy import Date, Index, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from questionnaires.appeals import REGISTER_NO_LENGTH
from storage.models_base import CODE_LENGTH, Base

#: Kinds of appeal the register distinguishes; §3.5 counts outcomes among complaints.
APPEAL_KINDS = ("appeal", "complaint", "suggestion")
#: Outcomes of consideration: a complaint "satisfied" or "rejected" is what §3.5 counts.
APPEAL_OUTCOMES = ("satisfied", "explained", "rejected", "in_progress")
SOURCE_LENGTH = 64


class Appeal(Base):
    """One appeal of an imported register: codes and a day, no person, no free text.

    Keyed for re-import by (source, register number): different appeals often share every
    other field. The id is random and the table has no rowid on SQLite, so the file's row
    order does not follow the order of import.
    """

    __tablename__ = "appeals"
    __table_args__ = (
        UniqueConstraint("source", "register_no"),
        # The quarterly monitoring reads a range of days and groups by these columns only.
        Index(None, "received_on", "kind", "outcome", "channel", "topic", "reason"),
        {"sqlite_with_rowid": False},
    )

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    source: Mapped[str] = mapped_column(String(SOURCE_LENGTH))
    register_no: Mapped[str] = mapped_column(String(REGISTER_NO_LENGTH))
    # The day as the register has it: never a time of day.
    received_on: Mapped[date] = mapped_column(Date)
    kind: Mapped[str] = mapped_column(String(16))
    outcome: Mapped[str | None] = mapped_column(String(16))
    channel: Mapped[str | None] = mapped_column(String(CODE_LENGTH))
    topic: Mapped[str | None] = mapped_column(String(CODE_LENGTH))
    reason: Mapped[str | None] = mapped_column(String(CODE_LENGTH))
    service_code: Mapped[str | None] = mapped_column(String(CODE_LENGTH))
    life_situation_code: Mapped[str | None] = mapped_column(String(CODE_LENGTH))


class AppealQuarterCount(Base):
    """Appeals per quarter and combination of monitored codes, recounted by every import.

    Imports are rare and reports frequent: the §3.5 monitoring reads these few rows instead
    of sorting a quarter's appeals by five columns. '' stands for a missing code (primary key
    columns cannot hold NULL).
    """

    __tablename__ = "appeal_counts"
    __table_args__ = ({"sqlite_with_rowid": False},)

    quarter_start: Mapped[date] = mapped_column(Date, primary_key=True)
    kind: Mapped[str] = mapped_column(String(16), primary_key=True)
    outcome: Mapped[str] = mapped_column(String(16), primary_key=True)
    channel: Mapped[str] = mapped_column(String(CODE_LENGTH), primary_key=True)
    topic: Mapped[str] = mapped_column(String(CODE_LENGTH), primary_key=True)
    reason: Mapped[str] = mapped_column(String(CODE_LENGTH), primary_key=True)
    count: Mapped[int]
