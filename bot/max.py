"""The MAX front in the composition root: its state on the bot's FSM storage, its poller
beside Telegram's (or alone), over the same wiring."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, AsyncExitStack, asynccontextmanager
from dataclasses import dataclass
from typing import Any, cast

from aiogram.fsm.storage.base import BaseStorage, StorageKey

from bot.app import Wiring
from bot.problems import Problem
from bot.settings import Settings, ensure_pepper
from max_front.api import MaxApi, MaxApiError
from max_front.client import MaxapiClient
from max_front.front import MESSAGE_KEY, MaxDialogState, MaxFront
from max_front.persons import max_key
from max_front.polling import Poller
from services.dialog import DialogData, DialogService, Person

logger = logging.getLogger(__name__)

#: The bot id of MAX dialogs' FSM keys: no Telegram bot has a negative id and the web front
#: uses 0, so a MAX dialog never shares a key with another front's (the persons differ too).
MAX_BOT_ID = -1

Fronts = Callable[[Wiring, Any], AbstractAsyncContextManager[object]]


@dataclass(frozen=True, slots=True)
class FsmMaxDialogState:
    """A MAX person's dialog in the bot's FSM storage (SQL or Redis, keys hashed): durable on
    return; the id of the message showing the step kept beside the service's keys."""

    storage: BaseStorage
    key: StorageKey

    async def load(self) -> DialogData | None:
        data = await self.storage.get_data(self.key)
        return cast(DialogData, data) if data.get("p") and data.get("n") else None

    async def save(self, data: DialogData) -> None:
        current = await self.storage.get_data(self.key)
        kept: dict[str, Any] = dict(data)
        if current.get("n") == data.get("n") and MESSAGE_KEY in current:
            kept[MESSAGE_KEY] = current[MESSAGE_KEY]  # the same dialog, the same message
        await self.storage.set_data(self.key, kept)

    async def clear(self) -> None:
        await self.storage.set_data(self.key, {})

    async def message_id(self) -> str | None:
        value = (await self.storage.get_data(self.key)).get(MESSAGE_KEY)
        return value if isinstance(value, str) else None

    async def set_message_id(self, message_id: str | None) -> None:
        data = dict(await self.storage.get_data(self.key))
        if not data.get("n"):
            return  # no dialog: nothing shows a step
        data[MESSAGE_KEY] = message_id
        await self.storage.set_data(self.key, data)


def max_dialog_states(storage: BaseStorage) -> Callable[[Person], MaxDialogState]:
    def state_for(person: Person) -> MaxDialogState:
        return FsmMaxDialogState(storage, StorageKey(MAX_BOT_ID, person, person))

    return state_for


def build_max_front(settings: Settings, wiring: Wiring, api: MaxApi) -> MaxFront:
    """The MAX front over the very services the Telegram routers call."""
    dialog = wiring.dispatcher["dialogs"]
    assert isinstance(dialog, DialogService)
    pepper = ensure_pepper(settings).get_secret_value().encode()
    return MaxFront(
        api=api,
        dialog=dialog,
        feedback=wiring.services.feedback,
        windows=wiring.services.campaigns,
        state_for=max_dialog_states(wiring.storage),
        person_key=max_key(pepper),
        reporting=wiring.services.reporting,
    )


async def first_contact(api: MaxApi) -> None:
    """Ask MAX who the bot is. A refused token stops the start with an explained line; an
    unreachable MAX does not: Telegram beside it goes on, and the poller retries MAX with
    backoff until it answers."""
    try:
        me = await api.me()
    except MaxApiError as error:
        if error.code == 401:
            raise Problem(
                "Otklik cannot start the MAX front: MAX refused MAX__TOKEN (401).",
                "Take the token from business.max.ru → Chat bots → ⋮ → Settings "
                "(README, 'In MAX').",
            ) from None
        logger.warning("MAX is not answering yet (%s); polling will retry", error.code)
        return
    logger.info("MAX front connected (bot %s)", me.get("username") or me.get("name") or "?")


@asynccontextmanager
async def max_front(
    settings: Settings, wiring: Wiring, _receiver: object = None
) -> AsyncIterator[Poller]:
    """MAX long polling beside the other fronts until the block ends."""
    assert settings.max.token is not None
    api = MaxapiClient(settings.max.token.get_secret_value(), settings.max.api_base_url)
    try:
        await first_contact(api)
        front = build_max_front(settings, wiring, api)
        poller = Poller(api, front.handle, timeout=settings.max.poll_timeout)
        task = asyncio.create_task(poller.run(), name="max-poller")
        try:
            yield poller
        finally:
            poller.stop()
            with contextlib.suppress(asyncio.CancelledError):
                await task
    finally:
        await api.close()


def with_max(settings: Settings, others: Fronts | None) -> Fronts | None:
    """The fronts `bot.app.serve` runs beside Telegram: the others, and MAX when configured."""
    if settings.max.token is None:
        return others

    @asynccontextmanager
    async def both(wiring: Wiring, receiver: Any) -> AsyncIterator[object]:
        async with AsyncExitStack() as stack:
            if others is not None:
                await stack.enter_async_context(others(wiring, receiver))
            yield await stack.enter_async_context(max_front(settings, wiring))

    return both


async def serve_max_alone(settings: Settings) -> None:
    """`otklik run` with MAX__TOKEN and no BOT__TOKEN: MAX (and the web front when enabled)
    over the same wiring, without Telegram."""
    from bot.web import serve_without_telegram, web_front

    @asynccontextmanager
    async def fronts(wiring: Wiring) -> AsyncIterator[object]:
        async with AsyncExitStack() as stack:
            if settings.web.enabled:
                await stack.enter_async_context(web_front(settings, wiring))
            yield await stack.enter_async_context(max_front(settings, wiring))

    await serve_without_telegram(settings, fronts)
