"""Benchmark: the pain map's refresh of a closed month and quarter, with and without touchpoints.

Run from the repository root:
``.venv/bin/python -m bench.painmap_bench [--rows 300000] [--keep FILE]``.
The data are those of bench/report_bench.py (20 services, 6 channels, a year of answers) on
SQLite through the reports' engine of two connections, as the bot builds it; the catalog is the
shipped one with those 20 services. Each refresh runs on an empty pain map with the plan cache
cleared, once per period kind: as before issue 10's touchpoints (by service and life situation,
each report with its parameter section), by process with the reports' parameter section left out
(the map reads none of it), and now (plus a report per shown channel of each service); the
reports asked for are counted. The bot does this once per closed month and quarter (claimed in
``deliveries``).
"""

from __future__ import annotations

import argparse
import asyncio
import tempfile
import time
from datetime import date
from pathlib import Path
from zoneinfo import ZoneInfo

from sqlalchemy import delete

from bench.report_bench import SERVICES, YEAR, content_paths, generate, load_sqlite
from bot.content import load_content
from questionnaires.catalog import Catalog
from questionnaires.schema import Language, Text
from reports.disclosure import DisclosurePolicy, clear_plan_cache
from reports.model import Period, QuestionnaireRoles, Report, Scope
from services.painmap import PainMapService
from services.reporting import ReportingPolicy, ReportingService
from storage.database import Sessions, create_engine, create_session_factory
from storage.migrate import upgrade_async
from storage.models_painmap import Pain, PainFigure, ProcessFigure
from storage.painmap import PainMapStore

MONTH = Period(date(YEAR, 11, 1), date(YEAR, 11, 30))
QUARTER = Period(date(YEAR, 10, 1), date(YEAR, 12, 31))


class CountingReports(ReportingService):
    """The reporting service, counting the reports the refresh asks for."""

    asked = 0
    #: As before issue 10's touchpoints: every report with its parameter section.
    with_parameters = False

    async def report(
        self,
        period: Period,
        scope: Scope,
        title: str = "",
        language: Language = Language.RU,
        *,
        parameters: bool = True,
    ) -> Report:
        self.asked += 1
        parameters = parameters or self.with_parameters
        return await super().report(period, scope, title, language, parameters=parameters)


class WithoutTouchpoints(PainMapService):
    async def _refresh_touchpoints(self, *args: object, **kwargs: object) -> int:
        return 0


def bench_catalog() -> Catalog:
    shipped = load_content(*content_paths()).catalog
    model = next(s for s in shipped.services if not s.internal)
    services = tuple(
        model.model_copy(
            update={"code": code, "title": Text(ru=f"Услуга {code}"), "officer": None}
        )
        for code in SERVICES
    )
    return shipped.model_copy(update={"services": services})


async def _empty(sessions: Sessions) -> None:
    async with sessions.begin() as session:
        for table in (PainFigure, ProcessFigure, Pain):
            await session.execute(delete(table))


async def measure(path: Path) -> None:
    engine = create_engine(f"sqlite+aiosqlite:///{path}", sqlite_connections=2)
    sessions = create_session_factory(engine)
    content = load_content(*content_paths())
    reporting = CountingReports(
        sessions=sessions,
        roles=QuestionnaireRoles.from_questionnaires(dict(content.questionnaires)),
        catalog=bench_catalog(),
        policy=ReportingPolicy(disclosure=DisclosurePolicy()),
    )
    zone = ZoneInfo("Europe/Moscow")
    try:
        for period in (MONTH, QUARTER):
            print(f"{period}:")
            for label, kind, with_parameters in (
                ("before: by process, reports with parameters", WithoutTouchpoints, True),
                ("by process, reports without parameters", WithoutTouchpoints, False),
                ("by process and touchpoint (now)", PainMapService, False),
            ):
                await _empty(sessions)
                clear_plan_cache()
                service = kind(store=PainMapStore(sessions), reporting=reporting, zone=zone)
                reporting.asked, reporting.with_parameters = 0, with_parameters
                started = time.perf_counter()
                pains = await service.refresh(period)
                elapsed = time.perf_counter() - started
                print(
                    f"  {label}: {elapsed:.2f} s, {reporting.asked} reports "
                    f"({elapsed / reporting.asked:.2f} s each), {pains} pains"
                )
    finally:
        await engine.dispose()


async def main(rows: int, keep: Path | None) -> None:
    started = time.perf_counter()
    data = generate(rows)
    print(
        f"Pain map benchmark: {len(data.responses):,} responses of {YEAR}"
        f" (generated in {time.perf_counter() - started:.1f} s), SQLite"
    )
    with tempfile.TemporaryDirectory() as scratch:
        path = keep or Path(scratch) / "painmap_bench.db"
        if keep is None or not keep.exists():  # noqa: ASYNC240 (a script, nothing else runs)
            await upgrade_async(f"sqlite+aiosqlite:///{path}")
            load_sqlite(path, data)
        await measure(path)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rows", type=int, default=300_000)
    parser.add_argument("--keep", type=Path, default=None, help="SQLite file to reuse")
    arguments = parser.parse_args()
    asyncio.run(main(arguments.rows, arguments.keep))
