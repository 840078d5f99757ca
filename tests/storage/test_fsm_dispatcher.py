"""A real aiogram Dispatcher keeps a dialog in SqlStorage across a bot restart."""

from __future__ import annotations

from collections.abc import AsyncGenerator
from datetime import UTC, datetime
from typing import Any

from aiogram import Bot, Dispatcher, F, Router
from aiogram.client.session.base import BaseSession
from aiogram.filters import CommandStart
from aiogram.fsm.context import FSMContext
from aiogram.fsm.state import State, StatesGroup
from aiogram.methods import SendMessage, TelegramMethod
from aiogram.methods.base import TelegramType
from aiogram.types import Chat, Message, Update, User
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from storage.fsm import SqlStorage
from storage.models import FsmState

PEPPER = b"test-pepper-0123456789abcdef"
TOKEN = "42:TEST"
CHAT_ID = 731_905_512_377


class Rating(StatesGroup):
    score = State()
    comment = State()


class RecordingSession(BaseSession):
    """A Bot API that records every request and answers sendMessage with the sent message."""

    def __init__(self) -> None:
        super().__init__()
        self.requests: list[TelegramMethod[Any]] = []

    # The timeout parameters are aiogram's BaseSession signature, not ours to change.
    async def make_request(
        self,
        bot: Bot,
        method: TelegramMethod[TelegramType],
        timeout: int | None = None,  # noqa: ASYNC109
    ) -> TelegramType:
        self.requests.append(method)
        assert isinstance(method, SendMessage)
        sent = Message(
            message_id=len(self.requests),
            date=datetime.now(UTC),
            chat=Chat(id=int(method.chat_id), type="private"),
            text=method.text,
        )
        return sent  # type: ignore[return-value]

    async def stream_content(
        self,
        url: str,
        headers: dict[str, Any] | None = None,
        timeout: int = 30,  # noqa: ASYNC109
        chunk_size: int = 65536,
        raise_for_status: bool = True,
    ) -> AsyncGenerator[bytes, None]:
        raise NotImplementedError
        yield b""  # pragma: no cover

    async def close(self) -> None:
        pass

    def texts(self) -> list[str]:
        return [method.text for method in self.requests if isinstance(method, SendMessage)]


def rating_router() -> Router:
    router = Router()

    @router.message(CommandStart())
    async def start(message: Message, state: FSMContext) -> None:
        await state.set_state(Rating.score)
        await state.update_data(service="passport")
        await message.answer("Оцените услугу от 1 до 5")

    @router.message(Rating.score, F.text.in_({"1", "2", "3", "4", "5"}))
    async def score(message: Message, state: FSMContext) -> None:
        await state.update_data(score=int(message.text or "0"))
        await state.set_state(Rating.comment)
        await message.answer("Что можно улучшить?")

    @router.message(Rating.comment)
    async def comment(message: Message, state: FSMContext) -> None:
        data = await state.get_data()
        await state.clear()
        await message.answer(f"Спасибо! {data['service']}: {data['score']}")

    return router


def _update(update_id: int, text: str) -> Update:
    user = User(id=CHAT_ID, is_bot=False, first_name="Client")
    message = Message(
        message_id=update_id,
        date=datetime.now(UTC),
        chat=Chat(id=CHAT_ID, type="private"),
        from_user=user,
        text=text,
    )
    return Update(update_id=update_id, message=message)


async def _feed(sessions: async_sessionmaker[AsyncSession], *texts: str) -> list[str]:
    """One bot run: a fresh Dispatcher and storage, as after a process restart."""
    session = RecordingSession()
    bot = Bot(TOKEN, session=session)
    dispatcher = Dispatcher(storage=SqlStorage(sessions, PEPPER))
    dispatcher.include_router(rating_router())
    try:
        for number, text in enumerate(texts, start=1):
            await dispatcher.feed_update(bot, _update(number, text))
    finally:
        await dispatcher.fsm.close()
    return session.texts()


async def test_a_rating_dialog_continues_after_a_restart_and_is_forgotten_at_the_end(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    assert await _feed(sessions, "/start", "4") == [
        "Оцените услугу от 1 до 5",
        "Что можно улучшить?",
    ]
    async with sessions() as session:
        [row] = (await session.scalars(select(FsmState))).all()
    assert row.state == "Rating:comment" and str(CHAT_ID) not in row.key + row.data

    assert await _feed(sessions, "Меньше очередей") == ["Спасибо! passport: 4"]
    async with sessions() as session:
        assert (await session.scalars(select(FsmState))).all() == []
