"""SignalStore on SQLite and PostgreSQL: one row per natural key, markers set once."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from storage.signals import SignalStore

OCT = (date(2026, 10, 1), date(2026, 10, 31))
NOW = datetime(2026, 11, 1, 1, 0, tzinfo=UTC)


async def test_a_proposal_is_recorded_once_and_opened_once(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    store = SignalStore(sessions)
    first = await store.record_proposal(
        rule_id="r",
        service="licensing",
        start=OCT[0],
        end=OCT[1],
        fired=True,
        respondents=10,
        negatives=6,
        today=date(2026, 11, 1),
    )
    # A second evaluation (another process, a retried tick) leaves the first one standing.
    again = await store.record_proposal(
        rule_id="r",
        service="licensing",
        start=OCT[0],
        end=OCT[1],
        fired=False,
        respondents=11,
        negatives=0,
        today=date(2026, 11, 2),
    )
    assert again == first and first.fired and first.respondents == 10
    assert len(first.id) == 12 and first.id.replace("-", "").replace("_", "").isalnum()
    assert [p.id for p in await store.unnotified(since=date(2026, 10, 1))] == [first.id]
    assert await store.unnotified(since=date(2026, 11, 1)) == []  # an older period
    await store.mark_notified(first.id)
    assert await store.unnotified(since=date(2026, 10, 1)) == []
    assert await store.mark_opened(first.id, 7, date(2026, 11, 3))
    assert not await store.mark_opened(first.id, 8, date(2026, 11, 4))
    opened = await store.proposal(first.id)
    assert opened is not None and (opened.window_id, opened.opened_on) == (7, date(2026, 11, 3))
    assert await store.proposal("nope") is None


async def test_a_batch_escalates_only_when_overdue_and_unacknowledged(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    store = SignalStore(sessions)
    batch = await store.ensure_batch("2026-10-01:*", "*", *OCT)
    assert await store.ensure_batch("2026-10-01:*", "*", *OCT) == batch
    other = await store.ensure_batch("2026-10-01:licensing", "licensing", *OCT)
    assert other.id != batch.id
    # Never sent: not overdue, whatever the time.
    assert await store.overdue(NOW + timedelta(days=9), NOW - timedelta(days=9)) == []
    await store.mark_batch_sent(batch.id, NOW)
    await store.mark_batch_sent(batch.id, NOW + timedelta(hours=5))  # the first sending counts
    await store.mark_batch_sent(other.id, NOW)
    assert await store.overdue(NOW, NOW - timedelta(days=1)) == []
    due = await store.overdue(NOW + timedelta(minutes=1), NOW - timedelta(days=1))
    assert {b.id for b in due} == {batch.id, other.id}
    assert all(b.sent_at == NOW for b in due)
    assert await store.acknowledge(other.id, date(2026, 11, 1))
    assert not await store.acknowledge(other.id, date(2026, 11, 2))
    await store.mark_escalated(batch.id, NOW + timedelta(days=2))
    assert await store.overdue(NOW + timedelta(days=3), NOW - timedelta(days=1)) == []
    escalated = await store.batch(batch.id)
    assert escalated is not None and escalated.escalated_at == NOW + timedelta(days=2)
