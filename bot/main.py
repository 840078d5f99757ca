"""Entry point of the bot process: checks the settings, wires everything, runs long polling."""

from __future__ import annotations

import asyncio
import errno
import logging
import os
import sys
from collections.abc import Coroutine
from importlib.metadata import PackageNotFoundError, version
from typing import TYPE_CHECKING, Any, Final

from aiogram.exceptions import TelegramUnauthorizedError
from aiogram.utils.token import TokenValidationError, validate_token
from sqlalchemy.engine import make_url

from bot.logmask import install_token_filter
from bot.problems import Problem, database_problem
from bot.settings import Settings, data_folder, home
from questionnaires.errors import DefinitionError

if TYPE_CHECKING:
    from bot.max import Fronts

logger = logging.getLogger(__name__)

EXIT_NO_TOKEN = 2

NO_TOKEN_MESSAGE = """\
Otklik cannot start: no bot token is configured.

1. In Telegram, open @BotFather (https://t.me/BotFather), send /newbot and follow the steps;
   it answers with a token like 123456789:AAE...
2. Put it into the file {env_file} (copy .env.example there if there is none):
       BOT__TOKEN=123456789:AAE...
   or export BOT__TOKEN in the environment. (That folder is OTKLIK_HOME, by default the
   project folder.)
3. Start the bot again.

For MAX instead of (or beside) Telegram, set MAX__TOKEN (README, "In MAX").
"""


BAD_TOKEN_MESSAGE = """\
Otklik cannot start: the bot token in BOT__TOKEN is not valid ({reason}).

Copy the token again from @BotFather (https://t.me/BotFather): send /mybots, choose the bot,
then "API Token". Put it into .env as BOT__TOKEN=123456789:AAE... and start the bot again.
"""


#: Libraries that narrate their routine at INFO: alembic's plugin and context lines, a line per
#: update and per scheduled job, matplotlib's font cache. Their warnings and errors still show;
#: LOG_LEVEL=DEBUG shows everything.
QUIET_LOGGERS: Final = (
    "alembic",
    "aiogram.dispatcher",
    "aiogram.event",
    "apscheduler",
    "matplotlib",
)


def configure_logging(level: str) -> None:
    logging.basicConfig(
        level=level.upper(),
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )
    if logging.getLogger().getEffectiveLevel() > logging.DEBUG:
        for name in QUIET_LOGGERS:
            logging.getLogger(name).setLevel(logging.WARNING)
    quiet_matplotlib()


def quiet_matplotlib() -> None:
    """Keep matplotlib's font cache under the data folder: built once, not in ~/.cache of
    whichever user cron runs as, and not announced at every start."""
    os.environ.setdefault("MPLCONFIGDIR", str(data_folder() / "matplotlib"))


def otklik_version() -> str:
    try:
        return version("otklik")
    except PackageNotFoundError:  # running from a source tree that was never installed
        return "(source)"


def describe(settings: Settings) -> str:
    """The start-up facts an operator needs, in one line; no secrets."""
    database = make_url(settings.db.url).render_as_string(hide_password=True)
    state = "Redis" if settings.fsm.redis_url else "the database"
    return (
        f"Otklik {otklik_version()} starting: home {home()}, database {database}, "
        f"dialog state in {state}, "
        + ("webhook" if settings.bot.webhook_url else "long polling")
        + (
            f", web front on {settings.web.host}:{settings.web.port}"
            if settings.web.enabled
            else ""
        )
    )


def run_web(settings: Settings) -> int:
    """`otklik web`: the web front alone (no Telegram polling, no scheduler) until interrupted."""
    configure_logging(settings.log_level)
    token = settings.bot.token.get_secret_value().strip() if settings.bot.token else ""
    install_token_filter([token] if token else [])
    logger.info(
        "Otklik %s web front starting: home %s, database %s, http://%s:%d",
        otklik_version(),
        home(),
        make_url(settings.db.url).render_as_string(hide_password=True),
        settings.web.host,
        settings.web.port,
    )
    from bot.web import serve_web

    try:
        asyncio.run(serve_web(settings))
    except KeyboardInterrupt:
        logger.info("Stopped by the operator")
    except DefinitionError as error:
        raise Problem(
            *(str(defect) for defect in error.defects),
            "the web front cannot start without a valid catalog, campaigns and triggers file",
        ) from error
    except OSError as error:
        if is_address_problem(error):
            raise Problem(
                f"WEB__HOST={settings.web.host} WEB__PORT={settings.web.port}: cannot listen "
                f"there ({error.strerror}); choose another port or stop what uses it"
            ) from error
        problem = database_problem(error, settings.db.url)
        if problem is None:
            raise
        raise problem from error
    except (Problem, SystemExit):
        raise
    except Exception as error:
        problem = database_problem(error, settings.db.url)
        if problem is None:
            raise
        raise problem from error
    return 0


def run_max_alone(settings: Settings) -> int:
    """`otklik run` with MAX__TOKEN and no BOT__TOKEN: the MAX front without Telegram."""
    logger.info("%s", describe(settings))
    logger.info("No BOT__TOKEN: MAX alone (MAX__API_BASE_URL %s)", settings.max.api_base_url)
    from bot.max import serve_max_alone

    run_until_stopped(settings, serve_max_alone(settings))
    return 0


def run_until_stopped(settings: Settings, main: Coroutine[Any, Any, None]) -> None:
    """Run the process's event loop until it ends or the operator stops it; a start-up
    failure the operator can fix (the content files, the database) becomes a Problem."""
    try:
        asyncio.run(main)
    except KeyboardInterrupt:
        logger.info("Stopped by the operator")
    except DefinitionError as error:
        # Questionnaires are skipped one by one; without the catalog or campaigns the bot
        # cannot tell what a link or poll means.
        raise Problem(
            *(str(defect) for defect in error.defects),
            "the bot cannot start without a valid catalog, campaigns and triggers file: fix "
            "the lines above (otklik validate checks them)",
        ) from error
    except (Problem, SystemExit):
        raise
    except Exception as error:
        problem = database_problem(error, settings.db.url)
        if problem is None:
            raise
        raise problem from error


def is_address_problem(error: OSError) -> bool:
    """The port is taken or the address is not this machine's."""
    return error.errno in (errno.EADDRINUSE, errno.EADDRNOTAVAIL, errno.EACCES)


def run_bot(settings: Settings) -> int:
    """Run until interrupted; returns the process exit code."""
    configure_logging(settings.log_level)
    token = settings.bot.token.get_secret_value().strip() if settings.bot.token else ""
    # Bot API URLs carry the token; aiohttp and aiogram errors quote them.
    max_token = settings.max.token.get_secret_value().strip() if settings.max.token else ""
    install_token_filter([token, max_token] if max_token else [token])
    if not token and max_token:
        return run_max_alone(settings)
    if not token:
        print(NO_TOKEN_MESSAGE.format(env_file=home() / ".env"), file=sys.stderr)
        return EXIT_NO_TOKEN
    try:
        validate_token(token)
    except TokenValidationError:
        print(
            BAD_TOKEN_MESSAGE.format(
                reason="it does not look like a bot token", env_file=home() / ".env"
            ),
            file=sys.stderr,
        )
        return EXIT_NO_TOKEN
    logger.info("%s", describe(settings))
    from bot.app import serve

    fronts: Fronts | None = None
    if settings.web.enabled:
        # Imported only when enabled: a bot without the web front does not load it.
        from bot.web import web_fronts

        fronts = web_fronts(settings)
    if settings.max.token is not None:
        from bot.max import with_max

        fronts = with_max(settings, fronts)
    try:
        run_until_stopped(settings, serve(settings) if fronts is None else serve(settings, fronts))
    except TelegramUnauthorizedError:
        print(
            BAD_TOKEN_MESSAGE.format(reason="Telegram rejected it", env_file=home() / ".env"),
            file=sys.stderr,
        )
        return EXIT_NO_TOKEN
    return 0
