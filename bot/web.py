"""The web front in the composition root: its services from the wiring, and its server."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from functools import partial

from aiogram import Bot
from aiogram.client.session.aiohttp import AiohttpSession
from aiohttp import web

from bot.app import Wiring, wire
from bot.settings import Settings, ensure_pepper
from storage.database import ping
from web.app import WebServices, create_app, runner_options
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


async def serve_forever() -> None:
    """Wait until cancelled (SIGINT/SIGTERM end asyncio.run)."""
    await asyncio.Event().wait()


def build_web_services(settings: Settings, wiring: Wiring) -> WebServices:
    """The web front's services over the bot's wiring: the same dialog, stores and guard."""
    return web_services(
        settings,
        forms=build_forms(settings, wiring),
        ready=partial(ping, wiring.engine),
    )


@asynccontextmanager
async def web_front(settings: Settings, wiring: Wiring) -> AsyncIterator[web.AppRunner]:
    """The web front beside the bot (`otklik run` with WEB__ENABLED=true)."""
    app = create_app(build_web_services(settings, wiring))
    async with running_site(app, settings.web.host, settings.web.port) as runner:
        yield runner


async def serve_web(settings: Settings) -> None:
    """`otklik web`: the wiring without Telegram polling or scheduler, and the web front."""
    # The wiring wants a bot for its senders; none of them runs here (no scheduler), so a
    # placeholder token is enough when none is configured.
    token = settings.bot.token.get_secret_value() if settings.bot.token else PLACEHOLDER_TOKEN
    bot = Bot(token, session=AiohttpSession())
    try:
        wiring = await wire(settings, bot, settings.bot.username)
        try:
            async with web_front(settings, wiring):
                await serve_forever()
        finally:
            await wiring.close()
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
        **values,  # type: ignore[arg-type]
    )


__all__ = ["create_app", "running_site", "serve_forever", "web_services"]
