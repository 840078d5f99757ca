"""Three real `otklik run` workers in webhook mode on PostgreSQL and Redis (issue 14, "done
when"): the test plays Telegram for 30 citizens, kills one worker with SIGKILL while they
answer, then the scheduler leader too, and checks that nothing was lost or done twice.

Each worker serves its own port; the test's feeder plays Telegram behind a load balancer:
every update goes to the next worker in turn, up to 40 requests at once, with the secret
header, and is delivered again (to the next worker) until a 200 comes back, as Telegram does.
A worker that was killed refuses connections: its updates go to the others, and an update it
was handling is free again once its claim in Redis runs out (15 s, storage/update_ledger.py).

The digest is arranged to fall due (a crontab naming one minute) half a second after the leader
is killed: the process elected next sends it, exactly once.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
import time
import uuid
from collections import Counter
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, Final
from zoneinfo import ZoneInfo

import aiohttp
import pytest
from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine

from bench.workers_bench import feed
from storage.database import create_engine
from storage.leases import advisory_key
from storage.migrate import run_upgrade
from tests.botapi.emulator import BotApiEmulator, EmulatedUser
from tests.e2e.conftest import READY_TIMEOUT_S, BotLauncher, BotProcess
from tests.e2e.test_webhook import HEADER, REDIS, SECRET, THANKS_RU, free_port
from tests.storage.conftest import _admin_engine, pg_url

pytestmark = [pytest.mark.e2e, pytest.mark.postgres, pytest.mark.redis]

WORKERS: Final = 3
CITIZENS: Final = 30
ZONE_NAME: Final = "Europe/Moscow"
#: A step may wait for a killed worker's claim to run out (15 s) and a redelivery.
STEP_S: Final = 45.0
#: A worker importing aiogram, SQLAlchemy and matplotlib on a loaded two-core machine.
START_S: Final = 150.0
#: Beyond the other workers' start (timed on the first one): the citizens' dialogs under way.
LOAD_S: Final = 15.0
BUDGET_S: Final = 420.0
DIGEST_RU: Final = "Сводка за месяц"
#: Fresh per run: Redis is shared by runs, and update ids restart at 1 in each.
BOT_ID = random.randrange(10**8, 10**9)
OFFICER = random.randrange(10**9, 2 * 10**9)


@pytest.fixture(autouse=True)
def e2e_budget() -> Iterator[None]:
    """This test waits for a whole minute of the clock (the digest): a budget of its own."""
    started = time.monotonic()
    yield
    elapsed = time.monotonic() - started
    assert elapsed < BUDGET_S, f"e2e test took {elapsed:.1f}s, budget {BUDGET_S}s"


@pytest.fixture
async def api() -> AsyncIterator[BotApiEmulator]:
    async with BotApiEmulator(token=f"{BOT_ID}:E2E-WORKERS-TOKEN") as emulator:
        yield emulator


@pytest.fixture
async def pg_database() -> AsyncIterator[str]:
    """A throwaway PostgreSQL database, migrated once before any worker starts (as compose's
    `migrate` step does), installed long ago so that last month's digest is due."""
    admin = await _admin_engine()
    name = f"otklik_w_{uuid.uuid4().hex[:16]}"
    autocommit = admin.execution_options(isolation_level="AUTOCOMMIT")
    async with autocommit.connect() as connection:
        await connection.execute(text(f'CREATE DATABASE "{name}"'))
    url = make_url(pg_url()).set(database=name).render_as_string(hide_password=False)
    engine = create_engine(url)
    try:
        async with engine.begin() as connection:
            await connection.run_sync(lambda sync: run_upgrade(sync, "head"))
            await connection.execute(
                text("INSERT INTO installation (id, installed_on) VALUES (1, '2020-01-01')")
            )
        yield url
    finally:
        await engine.dispose()
        async with autocommit.connect() as connection:
            await connection.execute(text(f'DROP DATABASE "{name}" WITH (FORCE)'))
        await admin.dispose()


@dataclass
class Worker:
    process: BotProcess
    port: int

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/telegram/updates-e2e"

    @property
    def alive(self) -> bool:
        return self.process.returncode is None


@dataclass
class Balancer:
    """Telegram and a load balancer: each update to the next worker in turn, again until 200."""

    api: BotApiEmulator
    http: aiohttp.ClientSession
    workers: list[Worker]
    statuses: Counter[int | str] = field(default_factory=Counter)
    delivered: list[dict[str, Any]] = field(default_factory=list)
    posted: int = 0
    closing: bool = False
    stopped: bool = False
    abandoned: list[dict[str, Any]] = field(default_factory=list)
    #: Update ids posted to each worker (by port) and not answered yet.
    in_flight: dict[int, set[int]] = field(default_factory=dict)
    #: Update ids whose worker took the request and died before answering it (the connection
    #: broke mid-request, not refused): cut off by a kill, whenever it came.
    broken: set[int] = field(default_factory=set)
    #: Every post: update id, the worker's port and what came back (shown when a check fails).
    attempts: list[tuple[int, int, int | str]] = field(default_factory=list)

    async def deliver(self, update: dict[str, Any]) -> None:
        # Telegram keeps trying for a day; here until the test ends.
        while not (self.closing and self.stopped):
            worker = self.workers[self.posted % len(self.workers)]
            self.posted += 1
            waiting = self.in_flight.setdefault(worker.port, set())
            waiting.add(update["update_id"])
            try:
                async with self.http.post(
                    worker.url, json=update, headers={HEADER: SECRET}
                ) as response:
                    status: int | str = response.status
            except aiohttp.ClientConnectorError:
                status = "refused"  # a dead worker: Telegram tries again
            except (aiohttp.ClientError, OSError):
                status = "broken"  # the worker died with it: Telegram tries again
                self.broken.add(update["update_id"])
            finally:
                waiting.discard(update["update_id"])
            self.statuses[status] += 1
            self.attempts.append((update["update_id"], worker.port, status))
            if status == 200:
                self.delivered.append(update)
                return
            await asyncio.sleep(0.2)
        self.abandoned.append(update)

    async def run(self) -> None:
        await feed(self.api, self.deliver, lambda: self.closing, idle_s=0.01)


@dataclass
class LeaderWatch:
    """Samples, every 0.2 s, how many live workers report leading (the metrics gauge) and how
    many sessions hold the scheduler's advisory lock."""

    http: aiohttp.ClientSession
    workers: list[Worker]
    engine: AsyncEngine
    by_gauge: list[tuple[float, int]] = field(default_factory=list)
    by_lock: list[int] = field(default_factory=list)

    async def leaders(self) -> list[Worker]:
        leading = []
        for worker in [w for w in self.workers if w.alive]:
            with contextlib.suppress(aiohttp.ClientError, OSError):
                async with self.http.get(f"http://127.0.0.1:{worker.port}/metrics") as response:
                    body = await response.text()
                if "\notklik_scheduler_leader 1.0" in body:
                    leading.append(worker)
        return leading

    async def run(self) -> None:
        key = advisory_key("scheduler")
        high, low = (key >> 32) & 0xFFFFFFFF, key & 0xFFFFFFFF
        query = text(
            "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND granted"
            " AND database = (SELECT oid FROM pg_database WHERE datname = current_database())"
            " AND classid::bigint = :high AND objid::bigint = :low"
        )
        while True:
            self.by_gauge.append((time.monotonic(), len(await self.leaders())))
            async with self.engine.connect() as connection:
                self.by_lock.append(
                    int(await connection.scalar(query, {"high": high, "low": low}))
                )
            await asyncio.sleep(0.2)

    async def wait_for_one(self) -> Worker:
        deadline = time.monotonic() + READY_TIMEOUT_S
        while time.monotonic() < deadline:
            leaders = await self.leaders()
            if len(leaders) == 1:
                return leaders[0]
            await asyncio.sleep(0.1)
        raise AssertionError("no scheduler leader elected")


async def start_worker(launcher: BotLauncher, db_url: str, cron: str) -> Worker:
    """A worker on its own port; returns once it set its webhook (it serves from then on)."""
    port = free_port()
    url = f"http://127.0.0.1:{port}/telegram/updates-e2e"
    env = launcher.env(
        DB__URL=db_url,
        FSM__REDIS_URL=REDIS,
        BOT__WEBHOOK_URL=url,
        BOT__WEBHOOK_SECRET=SECRET,
        BOT__OFFICER_IDS=str(OFFICER),
        BODY__TIMEZONE=ZONE_NAME,
        REPORTS__DIGEST_CRON=cron,
        # Acknowledged only once handled, however slow the loaded machine: an update a killed
        # worker was handling is then always delivered again (none is acknowledged and lost).
        BOT__WEBHOOK_ACK_SECONDS="50",
        WEB__ENABLED="true",
        WEB__PORT=str(port),
        METRICS__ON_WEB="true",
    )
    worker = Worker(await launcher.spawn(env), port)
    return worker


async def until_serving(launcher: BotLauncher, *workers: Worker) -> None:
    deadline = time.monotonic() + START_S
    for worker in workers:
        while not launcher.api.calls("setWebhook", url=worker.url):
            if not worker.alive or time.monotonic() > deadline:
                pytest.fail(f"worker did not set its webhook:\n{worker.process.log_text()}")
            await asyncio.sleep(0.1)


#: What a citizen does on each screen of the post-service rating (its question's words).
SCREENS: Final = (
    ("Вопрос 1 из", "3"),
    ("Ваш вопрос решён?", "Нет"),
    ("Что помешало?", "Долго ждать результата"),
    ("Сколько раз вы обращались", "2"),
    ("Что пошло не так?", "Долго ждала"),
)
PICKED: Final = "☑️ Долго ждать результата"
#: The reply to a typed answer when no dialog is open.
NO_DIALOG: Final = "Сейчас опрос не идёт"


async def dialog(citizen: EmulatedUser) -> bool:
    """The post-service rating to its end, seven updates, five of them button presses, as a
    person does it: look at the screen, act on it, wait for it to change. An update cut off
    by a killed worker may come back (Telegram delivers it again) after the person moved on
    (a repeated /start begins the rating anew): the person answers whatever is shown.

    True once thanked; False when the last answer was stored by a worker killed before it
    could thank, so that its repeat found the dialog over ("no poll now")."""
    await asyncio.sleep(random.uniform(0, 3))  # people do not all start at the same instant
    await citizen.send_text("/start licensing_office")
    deadline = time.monotonic() + 4 * STEP_S
    acted: tuple[int, str, tuple[str, ...]] | None = None
    acted_at = time.monotonic()
    while True:
        message = await citizen.last_bot_message(timeout=STEP_S)
        assert time.monotonic() < deadline, f"{citizen.id} stuck on {message.text!r}, {acted}"
        shown = message.text or ""
        if THANKS_RU in shown:
            return True
        if NO_DIALOG in shown and acted is not None and "Что пошло не так?" in acted[1]:
            return False
        labels = tuple(button["text"] for button in message.buttons)
        screen = (message.message_id, shown, labels)
        if waiting_on(acted, screen) and time.monotonic() - acted_at < STEP_S:
            await asyncio.sleep(0.05)  # the press is on its way or being handled
            continue
        for words, reply in SCREENS:
            if words not in shown:
                continue
            if reply == "Долго ждала":
                await citizen.send_text(reply)
            elif reply == "Долго ждать результата" and PICKED in labels:
                await citizen.click("Готово", timeout=STEP_S)
            elif reply in labels or any(reply in label for label in labels):
                await citizen.click(reply, timeout=STEP_S)
            else:
                break  # the keyboard is not drawn yet
            acted, acted_at = screen, time.monotonic()
            break
        await asyncio.sleep(0.05)


def waiting_on(
    acted: tuple[int, str, tuple[str, ...]] | None, screen: tuple[int, str, tuple[str, ...]]
) -> bool:
    """Whether `screen` still shows the step the person acted on: unchanged, or the same
    question whose buttons were just taken away. A typed answer that ends the rating has its
    question's keyboard dropped before the thanks is sent: a person waits for the thanks, and
    does not type the answer again (the repeat would be told "no poll now", and that person
    then looked cut off by a kill although nothing was: CI failed on it)."""
    if acted is None:
        return False
    return screen == acted or (screen[:2] == acted[:2] and bool(acted[2]) and not screen[2])


def digest_cron(not_before: datetime) -> tuple[str, datetime]:
    """A crontab firing once, at the first whole minute from `not_before`, and that moment."""
    zone = ZoneInfo(ZONE_NAME)
    due = (not_before + timedelta(seconds=59)).replace(second=0, microsecond=0)
    local = due.astimezone(zone)
    return f"{local.minute} {local.hour} {local.day} {local.month} *", due


async def until(moment: datetime) -> None:
    await asyncio.sleep(max((moment - datetime.now(UTC)).total_seconds(), 0.0))


async def test_three_workers_lose_nothing_when_one_and_then_the_leader_are_killed(
    api: BotApiEmulator, launcher: BotLauncher, pg_database: str
) -> None:
    # The first worker becomes the scheduler leader. The digest's minute is chosen once its
    # start time is known, so that the others are serving and the dialogs under way by then;
    # the first leader is killed before that minute (and its own crontab names no minute in
    # range): only a leader elected after the kill can send the digest.
    spawned = time.monotonic()
    half_a_year = datetime.now(UTC) + timedelta(days=180)  # out of the deliveries' look-back
    never = f"0 0 {half_a_year.day} {half_a_year.month} *"
    first_leader = await start_worker(launcher, pg_database, never)
    await until_serving(launcher, first_leader)
    started_in = time.monotonic() - spawned
    cron, due = digest_cron(datetime.now(UTC) + timedelta(seconds=1.5 * started_in + LOAD_S))
    others = [await start_worker(launcher, pg_database, cron) for _ in range(WORKERS - 1)]
    await until_serving(launcher, *others)
    workers = [first_leader, *others]
    citizens = [
        api.user(OFFICER + 1 + i, f"Гражданин {i}", language_code="ru") for i in range(CITIZENS)
    ]
    watch_engine = create_engine(pg_database)
    async with aiohttp.ClientSession() as http:
        balancer = Balancer(api, http, workers)
        watch = LeaderWatch(http, workers, watch_engine)
        assert await watch.wait_for_one() is first_leader
        feeding = asyncio.create_task(balancer.run())
        watching = asyncio.create_task(watch.run())
        try:
            dialogs = asyncio.gather(*(dialog(citizen) for citizen in citizens))
            # Mid-load: a worker that does not lead is killed once a third of the updates of
            # all dialogs were acknowledged (or shortly before the digest, if load is slow).
            victim = others[0]
            while True:
                if (
                    len(balancer.delivered) >= CITIZENS * 7 // 3
                    or dialogs.done()
                    or datetime.now(UTC) >= due - timedelta(seconds=8)
                ):
                    break
                await asyncio.sleep(0.05)
            cut = set(balancer.in_flight.get(victim.port, set()))
            await victim.process.kill()
            killed_mid_load = not dialogs.done()
            # The leader dies half a second before the digest falls due (mid-load if the
            # dialogs still run): only a leader elected after it can send the digest.
            await until(due - timedelta(seconds=0.5))
            assert [w for w in await watch.leaders()] == [first_leader]
            cut |= balancer.in_flight.get(first_leader.port, set())
            await first_leader.process.kill()
            after_kill = len(api.requests)
            try:
                async with asyncio.timeout(4 * STEP_S):
                    thanked = await dialogs
            except TimeoutError:
                unfinished = [(c.id, [m.text for m in api.history(c.id)][-1:]) for c in citizens]
                raise AssertionError(
                    f"dialogs unfinished; delivered {len(balancer.delivered)}, waiting "
                    f"{api.pending_updates}, in flight {balancer.in_flight}, "
                    f"statuses {balancer.statuses}; last screens {unfinished}"
                ) from None
            survivor = next(w for w in workers if w.alive)
            deadline = time.monotonic() + 2 * STEP_S  # elected within the lease's renewal
            while not any(DIGEST_RU in (m.text or "") for m in api.history(OFFICER)):
                assert time.monotonic() < deadline, "no digest after the leader was killed"
                await asyncio.sleep(0.2)
            assert await watch.leaders() == [survivor]
            await asyncio.sleep(2)  # anything sent twice would come now
        finally:
            balancer.closing = balancer.stopped = True
            await feeding
            watching.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await watching
            await watch_engine.dispose()

    assert killed_mid_load
    assert balancer.abandoned == []  # every update was acknowledged in the end
    # Exactly one leader at any moment: never two by their gauges, nor two lock holders.
    assert max(count for _, count in watch.by_gauge) == 1
    assert max(watch.by_lock) == 1 and watch.by_lock[-1] == 1
    # The digest once, by the new leader (the old one was dead before it fell due).
    digests = [m for m in api.history(OFFICER) if DIGEST_RU in (m.text or "")]
    assert len(digests) == 1
    # Everything the officer got since the kill is that digest's: each text once.
    texts = Counter(
        str(call.params.get("text"))
        for call in api.requests[after_kill:]
        if call.method == "sendMessage" and call.params.get("chat_id") == OFFICER
    )
    assert texts and max(texts.values()) == 1, texts
    # Every dialog completed once: one response each, one thanks each.
    assert await count_responses(pg_database) == CITIZENS
    # The snapshots taken just before each kill, and what the balancer posted to a worker
    # between its snapshot and its death (under load the kill takes a moment).
    cut |= balancer.broken
    touched = {sender_of(u) for u in balancer.delivered if u["update_id"] in cut}
    for citizen, was_thanked in zip(citizens, thanked, strict=True):
        thanks = [m for m in api.history(citizen.id) if THANKS_RU in (m.text or "")]
        if was_thanked:
            assert len(thanks) == 1
        else:
            # "No poll now" last: the worker storing the last answer died before it was
            # acknowledged, and its repeat found the dialog over. Whether the dead worker had
            # thanked first depends on where the kill fell: at most once, never twice.
            assert citizen.id in touched and len(thanks) <= 1, trail(api, balancer, citizen)
    # Every update handled once: each press answered once (a repeat of a press cut off by a
    # kill mid-handling may try again, and Telegram refuses a second answer), and no reply
    # repeated in the chat of a citizen none of whose updates was cut off by a kill.
    presses = [u["callback_query"]["id"] for u in balancer.delivered if "callback_query" in u]
    answered = Counter(
        c.params["callback_query_id"] for c in api.calls("answerCallbackQuery") if c.ok
    )
    assert len(presses) >= 5 * CITIZENS and all(answered[p] == 1 for p in presses), answered
    assert len(touched) <= len(cut)
    for citizen in citizens:
        if citizen.id in touched:
            continue
        # A reply sent twice for one update would repeat its text in the chat. (A failed edit
        # is replaced by a new message, so counting messages alone would not tell.)
        sent = Counter(
            str(call.params.get("text"))
            for call in api.calls("sendMessage")
            if call.params.get("chat_id") == citizen.id
        )
        assert max(sent.values()) == 1, sent
    assert len({u["update_id"] for u in balancer.delivered}) == len(balancer.delivered)
    # No 409 anywhere (nobody polls beside the webhook), and the killed workers' updates were
    # delivered again: refused connections, then 200 from the others.
    assert not any(call.status == 409 for call in api.requests)
    assert api.calls("getUpdates") == []
    assert balancer.statuses["refused"] > 0
    for worker in workers:
        assert "Traceback" not in worker.process.log_text()
    assert await survivor.process.stop() == 0


def trail(api: BotApiEmulator, balancer: Balancer, citizen: EmulatedUser) -> str:
    """A citizen's chat (who said what, the buttons shown) and each delivery of their updates
    (to which worker, with what outcome), for the message of a failed check."""
    chat = [
        ("bot" if m.raw["from"]["is_bot"] else "person", (m.text or "")[-40:], len(m.buttons))
        for m in api.history(citizen.id)
    ]
    ids = {u["update_id"] for u in balancer.delivered if sender_of(u) == citizen.id}
    tries = [attempt for attempt in balancer.attempts if attempt[0] in ids]
    return f"chat {chat}; deliveries {tries}; ports {[w.port for w in balancer.workers]}"


def sender_of(update: dict[str, Any]) -> int:
    event = update.get("message") or update["callback_query"]
    return int(event["from"]["id"])


async def count_responses(url: str) -> int:
    engine = create_engine(url)
    try:
        async with engine.connect() as connection:
            return int(await connection.scalar(text("SELECT count(*) FROM responses")) or 0)
    finally:
        await engine.dispose()


async def test_a_citizen_waits_for_the_thanks_while_the_answered_question_loses_its_buttons(
    api: BotApiEmulator,
) -> None:
    """The last typed answer's question loses its keyboard before the thanks is sent (on a
    loaded machine, a moment before): the person of the three-worker test types it once and
    is thanked, instead of typing it again and being told "no poll now" (which that test
    could only blame on a kill)."""
    citizen = api.user(OFFICER, "Гражданин", language_code="ru")
    question = "<i>Вопрос 5 из 5</i>\n\n<b>Что пошло не так?</b>"
    back = {"inline_keyboard": [[{"text": "← Назад", "callback_data": "back"}]]}

    async def bot(http: aiohttp.ClientSession) -> None:
        async def call(method: str, **params: Any) -> dict[str, Any]:
            url = f"{api.base_url}/bot{api.token}/{method}"
            async with http.post(url, json=params) as response:
                return dict((await response.json())["result"] or {})

        asked = 0
        while True:
            for update in api.take_updates():
                typed = update["message"]["text"]
                if typed.startswith("/start"):
                    sent = await call(
                        "sendMessage",
                        chat_id=citizen.id,
                        text=question,
                        parse_mode="HTML",
                        reply_markup=back,
                    )
                    asked = int(sent["message_id"])
                elif asked:
                    await call("editMessageReplyMarkup", chat_id=citizen.id, message_id=asked)
                    await asyncio.sleep(0.5)  # the thanks is on its way
                    await call("sendMessage", chat_id=citizen.id, text=THANKS_RU)
                    asked = 0
                else:
                    await call("sendMessage", chat_id=citizen.id, text=NO_DIALOG)
            await asyncio.sleep(0.01)

    async with aiohttp.ClientSession() as http:
        playing = asyncio.create_task(bot(http))
        try:
            async with asyncio.timeout(STEP_S):
                thanked = await dialog(citizen)
        finally:
            playing.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await playing
    typed = [m.text for m in api.history(citizen.id) if not m.raw["from"]["is_bot"]]
    assert typed == ["/start licensing_office", "Долго ждала"]
    assert thanked
