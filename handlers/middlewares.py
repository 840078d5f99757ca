"""Update-level middlewares: repeated updates dropped, the answer path of each update tracked."""

from __future__ import annotations

import logging
import weakref
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Any, Final

from aiogram import BaseMiddleware, Bot
from aiogram.client.session.base import BaseSession
from aiogram.client.session.middlewares.base import (
    BaseRequestMiddleware,
    NextRequestMiddlewareType,
)
from aiogram.exceptions import TelegramBadRequest
from aiogram.methods import AnswerCallbackQuery, Response, TelegramMethod
from aiogram.methods.base import TelegramType
from aiogram.types import CallbackQuery, TelegramObject, Update

logger = logging.getLogger(__name__)

REMEMBERED_UPDATES: Final = 10_000


class DropRepeatedUpdates(BaseMiddleware):
    """Telegram may deliver an update again (a webhook answered late): handle it once.

    A repeated button press is harmless anyway (its turn is stale), but a repeated text
    message would answer the next question with the same words.
    """

    def __init__(self, remember: int = REMEMBERED_UPDATES) -> None:
        self._seen: OrderedDict[int, None] = OrderedDict()
        self._remember = remember

    async def __call__(
        self,
        handler: Callable[[TelegramObject, dict[str, Any]], Awaitable[Any]],
        event: TelegramObject,
        data: dict[str, Any],
    ) -> Any:
        if isinstance(event, Update):
            if event.update_id in self._seen:
                logger.info("Update %s delivered again; skipped", event.update_id)
                return None
            self._seen[event.update_id] = None
            if len(self._seen) > self._remember:
                self._seen.popitem(last=False)
        return await handler(event, data)


@dataclass
class UpdateCalls:
    """What the bot did while handling one update: the callback queries it answered."""

    answered: set[str] = field(default_factory=set)

    def was_answered(self, query: CallbackQuery) -> bool:
        return query.id in self.answered


_current: ContextVar[UpdateCalls | None] = ContextVar("otklik_update_calls", default=None)


def in_answer_path() -> bool:
    """True while an update is handled: the calls made now answer a person who waits."""
    return _current.get() is not None


@contextmanager
def answer_path() -> Iterator[UpdateCalls]:
    """Bot calls made inside are on the answer path of one update (and recorded)."""
    calls = UpdateCalls()
    token = _current.set(calls)
    try:
        yield calls
    finally:
        _current.reset(token)


class RecordCallbackAnswers(BaseRequestMiddleware):
    """A session request middleware noting each callback query the bot answered (or that
    Telegram refused as too old), so the error handler never answers a press twice."""

    async def __call__(
        self,
        make_request: NextRequestMiddlewareType[TelegramType],
        bot: Bot,
        method: TelegramMethod[TelegramType],
    ) -> Response[TelegramType]:
        calls = _current.get()
        query_id = method.callback_query_id if isinstance(method, AnswerCallbackQuery) else None
        if calls is None or query_id is None:
            return await make_request(bot, method)
        try:
            response = await make_request(bot, method)
        except TelegramBadRequest:
            calls.answered.add(query_id)  # too old: a second try fails too
            raise
        calls.answered.add(query_id)
        return response


class TrackUpdateCalls(BaseMiddleware):
    """Opens the answer path of one update and hands its `UpdateCalls` to handlers and to the
    error handler (as `update_calls`).

    The record of answers is kept by a request middleware on the bot's session; it is added to
    whichever bot feeds updates, so tests with their own sessions get it too.
    """

    def __init__(self) -> None:
        # Sessions known to record answers: looked up once per session, not on every update
        # (the session's middleware list is a Sequence whose iteration costs an exception).
        self._recording: weakref.WeakSet[BaseSession] = weakref.WeakSet()

    async def __call__(
        self,
        handler: Callable[[TelegramObject, dict[str, Any]], Awaitable[Any]],
        event: TelegramObject,
        data: dict[str, Any],
    ) -> Any:
        bot = data.get("bot")
        if isinstance(bot, Bot) and bot.session not in self._recording:
            if not any(isinstance(m, RecordCallbackAnswers) for m in bot.session.middleware):
                bot.session.middleware(RecordCallbackAnswers())
            self._recording.add(bot.session)
        calls = UpdateCalls()
        token = _current.set(calls)
        try:
            # The error handler runs outside this middleware (it wraps all registered later)
            # and gets the record from the shared data instead.
            data["update_calls"] = calls
            return await handler(event, data)
        finally:
            _current.reset(token)
