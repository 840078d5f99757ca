"""`otklik publish --out DIR`: the public site of results, for a webmaster to upload.

The same content as the bot's /results and the site the bot regenerates when `PUBLISH__DIR`
is set (services.publication): closed periods only, every figure through the disclosure
policy, no appeals statistics, no staff results, no comments.
"""

from __future__ import annotations

import argparse
import asyncio
from collections.abc import Callable
from datetime import UTC, date, datetime, time
from pathlib import Path
from typing import TYPE_CHECKING

from bot.problems import Problem, database_problem

if TYPE_CHECKING:
    from bot.settings import Settings

EXIT_OK = 0


def add_commands(
    subparsers: argparse._SubParsersAction[argparse.ArgumentParser],
    settings: Callable[[], Settings],
) -> None:
    """Add `publish` to the `otklik` command; ``settings`` loads and explains the settings."""
    publish = subparsers.add_parser(
        "publish", help="write the public site of results (static HTML and SVG)"
    )
    publish.add_argument(
        "--out",
        type=Path,
        help="folder to write the site into; default: PUBLISH__DIR",
    )
    publish.add_argument(
        "--today",
        type=date.fromisoformat,
        metavar="DATE",
        help=argparse.SUPPRESS,  # for checks: the site as it would be on DATE
    )
    publish.set_defaults(handler=lambda args: cmd_publish(args, settings()))


def cmd_publish(args: argparse.Namespace, settings: Settings) -> int:
    out: Path | None = args.out or settings.publish.dir
    if out is None:
        raise Problem("publish: give --out DIR (or set PUBLISH__DIR)")
    if out.exists() and not out.is_dir():
        raise Problem(f"publish: {out} is not a folder")
    return asyncio.run(_publish(out, settings, args.today))


async def _publish(out: Path, settings: Settings, today: date | None) -> int:
    from bot.composition import build_services
    from bot.content import load_content
    from reports.periods import local_today
    from storage.database import create_engine, create_session_factory

    content = load_content(
        settings.content.questionnaires_dir,
        settings.content.catalog_path,
        settings.content.campaigns_path,
    )
    zone = settings.body.zone
    day = today or local_today(datetime.now(UTC), zone)
    engine = create_engine(settings.db.url)
    # The bot's composition, sending nothing, its clock at noon of the day. Only published
    # results are read: no participation or member key is made, so no pepper is needed.
    services = build_services(
        settings,
        content,
        sessions=create_session_factory(engine),
        clock=lambda: datetime.combine(day, time(12), tzinfo=zone),
    )
    publication = services.publication
    try:
        written = await publication.publish(out)
    except Exception as error:
        problem = database_problem(error, settings.db.url)
        if problem is None:
            raise
        raise problem from error
    finally:
        await engine.dispose()
    print(f"wrote {len(written)} files of the public site to {out}")
    return EXIT_OK
