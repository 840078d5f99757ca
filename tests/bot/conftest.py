"""Fixtures for handler tests: a migrated SQLite database, the real services, a harness."""

from __future__ import annotations

import shutil
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from aiogram import Bot
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from bot.composition import Services, build_services
from bot.content import catalog_rows, load_content
from bot.dispatcher import create_dispatcher
from bot.outbox import BotOutbox
from bot.settings import Settings
from services.broadcast import BroadcastLimits
from services.feedback import FeedbackService
from services.funnel import FunnelRecorder
from services.reporting import ReportingService
from services.windows import WindowService
from storage.catalog import CatalogStore
from storage.database import create_engine, create_session_factory
from storage.fsm import SqlStorage
from storage.migrate import upgrade
from storage.opt_ins import OptInStore
from tests.bot.harness import Harness

PEPPER = b"test-pepper-0123456789-abcdefghij"
ZONE = ZoneInfo("Asia/Yakutsk")


@pytest.fixture(scope="session")
def migrated_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("template") / "otklik.db"
    upgrade(f"sqlite+aiosqlite:///{path}")
    return path


OFFICER_ID = 500500
INTERNAL_OFFICER_ID = 600600  # BOT__INTERNAL_OFFICER_IDS: the staff report only
BODY = "Инспекции государственного жилищного надзора"


@dataclass
class World:
    harness: Harness
    engine: AsyncEngine
    sessions: async_sessionmaker[AsyncSession]
    storage: SqlStorage
    feedback: FeedbackService
    url: str
    clock_now: list[datetime]
    reporting: ReportingService
    campaigns: WindowService
    funnel: FunnelRecorder
    opt_ins: OptInStore
    services: Services

    async def rows(self, table: str) -> list[dict[str, object]]:
        async with self.engine.connect() as connection:
            result = await connection.execute(text(f"SELECT * FROM {table}"))
            return [dict(row._mapping) for row in result]


def handler_settings(url: str = "sqlite+aiosqlite://") -> Settings:
    """The settings of the handler tests: one body-wide and one internal officer, weekly
    figures (reports.disclosure.DisclosurePolicy), the shipped content, the body in Yakutsk."""
    return Settings(
        _env_file=None,
        db={"url": url},
        bot={
            "officer_ids": [OFFICER_ID],
            "internal_officer_ids": [INTERNAL_OFFICER_ID],
            "default_channel": "messenger",
        },
        body={"name": BODY, "timezone": ZONE.key},
        reports={"weekly_figures": True},
        privacy={"ratings_per_service_per_day": 1},
    )


class HarnessOutbox:
    """The officers' chats through whatever bot the harness holds now (Harness.serve_file
    replaces it): bot.outbox.BotOutbox, looked up at each send."""

    def __init__(self, bot: Callable[[], Bot]) -> None:
        self._bot = bot

    async def text(self, chat_id: int, html: str) -> None:
        await BotOutbox(self._bot()).text(chat_id, html)

    async def text_with_button(self, chat_id: int, html: str, button: str, data: str) -> None:
        await BotOutbox(self._bot()).text_with_button(chat_id, html, button, data)

    async def photo(self, chat_id: int, name: str, png: bytes) -> None:
        await BotOutbox(self._bot()).photo(chat_id, name, png)

    async def document(self, chat_id: int, name: str, data: bytes, caption: str) -> None:
        await BotOutbox(self._bot()).document(chat_id, name, data, caption)


def build_test_services(
    sessions: async_sessionmaker[AsyncSession],
    clock_now: list[datetime],
    bot: Callable[[], Bot],
    settings: Settings | None = None,
) -> Services:
    """The production composition (bot.composition) on the test settings, a fake clock, the
    harness's bot, and broadcasts without pauses."""
    settings = settings or handler_settings()
    content = load_content(
        settings.content.questionnaires_dir,
        settings.content.catalog_path,
        settings.content.campaigns_path,
    )
    return build_services(
        settings,
        content,
        sessions=sessions,
        outbox=HarnessOutbox(bot),
        pepper=PEPPER,
        bot_username="otklik_test_bot",
        clock=lambda: clock_now[0],
        broadcast_limits=BroadcastLimits(global_rate=1000.0, per_chat_interval=0.0),
    )


@pytest.fixture
async def world(migrated_template: Path, tmp_path: Path) -> AsyncIterator[World]:
    path = tmp_path / "otklik.db"
    shutil.copy(migrated_template, path)
    url = f"sqlite+aiosqlite:///{path}"
    engine = create_engine(url)
    sessions = create_session_factory(engine)
    clock_now = [datetime(2026, 11, 23, 9, 30, tzinfo=UTC)]
    holder: list[Harness] = []
    services = build_test_services(
        sessions, clock_now, lambda: holder[0].bot, handler_settings(url)
    )
    await CatalogStore(sessions).sync(*catalog_rows(services.feedback.catalog))
    storage = SqlStorage(sessions, PEPPER)
    dispatcher = create_dispatcher(storage=storage, **services.workflow_data())
    holder.append(Harness(dispatcher))
    world = World(
        holder[0],
        engine,
        sessions,
        storage,
        services.feedback,
        url,
        clock_now,
        services.reporting,
        services.campaigns,
        services.funnel,
        services.opt_ins,
        services,
    )
    yield world
    await storage.close()
    await engine.dispose()
