"""The ledgers of the §3.3 signals (storage.models_signals): proposals and negative batches.

Each write is idempotent: a row is inserted once per natural key and every marker is set only
while unset, so a retried tick, a restart or a second press changes nothing twice.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from storage.deliveries import fit_key
from storage.models_signals import NegativeBatch, SignalProposal
from storage.upsert import insert_on_conflict


def new_signal_id() -> str:
    """12 URL-safe random characters: short enough for callback data, unguessable."""
    return secrets.token_urlsafe(9)


@dataclass(frozen=True, slots=True)
class ProposalRow:
    id: str
    rule_id: str
    service: str
    period_start: date
    period_end: date
    fired: bool
    respondents: int
    negatives: int
    notified: bool
    window_id: int | None
    opened_on: date | None


@dataclass(frozen=True, slots=True)
class BatchRow:
    id: str
    period_key: str
    scope: str  # a service code or "*"
    period_start: date
    period_end: date
    sent_at: datetime | None
    acknowledged_on: date | None
    escalated_at: datetime | None


def _proposal(row: SignalProposal) -> ProposalRow:
    return ProposalRow(
        row.id,
        row.rule_id,
        row.service_code,
        row.period_start,
        row.period_end,
        row.fired,
        row.respondents,
        row.negatives,
        row.notified,
        row.window_id,
        row.opened_on,
    )


def _batch(row: NegativeBatch) -> BatchRow:
    return BatchRow(
        row.id,
        row.period_key,
        row.scope,
        row.period_start,
        row.period_end,
        row.sent_at,
        row.acknowledged_on,
        row.escalated_at,
    )


class SignalStore:
    def __init__(self, sessions: async_sessionmaker[AsyncSession]) -> None:
        self._sessions = sessions

    # --- proposals ------------------------------------------------------------------------

    async def find_proposal(
        self, rule_id: str, service: str, start: date, end: date
    ) -> ProposalRow | None:
        async with self._sessions.begin() as session:
            row = await session.scalar(
                select(SignalProposal).where(
                    SignalProposal.rule_id == rule_id,
                    SignalProposal.service_code == service,
                    SignalProposal.period_start == start,
                    SignalProposal.period_end == end,
                )
            )
            return _proposal(row) if row is not None else None

    async def record_proposal(
        self,
        *,
        rule_id: str,
        service: str,
        start: date,
        end: date,
        fired: bool,
        respondents: int,
        negatives: int,
        today: date,
    ) -> ProposalRow:
        """The evaluation of (rule, service, period); the first one recorded stands."""
        async with self._sessions.begin() as session:
            await session.execute(
                insert_on_conflict(session, SignalProposal)
                .values(
                    id=new_signal_id(),
                    rule_id=rule_id,
                    service_code=service,
                    period_start=start,
                    period_end=end,
                    fired=fired,
                    respondents=respondents,
                    negatives=negatives,
                    evaluated_on=today,
                    notified=False,
                )
                .on_conflict_do_nothing(
                    index_elements=[
                        SignalProposal.rule_id,
                        SignalProposal.service_code,
                        SignalProposal.period_start,
                        SignalProposal.period_end,
                    ]
                )
            )
        found = await self.find_proposal(rule_id, service, start, end)
        assert found is not None
        return found

    async def proposal(self, proposal_id: str) -> ProposalRow | None:
        async with self._sessions.begin() as session:
            row = await session.get(SignalProposal, proposal_id)
            return _proposal(row) if row is not None else None

    async def unnotified(self, since: date) -> list[ProposalRow]:
        """Fired proposals of periods ending on or after ``since`` not yet sent to everyone."""
        async with self._sessions.begin() as session:
            rows = await session.scalars(
                select(SignalProposal)
                .where(
                    SignalProposal.fired.is_(True),
                    SignalProposal.notified.is_(False),
                    SignalProposal.period_end >= since,
                )
                .order_by(SignalProposal.period_end, SignalProposal.service_code)
            )
            return [_proposal(row) for row in rows]

    async def mark_notified(self, proposal_id: str) -> None:
        async with self._sessions.begin() as session:
            await session.execute(
                update(SignalProposal)
                .where(SignalProposal.id == proposal_id)
                .values(notified=True)
            )

    async def mark_opened(self, proposal_id: str, window_id: int, today: date) -> bool:
        """Record the window opened on the proposal; False when one was recorded before."""
        async with self._sessions.begin() as session:
            result = await session.execute(
                update(SignalProposal)
                .where(SignalProposal.id == proposal_id, SignalProposal.window_id.is_(None))
                .values(window_id=window_id, opened_on=today)
            )
        return bool(getattr(result, "rowcount", 0))

    # --- negative batches -----------------------------------------------------------------

    async def ensure_batch(self, period_key: str, scope: str, start: date, end: date) -> BatchRow:
        """The ledger row of a batch, created at its first sending (a key too long for the
        column is shortened as the delivery ledger does, storage.deliveries.fit_key)."""
        period_key = fit_key(period_key)
        async with self._sessions.begin() as session:
            await session.execute(
                insert_on_conflict(session, NegativeBatch)
                .values(
                    id=new_signal_id(),
                    period_key=period_key,
                    scope=scope,
                    period_start=start,
                    period_end=end,
                )
                .on_conflict_do_nothing(
                    index_elements=[NegativeBatch.period_key, NegativeBatch.scope]
                )
            )
            row = await session.scalar(
                select(NegativeBatch).where(
                    NegativeBatch.period_key == period_key, NegativeBatch.scope == scope
                )
            )
            assert row is not None
            return _batch(row)

    async def batch(self, batch_id: str) -> BatchRow | None:
        async with self._sessions.begin() as session:
            row = await session.get(NegativeBatch, batch_id)
            return _batch(row) if row is not None else None

    async def mark_batch_sent(self, batch_id: str, now: datetime) -> None:
        """The first sending starts the escalation delay; later ones (other officers) do not."""
        async with self._sessions.begin() as session:
            await session.execute(
                update(NegativeBatch)
                .where(NegativeBatch.id == batch_id, NegativeBatch.sent_at.is_(None))
                .values(sent_at=now)
            )

    async def acknowledge(self, batch_id: str, today: date) -> bool:
        """Record the acknowledgement; False when the batch was acknowledged before."""
        async with self._sessions.begin() as session:
            result = await session.execute(
                update(NegativeBatch)
                .where(NegativeBatch.id == batch_id, NegativeBatch.acknowledged_on.is_(None))
                .values(acknowledged_on=today)
            )
        return bool(getattr(result, "rowcount", 0))

    async def overdue(self, sent_before: datetime, sent_since: datetime) -> list[BatchRow]:
        """Batches sent in [since, before), neither acknowledged nor escalated."""
        async with self._sessions.begin() as session:
            rows = await session.scalars(
                select(NegativeBatch)
                .where(
                    NegativeBatch.sent_at < sent_before,
                    NegativeBatch.sent_at >= sent_since,
                    NegativeBatch.acknowledged_on.is_(None),
                    NegativeBatch.escalated_at.is_(None),
                )
                .order_by(NegativeBatch.period_start, NegativeBatch.scope)
            )
            return [_batch(row) for row in rows]

    async def mark_escalated(self, batch_id: str, now: datetime) -> None:
        async with self._sessions.begin() as session:
            await session.execute(
                update(NegativeBatch)
                .where(NegativeBatch.id == batch_id, NegativeBatch.escalated_at.is_(None))
                .values(escalated_at=now)
            )
