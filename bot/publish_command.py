"""`otklik publish --out DIR`: the public site of results, for a webmaster to upload.

The same content as the bot's /results and the site the bot regenerates when `PUBLISH__DIR`
is set (services.publication): closed periods only, every figure through the disclosure
policy, no appeals statistics, no staff results, no comments.
"""

from __future__ import annotations

import argparse
import asyncio
from collections.abc import Callable
from datetime import UTC, date, datetime
from pathlib import Path
from typing import TYPE_CHECKING

from bot.problems import Problem, database_problem

if TYPE_CHECKING:
    from bot.settings import Settings
    from services.publication import DoneMeasures

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


async def _publish(
    out: Path, settings: Settings, today: date | None, measures: DoneMeasures | None = None
) -> int:
    from bot.content import load_content
    from bot.policies import disclosure_policy
    from reports.model import QuestionnaireRoles
    from reports.periods import local_today
    from scheduler.calendar import load_calendar
    from services.broadcast import Broadcaster
    from services.campaigns import CampaignPolicy, CampaignService
    from services.painmap import PainMapService
    from services.publication import PainMapMeasures, PublicationService
    from services.reporting import ReportingPolicy, ReportingService
    from storage.database import create_engine, create_session_factory
    from storage.opt_ins import OptInStore
    from storage.painmap import PainMapStore

    content = load_content(
        settings.content.questionnaires_dir,
        settings.content.catalog_path,
        settings.content.campaigns_path,
    )
    disclosure = disclosure_policy(settings)
    day = today or local_today(datetime.now(UTC), settings.body.zone)
    engine = create_engine(settings.db.url)
    sessions = create_session_factory(engine)
    reporting = ReportingService(
        sessions=sessions,
        roles=QuestionnaireRoles.from_questionnaires(content.questionnaires),
        catalog=content.catalog,
        policy=ReportingPolicy(disclosure=disclosure, zone=settings.body.zone),
    )
    campaigns = CampaignService(
        sessions=sessions,
        campaigns=content.campaigns,
        questionnaires=content.questionnaires,
        calendar=load_calendar(),
        # Only published results are read: no participation or member key is made, nothing
        # is sent, so neither the pepper nor Telegram is needed.
        pepper=b"",
        zone=settings.body.zone,
        broadcaster_factory=lambda port: Broadcaster(sessions, port),
        send=_no_sends,
        results=_NoResults(),
        opt_ins=OptInStore(sessions, min_batch=disclosure.min_group),
        officer_ids=(),
        policy=CampaignPolicy(
            min_group=disclosure.min_group,
            min_comment_group=disclosure.comment_threshold("external"),
            min_comment_group_staff=disclosure.comment_threshold("internal"),
        ),
        departments=content.catalog.departments,
    )
    publication = PublicationService(
        reporting=reporting,
        windows=campaigns,
        # The pain map's done measures as stored (read only: no refresh, no reminders).
        measures=measures
        or PainMapMeasures(
            PainMapService(
                store=PainMapStore(sessions), reporting=reporting, zone=settings.body.zone
            ).public_measures
        ),
        questionnaires=content.questionnaires,
        body_name=settings.body.name,
        today=lambda: day,
    )
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


async def _no_sends(chat_id: int, text: str) -> None:
    raise AssertionError("otklik publish sends nothing")


class _NoResults:
    async def text(self, chat_id: int, html: str) -> None:
        raise AssertionError("otklik publish sends nothing")
