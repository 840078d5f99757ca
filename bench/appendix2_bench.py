"""Benchmark: the Appendix 2 document of a year (with its half-year) against one year report.

Run from the repository root:
``.venv/bin/python -m bench.appendix2_bench [--rows 300000] [--keep FILE]``.
The data are those of bench/report_bench.py (20 services, 6 channels, a year of answers) on
SQLite through the reports' engine of two connections, as the bot builds it. The document reads
the external, internal and half-year reports, the charts' trend and the problems of every
process shown (the pain map), then renders the .docx; each part is timed once after a warm-up,
beside the median of ``--runs`` builds of the year's report over all services.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import tempfile
import time
from datetime import date
from pathlib import Path

from bench.report_bench import YEAR, generate, load_sqlite
from bot.composition import build_services
from bot.content import load_content
from bot.settings import Settings
from questionnaires.schema import Language
from reports.appendix2 import Appendix2Data, build_document
from reports.docx import render_docx
from reports.model import Period, Scope
from storage.database import create_engine, create_session_factory
from storage.migrate import upgrade_async

YEAR_PERIOD = Period(date(YEAR, 1, 1), date(YEAR, 12, 31))
HALF = Period(date(YEAR, 7, 1), date(YEAR, 12, 31))


async def measure(path: Path, runs: int) -> None:
    url = f"sqlite+aiosqlite:///{path}"
    # The reports' SQLite engine as the bot builds it: two connections beside the writer.
    engine = create_engine(url, sqlite_connections=2)
    # The bot's composition (bot.composition): the document with its appeals, staff and pain
    # map sections, the reports with their open answers.
    settings = Settings(_env_file=None, body={"name": "Инспекции (бенчмарк)"})
    content = load_content(
        settings.content.questionnaires_dir,
        settings.content.catalog_path,
        settings.content.campaigns_path,
    )
    services = build_services(settings, content, sessions=create_session_factory(engine))
    reporting, service = services.reporting, services.appendix2
    try:
        await service.docx(YEAR_PERIOD, HALF)  # warm-up: pages read from disk once
        samples = []
        for _ in range(runs):
            started = time.perf_counter()
            await reporting.report(YEAR_PERIOD, Scope())
            samples.append(time.perf_counter() - started)
        one_report = statistics.median(samples)
        started = time.perf_counter()
        external = await reporting.report(YEAR_PERIOD, Scope())
        internal = await reporting.report(YEAR_PERIOD, Scope(audience="internal"))
        half = await reporting.report(HALF, Scope())
        reports = time.perf_counter() - started
        started = time.perf_counter()
        await reporting.charts(external, Language.RU)
        drawing = time.perf_counter() - started
        started = time.perf_counter()
        processes = await service.process_problems(YEAR_PERIOD, external, internal)
        per_process = time.perf_counter() - started
        data = Appendix2Data(
            body="—",
            period=YEAR_PERIOD,
            external=external,
            internal=internal,
            groups={},
            beside=half,
        )
        started = time.perf_counter()
        size = len(render_docx(build_document(data)))
        rendering = time.perf_counter() - started
        started = time.perf_counter()
        whole = len(await service.docx(YEAR_PERIOD, HALF))
        total = time.perf_counter() - started
    finally:
        await engine.dispose()
    lines = [
        (f"one year report, all services (median of {runs})", one_report),
        ("external + internal + half-year reports", reports),
        ("trend and distribution charts", drawing),
        (f"problems of {len(processes)} processes (pain map), one read", per_process),
        (f"document model and .docx ({size:,} bytes, no charts)", rendering),
        (f"the whole document ({whole:,} bytes)", total),
    ]
    for label, seconds in lines:
        print(f"  {label:<56} {seconds * 1000:9.1f} ms")
    print(f"  the whole document takes {total / one_report:.1f} x one year report")


async def main(rows: int, runs: int, keep: Path | None) -> None:
    started = time.perf_counter()
    data = generate(rows)
    print(
        f"Appendix 2 benchmark: {len(data.responses):,} responses of {YEAR}"
        f" (generated in {time.perf_counter() - started:.1f} s), SQLite"
    )
    with tempfile.TemporaryDirectory() as scratch:
        path = keep or Path(scratch) / "appendix2_bench.db"
        if keep is None or not keep.exists():  # noqa: ASYNC240 (a script, nothing else runs)
            await upgrade_async(f"sqlite+aiosqlite:///{path}")
            load_sqlite(path, data)
        await measure(path, runs)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rows", type=int, default=300_000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--keep", type=Path, default=None, help="SQLite file to reuse")
    arguments = parser.parse_args()
    asyncio.run(main(arguments.rows, arguments.runs, arguments.keep))
