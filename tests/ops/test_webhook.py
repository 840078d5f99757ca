"""Webhook mode (issue 14 item 1): the secret, acknowledgement, and each update id handled once,
in one process (memory) and across processes (Redis)."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Callable
from datetime import timedelta
from typing import Any

import pytest
from aiogram import Bot, Dispatcher, Router
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.telegram import TelegramAPIServer
from aiogram.types import Message
from pydantic import SecretStr, ValidationError
from redis.asyncio import Redis

from bot.settings import Settings
from bot.webhook import SECRET_HEADER, WebhookReceiver, set_webhook, webhook_secret
from services import metrics
from storage.update_ledger import Claim, MemoryUpdateLedger, RedisUpdateLedger, UpdateLedger
from tests.botapi.emulator import BotApiEmulator
from tests.storage.test_fsm_redis import redis, redis_url  # noqa: F401  (fixture)
from tests.web.conftest import Client, serve
from web.app import WebServices, create_app
from web.security import BROWSER_COOKIE, Signer

PATH = "/telegram/updates"
SECRET = "s3cret_token-for-tests"
BOT_ID = 123456


def update(update_id: int, text: str = "привет", user: int = 700) -> dict[str, Any]:
    return {
        "update_id": update_id,
        "message": {
            "message_id": update_id,
            "date": 1_700_000_000,
            "chat": {"id": user, "type": "private", "first_name": "A"},
            "from": {"id": user, "is_bot": False, "first_name": "A"},
            "text": text,
        },
    }


class Handled:
    """A dispatcher whose message handler records texts; `gate` holds it, `fail` breaks it."""

    def __init__(self) -> None:
        self.texts: list[str] = []
        self.gate: asyncio.Event | None = None
        self.fail = 0
        router = Router()
        router.message.register(self._on_message)
        self.dispatcher = Dispatcher()
        self.dispatcher.include_router(router)

    async def _on_message(self, message: Message) -> None:
        if self.gate is not None:
            await self.gate.wait()
        if self.fail:
            self.fail -= 1
            raise RuntimeError("handler broke")
        self.texts.append(message.text or "")


class DownLedger:
    async def claim(self, update_id: int) -> Claim:
        raise ConnectionError("redis down")

    async def renew(self, update_id: int) -> None:
        raise ConnectionError("redis down")

    async def finish(self, update_id: int) -> None:
        raise ConnectionError("redis down")

    async def release(self, update_id: int) -> None:
        raise ConnectionError("redis down")


async def no_forms_ready() -> None:
    return None


def services(receiver: WebhookReceiver | None, **values: Any) -> WebServices:
    return WebServices(
        forms=None,  # type: ignore[arg-type]  # no form is asked for here
        signer=Signer(b"k" * 32),
        ready=no_forms_ready,
        telegram=None if receiver is None else (PATH, receiver.handle),
        rate_per_minute=2,
        **values,
    )


@pytest.fixture
async def bot() -> AsyncIterator[Bot]:
    # Never called: the handlers here do not talk to Telegram.
    bot = Bot(f"{BOT_ID}:TEST")
    yield bot
    await bot.session.close()


Serve = Callable[..., Any]


@pytest.fixture
def receiver_of(bot: Bot) -> Callable[..., WebhookReceiver]:
    def make(
        handled: Handled, ledger: UpdateLedger | None = None, ack_seconds: float = 5.0
    ) -> WebhookReceiver:
        return WebhookReceiver(
            bot,
            handled.dispatcher,
            secret=SECRET,
            ledger=ledger or MemoryUpdateLedger(),
            ack_seconds=ack_seconds,
        )

    return make


async def post(client: Client, body: dict[str, Any], secret: str | None = SECRET) -> int:
    headers = {} if secret is None else {SECRET_HEADER: secret}
    async with client.post(PATH, json=body, headers=headers) as response:
        return response.status


# --- the secret -------------------------------------------------------------------------------


@pytest.mark.parametrize("secret", [None, "", "wrong", SECRET + "x", SECRET.upper()])
async def test_a_missing_or_wrong_secret_gets_401_and_nothing_is_handled(
    receiver_of: Callable[..., WebhookReceiver], secret: str | None
) -> None:
    handled = Handled()
    receiver = receiver_of(handled)
    async with serve(create_app(services(receiver))) as client:
        assert await post(client, update(1, "forged"), secret) == 401
        await receiver.drain()
        assert handled.texts == []
        # Nor was the id taken: Telegram's own delivery of update 1 is handled.
        assert await post(client, update(1, "real")) == 200
    assert handled.texts == ["real"]


async def test_telegram_is_neither_rate_limited_nor_given_a_cookie_nor_asked_for_csrf(
    receiver_of: Callable[..., WebhookReceiver],
) -> None:
    handled = Handled()
    async with serve(create_app(services(receiver_of(handled)))) as client:
        for update_id in range(1, 6):  # the limit is 2 a minute for browsers here
            async with client.post(
                PATH, json=update(update_id), headers={SECRET_HEADER: SECRET}
            ) as response:
                assert response.status == 200
                assert BROWSER_COOKIE not in response.cookies
    assert len(handled.texts) == 5


async def test_a_body_that_is_not_an_update_gets_400(
    receiver_of: Callable[..., WebhookReceiver],
) -> None:
    handled = Handled()
    async with serve(create_app(services(receiver_of(handled)))) as client:
        assert await post(client, {"message": {}}) == 400
        async with client.post(
            PATH, data=b"not json", headers={SECRET_HEADER: SECRET}
        ) as response:
            assert response.status == 400
    assert handled.texts == []


# --- acknowledgement ------------------------------------------------------------------------


async def test_an_ordinary_update_is_acknowledged_after_it_was_handled(
    receiver_of: Callable[..., WebhookReceiver],
) -> None:
    handled = Handled()
    async with serve(create_app(services(receiver_of(handled, ack_seconds=30)))) as client:
        assert await post(client, update(1, "one")) == 200
        assert handled.texts == ["one"]  # at the moment of the 200, not later


async def test_with_ack_zero_the_update_is_acknowledged_at_once_and_handled_after(
    receiver_of: Callable[..., WebhookReceiver],
) -> None:
    handled = Handled()
    handled.gate = asyncio.Event()
    receiver = receiver_of(handled, ack_seconds=0)
    async with serve(create_app(services(receiver))) as client:
        assert await post(client, update(1, "one")) == 200
        assert handled.texts == [] and receiver.running == 1
        handled.gate.set()
        await receiver.drain()
    assert handled.texts == ["one"]


async def test_a_failed_update_is_refused_and_handled_when_telegram_delivers_it_again(
    receiver_of: Callable[..., WebhookReceiver],
) -> None:
    handled = Handled()
    handled.fail = 1  # no error handler: the error escapes, as a bug in a router would
    async with serve(create_app(services(receiver_of(handled)))) as client:
        assert await post(client, update(1, "one")) == 503
        assert await post(client, update(1, "one")) == 200
    assert handled.texts == ["one"]


async def test_an_unavailable_ledger_refuses_the_update_with_503_without_handling_it(
    receiver_of: Callable[..., WebhookReceiver],
) -> None:
    handled = Handled()
    async with serve(create_app(services(receiver_of(handled, DownLedger())))) as client:
        assert await post(client, update(1)) == 503
    assert handled.texts == []


# --- an update id seen twice is handled once -------------------------------------------------


async def test_the_same_update_posted_twice_is_handled_once(
    receiver_of: Callable[..., WebhookReceiver],
) -> None:
    handled = Handled()
    async with serve(create_app(services(receiver_of(handled)))) as client:
        assert await post(client, update(7, "answer")) == 200
        assert await post(client, update(7, "answer")) == 200
        assert await post(client, update(8, "next")) == 200
    assert handled.texts == ["answer", "next"]


async def test_a_repeat_while_the_first_is_handled_gets_503_and_is_handled_once(
    receiver_of: Callable[..., WebhookReceiver],
) -> None:
    handled = Handled()
    handled.gate = asyncio.Event()
    receiver = receiver_of(handled, ack_seconds=0)
    async with serve(create_app(services(receiver))) as client:
        assert await post(client, update(7, "answer")) == 200
        assert await post(client, update(7, "answer")) == 503  # Telegram tries again later
        handled.gate.set()
        await receiver.drain()
        assert await post(client, update(7, "answer")) == 200
        await receiver.drain()
    assert handled.texts == ["answer"]


@pytest.fixture
async def redis_ledgers(redis: Redis) -> AsyncIterator[Callable[[], RedisUpdateLedger]]:  # noqa: F811
    """Ledgers of separate "processes": each on its own connection, one test-private prefix."""
    prefix = f"otklik-test-update-{uuid.uuid4().hex[:12]}"
    clients: list[Redis] = []

    def make() -> RedisUpdateLedger:
        client = Redis.from_url(redis_url())
        clients.append(client)
        return RedisUpdateLedger(client, BOT_ID, prefix=prefix)

    yield make
    for client in clients:
        await client.aclose()
    keys = [key async for key in redis.scan_iter(f"{prefix}:*")]
    if keys:
        await redis.delete(*keys)


@pytest.mark.redis
async def test_two_processes_sharing_redis_handle_a_repeated_update_once(
    receiver_of: Callable[..., WebhookReceiver],
    redis_ledgers: Callable[[], RedisUpdateLedger],
) -> None:
    first, second = Handled(), Handled()
    async with (
        serve(create_app(services(receiver_of(first, redis_ledgers())))) as one,
        serve(create_app(services(receiver_of(second, redis_ledgers())))) as two,
    ):
        assert await post(one, update(41, "a")) == 200
        assert await post(two, update(41, "a")) == 200  # the repeat, to the other worker
        assert await post(two, update(42, "b")) == 200
        assert await post(one, update(42, "b")) == 200
    assert first.texts + second.texts == ["a", "b"]
    assert first.texts == ["a"] and second.texts == ["b"]


async def test_with_memory_ledgers_two_processes_would_both_handle_a_repeat(
    receiver_of: Callable[..., WebhookReceiver],
) -> None:
    """Why several workers need Redis (the README says so): memory is per process."""
    first, second = Handled(), Handled()
    async with (
        serve(create_app(services(receiver_of(first)))) as one,
        serve(create_app(services(receiver_of(second)))) as two,
    ):
        assert await post(one, update(41, "a")) == 200
        assert await post(two, update(41, "a")) == 200
    assert first.texts == second.texts == ["a"]


# --- the ledgers ----------------------------------------------------------------------------


async def _claims_once(ledger: UpdateLedger, other: UpdateLedger) -> None:
    assert await ledger.claim(1) is Claim.TAKEN
    assert await other.claim(1) is Claim.BUSY
    await ledger.finish(1)
    assert await other.claim(1) is Claim.DONE
    assert await other.claim(2) is Claim.TAKEN
    await other.release(2)  # failed: the next delivery takes it
    assert await ledger.claim(2) is Claim.TAKEN


async def test_the_memory_ledger_hands_each_update_to_one_request() -> None:
    ledger = MemoryUpdateLedger()
    await _claims_once(ledger, ledger)


@pytest.mark.redis
async def test_the_redis_ledger_hands_each_update_to_one_process(
    redis_ledgers: Callable[[], RedisUpdateLedger],
) -> None:
    await _claims_once(redis_ledgers(), redis_ledgers())


@pytest.mark.redis
async def test_redis_claims_and_marks_expire_and_name_no_person(
    redis: Redis,  # noqa: F811
    redis_ledgers: Callable[[], RedisUpdateLedger],
) -> None:
    ledger = redis_ledgers()
    prefix = ledger._prefix
    await ledger.claim(5)
    await ledger.claim(6)
    await ledger.finish(6)
    claim_ttl, done_ttl = await redis.ttl(f"{prefix}:5"), await redis.ttl(f"{prefix}:6")
    assert 0 < claim_ttl <= 15
    assert 24 * 3600 < done_ttl <= 25 * 3600
    assert sorted(await redis.keys(f"{prefix}:*")) == [
        f"{prefix}:5".encode(),
        f"{prefix}:6".encode(),
    ]


async def test_a_claim_of_a_killed_worker_expires_so_a_redelivery_is_handled() -> None:
    now = [0.0]
    ledger = MemoryUpdateLedger(claim_ttl=timedelta(minutes=5), clock=lambda: now[0])
    assert await ledger.claim(1) is Claim.TAKEN
    now[0] = 299.0
    assert await ledger.claim(1) is Claim.BUSY
    now[0] = 301.0
    assert await ledger.claim(1) is Claim.TAKEN


@pytest.mark.redis
async def test_a_redis_claim_lives_while_its_holder_renews_it_and_is_free_once_it_stops(
    redis: Redis,  # noqa: F811
    redis_ledgers: Callable[[], RedisUpdateLedger],
) -> None:
    """A worker killed mid-update stops renewing: another takes the redelivery within the
    claim's seconds, not minutes; a renewal by anyone but the holder extends nothing."""
    holder, other = redis_ledgers(), redis_ledgers()
    name = f"{holder._prefix}:9"
    assert await holder.claim(9) is Claim.TAKEN
    await redis.pexpire(name, 1_000)
    await other.renew(9)  # not its claim
    assert await redis.pttl(name) <= 1_000
    await holder.renew(9)
    assert await redis.pttl(name) > 10_000
    await redis.delete(name)  # the holder was killed: nobody renewed, the claim ran out
    assert await other.claim(9) is Claim.TAKEN
    await redis.pexpire(name, 1_000)
    await holder.renew(9)  # the dead claim's value is gone: the new holder's stays as it is
    assert await redis.pttl(name) <= 1_000


@pytest.mark.redis
async def test_a_worker_whose_claim_ran_out_cannot_release_or_finish_the_next_holders(
    redis: Redis,  # noqa: F811
    redis_ledgers: Callable[[], RedisUpdateLedger],
) -> None:
    """A worker stalled past its claim (renewals failed, Redis slow) comes back after another
    took the redelivery: its release or finish leaves the other's claim as it is."""
    late, holder = redis_ledgers(), redis_ledgers()
    prefix = late._prefix
    for update_id in (11, 12):
        assert await late.claim(update_id) is Claim.TAKEN
        await redis.delete(f"{prefix}:{update_id}")  # ran out
        assert await holder.claim(update_id) is Claim.TAKEN
    theirs = {n: await redis.get(f"{prefix}:{n}") for n in (11, 12)}
    await late.release(11)  # its handling failed
    await late.finish(12)  # its handling ended
    for update_id in (11, 12):
        assert await redis.get(f"{prefix}:{update_id}") == theirs[update_id]
        assert 0 < await redis.ttl(f"{prefix}:{update_id}") <= 15
        assert await late.claim(update_id) is Claim.BUSY  # still being handled
    await holder.finish(12)
    await late.release(12)  # a late release after the other finished it
    assert await late.claim(12) is Claim.DONE
    # A claim that ran out with nobody taking it: the worker that handled it marks it done.
    assert await late.claim(13) is Claim.TAKEN
    await redis.delete(f"{prefix}:13")
    await late.finish(13)
    assert await holder.claim(13) is Claim.DONE


class RenewCounting(MemoryUpdateLedger):
    def __init__(self) -> None:
        super().__init__()
        self.renewed = asyncio.Event()

    async def renew(self, update_id: int) -> None:
        await super().renew(update_id)
        self.renewed.set()


async def test_the_receiver_renews_the_claim_of_an_update_while_it_is_handled(
    bot: Bot,
) -> None:
    handled, ledger = Handled(), RenewCounting()
    handled.gate = asyncio.Event()
    receiver = WebhookReceiver(
        bot, handled.dispatcher, secret=SECRET, ledger=ledger, ack_seconds=0, renew_every=0.01
    )
    async with serve(create_app(services(receiver))) as client:
        assert await post(client, update(3, "slow")) == 200
        async with asyncio.timeout(5):
            await ledger.renewed.wait()  # still being handled: the claim is kept alive
        handled.gate.set()
        await receiver.drain()
    assert handled.texts == ["slow"]
    assert await ledger.claim(3) is Claim.DONE


async def test_the_memory_ledger_forgets_the_oldest_beyond_its_bound() -> None:
    ledger = MemoryUpdateLedger(remember=2)
    for update_id in (1, 2, 3):
        await ledger.claim(update_id)
        await ledger.finish(update_id)
    assert await ledger.claim(3) is Claim.DONE
    assert await ledger.claim(1) is Claim.TAKEN


# --- settings, secret, setWebhook, /metrics ----------------------------------------------------


def test_the_webhook_needs_the_web_server() -> None:
    with pytest.raises(ValidationError, match="WEB__ENABLED"):
        Settings(bot={"webhook_url": "https://x.example/telegram/u"})
    settings = Settings(bot={"webhook_url": "https://x.example/telegram/u"}, web={"enabled": True})
    assert settings.bot.webhook_url == "https://x.example/telegram/u"
    assert Settings(bot={"webhook_url": ""}).bot.webhook_url is None  # empty: polling


@pytest.mark.parametrize(
    "url",
    [
        "ftp://x.example/telegram/u",
        "https://x.example/",
        "https://x.example/telegram/",
        "https://x.example/hook",
        "https://x.example/telegram/u?token=1",
    ],
)
def test_a_webhook_url_outside_telegram_path_is_refused(url: str) -> None:
    with pytest.raises(ValidationError):
        Settings(bot={"webhook_url": url}, web={"enabled": True})


@pytest.mark.parametrize("secret", ["has space", "ключ", "x" * 257, "a/b"])
def test_a_secret_telegram_would_refuse_is_refused_at_start(secret: str) -> None:
    with pytest.raises(ValidationError):
        Settings(bot={"webhook_secret": secret})


def test_without_a_configured_secret_every_worker_derives_the_same_one_from_the_pepper() -> None:
    def settings(pepper: str) -> Settings:
        return Settings(privacy={"pepper": pepper})

    one, same, other = (
        webhook_secret(settings(p)) for p in ("pepper-a" * 4, "pepper-a" * 4, "b" * 32)
    )
    assert one == same != other
    assert "pepper-a" not in one and len(one) == 64
    configured = Settings(
        bot={"webhook_secret": SecretStr("mine_1")}, privacy={"pepper": "p" * 32}
    )
    assert webhook_secret(configured) == "mine_1"


async def test_set_webhook_sends_the_secret_the_used_update_types_and_keeps_pending() -> None:
    handled = Handled()
    async with BotApiEmulator(token=f"{BOT_ID}:TEST") as api:
        bot = Bot(api.token, session=AiohttpSession(api=TelegramAPIServer.from_base(api.base_url)))
        settings = Settings(
            bot={"webhook_url": "https://x.example/telegram/u", "webhook_secret": SECRET},
            web={"enabled": True},
        )
        try:
            await set_webhook(bot, handled.dispatcher, settings)
        finally:
            await bot.session.close()
        [call] = api.calls("setWebhook")
    assert call.params["url"] == "https://x.example/telegram/u"
    assert call.params["secret_token"] == SECRET
    assert call.params["allowed_updates"] == ["message"]
    assert call.params["drop_pending_updates"] is False
    assert api.webhook_url == "https://x.example/telegram/u"


async def test_metrics_are_served_on_the_web_server_only_when_enabled() -> None:
    metrics.observe_update("message", 0.01)
    app = create_app(services(None, metrics=metrics.exposition))
    async with serve(app) as client, client.get("/metrics") as response:
        assert response.status == 200
        assert response.headers["Content-Type"].startswith("text/plain")
        assert "otklik_updates_total" in await response.text()
        assert BROWSER_COOKIE not in response.cookies
    async with serve(create_app(services(None))) as client, client.get("/metrics") as response:
        assert response.status == 404


def test_metrics_on_web_puts_the_exposition_on_the_web_server_services() -> None:
    from bot.web import web_services

    pepper = {"pepper": "p" * 32}
    on = Settings(metrics={"on_web": True}, privacy=pepper)
    off = Settings(privacy=pepper)
    kept = {"forms": None, "ready": no_forms_ready}
    assert web_services(on, **kept).metrics is metrics.exposition
    assert web_services(off, **kept).metrics is None
