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
from aiohttp.typedefs import Handler

from bot.app import BodyJobs, Wiring, body_jobs, serve_until_stopped, wire
from bot.max_runtime import (
    MAX_POLLER_ROLE,
    LeasedPolling,
    OnceEach,
    ledger_key,
    max_update_ledger,
    update_id_of,
)
from bot.max_webhook import (
    UPDATE_TYPES,
    MaxWebhookReceiver,
    max_webhook_secret,
)
from bot.operations import serve_metrics_port, shared_isolation
from bot.problems import Problem
from bot.settings import Settings, ensure_pepper
from bot.webhook import webhook_path
from max_front.api import MaxApi, MaxApiError, Update
from max_front.client import MaxapiClient
from max_front.front import MESSAGE_KEY, MaxDialogState, MaxFront, sender_of
from max_front.officer import MaxOfficers
from max_front.painmap import MaxPainMap, MeasureDraft
from max_front.persons import max_key, person_of
from max_front.polling import Poller
from max_front.reports import MaxReports
from scheduler.leader import LeaderGate
from services.dialog import DialogData, DialogService, Person
from storage.database import create_session_factory
from storage.leases import create_election
from web.app import NotReady

logger = logging.getLogger(__name__)

#: The bot id of MAX dialogs' FSM keys: no Telegram bot has a negative id and the web front
#: uses 0, so a MAX dialog never shares a key with another front's (the persons differ too).
MAX_BOT_ID = -1

#: A front beside the bot: called with the wiring, Telegram's webhook receiver (or None) and,
#: for the web front, MAX's webhook path and handler (or None).
Fronts = Callable[..., AbstractAsyncContextManager[object]]


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


#: The FSM key's destiny of the measure a MAX officer is typing (max_front.painmap): beside
#: the person's poll dialog, hashed like it (storage.fsm.storage_key_digest).
PAINMAP_DESTINY = "painmap"


@dataclass(frozen=True, slots=True)
class FsmMeasureDraft:
    """A MAX officer's measure being typed, in the bot's FSM storage."""

    storage: BaseStorage
    key: StorageKey

    async def load(self) -> dict[str, str] | None:
        data = await self.storage.get_data(self.key)
        return {k: str(v) for k, v in data.items()} if data.get("pain") else None

    async def save(self, data: dict[str, str]) -> None:
        await self.storage.set_data(self.key, dict(data))

    async def clear(self) -> None:
        await self.storage.set_data(self.key, {})


def max_measure_drafts(storage: BaseStorage) -> Callable[[Person], MeasureDraft]:
    def draft_for(person: Person) -> MeasureDraft:
        return FsmMeasureDraft(
            storage, StorageKey(MAX_BOT_ID, person, person, destiny=PAINMAP_DESTINY)
        )

    return draft_for


def max_dialog_states(storage: BaseStorage) -> Callable[[Person], MaxDialogState]:
    def state_for(person: Person) -> MaxDialogState:
        return FsmMaxDialogState(storage, StorageKey(MAX_BOT_ID, person, person))

    return state_for


def build_max_front(settings: Settings, wiring: Wiring, api: MaxApi) -> MaxFront:
    """The MAX front over the very services the Telegram routers call."""
    dialog = wiring.dispatcher["dialogs"]
    assert isinstance(dialog, DialogService)
    pepper = ensure_pepper(settings).get_secret_value().encode()
    states = max_dialog_states(wiring.storage)
    pains = MaxPainMap(
        api=api,
        painmap=wiring.services.painmap,
        person=partial(person_of, max_key(pepper)),
        drafts=max_measure_drafts(wiring.storage),
        dialogs=states,
    )
    return MaxFront(
        api=api,
        dialog=dialog,
        feedback=wiring.services.feedback,
        windows=wiring.services.campaigns,
        state_for=states,
        person_key=max_key(pepper),
        reporting=wiring.services.reporting,
        signals=wiring.services.signals,
        pains=pains,
        officer_languages=wiring.services.officer_languages,
        officers=max_officers(settings, wiring, api),
        reports=MaxReports(
            api=api,
            reporting=wiring.services.reporting,
            feedback=wiring.services.feedback,
            appendix2=wiring.services.appendix2,
        ),
    )


def max_officers(settings: Settings, wiring: Wiring, api: MaxApi) -> MaxOfficers:
    """The officers' commands in MAX (issue 13) over the services Telegram's handlers use."""
    services = wiring.services
    return MaxOfficers(
        api=api,
        reporting=services.reporting,
        feedback=services.feedback,
        windows=services.campaigns,
        open_answers=services.open_answers,
        appeals=services.appeals,
        publication=services.publication,
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
    """The front's handle under the person's lock (shared through Redis, else in-process:
    the webhook receiver handles requests side by side) and the update ledger."""
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


@dataclass
class MaxRunning:
    """The MAX front while it runs: polling (one process at a time), or a webhook served on the
    web server (every process) once :meth:`subscribe` told MAX where it is."""

    settings: Settings
    api: MaxapiClient
    polling: LeasedPolling | None = None
    receiver: MaxWebhookReceiver | None = None
    retrying: asyncio.Task[None] | None = None
    #: Why MAX refused the subscription after the start (then readyz answers 503).
    refused: str | None = None

    @property
    def hook(self) -> tuple[str, Handler] | None:
        """The web server's MAX route in webhook mode (bot/web.py), else None."""
        url = self.settings.max.webhook_url
        if self.receiver is None or url is None:
            return None
        return webhook_path(url), self.receiver.handle

    def ready(self) -> None:
        """For readyz: raises NotReady once MAX refused the webhook subscription after the
        start (MAX then posts nothing here: MAX is dead for this process until fixed)."""
        if self.refused is not None:
            raise NotReady("max", "webhook subscription refused")

    async def subscribe(self) -> None:
        """Webhook mode, once the web server listens: POST /subscriptions. Each worker does
        it, to the same effect. A refusal stops the start with a line saying why; MAX away
        (no answer, 429, 5xx) is tried again in the background until it answers, and a
        refusal then marks the process not ready (readyz 503, ``max``) with the same line
        logged as an error, since stopping a process serving Telegram too is worse."""
        url = self.settings.max.webhook_url
        if url is None:
            return
        if not await self._subscribe(url):
            self.retrying = asyncio.create_task(self._retry(url), name="max-subscribe")

    async def _subscribe(self, url: str) -> bool:
        try:
            await self.api.subscribe(url, UPDATE_TYPES, max_webhook_secret(self.settings))
        except MaxApiError as error:
            if error.code in (0, 429) or error.code >= 500:
                logger.warning("MAX webhook not subscribed yet (%s); trying again", error.code)
                return False
            raise Problem(
                f"Otklik cannot subscribe MAX__WEBHOOK_URL at MAX ({error.code}): check that "
                "the address is public https:// with a trusted certificate (README, 'MAX in "
                "webhook mode')."
            ) from None
        logger.info("MAX webhook subscribed: MAX posts updates to %s", webhook_path(url))
        return True

    async def _retry(self, url: str) -> None:
        delay = 1.0
        while True:
            await asyncio.sleep(delay)
            delay = min(delay * 2, 60.0)
            try:
                if await self._subscribe(url):
                    return
            except Problem as problem:
                self.refused = str(problem)
                logger.error("%s Readyz answers 503 until a restart subscribes.", problem)
                return

    async def stop(self) -> None:
        if self.retrying is not None:
            self.retrying.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self.retrying


async def leave_webhook(api: MaxapiClient) -> None:
    """Polling mode: delete MAX's subscriptions first, since long polling does not work while
    one is active (https://dev.max.ru/docs-api/methods/DELETE/subscriptions); a failure is
    logged and polling goes on trying."""
    try:
        urls = await api.subscriptions()
        for url in urls:
            await api.unsubscribe(url)
            logger.warning(
                "MAX__WEBHOOK_URL is unset: the MAX webhook subscription to %s was deleted "
                "so that long polling works",
                webhook_path(url),
            )
    except MaxApiError as error:
        logger.warning("MAX subscriptions not checked (%s); polling anyway", error.code)


@asynccontextmanager
async def max_front(
    settings: Settings, wiring: Wiring, _receiver: object = None
) -> AsyncIterator[MaxRunning]:
    """The MAX front beside the other fronts until the block ends: long polling (on one
    process of those sharing the database at a time), or with MAX__WEBHOOK_URL a receiver for
    the web server (``running.hook``; the caller serves it, then calls ``running.subscribe``)."""
    assert settings.max.token is not None
    api = MaxapiClient(settings.max.token.get_secret_value(), settings.max.api_base_url)
    try:
        await first_contact(api)
        front = build_max_front(settings, wiring, api)
        running = MaxRunning(settings, api)
        if settings.max.webhook_url is not None:
            running.receiver = MaxWebhookReceiver(
                once_each(settings, wiring, front),
                secret=max_webhook_secret(settings),
                ack_seconds=settings.max.webhook_ack_seconds,
            )
            try:
                yield running
            finally:
                # The web server stopped taking updates before (it was entered after this).
                await running.stop()
                await running.receiver.drain()
            return
        await leave_webhook(api)
        polling = running.polling = leased_polling(settings, wiring, api, front)
        task = asyncio.create_task(polling.run(), name="max-polling")
        try:
            yield running
        finally:
            polling.stop()
            with contextlib.suppress(asyncio.CancelledError):
                await task
    finally:
        await api.close()


def with_max(settings: Settings, others: Fronts | None) -> Fronts | None:
    """The fronts `bot.app.serve` runs beside Telegram: the others, and MAX when configured
    (in webhook mode on the web server among the others)."""
    if settings.max.token is None:
        return others

    @asynccontextmanager
    async def both(wiring: Wiring, receiver: Any) -> AsyncIterator[object]:
        async with AsyncExitStack() as stack:
            running = await stack.enter_async_context(max_front(settings, wiring))
            if others is not None:
                await stack.enter_async_context(
                    others(wiring, receiver, running.hook, running.ready)
                )
            await running.subscribe()
            yield running

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
    max: MaxRunning

    @property
    def polling(self) -> LeasedPolling | None:
        return self.max.polling


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
            # As `otklik run` with Telegram (bot.operations.instrument): a busy port stops the
            # start with a line saying so.
            serve_metrics_port(settings)
            if settings.bot.officer_ids or settings.bot.internal_officer_ids:
                logger.warning(
                    "No BOT__TOKEN: reports to officers' Telegram chats (BOT__OFFICER_IDS) wait "
                    "until a process with BOT__TOKEN runs; MAX and the database work as usual"
                )
            async with body_jobs(settings, wiring, None) as jobs, AsyncExitStack() as stack:
                running = await stack.enter_async_context(max_front(settings, wiring))
                if settings.web.enabled:
                    await stack.enter_async_context(
                        web_front(settings, wiring, None, running.hook, running.ready)
                    )
                await running.subscribe()
                yield MaxAlone(wiring, jobs, running)
        finally:
            await wiring.close()
            logger.info("Stopped; what waited in memory is written")
    finally:
        await bot.session.close()


async def serve_max_alone(settings: Settings) -> None:
    """Serve MAX alone until SIGTERM/SIGINT; the cleanup writes what waits in memory."""
    async with max_alone(settings):
        await serve_until_stopped()
