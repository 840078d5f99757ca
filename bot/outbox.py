"""Officer messages over the Bot: texts, charts and workbooks, plus alert sending."""

from __future__ import annotations

from aiogram import Bot
from aiogram.types import BufferedInputFile, InlineKeyboardButton, InlineKeyboardMarkup


class BotOutbox:
    """Implements scheduler.deliveries.OfficerOutbox and the alert sender."""

    def __init__(self, bot: Bot) -> None:
        self._bot = bot

    async def text(self, chat_id: int, html: str) -> None:
        await self._bot.send_message(chat_id, html)

    async def text_with_button(self, chat_id: int, html: str, button: str, data: str) -> None:
        """A message with one inline button (services.signals: proposals, batches)."""
        markup = InlineKeyboardMarkup(
            inline_keyboard=[[InlineKeyboardButton(text=button, callback_data=data)]]
        )
        await self._bot.send_message(chat_id, html, reply_markup=markup)

    async def photo(self, chat_id: int, name: str, png: bytes) -> None:
        await self._bot.send_photo(chat_id, BufferedInputFile(png, filename=name))

    async def document(self, chat_id: int, name: str, data: bytes, caption: str) -> None:
        await self._bot.send_document(
            chat_id, BufferedInputFile(data, filename=name), caption=caption
        )
