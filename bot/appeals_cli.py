"""`otklik appeals import FILE` and `otklik appeals report --quarter 2026Q3` (Procedure §3.5)."""

from __future__ import annotations

import argparse
import asyncio
import html
import re
import sys
from collections.abc import Awaitable, Callable
from datetime import date, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Final, TypeVar

from bot.problems import Problem
from questionnaires.errors import DefinitionError
from reports.model import Period
from reports.periods import quarter_of

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

    from bot.settings import Settings
    from services.appeals import AppealsMapping

    Sessions = async_sessionmaker[AsyncSession]

EXIT_OK: Final = 0
EXIT_DEFECTS: Final = 1
_QUARTER: Final = re.compile(r"^(\d{4})[- ]?Q([1-4])$", re.IGNORECASE)
T = TypeVar("T")


def add_commands(
    subparsers: argparse._SubParsersAction[argparse.ArgumentParser],
    settings: Callable[[], Settings],
) -> None:
    """Add `appeals import` and `appeals report` to the `otklik` command; ``settings`` loads
    and explains the settings."""
    appeals = subparsers.add_parser("appeals", help="appeals register: import and monitoring")
    actions = appeals.add_subparsers(dest="appeals_command", metavar="ACTION", required=True)
    load = actions.add_parser("import", help="import a register export (CSV or XLSX)")
    load.add_argument("file", type=Path)
    load.add_argument("--mapping", type=Path, help="column mapping YAML (default: settings)")
    load.add_argument("--source", help="source name keying the rows (default: the mapping's)")
    load.add_argument(
        "--all-or-nothing",
        dest="all_or_nothing",
        action="store_true",
        help="write nothing when any row is bad",
    )
    load.set_defaults(handler=lambda args: cmd_import(args, settings()))
    report = actions.add_parser("report", help="print the quarterly monitoring (§3.5)")
    report.add_argument("--quarter", required=True, help="a closed quarter, e.g. 2026Q3")
    report.add_argument(
        "--mapping", type=Path, help="mapping YAML whose words label the codes (default: settings)"
    )
    report.add_argument("--xlsx", type=Path, help="also write the monitoring sheet here")
    report.set_defaults(handler=lambda args: cmd_report(args, settings()))


def parse_quarter(text: str) -> Period:
    match = _QUARTER.match(text.strip())
    if match is None:
        raise Problem(f"--quarter {text}: expected a quarter like 2026Q3")
    year, number = int(match.group(1)), int(match.group(2))
    return quarter_of(date(year, 3 * number - 2, 1))


def _mapping(path: Path | None, settings: Settings) -> AppealsMapping:
    from services.appeals import load_mapping

    chosen = path or settings.content.appeals_mapping_path
    try:
        return load_mapping(chosen)
    except FileNotFoundError as error:
        raise Problem(f"mapping {chosen}: no such file") from error
    except DefinitionError as error:
        raise Problem(*(str(defect) for defect in error.defects)) from error


def _run(settings: Settings, job: Callable[[Sessions], Awaitable[T]]) -> T:
    """Migrate (idempotent, as the bot does on start), then run ``job`` with a session factory."""
    from storage.database import create_engine, create_session_factory
    from storage.migrate import upgrade_async

    async def main() -> T:
        await upgrade_async(settings.db.url)
        engine = create_engine(settings.db.url)
        try:
            return await job(create_session_factory(engine))
        finally:
            await engine.dispose()

    return asyncio.run(main())


def cmd_import(args: argparse.Namespace, settings: Settings) -> int:
    from services.appeals import MAX_REPORTED_ERRORS, AppealsService, ImportReport, RegisterError
    from storage.appeals import AppealStore

    mapping = _mapping(args.mapping, settings)
    path: Path = args.file
    try:
        data = path.read_bytes()
    except OSError as error:
        raise Problem(f"{path}: {error.strerror or error}") from error

    async def job(sessions: Sessions) -> ImportReport:
        service = AppealsService(AppealStore(sessions))
        return await service.import_register(
            path.name, data, mapping, source=args.source, all_or_nothing=args.all_or_nothing
        )

    try:
        report = _run(settings, job)
    except RegisterError as error:
        raise Problem(str(error)) from error
    for bad in report.errors[:MAX_REPORTED_ERRORS]:
        print(bad.describe("en"), file=sys.stderr)
    if len(report.errors) > MAX_REPORTED_ERRORS:
        print(f"… and {len(report.errors) - MAX_REPORTED_ERRORS} more bad rows", file=sys.stderr)
    if report.written:
        print(
            f"{path.name}: source {report.source}: {report.rows} rows read, "
            f"{report.added} added, {report.updated} already present (updated), "
            f"{len(report.errors)} bad"
        )
    else:
        print(
            f"{path.name}: nothing written (--all-or-nothing): {len(report.errors)} bad of "
            f"{report.rows} rows",
            file=sys.stderr,
        )
    return EXIT_DEFECTS if report.errors else EXIT_OK


def cmd_report(args: argparse.Namespace, settings: Settings) -> int:
    from bot.policies import disclosure_policy
    from reports.appeals import (
        AppealsMonitoring,
        build_monitoring,
        monitoring_workbook,
        render_monitoring,
    )
    from storage.appeals import AppealStore

    period = parse_quarter(args.quarter)
    today = datetime.now(settings.body.zone).date()
    if period.end >= today:
        raise Problem(f"--quarter {args.quarter}: not closed yet (ends {period.end})")
    titles: dict[str, dict[str, str]] | None = None
    try:
        titles = _mapping(args.mapping, settings).titles()
    except Problem:
        if args.mapping:
            raise
        # The configured mapping only labels codes here: without it the codes are shown.
    policy = disclosure_policy(settings)

    async def job(sessions: Sessions) -> AppealsMonitoring:
        return await build_monitoring(
            AppealStore(sessions), period, policy, zone=settings.body.zone
        )

    monitoring = _run(settings, job)
    text = render_monitoring(monitoring, titles)
    print(html.unescape(re.sub(r"<[^>]+>", "", text)))
    if args.xlsx is not None:
        args.xlsx.write_bytes(monitoring_workbook(monitoring, titles))
        print(f"wrote {args.xlsx}")
    return EXIT_OK
