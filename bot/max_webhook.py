"""MAX webhook mode: MAX posts updates to the web server instead of being polled.

``MAX__WEBHOOK_URL`` switches it on. Each `otklik run` then subscribes the URL with
``POST /subscriptions`` (url, the update types the front handles, the secret;
https://dev.max.ru/docs-api/methods/POST/subscriptions, maxapi's ``Bot.subscribe_webhook``) once
the web server listens, and serves the URL's path there. MAX sends the secret back in
``X-Max-Bot-Api-Secret`` with every update: a request without it or with another one gets 401
and nothing of it is read (compared in constant time). While a subscription is active long
polling does not work (MAX's documentation of the same method), so no `max-poller` lease is
campaigned for: every worker takes the updates MAX posts to it. Going back to polling, the
process deletes the subscriptions at start (``DELETE /subscriptions``, bot/max.py).

Acknowledging. MAX takes an update as delivered when the endpoint answers ``200 OK`` (the
"Модель доставки событий" of the same page) and delivers it again otherwise. As Telegram's
webhook (bot/webhook.py), an update is handled in a task of its own and the request waits for
it up to ``MAX__WEBHOOK_ACK_SECONDS`` (2 s): an ordinary step is answered 200 after it was
handled and stored; a slower one is acknowledged while it goes on (lost if the process is
killed meanwhile). SIGTERM waits for the updates being handled.

Once each, one person at a time. The task runs the very :class:`bot.max_runtime.OnceEach` the
poller uses: under the person's shared lock (Redis) and the update ledger keyed by an HMAC of
the update's MAX id, so a delivery repeated to this worker or another changes nothing; a repeat
of an update another worker is still handling waits for it in the background (the request is
acknowledged: the update is that worker's). One person's updates are handled one at a time,
in the order their requests take the lock (MAX posts each update in a request of its own). A
body that is not a JSON object with an
``update_type`` the front subscribes to gets 400, and nothing of it is logged.
"""

from __future__ import annotations

import asyncio
import hmac
import logging
from collections.abc import Awaitable, Callable
from typing import Final

from aiohttp import web

from bot.settings import Settings
from bot.webhook import secret_or_derived
from max_front.api import Update

logger = logging.getLogger(__name__)

#: The header MAX sends the subscription's secret in (POST /subscriptions, "secret").
SECRET_HEADER: Final = "X-Max-Bot-Api-Secret"
#: What the MAX front handles (max_front.front.MaxFront._dispatch): the update types subscribed.
UPDATE_TYPES: Final = ("bot_started", "message_created", "message_callback")
#: How long SIGTERM waits for updates being handled.
DRAIN_SECONDS: Final = 20.0


def max_webhook_secret(settings: Settings) -> str:
    """``MAX__WEBHOOK_SECRET``, or one derived from the pepper (64 hex digits: within MAX's
    5-256 characters of A-Z a-z 0-9 -; see bot.webhook.secret_or_derived)."""
    return secret_or_derived(settings, settings.max.webhook_secret, b"max")


class MaxWebhookReceiver:
    """The aiohttp handler of the MAX webhook path; see the module docstring."""

    def __init__(
        self,
        handle: Callable[[Update], Awaitable[None]],
        *,
        secret: str,
        ack_seconds: float = 2.0,
    ) -> None:
        self._handle_update = handle  # OnceEach: the lock, the ledger, the front
        self._secret = secret.encode()
        self._ack_seconds = ack_seconds
        self._running: set[asyncio.Task[bool]] = set()

    def _authentic(self, request: web.Request) -> bool:
        given = request.headers.get(SECRET_HEADER, "").encode()
        return hmac.compare_digest(given, self._secret)

    async def handle(self, request: web.Request) -> web.Response:
        if not self._authentic(request):
            # Nothing about the caller is logged: the route and status are (web.app's log).
            return web.json_response({"success": False, "message": "unauthorized"}, status=401)
        try:
            update = await request.json()
        except ValueError:
            return _not_an_update()
        if not isinstance(update, dict) or update.get("update_type") not in UPDATE_TYPES:
            return _not_an_update()
        task = asyncio.get_running_loop().create_task(self._handle(update))
        self._running.add(task)
        task.add_done_callback(self._running.discard)
        if self._ack_seconds > 0:
            await asyncio.wait({task}, timeout=self._ack_seconds)
            if task.done() and task.result() is False:
                return _try_later()
        return web.json_response({"success": True})

    async def _handle(self, update: Update) -> bool:
        """True once handled; False when it failed and is left for MAX's next delivery (the
        ledger released it)."""
        try:
            await self._handle_update(update)
        except Exception as error:
            # The front answers people itself; what escapes it is logged with no content.
            logger.warning(
                "MAX update %s failed: %s", update.get("update_type"), type(error).__name__
            )
            return False
        return True

    @property
    def running(self) -> int:
        return len(self._running)

    async def drain(self, seconds: float = DRAIN_SECONDS) -> None:
        """Wait for the updates being handled (SIGTERM): acknowledged means handled."""
        if self._running:
            logger.info("Waiting for %d MAX update(s) being handled", len(self._running))
            await asyncio.wait(set(self._running), timeout=seconds)


def _not_an_update() -> web.Response:
    return web.json_response({"success": False, "message": "not an update"}, status=400)


def _try_later() -> web.Response:
    response = web.json_response({"success": False, "message": "try again later"}, status=503)
    response.headers["Retry-After"] = "5"
    return response
