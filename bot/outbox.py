"""Officer messages over the Bot: texts, charts and workbooks, plus alert sending; and the
outbox that sends each chat's messages through its messenger (Telegram or MAX)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

from aiogram import Bot
from aiogram.types import BufferedInputFile, InlineKeyboardButton, InlineKeyboardMarkup

from max_front.api import MaxApi
from questionnaires.messengers import split
from services.broadcast import SendPort, by_messenger, telegram_sender
from services.broadcast_errors import DeliveryRefusedError

if TYPE_CHECKING:
    from bot.settings import Settings


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


class Outbox(Protocol):
    async def text(self, chat_id: int, html: str) -> None: ...

    async def text_with_button(self, chat_id: int, html: str, button: str, data: str) -> None: ...

    async def photo(self, chat_id: int, name: str, png: bytes) -> None: ...

    async def document(self, chat_id: int, name: str, data: bytes, caption: str) -> None: ...


class MessengerOutbox:
    """One outbox over Telegram's and MAX's: a chat address (questionnaires.messengers) goes
    to its messenger's outbox with the id that messenger knows. A MAX chat with no MAX outbox
    (MAX not configured) is refused, never sent to Telegram under a number not its own."""

    def __init__(self, telegram: Outbox, max_outbox: Outbox | None = None) -> None:
        self._outboxes: dict[str, Outbox] = {"telegram": telegram}
        if max_outbox is not None:
            self._outboxes["max"] = max_outbox

    def _route(self, chat_id: int) -> tuple[Outbox, int]:
        messenger, raw = split(chat_id)
        outbox = self._outboxes.get(messenger)
        if outbox is None:
            raise DeliveryRefusedError("failed", f"no {messenger} outbox")
        return outbox, raw

    async def text(self, chat_id: int, html: str) -> None:
        outbox, raw = self._route(chat_id)
        await outbox.text(raw, html)

    async def text_with_button(self, chat_id: int, html: str, button: str, data: str) -> None:
        outbox, raw = self._route(chat_id)
        await outbox.text_with_button(raw, html, button, data)

    async def photo(self, chat_id: int, name: str, png: bytes) -> None:
        outbox, raw = self._route(chat_id)
        await outbox.photo(raw, name, png)

    async def document(self, chat_id: int, name: str, data: bytes, caption: str) -> None:
        outbox, raw = self._route(chat_id)
        await outbox.document(raw, name, data, caption)


@dataclass(frozen=True, slots=True)
class Messengers:
    """What the services send through: officers' messages and broadcasts, per messenger."""

    outbox: MessengerOutbox
    send: SendPort
    #: The MAX client these send through (closed with the wiring), None without MAX__TOKEN.
    max_api: MaxApi | None = None

    async def close(self) -> None:
        if self.max_api is not None:
            await self.max_api.close()


def messengers(settings: Settings, bot: Bot) -> Messengers:
    """Telegram through ``bot``; MAX as well when MAX__TOKEN is set, through a client of its
    own that repeats nothing by itself (the broadcaster decides what may be repeated)."""
    telegram = BotOutbox(bot)
    if settings.max.token is None:
        return Messengers(
            MessengerOutbox(telegram), by_messenger({"telegram": telegram_sender(bot)})
        )
    from max_front.client import MaxapiClient
    from max_front.delivery import MaxOutbox, max_sender

    api = MaxapiClient(settings.max.token.get_secret_value(), settings.max.api_base_url, retries=0)
    return Messengers(
        MessengerOutbox(telegram, MaxOutbox(api)),
        by_messenger({"telegram": telegram_sender(bot), "max": max_sender(api)}),
        api,
    )
