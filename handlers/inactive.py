"""Registered last: answers every button press no other router took, so no spinner hangs."""

from __future__ import annotations

import logging

from aiogram import Router
from aiogram.types import CallbackQuery

from handlers.texts import language_of, tr

logger = logging.getLogger(__name__)


def setup() -> Router:
    router = Router(name="inactive_buttons")

    @router.callback_query()
    async def on_inactive(query: CallbackQuery) -> None:
        # Forged or unparsable data, a button of an older version, an officer's button pressed
        # by someone else: all look alike to the person, and the data itself is never logged.
        logger.info("Inactive button pressed (%d bytes of data)", len(query.data or ""))
        await query.answer(tr(language_of(query.from_user), "bot.button_inactive"))

    return router
