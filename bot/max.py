"""The MAX front in the composition root: its state on the bot's FSM storage, its poller
beside Telegram's (or alone), over the same wiring."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, AsyncExitStack, asynccontextmanager
from dataclasses import dataclass
from datetime import timedelta
from functools import partial
from typing import Any, cast

from aiogram import Bot
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.session.middlewares.base import (
    BaseRequestMiddleware,
    NextRequestMiddlewareType,
)
from aiogram.exceptions import TelegramUnauthorizedError
from aiogram.fsm.storage.base import BaseStorage, StorageKey
from aiogram.methods import Response, TelegramMethod
from aiogram.methods.base import TelegramType

from bot.app import BodyJobs, Wiring, body_jobs, serve_until_stopped, wire
from bot.max_runtime import (
    MAX_POLLER_ROLE,
    LeasedPolling,
    OnceEach,
    ledger_key,
    max_update_ledger,
    update_id_of,
)
from bot.operations import shared_isolation
from bot.problems import Problem
from bot.settings import Settings, ensure_pepper
from max_front.api import MaxApi, MaxApiError, Update
from max_front.client import MaxapiClient
from max_front.front import MESSAGE_KEY, MaxDialogState, MaxFront, sender_of
from max_front.persons import max_key
from max_front.polling import Poller
from scheduler.leader import LeaderGate
from services.dialog import DialogData, DialogService, Person
from storage.database import create_session_factory
from storage.leases import create_election

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
        signals=wiring.services.signals,
        officer_languages=wiring.services.officer_languages,
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


def once_each(settings: Settings, wiring: Wiring, front: MaxFront) -> OnceEach:
    """The front's handle under the person's shared lock (Redis) and the update ledger."""
    pepper = ensure_pepper(settings).get_secret_value().encode()

    def lock_key(update: Update) -> StorageKey | None:
        user = sender_of(update)
        if user is None:
            return None
        person = front.person(user)
        return StorageKey(MAX_BOT_ID, person, person)

    return OnceEach(
        front.handle,
        max_update_ledger(wiring.storage),
        partial(update_id_of, ledger_key(pepper)),
        isolation=shared_isolation(wiring.storage),
        lock_key=lock_key,
    )


def leased_polling(
    settings: Settings, wiring: Wiring, api: MaxApi, front: MaxFront
) -> LeasedPolling:
    """MAX long polling on whichever process holds the `max-poller` role (bot/max_runtime.py)."""
    seconds = float(settings.scheduler.lease_seconds)
    engine = wiring.engine
    election = create_election(
        engine, create_session_factory(engine), MAX_POLLER_ROLE, ttl=timedelta(seconds=seconds)
    )
    # As the scheduler's: a holder cut off from the database stops before another is elected.
    gate = LeaderGate(
        election, renew_every=seconds / 3, valid_for=seconds * 0.8, role="MAX poller"
    )
    handle = once_each(settings, wiring, front)
    return LeasedPolling(
        gate,
        lambda may_poll: Poller(api, handle, timeout=settings.max.poll_timeout, may_poll=may_poll),
        check_every=seconds / 3,
    )


@asynccontextmanager
async def max_front(
    settings: Settings, wiring: Wiring, _receiver: object = None
) -> AsyncIterator[LeasedPolling]:
    """MAX long polling beside the other fronts until the block ends (on one process of those
    sharing the database at a time)."""
    assert settings.max.token is not None
    api = MaxapiClient(settings.max.token.get_secret_value(), settings.max.api_base_url)
    try:
        await first_contact(api)
        front = build_max_front(settings, wiring, api)
        polling = leased_polling(settings, wiring, api, front)
        task = asyncio.create_task(polling.run(), name="max-polling")
        try:
            yield polling
        finally:
            polling.stop()
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


class NoTelegram(BaseRequestMiddleware):
    """MAX alone has no Telegram bot: a call meant for Telegram (a report due to an officer's
    Telegram id, an invitation to a Telegram subscriber) is refused here, with no request
    made, as Telegram refuses a token: a delivery is tried again next minute (and goes out
    once a process with BOT__TOKEN leads), a broadcast stops with nothing marked sent."""

    async def __call__(
        self,
        make_request: NextRequestMiddlewareType[TelegramType],
        bot: Bot,
        method: TelegramMethod[TelegramType],
    ) -> Response[TelegramType]:
        raise TelegramUnauthorizedError(method, "no BOT__TOKEN: this process has no Telegram bot")


@dataclass(frozen=True, slots=True)
class MaxAlone:
    wiring: Wiring
    jobs: BodyJobs
    polling: LeasedPolling


@asynccontextmanager
async def max_alone(settings: Settings) -> AsyncIterator[MaxAlone]:
    """`otklik run` with MAX__TOKEN and no BOT__TOKEN: the wiring, the body's scheduler behind
    the leader election with housekeeping (as `otklik run` with Telegram), MAX (and the web
    front when enabled), until the block ends."""
    from bot.web import PLACEHOLDER_TOKEN, web_front

    # The wiring wants a bot for its Telegram senders; here every call of it is refused.
    bot = Bot(PLACEHOLDER_TOKEN, session=AiohttpSession())
    bot.session.middleware(NoTelegram())
    try:
        wiring = await wire(settings, bot, settings.bot.username)
        try:
            if settings.bot.officer_ids or settings.bot.internal_officer_ids:
                logger.warning(
                    "No BOT__TOKEN: reports to officers' Telegram chats (BOT__OFFICER_IDS) wait "
                    "until a process with BOT__TOKEN runs; MAX and the database work as usual"
                )
            async with body_jobs(settings, wiring, None) as jobs, AsyncExitStack() as stack:
                if settings.web.enabled:
                    await stack.enter_async_context(web_front(settings, wiring))
                polling = await stack.enter_async_context(max_front(settings, wiring))
                yield MaxAlone(wiring, jobs, polling)
        finally:
            await wiring.close()
            logger.info("Stopped; what waited in memory is written")
    finally:
        await bot.session.close()


async def serve_max_alone(settings: Settings) -> None:
    """Serve MAX alone until SIGTERM/SIGINT; the cleanup writes what waits in memory."""
    async with max_alone(settings):
        await serve_until_stopped()
