"""Benchmark: FSM get/set throughput of SqlStorage against MemoryStorage and per-write commits.

Run from the repository root: ``.venv/bin/python -m bench.fsm_bench [--updates 2000]``.
Every storage runs the same workload in one process, the baseline measured in the same run.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import statistics
import tempfile
import time
from collections.abc import Awaitable, Callable, Mapping
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from aiogram.fsm.state import State
from aiogram.fsm.storage.base import BaseStorage, StateType, StorageKey
from aiogram.fsm.storage.memory import MemoryStorage
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from storage.database import create_engine, create_session_factory
from storage.fsm import SqlStorage, storage_key_digest
from storage.migrate import upgrade_async
from storage.models import FsmState

logger = logging.getLogger(__name__)

PEPPER = b"bench-pepper-0123456789abcdef"
BOT_ID = 42


class NaiveOrmStorage(BaseStorage):
    """The obvious design: every read asks the database, every write is an ORM commit."""

    def __init__(self, sessions: async_sessionmaker[AsyncSession]) -> None:
        self.sessions = sessions
        # SQLite fails a read-then-write transaction outright when another connection wrote
        # in between (SQLITE_BUSY_SNAPSHOT), so writers take turns, as a pool of one would.
        self.write_lock = asyncio.Lock()

    async def _row(self, key: StorageKey) -> FsmState | None:
        async with self.sessions() as session:
            return await session.get(FsmState, storage_key_digest(key, PEPPER))

    async def set_state(self, key: StorageKey, state: StateType = None) -> None:
        value = state.state if isinstance(state, State) else state
        await self._write(key, lambda row: setattr(row, "state", value))

    async def get_state(self, key: StorageKey) -> str | None:
        row = await self._row(key)
        return None if row is None else row.state

    async def set_data(self, key: StorageKey, data: Mapping[str, Any]) -> None:
        text = json.dumps(dict(data), ensure_ascii=False)
        await self._write(key, lambda row: setattr(row, "data", text))

    async def get_data(self, key: StorageKey) -> dict[str, Any]:
        row = await self._row(key)
        return {} if row is None else dict(json.loads(row.data))

    async def _write(self, key: StorageKey, change: Callable[[FsmState], None]) -> None:
        digest = storage_key_digest(key, PEPPER)
        async with self.write_lock, self.sessions() as session, session.begin():
            row = await session.get(FsmState, digest)
            if row is None:
                row = FsmState(key=digest, state=None, data="{}")
                session.add(row)
            change(row)
            row.expires_at = datetime.now(UTC) + timedelta(days=7)

    async def close(self) -> None:
        pass


async def _workload(storage: BaseStorage, updates: int, users: int) -> float:
    """``updates`` updates spread over ``users`` concurrent dialogs; returns updates/s."""
    per_user = updates // users

    async def dialog(user: int) -> None:
        key = StorageKey(bot_id=BOT_ID, chat_id=10_000 + user, user_id=10_000 + user)
        for step in range(per_user):
            # What one answer costs: the FSM middleware reads the state, the handler reads
            # the data, writes the answer, and moves the cursor.
            if await storage.get_state(key) is None:
                await storage.set_state(key, "Poll:answering")
            await storage.update_data(key, {f"q{step}": step % 5 + 1, "cursor": step + 1})

    started = time.perf_counter()
    await asyncio.gather(*(dialog(user) for user in range(users)))
    return per_user * users / (time.perf_counter() - started)


async def _on_sqlite(
    directory: Path, name: str, run: Callable[[async_sessionmaker[AsyncSession]], Awaitable[float]]
) -> float:
    url = f"sqlite+aiosqlite:///{directory / name}.db"
    await upgrade_async(url)
    engine: AsyncEngine = create_engine(url)  # WAL, synchronous=NORMAL
    try:
        return await run(create_session_factory(engine))
    finally:
        await engine.dispose()


async def main(updates: int, users: int, runs: int) -> None:
    results: dict[str, list[float]] = {"memory": [], "sql": [], "sql0": [], "naive": []}
    with tempfile.TemporaryDirectory() as scratch:
        directory = Path(scratch)
        for attempt in range(runs):
            memory = MemoryStorage()
            results["memory"].append(await _workload(memory, updates, users))

            def sql(
                flush_interval: float,
            ) -> Callable[[async_sessionmaker[AsyncSession]], Awaitable[float]]:
                async def run(sessions: async_sessionmaker[AsyncSession]) -> float:
                    storage = SqlStorage(sessions, PEPPER, flush_interval=flush_interval)
                    try:
                        return await _workload(storage, updates, users)
                    finally:
                        await storage.close()

                return run

            async def naive(sessions: async_sessionmaker[AsyncSession]) -> float:
                return await _workload(NaiveOrmStorage(sessions), updates, users)

            results["sql"].append(await _on_sqlite(directory, f"sql{attempt}", sql(0.005)))
            results["sql0"].append(await _on_sqlite(directory, f"sql0_{attempt}", sql(0.0)))
            results["naive"].append(await _on_sqlite(directory, f"naive{attempt}", naive))

    baseline = statistics.median(results["memory"])
    print(f"FSM workload: {updates} updates from {users} concurrent dialogs, median of {runs}")
    print("  each update: get_state + get_data + set_data (+ set_state on the first)")
    labels = {
        "memory": "aiogram MemoryStorage (baseline)",
        "sql": "SqlStorage (adaptive, <= 5 ms)",
        "sql0": "SqlStorage (never waits)",
        "naive": "per-write ORM commit, SQLite WAL",
    }
    for name, label in labels.items():
        rate = statistics.median(results[name])
        print(f"  {label:<38} {rate:>10,.0f} updates/s   {rate / baseline:6.3f} x baseline")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--updates", type=int, default=2000)
    parser.add_argument("--users", type=int, default=100)
    parser.add_argument("--runs", type=int, default=3)
    arguments = parser.parse_args()
    asyncio.run(main(arguments.updates, arguments.users, arguments.runs))
