"""Benchmark: whole rating dialogs through the production wiring against the reference floor.

The floor is ``shared/bench/realistic_floor.py --fsm --kb --filters async --parse``: aiogram's
dispatcher with MemoryStorage, async filters, a 5-button keyboard on every reply and every update
parsed from JSON. It is imported from beside the clone (``<repo>/../shared/bench``; ``--floor``
names another path) and run in this process, in alternating pairs with the pipeline, both
talking to the floor's own mocked Bot API session (it builds the request form and parses the
reply as the real session does).

The pipeline is the application the bot process serves: ``bot.app.build_application``
(migrations, SqlStorage, services, routers, every middleware including the metrics, the
scheduler and its leader election), with only the HTTP session replaced (the floor's, which
also answers ``getMe``), after ``freeze_startup_heap`` like the bot process.
``tests/test_bench.py`` checks that its dispatcher is the one ``bot.app.serve`` polls with.
Each dialog is ``/start <link>`` and four presses (the post-service rating); ``dialogs`` of them
run at once, each waiting for its reply before the next update, as people do.
Reported per concurrency: presses/s and whole dialogs (``/start`` included) in updates/s, each
as a ratio to the floor driven the same way (median of alternating pairs, with min-max spread),
and the single-dialog latency per press.

Run from the repository root: ``.venv/bin/python -m bench.answer_pipeline``
(``--backends sqlite`` to skip PostgreSQL; PostgreSQL is ``OTKLIK_TEST_PG_URL`` or the local
test server, in a throwaway database). Targets (shared/performance.md): presses at 100 dialogs
>= 0.5x the floor, whole dialogs >= 0.35x, one dialog alone < 5 ms per press.
``--memory`` also measures what 10,000 dialogs in progress add (target < 100 MB).
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import importlib.util
import itertools
import json
import logging
import math
import os
import platform
import statistics
import sys
import tempfile
import time
import tracemalloc
import uuid
from collections.abc import AsyncIterator, Iterator, Sequence
from contextlib import asynccontextmanager, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType
from typing import Any, Final

import aiogram
import sqlalchemy
from aiogram import Bot, Dispatcher
from aiogram.methods import GetMe
from aiogram.types import InlineKeyboardMarkup, Message, Update, User
from sqlalchemy import text
from sqlalchemy.engine import make_url

from bot.app import build_application, freeze_startup_heap
from bot.settings import BotSettings, DatabaseSettings, PrivacySettings, Settings
from storage.database import create_engine

REPO_ROOT: Final = Path(__file__).resolve().parents[1]
FLOOR_IN_SHARED: Final = Path("shared", "bench", "realistic_floor.py")
PG_URL_ENV: Final = "OTKLIK_TEST_PG_URL"
DEFAULT_PG_URL: Final = "postgresql+asyncpg://postgres@127.0.0.1:5432/test"
TOKEN: Final = "42:BENCH-TOKEN-not-real"
BOT_USERNAME: Final = "otklik_bench_bot"
PEPPER: Final = "bench-pepper-0123456789abcdefghijkl"
LINK: Final = "/start licensing_office"
# A satisfied path through post_service: overall 5, solved "yes", contacts "1", skip comment.
PATH: Final = ("5", "Да", "1", "Пропустить →")
UPDATES_PER_DIALOG: Final = 1 + len(PATH)
TARGET_PRESSES: Final = 0.5
TARGET_WHOLE: Final = 0.35
TARGET_LATENCY_MS: Final = 5.0


# --- the reference floor ---------------------------------------------------------------------


def find_floor() -> Path:
    """``shared/bench/realistic_floor.py`` beside the clone (CI copies it there), else beside
    the nearest folder above it (a worktree one level deeper); the first place when absent."""
    for folder in REPO_ROOT.parents:
        if (folder / FLOOR_IN_SHARED).is_file():
            return folder / FLOOR_IN_SHARED
    return REPO_ROOT.parent / FLOOR_IN_SHARED


def load_floor(path: Path) -> ModuleType:
    """Import the reference floor from its file (it is not part of this repository)."""
    if not path.is_file():
        raise SystemExit(
            f"The reference floor is not at {path}.\n"
            "It lives in the shared folder beside the clone (shared/bench/realistic_floor.py, "
            "which CI copies next to the repository); pass --floor PATH to point at it."
        )
    spec = importlib.util.spec_from_file_location("realistic_floor", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


def tracking_session(floor: ModuleType) -> Any:
    """The floor's mocked session ("full"), also remembering each chat's live keyboard and
    answering ``getMe`` (the bot's first contact at start-up)."""

    class TrackingSession(floor.MockedSession):  # type: ignore[name-defined,misc]
        def __init__(self) -> None:
            super().__init__("full")
            self.live: dict[int, tuple[int, InlineKeyboardMarkup]] = {}

        async def make_request(self, bot: Bot, method: Any, timeout: int | None = None) -> Any:  # noqa: ASYNC109
            if isinstance(method, GetMe):
                return User(id=bot.id, is_bot=True, first_name="Otklik", username=BOT_USERNAME)
            result = await super().make_request(bot, method, timeout)
            markup = getattr(method, "reply_markup", None)
            if isinstance(markup, InlineKeyboardMarkup):
                message_id = (
                    result.message_id if isinstance(result, Message) else method.message_id
                )
                self.live[int(method.chat_id)] = (int(message_id), markup)
            return result

    return TrackingSession()


async def feed_raw(dispatcher: Dispatcher, bot: Bot, raw: dict[str, Any]) -> None:
    """What the floor's ``--parse`` does for every update: validate the dict, then dispatch."""
    await dispatcher.feed_update(bot, Update.model_validate(raw, context={"bot": bot}))


async def run_floor(floor: ModuleType, dialogs: int, updates: int) -> float:
    """The floor's dispatcher and updates, ``dialogs`` users at once; returns updates/s."""
    session = tracking_session(floor)
    bot = Bot(floor.BOT_TOKEN, session=session)
    dispatcher = floor.build_dispatcher(fsm=True, kb=True, sessionmaker=None, filters="async")
    by_user: dict[int, list[dict[str, Any]]] = {}
    for update in floor.make_raw_updates(updates, dialogs, 0.5, start_id=1):
        sender = update.get("message") or update["callback_query"]
        by_user.setdefault(sender["from"]["id"], []).append(update)

    async def user(updates: list[dict[str, Any]]) -> None:
        for update in updates:
            await feed_raw(dispatcher, bot, update)

    gc.collect()
    started = time.perf_counter()
    await asyncio.gather(*(user(updates) for updates in by_user.values()))
    elapsed = time.perf_counter() - started
    await bot.session.close()
    return updates / elapsed


# --- the pipeline ------------------------------------------------------------------------------


_USER = {"is_bot": False, "first_name": "U", "language_code": "ru"}
_BOT = {"id": 42, "is_bot": True, "first_name": "Otklik"}


def start_update(update_id: int, user_id: int) -> dict[str, Any]:
    return {
        "update_id": update_id,
        "message": {
            "message_id": update_id,
            "date": 0,
            "chat": {"id": user_id, "type": "private"},
            "from": {"id": user_id, **_USER},
            "text": LINK,
            "entities": [{"type": "bot_command", "offset": 0, "length": len("/start")}],
        },
    }


def press_update(update_id: int, user_id: int, message_id: int, data: str) -> dict[str, Any]:
    return {
        "update_id": update_id,
        "callback_query": {
            "id": str(update_id),
            "from": {"id": user_id, **_USER},
            "chat_instance": "ci",
            "data": data,
            "message": {
                "message_id": message_id,
                "date": 0,
                "chat": {"id": user_id, "type": "private"},
                "from": _BOT,
                "text": "…",
            },
        },
    }


@dataclass
class Pipeline:
    """The bot's application on one database, with the floor's mocked session."""

    dispatcher: Dispatcher
    bot: Bot
    session: Any
    ids: Iterator[int] = field(default_factory=lambda: itertools.count(1))
    people: Iterator[int] = field(default_factory=lambda: itertools.count(5_000_000))

    async def start(self, person: int) -> None:
        await feed_raw(self.dispatcher, self.bot, start_update(next(self.ids), person))

    async def press(self, person: int, label: str) -> None:
        message_id, markup = self.session.live[person]
        data = next(
            button.callback_data
            for row in markup.inline_keyboard
            for button in row
            if button.text == label or button.text.endswith(label)
        )
        assert data is not None
        update = press_update(next(self.ids), person, message_id, data)
        await feed_raw(self.dispatcher, self.bot, update)

    async def answer(self, person: int) -> None:
        for label in PATH:
            await self.press(person, label)


@dataclass(frozen=True)
class PipelineRun:
    presses_per_second: float
    updates_per_second: float  # whole dialogs, /start included
    ms_per_press: float


async def _lanes(dialogs: int, people: list[int], run: Any) -> float:
    """``dialogs`` lanes, each taking the next person as soon as its last one is done;
    returns the seconds all of ``people`` took."""
    queue = iter(people)

    async def lane() -> None:
        for person in queue:
            await run(person)

    gc.collect()
    started = time.perf_counter()
    await asyncio.gather(*(lane() for _ in range(dialogs)))
    return time.perf_counter() - started


async def run_pipeline(pipeline: Pipeline, dialogs: int, count: int) -> PipelineRun:
    """``count`` dialogs, ``dialogs`` of them at any moment, each person waiting for the reply
    before the next update. Timed twice: the presses of dialogs opened beforehand (untimed),
    then whole dialogs from ``/start`` on."""
    opened = [next(pipeline.people) for _ in range(count)]
    for chunk in range(0, count, 500):
        await asyncio.gather(*(pipeline.start(person) for person in opened[chunk : chunk + 500]))
    press_seconds = await _lanes(dialogs, opened, pipeline.answer)

    async def whole(person: int) -> None:
        await pipeline.start(person)
        await pipeline.answer(person)

    whole_seconds = await _lanes(dialogs, [next(pipeline.people) for _ in range(count)], whole)
    presses = count * len(PATH)
    return PipelineRun(
        presses_per_second=presses / press_seconds,
        updates_per_second=count * UPDATES_PER_DIALOG / whole_seconds,
        # Each lane waits for its replies: mean latency of a press at this concurrency.
        ms_per_press=1000 * press_seconds * dialogs / presses,
    )


def bench_settings(url: str, *, guard: bool = True) -> Settings:
    return Settings(
        _env_file=None,
        bot=BotSettings(token=TOKEN),
        db=DatabaseSettings(url=url),
        privacy=PrivacySettings(pepper=PEPPER, ratings_per_service_per_day=1 if guard else 0),
        log_level="WARNING",
    )


@asynccontextmanager
async def database(backend: str, folder: Path) -> AsyncIterator[str]:
    """A URL naming an empty database: a SQLite file, or a throwaway PostgreSQL database."""
    if backend == "sqlite":
        yield f"sqlite+aiosqlite:///{folder / 'bench.db'}"
        return
    server = os.environ.get(PG_URL_ENV, DEFAULT_PG_URL)
    engine = create_engine(server)
    admin = engine.execution_options(isolation_level="AUTOCOMMIT")
    name = f"otklik_bench_{uuid.uuid4().hex[:12]}"
    async with admin.connect() as connection:
        await connection.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield make_url(server).set(database=name).render_as_string(hide_password=False)
    finally:
        async with admin.connect() as connection:
            await connection.execute(text(f'DROP DATABASE "{name}" WITH (FORCE)'))
        await engine.dispose()


@asynccontextmanager
async def pipeline_on(
    floor: ModuleType, url: str, *, guard: bool = True
) -> AsyncIterator[Pipeline]:
    """What ``bot.app.serve`` builds before it polls, the Bot API answered by ``floor``."""
    session = tracking_session(floor)
    async with build_application(bench_settings(url, guard=guard), session) as app:
        pipeline = Pipeline(app.dispatcher, app.bot, session)
        try:
            # Warm-up (imports, statement caches, the engine's connection), then start-up
            # ends as in the bot process: the heap built so far is frozen.
            await run_pipeline(pipeline, 5, 20)
            freeze_startup_heap()
            yield pipeline
        finally:
            gc.unfreeze()


# --- measuring ------------------------------------------------------------------------------


@dataclass
class Row:
    backend: str
    dialogs: int
    floor: list[float] = field(default_factory=list)
    runs: list[PipelineRun] = field(default_factory=list)

    def press_ratios(self) -> list[float]:
        return [r.presses_per_second / f for r, f in zip(self.runs, self.floor, strict=True)]

    def whole_ratios(self) -> list[float]:
        return [r.updates_per_second / f for r, f in zip(self.runs, self.floor, strict=True)]


def dialogs_for(dialogs: int, updates: int) -> int:
    """Dialogs per run: at least ``updates`` updates, every lane busy to the end."""
    return dialogs * max(1, math.ceil(updates / (dialogs * UPDATES_PER_DIALOG)))


async def measure(
    floor: ModuleType,
    backend: str,
    concurrency: Sequence[int],
    pairs: int,
    updates: int,
    *,
    guard: bool = True,
) -> list[Row]:
    rows: list[Row] = []
    label = backend if guard else f"{backend}-noguard"
    with tempfile.TemporaryDirectory() as folder:
        async with (
            database(backend, Path(folder)) as url,
            pipeline_on(floor, url, guard=guard) as pipeline,
        ):
            for dialogs in concurrency:
                row = Row(label, dialogs)
                count = dialogs_for(dialogs, updates)
                for pair in range(pairs):
                    # Alternating order: neither side always runs on a warmer machine.
                    if pair % 2 == 0:
                        row.floor.append(
                            await run_floor(floor, dialogs, count * UPDATES_PER_DIALOG)
                        )
                        row.runs.append(await run_pipeline(pipeline, dialogs, count))
                    else:
                        row.runs.append(await run_pipeline(pipeline, dialogs, count))
                        row.floor.append(
                            await run_floor(floor, dialogs, count * UPDATES_PER_DIALOG)
                        )
                print_row(row)
                rows.append(row)
    return rows


def spread(values: Sequence[float]) -> str:
    return f"{statistics.median(values):.2f} ({min(values):.2f}-{max(values):.2f})"


HEADER: Final = (
    f"{'backend':<10} {'dialogs':>7} {'floor upd/s':>11} {'presses/s':>9} "
    f"{'presses/floor':>17} {'whole upd/s':>11} {'whole/floor':>17} {'ms/press':>8}"
)


def print_row(row: Row) -> None:
    print(
        f"{row.backend:<10} {row.dialogs:>7} {statistics.median(row.floor):>11,.0f} "
        f"{statistics.median(r.presses_per_second for r in row.runs):>9,.0f} "
        f"{spread(row.press_ratios()):>17} "
        f"{statistics.median(r.updates_per_second for r in row.runs):>11,.0f} "
        f"{spread(row.whole_ratios()):>17} "
        f"{statistics.median(r.ms_per_press for r in row.runs):>8.2f}",
        flush=True,
    )


def calibration(floor: ModuleType) -> str:
    """What this machine does right now: a pure-Python loop and the floor's one user."""
    started = time.perf_counter()
    total = 0
    for number in range(2_000_000):
        total += number & 7
    loop_ns = (time.perf_counter() - started) / 2_000_000 * 1e9
    sequential = asyncio.run(run_floor(floor, 1, 1000))
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    return (
        f"calibration: Python {platform.python_version()}, aiogram {aiogram.__version__}, "
        f"SQLAlchemy {sqlalchemy.__version__}, {os.cpu_count()} CPUs, load {load:.1f}; "
        f"pure-Python loop {loop_ns:.0f} ns/iteration; floor, one user: {sequential:,.0f} upd/s"
    )


def verdict(rows: Sequence[Row]) -> list[str]:
    lines = []
    for row in rows:
        if row.dialogs == 100 and not row.backend.endswith("noguard"):
            press = statistics.median(row.press_ratios())
            whole = statistics.median(row.whole_ratios())
            lines.append(
                f"{row.backend} at 100 dialogs: presses {press:.2f}x "
                f"(target >= {TARGET_PRESSES}), whole dialogs {whole:.2f}x "
                f"(target >= {TARGET_WHOLE})"
            )
        if row.dialogs == 1:
            latency = statistics.median(r.ms_per_press for r in row.runs)
            lines.append(
                f"{row.backend} one dialog alone: {latency:.2f} ms per press "
                f"(target < {TARGET_LATENCY_MS})"
            )
    return lines


# --- memory ------------------------------------------------------------------------------------


@contextmanager
def traced() -> Iterator[list[float]]:
    gc.collect()
    tracemalloc.start()
    before = tracemalloc.get_traced_memory()[0]
    added: list[float] = []
    try:
        yield added
    finally:
        gc.collect()
        added.append((tracemalloc.get_traced_memory()[0] - before) / 1e6)
        tracemalloc.stop()


async def measure_memory(floor: ModuleType, dialogs: int) -> float:
    """MB that ``dialogs`` dialogs in progress (opened, one press made) add to the process."""
    with tempfile.TemporaryDirectory() as folder:
        async with database("sqlite", Path(folder)) as url, pipeline_on(floor, url) as pipeline:
            with traced() as added:
                for chunk in range(0, dialogs, 500):
                    people = [next(pipeline.people) for _ in range(min(500, dialogs - chunk))]
                    await asyncio.gather(*(pipeline.start(person) for person in people))
                    await asyncio.gather(*(pipeline.press(person, PATH[0]) for person in people))
                    # The bench's own record of live keyboards is not the bot's memory.
                    pipeline.session.live.clear()
    return added[0]


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--floor",
        type=Path,
        default=None,
        help="realistic_floor.py (default: shared/bench/ "
        "beside the repository or a folder above it)",
    )
    parser.add_argument("--backends", default="sqlite,postgresql")
    parser.add_argument("--dialogs", default="1,10,100,500", help="concurrent dialogs")
    parser.add_argument("--pairs", type=int, default=5, help="alternating floor/pipeline pairs")
    parser.add_argument("--updates", type=int, default=1000, help="updates per run, at least")
    parser.add_argument(
        "--without-guard",
        action="store_true",
        help="also SQLite at 100 dialogs with the already-rated check off (what /start pays it)",
    )
    parser.add_argument("--memory", action="store_true")
    parser.add_argument("--memory-dialogs", type=int, default=10_000)
    parser.add_argument("--json", type=Path, help="also write the raw figures here")
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    # The application's scheduler runs beside the dialogs as in the bot process; its notes
    # (a minute job late on a loaded machine, a job cut short when a run ends) are not figures.
    logging.getLogger("apscheduler").setLevel(logging.CRITICAL)
    floor_path = (args.floor or find_floor()).resolve()
    floor = load_floor(floor_path)
    concurrency = [int(n) for n in args.dialogs.split(",")]
    print(calibration(floor), flush=True)
    print(
        f"floor: {floor_path} --fsm --kb --filters async --parse, same mocked session; "
        f"ratios are medians of {args.pairs} alternating pairs (min-max)",
        flush=True,
    )
    print(HEADER, flush=True)
    rows: list[Row] = []
    for backend in args.backends.split(","):
        rows += asyncio.run(measure(floor, backend, concurrency, args.pairs, args.updates))
    if args.without_guard:
        rows += asyncio.run(measure(floor, "sqlite", [100], args.pairs, args.updates, guard=False))
    for line in verdict(rows):
        print(line)
    if args.memory:
        added = asyncio.run(measure_memory(floor, args.memory_dialogs))
        print(
            f"memory: {args.memory_dialogs} dialogs in progress add {added:.1f} MB (target < 100)"
        )
    if args.json:
        record = [
            {
                "backend": row.backend,
                "dialogs": row.dialogs,
                "floor": row.floor,
                "presses_per_second": [r.presses_per_second for r in row.runs],
                "updates_per_second": [r.updates_per_second for r in row.runs],
                "ms_per_press": [r.ms_per_press for r in row.runs],
            }
            for row in rows
        ]
        args.json.write_text(json.dumps(record, indent=1), encoding="utf-8")


if __name__ == "__main__":
    main()
