"""Keeps aiogram's parametrised ``Response[...]`` models alive for the life of the session.

Every Bot API reply is parsed by ``BaseSession.check_response`` into ``Response[R]``, R being
the method's result type. pydantic keeps the generic models it builds in a weak cache: once
no reply of that kind is alive, the collector frees the class and the next call builds it again
(schema generation, 1-20 ms each: ``Response[Union[Message, bool]]`` for every edit). On the
answer pipeline that happened every few dozen updates and cost about a tenth of the time.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from aiogram.client.session.middlewares.base import (
    BaseRequestMiddleware,
    NextRequestMiddlewareType,
)
from aiogram.methods import Response, TelegramMethod
from aiogram.methods.base import TelegramType

if TYPE_CHECKING:
    from aiogram import Bot


class PinResponseModels(BaseRequestMiddleware):
    """A session request middleware holding ``Response[R]`` of every method type it saw."""

    def __init__(self) -> None:
        self.pinned: dict[type[TelegramMethod[Any]], type[Response[Any]]] = {}

    async def __call__(
        self,
        make_request: NextRequestMiddlewareType[TelegramType],
        bot: Bot,
        method: TelegramMethod[TelegramType],
    ) -> Response[TelegramType]:
        kind = type(method)
        if kind not in self.pinned:
            # The very expression check_response evaluates: the same entry of pydantic's cache.
            self.pinned[kind] = Response[method.__returning__]  # type: ignore[name-defined]
        return await make_request(bot, method)
