"""The web front in the composition root: its services from the wiring, and its server."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from dataclasses import dataclass
from functools import partial
from typing import cast

from aiogram import Bot
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.fsm.storage.base import BaseEventIsolation, BaseStorage, StorageKey
from aiohttp import web
from aiohttp.typedefs import Handler

from bot.app import Wiring, freeze_startup_heap, serve_until_stopped, wire
from bot.settings import Settings, ensure_pepper
from bot.webhook import WebhookReceiver, webhook_path
from scheduler.jobs import create_scheduler, make_jobs_stoppable
from services import metrics
from services.dialog import DialogData, DialogService, DialogState, Person
from storage.database import checkpoint_wal, ping
from web.app import WebServices, create_app, runner_options
from web.forms import WebForms
from web.security import Signer, web_key

logger = logging.getLogger(__name__)

#: A syntactically valid token that names no bot: `otklik web` never calls Telegram.
PLACEHOLDER_TOKEN = "1:web-front-without-telegram"


def web_signer(settings: Settings) -> Signer:
    return Signer(web_key(ensure_pepper(settings).get_secret_value().encode()))


@asynccontextmanager
async def running_site(app: web.Application, host: str, port: int) -> AsyncIterator[web.AppRunner]:
    """Serve `app` on host:port until the block ends; the access log names no visitor."""
    runner = web.AppRunner(app, handle_signals=False, **runner_options())
    await runner.setup()
    site = web.TCPSite(runner, host, port)
    try:
        await site.start()
        logger.info("Web front listening on http://%s:%d", host, port)
        yield runner
    finally:
        await runner.cleanup()


#: The bot id of web dialogs' FSM keys: no Telegram bot has id 0, and web persons are negative,
#: so a web dialog never shares a key with a Telegram one.
WEB_BOT_ID = 0


@dataclass(frozen=True, slots=True)
class FsmDialogState:
    """A web person's dialog in the bot's FSM storage (SQL or Redis): durable on return."""

    storage: BaseStorage
    key: StorageKey

    async def load(self) -> DialogData | None:
        data = await self.storage.get_data(self.key)
        return cast(DialogData, data) if data.get("p") and data.get("n") else None

    async def save(self, data: DialogData) -> None:
        await self.storage.set_data(self.key, data)

    async def clear(self) -> None:
        # Gathered: both writes join one commit of the storage.
        await asyncio.gather(
            self.storage.set_state(self.key, None), self.storage.set_data(self.key, {})
        )


def fsm_dialog_states(storage: BaseStorage) -> Callable[[Person], DialogState]:
    """The state port of each web person, keyed by the person (a keyed hash of the cookie)."""

    def state_for(person: Person) -> DialogState:
        return FsmDialogState(storage, StorageKey(WEB_BOT_ID, person, person))

    return state_for


def person_locks(
    isolation: BaseEventIsolation,
) -> Callable[[Person], AbstractAsyncContextManager[object]]:
    """Each web person's lock in the bot's event isolation, under the key of their state."""

    def lock_for(person: Person) -> AbstractAsyncContextManager[object]:
        return isolation.lock(StorageKey(WEB_BOT_ID, person, person))

    return lock_for


def build_forms(settings: Settings, wiring: Wiring) -> WebForms:
    """The web forms over the same dialog service, stores and guard as the bot."""
    # The very service the Telegram routers call (bot.dispatcher): one dialog use case.
    dialog = wiring.dispatcher["dialogs"]
    assert isinstance(dialog, DialogService)
    return WebForms(
        dialog=dialog,
        feedback=wiring.services.feedback,
        windows=wiring.services.campaigns,
        state_for=fsm_dialog_states(wiring.storage),
        # The dispatcher's: in one process its freed locks, with Redis the shared one.
        lock_for=person_locks(wiring.dispatcher.fsm.events_isolation),
        signer=web_signer(settings),
    )


def build_web_services(
    settings: Settings,
    wiring: Wiring,
    receiver: WebhookReceiver | None = None,
    max_hook: tuple[str, Handler] | None = None,
    max_ready: Callable[[], None] | None = None,
) -> WebServices:
    """The web front's services over the bot's wiring: the same dialog, stores and guard;
    in webhook mode also Telegram's path (bot/webhook.py) and MAX's (bot/max_webhook.py),
    whose ``max_ready`` raises NotReady once MAX refused the subscription (readyz)."""
    url = settings.bot.webhook_url

    async def ready() -> None:
        await ping(wiring.engine)
        if max_ready is not None:
            max_ready()

    return web_services(
        settings,
        forms=build_forms(settings, wiring),
        ready=ready,
        telegram=None if receiver is None or url is None else (webhook_path(url), receiver.handle),
        max=max_hook,
    )


@asynccontextmanager
async def web_front(
    settings: Settings,
    wiring: Wiring,
    receiver: WebhookReceiver | None = None,
    max_hook: tuple[str, Handler] | None = None,
    max_ready: Callable[[], None] | None = None,
) -> AsyncIterator[web.AppRunner]:
    """The web front beside the bot (`otklik run` with WEB__ENABLED=true), with Telegram's
    webhook when a receiver is given and MAX's when its path and handler are."""
    app = create_app(build_web_services(settings, wiring, receiver, max_hook, max_ready))
    async with running_site(app, settings.web.host, settings.web.port) as runner:
        yield runner


def web_fronts(
    settings: Settings,
) -> Callable[..., AbstractAsyncContextManager[web.AppRunner]]:
    """What `bot.app.serve` starts beside the bot when WEB__ENABLED is true."""
    return partial(web_front, settings)


async def serve_web(settings: Settings) -> None:
    """`otklik web`: the wiring without Telegram polling or scheduler, and the web front."""
    await serve_without_telegram(settings, partial(web_front, settings))


async def serve_without_telegram(
    settings: Settings, front: Callable[[Wiring], AbstractAsyncContextManager[object]]
) -> None:
    """The wiring without Telegram polling or the body's jobs, and `front` (`otklik web`) until
    SIGTERM/SIGINT. (MAX alone runs the body's jobs: bot.max.max_alone.)"""
    # The wiring wants a bot for its senders; none of them runs here (no scheduler), so a
    # placeholder token is enough when none is configured.
    token = settings.bot.token.get_secret_value() if settings.bot.token else PLACEHOLDER_TOKEN
    bot = Bot(token, session=AiohttpSession())
    try:
        wiring = await wire(settings, bot, settings.bot.username)
        # Only the jobs about this process's memory (drop-off counters, subscriptions, poll
        # participation keys, the hour's activity, the WAL): the body's jobs are the bot's.
        services, engine = wiring.services, wiring.engine
        sqlite = engine.dialect.name == "sqlite"
        scheduler = create_scheduler(
            settings.body.zone,
            responses=services.responses,
            fsm=wiring.sql_storage,
            today=services.feedback.today,
            funnel=services.funnel,
            opt_ins=services.opt_ins,
            activity=services.activity,
            reshuffler=services.responses,
            wal=partial(checkpoint_wal, engine) if sqlite else None,
            participation=services.campaigns,
            ratings=services.feedback,
            housekeep=False,
        )
        try:
            make_jobs_stoppable(scheduler)
            scheduler.start()
            async with front(wiring):
                # Start-up is over: its heap leaves the collector's reach, as in the bot
                # process (bot.app.serve), so the forms do not pay for walking it.
                frozen = freeze_startup_heap()
                logger.info("Serving (%d start-up objects frozen)", frozen)
                # Until SIGINT or SIGTERM (systemd, docker, a process manager), so the
                # cleanup below runs: the wiring writes what waits in memory first.
                await serve_until_stopped()
        finally:
            if scheduler.running:
                scheduler.shutdown(wait=False)
            await wiring.close()
            logger.info("Stopped; what waited in memory is written")
    finally:
        await bot.session.close()


def web_services(settings: Settings, **values: object) -> WebServices:
    """Web services with the settings' site folder, rate and cookie security."""
    public = settings.web.public_url or ""
    return WebServices(
        signer=web_signer(settings),
        site_dir=settings.publish.dir,
        rate_per_minute=settings.web.rate_per_minute,
        secure_cookies=public.startswith("https://"),
        metrics=metrics.exposition if settings.metrics.on_web else None,
        **values,  # type: ignore[arg-type]
    )


__all__ = ["create_app", "running_site", "web_services"]
