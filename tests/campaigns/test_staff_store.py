"""The staff store on SQLite and PostgreSQL: members per department, enrolled keys, and the
initiative queue (random keys, the day only, deleted after delivery)."""

from __future__ import annotations

from datetime import date

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from storage.models_campaigns import StaffMember
from storage.staff import StaffStore


async def test_members_are_counted_per_department_and_keys_checked_in_bulk(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    async with sessions.begin() as session:
        for n, department in enumerate(["hr", "hr", "it", "hr"]):
            session.add(
                StaffMember(
                    member_key=f"k{n}", department=department, enrolled_on=date(2026, 1, 1)
                )
            )
    store = StaffStore(sessions)
    assert await store.member_counts() == {"hr": 3, "it": 1}
    asked = {f"k{n}" for n in range(1200)}  # more than one statement's worth
    assert await store.enrolled(asked) == {"k0", "k1", "k2", "k3"}
    assert await store.enrolled(set()) == set()


async def test_the_initiative_queue_keeps_the_day_only_and_forgets_delivered_items(
    sessions: async_sessionmaker[AsyncSession], engine: AsyncEngine
) -> None:
    store = StaffStore(sessions)
    ids = [
        await store.queue_feedback(date(2026, 11, day), "hr" if day == 23 else None, f"m{day}")
        for day in (22, 23, 24)
    ]
    assert len(set(ids)) == 3 and all(len(item) == 32 for item in ids)
    due = await store.due_feedback(before=date(2026, 11, 24))
    assert sorted(item.body_html for item in due) == ["m22", "m23"]
    assert {item.department for item in due} == {None, "hr"}
    async with engine.connect() as connection:
        columns = (await connection.execute(text("SELECT * FROM initiative_queue"))).keys()
    assert set(columns) == {"id", "received_on", "department", "body_html"}
    assert await store.drop_feedback([item.id for item in due]) == 2
    assert [item.body_html for item in await store.due_feedback(before=date(2026, 12, 1))] == [
        "m24"
    ]
