"""The pain map's tables on SQLite and PostgreSQL: measures with their status days, all or
nothing, overdue ones; no table keeps a rowid."""

from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from storage.painmap import (
    Figures,
    FoundPain,
    MeasureEdit,
    NewMeasure,
    PainMapStore,
    ProcessKey,
    Satisfaction,
    Span,
)

OCTOBER = Span(date(2026, 10, 1), date(2026, 10, 31))
LICENSING = ProcessKey("service", "licensing")


async def _pain(store: PainMapStore) -> str:
    [pain_id] = await store.save_period(
        LICENSING,
        OCTOBER,
        Satisfaction(False, 20, 60.0, 3.5),
        [
            FoundPain(
                "rating_problem", "obstacles:queue", "Очередь", Figures(False, 8, 0.4, 2, 1.2)
            )
        ],
        absent={},
        today=date(2026, 11, 1),
    )
    return pain_id


async def test_measures_keep_the_day_of_each_status(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    store = PainMapStore(sessions)
    pain_id = await _pain(store)
    key = await store.add_measure(
        NewMeasure(pain_id, "Второе окно", "Отдел", date(2026, 12, 1)), date(2026, 11, 2)
    )
    assert await store.edit(MeasureEdit(key, status="in_progress"), date(2026, 11, 3))
    assert await store.edit(MeasureEdit(key, status="done"), date(2026, 11, 20))
    measure = await store.measure(key)
    assert measure is not None
    assert (measure.created_on, measure.started_on, measure.done_on, measure.dropped_on) == (
        date(2026, 11, 2),
        date(2026, 11, 3),
        date(2026, 11, 20),
        None,
    )
    assert not await store.edit(MeasureEdit("0" * 32, status="done"), date(2026, 11, 20))


async def test_overdue_are_open_measures_past_their_deadline(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    store = PainMapStore(sessions)
    pain_id = await _pain(store)
    today = date(2026, 12, 2)
    late = await store.add_measure(NewMeasure(pain_id, "a", "x", date(2026, 12, 1)), today)
    await store.add_measure(NewMeasure(pain_id, "b", "x", date(2026, 12, 2)), today)
    await store.add_measure(NewMeasure(pain_id, "c", "x", date(2026, 11, 1), "done"), today)
    await store.add_measure(NewMeasure(pain_id, "d", "x", date(2026, 11, 1), "dropped"), today)
    assert [m.id for m in await store.overdue(today)] == [late]


async def test_a_batch_of_measures_is_written_whole_or_not_at_all(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    store = PainMapStore(sessions)
    pain_id = await _pain(store)
    good = NewMeasure(pain_id, "a", "x", date(2027, 1, 1))
    orphan = NewMeasure("f" * 32, "b", "x", date(2027, 1, 1))
    with pytest.raises(IntegrityError):
        await store.apply([good, orphan], [], date(2026, 12, 1))
    assert await store.measures([pain_id]) == []


async def test_a_measure_saved_again_under_its_key_is_stored_once(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    # A process killed after the measure's commit and before its draft was cleared saves the
    # same draft again: its key makes that the measure already stored.
    store = PainMapStore(sessions)
    pain_id = await _pain(store)
    key = "a" * 32
    measure = NewMeasure(pain_id, "Второе окно", "Отдел", date(2026, 12, 1), key=key)
    assert await store.add_measure(measure, date(2026, 11, 2)) == key
    assert await store.add_measure(measure, date(2026, 11, 3)) == key
    [stored] = await store.measures([pain_id])
    assert (stored.id, stored.created_on) == (key, date(2026, 11, 2))
    other = await store.add_measure(
        NewMeasure(pain_id, "Второе окно", "Отдел", date(2026, 12, 1)), date(2026, 11, 3)
    )
    assert other != key and len(await store.measures([pain_id])) == 2


async def test_a_refresh_again_replaces_the_periods_figures(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    store = PainMapStore(sessions)
    pain_id = await _pain(store)
    await store.save_period(
        LICENSING,
        OCTOBER,
        Satisfaction(hidden=True),
        [],
        absent={"rating_problem": Figures(hidden=True)},
        today=date(2026, 11, 2),
    )
    [record] = (await store.figures([pain_id]))[pain_id]
    assert record.figures == Figures(hidden=True)
    [csat] = await store.satisfaction(LICENSING)
    assert csat.satisfaction == Satisfaction(hidden=True)


async def test_no_pain_map_table_keeps_a_rowid(engine: AsyncEngine) -> None:
    if engine.dialect.name != "sqlite":
        pytest.skip("rowids are SQLite's")
    async with engine.connect() as connection:
        for table in ("pains", "pain_figures", "process_figures", "pain_measures"):
            with pytest.raises(Exception, match="rowid"):
                await connection.execute(text(f"SELECT rowid FROM {table}"))
