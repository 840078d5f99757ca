"""Fixtures for the dialog service: real services on a migrated SQLite file, an in-memory
state port, and no messenger anywhere (tests/dialog/test_no_messenger.py checks that)."""

from __future__ import annotations

import json
import shutil
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, cast
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from bot.content import catalog_rows, load_content
from bot.settings import ContentSettings
from questionnaires.schema import Language
from scheduler.calendar import load_calendar
from services.dialog import DialogData, DialogService
from services.enrolment import Enrolment
from services.feedback import FeedbackPolicy, FeedbackService
from services.funnel import FunnelRecorder
from services.windows import WindowService
from storage.catalog import CatalogStore
from storage.database import create_engine, create_session_factory
from storage.migrate import upgrade
from storage.opt_ins import OptInStore
from storage.responses import ResponseStore

PEPPER = b"test-pepper-0123456789-abcdefghij"
ZONE = ZoneInfo("Asia/Yakutsk")
RU = Language.RU


class MemoryState:
    """The state port of one person, kept as JSON text: what a front stores must survive it.

    `log` records every call, so tests can tell what was saved before a step was returned.
    """

    def __init__(self) -> None:
        self.stored: str | None = None
        self.log: list[str] = []
        self.fail_saves = 0

    @property
    def data(self) -> dict[str, Any] | None:
        return None if self.stored is None else cast(dict[str, Any], json.loads(self.stored))

    async def load(self) -> DialogData | None:
        self.log.append("load")
        return cast(DialogData, self.data) if self.stored is not None else None

    async def save(self, data: DialogData) -> None:
        self.log.append("save")
        if self.fail_saves:
            self.fail_saves -= 1
            raise ConnectionError("state store unavailable")
        self.stored = json.dumps(data)

    async def clear(self) -> None:
        self.log.append("clear")
        self.stored = None


class _NoBroadcasts:
    """WindowService wants a broadcaster for invitations; no test here sends any."""

    def __call__(self, port: object) -> Any:
        raise AssertionError("no broadcast expected in dialog tests")


class _NoResults:
    async def text(self, chat_id: int, html: str) -> None:
        raise AssertionError("no results expected in dialog tests")


async def _no_send(*_args: object, **_kwargs: object) -> None:
    raise AssertionError("no message expected in dialog tests")


@dataclass
class Desk:
    """The dialog service over real stores, and what the tests look at."""

    service: DialogService
    feedback: FeedbackService
    campaigns: WindowService
    funnel: FunnelRecorder
    engine: AsyncEngine
    sessions: async_sessionmaker[AsyncSession]
    clock_now: list[datetime]
    states: dict[int, MemoryState] = field(default_factory=dict)
    opt_ins: OptInStore | None = None  # the subscriptions the feedback service keeps

    def state(self, person: int) -> MemoryState:
        return self.states.setdefault(person, MemoryState())

    async def rows(self, table: str) -> list[dict[str, object]]:
        async with self.engine.connect() as connection:
            result = await connection.execute(text(f"SELECT * FROM {table}"))
            return [dict(row._mapping) for row in result]

    async def funnel_counts(self) -> dict[str, int]:
        """The flushed funnel, step -> count, over every day and context."""
        await self.funnel.flush()
        counts: dict[str, int] = {}
        for row in await self.rows("dialog_funnel"):
            step = str(row["step"])
            counts[step] = counts.get(step, 0) + int(cast(int, row["count"]))
        return {step: count for step, count in counts.items() if count}


@pytest.fixture(scope="session")
def dialog_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("dialog-template") / "otklik.db"
    upgrade(f"sqlite+aiosqlite:///{path}")
    return path


@pytest.fixture
async def desk(dialog_template: Path, tmp_path: Path) -> AsyncIterator[Desk]:
    path = tmp_path / "otklik.db"
    shutil.copy(dialog_template, path)
    engine = create_engine(f"sqlite+aiosqlite:///{path}")
    sessions = create_session_factory(engine)
    clock_now = [datetime(2026, 11, 23, 9, 30, tzinfo=UTC)]
    defaults = ContentSettings()
    content = load_content(
        defaults.questionnaires_dir, defaults.catalog_path, defaults.campaigns_path
    )
    opt_ins = OptInStore(sessions)
    feedback = FeedbackService(
        questionnaires=content.questionnaires,
        catalog=content.catalog,
        responses=ResponseStore(sessions),
        opt_ins=opt_ins,
        zone=ZONE,
        policy=FeedbackPolicy(ratings_per_service_per_day=1, default_channel="messenger"),
        clock=lambda: clock_now[0],
    )
    await CatalogStore(sessions).sync(*catalog_rows(feedback.catalog))
    campaigns = WindowService(
        sessions=sessions,
        campaigns=content.campaigns,
        questionnaires=content.questionnaires,
        calendar=load_calendar(),
        pepper=PEPPER,
        zone=ZONE,
        broadcaster_factory=_NoBroadcasts(),
        send=_no_send,
        results=_NoResults(),
        opt_ins=opt_ins,
        officer_ids=set(),
        clock=lambda: clock_now[0],
        enrolment=Enrolment(
            sessions=sessions,
            pepper=PEPPER,
            zone=ZONE,
            departments=content.catalog.departments,
            clock=lambda: clock_now[0],
        ),
    )
    funnel = FunnelRecorder(sessions)
    service = DialogService(feedback=feedback, campaigns=campaigns, funnel=funnel)
    yield Desk(service, feedback, campaigns, funnel, engine, sessions, clock_now, opt_ins=opt_ins)
    await engine.dispose()
