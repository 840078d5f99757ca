"""Bot API calls of the answer path are repeated on 429, 5xx and timeouts (issue 9)."""

from __future__ import annotations

from typing import Any

import aiohttp
import pytest
from aiogram import Bot
from aiogram.exceptions import (
    TelegramBadRequest,
    TelegramNetworkError,
    TelegramRetryAfter,
    TelegramServerError,
)
from aiogram.methods import AnswerCallbackQuery, EditMessageText, SendMessage, TelegramMethod

from bot.retry import RetryPolicy, RetryRequests
from handlers.middlewares import answer_path
from tests.bot.harness import TOKEN


class Flaky:
    """A make_request that fails with the given errors, then succeeds."""

    def __init__(self, *errors: Exception) -> None:
        self.errors = list(errors)
        self.calls = 0

    async def __call__(self, bot: Bot, method: TelegramMethod[Any]) -> Any:
        self.calls += 1
        if self.errors:
            raise self.errors.pop(0)
        return "ok"


class Sleeps:
    def __init__(self) -> None:
        self.delays: list[float] = []

    async def __call__(self, delay: float) -> None:
        self.delays.append(delay)


EDIT = EditMessageText(chat_id=1, message_id=2, text="x")
SEND = SendMessage(chat_id=1, text="x")


def _retry_after(seconds: int) -> TelegramRetryAfter:
    return TelegramRetryAfter(method=EDIT, message="Too Many Requests", retry_after=seconds)


def _server_error() -> TelegramServerError:
    return TelegramServerError(method=EDIT, message="Internal Server Error")


def _timeout() -> TelegramNetworkError:
    return TelegramNetworkError(method=SEND, message="Request timeout error")


def _refused_connection() -> TelegramNetworkError:
    error = TelegramNetworkError(method=SEND, message="ClientConnectorError")
    key = aiohttp.client_reqrep.ConnectionKey("h", 1, False, True, None, None, None)
    error.__cause__ = aiohttp.ClientConnectorError(key, OSError(111, "refused"))
    return error


@pytest.fixture
def bot() -> Bot:
    return Bot(TOKEN)


async def _run(
    middleware: RetryRequests, flaky: Flaky, bot: Bot, method: TelegramMethod[Any]
) -> Any:
    with answer_path():
        return await middleware(flaky, bot, method)


async def test_flood_control_waits_retry_after_then_succeeds(bot: Bot) -> None:
    sleeps = Sleeps()
    flaky = Flaky(_retry_after(3), _retry_after(1))
    assert await _run(RetryRequests(sleep=sleeps), flaky, bot, EDIT) == "ok"
    assert (flaky.calls, sleeps.delays) == (3, [3.0, 1.0])


async def test_server_errors_back_off_exponentially_within_the_attempts(bot: Bot) -> None:
    sleeps = Sleeps()
    flaky = Flaky(_server_error(), _server_error(), _server_error())
    policy = RetryPolicy(attempts=4, base_delay=0.5, max_delay=1.5)
    assert await _run(RetryRequests(policy, sleep=sleeps), flaky, bot, EDIT) == "ok"
    assert sleeps.delays == [0.5, 1.0, 1.5]


async def test_retries_are_bounded_and_the_last_error_is_raised(bot: Bot) -> None:
    sleeps = Sleeps()
    flaky = Flaky(*[_server_error() for _ in range(10)])
    with pytest.raises(TelegramServerError):
        await _run(RetryRequests(RetryPolicy(attempts=3), sleep=sleeps), flaky, bot, EDIT)
    assert flaky.calls == 3 and len(sleeps.delays) == 2


async def test_a_flood_wait_longer_than_the_cap_is_not_sat_out(bot: Bot) -> None:
    sleeps = Sleeps()
    flaky = Flaky(_retry_after(300))
    with pytest.raises(TelegramRetryAfter):
        await _run(RetryRequests(sleep=sleeps), flaky, bot, EDIT)
    assert flaky.calls == 1 and sleeps.delays == []


async def test_a_callback_answer_does_not_wait_past_the_life_of_the_query(bot: Bot) -> None:
    sleeps = Sleeps()
    answer = AnswerCallbackQuery(callback_query_id="1")
    flaky = Flaky(_retry_after(20))
    with pytest.raises(TelegramRetryAfter):
        await _run(RetryRequests(sleep=sleeps), flaky, bot, answer)
    assert sleeps.delays == []
    flaky = Flaky(_retry_after(20))  # an edit may still wait that long
    assert await _run(RetryRequests(sleep=sleeps), flaky, bot, EDIT) == "ok"
    assert sleeps.delays == [20.0]


async def test_a_timed_out_send_is_not_repeated_as_it_may_have_gone_out(bot: Bot) -> None:
    sleeps = Sleeps()
    with pytest.raises(TelegramNetworkError):
        await _run(RetryRequests(sleep=sleeps), Flaky(_timeout()), bot, SEND)
    flaky = Flaky(_timeout())  # an edit or a callback answer cannot show twice
    assert await _run(RetryRequests(sleep=sleeps), flaky, bot, EDIT) == "ok"
    flaky = Flaky(_refused_connection())  # never connected: nothing went out
    assert await _run(RetryRequests(sleep=sleeps), flaky, bot, SEND) == "ok"


async def test_bad_requests_are_not_repeated(bot: Bot) -> None:
    flaky = Flaky(TelegramBadRequest(method=EDIT, message="Bad Request: message can't be edited"))
    with pytest.raises(TelegramBadRequest):
        await _run(RetryRequests(sleep=Sleeps()), flaky, bot, EDIT)
    assert flaky.calls == 1


async def test_calls_outside_an_update_are_left_to_their_callers(bot: Bot) -> None:
    # Broadcasts and alerts have their own pacing and "never twice" bookkeeping.
    flaky = Flaky(_retry_after(1))
    with pytest.raises(TelegramRetryAfter):
        await RetryRequests(sleep=Sleeps())(flaky, bot, AnswerCallbackQuery(callback_query_id="1"))
    assert flaky.calls == 1
