"""Webhook mode (issue 14): Telegram posts updates to the web server instead of being polled.

``BOT__WEBHOOK_URL`` switches it on; `otklik run` then calls setWebhook (with the secret token,
the update types the routers use, pending updates kept) and serves the URL's path on the web
server. Every request must carry the secret in ``X-Telegram-Bot-Api-Secret-Token``: a missing
or wrong one gets 401 and nothing is read further.

What "acknowledged" means (the trade-off): Telegram forgets an update once it got a 200. An
update is handled in a task of its own, and the request waits for it up to
``BOT__WEBHOOK_ACK_SECONDS`` (2 s): an ordinary dialog step (tens of milliseconds) is answered
200 only after it was handled and stored, so a worker killed mid-step leaves Telegram to
deliver the update again, to this worker or another. A step slower than that (an officer's
report) is acknowledged while it goes on, so Telegram is never held up; such an update is lost
if the process is killed (SIGKILL, power) before it ends. SIGTERM waits for running updates.
``BOT__WEBHOOK_ACK_SECONDS=0`` acknowledges every update at once (aiogram's
``handle_in_background``): fastest, and any update in flight at a crash is lost.

Repeats: Telegram delivers an update again when its 200 came late or not at all. The
:class:`~storage.update_ledger.UpdateLedger` hands each update id to one request: a repeat of
a handled update is acknowledged and dropped, a repeat of one being handled (by any worker,
with Redis) gets 503 so Telegram tries again later, and an update whose handler failed before
its acknowledgement is released for the next delivery.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import hmac
import logging
from typing import Any, Final
from urllib.parse import urlsplit

from aiogram import Bot, Dispatcher
from aiogram.fsm.storage.base import BaseStorage
from aiogram.fsm.storage.redis import RedisStorage
from aiogram.methods import TelegramMethod
from aiohttp import web
from pydantic import SecretStr

from bot.settings import Settings, ensure_pepper
from storage.update_ledger import (
    CLAIM_TTL,
    Claim,
    MemoryUpdateLedger,
    RedisUpdateLedger,
    UpdateLedger,
)

logger = logging.getLogger(__name__)

SECRET_HEADER: Final = "X-Telegram-Bot-Api-Secret-Token"
#: How long SIGTERM waits for updates still being handled.
DRAIN_SECONDS: Final = 20.0


def webhook_secret(settings: Settings) -> str:
    """``BOT__WEBHOOK_SECRET``, or one derived from the pepper (see :func:`secret_or_derived`)."""
    return secret_or_derived(settings, settings.bot.webhook_secret, b"telegram")


def secret_or_derived(settings: Settings, configured: SecretStr | None, messenger: bytes) -> str:
    """A messenger's webhook secret: the one configured, or one derived from the pepper (64 hex
    digits; every worker shares the pepper, so they agree without another file to copy; the
    pepper cannot be recovered from it)."""
    if configured is not None:
        return configured.get_secret_value()
    pepper = ensure_pepper(settings).get_secret_value().encode()
    purpose = b"otklik " + messenger + b" webhook secret"
    return hmac.new(pepper, purpose, hashlib.sha256).hexdigest()


def webhook_path(url: str) -> str:
    """The path the web server serves: the URL's own (``/telegram/...``, ``/max/...``)."""
    return urlsplit(url).path


def update_ledger(storage: BaseStorage, bot_id: int) -> UpdateLedger:
    """Across processes on the FSM's Redis; in this process's memory without Redis."""
    if isinstance(storage, RedisStorage):
        return RedisUpdateLedger(storage.redis, bot_id)
    return MemoryUpdateLedger()


class WebhookReceiver:
    """The aiohttp handler of the webhook path; see the module docstring."""

    def __init__(
        self,
        bot: Bot,
        dispatcher: Dispatcher,
        *,
        secret: str,
        ledger: UpdateLedger,
        ack_seconds: float = 2.0,
        renew_every: float = CLAIM_TTL.total_seconds() / 3,
        **data: Any,
    ) -> None:
        self._bot = bot
        self._dispatcher = dispatcher
        self._secret = secret.encode()
        self._ledger = ledger
        self._ack_seconds = ack_seconds
        self._renew_every = renew_every
        self._data = data
        self._running: set[asyncio.Task[bool]] = set()

    def _authentic(self, request: web.Request) -> bool:
        given = request.headers.get(SECRET_HEADER, "").encode()
        return hmac.compare_digest(given, self._secret)

    async def handle(self, request: web.Request) -> web.Response:
        if not self._authentic(request):
            # Nothing about the caller is logged: the route and status are (web.app's log).
            return web.json_response({"ok": False, "error": "unauthorized"}, status=401)
        try:
            update = await request.json()
            update_id = int(update["update_id"])
        except (ValueError, TypeError, KeyError):
            return web.json_response({"ok": False, "error": "not an update"}, status=400)
        try:
            claim = await self._ledger.claim(update_id)
        except Exception as error:
            # Redis down: not taken, so not acknowledged; Telegram delivers it again later.
            logger.warning("Update ledger unavailable (%s); update refused", type(error).__name__)
            return _try_later()
        if claim is Claim.DONE:
            logger.info("Update %s delivered again; skipped", update_id)
            return web.json_response({})
        if claim is Claim.BUSY:
            return _try_later()
        task = asyncio.get_running_loop().create_task(self._handle(update_id, update))
        self._running.add(task)
        task.add_done_callback(self._running.discard)
        if self._ack_seconds > 0:
            await asyncio.wait({task}, timeout=self._ack_seconds)
            if task.done() and task.result() is False:
                return _try_later()
        return web.json_response({})

    async def _keep_claim(self, update_id: int) -> None:
        """Renew the update's claim while it is handled: a worker killed meanwhile lets it go
        within the claim's time to live, and the redelivery is handled by another."""
        while True:
            await asyncio.sleep(self._renew_every)
            try:
                await self._ledger.renew(update_id)
            except Exception as error:
                logger.warning("Update %s claim not renewed: %s", update_id, type(error).__name__)

    async def _handle(self, update_id: int, update: dict[str, Any]) -> bool:
        """Feed the update; True once handled, False when it is left for a redelivery."""
        keeper = asyncio.get_running_loop().create_task(self._keep_claim(update_id))
        try:
            result = await self._dispatcher.feed_raw_update(self._bot, update, **self._data)
            if isinstance(result, TelegramMethod):
                await self._dispatcher.silent_call_request(self._bot, result)
        except Exception as error:
            # The error router answers people; what escapes it is retried by Telegram when
            # the request is still waiting, and logged (with no content) either way.
            logger.warning("Update %s failed: %s", update_id, type(error).__name__)
            with contextlib.suppress(Exception):
                await self._ledger.release(update_id)
            return False
        finally:
            keeper.cancel()
        try:
            await self._ledger.finish(update_id)
        except Exception as error:
            # Handled; a repeat within the claim's time is still refused as busy.
            logger.warning("Update %s not marked done: %s", update_id, type(error).__name__)
        return True

    @property
    def running(self) -> int:
        return len(self._running)

    async def drain(self, seconds: float = DRAIN_SECONDS) -> None:
        """Wait for the updates being handled (SIGTERM): acknowledged means handled."""
        if self._running:
            logger.info("Waiting for %d update(s) being handled", len(self._running))
            await asyncio.wait(set(self._running), timeout=seconds)


def _try_later() -> web.Response:
    response = web.json_response({"ok": False, "error": "try again later"}, status=503)
    response.headers["Retry-After"] = "5"
    return response


async def set_webhook(bot: Bot, dispatcher: Dispatcher, settings: Settings) -> None:
    """Point Telegram at this server; each worker does it, to the same effect. Pending updates
    are kept (drop_pending_updates=False): they were sent by people and wait for us."""
    url = settings.bot.webhook_url
    assert url is not None
    await bot.set_webhook(
        url,
        secret_token=webhook_secret(settings),
        allowed_updates=dispatcher.resolve_used_update_types(),
        drop_pending_updates=False,
    )
    logger.info("Webhook set: Telegram posts updates to %s", webhook_path(url))
