"""Replies are parsed without rebuilding their pydantic models (bot/response_models.py)."""

from __future__ import annotations

import gc
import weakref
from collections.abc import AsyncGenerator
from typing import Any

from aiogram import Bot
from aiogram.client.session.base import BaseSession
from aiogram.methods import GetMyShortDescription, TelegramMethod

from bot.app import create_bot
from bot.response_models import PinResponseModels
from bot.settings import BotSettings, Settings


class CannedSession(BaseSession):
    """Parses a canned reply as the real session does, noting the model it was parsed into."""

    def __init__(self) -> None:
        super().__init__()
        self.models: list[weakref.ref[type]] = []

    async def make_request(
        self,
        bot: Bot,
        method: TelegramMethod[Any],
        timeout: int | None = None,  # noqa: ASYNC109
    ) -> Any:
        content = '{"ok": true, "result": {"short_description": "Otklik"}}'
        response = self.check_response(bot=bot, method=method, status_code=200, content=content)
        self.models.append(weakref.ref(type(response)))
        return response.result

    async def close(self) -> None:
        pass

    async def stream_content(self, *_args: Any, **_kwargs: Any) -> AsyncGenerator[bytes, None]:
        yield b""


async def _reply_model_survives(session: CannedSession) -> bool:
    bot = Bot("42:TEST", session=session)
    await bot(GetMyShortDescription())
    gc.collect()
    return session.models[-1]() is not None


async def test_without_the_pin_a_reply_model_dies_with_its_reply() -> None:
    # Why the pin exists: pydantic caches parametrised generics weakly, so the next reply of
    # this kind would build Response[BotShortDescription] again (schema generation).
    assert not await _reply_model_survives(CannedSession())


async def test_the_bots_session_keeps_its_reply_models() -> None:
    session = CannedSession()
    create_bot(Settings(_env_file=None, bot=BotSettings(token="42:TEST")), session)
    assert any(isinstance(m, PinResponseModels) for m in session.middleware)
    assert await _reply_model_survives(session)
