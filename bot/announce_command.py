"""`otklik announce`: preview «вы сказали — мы сделали», or send it now (`--send`).

The bot sends it itself every week (services.announcements); this command shows what the next
message would say and to how many chats, and sends it on an officer's decision. Each measure
is announced once, whichever sends it first.
"""

from __future__ import annotations

import argparse
import asyncio
from collections.abc import Callable
from typing import TYPE_CHECKING

from bot.problems import Problem, database_problem

if TYPE_CHECKING:
    from bot.settings import Settings
    from services.broadcast import SendPort

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
        "--send",
        action="store_true",
        help="send it now through Telegram (and MAX when MAX__TOKEN is set; default: preview)",
    )
    announce.set_defaults(handler=lambda args: asyncio.run(_announce(args.send, settings())))


async def _announce(send: bool, settings: Settings, port: SendPort | None = None) -> int:
    """``port`` replaces Telegram for ``--send`` (tests); the preview sends nothing."""
    from bot.composition import build_services
    from bot.content import load_content
    from storage.database import create_engine, create_session_factory

    content = load_content(
        settings.content.questionnaires_dir,
        settings.content.catalog_path,
        settings.content.campaigns_path,
    )
    engine = create_engine(settings.db.url)
    bot = None
    outbox = None
    ports = None
    if send and port is None:
        from bot.app import create_bot
        from bot.outbox import messengers

        bot = create_bot(settings)
        ports = messengers(settings, bot)
        outbox = ports.outbox
    # The bot's own composition: the same announcer, news port and disclosure policy.
    announcer = build_services(
        settings,
        content,
        sessions=create_session_factory(engine),
        outbox=outbox,
        news_send=port if send else _no_sends,
    ).announcer
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
        if ports is not None:
            await ports.close()
        await engine.dispose()


async def _no_sends(chat_id: int, text: str) -> None:
    raise Problem("announce: the preview sends nothing")
