"""Fixtures for handler tests: a migrated SQLite database, the real services, a harness."""

from __future__ import annotations

import shutil
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from bot.content import catalog_rows, load_content
from bot.dispatcher import create_dispatcher
from bot.settings import ContentSettings
from reports.disclosure import DisclosurePolicy
from reports.model import QuestionnaireRoles
from scheduler.calendar import load_calendar
from services.appendix2 import Appendix2Service
from services.broadcast import Broadcaster, BroadcastLimits
from services.campaigns import CampaignService
from services.feedback import FeedbackPolicy, FeedbackService, ResponseListener
from services.funnel import FunnelRecorder
from services.reporting import ReportingPolicy, ReportingService
from storage.catalog import CatalogStore
from storage.database import create_engine, create_session_factory
from storage.fsm import SqlStorage
from storage.migrate import upgrade
from storage.opt_ins import OptInStore
from storage.responses import ResponseStore
from tests.bot.harness import Harness

PEPPER = b"test-pepper-0123456789-abcdefghij"
ZONE = ZoneInfo("Asia/Yakutsk")


@pytest.fixture(scope="session")
def migrated_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("template") / "otklik.db"
    upgrade(f"sqlite+aiosqlite:///{path}")
    return path


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
    campaigns: CampaignService
    funnel: FunnelRecorder
    opt_ins: OptInStore

    async def rows(self, table: str) -> list[dict[str, object]]:
        async with self.engine.connect() as connection:
            result = await connection.execute(text(f"SELECT * FROM {table}"))
            return [dict(row._mapping) for row in result]


def build_feedback(
    sessions: async_sessionmaker[AsyncSession],
    clock_now: list[datetime],
    *,
    ratings_per_day: int = 1,
    listeners: Sequence[ResponseListener] = (),
    opt_ins: OptInStore | None = None,
) -> FeedbackService:
    defaults = ContentSettings()
    content = load_content(defaults.questionnaires_dir, defaults.catalog_path)
    return FeedbackService(
        questionnaires=content.questionnaires,
        catalog=content.catalog,
        responses=ResponseStore(sessions),
        opt_ins=opt_ins or OptInStore(sessions),
        zone=ZONE,
        policy=FeedbackPolicy(
            ratings_per_service_per_day=ratings_per_day, default_channel="messenger"
        ),
        clock=lambda: clock_now[0],
        listeners=listeners,
    )


OFFICER_ID = 500500
INTERNAL_OFFICER_ID = 600600  # BOT__INTERNAL_OFFICER_IDS: the staff report only
BODY = "Инспекции государственного жилищного надзора"


def build_reporting(
    sessions: async_sessionmaker[AsyncSession], feedback: FeedbackService
) -> ReportingService:
    defaults = ContentSettings()
    content = load_content(defaults.questionnaires_dir, defaults.catalog_path)
    return ReportingService(
        sessions=sessions,
        roles=QuestionnaireRoles.from_questionnaires(content.questionnaires),
        catalog=feedback.catalog,
        # The bot tests read weekly reports: weeks on (reports.disclosure.DisclosurePolicy).
        policy=ReportingPolicy(
            officer_ids=frozenset({OFFICER_ID}),
            disclosure=DisclosurePolicy(weekly=True),
            internal_officer_ids=frozenset({INTERNAL_OFFICER_ID}),
        ),
    )


class _TextOutbox:
    def __init__(self, send: Callable[[int, str], Awaitable[None]]) -> None:
        self._send = send

    async def text(self, chat_id: int, html: str) -> None:
        await self._send(chat_id, html)


def build_campaigns(
    sessions: async_sessionmaker[AsyncSession],
    feedback: FeedbackService,
    send: Callable[[int, str], Awaitable[None]],
    clock_now: list[datetime],
    opt_ins: OptInStore | None = None,
) -> CampaignService:
    defaults = ContentSettings()
    content = load_content(
        defaults.questionnaires_dir, defaults.catalog_path, defaults.campaigns_path
    )
    return CampaignService(
        sessions=sessions,
        campaigns=content.campaigns,
        questionnaires=content.questionnaires,
        calendar=load_calendar(),
        pepper=PEPPER,
        zone=ZONE,
        broadcaster_factory=lambda port: Broadcaster(
            sessions, port, limits=BroadcastLimits(global_rate=1000.0, per_chat_interval=0.0)
        ),
        send=send,
        results=_TextOutbox(send),
        opt_ins=opt_ins or OptInStore(sessions),
        officer_ids={OFFICER_ID},
        clock=lambda: clock_now[0],
        bot_username="otklik_test_bot",
        departments=content.catalog.departments,
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

    async def send_alert(chat_id: int, text: str) -> None:
        await holder[0].bot.send_message(chat_id, text)

    # One store for both services, as in bot.app: subscriptions wait in it to be written.
    opt_ins = OptInStore(sessions)
    feedback = build_feedback(sessions, clock_now, opt_ins=opt_ins)
    await CatalogStore(sessions).sync(*catalog_rows(feedback.catalog))
    storage = SqlStorage(sessions, PEPPER)
    reporting = build_reporting(sessions, feedback)
    campaigns = build_campaigns(sessions, feedback, send_alert, clock_now, opt_ins)
    funnel = FunnelRecorder(sessions)
    dispatcher = create_dispatcher(
        storage=storage,
        feedback=feedback,
        reporting=reporting,
        campaigns=campaigns,
        funnel=funnel,
        appendix2=Appendix2Service(reporting=reporting, body=BODY),
    )
    holder.append(Harness(dispatcher))
    world = World(
        holder[0],
        engine,
        sessions,
        storage,
        feedback,
        url,
        clock_now,
        reporting,
        campaigns,
        funnel,
        opt_ins,
    )
    yield world
    await storage.close()
    await engine.dispose()
