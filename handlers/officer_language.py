"""Officers' language (issue 12, item 2): learned from the language Telegram reports with each
of their commands, and chosen by /language ru|en, which sticks. Scheduled deliveries read it
(services.officer_languages). Nobody else's command is read or written."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Any

from aiogram import BaseMiddleware, Router
from aiogram.enums import ChatType
from aiogram.filters import Command, CommandObject
from aiogram.types import Message, TelegramObject

from handlers.texts import language_of
from questionnaires.i18n import tr
from services.officer_languages import OfficerLanguages, parse_language

logger = logging.getLogger(__name__)


class LearnOfficerLanguage(BaseMiddleware):
    """An outer message middleware: an officer's command in a private chat tells the language
    their Telegram is in. A failure to record it never stops the command."""

    async def __call__(
        self,
        handler: Callable[[TelegramObject, dict[str, Any]], Awaitable[Any]],
        event: TelegramObject,
        data: dict[str, Any],
    ) -> Any:
        languages = data.get("officer_languages")
        if (
            isinstance(languages, OfficerLanguages)
            and isinstance(event, Message)
            and event.chat.type == ChatType.PRIVATE
            and event.from_user is not None
            and (event.text or "").startswith("/")
        ):
            try:
                await languages.heard(event.from_user.id, event.from_user.language_code)
            except Exception as error:  # the command itself goes on
                logger.warning("An officer's language was not recorded (%s)", type(error).__name__)
        return await handler(event, data)


async def is_officer(message: Message, officer_languages: OfficerLanguages | None = None) -> bool:
    """A configured officer's message; a dispatcher built without the service has none."""
    user = message.from_user
    return (
        officer_languages is not None
        and user is not None
        and officer_languages.is_officer(user.id)
    )


def setup() -> Router:
    router = Router(name="officer_language")
    # Anyone else's /language falls through to "no such command".
    router.message.filter(is_officer)

    @router.message(Command("language"))
    async def on_language(
        message: Message, command: CommandObject, officer_languages: OfficerLanguages
    ) -> None:
        assert message.from_user is not None  # the filter saw the officer
        chosen = parse_language(command.args or "")
        if chosen is None:
            current = await officer_languages.of(message.from_user.id)
            language = language_of(message.from_user)
            await message.answer(tr(language, "officer.language_usage", current=current.value))
            return
        await officer_languages.choose(message.from_user.id, chosen)
        await message.answer(tr(chosen, "officer.language_set"))

    return router
