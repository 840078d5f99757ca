"""A database reader against per-service news (issue 11, item 3): the subscription is made
seconds after the only rating of a rare service. Nothing in ``service_news`` dates it, and
neither its key nor its place in the file follows the order it came in, so it pairs with no
response better than the service alone does (the citizen's explicit choice)."""

from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import inspect, text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncEngine

from questionnaires.messengers import max_chat
from storage import opt_ins as opt_ins_module
from storage.database import create_session_factory
from storage.opt_ins import OptInStore
from tests.storage.conftest import ScratchDatabase, engine

__all__ = ["engine"]

#: Chats in the order they rated and pressed the button; the rare service is rated once.
ARRIVALS = [(7301, "licensing"), (5102, "inspections"), (9903, "site-info"), (4104, "appeals")]
ARRIVALS += [(8205, "licensing"), (6306, "inspections"), (3407, "licensing")]


async def _columns(engine: AsyncEngine) -> dict[str, str]:
    async with engine.connect() as connection:
        found = await connection.run_sync(lambda sync: inspect(sync).get_columns("service_news"))
    return {column["name"]: str(column["type"]) for column in found}


async def _rows(engine: AsyncEngine, sql: str) -> list[tuple[object, ...]]:
    async with engine.connect() as connection:
        return [tuple(row) for row in await connection.execute(text(sql))]


async def test_a_service_subscription_has_no_date_nor_arrival_order(
    engine: AsyncEngine, database: ScratchDatabase, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Nothing to pair it with a response's day: no date, no time, no sequence.
    assert await _columns(engine) == {
        "messenger": "VARCHAR(8)",
        "chat_id": "BIGINT",
        "service_code": "VARCHAR(64)",
    }
    # The batch's order on disk is the shuffle's, never the arrival order (reversed here, to
    # see it; storage.opt_ins shuffles with the system's randomness).
    monkeypatch.setattr(opt_ins_module, "_shuffle", lambda rows: rows.reverse())
    store = OptInStore(create_session_factory(engine), min_batch=5)
    written: list[int] = []
    for chat, service in ARRIVALS:
        await store.add_service(chat, service)
        written.append(await store.flush())  # the minute's job, after each press
    # The rare service's subscriber waits in memory until five people are in the batch.
    assert written[:4] == [0, 0, 0, 0] and written[4] == 5 and sum(written) == 5
    assert await store.flush(force=True) == 2
    if database.backend == "sqlite":
        with pytest.raises(DBAPIError):
            await _rows(engine, "SELECT rowid FROM service_news")
        # WITHOUT ROWID: the file keeps the rows in key order (chat id), not arrival order.
        stored = [row[0] for row in await _rows(engine, "SELECT chat_id FROM service_news")]
        assert stored == sorted(chat for chat, _ in ARRIVALS)
        return
    first_batch = {chat for chat, _ in ARRIVALS[:5]}
    by_place = [
        int(str(row[0]))
        for row in await _rows(engine, "SELECT chat_id FROM service_news ORDER BY ctid")
    ]
    batch_order = [chat for chat in by_place if chat in first_batch]
    arrival = [chat for chat, _ in ARRIVALS[:5]]
    assert sorted(batch_order) == sorted(arrival) and batch_order != arrival
    # One transaction per batch: ``xmin`` tells the batch, never the place inside it.
    [[transactions]] = await _rows(
        engine,
        "SELECT count(DISTINCT xmin::text) FROM service_news WHERE chat_id IN "
        f"({', '.join(str(chat) for chat in first_batch)})",
    )
    assert transactions == 1


async def test_the_rare_services_subscription_and_response_share_no_day(
    engine: AsyncEngine,
) -> None:
    """The reader's join: every response of the rare service with every subscription to it,
    on any date column. There is none on the subscription's side to join on."""
    kinds = {kind.split("(")[0] for kind in (await _columns(engine)).values()}
    assert not {"DATE", "DATETIME", "TIMESTAMP"} & kinds
    store = OptInStore(create_session_factory(engine), min_batch=1)
    await store.add_service(9903, "site-info")
    await store.add(9903, "changes", date(2026, 12, 3))
    await store.flush()
    [[month]] = await _rows(engine, "SELECT created_on FROM opt_ins WHERE chat_id = 9903")
    assert str(month).endswith("-01")  # the body-wide opt-in keeps the month, never the day


async def test_a_max_subscriber_joins_the_same_batch_and_dates_nothing_finer(
    engine: AsyncEngine, database: ScratchDatabase
) -> None:
    """Issue 13: MAX opt-ins go through the same batches (people of both messengers count
    together), keep the month only, and have no arrival order either."""
    store = OptInStore(create_session_factory(engine), min_batch=3)
    await store.add(max_chat(9903), "changes", date(2026, 12, 3))
    await store.add_service(max_chat(9903), "site-info")
    await store.add(5102, "changes", date(2026, 12, 3))
    assert await store.flush() == 0  # two people so far, whichever messenger
    await store.add_service(max_chat(7301), "licensing")
    assert await store.flush() == 4
    [[month]] = await _rows(
        engine, "SELECT created_on FROM opt_ins WHERE messenger = 'max' AND chat_id = 9903"
    )
    assert str(month).endswith("-01")
    if database.backend == "sqlite":
        with pytest.raises(DBAPIError):
            await _rows(engine, "SELECT rowid FROM opt_ins")
