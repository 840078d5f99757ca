"""A test client for the dispatcher: real Updates through feed_update, a recording session."""

from __future__ import annotations

import itertools
from collections.abc import AsyncGenerator, Callable
from datetime import UTC, datetime
from typing import Any

from aiogram import Bot, Dispatcher
from aiogram.client.default import DefaultBotProperties
from aiogram.client.session.base import BaseSession
from aiogram.enums import ParseMode
from aiogram.methods import (
    AnswerCallbackQuery,
    EditMessageReplyMarkup,
    EditMessageText,
    GetFile,
    GetMe,
    SendMessage,
    TelegramMethod,
)
from aiogram.methods.base import TelegramType
from aiogram.types import (
    CallbackQuery,
    Chat,
    Document,
    File,
    InlineKeyboardMarkup,
    Message,
    MessageEntity,
    PhotoSize,
    Sticker,
    Update,
    User,
    Voice,
)

BOT_ID = 42
TOKEN = f"{BOT_ID}:TEST-TOKEN"
BOT_USERNAME = "otklik_test_bot"


class RecordingSession(BaseSession):
    """Answers every Bot API call locally and remembers it; failures can be injected."""

    def __init__(self) -> None:
        super().__init__()
        self.requests: list[TelegramMethod[Any]] = []
        self._message_ids = itertools.count(1000)
        self._failures: list[tuple[type[TelegramMethod[Any]], Exception]] = []
        self.messages: dict[tuple[int, int], dict[str, Any]] = {}

    def fail_next(self, method: type[TelegramMethod[Any]], error: Exception) -> None:
        self._failures.append((method, error))

    async def make_request(
        self,
        bot: Bot,
        method: TelegramMethod[TelegramType],
        timeout: int | None = None,  # noqa: ASYNC109 - BaseSession's signature
    ) -> TelegramType:
        self.requests.append(method)
        for index, (kind, error) in enumerate(self._failures):
            if isinstance(method, kind):
                del self._failures[index]
                raise error
        result: TelegramType = self._result(method)
        return result

    def _result(self, method: TelegramMethod[Any]) -> Any:
        if isinstance(method, GetMe):
            return User(id=BOT_ID, is_bot=True, first_name="Otklik", username=BOT_USERNAME)
        if isinstance(method, SendMessage):
            message_id = next(self._message_ids)
            chat_id = int(method.chat_id)
            self.messages[(chat_id, message_id)] = {
                "text": method.text,
                "markup": method.reply_markup,
            }
            return Message(
                message_id=message_id,
                date=datetime.now(UTC),
                chat=Chat(id=chat_id, type="private"),
                from_user=User(id=BOT_ID, is_bot=True, first_name="Otklik"),
                text=method.text,
                reply_markup=(
                    method.reply_markup
                    if isinstance(method.reply_markup, InlineKeyboardMarkup)
                    else None
                ),
            )
        if isinstance(method, EditMessageText):
            key = (int(method.chat_id or 0), int(method.message_id or 0))
            self.messages[key] = {"text": method.text, "markup": method.reply_markup}
            return True
        if isinstance(method, EditMessageReplyMarkup):
            key = (int(method.chat_id or 0), int(method.message_id or 0))
            if key in self.messages:
                self.messages[key]["markup"] = method.reply_markup
            return True
        return True

    async def close(self) -> None:
        pass

    async def stream_content(
        self,
        url: str,
        headers: dict[str, Any] | None = None,
        timeout: int = 30,  # noqa: ASYNC109 - BaseSession's signature
        chunk_size: int = 65536,
        raise_for_status: bool = True,
    ) -> AsyncGenerator[bytes, None]:
        yield b""


class FileSession(RecordingSession):
    """The recording session, plus getFile and a download that serve one file's content."""

    def __init__(self, content: bytes, file_path: str) -> None:
        super().__init__()
        self.content = content
        self.file_path = file_path

    def _result(self, method: TelegramMethod[Any]) -> Any:
        if isinstance(method, GetFile):
            return File(
                file_id=method.file_id,
                file_unique_id="u1",
                file_size=len(self.content),
                file_path=self.file_path,
            )
        return super()._result(method)

    async def stream_content(
        self,
        url: str,
        headers: dict[str, Any] | None = None,
        timeout: int = 30,  # noqa: ASYNC109 - BaseSession's signature
        chunk_size: int = 65536,
        raise_for_status: bool = True,
    ) -> AsyncGenerator[bytes, None]:
        yield self.content


class Person:
    """A Telegram user talking to the bot in a private chat."""

    def __init__(
        self, harness: Harness, user_id: int, language: str = "ru", username: str | None = None
    ) -> None:
        self.harness = harness
        self.user = User(
            id=user_id,
            is_bot=False,
            first_name="Tester",
            username=username,
            language_code=language,
        )
        self.chat = Chat(id=user_id, type="private", first_name="Tester")

    def _message(self, **fields: Any) -> Message:
        return Message(
            message_id=next(self.harness.update_ids),
            date=datetime.now(UTC),
            chat=self.chat,
            from_user=self.user,
            **fields,
        )

    async def send(self, text: str) -> None:
        entities = None
        if text.startswith("/"):
            length = len(text.split()[0])
            entities = [MessageEntity(type="bot_command", offset=0, length=length)]
        await self.harness.feed(message=self._message(text=text, entities=entities))

    async def send_sticker(self) -> None:
        sticker = Sticker(
            file_id="s1",
            file_unique_id="s1",
            type="regular",
            width=512,
            height=512,
            is_animated=False,
            is_video=False,
        )
        await self.harness.feed(message=self._message(sticker=sticker))

    async def send_photo(self) -> None:
        photo = [PhotoSize(file_id="p1", file_unique_id="p1", width=10, height=10)]
        await self.harness.feed(message=self._message(photo=photo))

    async def send_document(self, name: str, size: int) -> None:
        """A file sent to the bot (its content is what Harness.serve_file serves)."""
        document = Document(file_id="f1", file_unique_id="u1", file_name=name, file_size=size)
        await self.harness.feed(message=self._message(document=document))

    async def send_voice(self) -> None:
        await self.harness.feed(
            message=self._message(voice=Voice(file_id="v1", file_unique_id="v1", duration=2))
        )

    async def press_data(self, data: str, message_id: int) -> None:
        stored = self.harness.session.messages.get((self.chat.id, message_id), {})
        message = Message(
            message_id=message_id,
            date=datetime.now(UTC),
            chat=self.chat,
            from_user=User(id=BOT_ID, is_bot=True, first_name="Otklik"),
            text=stored.get("text") or "…",
            reply_markup=stored.get("markup"),  # only inline keyboards are stored here
        )
        query = CallbackQuery(
            id=str(next(self.harness.update_ids)),
            from_user=self.user,
            chat_instance="ci",
            message=message,
            data=data,
        )
        await self.harness.feed(callback_query=query)

    def live_message(self) -> tuple[int, str, InlineKeyboardMarkup | None]:
        """The newest bot message in this chat that has buttons (else the newest one)."""
        mine = [
            (mid, m)
            for (cid, mid), m in self.harness.session.messages.items()
            if cid == self.chat.id
        ]
        assert mine, "the bot has not written to this chat"
        with_buttons = [(mid, m) for mid, m in mine if m["markup"] is not None]
        mid, message = max(with_buttons or mine, key=lambda item: item[0])
        return mid, message["text"], message["markup"]

    def buttons(self) -> list[str]:
        _, _, markup = self.live_message()
        return [b.text for row in (markup.inline_keyboard if markup else []) for b in row]

    async def click(self, text: str) -> None:
        """Press the button whose text equals `text` (or contains it, if unique)."""
        mid, _, markup = self.live_message()
        assert markup is not None, "no buttons to press"
        buttons = [b for row in markup.inline_keyboard for b in row]
        exact = [b for b in buttons if b.text == text]
        found = exact or [b for b in buttons if text in b.text]
        assert len(found) == 1, f"{text!r} matches {[b.text for b in found]} of {self.buttons()}"
        assert found[0].callback_data is not None
        await self.press_data(found[0].callback_data, mid)

    def last_text(self) -> str:
        """Text of the newest message the bot sent or edited in this chat."""
        for method in reversed(self.harness.session.requests):
            if (
                isinstance(method, SendMessage | EditMessageText)
                and int(method.chat_id or 0) == self.chat.id
            ):
                return str(method.text)
        raise AssertionError("nothing sent")

    def alerts(self) -> list[str]:
        return [
            str(m.text) or ""
            for m in self.harness.session.requests
            if isinstance(m, AnswerCallbackQuery) and m.text
        ]


class Harness:
    def __init__(self, dispatcher: Dispatcher) -> None:
        self.session = RecordingSession()
        self.bot = Bot(
            TOKEN, session=self.session, default=DefaultBotProperties(parse_mode=ParseMode.HTML)
        )
        self.dispatcher = dispatcher
        self.update_ids = itertools.count(1)

    def serve_file(self, content: bytes, file_path: str = "documents/file") -> None:
        """From now on getFile and the download serve ``content`` (a file a person sent)."""
        self.session = FileSession(content, file_path)
        self.bot = Bot(
            TOKEN, session=self.session, default=DefaultBotProperties(parse_mode=ParseMode.HTML)
        )

    def person(self, user_id: int, language: str = "ru", username: str | None = None) -> Person:
        return Person(self, user_id, language, username)

    async def feed(self, **event: Any) -> None:
        update = Update(update_id=next(self.update_ids), **event)
        await self.dispatcher.feed_update(self.bot, update)

    def sent(self, kind: type[TelegramMethod[Any]] | None = None) -> list[Any]:
        return [m for m in self.session.requests if kind is None or isinstance(m, kind)]

    def texts(self, chat_id: int) -> list[str]:
        return [
            str(m.text)
            for m in self.session.requests
            if isinstance(m, SendMessage | EditMessageText) and int(m.chat_id or 0) == chat_id
        ]


DispatcherFactory = Callable[[], Dispatcher]
