"""FunnelStore on SQLite and PostgreSQL: deltas add up per counter, nothing else is stored."""

from __future__ import annotations

from datetime import date

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from storage.funnel import COMPLETED, STARTED, FunnelKey, FunnelStore, at_question
from storage.models import FunnelCount

DAY = date(2026, 11, 2)


def _key(step: str, service: str = "s1") -> FunnelKey:
    return (DAY, "rating", service, "site", step, "telegram")


async def _counts(sessions: async_sessionmaker[AsyncSession]) -> dict[tuple[str, str], int]:
    async with sessions() as session:
        rows = await session.execute(
            select(FunnelCount.service_code, FunnelCount.step, FunnelCount.count)
        )
        return {(service, step): count for service, step, count in rows}


async def test_deltas_add_to_the_counters_they_name(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    store = FunnelStore(sessions)

    first = await store.add({_key(STARTED): 3, _key(at_question("overall")): 3})
    second = await store.add(
        {_key(at_question("overall")): -2, _key(COMPLETED): 2, _key(STARTED, "s2"): 1}
    )

    assert (first, second) == (2, 3)
    assert await _counts(sessions) == {
        ("s1", STARTED): 3,
        ("s1", "@overall"): 1,
        ("s1", COMPLETED): 2,
        ("s2", STARTED): 1,
    }


async def test_nothing_to_add_touches_no_row(sessions: async_sessionmaker[AsyncSession]) -> None:
    assert await FunnelStore(sessions).add({}) == 0
    assert await _counts(sessions) == {}
