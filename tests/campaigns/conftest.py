"""Fixtures for the campaign tests: a fake clock, a recording broadcaster port, the service."""

from __future__ import annotations

import asyncio
import shutil
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Final
from zoneinfo import ZoneInfo

import pytest
from aiogram.exceptions import TelegramForbiddenError
from aiogram.methods import SendMessage
from sqlalchemy import inspect, text
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

import storage.opt_ins
from max_front.persons import chat_person, max_key
from questionnaires.campaigns import CampaignFile, parse_campaigns
from questionnaires.catalog import Department
from questionnaires.engine import (
    Asked,
    CannotRate,
    Choose,
    ChooseMany,
    Completed,
    Input,
    Rate,
    Rejected,
    TextInput,
    answer,
    skip,
)
from questionnaires.loader import DEFINITIONS_DIR, load_folder
from questionnaires.messengers import split
from questionnaires.results import ResponseContext
from questionnaires.schema import (
    MultiChoiceQuestion,
    NpsQuestion,
    Questionnaire,
    ScaleQuestion,
    SingleChoiceQuestion,
    Text,
    YesNoQuestion,
)
from scheduler.calendar import ProductionCalendar, load_calendar
from services.broadcast import Broadcaster, BroadcastLimits, SendPort
from services.enrolment import Enrolment
from services.officer_languages import OfficerLanguageReader
from services.windows import CampaignPolicy, WindowService
from storage.campaigns import ParticipationClaims
from storage.database import create_engine, create_session_factory
from storage.migrate import upgrade
from storage.models import OptIn
from storage.opt_ins import OptInStore
from tests.storage.conftest import database, engine, sessions

__all__ = ["database", "engine", "sessions"]  # the storage fixtures, on SQLite and PostgreSQL

PEPPER: Final = b"campaign-test-pepper-0123456789abcdef"
#: Amur region: UTC+9, so 23:30 UTC is already the next day there.
ZONE: Final = ZoneInfo("Asia/Yakutsk")
OFFICER: Final = 700700
BOT_USERNAME: Final = "otklik_test_bot"
MAX_BOT_NAME = "otklik_max_bot"

#: The catalog departments of these tests (code, title).
DEPARTMENTS: Final = tuple(
    Department(code=code, title=Text(ru=title))
    for code, title in (
        ("control", "Отдел контроля"),
        ("hr", "Отдел кадров"),
        ("licensing", "Лицензирование"),
        ("it", "ИТ"),
        ("records", "Делопроизводство"),
    )
)

CAMPAIGNS_YAML: Final = """\
campaigns:
  - id: deep
    questionnaire: deep_external
    audience: external
    recurrence: dates
    dates: [2026-04-25]          # a Saturday: the window opens on Monday 27 April
    duration_working_days: 10
    reminders_after_working_days: [3, 7]
    send_from_hour: 10
  - id: staff
    questionnaire: staff
    audience: staff
    recurrence: dates
    dates: [2026-11-02]
    duration_working_days: 5
    reminders_after_working_days: [2, 4]
    send_from_hour: 10
"""


@pytest.fixture(scope="session")
def questionnaires() -> dict[str, Questionnaire]:
    return load_folder(DEFINITIONS_DIR).questionnaires


@pytest.fixture(scope="session")
def calendar() -> ProductionCalendar:
    return load_calendar()


@pytest.fixture(autouse=True)
def staff_polls_topic(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    # The lead adds "staff_polls" to storage.opt_ins.OptInTopic with the staff handlers; until
    # then the store refuses to read it. Harmless once it is there.
    monkeypatch.setattr(
        storage.opt_ins, "OPT_IN_TOPICS", storage.opt_ins.OPT_IN_TOPICS | {"staff_polls"}
    )
    yield


def local(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    """A moment in the body's zone."""
    return datetime(year, month, day, hour, minute, tzinfo=ZONE)


@dataclass
class FakeResults:
    """The officers' chat port: records what the officers got."""

    texts: list[tuple[int, str]] = field(default_factory=list)
    fail: int = 0

    async def text(self, chat_id: int, html: str) -> None:
        if self.fail:
            self.fail -= 1
            raise ConnectionError("network down")
        self.texts.append((chat_id, html))


@dataclass
class FakeTime:
    """Monotonic time for the broadcaster's pacer: sleeping advances it, never the real clock."""

    now: float = 0.0

    def clock(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.now += max(seconds, 0.0)
        await asyncio.sleep(0)


@dataclass
class CampaignWorld:
    engine: AsyncEngine
    sessions: async_sessionmaker[AsyncSession]
    service: WindowService
    clock: list[datetime]
    sent: list[tuple[int, str]]  # (chat, text) every broadcast message that went out
    results: FakeResults
    blocked: set[int]  # chats that blocked the bot: Telegram answers 403
    news: list[int] = field(default_factory=list)  # chats reached through the news port

    async def tick(self, moment: datetime) -> None:
        self.clock[0] = moment
        await self.service.tick(moment)

    async def opt_in(self, chat_id: int, topic: str) -> None:
        """Subscribe a chat address (a MAX chat is stored as MAX's, its own id beside it)."""
        messenger, raw = split(chat_id)
        async with self.sessions.begin() as session:
            session.add(
                OptIn(messenger=messenger, chat_id=raw, topic=topic, created_on=date(2026, 1, 1))
            )

    def sent_to(self, marker: str) -> list[int]:
        """Chats that got a broadcast message containing `marker`, in sending order."""
        return [chat for chat, message in self.sent if marker in message]

    async def rows(self, table: str) -> list[dict[str, object]]:
        async with self.engine.connect() as connection:
            result = await connection.execute(text(f"SELECT * FROM {table}"))
            return [dict(row._mapping) for row in result]

    async def table_names(self) -> list[str]:
        async with self.engine.connect() as connection:
            return await connection.run_sync(lambda sync: inspect(sync).get_table_names())


SITE_URL = "https://example.gov.ru/otklik/"


def build_world(
    engine: AsyncEngine,
    sessions: async_sessionmaker[AsyncSession],
    questionnaires: dict[str, Questionnaire],
    calendar: ProductionCalendar,
    campaigns: CampaignFile,
    *,
    start: datetime,
    policy: CampaignPolicy | None = None,
    claims: ParticipationClaims | None = None,
    languages: OfficerLanguageReader | None = None,
) -> CampaignWorld:
    clock = [start]
    sent: list[tuple[int, str]] = []
    fake_time = FakeTime()

    blocked: set[int] = set()

    async def send(chat_id: int, message: str) -> None:
        if chat_id in blocked:
            method = SendMessage(chat_id=chat_id, text=message)
            raise TelegramForbiddenError(method, "Forbidden: bot was blocked by the user")
        sent.append((chat_id, message))

    news: list[int] = []

    async def news_send(chat_id: int, message: str) -> None:
        """The news port (with the stop button in production): also recorded in ``sent``."""
        await send(chat_id, message)
        news.append(chat_id)

    def broadcaster(port: SendPort) -> Broadcaster:
        return Broadcaster(
            sessions,
            port,
            limits=BroadcastLimits(global_rate=1000.0, per_chat_interval=0.0, flush_interval=0.01),
            clock=fake_time.clock,
            sleep=fake_time.sleep,
            now=lambda: clock[0],
        )

    results = FakeResults()
    enrolment = Enrolment(
        sessions=sessions,
        pepper=PEPPER,
        zone=ZONE,
        departments=DEPARTMENTS,
        min_group=(policy or CampaignPolicy()).min_group,
        clock=lambda: clock[0],
    )
    service = WindowService(
        sessions=sessions,
        campaigns=campaigns,
        questionnaires=questionnaires,
        calendar=calendar,
        pepper=PEPPER,
        zone=ZONE,
        broadcaster_factory=broadcaster,
        send=send,
        results=results,
        opt_ins=OptInStore(sessions),
        officer_ids={OFFICER},
        clock=lambda: clock[0],
        bot_username=BOT_USERNAME,
        max_bot_name=MAX_BOT_NAME,
        policy=policy,
        enrolment=enrolment,
        news_send=news_send,
        site_url=SITE_URL,
        participation_claims=claims,
        # As bot.composition: a MAX chat's person is the MAX front's keyed person.
        person_of_chat=chat_person(max_key(PEPPER)),
        languages=languages,
    )
    return CampaignWorld(engine, sessions, service, clock, sent, results, blocked, news)


@pytest.fixture(scope="session")
def migrated_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("campaigns") / "otklik.db"
    upgrade(f"sqlite+aiosqlite:///{path}")
    return path


@pytest.fixture
async def sqlite_engine(migrated_template: Path, tmp_path: Path) -> AsyncIterator[AsyncEngine]:
    """A migrated SQLite database of its own for each test (a copy of one template)."""
    path = tmp_path / "otklik.db"
    shutil.copy(migrated_template, path)
    engine = create_engine(f"sqlite+aiosqlite:///{path}")
    yield engine
    await engine.dispose()


@pytest.fixture
def campaign_file(questionnaires: dict[str, Questionnaire]) -> CampaignFile:
    return parse_campaigns(CAMPAIGNS_YAML, "campaigns.yaml", questionnaires)


@pytest.fixture
def world(
    sqlite_engine: AsyncEngine,
    questionnaires: dict[str, Questionnaire],
    calendar: ProductionCalendar,
    campaign_file: CampaignFile,
) -> CampaignWorld:
    return build_world(
        sqlite_engine,
        create_session_factory(sqlite_engine),
        questionnaires,
        calendar,
        campaign_file,
        start=local(2026, 4, 1, 12, 0),
    )


def complete(
    questionnaire: Questionnaire, overall: int = 4, comment: str = "Нужно больше окон"
) -> Completed:
    """Walk the real engine through a questionnaire with plausible answers."""
    from questionnaires.engine import start

    outcome: Asked | Completed | Rejected = start(questionnaire, ResponseContext())
    for _ in range(200):
        if isinstance(outcome, Completed):
            return outcome
        if isinstance(outcome, Rejected):
            outcome = skip(questionnaire, outcome.asked.progress)
            continue
        outcome = answer(questionnaire, outcome.progress, _input_for(outcome, overall, comment))
    raise AssertionError("the dialog did not finish")


def _input_for(asked: Asked, overall: int, comment: str) -> Input:
    question = asked.question
    if asked.awaiting_other:
        return TextInput("другое")
    if isinstance(question, ScaleQuestion):
        if question.role == "overall":
            return Rate(overall)
        return CannotRate() if question.cannot_rate and question.id == "equipment" else Rate(4)
    if isinstance(question, NpsQuestion):
        return Rate(9)
    if isinstance(question, MultiChoiceQuestion):
        first = next(o for o in question.options if not o.other)
        return ChooseMany((first.id,))
    if isinstance(question, SingleChoiceQuestion):
        return Choose(next(o for o in question.options if not o.other).id)
    if isinstance(question, YesNoQuestion):
        return Choose("no")
    return TextInput(comment)
