"""Load benchmark: N people answer at the same moment through the real dispatcher (routers,
engine, services, storage), with dialog state in Redis, SQLite or PostgreSQL.

Run from the repository root, with Redis and PostgreSQL up (issue 9 figures):

    .venv/bin/python -m bench.load_bench --backend redis --users 1000
    .venv/bin/python -m bench.load_bench --backend sqlite --users 500
    .venv/bin/python -m bench.load_bench --backend postgresql --users 500

Each person sends /start with a deep link and presses through a whole post-service dialog.
Printed: dialogs completed, errors (ERROR log records, failures raised out of the dispatcher,
"something went wrong"/"try later" answers) and the latency of one update (p50, p95, max).
Bot API calls are answered in-process (a recording session), so Telegram is not measured.
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import logging
import statistics
import tempfile
import time
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final

from aiogram import Bot, Dispatcher
from aiogram.fsm.storage.redis import RedisStorage
from aiogram.methods import AnswerCallbackQuery, SendMessage
from aiogram.types import InlineKeyboardMarkup, Update
from sqlalchemy import func, select, text
from sqlalchemy.engine import make_url

from bench.answer_pipeline import press_update, start_update
from bot.app import create_bot, wire
from bot.settings import (
    BotSettings,
    DatabaseSettings,
    FsmSettings,
    PrivacySettings,
    Settings,
)
from storage.database import create_engine
from storage.fsm_redis import HashedKeyBuilder
from storage.migrate import upgrade_async
from storage.models import Response
from tests.bot.harness import RecordingSession

#: Each run keys its people with a pepper of its own: with Redis, the ballot-stuffing guard's
#: counters outlive a run by two days (storage/rating_redis.py), and under one pepper a second
#: run's people would find they had rated already that day.
PEPPER_PREFIX: Final = "bench-pepper-"
TOKEN: Final = "42:LOAD-BENCH"
#: A satisfied path through post_service: overall 5, solved "yes", contacts "1", no comment.
PATH: Final = ("5", "Да", "1", "Пропустить →")
THANKS: Final = "Спасибо!"
#: Phrases of the error handler (bot.* in questionnaires/locales): each one is a failed step.
FAILURE_PHRASES: Final = ("Что-то пошло не так", "временно недоступен", "Анкета обновилась")
DEFAULT_REDIS_URL: Final = "redis://127.0.0.1:6379/15"
DEFAULT_PG_URL: Final = "postgresql+asyncpg://postgres@127.0.0.1:5432/test"


class LoadSession(RecordingSession):
    """Answers Bot API calls in-process and keeps only each chat's live keyboard and last text,
    so a thousand chats cost O(1) per call; failure notices are counted."""

    def __init__(self) -> None:
        super().__init__()
        self.live: dict[int, tuple[int, InlineKeyboardMarkup]] = {}
        self.last_text: dict[int, str] = {}
        self.failures: list[str] = []

    def _result(self, method: Any) -> Any:
        result = super()._result(method)
        self.requests.clear()
        self.messages.clear()
        if isinstance(method, AnswerCallbackQuery | SendMessage) or hasattr(method, "text"):
            said = str(getattr(method, "text", "") or "")
            if any(phrase in said for phrase in FAILURE_PHRASES):
                self.failures.append(said[:60])
        chat_id = getattr(method, "chat_id", None)
        if chat_id is None:
            return result
        if isinstance(getattr(method, "text", None), str):
            self.last_text[int(chat_id)] = method.text
        markup = getattr(method, "reply_markup", None)
        if isinstance(markup, InlineKeyboardMarkup):
            message_id = getattr(result, "message_id", None) or int(method.message_id)
            self.live[int(chat_id)] = (message_id, markup)
        return result


class _ErrorRecords(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.ERROR)
        self.records: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(f"{record.name}: {record.getMessage()[:120]}")


@dataclass
class LoadResult:
    backend: str
    users: int
    completed: int = 0
    stored: int = 0
    errors: list[str] = field(default_factory=list)
    latencies: list[float] = field(default_factory=list)
    seconds: float = 0.0

    def percentile(self, share: float) -> float:
        ordered = sorted(self.latencies)
        if not ordered:
            return 0.0
        return ordered[min(len(ordered) - 1, int(share * len(ordered)))]

    def summary(self) -> str:
        ms = 1000.0
        return (
            f"{self.backend}: {self.users} simultaneous dialogs, {self.completed} completed, "
            f"{self.stored} stored, {len(self.errors)} errors; {len(self.latencies)} updates in "
            f"{self.seconds:.1f} s; latency per update p50 "
            f"{statistics.median(self.latencies or [0]) * ms:.0f} ms, "
            f"p95 {self.percentile(0.95) * ms:.0f} ms, "
            f"max {max(self.latencies or [0]) * ms:.0f} ms"
        )


async def run_load(
    backend: str,
    users: int,
    *,
    db_url: str,
    redis_url: str | None = None,
    redis_max_connections: int = 50,
    redis_pool_timeout: float = 10.0,
    first_user: int = 10_000_000,
) -> LoadResult:
    """`users` people at once through whole dialogs, on the production wiring (bot.app.wire);
    dialog state in Redis when `redis_url` is given, else in the database at `db_url`."""
    settings = Settings(
        _env_file=None,
        bot=BotSettings(token=TOKEN),
        db=DatabaseSettings(url=db_url),
        fsm=FsmSettings(
            redis_url=redis_url,
            redis_max_connections=redis_max_connections,
            redis_pool_timeout=redis_pool_timeout,
        ),
        privacy=PrivacySettings(pepper=PEPPER_PREFIX + uuid.uuid4().hex),
        log_level="WARNING",
    )
    session = LoadSession()
    bot = create_bot(settings, session)
    wiring = await wire(settings, bot, "otklik_load_bot")
    storage, engine, dispatcher = wiring.storage, wiring.engine, wiring.dispatcher
    prefix = f"otklik-load-{uuid.uuid4().hex[:12]}"
    if redis_url is not None:
        assert isinstance(storage, RedisStorage)
        assert isinstance(storage.key_builder, HashedKeyBuilder)
        storage.key_builder.prefix = prefix
    result = LoadResult(backend, users)
    errors = _ErrorRecords()
    logging.getLogger().addHandler(errors)
    try:
        await _drive(dispatcher, bot, session, result, range(first_user, first_user + users))
        async with engine.connect() as connection:
            result.stored = int(
                (await connection.execute(select(func.count()).select_from(Response))).scalar_one()
            )
    finally:
        logging.getLogger().removeHandler(errors)
        await wiring.close()
        await bot.session.close()
        if redis_url is not None:
            await _drop_redis_keys(redis_url, prefix)
    result.errors += errors.records + session.failures
    return result


async def _drive(
    dispatcher: Dispatcher,
    bot: Bot,
    session: LoadSession,
    result: LoadResult,
    people: range,
) -> None:
    ids = itertools.count(1)

    async def feed(raw: dict[str, Any]) -> None:
        started = time.perf_counter()
        try:
            await dispatcher.feed_update(bot, Update.model_validate(raw))
        except Exception as error:
            result.errors.append(f"raised {type(error).__name__}")
        result.latencies.append(time.perf_counter() - started)

    async def person(user_id: int) -> None:
        await feed(start_update(next(ids), user_id))
        for label in PATH:
            if user_id not in session.live:
                result.errors.append("no dialog message")
                return
            message_id, markup = session.live[user_id]
            data = next(
                (
                    b.callback_data
                    for row in markup.inline_keyboard
                    for b in row
                    if b.text == label or b.text.endswith(label)
                ),
                None,
            )
            if data is None:
                result.errors.append(f"no button {label!r}")
                return
            await feed(press_update(next(ids), user_id, message_id, data))
        if THANKS in session.last_text.get(user_id, ""):
            result.completed += 1

    started = time.perf_counter()
    await asyncio.gather(*(person(user_id) for user_id in people))
    result.seconds = time.perf_counter() - started


async def _drop_redis_keys(url: str, prefix: str) -> None:
    from redis.asyncio import Redis

    client = Redis.from_url(url)
    try:
        names = [name async for name in client.scan_iter(match=f"{prefix}:*")]
        if names:
            await client.delete(*names)
    finally:
        await client.aclose()


@asynccontextmanager
async def scratch_database(backend: str, pg_url: str) -> AsyncIterator[str]:
    """A migrated, empty database: a SQLite file, or a throwaway PostgreSQL database."""
    if backend != "postgresql":
        with tempfile.TemporaryDirectory() as folder:
            url = f"sqlite+aiosqlite:///{Path(folder) / 'load.db'}"
            await upgrade_async(url)
            yield url
        return
    engine = create_engine(pg_url)
    admin = engine.execution_options(isolation_level="AUTOCOMMIT")
    name = f"otklik_load_{uuid.uuid4().hex[:12]}"
    async with admin.connect() as connection:
        await connection.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        url = make_url(pg_url).set(database=name).render_as_string(hide_password=False)
        await upgrade_async(url)
        yield url
    finally:
        async with admin.connect() as connection:
            await connection.execute(text(f'DROP DATABASE "{name}" WITH (FORCE)'))
        await engine.dispose()


async def main(args: argparse.Namespace) -> int:
    database = "sqlite" if args.backend == "redis" else args.backend
    async with scratch_database(database, args.pg_url) as url:
        result = await run_load(
            args.backend,
            args.users,
            db_url=url,
            redis_url=args.redis_url if args.backend == "redis" else None,
            redis_max_connections=args.redis_max_connections,
        )
    print(result.summary())
    for error in sorted(set(result.errors))[:20]:
        print(f"  error: {error} (×{result.errors.count(error)})")
    return 0 if not result.errors and result.completed == result.users else 1


def _parse() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--backend", choices=("redis", "sqlite", "postgresql"), required=True)
    parser.add_argument("--users", type=int, default=500)
    parser.add_argument("--redis-url", default=DEFAULT_REDIS_URL)
    parser.add_argument("--redis-max-connections", type=int, default=50)
    parser.add_argument("--pg-url", default=DEFAULT_PG_URL)
    return parser.parse_args()


if __name__ == "__main__":
    logging.basicConfig(level=logging.WARNING)
    raise SystemExit(asyncio.run(main(_parse())))
