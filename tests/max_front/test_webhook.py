"""MAX webhook mode (bot/max_webhook.py): the secret in constant time, 4xx for what is not an
update, acknowledgement, each update once and one person at a time across workers, the
subscription at MAX (through the emulator, which posts updates and delivers them again until a
200), and polling deleting a subscription left behind."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from dataclasses import replace
from functools import partial
from pathlib import Path
from typing import Any, cast

import pytest
from aiogram.fsm.storage.base import StorageKey
from aiogram.fsm.storage.memory import MemoryStorage, SimpleEventIsolation
from pydantic import SecretStr, ValidationError

from bot.max import MaxRunning, leave_webhook
from bot.max_runtime import OnceEach, ledger_key, update_id_of
from bot.max_webhook import (
    SECRET_HEADER,
    UPDATE_TYPES,
    MaxWebhookReceiver,
    max_webhook_secret,
)
from bot.operations import shared_isolation
from bot.settings import Settings
from max_front.api import MaxApiError, Update
from max_front.client import MaxapiClient
from max_front.front import sender_of
from storage.update_ledger import MemoryUpdateLedger, UpdateLedger
from tests.maxapi.emulator import MaxApiEmulator
from tests.web.conftest import Client, serve
from tests.web.harness import web_stack
from web.app import WebServices, create_app
from web.security import BROWSER_COOKIE, Signer

TOKEN = "max-webhook-token"
SECRET = "max-webhook-secret-0123"
PATH = "/max/updates"
PEPPER = b"max-webhook-pepper-0123456789abcdef"
KEY = ledger_key(PEPPER)
ANNA = 4242


class Recorder:
    """The front's stand-in: records texts; `gate` holds it, `fail` breaks the next calls."""

    def __init__(self) -> None:
        self.texts: list[str] = []
        self.gate: asyncio.Event | None = None
        self.fail = 0
        self.busy = 0
        self.overlapped = False

    async def __call__(self, update: Update) -> None:
        self.busy += 1
        self.overlapped = self.overlapped or self.busy > 1
        try:
            if self.gate is not None:
                await self.gate.wait()
            if self.fail:
                self.fail -= 1
                raise RuntimeError("front broke")
            self.texts.append(str(update["message"]["body"]["text"]))
        finally:
            self.busy -= 1


def message(mid: str, text: str, user: int = ANNA) -> Update:
    sender = {"user_id": user, "first_name": "Anna", "is_bot": False}
    return {
        "update_type": "message_created",
        "timestamp": 1,
        "message": {"sender": sender, "body": {"mid": mid, "text": text}},
    }


def receiver_of(
    recorder: Recorder,
    ledger: UpdateLedger | None = None,
    *,
    ack_seconds: float = 5.0,
    isolation: SimpleEventIsolation | None = None,
) -> MaxWebhookReceiver:
    def lock_key(update: Update) -> StorageKey | None:
        user = sender_of(update)
        return None if user is None else StorageKey(-1, user, user)

    once = OnceEach(
        recorder,
        ledger or MemoryUpdateLedger(),
        partial(update_id_of, KEY),
        isolation=isolation,
        lock_key=lock_key,
    )
    return MaxWebhookReceiver(once, secret=SECRET, ack_seconds=ack_seconds)


async def no_forms_ready() -> None:
    return None


def services(receiver: MaxWebhookReceiver) -> WebServices:
    return WebServices(
        forms=None,  # type: ignore[arg-type]  # no form is asked for here
        signer=Signer(b"k" * 32),
        ready=no_forms_ready,
        max=(PATH, receiver.handle),
        rate_per_minute=2,
    )


async def post(client: Client, body: Any, secret: str | None = SECRET) -> int:
    headers = {} if secret is None else {SECRET_HEADER: secret}
    async with client.post(PATH, json=body, headers=headers) as response:
        return response.status


@pytest.fixture
async def emulator() -> AsyncIterator[MaxApiEmulator]:
    async with MaxApiEmulator(TOKEN) as emulator:
        emulator.retry_delays = (0.05, 0.1, 0.2)
        yield emulator


@pytest.fixture
async def client(emulator: MaxApiEmulator) -> AsyncIterator[MaxapiClient]:
    client = MaxapiClient(TOKEN, emulator.base_url)
    yield client
    await client.close()


# --- the secret, and what is not an update ----------------------------------------------------


@pytest.mark.parametrize("secret", [None, "", "wrong", SECRET + "x", SECRET.upper()])
async def test_a_missing_or_wrong_secret_gets_401_and_nothing_is_handled(
    secret: str | None,
) -> None:
    recorder = Recorder()
    receiver = receiver_of(recorder)
    async with serve(create_app(services(receiver))) as http:
        assert await post(http, message("m1", "forged"), secret) == 401
        await receiver.drain()
        assert recorder.texts == []
        # Nor was the update taken: MAX's own delivery of it is handled.
        assert await post(http, message("m1", "real")) == 200
    assert recorder.texts == ["real"]


async def test_a_body_that_is_not_an_update_gets_400_and_nothing_of_it_is_logged(
    caplog: pytest.LogCaptureFixture,
) -> None:
    recorder = Recorder()
    caplog.set_level(logging.DEBUG)
    async with serve(create_app(services(receiver_of(recorder)))) as http:
        assert await post(http, [message("m1", "x")]) == 400
        assert await post(http, {"message": message("m1", "x")["message"]}) == 400
        unknown = {**message("m2", "x"), "update_type": "user_added"}
        assert await post(http, unknown) == 400
        async with http.post(PATH, data=b"not json", headers={SECRET_HEADER: SECRET}) as answer:
            assert answer.status == 400
    assert recorder.texts == []
    assert str(ANNA) not in caplog.text


async def test_max_is_neither_rate_limited_nor_given_a_cookie_nor_asked_for_csrf() -> None:
    recorder = Recorder()
    async with serve(create_app(services(receiver_of(recorder)))) as http:
        for number in range(5):  # the limit is 2 a minute for browsers here
            async with http.post(
                PATH, json=message(f"m{number}", str(number)), headers={SECRET_HEADER: SECRET}
            ) as answer:
                assert answer.status == 200
                assert BROWSER_COOKIE not in answer.cookies
    assert recorder.texts == ["0", "1", "2", "3", "4"]


# --- acknowledgement, once each, one person at a time ---------------------------------------


async def test_a_slow_update_is_acknowledged_while_it_goes_on_and_a_stop_waits_for_it() -> None:
    recorder = Recorder()
    recorder.gate = asyncio.Event()
    receiver = receiver_of(recorder, ack_seconds=0.1)
    async with serve(create_app(services(receiver))) as http:
        assert await post(http, message("m1", "slow")) == 200
        assert receiver.running == 1 and recorder.texts == []
        asyncio.get_running_loop().call_later(0.1, recorder.gate.set)
        await receiver.drain(5)
    assert recorder.texts == ["slow"]


async def test_the_same_update_posted_to_two_workers_sharing_the_ledger_is_handled_once() -> None:
    recorder = Recorder()
    ledger = MemoryUpdateLedger()  # what Redis is to several processes
    first, second = receiver_of(recorder, ledger), receiver_of(recorder, ledger)
    async with (
        serve(create_app(services(first))) as one,
        serve(create_app(services(second))) as two,
    ):
        assert await post(one, message("m1", "hello")) == 200
        assert await post(two, message("m1", "hello")) == 200
        assert await post(one, message("m1", "hello")) == 200
    assert recorder.texts == ["hello"]


async def test_one_person_s_updates_on_two_workers_are_handled_one_at_a_time() -> None:
    recorder = Recorder()
    recorder.gate = asyncio.Event()
    ledger, isolation = MemoryUpdateLedger(), SimpleEventIsolation()  # Redis's, shared
    first = receiver_of(recorder, ledger, ack_seconds=0, isolation=isolation)
    second = receiver_of(recorder, ledger, ack_seconds=0, isolation=isolation)
    async with (
        serve(create_app(services(first))) as one,
        serve(create_app(services(second))) as two,
    ):
        assert await post(one, message("m1", "a")) == 200
        assert await post(two, message("m2", "b")) == 200
        await asyncio.sleep(0.1)
        assert recorder.busy == 1  # the second waits for the person's lock
        recorder.gate.set()
        await first.drain(5)
        await second.drain(5)
    assert sorted(recorder.texts) == ["a", "b"] and not recorder.overlapped


async def test_without_redis_one_person_s_updates_on_one_worker_are_handled_one_at_a_time() -> (
    None
):
    # Review: bot.max.once_each passes shared_isolation(storage), None without Redis, and the
    # receiver starts a task per request: the person's lock falls back to an in-process one.
    isolation = shared_isolation(MemoryStorage())
    assert isolation is None
    recorder = Recorder()
    recorder.gate = asyncio.Event()
    receiver = receiver_of(recorder, ack_seconds=0, isolation=isolation)
    async with serve(create_app(services(receiver))) as http:
        assert await post(http, message("m1", "a")) == 200
        assert await post(http, message("m2", "b")) == 200
        assert await post(http, message("m3", "c", user=ANNA + 1)) == 200
        await asyncio.sleep(0.1)
        assert recorder.busy == 2  # Anna's second waits; another person does not
        recorder.gate.set()
        await receiver.drain(5)
    assert sorted(recorder.texts) == ["a", "b", "c"]
    assert recorder.texts.index("a") < recorder.texts.index("b")


async def test_without_redis_the_person_locks_of_the_webhook_are_freed() -> None:
    # Review: the in-process lock (aiogram's SimpleEventIsolation) kept a lock for every
    # person ever seen: memory grew with every MAX user who wrote to the bot.
    recorder = Recorder()
    receiver = receiver_of(recorder, ack_seconds=0, isolation=None)
    once = cast(OnceEach, receiver._handle_update)
    async with serve(create_app(services(receiver))) as http:
        for person in range(60):
            assert await post(http, message(f"m{person}", str(person), user=ANNA + person)) == 200
        await receiver.drain(5)
    assert len(recorder.texts) == 60
    assert len(once._isolation._locks) == 0  # type: ignore[attr-defined]


class Subscriptions:
    """MAX's POST /subscriptions answering each call with the next code (200: subscribed)."""

    def __init__(self, *codes: int) -> None:
        self.codes = list(codes)

    async def subscribe(self, url: str, update_types: object, secret: str) -> None:
        code = self.codes.pop(0)
        if code != 200:
            raise MaxApiError(code, "refused" if code < 500 else "away")


def webhook_settings() -> Settings:
    return Settings(
        _env_file=None,
        max={"token": "t", "webhook_url": "https://x.example/max/u", "webhook_secret": SECRET},
        web={"enabled": True},
    )


async def test_a_subscription_refused_after_the_start_marks_the_process_not_ready(
    caplog: pytest.LogCaptureFixture,
) -> None:
    # Review: MAX away at the start (503), then refusing (400): the retry used to log one
    # error and stop with readyz green, MAX silently dead for this process.
    running = MaxRunning(webhook_settings(), cast(MaxapiClient, Subscriptions(503, 400)))
    await running.subscribe()  # the start goes on; the retry runs in the background
    assert running.retrying is not None
    running.ready()  # not refused yet
    with caplog.at_level(logging.ERROR, logger="bot.max"):
        await asyncio.wait_for(running.retrying, 10)
    assert "cannot subscribe MAX__WEBHOOK_URL at MAX (400)" in caplog.text
    receiver = receiver_of(Recorder())

    async def ready() -> None:
        running.ready()

    async with serve(create_app(replace(services(receiver), ready=ready))) as http:
        response = await http.get("/readyz")
        assert response.status == 503
        assert await response.json() == {
            "status": "unavailable",
            "max": "webhook subscription refused",
        }
        assert (await http.get("/healthz")).status == 200


async def test_the_web_front_s_readyz_asks_the_max_front_too(tmp_path: Path) -> None:
    # bot.web.build_web_services: the database's ping, then MaxRunning.ready.
    running = MaxRunning(webhook_settings(), cast(MaxapiClient, Subscriptions()))
    async with web_stack(tmp_path, max_ready=running.ready) as stack:
        ready = await stack.client.get("/readyz")
        assert ready.status == 200
        running.refused = "MAX refused it"
        refused = await stack.client.get("/readyz")
        assert refused.status == 503
        assert (await refused.json())["max"] == "webhook subscription refused"


async def test_a_subscription_that_succeeds_on_a_retry_leaves_the_process_ready() -> None:
    running = MaxRunning(webhook_settings(), cast(MaxapiClient, Subscriptions(429, 200)))
    await running.subscribe()
    assert running.retrying is not None
    await asyncio.wait_for(running.retrying, 10)
    running.ready()
    assert running.refused is None


# --- with MAX (the emulator) ------------------------------------------------------------------


async def test_max_posts_to_the_subscribed_url_with_the_secret_and_again_after_a_failure(
    emulator: MaxApiEmulator, client: MaxapiClient
) -> None:
    recorder = Recorder()
    recorder.fail = 1  # the first delivery fails: 503, the ledger lets it go
    receiver = receiver_of(recorder)
    async with serve(create_app(services(receiver))) as http:
        url = str(http.make_url(PATH))
        await client.subscribe(url, UPDATE_TYPES, SECRET)
        assert await client.subscriptions() == [url]
        [subscription] = emulator.subscriptions.values()
        assert (subscription.secret, subscription.update_types) == (SECRET, list(UPDATE_TYPES))

        emulator.user(ANNA, "Anna").send("5")
        for _ in range(100):
            if emulator.delivered(0):
                break
            await asyncio.sleep(0.05)
    assert [(d.attempt, d.status) for d in emulator.deliveries] == [(1, 503), (2, 200)]
    assert recorder.texts == ["5"]
    # Long polling gets nothing while subscribed (MAX: it does not work then).
    assert (await client.updates(None, 0)).updates == []


async def test_a_refused_delivery_is_tried_again_on_max_s_schedule(
    emulator: MaxApiEmulator, client: MaxapiClient
) -> None:
    recorder = Recorder()
    async with serve(create_app(services(receiver_of(recorder)))) as http:
        # A subscription with a secret the endpoint does not know: every attempt gets 401.
        await client.subscribe(str(http.make_url(PATH)), UPDATE_TYPES, "another-secret")
        emulator.user(ANNA, "Anna").send("lost")
        for _ in range(100):
            if len(emulator.deliveries) == 4:
                break
            await asyncio.sleep(0.05)
    assert [d.status for d in emulator.deliveries] == [401] * 4  # the first and 3 retries
    assert recorder.texts == []


async def test_polling_deletes_a_subscription_left_behind_so_that_polling_works(
    emulator: MaxApiEmulator, client: MaxapiClient
) -> None:
    await client.subscribe("https://old.example/max/updates", UPDATE_TYPES, SECRET)
    await leave_webhook(client)
    assert emulator.subscriptions == {}
    emulator.user(ANNA, "Anna").send("polled")
    assert [u["message"]["body"]["text"] for u in (await client.updates(None, 0)).updates] == [
        "polled"
    ]


# --- settings -------------------------------------------------------------------------------


def test_the_max_webhook_needs_the_web_server_and_a_max_token() -> None:
    url = "https://otklik.example/max/updates"
    with pytest.raises(ValidationError, match="WEB__ENABLED"):
        Settings(_env_file=None, max={"token": "t", "webhook_url": url})
    with pytest.raises(ValidationError, match="MAX__TOKEN"):
        Settings(_env_file=None, max={"webhook_url": url}, web={"enabled": True})
    settings = Settings(
        _env_file=None, max={"token": "t", "webhook_url": url}, web={"enabled": True}
    )
    assert settings.max.webhook_url == url


@pytest.mark.parametrize(
    "url", ["https://x.example/telegram/updates", "https://x.example/max/", "ftp://x/max/u",
            "https://x.example/max/u?k=1"],
)  # fmt: skip
def test_a_max_webhook_url_outside_the_max_path_is_refused(url: str) -> None:
    with pytest.raises(ValidationError, match="webhook_url"):
        Settings(_env_file=None, max={"token": "t", "webhook_url": url}, web={"enabled": True})


@pytest.mark.parametrize("secret", ["abcd", "with_underscore", "x" * 257, "пароль-1"])
def test_a_secret_max_would_refuse_is_refused_at_start(secret: str) -> None:
    with pytest.raises(ValidationError, match="MAX's rule"):
        Settings(_env_file=None, max={"webhook_secret": secret})


def test_without_a_configured_secret_every_worker_derives_the_same_one_max_accepts() -> None:
    privacy = {"pepper": PEPPER.decode()}
    first = max_webhook_secret(Settings(_env_file=None, privacy=privacy))
    second = max_webhook_secret(Settings(_env_file=None, privacy=privacy))
    assert first == second and len(first) == 64
    assert PEPPER.decode() not in first
    Settings(_env_file=None, max={"webhook_secret": first})  # within MAX's rule
    given = Settings(_env_file=None, privacy=privacy, max={"webhook_secret": SecretStr(SECRET)})
    assert max_webhook_secret(given) == SECRET
