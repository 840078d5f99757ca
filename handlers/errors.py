"""Maps failures to a clear reply: the person never sees a traceback or silence."""

from __future__ import annotations

import logging

from aiogram import Bot, Router
from aiogram.exceptions import TelegramAPIError, TelegramForbiddenError
from aiogram.filters import ExceptionTypeFilter
from aiogram.fsm.context import FSMContext
from aiogram.types import ErrorEvent, User
from sqlalchemy.exc import SQLAlchemyError

from handlers.texts import language_of, tr
from questionnaires.errors import DialogFinishedError, StaleProgressError
from storage.fsm import FsmCommitError

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


async def _tell(event: ErrorEvent, bot: Bot, key: str) -> None:
    user, chat_id = _user_and_chat(event)
    text = tr(language_of(user), key)
    try:
        if event.update.callback_query is not None:
            await event.update.callback_query.answer(text, show_alert=True)
        elif chat_id is not None:
            await bot.send_message(chat_id, text)
    except TelegramAPIError as error:
        logger.warning("Could not deliver an error notice: %s", type(error).__name__)


def setup() -> Router:
    router = Router(name="errors")

    @router.error(ExceptionTypeFilter(TelegramForbiddenError))
    async def on_blocked(event: ErrorEvent) -> None:
        # The person blocked the bot: nothing to say to them, nothing else breaks.
        logger.info("A recipient has blocked the bot (update %s)", event.update.update_id)

    @router.error(ExceptionTypeFilter(StaleProgressError, DialogFinishedError))
    async def on_stale(event: ErrorEvent, bot: Bot, state: FSMContext | None = None) -> None:
        logger.info("Stale dialog state dropped: %s", type(event.exception).__name__)
        if state is not None:
            await state.clear()
        await _tell(event, bot, "questionnaire_changed")

    @router.error(ExceptionTypeFilter(SQLAlchemyError, FsmCommitError, OSError))
    async def on_storage_down(event: ErrorEvent, bot: Bot) -> None:
        # Progress already stored stays; the step that failed can simply be repeated.
        logger.error("Storage unavailable: %s", type(event.exception).__name__)
        await _tell(event, bot, "try_later")

    @router.error()
    async def on_unexpected(event: ErrorEvent, bot: Bot) -> None:
        logger.error(
            "Unhandled %s in update %s",
            type(event.exception).__name__,
            event.update.update_id,
            exc_info=event.exception,
        )
        await _tell(event, bot, "unexpected_error")

    return router
