"""Update-level middlewares."""

from __future__ import annotations

import logging
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from typing import Any, Final

from aiogram import BaseMiddleware
from aiogram.types import TelegramObject, Update

logger = logging.getLogger(__name__)

REMEMBERED_UPDATES: Final = 10_000


class DropRepeatedUpdates(BaseMiddleware):
    """Telegram may deliver an update again (a webhook answered late): handle it once.

    A repeated button press is harmless anyway (its turn is stale), but a repeated text
    message would answer the next question with the same words.
    """

    def __init__(self, remember: int = REMEMBERED_UPDATES) -> None:
        self._seen: OrderedDict[int, None] = OrderedDict()
        self._remember = remember

    async def __call__(
        self,
        handler: Callable[[TelegramObject, dict[str, Any]], Awaitable[Any]],
        event: TelegramObject,
        data: dict[str, Any],
    ) -> Any:
        if isinstance(event, Update):
            if event.update_id in self._seen:
                logger.info("Update %s delivered again; skipped", event.update_id)
                return None
            self._seen[event.update_id] = None
            if len(self._seen) > self._remember:
                self._seen.popitem(last=False)
        return await handler(event, data)
