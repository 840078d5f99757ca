"""Ledger keys of any length fit the 64-character key columns (deliveries, negative batches):
`<period>:<service code>` with a code as long as the code columns allow (64) still claims once,
on SQLite (which would keep an over-long value) and on PostgreSQL (which refuses it)."""

from __future__ import annotations

from datetime import UTC, date, datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from storage.deliveries import SENT, DeliveryStore, fit_key
from storage.models_base import CODE_LENGTH, LEDGER_KEY_LENGTH
from storage.models_delivery import Delivery
from storage.signals import SignalStore

NOW = datetime(2026, 7, 1, 9, 0, tzinfo=UTC)
LONG_CODE = ("service-" * 8)[: CODE_LENGTH - 1] + "a"  # as long as a code column holds
OTHER_CODE = LONG_CODE[:-1] + "b"  # the same head: only the end tells them apart


def test_a_short_key_is_kept_and_a_long_one_is_shortened_stably() -> None:
    assert len(LONG_CODE) == CODE_LENGTH
    assert fit_key("2026-H1:licensing") == "2026-H1:licensing"
    key = f"2026-H1:{LONG_CODE}"
    assert len(key) > LEDGER_KEY_LENGTH
    fitted = fit_key(key)
    assert len(fitted) == LEDGER_KEY_LENGTH and fitted.startswith("2026-H1:service-")
    assert fit_key(key) == fitted  # stable: a retry finds its own row
    assert fit_key(f"2026-H1:{OTHER_CODE}") != fitted


async def test_a_delivery_with_a_long_service_code_is_claimed_once(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    store = DeliveryStore(sessions)
    key, other = f"2026-H1:{LONG_CODE}", f"2026-H1:{OTHER_CODE}"
    assert await store.claim("semiannual", key, 7, NOW, NOW)
    assert not await store.claim("semiannual", key, 7, NOW, NOW)  # the same delivery
    assert await store.claim("semiannual", other, 7, NOW, NOW)  # another service's
    await store.finish("semiannual", key, 7, NOW, ok=True)
    assert await store.status("semiannual", key, 7) == SENT
    assert await store.status("semiannual", other, 7) != SENT
    async with sessions() as session:
        stored = list(await session.scalars(select(Delivery.period_key)))
    assert len(stored) == 2 and all(len(k) <= LEDGER_KEY_LENGTH for k in stored)


async def test_a_negative_batch_with_a_long_key_is_one_row(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    store = SignalStore(sessions)
    key = f"2026-06-01:{LONG_CODE}"
    first = await store.ensure_batch(key, LONG_CODE, date(2026, 6, 1), date(2026, 6, 30))
    again = await store.ensure_batch(key, LONG_CODE, date(2026, 6, 1), date(2026, 6, 30))
    assert again.id == first.id
