"""`otklik announce`: preview «вы сказали — мы сделали», or send it now (`--send`).

The bot sends it itself every week (services.announcements); this command shows what the next
message would say and to how many chats, and sends it on an officer's decision. Each measure
is announced once, whichever sends it first.
"""

from __future__ import annotations

import argparse
import asyncio
from collections.abc import Callable
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from bot.problems import Problem, database_problem

if TYPE_CHECKING:
    from bot.settings import Settings
    from services.announcements import Broadcasts

EXIT_OK = 0


def add_commands(
    subparsers: argparse._SubParsersAction[argparse.ArgumentParser],
    settings: Callable[[], Settings],
) -> None:
    announce = subparsers.add_parser(
        "announce",
        help="preview (or --send) the «you said — we did» message to citizens who opted in",
    )
    announce.add_argument(
        "--send", action="store_true", help="send it now through Telegram (default: preview)"
    )
    announce.set_defaults(handler=lambda args: asyncio.run(_announce(args.send, settings())))


async def _announce(send: bool, settings: Settings, broadcaster: Broadcasts | None = None) -> int:
    from bot.content import load_content
    from bot.policies import disclosure_policy
    from reports.model import QuestionnaireRoles
    from services.announcements import ResultsAnnouncer
    from services.broadcast import Broadcaster, telegram_sender
    from services.painmap import PainMapService
    from services.reporting import ReportingPolicy, ReportingService
    from storage.announcements import AnnouncementStore
    from storage.database import create_engine, create_session_factory
    from storage.opt_ins import OptInStore
    from storage.painmap import PainMapStore

    content = load_content(settings.content.questionnaires_dir, settings.content.catalog_path)
    disclosure = disclosure_policy(settings)
    engine = create_engine(settings.db.url)
    sessions = create_session_factory(engine)
    reporting = ReportingService(
        sessions=sessions,
        roles=QuestionnaireRoles.from_questionnaires(content.questionnaires),
        catalog=content.catalog,
        policy=ReportingPolicy(disclosure=disclosure),
    )
    painmap = PainMapService(
        store=PainMapStore(sessions), reporting=reporting, zone=settings.body.zone
    )
    bot = None
    if broadcaster is None:
        if send:
            from bot.app import create_bot

            bot = create_bot(settings)
            broadcaster = Broadcaster(sessions, telegram_sender(bot))
        else:
            broadcaster = Broadcaster(sessions, _no_sends)
    announcer = ResultsAnnouncer(
        measures=painmap,
        store=AnnouncementStore(sessions),
        subscribers=OptInStore(sessions, min_batch=disclosure.min_group),
        broadcaster=broadcaster,
        zone=settings.body.zone,
        url=settings.publish.url,
        clock=lambda: datetime.now(UTC),
    )
    try:
        if not send:
            preview = await announcer.preview()
            if preview.text is None:
                print("no done measure to announce since the last message")
            else:
                print(preview.text)
                print(f"\n-- {preview.measures} measures, {preview.recipients} chats (--send)")
            return EXIT_OK
        outcome = await announcer.announce()
        state = "complete" if outcome.complete else "unfinished: the bot resumes it hourly"
        print(f"announced {outcome.measures} measures; {outcome.sent} messages sent ({state})")
        return EXIT_OK
    except Exception as error:
        problem = database_problem(error, settings.db.url)
        if problem is None:
            raise
        raise problem from error
    finally:
        if bot is not None:
            await bot.session.close()
        await engine.dispose()


async def _no_sends(chat_id: int, text: str) -> None:
    raise Problem("announce: the preview sends nothing")
