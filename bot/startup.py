"""The first contact with Telegram at start: bounded attempts, backoff, one line per failure."""

from __future__ import annotations

import asyncio
import logging
import re
import time
from collections.abc import Awaitable, Callable
from typing import Final

from aiogram import Bot
from aiogram.exceptions import TelegramNetworkError, TelegramNotFound, TelegramServerError
from aiogram.types import User

from bot.problems import EXIT_CONFIG, EXIT_UNAVAILABLE, Problem

logger = logging.getLogger(__name__)

FIRST_DELAY_S: Final = 1.0
MAX_DELAY_S: Final = 30.0

ADVICE: Final = (
    "behind a proxy? set BOT__PROXY=socks5://host:port; own Bot API server? set BOT__API_BASE_URL"
)


def describe_failure(error: Exception, base_url: str, timeout: float) -> str:
    """What was tried and what happened, without the token (it is part of the request URL)."""
    tried = f"{base_url}/bot<token>/getMe"
    if isinstance(error, TelegramNetworkError) and "timeout" in error.message.lower():
        return f"Telegram did not answer within {timeout:g} s ({tried})"
    if isinstance(error, TelegramServerError):
        return f"Telegram answered with a server error ({tried}): {error.message}"
    message = error.message if isinstance(error, TelegramNetworkError) else str(error)
    # aiogram prefixes aiohttp's class name: "ClientConnectorError: Cannot connect to host …".
    message = re.sub(r"^\w+Error: ", "", message)
    return f"Telegram is unreachable ({tried}): {message}"


async def first_contact(
    bot: Bot,
    *,
    base_url: str,
    timeout: float,  # noqa: ASYNC109 - a per-attempt bound, passed on to the request
    retry_for: float,
    sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
) -> User:
    """`getMe`, retried with exponential backoff while Telegram is unreachable or stalled.

    Each attempt is bounded by `timeout`; after `retry_for` seconds Problem (exit code 3) ends
    the start. A rejected token (TelegramUnauthorizedError) is raised at once.
    """
    deadline = time.monotonic() + retry_for
    delay = FIRST_DELAY_S
    attempt = 0
    while True:
        attempt += 1
        try:
            return await bot.get_me(request_timeout=max(1, round(timeout)))
        except TelegramNotFound:
            raise Problem(
                f"{base_url} answered 404 to getMe: it is not a Bot API server; "
                "fix BOT__API_BASE_URL (default https://api.telegram.org)",
                exit_code=EXIT_CONFIG,
            ) from None
        except (TelegramNetworkError, TelegramServerError) as error:
            what = describe_failure(error, base_url, timeout)
            left = deadline - time.monotonic()
            if left <= 0:
                raise Problem(
                    f"{what}; gave up after {attempt} attempt(s) in {retry_for:g} s; {ADVICE}",
                    exit_code=EXIT_UNAVAILABLE,
                ) from None
            wait = min(delay, left)
            logger.warning("%s; retrying in %.0f s; %s", what, wait, ADVICE)
            await sleep(wait)
            delay = min(delay * 2, MAX_DELAY_S)
