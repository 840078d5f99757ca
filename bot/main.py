"""Entry point of the bot process: checks the settings, wires everything, runs long polling."""

from __future__ import annotations

import asyncio
import logging
import sys

from aiogram.exceptions import TelegramUnauthorizedError
from aiogram.utils.token import TokenValidationError, validate_token

from bot.logmask import install_token_filter
from bot.settings import Settings

logger = logging.getLogger(__name__)

EXIT_NO_TOKEN = 2

NO_TOKEN_MESSAGE = """\
Otklik cannot start: no bot token is configured.

1. In Telegram, open @BotFather (https://t.me/BotFather), send /newbot and follow the steps;
   it answers with a token like 123456789:AAE...
2. Put it into the file .env next to README.md (copy .env.example if there is none):
       BOT__TOKEN=123456789:AAE...
   or export BOT__TOKEN in the environment.
3. Start the bot again.
"""


BAD_TOKEN_MESSAGE = """\
Otklik cannot start: the bot token in BOT__TOKEN is not valid ({reason}).

Copy the token again from @BotFather (https://t.me/BotFather): send /mybots, choose the bot,
then "API Token". Put it into .env as BOT__TOKEN=123456789:AAE... and start the bot again.
"""


def configure_logging(level: str) -> None:
    logging.basicConfig(
        level=level.upper(),
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )


def run_bot(settings: Settings) -> int:
    """Run until interrupted; returns the process exit code."""
    configure_logging(settings.log_level)
    token = settings.bot.token.get_secret_value().strip() if settings.bot.token else ""
    # Bot API URLs carry the token; aiohttp and aiogram errors quote them.
    install_token_filter([token])
    if not token:
        print(NO_TOKEN_MESSAGE, file=sys.stderr)
        return EXIT_NO_TOKEN
    try:
        validate_token(token)
    except TokenValidationError:
        print(
            BAD_TOKEN_MESSAGE.format(reason="it does not look like a bot token"), file=sys.stderr
        )
        return EXIT_NO_TOKEN
    from bot.app import serve

    try:
        asyncio.run(serve(settings))
    except TelegramUnauthorizedError:
        print(BAD_TOKEN_MESSAGE.format(reason="Telegram rejected it"), file=sys.stderr)
        return EXIT_NO_TOKEN
    except KeyboardInterrupt:
        logger.info("Stopped by the operator")
    return 0
