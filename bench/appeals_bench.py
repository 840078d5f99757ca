"""Benchmark: import 100,000 appeal rows and build the quarterly monitoring (Procedure §3.5).

Run from the repository root: ``.venv/bin/python -m bench.appeals_bench [--rows 100000]
[--runs 7]``, on SQLite (the PostgreSQL path is covered by the tests, not timed here). A CSV
register in Windows-1251 with `;` is written with the shipped example mapping's headers and
words (and personal columns the import must skip), then imported through
``AppealsService.import_register`` (parse and upsert also timed apart). The monitoring of the
last quarter is timed against a plain ``GROUP BY channel`` of the same quarter, interleaved in
the same run; medians of ``--runs``.

Targets: import ≥ 20,000 rows/s; monitoring ≤ 2× the plain GROUP BY.
"""

from __future__ import annotations

import argparse
import asyncio
import csv
import io
import random
import statistics
import tempfile
import time
from datetime import date, timedelta
from pathlib import Path
from typing import Final

from reports.appeals import build_monitoring
from reports.disclosure import DisclosurePolicy
from reports.model import Period
from services.appeals import EXAMPLE_MAPPING, AppealsService, load_mapping, parse_register
from storage.appeals import AppealStore
from storage.database import create_engine, create_session_factory
from storage.migrate import upgrade_async

QUARTER: Final = Period(date(2026, 7, 1), date(2026, 9, 30))
START: Final = date(2026, 1, 1)  # rows spread over three quarters
DAYS: Final = 273


def register(rows: int, seed: int = 1) -> bytes:
    """A register export with every mapped column and the personal ones beside them."""
    mapping = load_mapping(EXAMPLE_MAPPING)
    words = {
        name: list(mapping.word_map(name)) or [""]
        for name in ("kind", "outcome", "channel", "topic", "reason", "service")
    }
    rng = random.Random(seed)
    out = io.StringIO(newline="")
    writer = csv.writer(out, delimiter=";", lineterminator="\r\n")
    header = mapping.columns.model_dump()
    writer.writerow(["ФИО", "Телефон", *header.values(), "Текст обращения"])
    for index in range(rows):
        day = START + timedelta(days=rng.randrange(DAYS))
        writer.writerow(
            [
                "Тестов Т. Т.",
                "+7 900 000-00-00",
                f"R-{index:07d}",
                day.strftime("%d.%m.%Y"),
                rng.choice(words["kind"]),
                rng.choice(words["outcome"]),
                rng.choice(words["channel"]),
                rng.choice(words["topic"]),
                rng.choice(words["reason"]),
                rng.choice(words["service"]),
                "",
                "Текст, который не должен попасть в базу",
            ]
        )
    return out.getvalue().encode("cp1251")


async def run(rows: int, runs: int) -> None:
    with tempfile.TemporaryDirectory() as folder:
        url = f"sqlite+aiosqlite:///{Path(folder) / 'bench.db'}"
        await upgrade_async(url)
        engine = create_engine(url)
        sessions = create_session_factory(engine)
        store = AppealStore(sessions)
        service = AppealsService(store)
        mapping = load_mapping(EXAMPLE_MAPPING)
        data = register(rows)
        print(f"SQLite: register of {rows:,} rows, {len(data) / 1e6:.1f} MB")

        began = time.perf_counter()
        parsed, errors, _ = parse_register("bench.csv", data, mapping)
        parse_s = time.perf_counter() - began
        began = time.perf_counter()
        await store.upsert("parse-only", parsed)
        upsert_s = time.perf_counter() - began
        began = time.perf_counter()
        report = await service.import_register("bench.csv", data, mapping)
        import_s = time.perf_counter() - began
        began = time.perf_counter()
        again = await service.import_register("bench.csv", data, mapping)
        reimport_s = time.perf_counter() - began
        assert not errors and report.added == rows and again.added == 0
        print(f"parse            {parse_s:6.2f} s  {rows / parse_s:>9,.0f} rows/s")
        print(f"upsert (insert)  {upsert_s:6.2f} s  {rows / upsert_s:>9,.0f} rows/s")
        print(
            f"import (both)    {import_s:6.2f} s  {rows / import_s:>9,.0f} rows/s  target ≥ 20,000"
        )
        print(f"re-import        {reimport_s:6.2f} s  {rows / reimport_s:>9,.0f} rows/s (updates)")

        policy = DisclosurePolicy()
        baseline: list[float] = []
        monitoring: list[float] = []
        for _ in range(runs):
            began = time.perf_counter()
            await store.channel_counts(QUARTER.start, QUARTER.end)
            baseline.append(time.perf_counter() - began)
            began = time.perf_counter()
            result = await build_monitoring(store, QUARTER, policy)
            monitoring.append(time.perf_counter() - began)
        base, full = statistics.median(baseline), statistics.median(monitoring)
        print(f"quarter rows     {result.now.total:,} (previous {result.before.total:,})")
        print(f"GROUP BY channel {base * 1000:8.1f} ms (median of {runs})")
        print(f"monitoring       {full * 1000:8.1f} ms  = {full / base:.2f}× the GROUP BY (≤ 2×)")
        await engine.dispose()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=7)
    arguments = parser.parse_args()
    asyncio.run(run(arguments.rows, arguments.runs))
