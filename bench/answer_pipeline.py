"""Benchmark: button presses through the real routers, engine and durable storage, against the
"realistic dispatch shape" (FSM get/set, reply with an inline keyboard, update parsed from JSON)
measured in the same run.

Run from the repository root: ``.venv/bin/python -m bench.answer_pipeline [--users 200]``.
Target (shared/performance.md): the pipeline sustains at least half of the baseline.
Memory: ``--memory`` also measures what 10,000 dialogs in progress add (target < 100 MB).
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import itertools
import json
import logging
import statistics
import tempfile
import time
import tracemalloc
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from aiogram import Bot, Dispatcher, Router
from aiogram.client.default import DefaultBotProperties
from aiogram.enums import ParseMode
from aiogram.filters.callback_data import CallbackData
from aiogram.fsm.context import FSMContext
from aiogram.fsm.storage.memory import MemoryStorage, SimpleEventIsolation
from aiogram.types import CallbackQuery, InlineKeyboardButton, InlineKeyboardMarkup, Update

from bot.content import catalog_rows, load_content
from bot.dispatcher import create_dispatcher
from bot.settings import ContentSettings
from reports.model import QuestionnaireRoles
from services.feedback import FeedbackPolicy, FeedbackService
from services.funnel import FunnelRecorder
from services.reporting import ReportingPolicy, ReportingService
from storage.catalog import CatalogStore
from storage.database import create_engine, create_session_factory
from storage.fsm import SqlStorage
from storage.migrate import upgrade_async
from storage.opt_ins import OptInStore
from storage.responses import ResponseStore
from tests.bot.conftest import build_campaigns
from tests.bot.harness import RecordingSession

PEPPER = b"bench-pepper-0123456789abcdef"
TOKEN = "42:BENCH"
BOT = {"id": 42, "is_bot": True, "first_name": "Otklik"}


class Step(CallbackData, prefix="x"):
    n: int


def baseline_router() -> Router:
    """The realistic shape: read FSM data, write it back, edit the message with a keyboard."""
    router = Router()

    @router.callback_query(Step.filter())
    async def on_step(query: CallbackQuery, callback_data: Step, state: FSMContext) -> None:
        data = await state.get_data()
        await state.set_data({**data, "n": callback_data.n, "answers": [1, 2, 3]})
        row = [
            InlineKeyboardButton(text=str(value), callback_data=Step(n=callback_data.n + 1).pack())
            for value in range(1, 6)
        ]
        await query.answer()
        if query.message is not None:
            await query.bot.edit_message_text(  # type: ignore[union-attr]
                text=f"Вопрос {callback_data.n}",
                chat_id=query.message.chat.id,
                message_id=query.message.message_id,
                reply_markup=InlineKeyboardMarkup(inline_keyboard=[row]),
            )

    return router


def callback_json(update_id: int, user_id: int, message_id: int, data: str) -> str:
    """A callback update as Telegram sends it: JSON, parsed by the pipeline under test."""
    user = {"id": user_id, "is_bot": False, "first_name": "U", "language_code": "ru"}
    return json.dumps(
        {
            "update_id": update_id,
            "callback_query": {
                "id": str(update_id),
                "from": user,
                "chat_instance": "ci",
                "data": data,
                "message": {
                    "message_id": message_id,
                    "date": 0,
                    "chat": {"id": user_id, "type": "private"},
                    "from": BOT,
                    "text": "…",
                },
            },
        }
    )


def message_json(update_id: int, user_id: int, text: str) -> str:
    user = {"id": user_id, "is_bot": False, "first_name": "U", "language_code": "ru"}
    entities = [{"type": "bot_command", "offset": 0, "length": len(text.split()[0])}]
    return json.dumps(
        {
            "update_id": update_id,
            "message": {
                "message_id": update_id,
                "date": 0,
                "chat": {"id": user_id, "type": "private"},
                "from": user,
                "text": text,
                "entities": entities if text.startswith("/") else [],
            },
        }
    )


async def feed(dispatcher: Dispatcher, bot: Bot, raw: str) -> None:
    await dispatcher.feed_update(bot, Update.model_validate_json(raw))


class FastSession(RecordingSession):
    """Keeps only what the bench needs: the live keyboard of each chat, found in O(1)."""

    def __init__(self) -> None:
        super().__init__()
        self.live: dict[int, tuple[int, InlineKeyboardMarkup]] = {}

    def _result(self, method: Any) -> Any:
        result = super()._result(method)
        self.requests.clear()
        markup = getattr(method, "reply_markup", None)
        if isinstance(markup, InlineKeyboardMarkup):
            chat_id = int(method.chat_id)
            message_id = getattr(result, "message_id", None) or int(method.message_id)
            self.live[chat_id] = (message_id, markup)
        self.messages.clear()
        return result


def _markup(session: FastSession, chat_id: int) -> tuple[int, InlineKeyboardMarkup]:
    return session.live[chat_id]


async def run_baseline(users: int, presses: int) -> float:
    dispatcher = Dispatcher(storage=MemoryStorage(), events_isolation=SimpleEventIsolation())
    dispatcher.include_router(baseline_router())
    session = FastSession()
    bot = Bot(TOKEN, session=session, default=DefaultBotProperties(parse_mode=ParseMode.HTML))
    ids = itertools.count(1)

    async def user(user_id: int) -> None:
        for n in range(presses):
            await feed(dispatcher, bot, callback_json(next(ids), user_id, 1, Step(n=n).pack()))

    started = time.perf_counter()
    await asyncio.gather(*(user(100_000 + u) for u in range(users)))
    return users * presses / (time.perf_counter() - started)


async def build_pipeline(
    folder: Path,
) -> tuple[Dispatcher, SqlStorage, Callable[[], Awaitable[None]]]:
    url = f"sqlite+aiosqlite:///{folder / 'bench.db'}"
    await upgrade_async(url)
    engine = create_engine(url)
    sessions = create_session_factory(engine)
    defaults = ContentSettings()
    content = load_content(defaults.questionnaires_dir, defaults.catalog_path)
    await CatalogStore(sessions).sync(*catalog_rows(content.catalog))
    feedback = FeedbackService(
        questionnaires=content.questionnaires,
        catalog=content.catalog,
        responses=ResponseStore(sessions),
        opt_ins=OptInStore(sessions),
        zone=__import__("zoneinfo").ZoneInfo("Europe/Moscow"),
        policy=FeedbackPolicy(ratings_per_service_per_day=1, default_channel="messenger"),
    )
    reporting = ReportingService(
        sessions=sessions,
        roles=QuestionnaireRoles.from_questionnaires(content.questionnaires),
        catalog=content.catalog,
        policy=ReportingPolicy(),
    )
    storage = SqlStorage(sessions, PEPPER)

    async def nowhere(chat_id: int, text: str) -> None:
        """Invitations and results are not part of this benchmark."""

    campaigns = build_campaigns(sessions, feedback, nowhere, [datetime.now(UTC)])
    dispatcher = create_dispatcher(
        storage=storage,
        feedback=feedback,
        reporting=reporting,
        campaigns=campaigns,
        funnel=FunnelRecorder(sessions),
    )

    async def close() -> None:
        await storage.close()
        await engine.dispose()

    return dispatcher, storage, close


# A satisfied path through post_service: overall 5, solved "yes", contacts "1", skip comment.
PATH = ("5", "Да", "1", "Пропустить →")


async def run_pipeline(users: int, rounds: int) -> tuple[float, int]:
    with tempfile.TemporaryDirectory() as folder:
        dispatcher, _, close = await build_pipeline(Path(folder))
        session = FastSession()
        bot = Bot(TOKEN, session=session, default=DefaultBotProperties(parse_mode=ParseMode.HTML))
        ids = itertools.count(1)
        presses = 0

        async def start(user_id: int) -> None:
            await feed(
                dispatcher, bot, message_json(next(ids), user_id, "/start licensing_office")
            )

        async def user(user_id: int) -> None:
            nonlocal presses
            for label in PATH:
                message_id, markup = _markup(session, user_id)
                data = next(
                    b.callback_data
                    for row in markup.inline_keyboard
                    for b in row
                    if b.text == label or b.text.endswith(label)
                )
                assert data is not None
                await feed(dispatcher, bot, callback_json(next(ids), user_id, message_id, data))
                presses += 1

        elapsed = 0.0
        for round_ in range(rounds):
            people = [1_000_000 * (round_ + 1) + u for u in range(users)]
            # Dialogs are opened first and not timed: the target is about answering.
            await asyncio.gather(*(start(person) for person in people))
            started = time.perf_counter()
            await asyncio.gather(*(user(person) for person in people))
            elapsed += time.perf_counter() - started
        await close()
        return presses / elapsed, presses


async def measure_memory(dialogs: int) -> float:
    """MB that `dialogs` dialogs in progress add to the process (cache, FSM, engine state)."""
    with tempfile.TemporaryDirectory() as folder:
        dispatcher, _, close = await build_pipeline(Path(folder))
        session = FastSession()
        bot = Bot(TOKEN, session=session, default=DefaultBotProperties(parse_mode=ParseMode.HTML))
        ids = itertools.count(1)
        # Warm up imports and caches before measuring.
        await feed(dispatcher, bot, message_json(next(ids), 1, "/start licensing_office"))
        session.requests.clear()
        gc.collect()
        tracemalloc.start()
        before = tracemalloc.get_traced_memory()[0]

        async def user(user_id: int) -> None:
            await feed(
                dispatcher, bot, message_json(next(ids), user_id, "/start licensing_office")
            )
            message_id, markup = _markup(session, user_id)
            data = markup.inline_keyboard[0][1].callback_data
            assert data is not None
            await feed(dispatcher, bot, callback_json(next(ids), user_id, message_id, data))

        for chunk in range(0, dialogs, 500):
            await asyncio.gather(*(user(10 + u) for u in range(chunk, min(chunk + 500, dialogs))))
            session.requests.clear()  # the fake session's own log is not the bot's memory
        session.messages.clear()
        gc.collect()
        after = tracemalloc.get_traced_memory()[0]
        tracemalloc.stop()
        await close()
        return (after - before) / 1e6


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--users", type=int, default=200)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--memory", action="store_true")
    parser.add_argument("--dialogs", type=int, default=10_000)
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    baselines, pipelines = [], []
    for _ in range(args.repeat):
        baselines.append(asyncio.run(run_baseline(args.users, len(PATH) * args.rounds)))
        rate, presses = asyncio.run(run_pipeline(args.users, args.rounds))
        pipelines.append(rate)
    base, ours = statistics.median(baselines), statistics.median(pipelines)
    print(f"baseline (realistic dispatch shape, MemoryStorage): {base:8.0f} updates/s")
    print(f"answer pipeline (routers, engine, SqlStorage):      {ours:8.0f} presses/s")
    print(f"ratio pipeline/baseline: {ours / base:.2f} (target >= 0.50), {presses} presses a run")
    if args.memory:
        added = asyncio.run(measure_memory(args.dialogs))
        print(f"memory: {args.dialogs} dialogs in progress add {added:.1f} MB (target < 100 MB)")


if __name__ == "__main__":
    main()
