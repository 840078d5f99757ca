"""Messages the bot starts in MAX: broadcasts to citizens who opted in (invitations,
reminders, news) and officers' messages (reports, digests, signals, alerts).

MAX's answers are translated into the broadcaster's verdicts (services.broadcast_errors), so
services.broadcast keeps its guarantees over MAX as over Telegram: its ledger, no duplicate,
nothing lost on a 429 or a 5xx, a blocked chat dropped. MAX's documented HTTP answers
(https://dev.max.ru/docs-api, "Коды ответов HTTP"): 400 a bad request, 401 a bad token,
404 no such resource, 405 a wrong method, 429 too many requests, 503 unavailable. MAX allows
30 requests a second in all (https://dev.max.ru/help, FAQ "Чат-боты": "максимальное
количество запросов в секунду на platform-api.max.ru — 30 rps"); the pacing is
services.broadcast's (BroadcastLimits.max_rate). MAX sends no Retry-After: a 429 pauses MAX's
broadcasts for ``RATE_LIMIT_PAUSE`` seconds.

Ids here are MAX user ids (the raw id of a chat address, questionnaires.messengers).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Final

from max_front.api import Button, MaxApi, MaxApiError, View
from services.broadcast_errors import (
    ABORT_VERDICT,
    BLOCKED_VERDICT,
    FAILED_VERDICT,
    RETRY_VERDICT,
    UNKNOWN_VERDICT,
    DeliveryRefusedError,
    RateLimitedError,
)

#: s MAX's broadcasts wait after a 429 (MAX counts requests per second).
RATE_LIMIT_PAUSE: Final = 1.0
#: MAX's error codes that mean the person is out of reach (blocked the bot, left, gone).
GONE_CODES: Final = frozenset(
    {"chat.not.found", "user.not.found", "chat.denied", "access.denied", "dialog.suspended"}
)

SendPort = Callable[[int, str], Awaitable[None]]


def refusal(error: MaxApiError) -> Exception:
    """The broadcaster's reading of a refused or failed MAX call."""
    if error.code == 429:
        return RateLimitedError(RATE_LIMIT_PAUSE)
    if error.code == 403 or (error.code == 404 and error.description in GONE_CODES):
        return DeliveryRefusedError(BLOCKED_VERDICT, error.description)
    if error.code in (401, 404, 405):
        # The token or the address of the API is wrong: nothing can be sent at all.
        return DeliveryRefusedError(ABORT_VERDICT, str(error.code))
    if error.code == 400:
        return DeliveryRefusedError(FAILED_VERDICT, error.description, bad_request=True)
    if error.code >= 500:
        return DeliveryRefusedError(RETRY_VERDICT, str(error.code))  # MAX says it failed
    if error.code == 0:
        # No answer: only a connection never made proves the message did not go out.
        return DeliveryRefusedError(RETRY_VERDICT if error.never_sent else UNKNOWN_VERDICT)
    return DeliveryRefusedError(FAILED_VERDICT, str(error.code))


def max_sender(api: MaxApi, keyboard: tuple[tuple[Button, ...], ...] = ()) -> SendPort:
    """services.broadcast's port for MAX: one POST /messages per MAX user, HTML as in
    Telegram, MAX's errors as the broadcaster's verdicts."""

    async def send(user_id: int, text: str) -> None:
        try:
            await api.send(user_id, View(text, keyboard, html=True))
        except MaxApiError as error:
            raise refusal(error) from None

    return send


class MaxOutbox:
    """Officers' messages in MAX (bot.outbox.BotOutbox's twin): texts, a text with one
    button, charts and workbooks as files (POST /uploads). Errors are translated as for
    broadcasts (a news message with its stop button goes through ``text_with_button``)."""

    def __init__(self, api: MaxApi) -> None:
        self._api = api

    async def text(self, chat_id: int, html: str) -> None:
        await self._call(self._api.send(chat_id, View(html, html=True)))

    async def text_with_button(self, chat_id: int, html: str, button: str, data: str) -> None:
        view = View(html, ((Button(button, data),),), html=True)
        await self._call(self._api.send(chat_id, view))

    async def photo(self, chat_id: int, name: str, png: bytes) -> None:
        await self._call(self._api.send_file(chat_id, name, png, ""))

    async def document(self, chat_id: int, name: str, data: bytes, caption: str) -> None:
        await self._call(self._api.send_file(chat_id, name, data, caption))

    @staticmethod
    async def _call(call: Awaitable[object]) -> None:
        try:
            await call
        except MaxApiError as error:
            raise refusal(error) from None
