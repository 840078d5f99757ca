"""Benchmark: the officer report over a million answers against a plain covering-index GROUP BY.

Run from the repository root:
``.venv/bin/python bench/report_bench.py [--rows 1000000] [--backend sqlite|postgres|both]``.
Rows are bulk-loaded (sqlite3 executemany, PostgreSQL COPY), then each query is timed through the
same async engine, baseline and report interleaved in one run; medians of ``--runs``. On SQLite
the report runs twice: through the bot's engine (one connection, its two transactions in turn)
and through an engine of two connections (they run side by side on two cores).
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import random
import sqlite3
import statistics
import tempfile
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path
from typing import Final

import asyncpg
from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
)

from questionnaires.loader import DEFINITIONS_DIR, load_folder
from reports.metrics import build_report
from reports.model import Dimension, QuestionnaireRoles, Scope
from reports.periods import half_year_as_of

# A private helper, until storage.database lets a caller choose the pool size.
from storage.database import create_engine, create_session_factory
from storage.migrate import run_upgrade, upgrade_async

logger = logging.getLogger(__name__)

PG_URL: Final = os.environ.get(
    "OTKLIK_TEST_PG_URL", "postgresql+asyncpg://postgres@127.0.0.1:5432/test"
)
YEAR: Final = 2025
SERVICES: Final = [f"service_{i:02d}" for i in range(20)]
CHANNELS: Final = ["site", "gosuslugi", "office", "mfc", "phone", "email"]
SITUATIONS: Final = [f"situation_{i}" for i in range(10)]
OBSTACLES: Final = [
    "queue",
    "result_time",
    "unclear_info",
    "several_visits",
    "impolite_staff",
    "staff_could_not_help",
    "inconvenient_channel",
    "premises",
    "unexplained_refusal",
    "other",
]
PARAMETERS: Final = [
    "info_clarity",
    "applying",
    "queue_time",
    "result_time",
    "politeness",
    "competence",
    "premises",
    "online_services",
    "decision_clarity",
]
SCORE_WEIGHTS: Final = [5, 7, 13, 25, 47, 3]  # 1..5, then "cannot rate"

#: The plain query the report is held against: n, mean and share of 4–5 per service × question.
BASELINE_SQL: Final = """
SELECT r.service_code, a.question_id, COUNT(a.number), AVG(a.number),
       AVG(CASE WHEN a.number >= 4 THEN 1.0 ELSE 0.0 END)
FROM answers AS a JOIN responses AS r ON r.id = a.response_id
WHERE a.number IS NOT NULL
GROUP BY r.service_code, a.question_id
"""
#: The same restricted to the overall question: what the report's main query reads.
BASELINE_OVERALL_SQL: Final = BASELINE_SQL.replace(
    "WHERE a.number IS NOT NULL", "WHERE a.question_id = 'overall' AND a.number IS NOT NULL"
)

ResponseRow = tuple[uuid.UUID, str, int, str, str, str | None, str | None, str | None, date]
AnswerRow = tuple[uuid.UUID, str, str | None, int | None, str | None]
Job = Callable[[], Awaitable[None]]


@dataclass
class Dataset:
    responses: list[ResponseRow] = field(default_factory=list)
    answers: list[AnswerRow] = field(default_factory=list)
    funnel: dict[tuple[date, str, str, str, str], int] = field(default_factory=dict)

    def count(self, day: date, questionnaire: str, row: ResponseRow, step: str, k: int) -> None:
        key = (day, questionnaire, row[5] or "", row[6] or "", step)
        self.funnel[key] = self.funnel.get(key, 0) + k


def generate(rows: int, seed: int = 20250101) -> Dataset:
    """About ``rows`` answers: 85 % post-service ratings, 15 % deep polls, over one year."""
    rnd = random.Random(seed)
    data = Dataset()
    service_weights = [1.0 / (rank + 1) for rank in range(len(SERVICES))]
    first = date(YEAR, 1, 1)

    def score() -> tuple[str | None, int | None]:
        value = rnd.choices(range(6), SCORE_WEIGHTS)[0]
        return ("cannot_rate", None) if value == 5 else (None, value + 1)

    while len(data.answers) < rows:
        rid = uuid.UUID(int=rnd.getrandbits(128), version=4)
        deep = rnd.random() < 0.15
        questionnaire = "deep_external" if deep else "post_service"
        service = rnd.choices(SERVICES, service_weights)[0] if rnd.random() > 0.03 else None
        channel = rnd.choice(CHANNELS) if rnd.random() > 0.1 else None
        situation = rnd.choice(SITUATIONS) if rnd.random() > 0.6 else None
        day = first + timedelta(days=rnd.randrange(365))
        response = (
            rid,
            questionnaire,
            1,
            questionnaire,
            "external",
            service,
            channel,
            situation,
            day,
        )
        data.responses.append(response)
        option, number = score()
        answers: list[AnswerRow] = [(rid, "overall", option, number, None)]
        if deep:
            for parameter in PARAMETERS:
                answers.append((rid, parameter, *score(), None))
            answers.append((rid, "contacts", rnd.choice(["one", "two", "three"]), None, None))
            answers.append((rid, "waiting", rnd.choice(["none", "up_to_15"]), None, None))
            answers.append((rid, "documents_held", rnd.choice(["yes", "no"]), None, None))
            if rnd.random() < 0.4:
                answers.append((rid, "hindered", None, None, "Долго ждали ответа"))
        else:
            solved = rnd.choices(["yes", "partly", "no", "in_progress"], [60, 15, 15, 10])[0]
            answers.append((rid, "solved", solved, None, None))
            if (number is not None and number <= 3) or solved in ("partly", "no"):
                for obstacle in rnd.sample(OBSTACLES, rnd.choice([1, 1, 2, 3])):
                    other = "Не работал сайт" if obstacle == "other" else None
                    answers.append((rid, "obstacles", obstacle, None, other))
            answers.append((rid, "contacts", rnd.choice(["one", "two", "four_plus"]), None, None))
            if rnd.random() < 0.3:
                answers.append((rid, "comment", None, None, "Спасибо, но очень долго"))
        data.answers.extend(answers)
        # The funnel of the same dialogs, plus a fifth more that stopped somewhere.
        data.count(day, questionnaire, response, "*started", 1)
        data.count(day, questionnaire, response, "*completed", 1)
        if rnd.random() < 0.2:
            data.count(day, questionnaire, response, "*started", 1)
            data.count(day, questionnaire, response, "@" + rnd.choice(answers)[1], 1)
    return data


def load_sqlite(path: Path, data: Dataset) -> None:
    connection = sqlite3.connect(path)
    try:
        connection.execute("PRAGMA synchronous=OFF")
        connection.execute("BEGIN")
        connection.executemany(
            "INSERT INTO responses (id, questionnaire_id, questionnaire_version, kind, audience,"
            " service_code, channel_code, life_situation_code, submitted_on)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            ((row[0].hex, *row[1:8], row[8].isoformat()) for row in data.responses),
        )
        connection.executemany(
            "INSERT INTO answers (id, response_id, question_id, option_id, number, text)"
            " VALUES (?, ?, ?, ?, ?, ?)",
            ((uuid.uuid4().hex, row[0].hex, *row[1:]) for row in data.answers),
        )
        connection.executemany(
            "INSERT INTO dialog_funnel (started_on, questionnaire_id, service_code, channel_code,"
            " step, count) VALUES (?, ?, ?, ?, ?, ?)",
            ((key[0].isoformat(), *key[1:], count) for key, count in data.funnel.items()),
        )
        connection.execute("COMMIT")
    finally:
        connection.close()


async def load_postgres(dsn: str, schema: str, data: Dataset) -> None:
    connection = await asyncpg.connect(dsn, server_settings={"search_path": schema})
    try:
        await connection.copy_records_to_table(
            "responses",
            records=data.responses,
            columns=[
                "id",
                "questionnaire_id",
                "questionnaire_version",
                "kind",
                "audience",
                "service_code",
                "channel_code",
                "life_situation_code",
                "submitted_on",
            ],
        )
        await connection.copy_records_to_table(
            "answers",
            records=[(uuid.uuid4(), *row) for row in data.answers],
            columns=["id", "response_id", "question_id", "option_id", "number", "text"],
        )
        await connection.copy_records_to_table(
            "dialog_funnel",
            records=[(*key, count) for key, count in data.funnel.items()],
            columns=[
                "started_on",
                "questionnaire_id",
                "service_code",
                "channel_code",
                "step",
                "count",
            ],
        )
        # What autovacuum would do soon after such a load: statistics and the visibility map
        # that index-only scans need.
        await connection.execute("VACUUM ANALYZE")
    finally:
        await connection.close()


def _titles(dimension: Dimension, key: str | None) -> str:
    return key or f"(no {dimension.value})"


def reporting_engine(url: str) -> AsyncEngine:
    """The reports' SQLite engine as the bot builds it: two connections beside the writer."""
    return create_engine(url, sqlite_connections=2)


async def measure(
    engines: dict[str, AsyncEngine], roles: QuestionnaireRoles, runs: int
) -> dict[str, float]:
    """Medians of interleaved runs: a noisy neighbour hits every query alike."""
    period = half_year_as_of(date(YEAR, 12, 31))  # H2, compared with H1: every row is read
    first = create_session_factory(next(iter(engines.values())))

    async def plain(sql: str) -> None:
        async with first() as session:
            (await session.execute(text(sql))).all()

    def report(sessions: async_sessionmaker[AsyncSession], scope: Scope) -> Job:
        async def job() -> None:
            await build_report(sessions, roles=roles, titles=_titles, period=period, scope=scope)

        return job

    jobs: dict[str, Job] = {
        "baseline": lambda: plain(BASELINE_SQL),
        "baseline_overall": lambda: plain(BASELINE_OVERALL_SQL),
    }
    for label, engine in engines.items():
        sessions = create_session_factory(engine)
        jobs[f"report_all {label}"] = report(sessions, Scope())
        jobs[f"report_service {label}"] = report(sessions, Scope(service=SERVICES[3]))
    samples: dict[str, list[float]] = {name: [] for name in jobs}
    for job in jobs.values():
        await job()  # warm-up: the first run pays for reading pages from disk
    for _ in range(runs):
        for name, job in jobs.items():
            started = time.perf_counter()
            await job()
            samples[name].append(time.perf_counter() - started)
    return {name: statistics.median(values) for name, values in samples.items()}


def _print(backend: str, results: dict[str, float], load_seconds: float) -> None:
    baseline, overall_only = results["baseline"], results["baseline_overall"]
    loaded = f"loaded in {load_seconds:.1f} s" if load_seconds else "reused"
    # The neighbours' load explains much of the spread between runs on a shared machine.
    load = ", ".join(f"{value:.1f}" for value in os.getloadavg())
    print(f"  {backend} ({loaded}; load average {load}), medians:")
    print(f"    plain GROUP BY, every scored answer       {baseline * 1000:8.1f} ms")
    print(f"    plain GROUP BY, overall question only     {overall_only * 1000:8.1f} ms")
    for name, value in results.items():
        if not name.startswith("report_"):
            continue
        what, label = name.split(" ", 1)
        scope = "all services" if what == "report_all" else "one service "
        print(
            f"    build_report, {scope}, {label:<14} {value * 1000:8.1f} ms"
            f"   {value / baseline:5.2f} x baseline   {value / overall_only:5.2f} x overall-only"
        )


async def run_sqlite(
    data: Dataset, roles: QuestionnaireRoles, runs: int, keep: Path | None
) -> None:
    with tempfile.TemporaryDirectory() as scratch:
        path = keep or Path(scratch) / "report_bench.db"
        url = f"sqlite+aiosqlite:///{path}"
        load_seconds = 0.0
        if keep is None or not keep.exists():  # noqa: ASYNC240 (a script, nothing else runs)
            await upgrade_async(url)
            started = time.perf_counter()
            load_sqlite(path, data)
            load_seconds = time.perf_counter() - started
        engines = {"one connection": create_engine(url), "two connections": reporting_engine(url)}
        try:
            _print("SQLite", await measure(engines, roles, runs), load_seconds)
        finally:
            for engine in engines.values():
                await engine.dispose()


async def run_postgres(data: Dataset, roles: QuestionnaireRoles, runs: int) -> None:
    schema = f"bench_{uuid.uuid4().hex[:12]}"
    url = make_url(PG_URL)
    dsn = url.set(drivername="postgresql").render_as_string(hide_password=False)
    admin = await asyncpg.connect(dsn)
    await admin.execute(f'CREATE SCHEMA "{schema}"')
    try:
        connect_args = {"server_settings": {"search_path": schema}}
        migrating = create_engine(PG_URL, connect_args=connect_args)
        try:
            async with migrating.begin() as connection:
                await connection.run_sync(run_upgrade, "head")
        finally:
            await migrating.dispose()
        started = time.perf_counter()
        await load_postgres(dsn, schema, data)
        load_seconds = time.perf_counter() - started
        engine = create_engine(PG_URL, connect_args=connect_args)
        try:
            _print("PostgreSQL", await measure({"pool": engine}, roles, runs), load_seconds)
        finally:
            await engine.dispose()
    finally:
        await admin.execute(f'DROP SCHEMA "{schema}" CASCADE')
        await admin.close()


async def main(rows: int, backend: str, runs: int, keep: Path | None) -> None:
    loaded = load_folder(DEFINITIONS_DIR)
    roles = QuestionnaireRoles.from_questionnaires(dict(loaded.questionnaires))
    started = time.perf_counter()
    data = generate(rows)
    print(
        f"Report benchmark: {len(data.answers):,} answers in {len(data.responses):,} responses,"
        f" {len(data.funnel):,} funnel rows (generated in {time.perf_counter() - started:.1f} s);"
        f" report period H2 {YEAR} against H1"
    )
    if backend in ("sqlite", "both"):
        await run_sqlite(data, roles, runs, keep)
    if backend in ("postgres", "both"):
        await run_postgres(data, roles, runs)
    print(
        "Targets (performance brief): the full report under 500 ms on SQLite, and at most"
        " 2.0 x the plain GROUP BY over the same rows."
    )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--backend", choices=["sqlite", "postgres", "both"], default="both")
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument(
        "--keep", type=Path, default=None, help="SQLite file to reuse between runs (iterating)"
    )
    arguments = parser.parse_args()
    asyncio.run(main(arguments.rows, arguments.backend, arguments.runs, arguments.keep))
