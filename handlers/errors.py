"""Maps failures to a clear reply: the person never sees a traceback or silence.

A press is answered once: when the handler already answered it, the notice goes to the chat
as a message instead (the `update_calls` record comes from `handlers.middlewares`).
"""

from __future__ import annotations

import logging

from aiogram import Bot, Router
from aiogram.exceptions import (
    TelegramAPIError,
    TelegramBadRequest,
    TelegramForbiddenError,
    TelegramNetworkError,
    TelegramRetryAfter,
    TelegramServerError,
)
from aiogram.filters import ExceptionTypeFilter
from aiogram.fsm.context import FSMContext
from aiogram.types import ErrorEvent, User

from handlers.middlewares import UpdateCalls
from handlers.texts import language_of, tr
from questionnaires.errors import DialogFinishedError, StaleProgressError
from questionnaires.i18n import N_
from services.outages import is_storage_outage

logger = logging.getLogger(__name__)


def _user_and_chat(event: ErrorEvent) -> tuple[User | None, int | None]:
    update = event.update
    if update.message is not None:
        return update.message.from_user, update.message.chat.id
    if update.callback_query is not None:
        query = update.callback_query
        chat_id = query.message.chat.id if query.message else query.from_user.id
        return query.from_user, chat_id
    return None, None


def _answered(event: ErrorEvent, calls: UpdateCalls | None) -> bool:
    query = event.update.callback_query
    return query is not None and calls is not None and calls.was_answered(query)


async def _tell(event: ErrorEvent, bot: Bot, key: str, calls: UpdateCalls | None) -> None:
    user, chat_id = _user_and_chat(event)
    text = tr(language_of(user), key)
    query = event.update.callback_query
    try:
        if query is not None and not _answered(event, calls):
            await query.answer(text, show_alert=True)
        elif chat_id is not None:
            await bot.send_message(chat_id, text)
    except TelegramAPIError as error:
        logger.warning("Could not deliver an error notice: %s", type(error).__name__)


async def _settle(event: ErrorEvent, calls: UpdateCalls | None) -> None:
    """Answer the press without a word, unless the handler did already."""
    query = event.update.callback_query
    if query is None or _answered(event, calls):
        return
    try:
        await query.answer()
    except TelegramAPIError as error:
        logger.warning("Could not answer a button press: %s", type(error).__name__)


def is_not_modified(error: BaseException) -> bool:
    """Telegram refuses an edit that changes nothing: the screen already shows the result."""
    return isinstance(error, TelegramBadRequest) and "not modified" in error.message


async def _not_modified(event: ErrorEvent) -> bool:
    # An async filter: aiogram runs plain callables in a worker thread.
    return is_not_modified(event.exception)


async def _storage_outage(event: ErrorEvent) -> bool:
    return is_storage_outage(event.exception)


def setup() -> Router:
    router = Router(name="errors")

    @router.error(ExceptionTypeFilter(TelegramForbiddenError))
    async def on_blocked(event: ErrorEvent) -> None:
        # The person blocked the bot: nothing to say to them, nothing else breaks.
        logger.info("A recipient has blocked the bot (update %s)", event.update.update_id)

    @router.error(ExceptionTypeFilter(TelegramBadRequest), _not_modified)
    async def on_not_modified(event: ErrorEvent, update_calls: UpdateCalls | None = None) -> None:
        # A double tap redraws what is already shown: success, not an error.
        logger.debug("Edit changed nothing (update %s)", event.update.update_id)
        await _settle(event, update_calls)

    @router.error(
        ExceptionTypeFilter(TelegramRetryAfter, TelegramServerError, TelegramNetworkError)
    )
    async def on_telegram_down(
        event: ErrorEvent, bot: Bot, update_calls: UpdateCalls | None = None
    ) -> None:
        # Retried already (bot/retry.py). The state is stored: the next press redraws it.
        logger.warning(
            "Telegram unavailable in update %s: %s",
            event.update.update_id,
            type(event.exception).__name__,
        )
        await _tell(event, bot, N_("bot.try_later"), update_calls)

    @router.error(ExceptionTypeFilter(StaleProgressError, DialogFinishedError))
    async def on_stale(
        event: ErrorEvent,
        bot: Bot,
        state: FSMContext | None = None,
        update_calls: UpdateCalls | None = None,
    ) -> None:
        logger.info("Stale dialog state dropped: %s", type(event.exception).__name__)
        if state is not None:
            await state.clear()
        await _tell(event, bot, N_("bot.questionnaire_changed"), update_calls)

    @router.error(_storage_outage)
    async def on_storage_down(
        event: ErrorEvent, bot: Bot, update_calls: UpdateCalls | None = None
    ) -> None:
        # Progress already stored stays; the step that failed can simply be repeated.
        logger.error("Storage unavailable: %s", type(event.exception).__name__)
        await _tell(event, bot, N_("bot.try_later"), update_calls)

    @router.error()
    async def on_unexpected(
        event: ErrorEvent, bot: Bot, update_calls: UpdateCalls | None = None
    ) -> None:
        logger.error(
            "Unhandled %s in update %s",
            type(event.exception).__name__,
            event.update.update_id,
            exc_info=event.exception,
        )
        await _tell(event, bot, N_("bot.unexpected_error"), update_calls)

    return router
