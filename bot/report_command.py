"""`otklik report`: the officer's report for integration and checks, as JSON, XLSX or HTML,
and the Appendix 2 report to sign as DOCX.

The same model and disclosure policy as the bot (services.reporting.ReportingService): a
figure the officer's message hides is absent here too.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from collections.abc import Callable
from datetime import UTC, date, datetime
from pathlib import Path
from typing import TYPE_CHECKING

from bot.policies import disclosure_policy
from bot.problems import Problem, database_problem
from questionnaires.schema import Language
from reports.disclosure import PeriodKind, last_closed
from reports.model import Period, Scope
from reports.periods import (
    RangeError,
    closed_range,
    half_of,
    local_today,
    month_of,
    quarter_of,
    year_of,
)

if TYPE_CHECKING:
    from bot.settings import Settings
    from services.reporting import ReportingService

EXIT_OK = 0

_UNITS: dict[str, Callable[[date], Period]] = {
    "month": month_of,
    "quarter": quarter_of,
    "half": half_of,
    "year": year_of,
}

_RANGE_REASONS = {
    "order": "--to is before --from",
    "open": "the period has not ended yet: reports cover closed periods only",
    "months": "a custom range must be whole calendar months (1st to last day)",
    "weeks": "a custom range must be whole Monday–Sunday weeks (cut at month ends) or months",
    "format": "dates are YYYY-MM-DD",
}


def add_commands(
    subparsers: argparse._SubParsersAction[argparse.ArgumentParser],
    settings: Callable[[], Settings],
) -> None:
    """Add `report` to the `otklik` command; ``settings`` loads and explains the settings."""
    report = subparsers.add_parser(
        "report", help="print the officer's report as JSON, XLSX or HTML, or Appendix 2 as DOCX"
    )
    report.add_argument("--period", choices=sorted(_UNITS), help="calendar unit of the report")
    report.add_argument(
        "--at",
        type=date.fromisoformat,
        metavar="DATE",
        help="the unit containing DATE (YYYY-MM-DD); default: the last closed one",
    )
    report.add_argument("--from", dest="start", type=date.fromisoformat, metavar="DATE")
    report.add_argument("--to", dest="end", type=date.fromisoformat, metavar="DATE")
    report.add_argument("--service", metavar="CODE", help="one service; default: all")
    report.add_argument(
        "--audience",
        choices=("external", "internal"),
        default="external",
        help="internal: the staff report by aspect and department (§4.2, §4.4)",
    )
    report.add_argument(
        "--format",
        choices=("json", "xlsx", "html", "docx"),
        default="json",
        help="docx: the Appendix 2 report of the Procedure, body-wide (no --service)",
    )
    report.add_argument(
        "--lang",
        "--language",
        dest="lang",
        choices=[lang.value for lang in Language],
        default="ru",
        help="the language of every label, sheet and heading (default: ru)",
    )
    report.add_argument("--out", type=Path, help="file to write; default: standard output")
    report.set_defaults(handler=lambda args: cmd_report(args, settings()))


def choose_period(args: argparse.Namespace, today: date, *, weekly: bool) -> Period:
    """The closed period the arguments name, or a Problem explaining why there is none."""
    if args.start is not None or args.end is not None:
        if args.start is None or args.end is None or args.at is not None:
            raise Problem("report: give both --from and --to (and no --at)")
        if args.end < args.start:
            raise Problem(f"report: {_RANGE_REASONS['order']}")
        try:
            return closed_range(Period(args.start, args.end), today, weekly=weekly)
        except RangeError as refused:
            raise Problem(f"report: {_RANGE_REASONS[refused.reason]}") from refused
    if args.period is None:
        raise Problem("report: give --period month|quarter|half|year, or --from and --to")
    if args.at is None:
        return last_closed(PeriodKind(args.period), today)
    period = _UNITS[args.period](args.at)
    if period.end >= today:
        raise Problem(f"report: {period} has not ended yet: reports cover closed periods only")
    return period


def cmd_report(args: argparse.Namespace, settings: Settings) -> int:
    return asyncio.run(_report(args, settings))


async def _report(args: argparse.Namespace, settings: Settings) -> int:
    from bot.composition import build_services
    from bot.content import load_content
    from reports.export import report_html, report_json
    from reports.open_answers_output import extras_html, extras_json
    from services.appendix2 import beside_of
    from storage.database import create_engine, create_session_factory

    disclosure = disclosure_policy(settings)
    today = local_today(datetime.now(UTC), settings.body.zone)
    period = choose_period(args, today, weekly=disclosure.weekly)
    content = load_content(
        settings.content.questionnaires_dir,
        settings.content.catalog_path,
        settings.content.campaigns_path,
    )
    if args.audience == "internal" and args.service is not None:
        raise Problem("report: the staff report (--audience internal) has no --service")
    if args.format == "docx" and args.service is not None:
        raise Problem("report: --format docx is the body-wide Appendix 2 report; drop --service")
    if args.format == "docx" and args.out is None and sys.stdout.isatty():
        raise Problem("report: a DOCX file is binary; give --out FILE")
    if args.service is not None and content.catalog.service(args.service) is None:
        raise Problem(f"report: no service {args.service!r} in the catalog")
    scope = Scope(service=args.service)
    engine = create_engine(settings.db.url)
    # The bot's composition, sending nothing: the workbook's «Проблемы» sheet and the Appendix
    # 2 pain table come from the stored map with its measures, as in the bot.
    services = build_services(settings, content, sessions=create_session_factory(engine))
    reporting, open_answers = services.reporting, services.open_answers
    try:
        if args.format == "docx":
            data = await services.appendix2.docx(period, beside_of(period), Language(args.lang))
        elif args.audience == "internal":
            data = await _internal(reporting, period, args.format, Language(args.lang))
        elif args.format == "xlsx":
            data = await reporting.workbook(period, scope, language=Language(args.lang))
        else:
            language = Language(args.lang)
            report = await reporting.report(period, scope, language=language)
            extras = await open_answers.extras(report, language)
            if args.format == "json":
                document = {**report_json(report), **extras_json(extras)}
                text = json.dumps(document, ensure_ascii=False, indent=2) + "\n"
            else:
                text = report_html(
                    report, language, extras_html(extras, language, report.min_group)
                )
            data = text.encode()
    except Exception as error:
        problem = database_problem(error, settings.db.url)
        if problem is None:
            raise
        raise problem from error
    finally:
        await engine.dispose()
    if args.out is not None:
        args.out.write_bytes(data)
    else:
        sys.stdout.buffer.write(data)
        sys.stdout.flush()
    return EXIT_OK


async def _internal(
    reporting: ReportingService, period: Period, output: str, language: Language
) -> bytes:
    """The staff report in the chosen format: the same model as the internal officer's /report."""
    from reports.export import page_html
    from reports.parameter_render import internal_json, render_internal_text

    if output == "xlsx":
        return await reporting.internal_workbook(period, language)
    report = await reporting.internal_report(period, language=language)
    if output == "json":
        return (json.dumps(internal_json(report), ensure_ascii=False, indent=2) + "\n").encode()
    title = f"{report.title} — {report.period}"
    return page_html(title, render_internal_text(report, language), language).encode()
