"""Long polling of MAX's GET /updates, each person's updates handled in order.

MAX documents long polling for development and webhooks for production
(https://dev.max.ru/docs-api/methods/GET/updates). An update is confirmed by the `marker` of
the next request, so a batch is handled before the next request: a crash loses nothing
acknowledged (MAX sends the unconfirmed batch again, and bot/max_runtime.py's update ledger
drops what was handled already). A stop confirms the last batch before the loop ends. Of
several processes only the holder of the `max-poller` lease polls (bot/max_runtime.py).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from typing import Final

from max_front.api import Batch, MaxApi, MaxApiError, Update
from max_front.front import sender_of

logger = logging.getLogger(__name__)

#: MAX allows 30 requests per second on the platform API ("максимальное количество запросов
#: в секунду на platform-api.max.ru — 30 rps", https://dev.max.ru/help, FAQ "Чат-боты"), and
#: GET /updates since 11.05.2026 at most 2 requests per second
#: (https://dev.max.ru/docs-api/methods/GET/updates): an empty poll waits this long.
MIN_POLL_INTERVAL_S: Final = 0.5
#: How long the confirmation at a stop may take (it asks for nothing new: timeout 0).
CONFIRM_TIMEOUT_S: Final = 5.0
#: After a failed poll: 1, 2, 4 … seconds, at most this many.
MAX_BACKOFF_S: Final = 30.0


async def handle_batch(updates: list[Update], handle: Callable[[Update], Awaitable[None]]) -> None:
    """Different people at once, each person's updates in the order MAX sent them; a failing
    update is logged (its type only) and does not stop the others."""
    queues: dict[int | None, list[Update]] = {}
    for update in updates:
        queues.setdefault(sender_of(update), []).append(update)

    async def run(queue: list[Update]) -> None:
        for update in queue:
            try:
                await handle(update)
            except Exception:
                logger.exception("MAX update %s failed", update.get("update_type"))

    await asyncio.gather(*(run(queue) for queue in queues.values()))


class Poller:
    """Polls until stopped; `stop` cancels a request waiting for updates, never a batch
    being handled (its updates are answered, then the loop ends).

    `may_poll` is asked before every request (the `max-poller` lease, bot/max_runtime.py): once
    it says no, the loop ends as if stopped. Whenever the loop ends after a handled batch, one
    last `GET /updates?marker=M&timeout=0` confirms that batch, so a clean stop never leaves
    it for MAX to send again; what that request returns stays unconfirmed for the next poller.
    """

    def __init__(
        self,
        api: MaxApi,
        handle: Callable[[Update], Awaitable[None]],
        *,
        timeout: int,
        may_poll: Callable[[], bool] = lambda: True,
    ) -> None:
        self._api = api
        self._handle = handle
        self._timeout = timeout
        self._may_poll = may_poll
        self._stop = asyncio.Event()
        self._waiting: asyncio.Task[Batch] | None = None
        #: The marker of the last handled batch not yet sent back to MAX.
        self._unconfirmed: int | None = None

    async def run(self) -> None:
        try:
            await self._loop()
        finally:
            await self._confirm()

    async def _confirm(self) -> None:
        """Send the marker of the batch handled last, asking for nothing more (timeout 0)."""
        marker, self._unconfirmed = self._unconfirmed, None
        if marker is None:
            return
        try:
            await asyncio.wait_for(self._api.updates(marker, 0), CONFIRM_TIMEOUT_S)
        except Exception as error:  # MAX sends the batch again; the update ledger drops it
            reason = error.code if isinstance(error, MaxApiError) else type(error).__name__
            logger.warning("The last MAX batch not confirmed at stop (%s)", reason)

    async def _loop(self) -> None:
        marker: int | None = None
        backoff = 1.0
        loop = asyncio.get_running_loop()
        while not self._stop.is_set() and self._may_poll():
            began = loop.time()
            self._waiting = asyncio.ensure_future(self._api.updates(marker, self._timeout))
            try:
                batch = await self._waiting
            except asyncio.CancelledError:
                if self._stop.is_set():
                    return
                raise
            except Exception as error:  # whatever failed (a timeout too), polling goes on
                reason = error.code if isinstance(error, MaxApiError) else type(error).__name__
                logger.warning("MAX updates failed (%s); retrying in %.0f s", reason, backoff)
                await _sleep_or_stop(self._stop, backoff)
                backoff = min(backoff * 2, MAX_BACKOFF_S)
                continue
            finally:
                self._waiting = None
            backoff = 1.0
            # Whatever this request carried, the marker it was asked with is confirmed now.
            self._unconfirmed = None
            await handle_batch(batch.updates, self._handle)
            marker = batch.marker
            if batch.updates:
                self._unconfirmed = marker
            spare = MIN_POLL_INTERVAL_S - (loop.time() - began)
            if spare > 0:
                await _sleep_or_stop(self._stop, spare)

    def stop(self) -> None:
        self._stop.set()
        if self._waiting is not None:
            self._waiting.cancel()


async def _sleep_or_stop(stop: asyncio.Event, seconds: float) -> None:
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(stop.wait(), seconds)
