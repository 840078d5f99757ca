"""Ledgers of the §3.3 signals: extra-poll proposals and batches of negative ratings.

Both hold what officers were told and did, never anything about a respondent: a service code,
a closed period, figures already shown in the officer's report, and whether an officer reacted.
Keys are random and the tables have no rowid on SQLite, like every table of this database.
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import Date, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from questionnaires.triggers import SIGNAL_ID_LENGTH
from storage.models_base import CODE_LENGTH, LEDGER_KEY_LENGTH, Base
from storage.types import UtcDateTime

RULE_ID_LENGTH = 64
PROPOSAL_KEY = "uq_signal_proposals_rule_service_period"


class SignalProposal(Base):
    """One trigger rule evaluated for one service over one closed period (Procedure §3.3).

    Written once per (rule, service, period), whether the rule fired or not, so each period is
    evaluated and proposed once; ``window_id`` is set when an officer opened the extra poll.
    """

    __tablename__ = "signal_proposals"
    __table_args__ = (
        # Named by hand: the conventional name is longer than PostgreSQL's 63 characters.
        UniqueConstraint(
            "rule_id", "service_code", "period_start", "period_end", name=PROPOSAL_KEY
        ),
        {"sqlite_with_rowid": False},
    )

    id: Mapped[str] = mapped_column(String(SIGNAL_ID_LENGTH), primary_key=True)
    rule_id: Mapped[str] = mapped_column(String(RULE_ID_LENGTH))
    service_code: Mapped[str] = mapped_column(String(CODE_LENGTH))
    period_start: Mapped[date] = mapped_column(Date)
    period_end: Mapped[date] = mapped_column(Date)
    fired: Mapped[bool]
    # The figures of the officer's report the rule read (0 when they were suppressed).
    respondents: Mapped[int]
    negatives: Mapped[int]
    evaluated_on: Mapped[date] = mapped_column(Date)
    # Every officer of the service was sent the proposal (see storage.deliveries).
    notified: Mapped[bool] = mapped_column(default=False)
    window_id: Mapped[int | None]
    opened_on: Mapped[date | None] = mapped_column(Date)


class NegativeBatch(Base):
    """A batch of strongly negative ratings sent for one closed period and scope.

    ``scope`` is a service code, or ``*`` for the batch over all services. The batch escalates
    to the escalation officers once when nobody acknowledged it in time.
    """

    __tablename__ = "negative_batches"
    __table_args__ = (
        UniqueConstraint("period_key", "scope"),
        {"sqlite_with_rowid": False},
    )

    id: Mapped[str] = mapped_column(String(SIGNAL_ID_LENGTH), primary_key=True)
    period_key: Mapped[str] = mapped_column(String(LEDGER_KEY_LENGTH))
    scope: Mapped[str] = mapped_column(String(CODE_LENGTH))
    period_start: Mapped[date] = mapped_column(Date)
    period_end: Mapped[date] = mapped_column(Date)
    # When an officer first got it: the escalation delay counts from here.
    sent_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    acknowledged_on: Mapped[date | None] = mapped_column(Date)
    # Every escalation officer got it (see storage.deliveries).
    escalated_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
