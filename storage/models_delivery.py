"""Tables of scheduled deliveries: which report went to which officer, so none goes twice."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import BigInteger, Date, SmallInteger, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from storage.models_base import LEDGER_KEY_LENGTH, Base
from storage.types import BigIntPK, UtcDateTime


class Delivery(Base):
    """One report for one officer and one period; the unique key makes sending idempotent.

    The recipient is an officer (configured in settings or the catalog), never a respondent.
    """

    __tablename__ = "deliveries"
    __table_args__ = (UniqueConstraint("kind", "period_key", "recipient"),)

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=True)
    kind: Mapped[str] = mapped_column(String(32))  # digest | semiannual | …
    # e.g. 2026-W47, 2026-H1, 2026-H1:licensing (storage.deliveries.fit_key)
    period_key: Mapped[str] = mapped_column(String(LEDGER_KEY_LENGTH))
    recipient: Mapped[int] = mapped_column(BigInteger)
    status: Mapped[str] = mapped_column(String(16))  # claimed | sent | failed
    due_at: Mapped[datetime] = mapped_column(UtcDateTime)  # when the schedule fired
    claimed_at: Mapped[datetime] = mapped_column(UtcDateTime)
    sent_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    attempts: Mapped[int] = mapped_column(default=0)


class Installation(Base):
    """The day the bot started working on this database (one row, ``id`` 1).

    Scheduled reports are due only for periods ending on or after it: a fresh installation
    sends no report on periods it never saw (issue 10, item 8).
    """

    __tablename__ = "installation"

    id: Mapped[int] = mapped_column(SmallInteger, primary_key=True, autoincrement=False)
    installed_on: Mapped[date] = mapped_column(Date)
