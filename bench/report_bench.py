"""Benchmark: the officer report against true covering-index GROUP BYs over the same rows.

Run from the repository root:
``.venv/bin/python bench/report_bench.py [--sizes 100000,1000000,3000000] [--backend both]``.

For each size (answers) and backend the same generated data is bulk-loaded once and cached
(SQLite files and PostgreSQL schemas keyed by size, generator and schema revision; ``--fresh``
rebuilds them). Beside the bot's tables the bench keeps its own *floor*: one table of the
answers with their context and covering indexes, on which each report section's GROUP BY is a
single index-only range scan (asserted from EXPLAIN). Each report section, the report's data
(``build_report``) and the delivered ``/report`` (``ReportingService.report_files``: data,
trend, text and both charts) are timed against their floor in alternating pairs; the table shows
medians of the per-pair ratios with their min-max, and a machine calibration line.
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import itertools
import logging
import os
import platform
import random
import sqlite3
import statistics
import tempfile
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path
from typing import Any, Final

import asyncpg
import sqlalchemy
from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.app import freeze_startup_heap
from bot.composition import build_services
from bot.content import load_content
from bot.settings import ContentSettings, Settings
from questionnaires.schema import Language
from reports import metrics
from reports.chart_cache import clear_chart_cache
from reports.disclosure import clear_plan_cache
from reports.funnel import protected_drop_off
from reports.metrics import build_report, clear_month_memo, grain_of
from reports.model import Dimension, Period, QuestionnaireRoles, Scope
from reports.periods import calendar_previous, half_year_as_of
from services.open_answers import OpenAnswersService
from services.reporting import ReportingService
from storage.database import create_engine, create_session_factory
from storage.migrate import run_upgrade, upgrade_async
from storage.report_answers import NOT_RATED, OVERALL_SCALE, month_start, segment_start

logger = logging.getLogger(__name__)

PG_URL: Final = os.environ.get(
    "OTKLIK_TEST_PG_URL", "postgresql+asyncpg://postgres@127.0.0.1:5432/test"
)
#: Bump when generate() or the load changes: cached databases are keyed by it.
DATA_VERSION: Final = 7  # 3: three fronts (issue 13); 4: varied comment texts as well;
# 5: the copies' ids are their answers' (as written by the bot) and say which have a text;
# 6: the copies carry their response's overall score, scored as the bot writes them;
# 7: the floor says which answers have a text (the open answers' floor)
CACHE_DIR: Final = Path(
    os.environ.get("OTKLIK_BENCH_CACHE", Path(tempfile.gettempdir()) / "otklik-report-bench")
)
YEAR: Final = 2025
SERVICES: Final = [f"service_{i:02d}" for i in range(20)]
CHANNELS: Final = ["site", "gosuslugi", "office", "mfc", "phone", "email"]
SITUATIONS: Final = [f"situation_{i}" for i in range(10)]
#: The fronts responses come through (questionnaires.fronts.Front), most through Telegram.
FRONTS: Final = ["telegram", "max", "web"]
FRONT_WEIGHTS: Final = [70, 20, 10]
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
#: Words of the generated comments: some meet the categories' keywords, most do not, and the
#: combinations (with a number) make nearly every text different, as people's texts are.
COMMENT_WORDS: Final = [
    "очередь",
    "долго",
    "ждали",
    "талон",
    "дозвониться",
    "срок",
    "задержка",
    "медленно",
    "информация",
    "непонятно",
    "документ",
    "справка",
    "копия",
    "сотрудник",
    "специалист",
    "грубо",
    "кабинет",
    "душно",
    "парковка",
    "портал",
    "госуслуги",
    "электронная",
    "запись",
    "ошибка",
    "принтер",
    "спасибо",
    "отлично",
    "хорошо",
    "приём",
    "окно",
    "вопрос",
    "ответ",
    "решили",
    "сегодня",
    "вчера",
    "опять",
    "снова",
    "всегда",
    "никто",
    "ничего",
    "сказали",
    "пришлось",
]


#: The floor: the answers with their context in one table, and an index per section shape.
FLOOR_DDL: Final = (
    "CREATE TABLE bench_floor (question_id VARCHAR(64) NOT NULL, option_id VARCHAR(64),"
    " number SMALLINT, service_code VARCHAR(64), channel_code VARCHAR(64),"
    " life_situation_code VARCHAR(64), front VARCHAR(16) NOT NULL, month_on DATE NOT NULL,"
    " has_text BOOLEAN NOT NULL)",
    "CREATE INDEX ix_bench_floor_cells ON bench_floor (question_id, service_code, channel_code,"
    " life_situation_code, front, month_on, number, option_id)",
    "CREATE INDEX ix_bench_floor_options ON bench_floor (question_id, option_id, service_code,"
    " channel_code, life_situation_code, front, month_on, number)",
    # The answers with a text (a few per cent), by cell and month: the open answers' floor
    # (the flag in the index too: SQLite 3.40 tests a partial index's condition on the table).
    "CREATE INDEX ix_bench_floor_texts ON bench_floor (service_code, channel_code,"
    " life_situation_code, front, month_on, has_text) WHERE has_text",
)
#: The issue's reference: n, mean and share of 4–5 per service × question, every scored answer.
FLOOR_ALL_SQL: Final = """
SELECT question_id, service_code, COUNT(number), AVG(number),
       AVG(CASE WHEN number >= 4 THEN 1.0 ELSE 0.0 END)
FROM bench_floor {cells}
WHERE number IS NOT NULL
GROUP BY question_id, service_code
"""
#: One question's counts per cell and month: the shape of the breakdowns (and NPS).
FLOOR_CELLS_SQL: Final = """
SELECT service_code, channel_code, life_situation_code, front, month_on,
       COUNT(CASE WHEN number = 1 THEN 1 END), COUNT(CASE WHEN number = 2 THEN 1 END),
       COUNT(CASE WHEN number = 3 THEN 1 END), COUNT(CASE WHEN number = 4 THEN 1 END),
       COUNT(CASE WHEN number = 5 THEN 1 END),
       COUNT(CASE WHEN option_id = 'cannot_rate' THEN 1 END)
FROM bench_floor {cells}
WHERE question_id = :question AND month_on BETWEEN :start AND :end
GROUP BY service_code, channel_code, life_situation_code, front, month_on
"""
#: One question's options per cell and month: the shape of the problems.
FLOOR_OPTIONS_SQL: Final = """
SELECT option_id, service_code, channel_code, life_situation_code, front, month_on, COUNT(*)
FROM bench_floor {options}
WHERE question_id = :question AND month_on BETWEEN :start AND :end AND option_id IS NOT NULL
GROUP BY option_id, service_code, channel_code, life_situation_code, front, month_on
"""

#: The answers with a text per cell and month: the least the open answers' counts read (each
#: respondent's categories are counted per cell and month, every category planned over them).
FLOOR_TEXTS_SQL: Final = """
SELECT service_code, channel_code, life_situation_code, front, month_on, COUNT(*)
FROM bench_floor {texts}
WHERE has_text AND month_on BETWEEN :start AND :end
GROUP BY service_code, channel_code, life_situation_code, front, month_on
"""

ResponseRow = tuple[uuid.UUID, str, int, str, str, str | None, str | None, str | None, date, str]
AnswerRow = tuple[uuid.UUID, str, str | None, int | None, str | None]
Job = Callable[[], Awaitable[object]]


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

    def comment() -> str:
        words = rnd.sample(COMMENT_WORDS, rnd.randint(3, 9))
        return f"{' '.join(words).capitalize()}, {rnd.randint(2, 90)} минут"

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
            rnd.choices(FRONTS, FRONT_WEIGHTS)[0],
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
                answers.append((rid, "hindered", None, None, comment()))
        else:
            solved = rnd.choices(["yes", "partly", "no", "in_progress"], [60, 15, 15, 10])[0]
            answers.append((rid, "solved", solved, None, None))
            if (number is not None and number <= 3) or solved in ("partly", "no"):
                for obstacle in rnd.sample(OBSTACLES, rnd.choice([1, 1, 2, 3])):
                    other = comment() if obstacle == "other" else None
                    answers.append((rid, "obstacles", obstacle, None, other))
            answers.append((rid, "contacts", rnd.choice(["one", "two", "four_plus"]), None, None))
            if rnd.random() < 0.3:
                answers.append((rid, "comment", None, None, comment()))
        data.answers.extend(answers)
        # The funnel of the same dialogs, plus a fifth more that stopped somewhere.
        data.count(day, questionnaire, response, "*started", 1)
        data.count(day, questionnaire, response, "*completed", 1)
        if rnd.random() < 0.2:
            data.count(day, questionnaire, response, "*started", 1)
            data.count(day, questionnaire, response, "@" + rnd.choice(answers)[1], 1)
    return data


def _copy_rows(data: Dataset) -> list[tuple[Any, ...]]:
    """report_answers rows (storage.models_reporting) of the generated answers, in their order:
    each with its answer's id (row[1]), as the bot writes them (storage.report_answers)."""
    by_id = {row[0]: row for row in data.responses}
    # Every generated questionnaire's overall question is "overall" (storage.report_answers).
    scores = {
        answer[0]: answer[3] if answer[3] in OVERALL_SCALE else NOT_RATED
        for answer in data.answers
        if answer[1] == "overall"
    }
    rows: list[tuple[Any, ...]] = []
    for answer in data.answers:
        response = by_id[answer[0]]
        day = response[8]
        rows.append(
            (
                answer[0],
                uuid.UUID(int=random.getrandbits(128), version=4),
                answer[1],
                answer[2],
                answer[3],
                response[1],
                response[4],
                response[5],
                response[6],
                response[7],
                day,
                month_start(day),
                segment_start(day),
                response[9],
                answer[4] is not None,
                scores.get(answer[0]),
                True,
            )
        )
    return rows


COPY_COLUMNS: Final = (
    "response_id",
    "id",
    "question_id",
    "option_id",
    "number",
    "questionnaire_id",
    "audience",
    "service_code",
    "channel_code",
    "life_situation_code",
    "submitted_on",
    "month_on",
    "segment_on",
    "front",
    "has_text",
    "overall_score",
    "scored",
)
FLOOR_COLUMNS: Final = (
    "question_id",
    "option_id",
    "number",
    "service_code",
    "channel_code",
    "life_situation_code",
    "front",
    "month_on",
    "has_text",
)


def _floor_rows(copies: list[tuple[Any, ...]]) -> list[tuple[Any, ...]]:
    return [(*row[2:5], *row[7:10], row[13], row[11], row[14]) for row in copies]


def load_sqlite(path: Path, data: Dataset) -> None:
    copies = _copy_rows(data)
    connection = sqlite3.connect(path)
    try:
        connection.execute("PRAGMA synchronous=OFF")
        connection.execute("PRAGMA cache_size=-262144")
        # No journal for the load: the migrations left the file in WAL mode, and one
        # transaction of millions of rows then wrote the whole database twice (into the WAL,
        # then back); a half-built file is thrown away anyway (sqlite_database).
        connection.execute("PRAGMA journal_mode=OFF")
        # Indexes are built after the load: sorting once beats a million random inserts.
        indexes = connection.execute(
            "SELECT name, sql FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL"
            " AND tbl_name IN ('responses', 'answers', 'report_answers')"
        ).fetchall()
        connection.execute("BEGIN")
        for name, _ in indexes:
            connection.execute(f'DROP INDEX "{name}"')
        connection.executemany(
            "INSERT INTO responses (id, questionnaire_id, questionnaire_version, kind, audience,"
            " service_code, channel_code, life_situation_code, submitted_on, front)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            ((row[0].hex, *row[1:8], row[8].isoformat(), row[9]) for row in data.responses),
        )
        connection.executemany(
            "INSERT INTO answers (id, response_id, question_id, option_id, number, text)"
            " VALUES (?, ?, ?, ?, ?, ?)",
            (
                (copy[1].hex, row[0].hex, *row[1:])
                for copy, row in zip(copies, data.answers, strict=True)
            ),
        )
        connection.executemany(
            f"INSERT INTO report_answers ({', '.join(COPY_COLUMNS)})"
            f" VALUES ({', '.join('?' * len(COPY_COLUMNS))})",
            (
                (
                    row[0].hex,
                    row[1].hex,
                    *row[2:10],
                    *(d.isoformat() for d in row[10:13]),
                    *row[13:],
                )
                for row in copies
            ),
        )
        for statement in FLOOR_DDL:
            connection.execute(statement)
        connection.executemany(
            f"INSERT INTO bench_floor ({', '.join(FLOOR_COLUMNS)})"
            f" VALUES ({', '.join('?' * len(FLOOR_COLUMNS))})",
            ((*row[:7], row[7].isoformat(), row[8]) for row in _floor_rows(copies)),
        )
        connection.executemany(
            "INSERT INTO dialog_funnel (started_on, questionnaire_id, service_code, channel_code,"
            " step, count) VALUES (?, ?, ?, ?, ?, ?)",
            ((key[0].isoformat(), *key[1:], count) for key, count in data.funnel.items()),
        )
        for _, sql in indexes:
            connection.execute(sql)
        connection.execute("COMMIT")
        connection.execute("PRAGMA journal_mode=WAL")  # as the bot's engine opens it
    finally:
        connection.close()


async def load_postgres(dsn: str, schema: str, data: Dataset) -> None:
    copies = _copy_rows(data)
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
                "front",
            ],
        )
        await connection.copy_records_to_table(
            "answers",
            records=[(copy[1], *row) for copy, row in zip(copies, data.answers, strict=True)],
            columns=["id", "response_id", "question_id", "option_id", "number", "text"],
        )
        await connection.copy_records_to_table(
            "report_answers", records=copies, columns=list(COPY_COLUMNS)
        )
        for statement in FLOOR_DDL:
            await connection.execute(statement)
        await connection.copy_records_to_table(
            "bench_floor", records=_floor_rows(copies), columns=list(FLOOR_COLUMNS)
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


def schema_revision() -> str:
    """The newest migration file's name: part of the cache key, with the data version."""
    versions = Path(__file__).resolve().parent.parent / "storage" / "migrations" / "versions"
    return max(path.stem for path in versions.glob("0*.py"))


def cache_key(rows: int) -> str:
    raw = f"{rows}-{DATA_VERSION}-{schema_revision()}"
    return f"{rows}_{hashlib.sha256(raw.encode()).hexdigest()[:10]}"


# --- the floor, and what each section reads ----------------------------------------------


def _floor_sql(dialect: str, sql: str) -> str:
    if dialect == "sqlite":
        return sql.format(
            cells="INDEXED BY ix_bench_floor_cells",
            options="INDEXED BY ix_bench_floor_options",
            texts="INDEXED BY ix_bench_floor_texts",
        )
    return sql.format(cells="", options="", texts="")


#: PostgreSQL would rather scan the table in parallel and hash: the floor is the index's plan.
PG_FLOOR_SETTINGS: Final = (
    "SET LOCAL enable_seqscan = off",
    "SET LOCAL enable_bitmapscan = off",
    "SET LOCAL enable_hashagg = off",
    "SET LOCAL max_parallel_workers_per_gather = 0",
)


async def floor_session(session: AsyncSession, dialect: str) -> None:
    if dialect == "postgresql":
        for setting in PG_FLOOR_SETTINGS:
            await session.execute(text(setting))


async def assert_covering(sessions: async_sessionmaker[AsyncSession], dialect: str) -> None:
    """Each floor query is one index-only range scan in GROUP BY order (no table, no sort)."""
    params = {"question": "overall", "start": date(YEAR, 7, 1), "end": date(YEAR, 12, 31)}
    async with sessions() as session:
        await floor_session(session, dialect)
        for sql in (FLOOR_ALL_SQL, FLOOR_CELLS_SQL, FLOOR_OPTIONS_SQL, FLOOR_TEXTS_SQL):
            query = _floor_sql(dialect, sql)
            if dialect == "sqlite":
                plan = " | ".join(
                    str(row[-1])
                    for row in await session.execute(text(f"EXPLAIN QUERY PLAN {query}"), params)
                )
                ok = "COVERING INDEX" in plan and "TEMP B-TREE" not in plan
            else:
                plan = " | ".join(
                    str(row[0]) for row in await session.execute(text(f"EXPLAIN {query}"), params)
                )
                ok = "Index Only Scan" in plan and "Seq Scan" not in plan and "Sort" not in plan
            if not ok:
                raise AssertionError(f"the floor is not a covering-index scan: {plan}")


@dataclass
class Pair:
    """A subject timed against its floor, alternately, one pair per run."""

    label: str
    floor: str
    subject: list[float] = field(default_factory=list)
    ratios: list[float] = field(default_factory=list)


def _spread(values: Sequence[float]) -> str:
    return f"{statistics.median(values):5.2f} ({min(values):.2f}–{max(values):.2f})"


@asynccontextmanager
async def _section_session(
    sessions: async_sessionmaker[AsyncSession],
) -> AsyncIterator[AsyncSession]:
    async with metrics._snapshot(sessions) as session:
        yield session


async def measure(
    sessions: async_sessionmaker[AsyncSession],
    dialect: str,
    service: ReportingService,
    roles: QuestionnaireRoles,
    pairs: int,
    freeze_heap: bool = False,
) -> tuple[dict[str, list[float]], list[Pair]]:
    period = half_year_as_of(date(YEAR, 12, 31))  # H2, compared with H1: every row is read
    # As ReportingService compares it (not the 184 days before, which cut June).
    previous = calendar_previous(period)
    span = Period(previous.start, period.end)
    grain = grain_of([period, previous], False)
    audience = Scope().audience
    bounds = {"start": span.start, "end": span.end}

    def floor(sql: str, **params: object) -> Job:
        async def job() -> None:
            async with sessions() as session:
                await floor_session(session, dialect)
                (await session.execute(text(_floor_sql(dialect, sql)), params)).all()

        return job

    def section(work: Callable[[AsyncSession], Awaitable[object]]) -> Job:
        async def job() -> None:
            async with _section_session(sessions) as session:
                await work(session)

        return job

    def report_data(scope: Scope) -> Job:
        return lambda: build_report(
            sessions, roles=roles, titles=_titles, period=period, scope=scope, previous=previous
        )

    def cold(job: Job) -> Job:
        def run() -> Awaitable[object]:
            clear_plan_cache()
            clear_chart_cache()
            clear_month_memo()
            if isinstance(service.extras, OpenAnswersService):
                service.extras.forget()
            return job()

        return run

    floors: dict[str, Job] = {
        "all": floor(FLOOR_ALL_SQL),
        "cells": floor(FLOOR_CELLS_SQL, question="overall", **bounds),
        "options": floor(
            FLOOR_OPTIONS_SQL, question="obstacles", start=period.start, end=period.end
        ),
        "texts": floor(FLOOR_TEXTS_SQL, start=period.start, end=period.end),
    }
    # The open answers' sections as the delivered /report reads them (ReportingService
    # .report_delivery -> OpenAnswersService.messages): the category counts and the life
    # situations, side by side, for the report of all services.
    extras = service.extras
    assert isinstance(extras, OpenAnswersService)
    whole = await service.report(period, Scope())

    def open_answers() -> Awaitable[object]:
        return extras.extras(whole, Language.RU)

    subjects: dict[str, tuple[str, Job]] = {
        "section: breakdown atoms (2 half-years)": (
            "cells",
            section(lambda s: metrics._atoms(s, roles, audience, span, grain)),
        ),
        "section: problems": (
            "options",
            section(lambda s: metrics._problems(s, roles, audience, period, grain=grain)),
        ),
        "section: NPS": (
            "cells",
            section(lambda s: metrics._nps(s, roles, Scope(), period, 5, False, grain)),
        ),
        "section: drop-off": (
            "cells",
            section(lambda s: protected_drop_off(s, period, Scope(), roles, min_group=5)),
        ),
        "section: comments": (
            "cells",
            section(lambda s: metrics._comments(s, roles, Scope(), period, 100)),
        ),
        # What the report reads of the open answers: keys, categories, re-tags, situations.
        "section: open answers": ("texts", open_answers),
        "report data, all services": ("all", report_data(Scope())),
        "report data, one service": ("all", report_data(Scope(service=SERVICES[3]))),
        "/report delivered (text + charts)": (
            "all",
            lambda: service.report_files(period, Scope(), Language.RU),
        ),
        # The first time a period is asked for: no plan computed, no chart drawn yet. The
        # warm lines come first: what these forget, the last of them remembers again.
        "section: open answers, nothing cached": ("texts", cold(open_answers)),
        "report data, nothing cached": ("all", cold(report_data(Scope()))),
        "/report delivered, nothing cached": (
            "all",
            cold(lambda: service.report_files(period, Scope(), Language.RU)),
        ),
    }
    floor_times: dict[str, list[float]] = {name: [] for name in floors}
    results = [Pair(label, floor_name) for label, (floor_name, _) in subjects.items()]
    # The collector as in the bot process that builds /report (bot.app.serve): the start-up
    # heap frozen, the young generation collected every 50,000 allocations. Without it every
    # full collection during a report walked ~400,000 start-up objects again (a third of the
    # report's data at 1M answers, issue 15), which the bot process never does. Only from the
    # command line: a test process keeps the collector as it is.
    if freeze_heap:
        freeze_startup_heap()
    for job in (*floors.values(), *(job for _, job in subjects.values())):
        await job()  # warm-up: the first run pays for reading pages from disk
    for run in range(pairs):
        for result in results:
            subject = subjects[result.label][1]
            order = (
                (floors[result.floor], subject)
                if run % 2 == 0
                else (subject, floors[result.floor])
            )
            times: list[float] = []
            for job in order:
                started = time.perf_counter()
                await job()
                times.append(time.perf_counter() - started)
            floor_time, subject_time = times if run % 2 == 0 else times[::-1]
            floor_times[result.floor].append(floor_time)
            result.subject.append(subject_time)
            result.ratios.append(subject_time / floor_time)
    return floor_times, results


FLOOR_TITLES: Final = {
    "all": "floor: n, mean, %4-5 per service x question (all scored answers)",
    "cells": "floor: one question per cell x month",
    "options": "floor: one question's options per cell x month",
    "texts": "floor: the answers with a text per cell x month",
}


def print_results(
    title: str, floor_times: dict[str, list[float]], results: list[Pair]
) -> dict[str, float]:
    print(f"  {title}")
    for name, values in floor_times.items():
        median = statistics.median(values) * 1000
        print(f"    {FLOOR_TITLES[name]:<70} {median:8.1f} ms")
    medians: dict[str, float] = {}
    for result in results:
        median = statistics.median(result.subject) * 1000
        medians[result.label] = median
        print(
            f"    {result.label:<40} {median:8.1f} ms"
            f"  {_spread(result.ratios)} x {result.floor} floor"
        )
    return medians


def calibration() -> str:
    loops = 2_000_000
    started = time.perf_counter()
    total = 0
    for i in range(loops):
        total += i
    per_loop = (time.perf_counter() - started) / loops * 1e9
    connection = sqlite3.connect(":memory:")
    started = time.perf_counter()
    connection.execute(
        "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 1000000)"
        " SELECT count(*), sum(i % 7) FROM n"
    ).fetchall()
    sqlite_ms = (time.perf_counter() - started) * 1000
    connection.close()
    load = ", ".join(f"{value:.1f}" for value in os.getloadavg())
    return (
        f"calibration: Python {platform.python_version()}, SQLite {sqlite3.sqlite_version},"
        f" SQLAlchemy {sqlalchemy.__version__}; pure-Python loop {per_loop:.0f} ns/iteration;"
        f" SQLite counting 1M generated rows {sqlite_ms:.0f} ms; load average {load}"
    )


def content_paths() -> tuple[Path, Path]:
    """The default questionnaires and catalog, as the bot loads them."""
    defaults = ContentSettings()
    return defaults.questionnaires_dir, defaults.catalog_path


def reporting_service(sessions: async_sessionmaker[AsyncSession]) -> ReportingService:
    """The reporting service as the bot composes it (bot.composition), default settings."""
    settings = Settings(_env_file=None)
    content = load_content(
        settings.content.questionnaires_dir,
        settings.content.catalog_path,
        settings.content.campaigns_path,
    )
    return build_services(settings, content, sessions=sessions).reporting


def sqlite_path(rows: int) -> Path:
    return CACHE_DIR / f"report_{cache_key(rows)}.db"


async def sqlite_database(rows: int, fresh: bool) -> tuple[Path, str]:
    """The cached SQLite database of ``rows`` answers, built first when missing (or
    ``fresh``); and how it came. Built beside under a name of its own and renamed when
    complete, so a run that starts meanwhile (another engineer's, the same cache) never reads
    half a database; the generated rows are freed before anything is timed."""
    CACHE_DIR.mkdir(parents=True, exist_ok=True)
    path = sqlite_path(rows)
    if path.exists() and not fresh:
        return path, "cached"
    building = path.with_name(f"{path.stem}.building-{os.getpid()}.db")
    building.unlink(missing_ok=True)
    try:
        data = generate(rows)
        await upgrade_async(f"sqlite+aiosqlite:///{building}")
        started = time.perf_counter()
        load_sqlite(building, data)
        del data
        os.replace(building, path)
    finally:
        building.unlink(missing_ok=True)
    return path, f"loaded in {time.perf_counter() - started:.0f} s"


async def run_sqlite(
    rows: int, roles: QuestionnaireRoles, pairs: int, fresh: bool, freeze_heap: bool = False
) -> dict[str, float]:
    path, note = await sqlite_database(rows, fresh)
    url = f"sqlite+aiosqlite:///{path}"
    # The reports' engine as the bot builds it: two connections beside the writer.
    engine = create_engine(url, sqlite_connections=2)
    try:
        sessions = create_session_factory(engine)
        await assert_covering(sessions, "sqlite")
        floor_times, results = await measure(
            sessions, "sqlite", reporting_service(sessions), roles, pairs, freeze_heap
        )
    finally:
        await engine.dispose()
    return print_results(
        f"SQLite, {rows:,} answers ({note}), medians of {pairs} pairs:", floor_times, results
    )


async def postgres_schema(rows: int, fresh: bool) -> tuple[str, str]:
    """The cached PostgreSQL schema of ``rows`` answers, built first when missing (or
    ``fresh``), under a name of its own and renamed when complete (as sqlite_database)."""
    schema = f"report_bench_{cache_key(rows)}"
    dsn = make_url(PG_URL).set(drivername="postgresql").render_as_string(hide_password=False)
    admin = await asyncpg.connect(dsn)
    try:
        exists = await admin.fetchval(
            "SELECT count(*) FROM information_schema.tables"
            " WHERE table_schema = $1 AND table_name = 'bench_floor'",
            schema,
        )
        if exists and not fresh:
            return schema, "cached"
        building = f"{schema}_building_{os.getpid()}"
        await admin.execute(f'DROP SCHEMA IF EXISTS "{building}" CASCADE')
        await admin.execute(f'CREATE SCHEMA "{building}"')
        try:
            connect_args = {"server_settings": {"search_path": building}}
            migrating = create_engine(PG_URL, connect_args=connect_args)
            try:
                async with migrating.begin() as connection:
                    await connection.run_sync(run_upgrade, "head")
            finally:
                await migrating.dispose()
            data = generate(rows)
            started = time.perf_counter()
            await load_postgres(dsn, building, data)
            del data
            async with admin.transaction():
                await admin.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
                await admin.execute(f'ALTER SCHEMA "{building}" RENAME TO "{schema}"')
        finally:
            await admin.execute(f'DROP SCHEMA IF EXISTS "{building}" CASCADE')
        return schema, f"loaded in {time.perf_counter() - started:.0f} s"
    finally:
        await admin.close()


async def run_postgres(
    rows: int, roles: QuestionnaireRoles, pairs: int, fresh: bool, freeze_heap: bool = False
) -> dict[str, float]:
    schema, note = await postgres_schema(rows, fresh)
    engine = create_engine(PG_URL, connect_args={"server_settings": {"search_path": schema}})
    try:
        sessions = create_session_factory(engine)
        await assert_covering(sessions, "postgresql")
        floor_times, results = await measure(
            sessions, "postgresql", reporting_service(sessions), roles, pairs, freeze_heap
        )
    finally:
        await engine.dispose()
    return print_results(
        f"PostgreSQL, {rows:,} answers ({note}; schema {schema}), medians of {pairs} pairs:",
        floor_times,
        results,
    )


async def build(sizes: list[int], backend: str, fresh: bool) -> None:
    """Only build (or find) the cached databases: the 3M ones take long, start them early."""
    for rows in sizes:
        if backend in ("sqlite", "both"):
            path, note = await sqlite_database(rows, fresh)
            print(f"SQLite, {rows:,} answers: {path} ({note})", flush=True)
        if backend in ("postgres", "both"):
            schema, note = await postgres_schema(rows, fresh)
            print(f"PostgreSQL, {rows:,} answers: schema {schema} ({note})", flush=True)


async def main(sizes: list[int], backend: str, pairs: int, fresh: bool) -> None:
    content = load_content(*content_paths())
    roles = QuestionnaireRoles.from_questionnaires(dict(content.questionnaires))
    print(calibration())
    print(f"Report period H2 {YEAR} against H1; cache {CACHE_DIR}")
    medians: dict[tuple[str, int], dict[str, float]] = {}
    for rows in sizes:
        if backend in ("sqlite", "both"):
            medians[("SQLite", rows)] = await run_sqlite(rows, roles, pairs, fresh, True)
        if backend in ("postgres", "both"):
            medians[("PostgreSQL", rows)] = await run_postgres(rows, roles, pairs, fresh, True)
    for name in ("SQLite", "PostgreSQL"):
        found = sorted(rows for (label, rows) in medians if label == name)
        for small, large in itertools.pairwise(found):
            growth = {
                label: medians[(name, large)][label] / medians[(name, small)][label]
                for label in medians[(name, large)]
            }
            worst = max(growth, key=lambda label: growth[label])
            print(
                f"  {name} {small:,} -> {large:,} answers (x{large / small:.0f}):"
                f" the report data x{growth['report data, all services']:.2f},"
                f" /report x{growth['/report delivered (text + charts)']:.2f},"
                f" worst {worst} x{growth[worst]:.2f}"
            )
    for rows in sizes:
        if ("SQLite", rows) in medians and ("PostgreSQL", rows) in medians:
            sqlite_ms = medians[("SQLite", rows)]["report data, all services"]
            pg_ms = medians[("PostgreSQL", rows)]["report data, all services"]
            print(f"  {rows:,} answers: PostgreSQL report data {pg_ms / sqlite_ms:.2f} x SQLite")
    print(
        "Targets (issue 15): each section within 2x its floor, the report data within 4x and the"
        " delivered /report within 10x of the all-answers floor; over 1M answers on SQLite every"
        " section <= 150 ms, /report <= 400 ms; 3M <= 3x 1M; PostgreSQL <= 1.5x SQLite."
    )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--sizes", default="100000,1000000,3000000")
    parser.add_argument("--backend", choices=["sqlite", "postgres", "both"], default="both")
    parser.add_argument("--pairs", type=int, default=5)
    parser.add_argument("--fresh", action="store_true", help="rebuild the cached databases")
    parser.add_argument(
        "--build-only", action="store_true", help="build the cached databases, time nothing"
    )
    arguments = parser.parse_args()
    sizes = [int(size) for size in arguments.sizes.split(",")]
    if arguments.build_only:
        asyncio.run(build(sizes, arguments.backend, arguments.fresh))
    else:
        asyncio.run(main(sizes, arguments.backend, arguments.pairs, arguments.fresh))
