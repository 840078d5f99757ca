"""Several webhook workers (issue 14): updates/s and p95 latency for 1, 2 and 4 `otklik run`
processes on PostgreSQL and Redis, against one process on SQLite (webhook mode too, its update
ids in memory) measured in the same run.

Each configuration gets a fresh database, migrated before its workers start. Every worker is
the real `python -m bot run` in webhook mode on a port of its own, talking to the Bot API
emulator (tests/botapi/emulator.py) in this process. The feeder here plays Telegram behind a
load balancer: each update to the next worker in turn, up to 40 requests at once, again until
a 200. `--dialogs` citizens run the post-service rating at once (seven updates each, waiting
for the bot's reply before the next, as people do). Latency is one update's webhook request:
the worker acknowledges once it handled and stored it (BOT__WEBHOOK_ACK_SECONDS), so it is
the handling time as Telegram sees it.

Alongside, CPU seconds per second of the run (cores busy) of the workers, PostgreSQL, Redis
and this process (the emulator and the feeder): on a two-core machine, what saturates first
says what limits the curve.

    .venv/bin/python -m bench.workers_bench                        # 1, 2, 4 workers; 200 dialogs
    .venv/bin/python -m bench.workers_bench --workers 1,2 --dialogs 50
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import random
import signal
import socket
import sys
import tempfile
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final

import aiohttp
from sqlalchemy import text
from sqlalchemy.engine import make_url

from storage.database import create_engine
from storage.migrate import run_upgrade
from tests.botapi.emulator import BotApiEmulator, EmulatedUser

REPO_ROOT: Final = Path(__file__).resolve().parents[1]
PYTHON: Final = REPO_ROOT / ".venv" / "bin" / "python"
DEFAULT_PG_URL: Final = "postgresql+asyncpg://postgres@127.0.0.1:5432/test"
DEFAULT_REDIS_URL: Final = "redis://127.0.0.1:6379/15"
SECRET: Final = "workers-bench-secret_0123456789"
HEADER: Final = "X-Telegram-Bot-Api-Secret-Token"
PATH: Final = "/telegram/updates-bench"
#: Telegram's default max_connections for a webhook.
AT_ONCE: Final = 40
START_S: Final = 180.0
STEP_S: Final = 60.0
THANKS: Final = "Спасибо! Обобщённые результаты"


@dataclass
class Result:
    backend: str
    workers: int
    dialogs: int
    updates: int
    seconds: float
    latencies: list[float]
    cpu: dict[str, float] = field(default_factory=dict)  # cores busy, by who

    @property
    def per_second(self) -> float:
        return self.updates / self.seconds

    @property
    def p95_ms(self) -> float:
        ordered = sorted(self.latencies)
        return 1000 * ordered[max(0, int(0.95 * len(ordered)) - 1)]


# --- CPU of the processes involved ----------------------------------------------------------


def _cpu_of(pids: Sequence[int]) -> float:
    ticks = 0
    for pid in pids:
        with contextlib.suppress(OSError, IndexError, ValueError):
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            ticks += int(fields[11]) + int(fields[12])  # utime, stime
    return ticks / os.sysconf("SC_CLK_TCK")


def _pids_named(name: str) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            with contextlib.suppress(OSError):
                if (entry / "comm").read_text().strip().startswith(name):
                    found.append(int(entry.name))
    return found


def _cpu_now(workers: Sequence[int]) -> dict[str, float]:
    return {
        "workers": _cpu_of(workers),
        "postgres": _cpu_of(_pids_named("postgres")),
        "redis": _cpu_of(_pids_named("redis-server")),
        "feeder": _cpu_of([os.getpid()]),
    }


# --- databases and workers ------------------------------------------------------------------


@contextlib.asynccontextmanager
async def fresh_database(backend: str, pg_url: str, folder: Path) -> AsyncIterator[str]:
    """A migrated empty database: a SQLite file, or a throwaway PostgreSQL database."""
    if backend == "sqlite":
        url = f"sqlite+aiosqlite:///{folder / f'bench-{uuid.uuid4().hex[:8]}.db'}"
        await _migrate(url)
        yield url
        return
    engine = create_engine(pg_url)
    admin = engine.execution_options(isolation_level="AUTOCOMMIT")
    name = f"otklik_bench_{uuid.uuid4().hex[:12]}"
    async with admin.connect() as connection:
        await connection.execute(text(f'CREATE DATABASE "{name}"'))
    url = make_url(pg_url).set(database=name).render_as_string(hide_password=False)
    try:
        await _migrate(url)
        yield url
    finally:
        async with admin.connect() as connection:
            await connection.execute(text(f'DROP DATABASE "{name}" WITH (FORCE)'))
        await engine.dispose()


async def _migrate(url: str) -> None:
    engine = create_engine(url, sqlite_foreign_keys=False)
    try:
        async with engine.begin() as connection:
            await connection.run_sync(lambda sync: run_upgrade(sync, "head"))
    finally:
        await engine.dispose()


def _free_port() -> int:
    with contextlib.closing(socket.socket()) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@dataclass
class Worker:
    process: asyncio.subprocess.Process
    url: str


@contextlib.asynccontextmanager
async def running_workers(
    api: BotApiEmulator, count: int, db_url: str, redis_url: str | None, folder: Path
) -> AsyncIterator[list[Worker]]:
    """`count` bot processes in webhook mode; stopped with SIGTERM (SIGKILL if they hang)."""
    workers: list[Worker] = []
    # One pepper for the workers of a run, fresh per run (Redis keeps the guard's counters).
    pepper = f"workers-bench-pepper-{uuid.uuid4().hex}"
    home = folder / f"home-{uuid.uuid4().hex[:8]}"
    home.mkdir()
    try:
        for _ in range(count):
            port = _free_port()
            url = f"http://127.0.0.1:{port}{PATH}"
            env = {
                "PATH": os.environ.get("PATH", os.defpath),
                "HOME": str(home),
                "LANG": "C.UTF-8",
                "OTKLIK_HOME": str(home),
                "BOT__TOKEN": api.token,
                "BOT__API_BASE_URL": api.base_url,
                "BOT__WEBHOOK_URL": url,
                "BOT__WEBHOOK_SECRET": SECRET,
                "DB__URL": db_url,
                "PRIVACY__PEPPER": pepper,
                "WEB__ENABLED": "true",
                "WEB__PORT": str(port),
                "LOG_LEVEL": "WARNING",
                "MPLCONFIGDIR": str(Path(tempfile.gettempdir()) / "otklik-e2e-matplotlib"),
                **({"FSM__REDIS_URL": redis_url} if redis_url else {}),
            }
            log = (folder / f"worker-{port}.log").open("wb")
            process = await asyncio.create_subprocess_exec(
                str(PYTHON if PYTHON.exists() else sys.executable), "-m", "bot", "run",
                cwd=home, env=env, stdin=asyncio.subprocess.DEVNULL,
                stdout=log, stderr=asyncio.subprocess.STDOUT,
            )  # fmt: skip
            log.close()
            workers.append(Worker(process, url))
        deadline = time.monotonic() + START_S
        for worker in workers:
            while not api.calls("setWebhook", url=worker.url):
                if worker.process.returncode is not None or time.monotonic() > deadline:
                    raise SystemExit(f"a worker did not start; see the logs in {folder}")
                await asyncio.sleep(0.1)
        yield workers
    finally:
        for worker in workers:
            if worker.process.returncode is None:
                worker.process.send_signal(signal.SIGTERM)
        for worker in workers:
            try:
                async with asyncio.timeout(20):
                    await worker.process.wait()
            except TimeoutError:
                worker.process.kill()
                await worker.process.wait()


# --- Telegram: the feeder and the citizens --------------------------------------------------


@dataclass
class Feeder:
    api: BotApiEmulator
    http: aiohttp.ClientSession
    urls: list[str]
    latencies: list[float] = field(default_factory=list)
    updates: int = 0
    posted: int = 0
    closing: bool = False

    async def deliver(self, update: dict[str, Any]) -> None:
        for _attempt in range(200):
            url = self.urls[self.posted % len(self.urls)]
            self.posted += 1
            started = time.perf_counter()
            async with self.http.post(url, json=update, headers={HEADER: SECRET}) as response:
                status = response.status
            if status == 200:
                self.latencies.append(time.perf_counter() - started)
                self.updates += 1
                return
            await asyncio.sleep(0.05)
        raise RuntimeError(f"update {update['update_id']} never acknowledged")

    async def run(self) -> None:
        await feed(self.api, self.deliver, lambda: self.closing)


async def feed(
    api: BotApiEmulator,
    deliver: Callable[[dict[str, Any]], Awaitable[None]],
    closing: Callable[[], bool],
    *,
    idle_s: float = 0.002,
) -> None:
    """Telegram's side of a webhook: each update the emulator queues is handed to `deliver`
    (which posts it until acknowledged), `AT_ONCE` in flight; returns once `closing()` and
    nothing is queued or in flight. `idle_s`: the pause between two looks at the queue."""
    slots = asyncio.Semaphore(AT_ONCE)
    running: set[asyncio.Task[None]] = set()

    async def one(update: dict[str, Any]) -> None:
        async with slots:
            await deliver(update)

    while True:
        updates = api.take_updates()
        if not updates and closing() and not running:
            return
        for update in updates:
            task = asyncio.create_task(one(update))
            running.add(task)
            task.add_done_callback(running.discard)
        await asyncio.sleep(idle_s)


async def _wait_for(user: EmulatedUser, fragment: str) -> None:
    deadline = time.monotonic() + STEP_S
    while True:
        message = await user.last_bot_message(timeout=STEP_S)
        if fragment in (message.text or ""):
            return
        if time.monotonic() > deadline:
            raise RuntimeError(f"no {fragment!r}; last: {message.text!r}")
        await asyncio.sleep(0.01)


async def _wait_for_button(user: EmulatedUser, label: str) -> None:
    deadline = time.monotonic() + STEP_S
    while True:
        message = await user.last_bot_message(timeout=STEP_S)
        if label in [button["text"] for button in message.buttons]:
            return
        if time.monotonic() > deadline:
            raise RuntimeError(f"no button {label!r}")
        await asyncio.sleep(0.01)


async def citizen_dialog(user: EmulatedUser) -> None:
    """The post-service rating: /start, five presses, a typed answer (seven updates)."""
    await user.send_text("/start licensing_office")
    await _wait_for(user, "Вопрос 1 из")
    for button, then in (("3", "Ваш вопрос решён?"), ("Нет", "Что помешало?")):
        await user.click(button, timeout=STEP_S)
        await _wait_for(user, then)
    await user.click("Долго ждать результата", timeout=STEP_S)
    await _wait_for_button(user, "☑️ Долго ждать результата")
    for button, then in (("Готово", "Сколько раз вы обращались"), ("2", "Что пошло не так?")):
        await user.click(button, timeout=STEP_S)
        await _wait_for(user, then)
    await user.send_text("Долго ждала")
    await _wait_for(user, THANKS)


# --- one configuration ----------------------------------------------------------------------


async def measure(
    backend: str,
    workers: int,
    dialogs: int,
    *,
    pg_url: str = DEFAULT_PG_URL,
    redis_url: str = DEFAULT_REDIS_URL,
) -> Result:
    """Run `dialogs` whole ratings at once through `workers` processes; one Result."""
    bot_id = random.randrange(10**8, 10**9)  # update ids restart at 1: fresh ledger keys
    with tempfile.TemporaryDirectory(prefix="otklik-workers-bench-") as tmp:
        folder = Path(tmp)
        async with (
            BotApiEmulator(token=f"{bot_id}:WORKERS-BENCH") as api,
            fresh_database(backend, pg_url, folder) as db_url,
            running_workers(
                api, workers, db_url, redis_url if backend == "postgresql" else None, folder
            ) as started,
            aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=AT_ONCE)) as http,
        ):
            feeder = Feeder(api, http, [worker.url for worker in started])
            feeding = asyncio.create_task(feeder.run())
            pids = [worker.process.pid for worker in started]
            users = [
                api.user(10**9 + i, f"Гражданин {i}", language_code="ru") for i in range(dialogs)
            ]
            before, began = _cpu_now(pids), time.perf_counter()
            try:
                await asyncio.gather(*(citizen_dialog(user) for user in users))
            finally:
                seconds = time.perf_counter() - began
                after = _cpu_now(pids)
                feeder.closing = True
                await feeding
    return Result(
        backend=backend,
        workers=workers,
        dialogs=dialogs,
        updates=feeder.updates,
        seconds=seconds,
        latencies=feeder.latencies,
        cpu={who: (after[who] - before[who]) / seconds for who in after},
    )


def report(baseline: Result, results: Sequence[Result]) -> str:
    lines = [
        f"{'backend':<22}{'workers':>8}{'dialogs':>9}{'upd/s':>9}{'÷ base':>8}"
        f"{'p95 ms':>9}{'÷ base':>8}   cores busy: workers / postgres / redis / feeder",
    ]
    for result in [baseline, *results]:
        name = "SQLite (webhook)" if result.backend == "sqlite" else "PostgreSQL + Redis"
        cpu = result.cpu
        lines.append(
            f"{name:<22}{result.workers:>8}{result.dialogs:>9}{result.per_second:>9.1f}"
            f"{result.per_second / baseline.per_second:>8.2f}{result.p95_ms:>9.0f}"
            f"{result.p95_ms / baseline.p95_ms:>8.2f}   "
            f"{cpu['workers']:.2f} / {cpu['postgres']:.2f} / {cpu['redis']:.2f} / "
            f"{cpu['feeder']:.2f}"
        )
    return "\n".join(lines)


async def run(workers: Sequence[int], dialogs: int, pg_url: str, redis_url: str) -> str:
    baseline = await measure("sqlite", 1, dialogs, pg_url=pg_url, redis_url=redis_url)
    results = [
        await measure("postgresql", count, dialogs, pg_url=pg_url, redis_url=redis_url)
        for count in workers
    ]
    load = os.getloadavg()[0]
    return (
        f"{dialogs} simultaneous dialogs (7 updates each), {os.cpu_count()} cores, "
        f"load average {load:.1f} at the end\n" + report(baseline, results)
    )


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--workers", default="1,2,4", help="worker counts (PostgreSQL + Redis)")
    parser.add_argument("--dialogs", type=int, default=200, help="citizens answering at once")
    parser.add_argument("--pg-url", default=os.environ.get("OTKLIK_TEST_PG_URL", DEFAULT_PG_URL))
    parser.add_argument(
        "--redis-url", default=os.environ.get("OTKLIK_TEST_REDIS_URL", DEFAULT_REDIS_URL)
    )
    args = parser.parse_args(argv)
    counts = [int(part) for part in args.workers.split(",") if part.strip()]
    print(asyncio.run(run(counts, args.dialogs, args.pg_url, args.redis_url)))


if __name__ == "__main__":
    main()
