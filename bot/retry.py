"""Retries Bot API calls of the answer path on flood control (429), server errors and timeouts.

A person's press must not be lost to a passing Telegram fault: the state has already moved on,
so the edit (or the new message, or the callback answer) is repeated a few times with a bounded
backoff. Only calls made while an update is handled are retried (see
`handlers.middlewares.in_answer_path`): broadcasts, alerts and reports pace and retry on their
own, and a blind repeat there would defeat their flood control and "never twice" bookkeeping.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Final

import aiohttp
from aiogram.client.session.middlewares.base import (
    BaseRequestMiddleware,
    NextRequestMiddlewareType,
)
from aiogram.exceptions import TelegramNetworkError, TelegramRetryAfter, TelegramServerError
from aiogram.methods import (
    AnswerCallbackQuery,
    EditMessageReplyMarkup,
    EditMessageText,
    Response,
    TelegramMethod,
)
from aiogram.methods.base import TelegramType

from handlers.middlewares import in_answer_path

if TYPE_CHECKING:
    from aiogram import Bot

logger = logging.getLogger(__name__)

Sleep = Callable[[float], Awaitable[None]]

#: Repeating these cannot show anything twice: an edit to the same content or a second answer
#: to a callback is refused by Telegram, not applied again.
IDEMPOTENT: Final = (AnswerCallbackQuery, EditMessageText, EditMessageReplyMarkup)


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """How often and how long a failed call is repeated."""

    attempts: int = 4  # calls in all, the first one included
    base_delay: float = 0.5  # seconds before the 2nd call; doubled each time (5xx, network)
    max_delay: float = 5.0  # one backoff step never waits longer
    max_retry_after: float = 30.0  # a longer flood wait is not sat out while a person waits
    #: Telegram drops a callback query about 15 s after the press; later answers only fail.
    max_answer_wait: float = 10.0


class RetryRequests(BaseRequestMiddleware):
    """A session request middleware: repeats calls that failed for a passing reason."""

    def __init__(self, policy: RetryPolicy | None = None, sleep: Sleep = asyncio.sleep) -> None:
        self.policy = policy or RetryPolicy()
        self._sleep = sleep

    async def __call__(
        self,
        make_request: NextRequestMiddlewareType[TelegramType],
        bot: Bot,
        method: TelegramMethod[TelegramType],
    ) -> Response[TelegramType]:
        if not in_answer_path():
            return await make_request(bot, method)
        attempt = 1
        while True:
            try:
                return await make_request(bot, method)
            except TelegramRetryAfter as error:
                delay = float(error.retry_after)
                limit = (
                    self.policy.max_answer_wait
                    if isinstance(method, AnswerCallbackQuery)
                    else self.policy.max_retry_after
                )
                if attempt >= self.policy.attempts or delay > limit:
                    raise
            except TelegramServerError:
                if attempt >= self.policy.attempts:
                    raise
                delay = self._backoff(attempt)
            except TelegramNetworkError as error:
                if attempt >= self.policy.attempts or not _safe_to_repeat(method, error):
                    raise
                delay = self._backoff(attempt)
            # The method name and the attempt only: the error text names the chat.
            logger.warning(
                "%s failed (attempt %d of %d); retrying in %.1f s",
                type(method).__name__,
                attempt,
                self.policy.attempts,
                delay,
            )
            await self._sleep(delay)
            attempt += 1

    def _backoff(self, attempt: int) -> float:
        return float(min(self.policy.base_delay * 2 ** (attempt - 1), self.policy.max_delay))


def _safe_to_repeat(method: TelegramMethod[Any], error: TelegramNetworkError) -> bool:
    """A timeout may come after Telegram delivered a new message: only edits and callback
    answers are repeated then; a connection that was never made proves nothing went out."""
    never_sent = isinstance(error.__cause__, aiohttp.ClientConnectorError)
    return never_sent or isinstance(method, IDEMPOTENT)
