"""Long polling (batch handled before it is confirmed, stop) and the maxapi client against the
MAX Bot API emulator (the documented requests: the Authorization header, the endpoints)."""

from __future__ import annotations

import asyncio

import pytest

from max_front.api import Batch, Button, MaxApiError, Update, View
from max_front.client import MaxapiClient
from max_front.polling import Poller
from tests.maxapi.emulator import MaxApiEmulator

TOKEN = "max-unit-token"


class ScriptedApi:
    """Hands out batches; records the markers asked with."""

    def __init__(self, batches: list[Batch | Exception]) -> None:
        self.batches = batches
        self.markers: list[int | None] = []
        self.never = asyncio.Event()
        self.idle = asyncio.Event()  # set when a poll finds nothing and waits

    async def updates(self, marker: int | None, wait_seconds: int) -> Batch:
        self.markers.append(marker)
        if self.batches:
            batch = self.batches.pop(0)
            if isinstance(batch, BaseException):
                raise batch
            return batch
        if wait_seconds == 0:
            return Batch([], marker)  # nothing new, at once
        self.idle.set()
        await self.never.wait()  # a long poll with nothing new
        raise AssertionError("unreachable")


async def test_a_batch_is_handled_before_its_marker_confirms_it() -> None:
    handled: list[tuple[object, list[int | None]]] = []
    api = ScriptedApi([Batch([{"update_type": "bot_started", "n": 1}], 7), Batch([], 9)])

    async def handle(update: Update) -> None:
        handled.append((update["n"], list(api.markers)))

    poller = Poller(api, handle, timeout=30)  # type: ignore[arg-type]
    task = asyncio.create_task(poller.run())
    await asyncio.wait_for(api.idle.wait(), 2)
    poller.stop()  # cancels the waiting poll, ends the loop
    await asyncio.wait_for(task, 2)
    assert handled == [(1, [None])]  # handled while marker 7 was not yet sent
    assert api.markers == [None, 7, 9]


async def test_client_speaks_the_documented_api_to_the_emulator() -> None:
    async with MaxApiEmulator(TOKEN) as emulator:
        client = MaxapiClient(TOKEN, emulator.base_url)
        try:
            assert (await client.me())["username"] == "otklik_bot"
            view = View("Вопрос", ((Button("1", "q:ab:0:r:1"), Button("2", "q:ab:0:r:2")),))
            mid = await client.send(4242, view)
            [message] = emulator.history(4242)
            assert message.mid == mid and message.text == "Вопрос"
            assert [b["payload"] for b in message.buttons] == ["q:ab:0:r:1", "q:ab:0:r:2"]
            assert {b["type"] for b in message.buttons} == {"callback"}
            user = emulator.user(4242, "Probe")
            callback = user.click("2")
            await client.answer(callback, view=View("Дальше"))
            assert message.text == "Дальше" and not message.buttons
            await client.remove_keyboard(mid)
            assert message.text == "Дальше" and message.format is None
            batch = await client.updates(None, 0)
            assert [u["update_type"] for u in batch.updates] == ["message_callback"]
            assert (await client.updates(batch.marker, 0)).updates == []  # confirmed
            # An officer's HTML summary in place of a prompt keeps its format (issue 13).
            summary = View("<b>Итог</b>", html=True)
            await client.answer(user.press(message, "q:ab:0:r:1"), view=summary)
            assert message.text == "<b>Итог</b>" and message.format == "html"
        finally:
            await client.close()
        # The token travels in the Authorization header only, never in the query.
        assert all("access_token" not in call.query for call in emulator.calls)


async def test_client_downloads_a_sent_file_within_a_limit_and_without_the_token() -> None:
    async with MaxApiEmulator(TOKEN) as emulator:
        emulator.files["register.csv"] = b"x" * 100_000
        client = MaxapiClient(TOKEN, emulator.base_url)
        url = f"{emulator.base_url}/files/register.csv"
        try:
            assert await client.download(url, 100_000) == b"x" * 100_000
            with pytest.raises(MaxApiError) as big:
                await client.download(url, 99_999)
            assert big.value.code == 413
            with pytest.raises(MaxApiError) as missing:
                await client.download(f"{emulator.base_url}/files/gone.csv", 100_000)
            assert missing.value.code == 404
            with pytest.raises(MaxApiError):
                await client.download("file:///etc/passwd", 100_000)
        finally:
            await client.close()
        assert not emulator.token_leaked


async def test_a_wrong_token_is_refused_as_max_refuses_it() -> None:
    async with MaxApiEmulator(TOKEN) as emulator:
        client = MaxapiClient("wrong", emulator.base_url)
        try:
            with pytest.raises(MaxApiError) as refused:
                await client.me()
            assert refused.value.code == 401
        finally:
            await client.close()


async def test_a_refused_request_becomes_a_max_api_error() -> None:
    async with MaxApiEmulator(TOKEN) as emulator:
        client = MaxapiClient(TOKEN, emulator.base_url)
        try:
            with pytest.raises(MaxApiError) as error:
                await client.answer("cb.unknown", notification="x")
            assert error.value.code == 404
        finally:
            await client.close()


async def test_polling_survives_failed_polls(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("max_front.polling.MIN_POLL_INTERVAL_S", 0.0)
    monkeypatch.setattr("max_front.polling._sleep_or_stop", _no_sleep)
    handled: list[object] = []
    api = ScriptedApi(
        [MaxApiError(503), TimeoutError(), Batch([{"update_type": "bot_started", "n": 2}], 3)]
    )

    async def handle(update: Update) -> None:
        handled.append(update["n"])

    poller = Poller(api, handle, timeout=30)  # type: ignore[arg-type]
    task = asyncio.create_task(poller.run())
    await asyncio.wait_for(api.idle.wait(), 2)
    poller.stop()
    await asyncio.wait_for(task, 2)
    # The poll cut by the stop may not have reached MAX: marker 3 is sent once more.
    assert handled == [2] and api.markers == [None, None, None, 3, 3]


async def _no_sleep(stop: asyncio.Event, seconds: float) -> None:
    return None
